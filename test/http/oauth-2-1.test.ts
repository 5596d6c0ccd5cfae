// OAuth 2.1 behaviour of Lanyard's provider side, the app played by openid-client (a certified
// relying party) where it applies: PKCE required unless an application opts out with a reason,
// form-encoded token requests only, prompt=none, RFC 9207 iss, claims without null, RFC 7009.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { createTestSamlConnection, redirectAfterSignIn } from '../support/app-login.ts';
import { NOW } from '../support/saml-builder.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';

const REDIRECT = 'https://app.example.com/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

for (const backend of testBackends()) {
  describe(`OAuth 2.1 behaviour on ${backend}`, () => {
    let t: TestApp;
    let org: { id: string };
    let connection: { id: string; sp: { entityId: string; acsUrl: string } };
    let app: { id: string; clientId: string; clientSecret: string };
    let other: { id: string; clientId: string; clientSecret: string };

    before(async () => {
      t = await createTestApp({ backend, clock: () => NOW });
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json();
      connection = await createTestSamlConnection(t, { organizationId: org.id, enabled: true });
      const create = async (name: string) =>
        (await t.request({ method: 'POST', url: '/v1/applications', payload: { name, redirectUris: [REDIRECT] } })).json();
      app = await create('App');
      other = await create('Other app');
    });
    after(async () => t.close());

    /** fetch for openid-client, answered by the app through inject: no port, the test's clock. */
    const injectFetch = async (url: string, options: client.CustomFetchOptions): Promise<Response> => {
      const target = new URL(url);
      const answer = await t.app.inject({
        method: options.method as 'GET' | 'POST',
        url: target.pathname + target.search,
        headers: options.headers,
        ...(options.body !== undefined && options.body !== null
          ? { payload: Buffer.from(await new Response(options.body).arrayBuffer()) }
          : {}),
      });
      const headers = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) headers.set(name, String(value));
      return new Response(answer.rawPayload.length > 0 ? answer.rawPayload : null, { status: answer.statusCode, headers });
    };

    async function relyingParty(application: { clientId: string; clientSecret: string }) {
      const config = await client.discovery(
        new URL(t.config.publicUrl),
        application.clientId,
        // The app's clock agrees with Lanyard's test clock.
        { [client.clockSkew]: Math.round((NOW.getTime() - Date.now()) / 1000) },
        client.ClientSecretBasic(application.clientSecret),
        { execute: [client.allowInsecureRequests], [client.customFetch]: injectFetch },
      );
      config[client.customFetch] = injectFetch;
      return config;
    }

    const signIn = (url: URL) => redirectAfterSignIn(t, connection, url);

    async function begin(config: client.Configuration, extra: Record<string, string> = {}) {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        organization: org.id,
        ...extra,
      });
      return { url, verifier, state, nonce };
    }

    const noNulls = (value: unknown) =>
      assert.ok(
        Object.values(value as Record<string, unknown>).every((v) => v !== null),
        `no claim is null: ${JSON.stringify(value)}`,
      );

    test('openid-client signs in (iss checked), gets no null claims, and revokes its access token', async () => {
      const config = await relyingParty(app);
      const metadata = config.serverMetadata();
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      assert.equal(metadata.revocation_endpoint, `${t.config.publicUrl}/oauth/revoke`);
      const begun = await begin(config);
      const callback = await signIn(begun.url);
      assert.equal(callback.searchParams.get('iss'), t.config.publicUrl, 'RFC 9207: the success response names the issuer');

      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: begun.verifier,
        expectedState: begun.state,
        expectedNonce: begun.nonce,
      });
      const claims = tokens.claims()!;
      // The test IdP sends no first or last name: the claims are left out, not null (OIDC core §5.3.2).
      assert.equal('given_name' in claims, false);
      assert.equal('family_name' in claims, false);
      noNulls(claims);
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal('given_name' in userinfo, false);
      noNulls(userinfo);

      await client.tokenRevocation(config, tokens.access_token);
      await assert.rejects(
        client.fetchUserInfo(config, tokens.access_token, claims.sub),
        (error: unknown) => error instanceof client.WWWAuthenticateChallengeError && error.cause[0]?.parameters.error === 'invalid_token',
      );
      // RFC 7009 §2.2: an unknown token (or one revoked already) is answered 200 as well.
      await client.tokenRevocation(config, tokens.access_token);
      await client.tokenRevocation(config, 'never-issued', { token_type_hint: 'refresh_token' });
    });

    test('prompt=none answers login_required to the app, with state and iss, without going to the IdP', async () => {
      const config = await relyingParty(app);
      const begun = await begin(config, { prompt: 'none' });
      const callback = await signIn(begun.url);
      assert.equal(callback.origin + callback.pathname, REDIRECT);
      assert.equal(callback.searchParams.get('error'), 'login_required');
      assert.equal(callback.searchParams.get('state'), begun.state);
      assert.equal(callback.searchParams.get('iss'), t.config.publicUrl);
      await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: begun.verifier, expectedState: begun.state }),
        (error: unknown) => error instanceof client.AuthorizationResponseError && error.error === 'login_required',
      );
      const mixed = new URL((await begin(config, { prompt: 'none login' })).url);
      assert.equal((await signIn(mixed)).searchParams.get('error'), 'invalid_request', 'none with another value is refused');
    });

    test('PKCE is required unless the application opts out with a reason', async () => {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        organization: org.id,
        state: 's1',
      });
      const refused = new URL((await signIn(new URL(`/oauth/authorize?${query.toString()}`, t.config.publicUrl))).href);
      assert.equal(refused.searchParams.get('error'), 'invalid_request');
      assert.match(refused.searchParams.get('error_description')!, /code_challenge is required/);
      assert.equal(refused.searchParams.get('state'), 's1');
      assert.equal(refused.searchParams.get('iss'), t.config.publicUrl, 'RFC 9207: the error response names the issuer');

      const created = (
        await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'New', redirectUris: [REDIRECT] } })
      ).json();
      assert.equal(created.requirePkce, true);
      assert.equal(created.pkceExemptReason, null);
      const url = `/v1/applications/${created.id}`;
      const patch = (payload: Record<string, unknown>) => t.request({ method: 'PATCH', url, payload });
      for (const payload of [{ requirePkce: false }, { requirePkce: true, pkceExemptReason: 'why' }, { pkceExemptReason: 'why' }]) {
        const answer = await patch(payload);
        assert.equal(answer.statusCode, 400, JSON.stringify(payload));
        assert.equal(answer.json().details[0].field, 'pkceExemptReason');
      }
      const exempt = await patch({ requirePkce: false, pkceExemptReason: 'a TV app without a browser to hold a verifier' });
      assert.equal(exempt.statusCode, 200, exempt.body);
      assert.equal(exempt.json().pkceExemptReason, 'a TV app without a browser to hold a verifier');
      const exemptQuery = new URLSearchParams({
        response_type: 'code',
        client_id: created.clientId,
        redirect_uri: REDIRECT,
        organization: org.id,
      });
      const toIdp = await t.request({ method: 'GET', url: `/oauth/authorize?${exemptQuery.toString()}`, token: null });
      assert.equal(new URL(toIdp.headers.location as string).hostname, 'idp.example.test', 'the opt-out goes to the IdP without PKCE');
      const restored = await patch({ requirePkce: true });
      assert.deepEqual([restored.json().requirePkce, restored.json().pkceExemptReason], [true, null]);
      const badCreate = await t.request({
        method: 'POST',
        url: '/v1/applications',
        payload: { name: 'No reason', redirectUris: [REDIRECT], requirePkce: false },
      });
      assert.equal(badCreate.statusCode, 400);
    });

    test('the token and revocation endpoints take form-encoded bodies only (RFC 6749 §4.1.3)', async () => {
      const basic = `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
      for (const url of ['/oauth/token', '/oauth/revoke']) {
        for (const [contentType, payload] of [
          ['application/json', JSON.stringify({ grant_type: 'authorization_code', code: 'x', token: 'x' })],
          ['text/plain', 'grant_type=authorization_code'],
        ] as const) {
          const answer = await t.request({
            method: 'POST',
            url,
            token: null,
            headers: { 'content-type': contentType, authorization: basic },
            payload,
          });
          assert.equal(answer.statusCode, 400, `${url} ${contentType}: ${answer.body}`);
          assert.equal(answer.json().error, 'invalid_request');
          assert.equal(typeof answer.json().error_description, 'string');
        }
      }
    });

    test('revocation authenticates the client and revokes only its own tokens', async () => {
      const config = await relyingParty(app);
      const begun = await begin(config);
      const tokens = await client.authorizationCodeGrant(config, await signIn(begun.url), {
        pkceCodeVerifier: begun.verifier,
        expectedState: begun.state,
        expectedNonce: begun.nonce,
      });
      const revoke = (fields: Record<string, string>, authorization?: string) =>
        t.request({
          method: 'POST',
          url: '/oauth/revoke',
          token: null,
          headers: { ...FORM, ...(authorization ? { authorization } : {}) },
          payload: new URLSearchParams(fields).toString(),
        });
      const token = tokens.access_token;
      assert.equal((await revoke({ token })).json().error, 'invalid_client', 'no client authentication');
      assert.equal((await revoke({ token, client_id: app.clientId, client_secret: 'wrong' })).statusCode, 401);
      const byOther = await revoke({ token, client_id: other.clientId, client_secret: other.clientSecret });
      assert.equal(byOther.statusCode, 400);
      assert.equal(byOther.json().error, 'invalid_request');
      assert.equal((await revoke({ client_id: app.clientId, client_secret: app.clientSecret })).json().error, 'invalid_request');
      const userinfo = () => t.request({ method: 'GET', url: '/oauth/userinfo', token });
      assert.equal((await userinfo()).statusCode, 200, "another client's request left the token alone");
      const revoked = await revoke({ token, token_type_hint: 'access_token', client_id: app.clientId, client_secret: app.clientSecret });
      assert.equal(revoked.statusCode, 200);
      assert.equal((await userinfo()).statusCode, 401);
    });

    test('the failure page links back to the app with iss', async () => {
      const config = await relyingParty(app);
      const begun = await begin(config);
      const started = await t.request({ method: 'GET', url: begun.url.pathname + begun.url.search, token: null });
      const relayState = new URL(started.headers.location as string).searchParams.get('RelayState')!;
      const refused = await t.request({
        method: 'POST',
        url: `/sso/saml/${connection.id}/acs`,
        token: null,
        headers: FORM,
        payload: new URLSearchParams({ SAMLResponse: Buffer.from('<x/>').toString('base64'), RelayState: relayState }).toString(),
      });
      assert.ok(refused.statusCode >= 400);
      const back = /href="([^"]*error=access_denied[^"]*)"/.exec(refused.body)?.[1]?.replace(/&amp;/g, '&');
      assert.ok(back, refused.body);
      assert.equal(new URL(back).searchParams.get('iss'), t.config.publicUrl);
    });
  });
}
