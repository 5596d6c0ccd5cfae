import type { Kysely } from 'kysely';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import { insertLoginFlow } from '../../storage/login-flows.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import { err, ok, type Result } from '../result.ts';
import type { LoginMetrics, UpstreamHop, Upstreams } from './ports.ts';

/** How long a user has to finish signing in at the IdP. */
const LOGIN_FLOW_TTL_MS = 10 * 60 * 1000;

/** The scope a flow grants when the request names none. */
export const DEFAULT_SCOPE = 'openid profile email';

/** Who a flow ends for: an app (its redirect URI, state, nonce, PKCE challenge) or a setup ticket's test sign-in. */
export type FlowOwner =
  | {
      readonly applicationId: string;
      readonly redirectUri: string;
      readonly state: string | null;
      readonly nonce: string | null;
      readonly scope: string | null;
      readonly codeChallenge: string | null;
      /** The app's `login_hint`, passed on to an OIDC IdP so the user need not type the address again. */
      readonly loginHint?: string | undefined;
    }
  | {
      readonly setupTicketId: string;
      /** The test's result page, which names the flow. */
      readonly resultUrl: (flowId: string) => string;
      /** A certificate-renewal test: the response is checked against these, not the connection's certificates. */
      readonly trustedCertificates?: readonly string[];
    };

/** Why no flow was started: no upstream for the protocol, or the connection lacks its IdP values. */
export type StartRefusal = 'unsupported' | 'not_configured';

export interface StartFlowDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly upstream: Upstreams;
  readonly loginMetrics: Pick<LoginMetrics, 'started'>;
}

/**
 * Starts a login through `connection`: builds the upstream request (AuthnRequest, OIDC
 * authorization request), then records the single-use flow with it in one INSERT. The one way a
 * flow starts, for an app's /oauth/authorize and for a setup page's test sign-in alike.
 */
export async function startFlow(
  deps: StartFlowDeps,
  connection: ConnectionForLogin,
  owner: FlowOwner,
): Promise<Result<{ flowId: string; hop: UpstreamHop }, StartRefusal>> {
  const upstream = deps.upstream[connection.type];
  if (upstream === undefined) return err('unsupported');
  const now = deps.clock();
  const id = newId('lgn', now, deps.random);
  const app = 'applicationId' in owner ? owner : undefined;
  const flow: LoginFlowRow = {
    id,
    application_id: app?.applicationId ?? null,
    setup_ticket_id: 'setupTicketId' in owner ? owner.setupTicketId : null,
    organization_id: connection.organizationId,
    connection_id: connection.id,
    redirect_uri: 'resultUrl' in owner ? owner.resultUrl(id) : owner.redirectUri,
    app_state: app?.state ?? null,
    nonce: app?.nonce ?? null,
    scope: app?.scope ?? DEFAULT_SCOPE,
    code_challenge: app?.codeChallenge ?? null,
    upstream_request_id: null,
    sealed_upstream_state: null,
    created_at: now,
    expires_at: new Date(now.getTime() + LOGIN_FLOW_TTL_MS),
    returned_at: null,
    completed_at: null,
    failure_code: null,
    failure_message: null,
    failure_facts: null,
    test_result: null,
    trusted_certificates: 'trustedCertificates' in owner && owner.trustedCertificates ? [...owner.trustedCertificates] : null,
  };
  const started = await upstream.start(flow, connection, { loginHint: app?.loginHint });
  if (!started.ok) return started;
  const { upstreamRequestId, sealedUpstreamState, ...hop } = started.value;
  await insertLoginFlow(deps.db, { ...flow, upstream_request_id: upstreamRequestId, sealed_upstream_state: sealedUpstreamState ?? null });
  deps.loginMetrics.started(connection.type);
  return ok({ flowId: id, hop: 'url' in hop ? { url: hop.url } : { post: hop.post } });
}
