import type { Catalogue } from '../catalogue.ts';
import type { SamlErrorCode } from '../saml/errors.ts';

/**
 * Why a sign-in failed, for every step of the login (the flow, the ACS, the OIDC callback), with
 * the status of the failure page. Codes are stable: stored on the login flow, recorded in
 * `login.failed` events, shown on the page. The SAML verifier's own codes (domain/saml/errors.ts)
 * are login failures too, answered 403; every other code a login records is declared here.
 */
export const LOGIN_FAILURE_CATALOGUE = {
  login_flow_not_found: {
    status: 403,
    description: 'The sign-in this response belongs to expired, or another response completed it already (a response is accepted once).',
  },
  connection_not_found: { status: 404, description: 'The ACS or SLO URL belongs to no SAML connection.' },
  connection_disabled: { status: 403, description: 'The connection is not enabled, so it accepts no IdP-initiated sign-in.' },
  saml_response_missing: { status: 400, description: 'The ACS request carries no SAMLResponse, or it is not base64.' },
  saml_replayed: { status: 403, description: 'The SAML response (its assertion) signed someone in already; each is accepted once.' },
  idp_initiated_no_application: {
    status: 403,
    description: 'An IdP-initiated sign-in names no application that may serve the organization (RelayState or defaultApplicationId).',
  },
  user_deactivated: {
    status: 403,
    description:
      'The user is a directory user the IdP deactivated (SCIM active: false), and the directory refuses their sign-ins (refuseInactiveUsers).',
  },
  email_domain_not_allowed: {
    status: 403,
    description:
      "The IdP asserted an email outside the organization's verified domains, and the connection's emailDomainPolicy is enforce.",
  },
  oidc_state_missing: { status: 400, description: 'The callback carries no state, so it belongs to no sign-in.' },
  oidc_state_unknown: {
    status: 400,
    description: 'No sign-in is waiting for this state (never issued here, or its connection was deleted).',
  },
  oidc_state_replayed: {
    status: 400,
    description: 'The sign-in this state belongs to already returned from the IdP; a callback is accepted once.',
  },
  oidc_login_expired: { status: 400, description: 'The sign-in took longer than the 10 minutes a login flow lives.' },
  oidc_connection_unavailable: {
    status: 404,
    description: "The sign-in's connection was deleted, or lost its OIDC settings, while the user was at the IdP.",
  },
  oidc_flow_state_invalid: {
    status: 500,
    description: "The sign-in's sealed PKCE verifier and nonce could not be opened (the sealing key changed).",
  },
  oidc_idp_error: {
    status: 403,
    description: 'The IdP answered the authorization request with an error (access_denied, …); passed on to the app.',
  },
  oidc_code_missing: { status: 400, description: 'The callback carries neither an authorization code nor an error.' },
  oidc_issuer_mismatch: {
    status: 403,
    description: 'The ID token (or the `iss` callback parameter, RFC 9207) names another issuer than the connection.',
  },
  oidc_audience_mismatch: { status: 403, description: "The ID token's audience (or authorized party) is not the connection's client ID." },
  oidc_id_token_expired: { status: 403, description: 'The ID token is past its expiry (exp), beyond the tolerated clock skew.' },
  oidc_id_token_not_yet_valid: { status: 403, description: 'The ID token is not valid yet (nbf), beyond the tolerated clock skew.' },
  oidc_nonce_missing: { status: 403, description: 'The ID token carries no nonce, though the authorization request sent one.' },
  oidc_nonce_mismatch: { status: 403, description: 'The ID token carries another nonce than the one sent for this sign-in.' },
  oidc_id_token_invalid_signature: {
    status: 403,
    description: "The ID token's signature does not verify with the key the IdP publishes for it.",
  },
  oidc_id_token_unknown_key: {
    status: 403,
    description: "No key of the IdP's JWKS (fetched again on an unknown kid) matches the ID token.",
  },
  oidc_id_token_unsupported_algorithm: {
    status: 403,
    description: 'The ID token is signed with an algorithm Lanyard does not accept (none, HMAC, …).',
  },
  oidc_token_exchange_failed: {
    status: 502,
    description: 'The token endpoint refused the code exchange (invalid_client: wrong client secret; invalid_grant; …).',
  },
  oidc_token_response_invalid: {
    status: 502,
    description: 'The token endpoint answered, but not with a valid token response and ID token.',
  },
  oidc_jwks_unavailable: { status: 502, description: "The IdP's JWKS could not be fetched or read." },
  oidc_userinfo_failed: {
    status: 502,
    description: 'The userinfo endpoint, called for claims the ID token lacks, failed or named another subject.',
  },
  oidc_idp_unreachable: {
    status: 502,
    description: 'A back-channel endpoint of the IdP could not be reached (refused address, timeout, network).',
  },
  oidc_internal_error: { status: 500, description: 'An unexpected failure while processing the callback.' },
  // Logout (issue 17): /oauth/logout and the SAML SLO URL record their refusals on the same trace.
  logout_id_token_hint_invalid: {
    status: 400,
    description: 'The id_token_hint at /oauth/logout is not an id_token Lanyard signed (bad signature, other issuer, no audience).',
  },
  logout_client_unknown: { status: 400, description: "The client_id at /oauth/logout (or the hint's audience) is no application." },
  logout_client_mismatch: { status: 400, description: "The client_id at /oauth/logout is not the id_token_hint's audience." },
  logout_redirect_uri_not_registered: {
    status: 400,
    description:
      "The post_logout_redirect_uri is not one of the application's postLogoutRedirectUris (exact match), or names no application.",
  },
  logout_message_missing: { status: 400, description: 'The request to the SLO URL carries neither a SAMLRequest nor a SAMLResponse.' },
  logout_flow_not_found: {
    status: 403,
    description:
      'A LogoutResponse, or an OIDC provider returning to /sso/oidc/logout-callback, names no logout Lanyard is waiting for (unknown or expired RelayState or state, or already answered).',
  },
  logout_state_missing: {
    status: 400,
    description: 'The request to /sso/oidc/logout-callback carries no state, so it belongs to no sign-out.',
  },
  logout_state_unknown: {
    status: 400,
    description:
      'No logout sent to an OIDC provider is waiting for the state at /sso/oidc/logout-callback (never issued, or expired and forgotten).',
  },
  logout_request_replayed: { status: 403, description: 'The LogoutRequest (its ID) was received before; each is accepted once.' },
} as const satisfies Catalogue;

