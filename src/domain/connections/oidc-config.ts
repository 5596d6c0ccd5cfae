import type { OidcInput } from '../../http/schemas/connections.ts';
import { AppError } from '../errors.ts';
import { fieldError, requireHttpUrl } from './input-checks.ts';
import type { OidcDiscoveryResult } from './oidc-discovery.ts';

/** An OIDC connection's settings as stored (the `settings` column); the client secret is sealed apart. */
export interface OidcSettings {
  issuer: string | null;
  clientId: string | null;
  scopes: string[];
  authorizationEndpoint: string | null;
  tokenEndpoint: string | null;
  jwksUri: string | null;
  userinfoEndpoint: string | null;
  /** The provider's end_session_endpoint (RP-Initiated Logout 1.0); null when it has none or was stored before it was kept. */
  endSessionEndpoint: string | null;
}

/** How the resolver discovers a provider (the SSRF-guarded discovery, configured by the service). */
export interface OidcResolveContext {
  discover(issuer: string): Promise<OidcDiscoveryResult>;
}

/** Scopes asked for unless the connection says otherwise. */
const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
const EMPTY: OidcSettings = {
  issuer: null,
  clientId: null,
  scopes: DEFAULT_SCOPES,
  authorizationEndpoint: null,
  tokenEndpoint: null,
  jwksUri: null,
  userinfoEndpoint: null,
  endSessionEndpoint: null,
};
// RFC 6749 §3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Works out an OIDC connection's settings from a request and what is stored. A given issuer is
 * discovered again (so PATCHing the same issuer refreshes the endpoints). Returns the new client
 * secret, if one was given, for the caller to seal; `hasStoredSecret` says whether one is kept.
 */
export async function resolveOidcSettings(
  input: OidcInput,
  existing: OidcSettings | undefined,
  hasStoredSecret: boolean,
  context: OidcResolveContext,
): Promise<{ settings: OidcSettings; clientSecret: string | undefined }> {
  let settings: OidcSettings = { ...(existing ?? EMPTY) };
  if (input.issuer !== undefined) {
    const issuer = checkIssuer(input.issuer);
    const discovered = await context.discover(issuer);
    if (!discovered.ok) {
      const { message } = discovered.error;
      throw new AppError('oidc_discovery_failed', `oidc.issuer discovery failed: ${message}`, [{ field: 'oidc.issuer', message }]);
    }
    settings = { ...settings, issuer, ...discovered.value };
  }
  if (input.clientId !== undefined) settings.clientId = input.clientId;
  if (input.scopes !== undefined) settings.scopes = checkScopes(input.scopes);
  const secret = input.clientSecret !== undefined || hasStoredSecret;
  const present = { issuer: settings.issuer !== null, clientId: settings.clientId !== null, clientSecret: secret };
  const missing = Object.entries(present).find(([, here]) => !here);
  if (Object.values(present).some(Boolean) && missing !== undefined) {
    throw fieldError(`oidc.${missing[0]}`, 'is required: an OIDC connection needs issuer, clientId and clientSecret together');
  }
  return { settings, clientSecret: input.clientSecret };
}

/** True when the values needed to log in are all there. */
export function isOidcComplete(settings: OidcSettings, hasSecret: boolean): boolean {
  return settings.issuer !== null && settings.clientId !== null && settings.tokenEndpoint !== null && hasSecret;
}

/** What an admin should know about these settings, though they are accepted. */
export function oidcWarnings(settings: OidcSettings, hasSecret: boolean): string[] {
  const warnings: string[] = [];
  if (settings.issuer?.startsWith('http:')) warnings.push('oidc.issuer uses plain http: tokens would travel unencrypted');
  if (!isOidcComplete(settings, hasSecret))
    warnings.push('the OIDC values are missing: give oidc.issuer, clientId and clientSecret before enabling');
  return warnings;
}

/** An issuer is an http(s) URL without query or fragment (OpenID Connect Core §2, `iss`). */
function checkIssuer(value: string): string {
  const issuer = requireHttpUrl(value, 'oidc.issuer');
  const url = new URL(issuer);
  if (url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')) {
    throw fieldError('oidc.issuer', 'must not have a query or fragment');
  }
  return issuer;
}

function checkScopes(scopes: readonly string[]): string[] {
  const unique = [...new Set(scopes)];
  const bad = unique.find((scope) => !SCOPE_TOKEN.test(scope));
  if (bad !== undefined)
    throw fieldError(`oidc.scopes.${scopes.indexOf(bad)}`, 'is not a valid scope (printable characters, no spaces or quotes)');
  // Without `openid` the provider answers plain OAuth 2.0: no ID token, nothing to sign the user in with.
  if (!unique.includes('openid')) throw fieldError('oidc.scopes', 'must include openid');
  return unique;
}
