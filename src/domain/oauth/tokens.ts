import { createHash, generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { constantTimeEqual, hashToken, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import {
  findAccessToken,
  deleteAccessToken,
  revokeAccessToken,
  revokeTokensOfCode,
  redeemAuthorizationCode,
} from '../../storage/oauth-grants.ts';
import type { AuthorizationCodeRow, Database } from '../../storage/schema.ts';
import type { ApplicationService } from '../applications/applications.ts';
import type { DeploymentKey, DeploymentKeys, GenerateKey } from '../keys/deployment-keys.ts';
import { OAuthError } from './errors.ts';
import { profileClaims } from './claims.ts';

/** Lifetime of access tokens and id_tokens. */
const ACCESS_TOKEN_TTL_SECONDS = 600;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** The client credentials of a request, read from the header (client_secret_basic) or the body (client_secret_post). */
export interface ClientCredentials {
  clientId: string | undefined;
  clientSecret: string | undefined;
}

/** The token request after client authentication was read from the header or the body. */
export interface TokenRequest extends ClientCredentials {
  grant_type?: string | undefined;
  code?: string | undefined;
  redirect_uri?: string | undefined;
  code_verifier?: string | undefined;
}

/** The revocation request (RFC 7009 §2.1); `token_type_hint` is only a hint, and Lanyard issues access tokens alone. */
export interface RevocationRequest extends ClientCredentials {
  token?: string | undefined;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  id_token?: string;
  scope: string;
}

/** The deployment key purpose of the id_token signing keys (the JWKS). */
export const TOKEN_SIGNING_KEY_PURPOSE = 'oidc-token-signing';

/** How a token signing key is made (RSA-2048), at first use and at each rotation; it is sealed in the database. */
export const generateTokenSigningKey: GenerateKey = async () => ({
  privateKeyPem: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
});

export function tokenSigningKey(keys: DeploymentKeys): Promise<DeploymentKey> {
  return keys.get(TOKEN_SIGNING_KEY_PURPOSE, generateTokenSigningKey);
}

/** Codes for tokens (RFC 6749 §4.1.3, RFC 7636 §4.6), tokens for claims (OIDC core §5.3). */
export function createTokenService(deps: {
  db: Kysely<Database>;
  clock: Clock;
  random: RandomBytes;
  issuer: string;
  applications: Pick<ApplicationService, 'authenticateClient'>;
  deploymentKeys: DeploymentKeys;
}) {
  const { db, clock } = deps;

  /**
   * In one statement, uses the code up (also when it is then refused) and writes the access token
   * it buys, deleted again when the code is refused; a code already used revokes what its first
   * use obtained (RFC 6749 §4.1.2).
   */
  async function redeem(input: {
    codeHash: string;
    accessToken: string;
    applicationId: string;
    request: TokenRequest;
    now: Date;
  }): Promise<AuthorizationCodeRow> {
    const { codeHash, now } = input;
    const tokenHash = hashToken(input.accessToken);
    const expiresAt = new Date(now.getTime() + ACCESS_TOKEN_TTL_SECONDS * 1000);
    const code = await redeemAuthorizationCode(db, { codeHash, tokenHash, applicationId: input.applicationId, now, expiresAt });
    if (code === undefined) {
      // A code presented twice may have been stolen: revoke what the first use obtained (RFC 6749 §4.1.2).
      await revokeTokensOfCode(db, codeHash, now);
      throw new OAuthError('invalid_grant', 'the code is unknown or was already used');
    }
    const refused = refusal(code, input.applicationId, input.request, now);
    if (refused !== undefined) {
      await deleteAccessToken(db, tokenHash);
      throw refused;
    }
    return code;
  }

  /** The client the credentials authenticate (RFC 6749 §2.3.1), or invalid_client. */
  async function authenticate(credentials: ClientCredentials) {
    if (credentials.clientId === undefined || credentials.clientSecret === undefined)
      throw new OAuthError('invalid_client', 'authenticate the client with client_secret_basic or client_secret_post');
    const application = await deps.applications.authenticateClient(credentials.clientId, credentials.clientSecret);
    if (application === undefined) throw new OAuthError('invalid_client', 'unknown client or wrong client secret');
    return application;
  }

  return {
    async exchange(request: TokenRequest): Promise<TokenResponse> {
      const application = await authenticate(request);
      if (request.grant_type !== 'authorization_code')
        throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code');
      if (!request.code) throw new OAuthError('invalid_request', 'code is required');
      const now = clock();
      const codeHash = hashToken(request.code);
      const accessToken = randomToken(deps.random);
      const code = await redeem({ codeHash, accessToken, applicationId: application.id, request, now });
      const profile = code.profile;
      const scope = new Set(code.scope.split(' '));
      const response: TokenResponse = {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_TTL_SECONDS,
        scope: code.scope,
      };
      if (scope.has('openid')) {
        const key = await tokenSigningKey(deps.deploymentKeys);
        response.id_token = await new SignJWT({
          ...profileClaims(profile, scope),
          ...(code.nonce !== null ? { nonce: code.nonce } : {}),
          // The session, for RP-Initiated and Back-Channel Logout (Back-Channel Logout 1.0 §2.1).
          ...(code.session_id !== null ? { sid: code.session_id } : {}),
          at_hash: atHash(accessToken),
        })
          .setProtectedHeader({ alg: 'RS256', kid: key.id, typ: 'JWT' })
          .setIssuer(deps.issuer)
          .setAudience(application.clientId)
          .setIssuedAt(Math.floor(now.getTime() / 1000))
          .setExpirationTime(Math.floor(now.getTime() / 1000) + ACCESS_TOKEN_TTL_SECONDS)
          .sign(key.privateKey);
      }
      return response;
    },

    /**
     * Revokes an access token of the authenticated client at once (RFC 7009 §2.1). A token Lanyard
     * does not know, or no longer honours, is answered as revoked (§2.2): the client can do nothing
     * else with it. One issued to another client is refused and left as it is.
     */
    async revoke(request: RevocationRequest): Promise<void> {
      const application = await authenticate(request);
      if (!request.token) throw new OAuthError('invalid_request', 'token is required');
      const tokenHash = hashToken(request.token);
      const row = await findAccessToken(db, tokenHash);
      if (row === undefined) return;
      if (row.application_id !== application.id) throw new OAuthError('invalid_request', 'the token was not issued to this client');
      await revokeAccessToken(db, tokenHash, clock());
    },

    /** The claims behind an access token (OIDC core §5.3.2), or invalid_token. */
    async userinfo(accessToken: string | undefined): Promise<Record<string, unknown>> {
      if (!accessToken) throw new OAuthError('invalid_token', 'send the access token as Authorization: Bearer <token>');
      const row = await findAccessToken(db, hashToken(accessToken));
      if (row === undefined || row.revoked_at !== null || row.expires_at <= clock())
        throw new OAuthError('invalid_token', 'the access token is unknown, expired or revoked');
      return profileClaims(row.profile, new Set(row.scope.split(' ')));
    },

    /**
     * The public signing keys (RFC 7517), for /oauth/jwks: during a rollover the next key before it
     * signs (clients that cache the set then know it already) and the previous one until it retires
     * (tokens it signed stay verifiable until they expire).
     */
    async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
      const { published } = await deps.deploymentKeys.keySet(TOKEN_SIGNING_KEY_PURPOSE, generateTokenSigningKey);
      return {
        keys: await Promise.all(
          published.map(async (key) => ({ ...(await exportJWK(key.publicKey)), kid: key.id, alg: 'RS256', use: 'sig' })),
        ),
      };
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;

/** Why a code does not buy a token for this client and request, or undefined when it does. */
function refusal(code: AuthorizationCodeRow, applicationId: string, request: TokenRequest, now: Date): OAuthError | undefined {
  if (code.application_id !== applicationId) return new OAuthError('invalid_grant', 'the code was issued to another client');
  if (code.expires_at <= now) return new OAuthError('invalid_grant', 'the code has expired');
  if (request.redirect_uri !== code.redirect_uri)
    return new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
  return pkceRefusal(code.code_challenge, request.code_verifier);
}

function pkceRefusal(challenge: string | null, verifier: string | undefined): OAuthError | undefined {
  if (challenge === null) {
    // A verifier without a challenge means the request was altered on the way (OAuth security BCP §2.1.1).
    return verifier === undefined
      ? undefined
      : new OAuthError('invalid_grant', 'code_verifier was sent but the authorization request had no code_challenge');
  }
  if (verifier === undefined || !VERIFIER.test(verifier)) return new OAuthError('invalid_grant', 'code_verifier is missing or malformed');
  const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return constantTimeEqual(computed, challenge)
    ? undefined
    : new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
}

/** OIDC core §3.1.3.6: the left half of the SHA-256 of the access token, base64url. */
function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16).toString('base64url');
}