/** A login failure code: one of {@link LOGIN_FAILURE_CATALOGUE}, or a SAML verifier code. */
export type LoginFailureCode = keyof typeof LOGIN_FAILURE_CATALOGUE | SamlErrorCode;

/** The OIDC codes, which the OIDC client helpers produce. */
export type OidcFailureCode = Extract<keyof typeof LOGIN_FAILURE_CATALOGUE, `oidc_${string}`>;

/** One fact for the IT admin on the failure page: a label and a value (expected vs. received, …). */
export type Fact = readonly [string, string];

/** A refusal with the facts an IT admin needs to fix it. `message` is plain words and may change; `code` does not. */
export interface LoginFailure<Code extends LoginFailureCode = LoginFailureCode> {
  readonly code: Code;
  readonly message: string;
  readonly facts: readonly Fact[];
}

/** Builds a failure value. */
export function loginFailure<Code extends LoginFailureCode>(code: Code, message: string, facts: readonly Fact[] = []): LoginFailure<Code> {
  return { code, message, facts };
}

/** The failure page's status: the catalogue's, 403 for a SAML verifier refusal. */
export function failureStatus(code: LoginFailureCode): number {
  return Object.hasOwn(LOGIN_FAILURE_CATALOGUE, code) ? LOGIN_FAILURE_CATALOGUE[code as keyof typeof LOGIN_FAILURE_CATALOGUE].status : 403;
}
