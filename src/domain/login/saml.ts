import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import { purgeExpiredAssertions } from '../../storage/saml-assertions.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import type { DeploymentKey } from '../keys/deployment-keys.ts';
import { err, ok } from '../result.ts';
import { createAuthnRequest, encodeRedirectBinding } from '../saml/authn-request.ts';
import type { SamlError } from '../saml/errors.ts';
import { trustedCertificate, type TrustedCertificate } from '../saml/signature.ts';
import { verifySamlResponse, type VerifiedAssertion } from '../saml/verify-response.ts';
import { loginFailure, type Fact, type LoginFailure } from './failures.ts';
import type { DirectoryLink } from './directory-link.ts';
import type { LoginFinish } from './finish.ts';
import { failurePage, type LoginOutcome } from './outcome.ts';
import type { ConnectionDirectory, UpstreamLogin } from './ports.ts';
import { mapProfile } from './profile-mapping.ts';

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const FLOW_ID = /^lgn_[0-9A-Z]{26}$/;
const FLOW_NOT_FOUND = loginFailure(
  'login_flow_not_found',
  'This sign-in attempt has expired or was already completed (a response can be used once). Start the sign-in again from the application.',
);
// A base64 SAMLResponse of the verifier's 256 KiB limit, with room for line breaks.
const MAX_ENCODED_RESPONSE = 360 * 1024;

export interface SamlLoginDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly spKey: () => Promise<DeploymentKey>;
  /** Every SP key still published: during a rollover an IdP may encrypt to either certificate. */
  readonly spDecryptionKeys: () => Promise<readonly KeyObject[]>;
  readonly connections: Pick<ConnectionDirectory, 'getForLogin'>;
  readonly finish: LoginFinish;
  readonly config: Pick<Config, 'publicUrl'>;
  readonly linkDirectoryUser: DirectoryLink;
}

type SamlSettings = NonNullable<ConnectionForLogin['saml']>;

