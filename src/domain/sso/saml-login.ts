import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import type { ApplicationService } from '../applications/applications.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import type { DeploymentKey } from '../keys/deployment-keys.ts';
import type { LoginCompletion } from '../oauth/complete.ts';
import { OAuthError } from '../oauth/errors.ts';
import type { UpstreamLogin } from '../oauth/ports.ts';
import { createAuthnRequest, encodeRedirectBinding } from '../saml/authn-request.ts';
import type { SamlError } from '../saml/errors.ts';
import { trustedCertificate, type TrustedCertificate } from '../saml/signature.ts';
import { verifySamlResponse } from '../saml/verify-response.ts';
import { mapProfile } from './profile-mapping.ts';

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const FLOW_ID = /^lgn_[0-9A-Z]{26}$/;
// A base64 SAMLResponse of the verifier's 256 KiB limit, with room for line breaks.
const MAX_ENCODED_RESPONSE = 360 * 1024;

export interface SamlLoginDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly spKey: () => Promise<DeploymentKey>;
  readonly connections: { getForLogin(id: string): Promise<ConnectionForLogin | undefined> };
  readonly applications: Pick<ApplicationService, 'findById'>;
  readonly completion: LoginCompletion;
}

/** Where the ACS sends the browser: on to the app, or to a page explaining the failure. */
export type AcsOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'failure'; status: number; code: string; title: string; message: string; facts: [string, string][]; back?: string };

