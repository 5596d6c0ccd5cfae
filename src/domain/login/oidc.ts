import type { Config } from '../../config.ts';
import type { Sealer } from '../../crypto/seal.ts';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import { createGuardedFetch } from '../../net/guarded-request.ts';
import type { OidcCallbackQuery } from '../../http/schemas/oauth.ts';
import type { LoginFlowRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import { err, ok, type Result } from '../result.ts';
import type { DirectoryLink } from './directory-link.ts';
import type { Fact, LoginFailure } from './failures.ts';
import type { LoginFinish, OidcSessionFacts } from './finish.ts';
import { idpErrorRedirect, needsUserinfo, oidcIdentity } from './oidc-claims.ts';
import { authorizationRequest, createOidcClients, fetchUserinfo, redeemCode } from './oidc-client.ts';
import { oidcError, type OidcLoginError } from './oidc-failures.ts';
import { failurePage, type LoginOutcome } from './outcome.ts';
import type { ConnectionDirectory, UpstreamLogin } from './ports.ts';
import { mapProfile, type UpstreamIdentity } from './profile-mapping.ts';

export interface OidcLoginDeps {
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly sealer: Sealer;
  /** Name resolution for the IdP's back-channel endpoints, checked against the address policy. */
  readonly lookup: Lookup;
  readonly config: Pick<Config, 'allowPrivateMetadataUrls' | 'publicUrl'>;
  readonly connections: Pick<ConnectionDirectory, 'getForLogin'>;
  readonly finish: LoginFinish;
  readonly linkDirectoryUser: DirectoryLink;
}

/** What is sealed on the flow row between the redirect to the IdP and the callback. */
interface FlowSecrets {
  codeVerifier: string;
  nonce: string;
}

type OidcConnection = ConnectionForLogin & { oidc: NonNullable<ConnectionForLogin['oidc']> };

/** The context the flow's secrets are sealed under: `<table>:<id>`, so `lanyard secrets rotate` re-seals them too. */
function flowSecretsContext(flowId: string): string {
  return `login_flows:${flowId}`;
}

/**
 * The OpenID Connect side of a login: an authorization request with PKCE, state and nonce out
 * (OIDC Core §3.1.2), the authorization response in at `/sso/oidc/callback` (§3.1.2.5), where the
 * code is redeemed and the ID token validated before the app gets its own code.
 */
export function createOidcLogin(deps: OidcLoginDeps) {
  const fetch = createGuardedFetch({ allowPrivateAddresses: deps.config.allowPrivateMetadataUrls }, deps);
  const clientFor = createOidcClients({ fetch });

  const upstream: UpstreamLogin = {
    async start(flow, connection, hints) {
      const oidc = connection.oidc;
      if (oidc === undefined) return err('not_configured');
      const request = await authorizationRequest(clientFor({ ...connection, oidc }), deps.random, hints);
      const secrets: FlowSecrets = { codeVerifier: request.codeVerifier, nonce: request.nonce };
      // The state is what the callback finds the flow by; the flow id never leaves Lanyard.
      return ok({
        url: request.url,
        upstreamRequestId: request.state,
        sealedUpstreamState: deps.sealer.seal(JSON.stringify(secrets), flowSecretsContext(flow.id)),
      });
    },
  };

  /**
   * Records a failure on `flow` (when given) and as a `login.failed` event of `owner`'s organization
   * and connection, in one transaction; returns the result page of a test sign-in from a setup
   * page, if it is one.
   */
  async function record(input: {
    flow: LoginFlowRow | undefined;
    owner: LoginFlowRow;
    error: LoginFailure;
    facts: readonly Fact[];
    requestId: string;
  }): Promise<string | undefined> {
    const { owner, error } = input;
    const failure = { ...error, facts: [...input.facts, ...error.facts] };
    const ended = await deps.finish.fail(
      { flow: input.flow, organizationId: owner.organization_id, connectionId: owner.connection_id, connectionType: 'oidc', ...failure },
      input.requestId,
    );
    // The flow is this callback's (taken before the code exchange) or expired: no other response can end it.
    if (!ended.ok) throw new Error(`login flow ${owner.id} was ended by another response`);
    return ended.value;
  }

  /** No flow takes this state: say whether it was used, expired or never issued, recording what can be attributed. */
  async function unknownState(state: string, requestId: string): Promise<LoginOutcome> {
    const found = await deps.finish.findFlow({ upstreamRequestId: state, connectionType: 'oidc' });
    // A state nobody issued names no organization: nothing to attribute an event to.
    if (found === undefined) {
      const unknown = oidcError(
        'oidc_state_unknown',
        'This sign-in link is not one Lanyard sent to an identity provider, or its connection was deleted. Start the sign-in ' +
          'again from the application.',
      );
      return failurePage(unknown, { issuer: deps.config.publicUrl, facts: [] });
    }
    const replayed = found.returned_at !== null;
    const error = replayed
      ? oidcError(
          'oidc_state_replayed',
          'This sign-in already returned from the identity provider; each answer is accepted once. Start the sign-in again from the application.',
        )
      : oidcError('oidc_login_expired', 'This sign-in took longer than the 10 minutes allowed. Start it again from the application.');
    // An expired flow records why it ended; a used one keeps the outcome of its first return.
    const setupResult = await record({ flow: replayed ? undefined : found, owner: found, error, facts: [], requestId });
    return setupResult !== undefined
      ? { kind: 'redirect', url: setupResult }
      : failurePage(error, { issuer: deps.config.publicUrl, facts: [], flow: found });
  }

  /** Code → verified ID token claims (+ userinfo when needed) → the identity to map. */
  async function verifiedIdentity(
    connection: OidcConnection,
    params: { state: string; code: string; iss?: string | undefined },
    secrets: FlowSecrets,
  ): Promise<Result<{ identity: UpstreamIdentity; session: OidcSessionFacts }, OidcLoginError>> {
    const provider = clientFor(connection);
    const now = deps.clock();
    const response = { code: params.code, state: params.state, ...(params.iss !== undefined ? { iss: params.iss } : {}) };
    const redeemed = await redeemCode(provider, { params: response, state: params.state, ...secrets, now });
    if (!redeemed.ok) return redeemed;
    const { claims, accessToken, idToken } = redeemed.value;
    let userinfo: Record<string, unknown> | undefined;
    if (connection.oidc.userinfoEndpoint !== null && needsUserinfo(claims, connection)) {
      const fetched = await fetchUserinfo(provider, accessToken, String(claims.sub), now);
      if (!fetched.ok) return fetched;
      userinfo = fetched.value;
    }
    // The provider's session (OIDC Front/Back-Channel Logout `sid`) and its id_token, for a logout at its end_session_endpoint.
    const session = { sid: typeof claims.sid === 'string' ? claims.sid : null, idToken };
    return ok({ identity: oidcIdentity(claims, userinfo, connection.attributeMapping), session });
  }

  /**
   * Handles the authorization response at /sso/oidc/callback. The flow it names is taken first,
   * once, before its code is redeemed at the IdP (a back-channel call with effects, unlike a SAML
   * check); the writes that end the login then commit in one transaction.
   */
  async function callback(input: { params: OidcCallbackQuery; requestId: string }): Promise<LoginOutcome> {
    const { params, requestId } = input;
    if (!params.state) {
      const missing = oidcError(
        'oidc_state_missing',
        'This request to the OIDC callback carries no state, so it belongs to no sign-in. Start the sign-in from the application.',
      );
      return failurePage(missing, { issuer: deps.config.publicUrl, facts: [] });
    }
    const flow = await deps.finish.takeFlow({ upstreamRequestId: params.state, connectionType: 'oidc' });
    if (flow === undefined) return unknownState(params.state, requestId);
    try {
      return await completeFlow(flow, { ...params, state: params.state }, requestId);
    } catch (cause) {
      // The flow is taken and cannot be retried: record why it ended before the error page.
      const error = oidcError(
        'oidc_internal_error',
        'An unexpected error occurred while completing the sign-in. Start it again; if it persists, quote the request id.',
      );
      await record({ flow, owner: flow, error, facts: [], requestId }).catch(() => undefined);
      return failurePage(error, { issuer: deps.config.publicUrl, facts: [], flow, cause });
    }
  }

  async function completeFlow(flow: LoginFlowRow, params: OidcCallbackQuery & { state: string }, requestId: string): Promise<LoginOutcome> {
    const connection = await deps.connections.getForLogin(flow.connection_id);
    const oidc = connection?.oidc;
    const facts: Fact[] =
      connection && oidc
        ? [
            ['Connection', `${connection.name} (${connection.id})`],
            ['Identity provider', oidc.issuer],
          ]
        : [['Connection', flow.connection_id]];
    const refuse = async (error: LoginFailure): Promise<LoginOutcome> => {
      const setupResult = await record({ flow, owner: flow, error, facts, requestId });
      // A test sign-in from a setup page shows its diagnosis on its own result page.
      return setupResult !== undefined
        ? { kind: 'redirect', url: setupResult }
        : failurePage(error, { issuer: deps.config.publicUrl, facts, flow });
    };
    if (connection === undefined || oidc === undefined) {
      return refuse(
        oidcError(
          'oidc_connection_unavailable',
          'The connection this sign-in started with was deleted, or lost its OpenID Connect settings, while you were at the identity provider.',
        ),
      );
    }
    if (params.error) {
      const said = params.error_description ? `${params.error} (${params.error_description.slice(0, 300)})` : params.error;
      const error = oidcError('oidc_idp_error', `The identity provider answered ${said}.`);
      const setupResult = await record({ flow, owner: flow, error, facts, requestId });
      const idp = { error: params.error, description: params.error_description };
      return { kind: 'redirect', url: setupResult ?? idpErrorRedirect(deps.config.publicUrl, flow.redirect_uri, flow.app_state, idp) };
    }
    // RFC 9207 §2.4: an `iss` naming another issuer means the response came from another IdP (mix-up).
    if (params.iss !== undefined && params.iss !== oidc.issuer) {
      const message = `The answer names the issuer "${params.iss}", but this connection trusts "${oidc.issuer}".`;
      return refuse(
        oidcError('oidc_issuer_mismatch', message, [
          ['Expected issuer', oidc.issuer],
          ['Received issuer', params.iss],
        ]),
      );
    }
    if (!params.code)
      return refuse(
        oidcError('oidc_code_missing', 'The identity provider sent the browser back with neither an authorization code nor an error.'),
      );
    const secrets = openSecrets(flow);
    if (secrets === undefined)
      return refuse(
        oidcError(
          'oidc_flow_state_invalid',
          "This sign-in's saved PKCE verifier and nonce could not be opened (the sealing key changed during the sign-in). Start the sign-in again.",
        ),
      );
    const identity = await verifiedIdentity({ ...connection, oidc }, { ...params, code: params.code }, secrets);
    if (!identity.ok) return refuse(identity.error);
    const linked = await deps.linkDirectoryUser(mapProfile(identity.value.identity, connection));
    if (!linked.ok) return refuse(linked.error);
    const refusal = await deps.finish.emailRefusal(linked.value, connection);
    if (refusal !== undefined) return refuse(refusal);
    const succeeded = await deps.finish.succeed(
      flow,
      { profile: linked.value, connection, oidcSession: identity.value.session },
      requestId,
    );
    if (!succeeded.ok) throw new Error(`login flow ${flow.id} was ended by another response`);
    return { kind: 'redirect', url: succeeded.value };
  }

  /** The PKCE verifier and nonce sealed on the flow at start, or undefined when they do not open. */
  function openSecrets(flow: LoginFlowRow): FlowSecrets | undefined {
    if (flow.sealed_upstream_state === null) return undefined;
    try {
      const value = JSON.parse(deps.sealer.open(flow.sealed_upstream_state, flowSecretsContext(flow.id))) as Partial<FlowSecrets>;
      return typeof value.codeVerifier === 'string' && typeof value.nonce === 'string'
        ? { codeVerifier: value.codeVerifier, nonce: value.nonce }
        : undefined;
    } catch {
      return undefined;
    }
  }

  return { upstream, callback };
}

export type OidcLogin = ReturnType<typeof createOidcLogin>;
