// A small OpenID provider on 127.0.0.1 that misbehaves on demand, for the negative cases a certified
// provider will not produce: discovery, JWKS, authorize, token and userinfo endpoints, ID tokens
// signed with jose and the test keys of test/fixtures/keys. Each case is one `behaviour` switch.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, importPKCS8, SignJWT, type JWTPayload } from 'jose';
import { repoRoot } from './repo.ts';

/** How the provider misbehaves (`normal` behaves). */
export type Behaviour =
  | 'normal'
  | 'tampered-signature'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'expired'
  | 'expired-within-skew'
  | 'missing-nonce'
  | 'wrong-nonce'
  | 'access-denied'
  | 'unknown-key'
  | 'hmac-signed'
  | 'rotated-key'
  | 'userinfo-only'
  | 'userinfo-other-subject';

export interface MisbehavingProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  behaviour: Behaviour;
  /** The authorization requests received, newest last. */
  readonly authorizeRequests: URLSearchParams[];
  /** How many times the JWKS was fetched. */
  jwksFetches: number;
  /** Whether discovery names an end_session_endpoint (RP-Initiated Logout 1.0); read when a connection is created. */
  offersEndSession: boolean;
  /** The id_tokens issued, newest last. */
  readonly idTokens: string[];
  /** The requests at the end_session_endpoint, newest last; each is sent on to its post_logout_redirect_uri with its state. */
  readonly endSessionRequests: URLSearchParams[];
  close(): Promise<void>;
}

const PERSON = {
  sub: 'user-42',
  email: 'Carol@Example.com',
  email_verified: true,
  given_name: 'Carol',
  family_name: 'Cooper',
  groups: ['finance', 'admins'],
  // The provider's session, as OpenID Connect Front-Channel / Back-Channel Logout define the claim.
  sid: 'idp-session-7',
};

async function key(name: string, kid: string) {
  const pem = await readFile(join(repoRoot, 'test', 'fixtures', 'keys', `${name}.key.pem`), 'utf8');
  const privateKey = await importPKCS8(pem, 'RS256', { extractable: true });
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...jwk } = await exportJWK(privateKey);
  return { privateKey, kid, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

/** Starts the provider for one registered client whose redirect URI is `redirectUri`. */
export async function startMisbehavingProvider(redirectUri: string): Promise<MisbehavingProvider> {
  const current = await key('idp-test', 'idp-key-1');
  const rotated = await key('sp-test', 'idp-key-2');
  const stranger = await key('attacker-test', 'stranger-key');
  const codes = new Map<string, { nonce: string | undefined; challenge: string | undefined; redirectUri: string | undefined }>();
  const server = createServer(
    (req, res) =>
      void handle(req, res).catch((error: unknown) => send(res, 500, { error: 'server_error', error_description: String(error) })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: MisbehavingProvider = {
    issuer,
    clientId: 'lanyard-test-client',
    clientSecret: 'the-right-client-secret-0123456789',
    behaviour: 'normal',
    authorizeRequests: [],
    jwksFetches: 0,
    offersEndSession: true,
    idTokens: [],
    endSessionRequests: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  };

  async function idToken(nonce: string | undefined): Promise<string> {
    const b = provider.behaviour;
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      ...(b === 'userinfo-only' || b === 'userinfo-other-subject' ? { sub: PERSON.sub } : PERSON),
      iss: b === 'wrong-issuer' ? 'https://impostor.example.com' : issuer,
      aud: b === 'wrong-audience' ? 'some-other-client' : provider.clientId,
      iat: b === 'expired' ? now - 900 : now,
      exp: b === 'expired' ? now - 300 : b === 'expired-within-skew' ? now - 60 : now + 300,
      ...(b === 'missing-nonce' ? {} : { nonce: b === 'wrong-nonce' ? 'a-nonce-from-another-login' : nonce }),
    };
    if (b === 'hmac-signed')
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(provider.clientSecret));
    const signer = b === 'rotated-key' ? rotated : b === 'unknown-key' ? stranger : current;
    const jwt = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'JWT' }).sign(signer.privateKey);
    if (b !== 'tampered-signature') return jwt;
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    const bytes = Buffer.from(signature, 'base64url');
    bytes[10] = bytes[10]! ^ 0xff;
    return `${header}.${payload}.${bytes.toString('base64url')}`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        userinfo_endpoint: `${issuer}/userinfo`,
        ...(provider.offersEndSession ? { end_session_endpoint: `${issuer}/session/end` } : {}),
        response_types_supported: ['code'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
      return;
    }
    if (url.pathname === '/jwks') {
      provider.jwksFetches++;
      // The rotated key is published from the moment it is used: a fresh fetch finds it.
      send(res, 200, { keys: provider.behaviour === 'rotated-key' ? [current.publicJwk, rotated.publicJwk] : [current.publicJwk] });
      return;
    }
    if (url.pathname === '/authorize') {
      authorize(url, res);
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') return token(req, res);
    if (url.pathname === '/session/end') {
      // RP-Initiated Logout 1.0 §3: back to the post_logout_redirect_uri with the state, when there is one.
      provider.endSessionRequests.push(url.searchParams);
      const back = url.searchParams.get('post_logout_redirect_uri');
      if (back === null) {
        send(res, 200, { signedOut: true });
        return;
      }
      const to = new URL(back);
      const state = url.searchParams.get('state');
      if (state !== null) to.searchParams.set('state', state);
      res.writeHead(302, { location: to.href }).end();
      return;
    }
    if (url.pathname === '/userinfo') {
      const sub = provider.behaviour === 'userinfo-other-subject' ? 'someone-else' : PERSON.sub;
      send(res, 200, { ...PERSON, sub });
      return;
    }
    send(res, 404, { error: 'not_found' });
  }

  function authorize(url: URL, res: ServerResponse): void {
    const params = url.searchParams;
    provider.authorizeRequests.push(params);
    const back = new URL(params.get('redirect_uri') ?? redirectUri);
    back.searchParams.set('state', params.get('state') ?? '');
    if (provider.behaviour === 'access-denied') {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user cancelled the sign-in');
    } else {
      const code = randomBytes(16).toString('base64url');
      codes.set(code, {
        nonce: params.get('nonce') ?? undefined,
        challenge: params.get('code_challenge') ?? undefined,
        redirectUri: params.get('redirect_uri') ?? undefined,
      });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.href }).end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const form = new URLSearchParams(body);
    const [id, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':')
      .map(decodeURIComponent);
    if (id !== provider.clientId || secret !== provider.clientSecret) {
      send(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
      return;
    }
    const issued = codes.get(form.get('code') ?? '');
    codes.delete(form.get('code') ?? '');
    const verifier = form.get('code_verifier') ?? '';
    // RFC 7636 §4.6: the verifier must hash to the challenge of the authorization request.
    if (
      issued === undefined ||
      issued.redirectUri !== form.get('redirect_uri') ||
      createHash('sha256').update(verifier).digest('base64url') !== issued.challenge
    ) {
      send(res, 400, { error: 'invalid_grant', error_description: 'code, redirect_uri or code_verifier do not match' });
      return;
    }
    send(res, 200, {
      access_token: randomBytes(16).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 300,
      id_token: provider.idTokens[provider.idTokens.push(await idToken(issued.nonce)) - 1],
    });
  }

  return provider;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
