import type { OAuthErrorCode } from '../oauth/errors.ts';

/** What the app is told on its redirect URI: a code (RFC 6749 §4.1.2), or an error (§4.1.2.1). */
export type AppResponse = { readonly code: string } | { readonly error: OAuthErrorCode; readonly description: string };

/**
 * The one builder of redirects back to the app: its redirect URI (query kept) with `code`, or
 * `error` and `error_description`, then `state` when the app sent one, and `iss`, Lanyard's
 * issuer, on every authorization response, success and error alike (RFC 9207 §2), so that an app
 * using several providers can tell which one answered (mix-up defence).
 */
export function appRedirect(issuer: string, redirectUri: string, response: AppResponse, state: string | null | undefined): string {
  const url = new URL(redirectUri);
  if ('code' in response) {
    url.searchParams.set('code', response.code);
  } else {
    url.searchParams.set('error', response.error);
    url.searchParams.set('error_description', errorDescription(response.description));
  }
  if (state != null) url.searchParams.set('state', state);
  url.searchParams.set('iss', issuer);
  return url.toString();
}

/** RFC 6749 §4.1.2.1: error_description is limited to %x20-21 / %x23-5B / %x5D-7E; kept short too. */
function errorDescription(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ').slice(0, 400);
}