/** A refusal to record and show: on `flow` (default: the response's pending flow; null for none). */
interface Refusal {
  readonly failure: LoginFailure;
  readonly flow?: LoginFlowRow | null;
}

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
    async start(flow, connection) {
      const saml = connection.saml;
      if (saml === undefined) return err('not_configured');
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
        return ok({ post: { action: saml.ssoUrl, fields }, upstreamRequestId: request.id });
      }
      const signingKey = saml.signRequests ? (await deps.spKey()).privateKey : undefined;
      const binding = encodeRedirectBinding({
        ssoUrl: saml.ssoUrl,
        xml: request.xml,
        relayState: flow.id,
        ...(signingKey ? { signingKey } : {}),
      });
      return ok({ url: binding.url, upstreamRequestId: request.id });
    },
  };

  async function acs(input: {
    connectionId: string;
    samlResponse: string | undefined;
    relayState: string | undefined;
    requestId: string;
  }): Promise<LoginOutcome> {
    const connection = await deps.connections.getForLogin(input.connectionId);
    if (connection?.saml === undefined) {
      const unknown = loginFailure(
        'connection_not_found',
        'This ACS URL belongs to no SAML connection. Check the ACS URL configured at the identity provider.',
      );
      return failurePage(
        { ...unknown, facts: [] },
        { issuer: deps.config.publicUrl, facts: [['Connection', input.connectionId]], title: 'Unknown SAML connection' },
      );
    }
    const saml = connection.saml;
    const facts: Fact[] = [
      ['Connection', `${connection.name} (${connection.id})`],
      ['Identity provider', saml.idpEntityId],
    ];
    const flowId = input.relayState !== undefined && FLOW_ID.test(input.relayState) ? input.relayState : undefined;
    // Only read here: the flow is taken after verification, in the transaction that ends the login.
    const found = flowId !== undefined ? await deps.finish.findFlow({ id: flowId, connectionId: connection.id }) : undefined;
    const pending = found !== undefined && deps.finish.isPending(found) ? found : undefined;
    const refuse = async ({ failure, flow = pending ?? null }: Refusal): Promise<LoginOutcome> => {
      const record = {
        flow: flow ?? undefined,
        organizationId: connection.organizationId,
        connectionId: connection.id,
        connectionType: 'saml' as const,
      };
      const ended = await deps.finish.fail({ ...record, ...failure, facts: [...facts, ...failure.facts] }, input.requestId);
      // Another response took the flow meanwhile: this one is as late as any second response.
      if (!ended.ok) return refuse({ failure: FLOW_NOT_FOUND, flow: null });
      // A test sign-in from a setup page shows its diagnosis on its own result page.
      if (ended.value !== undefined) return { kind: 'redirect', url: ended.value };
      return failurePage(failure, { issuer: deps.config.publicUrl, facts, flow: flow ?? undefined });
    };

    if (flowId !== undefined && pending === undefined) return refuse({ failure: FLOW_NOT_FOUND });
    if (pending === undefined && !connection.enabled)
      return refuse({
        failure: loginFailure('connection_disabled', 'This connection is not enabled, so it accepts no IdP-initiated sign-in.'),
      });
    const xml = decodeSamlResponse(input.samlResponse);
    if (xml === undefined)
      return refuse({ failure: loginFailure('saml_response_missing', 'The request carries no SAMLResponse, or it is not base64.') });

    const decryptionKeys = await deps.spDecryptionKeys();
    // A certificate-renewal test sign-in checks the admin's candidate, never the live connection's trust.
    const candidate = pending?.setup_ticket_id != null ? pending.trusted_certificates : null;
    const trustedPems = candidate ?? saml.certificatesPem;
    const result = verifySamlResponse({
      xml,
      idpEntityId: saml.idpEntityId,
      trustedCerts: candidate === null ? trustedCertsOf(connection, saml) : candidatesOf(candidate),
      spEntityId: saml.spEntityId,
      acsUrl: saml.acsUrl,
      now: deps.clock(),
      clockSkewSeconds: saml.clockSkewSeconds,
      expectedInResponseTo: pending?.upstream_request_id ?? null,
      allowIdpInitiated: pending === undefined && saml.allowIdpInitiated,
      signaturePolicy: saml.signaturePolicy,
      allowSha1: saml.allowSha1,
      decryptionKeys: [...decryptionKeys],
    });
    if (!result.ok)
      return refuse({ failure: loginFailure(result.error.code, result.error.message, errorFacts(result.error, trustedPems)) });
    return endLogin({ connection, saml, flow: pending, relayState: input.relayState, requestId: input.requestId }, result.value, refuse);
  }

  /** Ends a verified login in one transaction (a code, or a test sign-in's result), or refuses a replay. */
  async function endLogin(
    context: {
      connection: ConnectionForLogin;
      saml: SamlSettings;
      flow: LoginFlowRow | undefined;
      relayState: string | undefined;
      requestId: string;
    },
    verified: VerifiedAssertion,
    refuse: (refusal: Refusal) => Promise<LoginOutcome>,
  ): Promise<LoginOutcome> {
    const { connection, saml, flow, requestId } = context;
    // Outside the transaction that ends the login: the purge is housekeeping, not part of it.
    if (++acsCalls % 100 === 0) await purgeExpiredAssertions(deps.db, deps.clock());
    const assertion = {
      connectionId: connection.id,
      assertionId: verified.assertionId,
      expiresAt: new Date(verified.notOnOrAfter.getTime() + saml.clockSkewSeconds * 1000),
    };
    const subjectEmail = verified.nameIdFormat === EMAIL_FORMAT ? verified.nameId : null;
    const linked = await deps.linkDirectoryUser(
      mapProfile({ subject: verified.nameId, values: verified.attributes, subjectEmail }, connection),
    );
    if (!linked.ok) return refuse({ failure: linked.error });
    const refusal = await deps.finish.emailRefusal(linked.value, connection);
    if (refusal !== undefined) return refuse({ failure: refusal });
    const samlSession = {
      nameId: verified.nameId,
      nameIdFormat: verified.nameIdFormat,
      nameQualifier: verified.nameQualifier,
      spNameQualifier: verified.spNameQualifier,
      sessionIndex: verified.sessionIndex,
      sessionNotOnOrAfter: verified.sessionNotOnOrAfter,
    };
    const login = { profile: linked.value, connection, assertion, samlSession };
    let ended;
    if (flow !== undefined) {
      ended = await deps.finish.succeed(flow, login, requestId);
    } else {
      const application = await deps.finish.unsolicitedApplication({
        organizationId: connection.organizationId,
        relayState: context.relayState,
        defaultApplicationId: saml.defaultApplicationId,
      });
      if (!application.ok) return refuse({ failure: loginFailure('idp_initiated_no_application', application.error) });
      ended = await deps.finish.succeedUnsolicited(application.value, login, requestId);
    }
    if (ended.ok) return { kind: 'redirect', url: ended.value };
    // Nothing of the success was written. A replay still uses up its flow, as any refused response does.
    if (ended.error === 'flow_taken') return refuse({ failure: FLOW_NOT_FOUND, flow: null });
    const replayed = loginFailure(
      'saml_replayed',
      'This SAML response was already used to sign in. Each response is accepted once; start the sign-in again.',
      [['Assertion ID', verified.assertionId]],
    );
    return refuse({ failure: replayed });
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

/** The words an IT admin reads for the verifier's detail keys (domain/saml/signature.ts); other keys show as they are. */
const DETAIL_LABELS: Readonly<Record<string, string>> = {
  keyInfoFingerprintSha256: 'Certificate that signed the response (SHA-256)',
};

/** The certificates a renewal test flow trusts, as key objects (parsed per response: tests are rare). */
function candidatesOf(pems: readonly string[]): TrustedCertificate[] {
  return pems.map((pem) => trustedCertificate(pem)).flatMap((r) => (r.ok ? [r.value] : []));
}

/** Facts that help an IT admin fix the IdP or the connection, for the failure page. */
function errorFacts(error: SamlError, trustedPems: readonly string[]): Fact[] {
  const facts: Fact[] = [];
  if (error.code === 'saml_untrusted_certificate' || error.code === 'saml_signature_invalid') {
    for (const pem of trustedPems) {
      const cert = trustedCertificate(pem);
      if (cert.ok) facts.push(['Trusted certificate (SHA-256)', cert.value.fingerprintSha256]);
    }
  }
  for (const [key, value] of Object.entries(error.detail ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') facts.push([DETAIL_LABELS[key] ?? key, String(value)]);
  }
  return facts;
}
