// A real HTTP server on loopback playing the application's back-channel logout endpoint. Each
// logout_token is validated with `jose` against Lanyard's published JWKS by the rules of OpenID
// Connect Back-Channel Logout 1.0 §2.6, so a token counts only when a receiver that uses no
// Lanyard code accepts it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface BackchannelReceiver {
  readonly url: string;
  /** The validated claims of every logout_token received, or the reason one was rejected. */
  readonly received: ({ ok: true; claims: JWTPayload } | { ok: false; reason: string })[];
  /** The status to answer with; 200 by default (§2.8). */
  status: number;
  /** Set before tokens arrive: what a validating receiver checks them against. */
  expect: { jwks: JSONWebKeySet; issuer: string; audience: string; now: () => Date } | undefined;
  close(): Promise<void>;
}

async function validate(body: string, expect: NonNullable<BackchannelReceiver['expect']>): Promise<JWTPayload> {
  const token = new URLSearchParams(body).get('logout_token');
  if (token === null) throw new Error('no logout_token form parameter');
  // §2.6 steps 3–4: signature with the OP's keys, iss, aud, iat (and exp) as for an ID token, typ logout+jwt.
  const { payload } = await jwtVerify(token, createLocalJWKSet(expect.jwks), {
    issuer: expect.issuer,
    audience: expect.audience,
    typ: 'logout+jwt',
    requiredClaims: ['iat', 'jti'],
    currentDate: expect.now(),
  });
  // §2.6 steps 5–7: sub or sid, the events member with the back-channel event, no nonce.
  if (typeof payload.sub !== 'string' && typeof payload.sid !== 'string') throw new Error('neither sub nor sid');
  const events = payload.events as Record<string, unknown> | undefined;
  if (typeof events !== 'object' || events === null || typeof events[EVENT] !== 'object') throw new Error('no back-channel logout event');
  if ('nonce' in payload) throw new Error('a logout_token must not carry a nonce');
  return payload;
}

/** Starts the receiver on 127.0.0.1. */
export async function startBackchannelReceiver(): Promise<BackchannelReceiver> {
  const receiver: BackchannelReceiver = {
    url: '',
    received: [],
    status: 200,
    expect: undefined,
    close: async () => {},
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const checked =
        request.headers['content-type'] !== 'application/x-www-form-urlencoded'
          ? Promise.reject(new Error(`content-type ${request.headers['content-type']}`))
          : validate(body, receiver.expect!);
      void checked
        .then(
          (claims) => receiver.received.push({ ok: true, claims }),
          (error: unknown) => receiver.received.push({ ok: false, reason: String(error) }),
        )
        .then(() => response.writeHead(receiver.status, { 'cache-control': 'no-store' }).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/backchannel-logout`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
