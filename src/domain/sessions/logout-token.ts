import { compactVerify, SignJWT } from 'jose';
import { randomToken, type RandomBytes } from '../../crypto/tokens.ts';
import { GuardedRequestError, type GuardedFetch } from '../../net/guarded-request.ts';
import type { DeploymentKeys } from '../keys/deployment-keys.ts';
import { generateTokenSigningKey, TOKEN_SIGNING_KEY_PURPOSE, tokenSigningKey } from '../oauth/tokens.ts';
import { err, ok, type Result } from '../result.ts';

/** The event a logout_token carries (OpenID Connect Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout_token is sent at once; two minutes covers the receiver's clock skew. */
const LOGOUT_TOKEN_TTL_SECONDS = 120;

/** What an id_token_hint says, once its signature verified with Lanyard's own key. */
export interface IdTokenHint {
  readonly audiences: readonly string[];
  readonly sid: string | null;
}

/**
 * Reads an id_token_hint (RP-Initiated Logout 1.0 §2): the signature must verify with Lanyard's
 * token key and `iss` must be Lanyard; `exp` is not checked, since §2 has the OP accept hints
 * whose expiry has passed (the user logs out long after the id_token was issued).
 */
export async function readIdTokenHint(
  hint: string,
  deps: { deploymentKeys: DeploymentKeys; issuer: string },
): Promise<Result<IdTokenHint, string>> {
  // Any key still in the JWKS: a hint signed before a key rotation stays good.
  const { published } = await deps.deploymentKeys.keySet(TOKEN_SIGNING_KEY_PURPOSE, generateTokenSigningKey);
  let payload: unknown;
  for (const key of published) {
    try {
      payload = JSON.parse(new TextDecoder().decode((await compactVerify(hint, key.publicKey, { algorithms: ['RS256'] })).payload));
      break;
    } catch {
      // the next published key
    }
  }
  if (payload === undefined) return err('the id_token_hint is not an id_token this service signed');
  if (typeof payload !== 'object' || payload === null) return err('the id_token_hint carries no claims');
  const claims = payload as Record<string, unknown>;
  if (claims.iss !== deps.issuer) return err('the id_token_hint was issued by another issuer');
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  if (audiences.length === 0) return err('the id_token_hint names no audience');
  return ok({ audiences, sid: typeof claims.sid === 'string' ? claims.sid : null });
}

/**
 * A logout_token (Back-Channel Logout 1.0 §2.4): signed like id_tokens, typ `logout+jwt` (§2.4 and
 * RFC 8725 §3.11, so it cannot pass for an id_token), with sub, sid and the event, never a nonce.
 */
export async function signLogoutToken(
  input: { clientId: string; subject: string; sid: string; now: Date },
  deps: { deploymentKeys: DeploymentKeys; issuer: string; random: RandomBytes },
): Promise<string> {
  const key = await tokenSigningKey(deps.deploymentKeys);
  const iat = Math.floor(input.now.getTime() / 1000);
  return new SignJWT({ sub: input.subject, sid: input.sid, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } })
    .setProtectedHeader({ alg: 'RS256', kid: key.id, typ: 'logout+jwt' })
    .setIssuer(deps.issuer)
    .setAudience(input.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + LOGOUT_TOKEN_TTL_SECONDS)
    .setJti(randomToken(deps.random, 16))
    .sign(key.privateKey);
}

/**
 * POSTs a logout_token to the application's backchannel_logout_uri (§2.5: form-encoded, no
 * redirects followed) through the outbound guard; true when the application answered 2xx (§2.8
 * asks for 200; 204 is taken too, as receivers commonly send it).
 */
export async function sendLogoutToken(fetch: GuardedFetch, url: string, logoutToken: string): Promise<Result<void, string>> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
      body: new URLSearchParams({ logout_token: logoutToken }).toString(),
    });
    await response.arrayBuffer();
    return response.status >= 200 && response.status <= 299 ? ok(undefined) : err(`the application answered HTTP ${response.status}`);
  } catch (error) {
    if (error instanceof GuardedRequestError) return err(`${error.code}: ${error.message}`);
    throw error;
  }
}
