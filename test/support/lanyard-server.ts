// A Lanyard listening on a loopback port for end-to-end tests (IdPs and browsers must reach it),
// with the app side played by openid-client, a certified relying-party library.
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { createTestApp, type Backend, type TestApp } from './app.ts';
import { freePort } from './environment.ts';

export interface ListeningLanyard extends TestApp {
  readonly url: string;
}

/** The real app over a test database, listening on 127.0.0.1 with LANYARD_PUBLIC_URL pointing at it. */
export async function startLanyard(
  options: { backend?: Backend; env?: Record<string, string>; shareDatabaseOf?: TestApp } = {},
): Promise<ListeningLanyard> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t = await createTestApp({
    ...options,
    env: { LANYARD_PUBLIC_URL: url, LANYARD_ALLOW_PRIVATE_METADATA_URLS: 'true', ...options.env },
  });
  await t.app.listen({ port, host: '127.0.0.1' });
  return { ...t, url };
}

/**
 * A second instance behind the same public URL, over the first one's database and sealing key, listening on
 * its own port: what a load balancer in front of two instances amounts to.
 */
export async function startSecondInstance(first: ListeningLanyard): Promise<ListeningLanyard & { port: number }> {
  const port = await freePort();
  const env = {
    LANYARD_PUBLIC_URL: first.url,
    LANYARD_SECRET_KEY: first.config.secretKey!.key.toString('base64'),
    LANYARD_ALLOW_PRIVATE_METADATA_URLS: 'true',
  };
  const t = await createTestApp({ env, shareDatabaseOf: first });
  await t.app.listen({ port, host: '127.0.0.1' });
  return { ...t, url: `http://127.0.0.1:${port}`, port };
}

/** Creates an application whose redirect URI nothing listens on: tests read the code from the redirect. */
export async function createApplication(
  t: TestApp,
  extra: Record<string, unknown> = {},
  redirectUri = `http://127.0.0.1:3999/callback/${randomBytes(4).toString('hex')}`,
) {
  const res = await t.request({
    method: 'POST',
    url: '/v1/applications',
    payload: { name: 'Test app', redirectUris: [redirectUri], defaultRedirectUri: redirectUri, ...extra },
  });
  if (res.statusCode !== 201) throw new Error(`creating the application failed: ${res.body}`);
  const app = res.json<{ id: string; clientId: string; clientSecret: string }>();
  return { ...app, redirectUri };
}

/** The app side of a login: discovery, an authorization URL with PKCE, state and nonce, and the code exchange. */
export async function relyingParty(
  issuer: string,
  application: { clientId: string; clientSecret: string; redirectUri: string },
  auth: 'basic' | 'post' = 'basic',
) {
  const config = await client.discovery(
    new URL(issuer),
    application.clientId,
    undefined,
    auth === 'basic' ? client.ClientSecretBasic(application.clientSecret) : client.ClientSecretPost(application.clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  return {
    config,
    /** An authorization URL plus what the callback check needs. */
    async begin(params: Record<string, string>) {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: application.redirectUri,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...params,
      });
      return { url, verifier, state, nonce };
    },
    /** Exchanges the code of the callback URL and reads userinfo. */
    async finish(callbackUrl: string, begun: { verifier?: string; state?: string; nonce?: string }) {
      const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
        ...(begun.verifier ? { pkceCodeVerifier: begun.verifier } : {}),
        ...(begun.state ? { expectedState: begun.state } : { expectedState: client.skipStateCheck }),
        ...(begun.nonce ? { expectedNonce: begun.nonce } : {}),
      });
      const claims = tokens.claims()!;
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      return { tokens, claims, userinfo };
    },
  };
}
