import type { Config } from '../../config.ts';
import { domainToASCII } from 'node:url';
import type { AuthorizeQuery } from '../../http/schemas/oauth.ts';
import { isConsumerDomain } from '../domains/consumer-domains.ts';
import { allowsOrganization, type Application, type ApplicationService } from '../applications/applications.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import { OAuthError } from '../oauth/errors.ts';
import { err, ok, type Result } from '../result.ts';
import type { ConnectionDirectory } from './ports.ts';
import { appRedirect } from './redirects.ts';
import { startFlow, type StartFlowDeps } from './start.ts';

export type AuthorizeOutcome =
  /** The client or redirect URI cannot be trusted: show a page, never redirect (RFC 6749 §4.1.2.1). */
  | { kind: 'error-page'; title: string; message: string }
  /** To the IdP, or back to the app with `error`. */
  | { kind: 'redirect'; url: string }
  /** To the IdP by a form the browser posts (SAML HTTP-POST binding). */
  | { kind: 'post'; action: string; fields: Record<string, string> }
  /** Several connections fit: let the user pick one. */
  | { kind: 'choose'; application: Application; connections: ConnectionForLogin[] };

/** The domain of `login_hint`'s address or of `domain=`, as domains are stored (lower-case ASCII, no root dot). */
function discoveryDomain(raw: string): string {
  return domainToASCII(raw.trim().toLowerCase().replace(/\.$/, ''));
}

const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export interface AuthorizeDeps extends StartFlowDeps {
  readonly config: Pick<Config, 'publicUrl'>;
  readonly applications: Pick<ApplicationService, 'findByClientId'>;
  readonly connections: ConnectionDirectory;
}

/** The app's authorization request: validates it, then starts a login flow through the connection it names. */
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
        message:
          `The redirect_uri of this sign-in link is not registered for the application "${application.name}", so Lanyard will ` +
          `not send anyone there.`,
      };
    }
    // From here the redirect URI is trusted: refusals go back to the app (RFC 6749 §4.1.2.1).
    const back = (error: OAuthError): AuthorizeOutcome => ({
      kind: 'redirect',
      url: appRedirect(deps.config.publicUrl, redirectUri, { error: error.error, description: error.description }, query.state),
    });
    const chosen = await chooseConnection(deps, application, query);
    if (!chosen.ok) return back(chosen.error);
    if (Array.isArray(chosen.value)) return { kind: 'choose', application, connections: chosen.value };
    const connection = chosen.value;
    const owner = {
      applicationId: application.id,
      redirectUri,
      state: query.state ?? null,
      nonce: query.nonce ?? null,
      scope: query.scope ?? null,
      codeChallenge: query.code_challenge ?? null,
      loginHint: query.login_hint,
    };
    const started = await startFlow(deps, connection, owner);
    if (!started.ok) {
      const description =
        started.error === 'unsupported'
          ? `${connection.type} connections cannot sign in yet`
          : `this ${connection.type.toUpperCase()} connection has no identity provider configured yet`;
      return back(new OAuthError('server_error', description));
    }
    const { hop } = started.value;
    return 'url' in hop ? { kind: 'redirect', url: hop.url } : { kind: 'post', ...hop.post };
  };
}

/** What refuses the request before any connection is looked at: its response type, PKCE, prompt. */
function requestRefusal(application: Application, query: AuthorizeQuery): OAuthError | undefined {
  if (query.response_type !== 'code') return new OAuthError('unsupported_response_type', 'response_type must be code');
  if (query.code_challenge !== undefined || query.code_challenge_method !== undefined) {
    if (query.code_challenge_method !== 'S256')
      return new OAuthError('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
    if (!PKCE_CHALLENGE.test(query.code_challenge ?? ''))
      return new OAuthError('invalid_request', 'code_challenge must be the base64url SHA-256 of the code_verifier');
  } else if (application.requirePkce) {
    // OAuth 2.1 §4.1.1: a code without PKCE can be injected into another session; only a recorded opt-out skips it.
    return new OAuthError('invalid_request', 'code_challenge is required (PKCE with S256) for this application');
  }
  const prompt = new Set((query.prompt ?? '').split(' ').filter((value) => value !== ''));
  if (prompt.has('none')) {
    // OIDC core §3.1.2.1: none with another value is an error. Lanyard keeps no session of its own:
    // every sign-in is the IdP's, so none can never be met without showing the user a page.
    return prompt.size > 1
      ? new OAuthError('invalid_request', 'prompt=none cannot be combined with other prompt values')
      : new OAuthError('login_required', 'Lanyard signs users in at their identity provider, which prompt=none forbids');
  }
  return undefined;
}

/** The connection the request names (or the several that fit), or the OAuth error that refuses it. */
async function chooseConnection(
  deps: AuthorizeDeps,
  application: Application,
  query: AuthorizeQuery,
): Promise<Result<ConnectionForLogin | ConnectionForLogin[], OAuthError>> {
  const refused = requestRefusal(application, query);
  if (refused !== undefined) return err(refused);
  let candidates: ConnectionForLogin[];
  if (query.connection !== undefined) {
    candidates = await deps.connections.resolveForLogin({ connectionId: query.connection });
  } else if (query.organization !== undefined) {
    candidates = await deps.connections.resolveForLogin({ organizationId: query.organization });
  } else if (query.login_hint !== undefined || query.domain !== undefined) {
    const domain = discoveryDomain(query.domain ?? query.login_hint?.slice(query.login_hint.lastIndexOf('@') + 1) ?? '');
    // Only verified domains route (storage checks it); a consumer domain never does, whoever verified it.
    candidates = domain === '' || isConsumerDomain(domain) ? [] : await deps.connections.resolveForLogin({ domain });
  } else {
    return err(
      new OAuthError(
        'invalid_request',
        'name the organization, the connection, a login_hint or a domain so Lanyard knows where to send the user',
      ),
    );
  }
  candidates = candidates.filter((c) => c.enabled && allowsOrganization(application, c.organizationId));
  const [only, ...others] = candidates;
  if (only === undefined)
    return err(new OAuthError('access_denied', 'no enabled SSO connection matches this sign-in request for this application'));
  return ok(others.length === 0 ? only : candidates);
}
