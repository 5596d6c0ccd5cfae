import { errors as jose } from 'jose';
import { ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { GuardedRequestError } from '../../net/guarded-request.ts';
import { loginFailure, type Fact, type LoginFailure, type OidcFailureCode } from './failures.ts';

/** A refusal of the OIDC steps, with the facts an IT admin needs (expected vs. received values). */
export type OidcLoginError = LoginFailure<OidcFailureCode>;

/** What the messages may name: the connection's expectations and Lanyard's time. */
export interface OidcErrorContext {
  readonly issuer: string;
  readonly clientId: string;
  readonly jwksUri: string;
  readonly now: Date;
  readonly skewSeconds: number;
  /** The ID token's protected header, when one was received (unverified: for the page's facts only). */
  readonly tokenHeader?: { readonly kid?: string | undefined; readonly alg?: string | undefined } | undefined;
}

/** The back-channel steps of a callback, each with its own failure codes. */
export type OidcStep = 'token' | 'signature' | 'userinfo';

/** Builds an OIDC refusal. */
export function oidcError(code: OidcFailureCode, message: string, facts: readonly Fact[] = []): OidcLoginError {
  return loginFailure(code, message, facts);
}

/** Turns what openid-client or jose threw at `step` into a coded refusal. */
export function describeOidcFailure(step: OidcStep, error: unknown, context: OidcErrorContext): OidcLoginError {
  const chain = causeChain(error);
  const network = chain.find((e): e is GuardedRequestError => e instanceof GuardedRequestError);
  const timedOut = chain.some((e) => has(e, 'code') && (e.code === 'OAUTH_TIMEOUT' || e.code === 'ERR_JWKS_TIMEOUT'));
  const where = { token: 'token endpoint', signature: 'JWKS URL', userinfo: 'userinfo endpoint' }[step];
  if (network !== undefined || timedOut) {
    const why = network?.message ?? 'It did not answer in time.';
    return oidcError(
      step === 'signature' ? 'oidc_jwks_unavailable' : 'oidc_idp_unreachable',
      `Lanyard could not reach the identity provider's ${where}. ${why}`,
    );
  }
  const claim = claimFailure(chain, context);
  if (claim !== undefined) return claim;
  if (step === 'signature') return signatureFailure(error, context);
  if (step === 'userinfo') {
    return oidcError(
      'oidc_userinfo_failed',
      `The identity provider's userinfo endpoint, called for the claims the ID token lacks, failed: ${libraryMessage(chain)}.`,
    );
  }
  return tokenFailure(chain);
}

// The claims OIDC Core §2 requires of an ID token, plus the nonce Lanyard always sends, in the order
// openid-client checks their presence: the first one absent is the one it refused.
const REQUIRED_CLAIMS = ['aud', 'exp', 'iat', 'iss', 'sub', 'nonce'];

/** Claim checks (OIDC Core §3.1.3.7), as openid-client (first) or jose (after the signature) report them. */
function claimFailure(chain: unknown[], context: OidcErrorContext): OidcLoginError | undefined {
  for (const e of chain) {
    if (has(e, 'header') && has(e, 'expected') && has(e, 'reason')) {
      const alg = has(e.header, 'alg') ? String(e.header.alg) : '(none)';
      return oidcError(
        'oidc_id_token_unsupported_algorithm',
        `The ID token is signed with "${alg}", an algorithm Lanyard does not accept; use RS256 (or PS256, ES256, EdDSA).`,
        [['Algorithm', alg]],
      );
    }
    const found = claimOf(e);
    if (found === undefined) {
      const missing =
        has(e, 'claims') && !has(e, 'claim') && typeof e.claims === 'object' && e.claims !== null
          ? REQUIRED_CLAIMS.find((c) => !(c in (e.claims as object)))
          : undefined;
      if (missing === 'nonce')
        return oidcError(
          'oidc_nonce_missing',
          'The ID token carries no nonce, though Lanyard sent one with the authorization request: the identity provider must ' +
            'return it (OpenID Connect Core §3.1.2.1).',
        );
      if (missing !== undefined)
        return oidcError(
          'oidc_token_response_invalid',
          `The ID token lacks the "${missing}" claim, which OpenID Connect Core §2 requires.`,
        );
      continue;
    }
    const { claim, payload } = found;
    const facts: [string, string][] = [];
    if (claim === 'iss') {
      facts.push(['Expected issuer', context.issuer], ['Received issuer', claimText(payload.iss, '(none)')]);
      return oidcError(
        'oidc_issuer_mismatch',
        `The ID token was issued by "${claimText(payload.iss, '')}", but this connection trusts the issuer ` +
          `"${context.issuer}". Check the issuer configured on the connection.`,
        facts,
      );
    }
    if (claim === 'aud' || claim === 'azp') {
      const received = [payload.aud].flat().map(String).join(', ');
      facts.push(['Expected audience (client ID)', context.clientId], ['Received audience', received || '(none)']);
      if (payload.azp !== undefined) facts.push(['Authorized party (azp)', claimText(payload.azp, '')]);
      return oidcError(
        'oidc_audience_mismatch',
        `The ID token is meant for another client (audience "${received}"), not this connection's client ID ` +
          `"${context.clientId}". Check the client ID configured on the connection.`,
        facts,
      );
    }
    if (claim === 'nonce') {
      return payload.nonce === undefined
        ? oidcError(
            'oidc_nonce_missing',
            'The ID token carries no nonce, though Lanyard sent one with the authorization request: the identity provider must ' +
              'return it (OpenID Connect Core §3.1.2.1).',
          )
        : oidcError(
            'oidc_nonce_mismatch',
            "The ID token's nonce is not the one Lanyard sent for this sign-in: the token belongs to another sign-in attempt.",
          );
    }
    if (claim === 'exp' || claim === 'nbf') return timeFailure(claim, payload, context);
  }
  return undefined;
}

function timeFailure(claim: 'exp' | 'nbf', payload: Record<string, unknown>, context: OidcErrorContext): OidcLoginError {
  const at = typeof payload[claim] === 'number' ? new Date(payload[claim] * 1000).toISOString() : '(not a number)';
  const facts: [string, string][] = [
    [claim === 'exp' ? 'ID token expires at' : 'ID token valid from', at],
    ["Lanyard's time", context.now.toISOString()],
    ['Tolerated clock skew', `${context.skewSeconds} s`],
  ];
  return claim === 'exp'
    ? oidcError(
        'oidc_id_token_expired',
        `The ID token expired at ${at}, more than ${context.skewSeconds} s before Lanyard's time. Check the clocks of the ` +
          `identity provider and of Lanyard.`,
        facts,
      )
    : oidcError(
        'oidc_id_token_not_yet_valid',
        `The ID token is valid only from ${at}, more than ${context.skewSeconds} s after Lanyard's time. Check the clocks of ` +
          `the identity provider and of Lanyard.`,
        facts,
      );
}

function signatureFailure(error: unknown, context: OidcErrorContext): OidcLoginError {
  const header = context.tokenHeader ?? {};
  const facts: [string, string][] = [['JWKS URL', context.jwksUri]];
  if (header.kid !== undefined) facts.push(['Key id (kid)', header.kid]);
  if (header.alg !== undefined) facts.push(['Algorithm', header.alg]);
  if (error instanceof jose.JWSSignatureVerificationFailed) {
    return oidcError(
      'oidc_id_token_invalid_signature',
      "The ID token's signature does not verify with the identity provider's published key: the token was altered, or signed with a key the IdP does not publish at its JWKS URL.",
      facts,
    );
  }
  if (error instanceof jose.JWKSNoMatchingKey || error instanceof jose.JWKSMultipleMatchingKeys) {
    const why = error instanceof jose.JWKSNoMatchingKey ? 'No key' : 'More than one key';
    return oidcError(
      'oidc_id_token_unknown_key',
      `${why} at the identity provider's JWKS URL matches the ID token's key id and algorithm, even after fetching the keys again.`,
      facts,
    );
  }
  if (error instanceof jose.JOSEAlgNotAllowed || error instanceof jose.JOSENotSupported) {
    return oidcError(
      'oidc_id_token_unsupported_algorithm',
      'The ID token is signed with an algorithm Lanyard does not accept; use RS256 (or PS256, ES256, EdDSA).',
      facts,
    );
  }
  if (error instanceof jose.JWKSInvalid || error instanceof jose.JWKInvalid) {
    return oidcError(
      'oidc_jwks_unavailable',
      `The identity provider's JWKS URL did not serve a usable key set: ${(error as Error).message}.`,
      facts,
    );
  }
  return oidcError('oidc_token_response_invalid', `The ID token could not be verified: ${libraryMessage(causeChain(error))}.`, facts);
}

/** The OAuth error a token endpoint answered with, in its body (RFC 6749 §5.2) or a WWW-Authenticate challenge (RFC 6750 §3). */
function oauthRefusal(chain: unknown[]): { error: string; description: string; status: number } | undefined {
  for (const e of chain) {
    if (e instanceof ResponseBodyError) return { error: e.error, description: e.error_description ?? '', status: e.status };
    if (e instanceof WWWAuthenticateChallengeError) {
      const parameters = e.cause.find((c) => c.parameters.error !== undefined)?.parameters;
      return { error: parameters?.error ?? 'invalid_client', description: parameters?.error_description ?? '', status: e.status };
    }
  }
  return undefined;
}

function tokenFailure(chain: unknown[]): OidcLoginError {
  const refused = oauthRefusal(chain);
  if (refused !== undefined) {
    const { error, status, description } = refused;
    const hint =
      error === 'invalid_client'
        ? ' The client ID or client secret configured on this connection is wrong, or the secret has expired at the identity provider.'
        : error === 'invalid_grant'
          ? ' The code expired or was used already, or the redirect URI or PKCE verifier did not match.'
          : '';
    const facts: [string, string][] = [
      ['HTTP status', String(status)],
      ['Error', error],
    ];
    if (description) facts.push(['Error description', description.slice(0, 300)]);
    return oidcError(
      'oidc_token_exchange_failed',
      `The identity provider refused to exchange the authorization code (${error}).${hint}`,
      facts,
    );
  }
  const status = chain.find((e): e is Response => e instanceof Response);
  if (status !== undefined && status.status !== 200) {
    return oidcError(
      'oidc_token_exchange_failed',
      `The identity provider's token endpoint answered HTTP ${status.status} to the code exchange.`,
      [['HTTP status', String(status.status)]],
    );
  }
  return oidcError(
    'oidc_token_response_invalid',
    `The identity provider's token endpoint did not answer with a valid OpenID Connect token response: ${libraryMessage(chain)}.`,
  );
}

/** The claim a library refused, with the payload it read, from openid-client (`cause.claim`) or jose (`claim`). */
function claimOf(e: unknown): { claim: string; payload: Record<string, unknown> } | undefined {
  if (e instanceof jose.JWTClaimValidationFailed || e instanceof jose.JWTExpired) return { claim: e.claim, payload: e.payload };
  if (has(e, 'claim') && typeof e.claim === 'string' && has(e, 'claims') && typeof e.claims === 'object' && e.claims !== null) {
    return { claim: e.claim, payload: e.claims as Record<string, unknown> };
  }
  return undefined;
}

/** The error and its causes, outermost first (openid-client wraps oauth4webapi, which wraps the cause). */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && chain.length < 6; e = has(e, 'cause') ? e.cause : undefined) chain.push(e);
  return chain;
}

/** The most specific library message, for failures without a code of their own. */
function libraryMessage(chain: unknown[]): string {
  const messages = chain.filter((e): e is Error => e instanceof Error).map((e) => e.message);
  return (messages.at(-1) ?? 'unknown error').slice(0, 300);
}

/** A claim as the page shows it: a string as it is, anything else as JSON, nothing as `absent`. */
function claimText(value: unknown, absent: string): string {
  if (value === undefined || value === null) return absent;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function has<K extends string>(value: unknown, key: K): value is Record<K, unknown> {
  return typeof value === 'object' && value !== null && key in value;
}
