import { createRemoteJWKSet, customFetch as joseFetch, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { randomToken, type RandomBytes } from '../../crypto/tokens.ts';
import type { GuardedFetch } from '../../net/guarded-request.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import { err, ok, type Result } from '../result.ts';
import { describeOidcFailure, type OidcLoginError } from './oidc-failures.ts';

/** An OIDC connection's IdP values, as the login reads them. */
export type OidcSettings = NonNullable<ConnectionForLogin['oidc']>;

/** The ID token signature algorithms accepted: asymmetric only (no `none`, no HMAC with the client secret). */
const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Tolerated clock difference with the IdP when the connection sets none (the SAML default). */
const DEFAULT_OIDC_CLOCK_SKEW_SECONDS = 120;

/** One IdP as openid-client and jose see it: built once per connection version. */
export interface OidcProviderClient {
  readonly settings: OidcSettings;
  readonly config: client.Configuration;
  readonly keys: ReturnType<typeof createRemoteJWKSet>;
  readonly skewSeconds: number;
}

/**
 * Keeps one client per connection version (its `updatedAt`), built from the endpoints discovery
 * stored on the connection, so a login costs no discovery round trip and a changed connection
 * takes effect at once. Every back-channel call goes through `fetch` (the SSRF-guarded one).
 */
export function createOidcClients(deps: { fetch: GuardedFetch }) {
  const cache = new Map<string, { version: number; client: OidcProviderClient }>();
  return function clientFor(connection: { id: string; updatedAt: Date; oidc: OidcSettings }): OidcProviderClient {
    const version = connection.updatedAt.getTime();
    const cached = cache.get(connection.id);
    if (cached?.version === version) return cached.client;
    const built = buildClient(connection.oidc, deps.fetch);
    cache.set(connection.id, { version, client: built });
    return built;
  };
}

function buildClient(settings: OidcSettings & { clockSkewSeconds?: number }, fetch: GuardedFetch): OidcProviderClient {
  const skewSeconds = settings.clockSkewSeconds ?? DEFAULT_OIDC_CLOCK_SKEW_SECONDS;
  const server: client.ServerMetadata = {
    issuer: settings.issuer,
    authorization_endpoint: settings.authorizationEndpoint,
    token_endpoint: settings.tokenEndpoint,
    jwks_uri: settings.jwksUri,
    ...(settings.userinfoEndpoint !== null ? { userinfo_endpoint: settings.userinfoEndpoint } : {}),
    // The IdP's own list is not stored; without one openid-client would insist on RS256 alone.
    id_token_signing_alg_values_supported: ID_TOKEN_ALGORITHMS,
  };
  // client_secret_basic: the default of OAuth 2.0 (RFC 6749 §2.3.1) and of discovery's
  // token_endpoint_auth_methods_supported (RFC 8414 §2), which every certified IdP accepts.
  const config = new client.Configuration(
    server,
    settings.clientId,
    { client_secret: settings.clientSecret, [client.clockTolerance]: skewSeconds },
    client.ClientSecretBasic(settings.clientSecret),
  );
  config[client.customFetch] = fetch;
  config.timeout = 10;
  // An http issuer was accepted with a warning when the connection was saved; its endpoints are too.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated to stand out, as here: only http issuers take it
  if (settings.issuer.startsWith('http:')) client.allowInsecureRequests(config);
  // cooldownDuration 0: an unknown kid refetches the JWKS at once, so a key the IdP has just rotated
  // in is picked up by the first login that needs it. ID tokens come only from the IdP's own token
  // endpoint, so only the IdP can cause refetches, and logins are rate-limited.
  const keys = createRemoteJWKSet(new URL(settings.jwksUri), {
    cooldownDuration: 0,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5000,
    [joseFetch]: fetch,
  });
  return { settings, config, keys, skewSeconds };
}

/**
 * An authorization request (OIDC Core §3.1.2.1) with PKCE S256 (RFC 7636 §4), a fresh state and a
 * fresh nonce, and the app's `login_hint` when it sent one (§3.1.2.1: a hint the IdP may use).
 */
export async function authorizationRequest(
  provider: OidcProviderClient,
  random: RandomBytes,
  hints: { readonly loginHint?: string | undefined } = {},
): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }> {
  const state = randomToken(random);
  const nonce = randomToken(random);
  // 32 random bytes in base64url: 43 characters of the unreserved set, as RFC 7636 §4.1 asks.
  const codeVerifier = randomToken(random);
  const url = client.buildAuthorizationUrl(provider.config, {
    redirect_uri: provider.settings.redirectUri,
    scope: provider.settings.scopes.join(' '),
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...(hints.loginHint ? { login_hint: hints.loginHint } : {}),
  });
  return { url: url.href, state, nonce, codeVerifier };
}

