import type { Catalogue } from '../catalogue.ts';

/**
 * The OAuth 2.0 error codes Lanyard answers with (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1), with the
 * status of the JSON answer: `{error, error_description}` from /oauth/token and /oauth/userinfo,
 * or the `error` of a redirect back to the app from /oauth/authorize (where the status is the 302).
 */
export const OAUTH_ERROR_CATALOGUE = {
  invalid_request: { status: 400, description: 'The request is missing a parameter, repeats one, or is otherwise malformed.' },
  invalid_client: { status: 401, description: 'Client authentication failed: unknown client, wrong secret, or two methods at once.' },
  invalid_grant: {
    status: 400,
    description: 'The code is unknown, used, expired, issued to another client, or its redirect_uri or PKCE verifier do not match.',
  },
  unauthorized_client: { status: 400, description: 'The client may not use this grant type.' },
  unsupported_grant_type: { status: 400, description: 'grant_type is not authorization_code.' },
  unsupported_response_type: { status: 400, description: 'response_type is not code (redirect only).' },
  invalid_scope: { status: 400, description: 'The requested scope is invalid or unknown.' },
  access_denied: {
    status: 403,
    description: 'No enabled connection may sign this user in to this application, or the sign-in failed (redirect only).',
  },
  server_error: { status: 500, description: 'An unexpected failure; the request id finds it in the logs.' },
  temporarily_unavailable: {
    status: 503,
    description: "The IdP said it is temporarily unavailable (passed on from an OIDC IdP's answer).",
  },
  login_required: {
    status: 400,
    description: 'prompt=none, but signing in needs the user at their identity provider (OIDC core §3.1.2.6; redirect only).',
  },
  invalid_token: { status: 401, description: 'The access token is missing, unknown, expired or revoked (RFC 6750 §3.1).' },
} as const satisfies Catalogue;

/** A code of {@link OAUTH_ERROR_CATALOGUE}. */
export type OAuthErrorCode = keyof typeof OAUTH_ERROR_CATALOGUE;

/**
 * An error of the OAuth 2.0 endpoints, answered as RFC 6749 wants (http/errors.ts): its status
 * comes from the catalogue, `description` is the `error_description`.
 */
export class OAuthError extends Error {
  readonly status: number;
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
    this.status = OAUTH_ERROR_CATALOGUE[error].status;
  }
}
