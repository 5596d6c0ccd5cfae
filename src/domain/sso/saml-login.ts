import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import { purgeExpiredAssertions } from '../../storage/logins.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import type { DeploymentKey } from '../keys/deployment-keys.ts';
import type { LoginCompletion } from '../oauth/complete.ts';
import { OAuthError } from '../oauth/errors.ts';
import type { UpstreamLogin } from '../oauth/ports.ts';
import { createAuthnRequest, encodeRedirectBinding } from '../saml/authn-request.ts';
import type { SamlError } from '../saml/errors.ts';
import { trustedCertificate, type TrustedCertificate } from '../saml/signature.ts';
import { verifySamlResponse, type VerifiedAssertion } from '../saml/verify-response.ts';
import { mapProfile } from './profile-mapping.ts';

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const FLOW_ID = /^lgn_[0-9A-Z]{26}$/;
const FLOW_NOT_FOUND = {
  code: 'login_flow_not_found',
  message:
    'This sign-in attempt has expired or was already completed (a response can be used once). Start the sign-in again from the application.',
};
// A base64 SAMLResponse of the verifier's 256 KiB limit, with room for line breaks.
const MAX_ENCODED_RESPONSE = 360 * 1024;

export interface SamlLoginDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly spKey: () => Promise<DeploymentKey>;
  readonly connections: { getForLogin(id: string): Promise<ConnectionForLogin | undefined> };
  readonly completion: LoginCompletion;
}

/** Where the ACS sends the browser: on to the app, or to a page explaining the failure. */
export type AcsOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'failure'; status: number; code: string; title: string; message: string; facts: [string, string][]; back?: string };

/** Records a refusal (on `ofFlow`: by default the response's pending flow, null for none) and says where the browser goes. */
type Refuse = (
  code: string,
  message: string,
  extra?: [string, string][],
  status?: number,
  ofFlow?: LoginFlowRow | null,
) => Promise<AcsOutcome>;