/**
 * Redeems the code at the token endpoint (OIDC Core §3.1.3) and validates the ID token: openid-client
 * checks the response, issuer, audience, authorized party, expiry and nonce (§3.1.3.7); then jose
 * verifies the signature with the IdP's JWKS and checks issuer, audience and time again against
 * Lanyard's clock. The claims returned are the ones jose verified.
 */
export async function redeemCode(
  provider: OidcProviderClient,
  input: { params: Readonly<Record<string, string>>; state: string; nonce: string; codeVerifier: string; now: Date },
): Promise<Result<{ claims: Record<string, unknown>; accessToken: string; idToken: string }, OidcLoginError>> {
  const { settings } = provider;
  const context = {
    issuer: settings.issuer,
    clientId: settings.clientId,
    jwksUri: settings.jwksUri,
    now: input.now,
    skewSeconds: provider.skewSeconds,
  };
  const callbackUrl = new URL(settings.redirectUri);
  for (const [name, value] of Object.entries(input.params)) callbackUrl.searchParams.set(name, value);
  let idToken: string;
  let accessToken: string;
  try {
    const tokens = await client.authorizationCodeGrant(provider.config, callbackUrl, {
      pkceCodeVerifier: input.codeVerifier,
      expectedState: input.state,
      expectedNonce: input.nonce,
      idTokenExpected: true,
    });
    // idTokenExpected makes openid-client refuse a response without one; checked again for the type.
    if (tokens.id_token === undefined) throw new Error('the token response carries no id_token');
    idToken = tokens.id_token;
    accessToken = tokens.access_token;
  } catch (error) {
    return err(describeOidcFailure('token', error, context));
  }
  try {
    const { payload } = await jwtVerify(idToken, provider.keys, {
      issuer: settings.issuer,
      audience: settings.clientId,
      algorithms: ID_TOKEN_ALGORITHMS,
      clockTolerance: provider.skewSeconds,
      currentDate: input.now,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    return ok({ claims: payload, accessToken, idToken });
  } catch (error) {
    return err(describeOidcFailure('signature', error, { ...context, tokenHeader: unverifiedHeader(idToken) }));
  }
}

function unverifiedHeader(jwt: string): { kid?: string; alg?: string } | undefined {
  try {
    const { kid, alg } = decodeProtectedHeader(jwt);
    return { ...(kid !== undefined ? { kid } : {}), ...(alg !== undefined ? { alg } : {}) };
  } catch {
    return undefined;
  }
}

/** The userinfo claims (OIDC Core §5.3), refused unless their `sub` is the ID token's (§5.3.4). */
export async function fetchUserinfo(
  provider: OidcProviderClient,
  accessToken: string,
  subject: string,
  now: Date,
): Promise<Result<Record<string, unknown>, OidcLoginError>> {
  const { settings } = provider;
  try {
    return ok(await client.fetchUserInfo(provider.config, accessToken, subject));
  } catch (error) {
    const context = {
      issuer: settings.issuer,
      clientId: settings.clientId,
      jwksUri: settings.jwksUri,
      now,
      skewSeconds: provider.skewSeconds,
    };
    return err(describeOidcFailure('userinfo', error, context));
  }
}
