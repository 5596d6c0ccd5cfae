/**
 * An error of the OAuth 2.0 endpoints, answered as RFC 6749 wants: `{error, error_description}`
 * (§5.2) from /oauth/token, a redirect with `error` (§4.1.2.1) from /oauth/authorize once the
 * client and redirect URI are trusted, or an HTML page before that.
 */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

/** RFC 6749 §4.1.2.1, §5.2 and RFC 6750 §3.1 codes. */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'invalid_token',
] as const;

export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];