/** The SAML side of a login: AuthnRequests out (SAML bindings §3.4), Responses in at the ACS (profiles §4.1.4). */
export function createSamlLogin(deps: SamlLoginDeps) {
  const trusted = new Map<string, { updatedAt: number; certs: TrustedCertificate[] }>();
  let acsCalls = 0;

  /** The connection's pinned certificates as key objects, parsed once per connection version. */
  function trustedCertsOf(connection: ConnectionForLogin): TrustedCertificate[] {
    const cached = trusted.get(connection.id);
    if (cached?.updatedAt === connection.updatedAt.getTime()) return cached.certs;
    const certs = connection.saml!.certificatesPem.map((pem) => trustedCertificate(pem)).flatMap((r) => (r.ok ? [r.value] : []));
    trusted.set(connection.id, { updatedAt: connection.updatedAt.getTime(), certs });
    return certs;
  }

  /** Remembers an assertion id until it expires; false when it was seen before (a replay), on any instance. */
  async function firstUse(connectionId: string, assertionId: string, expiresAt: Date): Promise<boolean> {
    const inserted = await deps.db
      .insertInto('saml_assertions_seen')
      .values({ connection_id: connectionId, assertion_id: assertionId, expires_at: expiresAt })
      .onConflict((c) => c.columns(['connection_id', 'assertion_id']).doNothing())
      .returning('assertion_id')
      .executeTakeFirst();
    if (++acsCalls % 100 === 0) await deps.db.deleteFrom('saml_assertions_seen').where('expires_at', '<', deps.clock()).execute();
    return inserted !== undefined;
  }

  const upstream: UpstreamLogin = {
    async start(flow: LoginFlowRow, connection: ConnectionForLogin) {
      const saml = connection.saml;
      if (saml === undefined) throw new OAuthError('server_error', 'this SAML connection has no identity provider configured yet');
      const request = createAuthnRequest(
        { now: deps.clock(), destination: saml.ssoUrl, acsUrl: saml.acsUrl, issuer: saml.spEntityId, ...(saml.nameIdFormat ? { nameIdFormat: saml.nameIdFormat } : {}) },
        { randomBytes: deps.random },
      );
      if (saml.ssoBinding === 'post') {
        // HTTP-POST binding (SAML bindings §3.5): unsigned here; the IdP gets the request as a form field.
        const fields = { SAMLRequest: Buffer.from(request.xml, 'utf8').toString('base64'), RelayState: flow.id };
        return { post: { action: saml.ssoUrl, fields }, upstreamRequestId: request.id };
      }
      const signingKey: KeyObject | undefined = saml.signRequests ? (await deps.spKey()).privateKey : undefined;
      const binding = encodeRedirectBinding({ ssoUrl: saml.ssoUrl, xml: request.xml, relayState: flow.id, ...(signingKey ? { signingKey } : {}) });
      return { url: binding.url, upstreamRequestId: request.id };
    },
  };

  async function acs(input: { connectionId: string; samlResponse: string | undefined; relayState: string | undefined; requestId: string }): Promise<AcsOutcome> {
    const connection = await deps.connections.getForLogin(input.connectionId);
    if (connection?.saml === undefined) {
      return { kind: 'failure', status: 404, code: 'connection_not_found', title: 'Unknown SAML connection', message: 'This ACS URL belongs to no SAML connection. Check the ACS URL configured at the identity provider.', facts: [['Connection', input.connectionId]] };
    }
    const saml = connection.saml;
    const facts: [string, string][] = [['Connection', `${connection.name} (${connection.id})`], ['Identity provider', saml.idpEntityId]];
    const isFlowId = input.relayState !== undefined && FLOW_ID.test(input.relayState);
    const flow = isFlowId ? await deps.completion.takeFlow(input.relayState!, connection.id) : undefined;
    const refuse = async (code: string, message: string, extra: [string, string][] = [], status = 403): Promise<AcsOutcome> => {
      const setupResult = await deps.completion.fail({ flow, organizationId: connection.organizationId, connectionId: connection.id, code, message, facts: [...facts, ...extra] }, input.requestId);
      // A test sign-in from a setup page shows its diagnosis on its own result page.
      if (setupResult !== undefined) return { kind: 'redirect', url: setupResult };
      const back = flow ? `${flow.redirect_uri}${flow.redirect_uri.includes('?') ? '&' : '?'}${new URLSearchParams({ error: 'access_denied', error_description: `${code}: ${message}`, ...(flow.app_state !== null ? { state: flow.app_state } : {}) })}` : undefined;
      return { kind: 'failure', status, code, title: 'Sign-in failed', message, facts: [...facts, ...extra, ['Error code', code]], ...(back ? { back } : {}) };
    };

    if (isFlowId && flow === undefined) {
      return refuse('login_flow_not_found', 'This sign-in attempt has expired or was already completed (a response can be used once). Start the sign-in again from the application.');
    }
    if (flow === undefined && !connection.enabled) return refuse('connection_disabled', 'This connection is not enabled, so it accepts no IdP-initiated sign-in.');
    const xml = decodeSamlResponse(input.samlResponse);
    if (xml === undefined) return refuse('saml_response_missing', 'The request carries no SAMLResponse, or it is not base64.', [], 400);

    const spKey = await deps.spKey();
    const result = verifySamlResponse({
      xml,
      idpEntityId: saml.idpEntityId,
      trustedCerts: trustedCertsOf(connection),
      spEntityId: saml.spEntityId,
      acsUrl: saml.acsUrl,
      now: deps.clock(),
      clockSkewSeconds: saml.clockSkewSeconds,
      expectedInResponseTo: flow?.upstream_request_id ?? null,
      allowIdpInitiated: flow === undefined && saml.allowIdpInitiated,
      signaturePolicy: saml.signaturePolicy,
      allowSha1: saml.allowSha1,
      decryptionKeys: [spKey.privateKey],
    });
    if (!result.ok) return refuse(result.error.code, result.error.message, errorFacts(result.error, connection));
    const verified = result.value;
    const expiresAt = new Date(verified.notOnOrAfter.getTime() + saml.clockSkewSeconds * 1000);
    if (!(await firstUse(connection.id, verified.assertionId, expiresAt))) {
      return refuse('saml_replayed', 'This SAML response was already used to sign in. Each response is accepted once; start the sign-in again.', [['Assertion ID', verified.assertionId]]);
    }
    const profile = mapProfile(
      { subject: verified.nameId, values: verified.attributes, subjectEmail: verified.nameIdFormat === EMAIL_FORMAT ? verified.nameId : null },
      connection,
    );
    try {
      if (flow !== undefined) return { kind: 'redirect', url: await deps.completion.succeed(flow, profile, input.requestId) };
      const defaultApplication = saml.defaultApplicationId ? await deps.applications.findById(saml.defaultApplicationId) : undefined;
      return { kind: 'redirect', url: await deps.completion.succeedUnsolicited({ profile, relayState: input.relayState, defaultApplication }, input.requestId) };
    } catch (error) {
      if (error instanceof OAuthError) return refuse('idp_initiated_no_application', error.description);
      throw error;
    }
  }

  return { upstream, acs };
}

export type SamlLogin = ReturnType<typeof createSamlLogin>;

/** The HTTP-POST binding's SAMLResponse: base64 (line breaks allowed) of the XML (SAML bindings §3.5.4). */
function decodeSamlResponse(encoded: string | undefined): string | undefined {
  if (encoded === undefined || encoded.length > MAX_ENCODED_RESPONSE) return undefined;
  const compact = encoded.replace(/[\r\n\t ]/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

/** Facts that help an IT admin fix the IdP or the connection, for the failure page. */
function errorFacts(error: SamlError, connection: ConnectionForLogin): [string, string][] {
  const facts: [string, string][] = [];
  if (error.code === 'saml_untrusted_certificate' || error.code === 'saml_signature_invalid') {
    for (const pem of connection.saml!.certificatesPem) {
      const cert = trustedCertificate(pem);
      if (cert.ok) facts.push(['Trusted certificate (SHA-256)', cert.value.fingerprintSha256]);
    }
  }
  for (const [key, value] of Object.entries(error.detail ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') facts.push([key, String(value)]);
  }
  return facts;
}
