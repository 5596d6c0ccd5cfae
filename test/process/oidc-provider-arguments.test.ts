// The test OpenID provider is started with generated client secrets; one in 32 begins with `-`
// (base64url), which `--client-secret <value>` handed to util.parseArgs as a missing argument.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { requireOrSkip } from '../support/environment.ts';
import { oidcProviderAvailability, startOidcProvider } from '../support/oidc-provider.ts';

test('the test OpenID provider takes a client id and secret that begin with a dash', { timeout: 360_000 }, async (t) => {
  const { available, reason } = oidcProviderAvailability();
  if (!requireOrSkip(t, available, reason)) return;
  const clientId = `-client-${randomBytes(4).toString('hex')}`;
  const clientSecret = `-${randomBytes(24).toString('base64url')}`;
  const provider = await startOidcProvider({ clientId, clientSecret, redirectUris: ['http://127.0.0.1:3999/callback'] });
  try {
    assert.equal(provider.clientSecret, clientSecret);
    const discovery = (await (await fetch(provider.discoveryUrl)).json()) as { token_endpoint: string };
    const token = async (secret: string) => {
      const res = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: 'unknown', redirect_uri: 'http://127.0.0.1:3999/callback' }),
      });
      return ((await res.json()) as { error: string }).error;
    };
    // The client authenticates with exactly this secret (the code is what is wrong), and not with another.
    assert.equal(await token(clientSecret), 'invalid_grant');
    assert.equal(await token(clientSecret.slice(1)), 'invalid_client');
  } finally {
    await provider.stop();
  }
});
