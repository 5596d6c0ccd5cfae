import type { Config } from '../../config.ts';
import type { Sealer } from '../../crypto/seal.ts';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import { createGuardedFetch } from '../../net/guarded-request.ts';
import type { LoginFlowRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import type { LoginCompletion } from '../oauth/complete.ts';
import { OAuthError } from '../oauth/errors.ts';
import type { UpstreamLogin } from '../oauth/ports.ts';
import { idpErrorRedirect, needsUserinfo, oidcIdentity } from './oidc-claims.ts';
import { authorizationRequest, createOidcClients, fetchUserinfo, redeemCode, type OidcResult } from './oidc-client.ts';
import { oidcError, type OidcLoginError, type OidcLoginErrorCode } from './oidc-errors.ts';
import { mapProfile } from './profile-mapping.ts';
import type { UpstreamIdentity } from './profile-mapping.ts';

export interface OidcLoginDeps {
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly sealer: Sealer;
  /** Name resolution for the IdP's back-channel endpoints, checked against the address policy. */
  readonly lookup: Lookup;
  readonly config: Pick<Config, 'allowPrivateMetadataUrls'>;
  readonly connections: { getForLogin(id: string): Promise<ConnectionForLogin | undefined> };
  readonly completion: LoginCompletion;
}

/** The parameters of an authorization response (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 `iss`). */
export interface OidcCallbackParams {
  state?: string | undefined;
  code?: string | undefined;
  iss?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
}

/** Where the callback sends the browser: on to the app, or to a page explaining the failure. */
export type OidcCallbackOutcome =
  | { kind: 'redirect'; url: string }
  | {
      kind: 'failure';
      status: number;
      code: OidcLoginErrorCode;
      title: string;
      message: string;
      facts: [string, string][];
      back?: string;
      cause?: unknown;
    };

/** What is sealed on the flow row between the redirect to the IdP and the callback. */
interface FlowSecrets {
  codeVerifier: string;
  nonce: string;
}

const STATUS: Partial<Record<OidcLoginErrorCode, number>> = {
  oidc_state_missing: 400,
  oidc_state_unknown: 400,
  oidc_state_replayed: 400,
  oidc_login_expired: 400,
  oidc_code_missing: 400,
  oidc_connection_unavailable: 404,
  oidc_token_exchange_failed: 502,
  oidc_token_response_invalid: 502,
  oidc_jwks_unavailable: 502,
  oidc_userinfo_failed: 502,
  oidc_idp_unreachable: 502,
  oidc_flow_state_invalid: 500,
  oidc_internal_error: 500,
};

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
    async start(flow: LoginFlowRow, connection: ConnectionForLogin) {
      const oidc = connection.oidc;
      if (oidc === undefined) throw new OAuthError('server_error', 'this OIDC connection has no identity provider configured yet');
      const request = await authorizationRequest(clientFor({ ...connection, oidc }), deps.random);
      const secrets: FlowSecrets = { codeVerifier: request.codeVerifier, nonce: request.nonce };
      // The state is what the callback finds the flow by; the flow id never leaves Lanyard.
      return {
        url: request.url,
        upstreamRequestId: request.state,
        sealedUpstreamState: deps.sealer.seal(JSON.stringify(secrets), flowSecretsContext(flow.id)),
      };
    },
  };

  /**
   * Records a failure on `flow` (when given) and as a `login.failed` event of `owner`'s organization
   * and connection, in one transaction; returns the result page of a test sign-in from a setup
   * page, if it is one.
   */
  async function record(
    flow: LoginFlowRow | undefined,
    owner: LoginFlowRow,
    error: OidcLoginError,
    facts: readonly [string, string][],
    requestId: string,
  ): Promise<string | undefined> {
    const input = {
      flow,
      organizationId: owner.organization_id,
      connectionId: owner.connection_id,
      code: error.code,
      message: error.message,
      facts: [...facts, ...error.facts],
    };
    const ended = await deps.completion.fail(input, requestId);
    // The flow is this callback's (taken before the code exchange) or expired: no other response can end it.
    if (!ended.ok) throw new Error(`login flow ${owner.id} was ended by another response`);
    return ended.setupResult;
  }

  /** A failure page; `back` returns to the app with `error=access_denied` once the flow is known. */
  function failure(
    error: OidcLoginError,
    facts: [string, string][],
    flow?: LoginFlowRow,
  ): Extract<OidcCallbackOutcome, { kind: 'failure' }> {
    const back = flow ? backToApp(flow, error) : undefined;
    return {
      kind: 'failure',
      status: STATUS[error.code] ?? 403,
      code: error.code,
      title: 'Sign-in failed',
      message: error.message,
      facts: [...facts, ...error.facts, ['Error code', error.code]],
      ...(back ? { back } : {}),
    };
  }

  /** No flow takes this state: say whether it was used, expired or never issued, recording what can be attributed. */
  async function unknownState(state: string, requestId: string): Promise<OidcCallbackOutcome> {
    const found = await deps.completion.findFlow({ upstreamRequestId: state, connectionType: 'oidc' });
    // A state nobody issued names no organization: nothing to attribute an event to.
    if (found === undefined)
      return failure(
        oidcError(
          'oidc_state_unknown',
          'This sign-in link is not one Lanyard sent to an identity provider, or its connection was deleted. Start the sign-in again from the application.',
        ),
        [],
      );
    const replayed = found.returned_at !== null;
    const error = replayed
      ? oidcError(
          'oidc_state_replayed',
          'This sign-in already returned from the identity provider; each answer is accepted once. Start the sign-in again from the application.',
        )
      : oidcError('oidc_login_expired', 'This sign-in took longer than the 10 minutes allowed. Start it again from the application.');
    // An expired flow records why it ended; a used one keeps the outcome of its first return.
    const setupResult = await record(replayed ? undefined : found, found, error, [], requestId);
    return setupResult !== undefined ? { kind: 'redirect', url: setupResult } : failure(error, [], found);
  }

  /** Code → verified ID token claims (+ userinfo when needed) → the identity to map. */
  async function verifiedIdentity(
    connection: ConnectionForLogin & { oidc: NonNullable<ConnectionForLogin['oidc']> },
    params: OidcCallbackParams & { state: string; code: string },
    secrets: FlowSecrets,
  ): Promise<OidcResult<UpstreamIdentity>> {
    const provider = clientFor(connection);
    const now = deps.clock();
    const response = { code: params.code, state: params.state, ...(params.iss !== undefined ? { iss: params.iss } : {}) };
    const redeemed = await redeemCode(provider, {
      params: response,
      state: params.state,
      nonce: secrets.nonce,
      codeVerifier: secrets.codeVerifier,
      now,
    });
    if (!redeemed.ok) return redeemed;
    const { claims, accessToken } = redeemed.value;
    let userinfo: Record<string, unknown> | undefined;
    if (connection.oidc.userinfoEndpoint !== null && needsUserinfo(claims, connection)) {
      const fetched = await fetchUserinfo(provider, accessToken, String(claims.sub), now);
      if (!fetched.ok) return fetched;
      userinfo = fetched.value;
    }
    return { ok: true, value: oidcIdentity(claims, userinfo, connection.attributeMapping) };
  }

  /**
   * Handles the authorization response at /sso/oidc/callback. The flow it names is taken first,
   * once, before its code is redeemed at the IdP (a back-channel call with effects, unlike a SAML
   * check); the writes that end the login then commit in one transaction.
   */
  async function callback(input: { params: OidcCallbackParams; requestId: string }): Promise<OidcCallbackOutcome> {
    const { params, requestId } = input;
    if (!params.state)
      return failure(
        oidcError(
          'oidc_state_missing',
          'This request to the OIDC callback carries no state, so it belongs to no sign-in. Start the sign-in from the application.',
        ),
        [],
      );
    const flow = await deps.completion.takeFlow({ upstreamRequestId: params.state, connectionType: 'oidc' });
    if (flow === undefined) return unknownState(params.state, requestId);
    try {
      return await completeFlow(flow, { ...params, state: params.state }, requestId);
    } catch (cause) {
      // The flow is taken and cannot be retried: record why it ended before the error page.
      const error = oidcError(
        'oidc_internal_error',
        'An unexpected error occurred while completing the sign-in. Start it again; if it persists, quote the request id.',
      );
      await record(flow, flow, error, [], requestId).catch(() => undefined);
      return { ...failure(error, [], flow), cause };
    }
  }

  async function completeFlow(
    flow: LoginFlowRow,
    params: OidcCallbackParams & { state: string },
    requestId: string,
  ): Promise<OidcCallbackOutcome> {
    const connection = await deps.connections.getForLogin(flow.connection_id);
    const oidc = connection?.oidc;
    const facts: [string, string][] =
      connection && oidc
        ? [
            ['Connection', `${connection.name} (${connection.id})`],
            ['Identity provider', oidc.issuer],
          ]
        : [['Connection', flow.connection_id]];
    const refuse = async (error: OidcLoginError): Promise<OidcCallbackOutcome> => {
      const setupResult = await record(flow, flow, error, facts, requestId);
      // A test sign-in from a setup page shows its diagnosis on its own result page.
      return setupResult !== undefined ? { kind: 'redirect', url: setupResult } : failure(error, facts, flow);
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
      const setupResult = await record(
        flow,
        flow,
        oidcError('oidc_idp_error', `The identity provider answered ${said}.`),
        facts,
        requestId,
      );
      return {
        kind: 'redirect',
        url:
          setupResult ??
          idpErrorRedirect(flow.redirect_uri, flow.app_state, { error: params.error, description: params.error_description }),
      };
    }
    // RFC 9207 §2.4: an `iss` naming another issuer means the response came from another IdP (mix-up).
    if (params.iss !== undefined && params.iss !== oidc.issuer) {
      return refuse(
        oidcError('oidc_issuer_mismatch', `The answer names the issuer "${params.iss}", but this connection trusts "${oidc.issuer}".`, [
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
    const identity = await verifiedIdentity({ ...connection, oidc }, { ...params, state: params.state, code: params.code }, secrets);
    if (!identity.ok) return refuse(identity.error);
    const succeeded = await deps.completion.succeed(flow, { profile: mapProfile(identity.value, connection), connection }, requestId);
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

/** The app's redirect URI with `error=access_denied`, the code and message, and its state (as the SAML ACS does). */
function backToApp(flow: LoginFlowRow, error: OidcLoginError): string {
  const url = new URL(flow.redirect_uri);
  url.searchParams.set('error', 'access_denied');
  url.searchParams.set('error_description', `${error.code}: ${error.message}`.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ').slice(0, 400));
  if (flow.app_state !== null) url.searchParams.set('state', flow.app_state);
  return url.toString();
}
