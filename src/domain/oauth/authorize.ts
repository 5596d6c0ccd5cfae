import type { Kysely } from 'kysely';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import { allowsOrganization, type Application, type ApplicationService } from '../applications/applications.ts';
import { OAuthError } from './errors.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import type { ConnectionDirectory, UpstreamHop, UpstreamLogin } from './ports.ts';

/** The query of GET /oauth/authorize (OIDC core §3.1.2.1, RFC 7636), plus Lanyard's connection selectors. */
export interface AuthorizeQuery {
  response_type?: string | undefined;
  client_id?: string | undefined;
  redirect_uri?: string | undefined;
  state?: string | undefined;
  scope?: string | undefined;
  nonce?: string | undefined;
  code_challenge?: string | undefined;
  code_challenge_method?: string | undefined;
  organization?: string | undefined;
  connection?: string | undefined;
  login_hint?: string | undefined;
}

export type AuthorizeOutcome =
  /** The client or redirect URI cannot be trusted: show a page, never redirect (RFC 6749 §4.1.2.1). */
  | { kind: 'error-page'; title: string; message: string }
  /** To the IdP, or back to the app with `error`. */
  | { kind: 'redirect'; url: string }
  /** To the IdP by a form the browser posts (SAML HTTP-POST binding). */
  | { kind: 'post'; action: string; fields: Record<string, string> }
  /** Several connections fit: let the user pick one. */
  | { kind: 'choose'; application: Application; connections: ConnectionForLogin[] };

/** How long a user has to finish signing in at the IdP. */
export const LOGIN_FLOW_TTL_MS = 10 * 60 * 1000;
const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export interface AuthorizeDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly applications: Pick<ApplicationService, 'findByClientId'>;
  readonly connections: ConnectionDirectory;
  readonly upstream: Readonly<Record<ConnectionForLogin['type'], UpstreamLogin | undefined>>;
}

/** Validates an authorization request, records a single-use login flow and sends the user to the IdP. */
export function createAuthorize(deps: AuthorizeDeps) {
  return async function authorize(query: AuthorizeQuery): Promise<AuthorizeOutcome> {
    const application = query.client_id ? await deps.applications.findByClientId(query.client_id) : undefined;
    if (application === undefined) {
      return {
        kind: 'error-page',
        title: 'Unknown application',
        message: query.client_id
          ? 'This sign-in link names an application (client_id) that Lanyard does not know.'
          : 'This sign-in link has no client_id.',
      };
    }
    const redirectUri = query.redirect_uri ?? (application.redirectUris.length === 1 ? application.redirectUris[0] : undefined);
    if (redirectUri === undefined || !application.redirectUris.includes(redirectUri)) {
      return {
        kind: 'error-page',
        title: 'Redirect URI not registered',
        message: `The redirect_uri of this sign-in link is not registered for the application "${application.name}", so Lanyard will not send anyone there.`,
      };
    }
    try {
      const connection = await chooseConnection(deps, application, query);
      if (Array.isArray(connection)) return { kind: 'choose', application, connections: connection };
      const hop = await startFlow(deps, application, redirectUri, query, connection);
      return 'url' in hop ? { kind: 'redirect', url: hop.url } : { kind: 'post', ...hop.post };
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return { kind: 'redirect', url: errorRedirect(redirectUri, error, query.state) };
    }
  };
}

async function chooseConnection(
  deps: AuthorizeDeps,
  application: Application,
  query: AuthorizeQuery,
): Promise<ConnectionForLogin | ConnectionForLogin[]> {
  if (query.response_type !== 'code') throw new OAuthError('unsupported_response_type', 'response_type must be code');
  if (query.code_challenge !== undefined || query.code_challenge_method !== undefined) {
    if (query.code_challenge_method !== 'S256')
      throw new OAuthError('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
    if (!PKCE_CHALLENGE.test(query.code_challenge ?? ''))
      throw new OAuthError('invalid_request', 'code_challenge must be the base64url SHA-256 of the code_verifier');
  }
  let candidates: ConnectionForLogin[];
  if (query.connection !== undefined) {
    candidates = await deps.connections.resolveForLogin({ connectionId: query.connection });
  } else if (query.organization !== undefined) {
    candidates = await deps.connections.resolveForLogin({ organizationId: query.organization });
  } else if (query.login_hint !== undefined) {
    const domain = query.login_hint
      .slice(query.login_hint.lastIndexOf('@') + 1)
      .trim()
      .toLowerCase();
    candidates = domain === '' ? [] : await deps.connections.resolveForLogin({ domain });
  } else {
    throw new OAuthError(
      'invalid_request',
      'name the organization, the connection or a login_hint so Lanyard knows where to send the user',
    );
  }
  candidates = candidates.filter((c) => c.enabled && allowsOrganization(application, c.organizationId));
  const [only, ...others] = candidates;
  if (only === undefined)
    throw new OAuthError('access_denied', 'no enabled SSO connection matches this sign-in request for this application');
  return others.length === 0 ? only : candidates;
}

async function startFlow(
  deps: AuthorizeDeps,
  application: Application,
  redirectUri: string,
  query: AuthorizeQuery,
  connection: ConnectionForLogin,
): Promise<UpstreamHop> {
  const upstream = deps.upstream[connection.type];
  if (upstream === undefined) throw new OAuthError('server_error', `${connection.type} connections cannot sign in yet`);
  const now = deps.clock();
  // The upstream request is built first, so the flow is written once, with it (one INSERT per authorize).
  const flow: LoginFlowRow = {
    id: newId('lgn', now, deps.random),
    application_id: application.id,
    organization_id: connection.organizationId,
    connection_id: connection.id,
    redirect_uri: redirectUri,
    app_state: query.state ?? null,
    nonce: query.nonce ?? null,
    scope: query.scope ?? 'openid profile email',
    code_challenge: query.code_challenge ?? null,
    upstream_request_id: null,
    sealed_upstream_state: null,
    created_at: now,
    expires_at: new Date(now.getTime() + LOGIN_FLOW_TTL_MS),
    returned_at: null,
    completed_at: null,
    failure_code: null,
    failure_message: null,
    setup_ticket_id: null,
    test_result: null,
  };
  const started = await upstream.start(flow, connection);
  await deps.db
    .insertInto('login_flows')
    .values({ ...flow, upstream_request_id: started.upstreamRequestId, sealed_upstream_state: started.sealedUpstreamState ?? null })
    .execute();
  return started;
}

/** The app's redirect URI with `error`, `error_description` and `state` (RFC 6749 §4.1.2.1). */
export function errorRedirect(redirectUri: string, error: OAuthError, state: string | null | undefined): string {
  const url = new URL(redirectUri);
  url.searchParams.set('error', error.error);
  url.searchParams.set('error_description', error.description);
  if (state != null) url.searchParams.set('state', state);
  return url.toString();
}
