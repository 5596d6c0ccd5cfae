import type { AttributeMapping } from '../connections/presets.ts';
import type { UpstreamIdentity } from './profile-mapping.ts';
import { appRedirect } from './redirects.ts';

// Claims about the token rather than the user (OIDC Core §2, §3.1.3.6, §3.3.2.11): kept out of
// the profile's raw attributes, which the app sees as `raw_attributes`.
const TOKEN_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'jti', 'sid', 'auth_time']);

/**
 * True when the ID token lacks a claim the profile is read from (email, or groups when the
 * connection syncs them), so the userinfo endpoint is worth a call (OIDC Core §5.4: with an
 * access token issued, providers may serve the scope claims from userinfo only).
 */
export function needsUserinfo(
  idToken: Readonly<Record<string, unknown>>,
  connection: { attributeMapping: AttributeMapping; groupSync: boolean },
): boolean {
  const mapping = connection.attributeMapping;
  return idToken[mapping.email] === undefined || (connection.groupSync && idToken[mapping.groups] === undefined);
}

/**
 * What the IdP said about the user: the verified ID token's claims, completed by userinfo for the
 * claims the token lacks (its `sub` was checked equal, OIDC Core §5.3.4). `email_verified` is
 * carried only when the email is read from the `email` claim it qualifies (OIDC Core §5.1); some
 * providers send it as the string "true".
 */
export function oidcIdentity(
  idToken: Readonly<Record<string, unknown>>,
  userinfo: Readonly<Record<string, unknown>> | undefined,
  mapping: AttributeMapping,
): UpstreamIdentity {
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries({ ...userinfo, ...idToken })) {
    if (!TOKEN_CLAIMS.has(name)) values[name] = value;
  }
  return {
    subject: String(idToken.sub),
    values,
    emailVerified: mapping.email === 'email' ? booleanClaim(values.email_verified) : null,
  };
}

function booleanClaim(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return null;
}

// RFC 6749 §4.1.2.1 codes that describe how the sign-in ended rather than a fault in Lanyard's
// request to the IdP; those pass to the app as they are, anything else reaches it as access_denied.
const PASSED_ON = ['access_denied', 'temporarily_unavailable', 'server_error'] as const;

/**
 * The app's redirect URI with an IdP's authorization error (OIDC Core §3.1.2.6) passed on: the
 * `error` the app should see, an `error_description` naming Lanyard's code and the IdP's words,
 * and the app's `state`.
 */
export function idpErrorRedirect(
  issuer: string,
  redirectUri: string,
  appState: string | null,
  idp: { error: string; description: string | undefined },
): string {
  const said = idp.description ? `${idp.error}: ${idp.description}` : idp.error;
  const error = PASSED_ON.find((code) => code === idp.error) ?? 'access_denied';
  return appRedirect(issuer, redirectUri, { error, description: `oidc_idp_error: the identity provider answered ${said}` }, appState);
}