/** The SAML side of a login: AuthnRequests out (SAML bindings §3.4), Responses in at the ACS (profiles §4.1.4). */
export function createSamlLogin(deps: SamlLoginDeps) {
  const trusted = new Map<string, { updatedAt: number; certs: TrustedCertificate[] }>();
  let acsCalls = 0;

  /** The connection's pinned certificates as key objects, parsed once per connection version. */
  function trustedCertsOf(connection: ConnectionForLogin, saml: SamlSettings): TrustedCertificate[] {
    const cached = trusted.get(connection.id);
    if (cached?.updatedAt === connection.updatedAt.getTime()) return cached.certs;
    const certs = saml.certificatesPem.map((pem) => trustedCertificate(pem)).flatMap((r) => (r.ok ? [r.value] : []));
    trusted.set(connection.id, { updatedAt: connection.updatedAt.getTime(), certs });
    return certs;
  }

  const upstream: UpstreamLogin = {
    async start(flow: LoginFlowRow, connection: ConnectionForLogin) {
      const saml = connection.saml;
      if (saml === undefined) throw new OAuthError('server_error', 'this SAML connection has no identity provider configured yet');
      const request = createAuthnRequest(
        {
          now: deps.clock(),
          destination: saml.ssoUrl,
          acsUrl: saml.acsUrl,
          issuer: saml.spEntityId,
          ...(saml.nameIdFormat ? { nameIdFormat: saml.nameIdFormat } : {}),
        },
        { randomBytes: deps.random },
      );
      if (saml.ssoBinding === 'post') {
        // HTTP-POST binding (SAML bindings §3.5): unsigned here; the IdP gets the request as a form field.
        const fields = { SAMLRequest: Buffer.from(request.xml, 'utf8').toString('base64'), RelayState: flow.id };
        return { post: { action: saml.ssoUrl, fields }, upstreamRequestId: request.id };
      }
      const signingKey: KeyObject | undefined = saml.signRequests ? (await deps.spKey()).privateKey : undefined;
      const binding = encodeRedirectBinding({
        ssoUrl: saml.ssoUrl,
        xml: request.xml,
        relayState: flow.id,
        ...(signingKey ? { signingKey } : {}),
      });
      return { url: binding.url, upstreamRequestId: request.id };
    },
  };

  async function acs(input: {
    connectionId: string;
    samlResponse: string | undefined;
    relayState: string | undefined;
    requestId: string;
  }): Promise<AcsOutcome> {
    const connection = await deps.connections.getForLogin(input.connectionId);
    if (connection?.saml === undefined) {
      return {
        kind: 'failure',
        status: 404,
        code: 'connection_not_found',
        title: 'Unknown SAML connection',
        message: 'This ACS URL belongs to no SAML connection. Check the ACS URL configured at the identity provider.',
        facts: [['Connection', input.connectionId]],
      };
    }
    const saml = connection.saml;
    const facts: [string, string][] = [
      ['Connection', `${connection.name} (${connection.id})`],
      ['Identity provider', saml.idpEntityId],
    ];
    const flowId = input.relayState !== undefined && FLOW_ID.test(input.relayState) ? input.relayState : undefined;
    const isFlowId = flowId !== undefined;
    // Only read here: the flow is taken after verification, in the transaction that ends the login.
    const found = flowId !== undefined ? await deps.completion.findFlow({ id: flowId, connectionId: connection.id }) : undefined;
    const flow = found !== undefined && deps.completion.isPending(found) ? found : undefined;
    const refuse: Refuse = async (code, message, extra = [], status = 403, target = flow ?? null) => {
      const ofFlow = target ?? undefined;
      const ended = await deps.completion.fail(
        {
          flow: ofFlow,
          organizationId: connection.organizationId,
          connectionId: connection.id,
          code,
          message,
          facts: [...facts, ...extra],
        },
        input.requestId,
      );
      // Another response took the flow meanwhile: this one is as late as any second response.
      if (!ended.ok) return refuse(FLOW_NOT_FOUND.code, FLOW_NOT_FOUND.message, [], 403, null);
      // A test sign-in from a setup page shows its diagnosis on its own result page.
      if (ended.setupResult !== undefined) return { kind: 'redirect', url: ended.setupResult };
      const back = ofFlow
        ? `${ofFlow.redirect_uri}${ofFlow.redirect_uri.includes('?') ? '&' : '?'}${new URLSearchParams({ error: 'access_denied', error_description: `${code}: ${message}`, ...(ofFlow.app_state !== null ? { state: ofFlow.app_state } : {}) }).toString()}`
        : undefined;
      return {
        kind: 'failure',
        status,
        code,
        title: 'Sign-in failed',
        message,
        facts: [...facts, ...extra, ['Error code', code]],
        ...(back ? { back } : {}),
      };
    };

    if (isFlowId && flow === undefined) return refuse(FLOW_NOT_FOUND.code, FLOW_NOT_FOUND.message);
    if (flow === undefined && !connection.enabled)
      return refuse('connection_disabled', 'This connection is not enabled, so it accepts no IdP-initiated sign-in.');
    const xml = decodeSamlResponse(input.samlResponse);
    if (xml === undefined) return refuse('saml_response_missing', 'The request carries no SAMLResponse, or it is not base64.', [], 400);

    const spKey = await deps.spKey();
    const result = verifySamlResponse({
      xml,
      idpEntityId: saml.idpEntityId,
      trustedCerts: trustedCertsOf(connection, saml),
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
    if (!result.ok) return refuse(result.error.code, result.error.message, errorFacts(result.error, saml));
    return endLogin({ connection, saml, flow, relayState: input.relayState, requestId: input.requestId }, result.value, refuse);
  }

  /** Ends a verified login in one transaction (a code, or a test sign-in's result), or refuses a replay. */
  async function endLogin(
    context: {
      connection: ConnectionForLogin;
      saml: NonNullable<ConnectionForLogin['saml']>;
      flow: LoginFlowRow | undefined;
      relayState: string | undefined;
      requestId: string;
    },
    verified: VerifiedAssertion,
    refuse: Refuse,
  ): Promise<AcsOutcome> {
    const { connection, saml, flow, requestId } = context;
    // Outside the transaction that ends the login: the purge is housekeeping, not part of it.
    if (++acsCalls % 100 === 0) await purgeExpiredAssertions(deps.db, deps.clock());
    const assertion = {
      connectionId: connection.id,
      assertionId: verified.assertionId,
      expiresAt: new Date(verified.notOnOrAfter.getTime() + saml.clockSkewSeconds * 1000),
    };
    const profile = mapProfile(
      {
        subject: verified.nameId,
        values: verified.attributes,
        subjectEmail: verified.nameIdFormat === EMAIL_FORMAT ? verified.nameId : null,
      },
      connection,
    );
    const login = { profile, connection, assertion };
    let ended;
    if (flow !== undefined) {
      ended = await deps.completion.succeed(flow, login, requestId);
    } else {
      let application;
      try {
        application = await deps.completion.unsolicitedApplication({
          organizationId: connection.organizationId,
          relayState: context.relayState,
          defaultApplicationId: saml.defaultApplicationId,
        });
      } catch (error) {
        if (error instanceof OAuthError) return refuse('idp_initiated_no_application', error.description);
        throw error;
      }
      ended = await deps.completion.succeedUnsolicited(application, login, requestId);
    }
    if (ended.ok) return { kind: 'redirect', url: ended.value };
    // Nothing of the success was written. A replay still uses up its flow, as any refused response does.
    if (ended.conflict === 'flow_taken') return refuse(FLOW_NOT_FOUND.code, FLOW_NOT_FOUND.message, [], 403, null);
    return refuse(
      'saml_replayed',
      'This SAML response was already used to sign in. Each response is accepted once; start the sign-in again.',
      [['Assertion ID', verified.assertionId]],
    );
  }

  return { upstream, acs };
}

export type SamlLogin = ReturnType<typeof createSamlLogin>;

type SamlSettings = NonNullable<ConnectionForLogin['saml']>;

/** The HTTP-POST binding's SAMLResponse: base64 (line breaks allowed) of the XML (SAML bindings §3.5.4). */
function decodeSamlResponse(encoded: string | undefined): string | undefined {
  if (encoded === undefined || encoded.length > MAX_ENCODED_RESPONSE) return undefined;
  const compact = encoded.replace(/[\r\n\t ]/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

/** Facts that help an IT admin fix the IdP or the connection, for the failure page. */
function errorFacts(error: SamlError, saml: SamlSettings): [string, string][] {
  const facts: [string, string][] = [];
  if (error.code === 'saml_untrusted_certificate' || error.code === 'saml_signature_invalid') {
    for (const pem of saml.certificatesPem) {
      const cert = trustedCertificate(pem);
      if (cert.ok) facts.push(['Trusted certificate (SHA-256)', cert.value.fingerprintSha256]);
    }
  }
  for (const [key, value] of Object.entries(error.detail ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') facts.push([key, String(value)]);
  }
  return facts;
}
