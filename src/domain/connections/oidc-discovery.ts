import type { Catalogue } from '../catalogue.ts';
import { err, ok, type Result } from '../result.ts';
import type { AddressPolicyOptions } from '../../net/address-policy.ts';
import { fetchGuarded, type GuardedFetchError, type Lookup } from '../../net/guarded-fetch.ts';
import { isHttpUrl } from './input-checks.ts';

/** The endpoints of an OpenID provider that Lanyard's login needs, as discovered. */
interface OidcProviderEndpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  userinfoEndpoint: string | null;
  /** RP-Initiated Logout 1.0 §2.1: where an app-initiated logout sends the browser on, if the provider has one. */
  endSessionEndpoint: string | null;
}

/** Why discovery failed, by stable code; each message says what to fix. */
export const OIDC_DISCOVERY_ERROR_CATALOGUE = {
  discovery_fetch_failed: {
    description: 'The discovery document could not be fetched (address refused, timeout, HTTP status, size, network).',
  },
  discovery_not_json: { description: 'The discovery URL did not answer with a JSON object.' },
  discovery_issuer_mismatch: { description: 'The discovery document names another issuer than the one given.' },
  discovery_missing_endpoint: {
    description: 'The discovery document lacks an authorization, token or JWKS endpoint, or one is not an http(s) URL.',
  },
} as const satisfies Catalogue;

/** A stable code from {@link OIDC_DISCOVERY_ERROR_CATALOGUE}. */
type OidcDiscoveryErrorCode = keyof typeof OIDC_DISCOVERY_ERROR_CATALOGUE;

/** Why discovery failed; `message` is safe to show to whoever gave the issuer. */
interface OidcDiscoveryError {
  code: OidcDiscoveryErrorCode;
  message: string;
  /** For `discovery_fetch_failed`: what the guarded fetcher said. */
  fetchError?: GuardedFetchError;
}

export type OidcDiscoveryResult = Result<OidcProviderEndpoints, OidcDiscoveryError>;

/** The discovery document's URL for an issuer (OpenID Connect Discovery 1.0 §4: a trailing slash is dropped first). */
function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

/**
 * Fetches an issuer's discovery document through the SSRF-guarded fetcher and checks it: the
 * `issuer` it names must be exactly the one given (Discovery §4.3, so tokens cannot be accepted
 * from an impostor), and the authorization, token and JWKS endpoints must be http(s) URLs.
 */
export async function discoverOidcProvider(
  issuer: string,
  options: AddressPolicyOptions & { timeoutMs?: number },
  deps: { lookup: Lookup },
): Promise<OidcDiscoveryResult> {
  const fetched = await fetchGuarded(
    { ...options, url: discoveryUrl(issuer), accept: 'application/json', names: { url: 'discovery URL', document: 'discovery document' } },
    deps,
  );
  if (!fetched.ok) return failure('discovery_fetch_failed', fetched.error.message, fetched.error);
  let document: unknown;
  try {
    document = JSON.parse(fetched.value.body);
  } catch {
    return failure('discovery_not_json', `The discovery URL ${discoveryUrl(issuer)} did not answer with JSON.`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return failure('discovery_not_json', `The discovery URL ${discoveryUrl(issuer)} did not answer with a JSON object.`);
  }
  const fields = document as Record<string, unknown>;
  if (fields.issuer !== issuer) {
    const named = typeof fields.issuer === 'string' ? `"${fields.issuer.slice(0, 200)}"` : 'no issuer';
    return failure('discovery_issuer_mismatch', `The discovery document names ${named}, not "${issuer}"; the issuer must match exactly.`);
  }
  const endpoint = (name: string): string | undefined => {
    const value = fields[name];
    return typeof value === 'string' && isHttpUrl(value) ? value : undefined;
  };
  const required = { authorizationEndpoint: 'authorization_endpoint', tokenEndpoint: 'token_endpoint', jwksUri: 'jwks_uri' } as const;
  const authorizationEndpoint = endpoint(required.authorizationEndpoint);
  const tokenEndpoint = endpoint(required.tokenEndpoint);
  const jwksUri = endpoint(required.jwksUri);
  if (authorizationEndpoint === undefined || tokenEndpoint === undefined || jwksUri === undefined) {
    const missing = Object.values(required).filter((name) => endpoint(name) === undefined);
    return failure('discovery_missing_endpoint', `The discovery document has no http(s) ${missing.join(', ')}.`);
  }
  return ok({
    authorizationEndpoint,
    tokenEndpoint,
    jwksUri,
    userinfoEndpoint: endpoint('userinfo_endpoint') ?? null,
    endSessionEndpoint: endpoint('end_session_endpoint') ?? null,
  });
}

function failure(code: OidcDiscoveryErrorCode, message: string, fetchError?: GuardedFetchError): Result<never, OidcDiscoveryError> {
  return err({ code, message, ...(fetchError ? { fetchError } : {}) });
}
