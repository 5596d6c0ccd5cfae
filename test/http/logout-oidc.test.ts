import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { sessionSecretContext } from '../../src/domain/login/finish.ts';
import { startMisbehavingProvider, type MisbehavingProvider } from '../support/oidc-misbehaving-provider.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { codeFrom, exchangeCode, testAuthorizationUrl } from '../support/app-login.ts';

const REDIRECT = 'https://app.example.com/callback';
const AFTER_LOGOUT = 'https://app.example.com/signed-out';

// App-initiated logout through an upstream OIDC provider (RP-Initiated Logout 1.0): Lanyard ends its
// session, sends the browser to the provider's end_session_endpoint, and takes it back at
// /sso/oidc/logout-callback to the app. The provider is the loopback test provider, which serves a
// discovery document, tokens with `sid`, and an end_session_endpoint that returns with the state.
for (const backend of testBackends()) {
  describe(`Logout through an OIDC IdP on ${backend}: end_session_endpoint and /sso/oidc/logout-callback`, () => {
    let t: TestApp;
    let idp: MisbehavingProvider;
    let offset = 0;
    let app: { id: string; clientId: string; clientSecret: string };
    let connection: { id: string; oidc: Record<string, unknown> };
    let plain: { id: string; oidc: Record<string, unknown> };

    before(async () => {
      // The provider signs with the real time; Lanyard's clock runs with it, moved on only by `offset`.
      t = await createTestApp({ backend, clock: () => new Date(Date.now() + offset), env: { LANYARD_ALLOW_PRIVATE_NETWORK: 'true' } });
      idp = await startMisbehavingProvider(`${t.config.publicUrl}/sso/oidc/callback`);
      const org = (
        await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme', domains: ['example.com'] } })
      ).json();
      const create = async () => {
        const created = await t.request({
          method: 'POST',
          url: '/v1/connections',
          payload: {
            organizationId: org.id,
            type: 'oidc',
            enabled: true,
            oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
          },
        });
        assert.equal(created.statusCode, 201, created.body);
        return created.json();
      };
      connection = await create();
      idp.offersEndSession = false;
      plain = await create();
      idp.offersEndSession = true;
      const created = await t.request({
        method: 'POST',
        url: '/v1/applications',
        payload: { name: 'App', redirectUris: [REDIRECT], postLogoutRedirectUris: [AFTER_LOGOUT] },
      });
      assert.equal(created.statusCode, 201, created.body);
      app = created.json();
    });
    after(async () => {
      await t.close();
      await idp.close();
    });

    /** A path on Lanyard from a URL on its public URL. */
    const lanyardPath = (url: string) => {
      assert.ok(url.startsWith(`${t.config.publicUrl}/`), url);
      return url.slice(t.config.publicUrl.length);
    };

    /** authorize → the provider → /sso/oidc/callback → the app's code → its tokens; the id_token's sid. */
    async function login(conn = connection): Promise<{ idToken: string; sid: string; upstreamIdToken: string }> {
      const url = testAuthorizationUrl(t, { client_id: app.clientId, redirect_uri: REDIRECT, scope: 'openid email', connection: conn.id });
      const started = await t.request({ method: 'GET', url: url.pathname + url.search, token: null });
      assert.equal(started.statusCode, 302, started.body);
      const atIdp = await fetch(started.headers.location as string, { redirect: 'manual' });
      assert.equal(atIdp.status, 302);
      const code = codeFrom(await t.request({ method: 'GET', url: lanyardPath(atIdp.headers.get('location')!), token: null }));
      const idToken = (await exchangeCode(t, app, { code, redirectUri: REDIRECT })).id_token;
      return { idToken, sid: String(decodeJwt(idToken).sid), upstreamIdToken: idp.idTokens.at(-1)! };
    }

    const session = (sid: string) => t.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow();
    const logout = (params: Record<string, string>) =>
      t.request({ method: 'GET', url: `/oauth/logout?${new URLSearchParams(params).toString()}`, token: null });
    const callback = (query: string) => t.request({ method: 'GET', url: `/sso/oidc/logout-callback${query}`, token: null });

    /** Logs out at Lanyard; the end_session_endpoint URL it sends the browser to. */
    async function logoutToIdp(params: Record<string, string>): Promise<URL> {
      const answer = await logout(params);
      assert.equal(answer.statusCode, 302, answer.body);
      const location = new URL(answer.headers.location as string);
      assert.equal(location.origin + location.pathname, `${idp.issuer}/session/end`);
      return location;
    }

    /** The browser at the provider's end_session_endpoint, which sends it back to Lanyard's logout callback. */
    async function throughIdp(location: URL): Promise<string> {
      const atIdp = await fetch(location, { redirect: 'manual' });
      assert.equal(atIdp.status, 302);
      return lanyardPath(atIdp.headers.get('location')!);
    }

    test('the connection keeps the discovered end_session_endpoint and shows the post-logout redirect URI to register', async () => {
      assert.equal(connection.oidc.endSessionEndpoint, `${idp.issuer}/session/end`);
      assert.equal(connection.oidc.postLogoutRedirectUri, `${t.config.publicUrl}/sso/oidc/logout-callback`);
      assert.equal(plain.oidc.endSessionEndpoint, null, 'a provider without one: null');
      const read = (await t.request({ method: 'GET', url: `/v1/connections/${connection.id}` })).json();
      assert.equal(read.oidc.endSessionEndpoint, `${idp.issuer}/session/end`);
    });

    test('a connection stored before endSessionEndpoint was kept reads it as null', async () => {
      const row = await t.db.selectFrom('connections').select('settings').where('id', '=', plain.id).executeTakeFirstOrThrow();
      const { endSessionEndpoint: _dropped, ...older } = row.settings as unknown as Record<string, unknown>;
      await t.db
        .updateTable('connections')
        .set({ settings: JSON.stringify(older) as never })
        .where('id', '=', plain.id)
        .execute();
      const read = await t.request({ method: 'GET', url: `/v1/connections/${plain.id}` });
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.json().oidc.endSessionEndpoint, null);
    });

    test('the session keeps the upstream sid, and the upstream id_token sealed to it', async () => {
      const { sid, upstreamIdToken } = await login();
      const row = await session(sid);
      assert.equal(row.upstream_sid, 'idp-session-7');
      assert.ok(row.sealed_upstream_id_token !== null);
      assert.ok(!row.sealed_upstream_id_token.includes(upstreamIdToken.split('.')[1]!), 'sealed, not in clear');
      assert.equal(t.deps.sealer.open(row.sealed_upstream_id_token, sessionSecretContext(sid)), upstreamIdToken);
      assert.throws(() => t.deps.sealer.open(row.sealed_upstream_id_token!, sessionSecretContext('ses_other')), 'bound to its session');
    });

    test('app-initiated: the session ends, the provider gets id_token_hint, client_id, the callback and a state; the browser returns to the app with its state', async () => {
      const { idToken, sid, upstreamIdToken } = await login();
      const location = await logoutToIdp({ id_token_hint: idToken, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye-1' });
      const row = await session(sid);
      assert.equal(row.ended_by, 'app');
      assert.equal(row.sealed_upstream_id_token, null, 'the ended session keeps no upstream id_token');
      const params = location.searchParams;
      assert.equal(params.get('id_token_hint'), upstreamIdToken);
      assert.equal(params.get('client_id'), idp.clientId);
      assert.equal(params.get('post_logout_redirect_uri'), `${t.config.publicUrl}/sso/oidc/logout-callback`);
      const state = params.get('state')!;
      assert.ok(state.length >= 40, 'a random state');
      assert.notEqual(state, 'bye-1', "the app's state is not sent upstream");
      const events = (await t.request({ method: 'GET', url: '/v1/events?type=session.ended' })).json().data as {
        summary: Record<string, unknown>;
      }[];
      assert.ok(events.some((e) => e.summary.sessionId === sid && e.summary.endedBy === 'app'));

      const back = await callback((await throughIdp(location)).slice('/sso/oidc/logout-callback'.length));
      assert.equal(back.statusCode, 302, back.body);
      assert.equal(back.headers.location, `${AFTER_LOGOUT}?state=bye-1`);

      const replayed = await callback(`?state=${encodeURIComponent(state)}`);
      assert.equal(replayed.statusCode, 403, 'a state is used once');
      assert.match(replayed.body, /logout_flow_not_found/);
      assert.equal(replayed.headers.location, undefined);
    });

    test('without a post_logout_redirect_uri the callback shows the signed-out page', async () => {
      const { idToken } = await login();
      const location = await logoutToIdp({ id_token_hint: idToken });
      const back = await t.request({ method: 'GET', url: await throughIdp(location), token: null });
      assert.equal(back.statusCode, 200, back.body);
      assert.match(back.body, /You are signed out/);
    });

    test('an expired state is refused, and the browser is not sent on', async () => {
      const { idToken } = await login();
      const location = await logoutToIdp({ id_token_hint: idToken, post_logout_redirect_uri: AFTER_LOGOUT, state: 'late' });
      offset = 11 * 60 * 1000;
      try {
        const back = await callback(`?state=${encodeURIComponent(location.searchParams.get('state')!)}`);
        assert.equal(back.statusCode, 403, back.body);
        assert.match(back.body, /logout_flow_not_found/);
        assert.equal(back.headers.location, undefined);
      } finally {
        offset = 0;
      }
    });

    test('a missing or unknown state gets the failure page', async () => {
      const missing = await callback('');
      assert.equal(missing.statusCode, 400, missing.body);
      assert.match(missing.body, /logout_state_missing/);
      const empty = await callback('?state=');
      assert.equal(empty.statusCode, 400, empty.body);
      assert.match(empty.body, /logout_state_missing/);
      const unknown = await callback('?state=never-issued-here');
      assert.equal(unknown.statusCode, 400, unknown.body);
      assert.match(unknown.body, /logout_state_unknown/);
      assert.match(unknown.headers['content-type'] as string, /text\/html/);
    });

    test('a sealed id_token that no longer opens is left out of the request; client_id still names the connection', async () => {
      const { idToken, sid } = await login();
      await t.db.updateTable('sessions').set({ sealed_upstream_id_token: 'v1.gone.AAAA.AAAA.AAAA' }).where('id', '=', sid).execute();
      const location = await logoutToIdp({ id_token_hint: idToken });
      assert.equal(location.searchParams.get('id_token_hint'), null);
      assert.equal(location.searchParams.get('client_id'), idp.clientId);
    });

    test('a provider without an end_session_endpoint: the session ends and the browser returns at once', async () => {
      const { idToken, sid } = await login(plain);
      const answer = await logout({ id_token_hint: idToken, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye-2' });
      assert.equal(answer.statusCode, 302, answer.body);
      assert.equal(answer.headers.location, `${AFTER_LOGOUT}?state=bye-2`);
      assert.equal((await session(sid)).ended_by, 'app');
    });

    test('hostile input to the logout callback gets a page, never a 500', async () => {
      const queries = [
        `?state=${'a'.repeat(600)}`,
        `?state=${'%00'.repeat(100)}`,
        '?state=a&state=b',
        '?state[]=x',
        `?state=${encodeURIComponent('\'"><script>alert(1)</script>')}`,
        '?state=%E0%A4%A',
        `?${'x='.repeat(5000)}`,
      ];
      for (const query of queries) {
        const answer = await callback(query);
        assert.ok(answer.statusCode < 500, `${query.slice(0, 40)}: ${answer.statusCode} ${answer.body.slice(0, 200)}`);
        assert.ok(!answer.body.includes('<script>alert(1)'), 'escaped');
      }
    });
  });
}
