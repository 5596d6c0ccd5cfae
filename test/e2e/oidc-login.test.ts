import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requireOrSkip } from '../support/environment.ts';
import { createApplication, relyingParty, startLanyard, type ListeningLanyard } from '../support/lanyard-server.ts';
import { startMisbehavingProvider, type Behaviour, type MisbehavingProvider } from '../support/oidc-misbehaving-provider.ts';
import { lanyardAndOidcProvider, oidcProviderAvailability, passOidcProviderPages, type OidcProvider } from '../support/oidc-provider.ts';
import { createCookieJar } from '../support/saml-idp-driver.ts';

type RelyingParty = Awaited<ReturnType<typeof relyingParty>>;

/**
 * An organization with an OIDC connection created through the API from the IdP's issuer; with
 * `domains`, verified domains of the organization (its users' email_verified needs them).
 */
async function connectIdp(t: ListeningLanyard, oidc: Record<string, unknown>, extra: Record<string, unknown> = {}, domains: string[] = []) {
  const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: `Org ${Math.random()}`, domains } })).json();
  const created = await t.request({
    method: 'POST',
    url: '/v1/connections',
    payload: { organizationId: org.id, type: 'oidc', name: 'Customer IdP', oidc, ...extra },
  });
  assert.equal(created.statusCode, 201, created.body);
  const connection = created.json();
  assert.equal(connection.oidc.redirectUri, `${t.url}/sso/oidc/callback`);
  return { organizationId: org.id as string, connectionId: connection.id as string };
}

async function loginEvents(t: ListeningLanyard, organizationId: string, type: 'login.succeeded' | 'login.failed') {
  return (await t.request({ method: 'GET', url: `/v1/events?organizationId=${organizationId}&type=${type}` })).json().data as {
    summary: Record<string, unknown>;
  }[];
}

describe('OIDC login against oidc-provider, the app played by openid-client', () => {
  const suite = lanyardAndOidcProvider();

  /** authorize → oidc-provider's login and consent pages → Lanyard's callback → the app's redirect URI. */
  async function signIn(idp: OidcProvider, rp: RelyingParty, organizationId: string, user: string, appRedirectUri: string) {
    const begun = await rp.begin({ organization: organizationId });
    const callback = await passOidcProviderPages(createCookieJar(), begun.url, idp, user, appRedirectUri);
    return rp.finish(callback, begun);
  }

  test(
    'alice and bob sign in and the app gets their email, names and groups, as from a SAML organization',
    { timeout: 360_000 },
    async (t) => {
      const { available, reason } = oidcProviderAvailability();
      if (!requireOrSkip(t, available, reason)) return;
      const { lanyard } = suite;
      const clientSecret = 'lanyard-oidc-e2e-secret-0123456789abcdef';
      const idp = await suite.startIdp({ clientId: 'lanyard-e2e', clientSecret, redirectUris: [`${lanyard.url}/sso/oidc/callback`] });
      // oidc-provider serves `groups` for the scope of that name, and only from userinfo.
      const setup = await connectIdp(
        lanyard,
        { issuer: idp.issuer, clientId: 'lanyard-e2e', clientSecret, scopes: ['openid', 'email', 'profile', 'groups'] },
        { groupSync: true },
        ['example.com'],
      );
      const application = await createApplication(lanyard);
      const rp = await relyingParty(lanyard.url, application);
      const people = [
        ['alice', 'Alice', 'Archer', ['admins', 'engineering']],
        ['bob', 'Bob', 'Baker', ['engineering']],
      ] as const;
      for (const [user, givenName, familyName, groups] of people) {
        const { claims, userinfo } = await signIn(idp, rp, setup.organizationId, user, application.redirectUri);
        assert.match(claims.sub, /^usr_/);
        assert.equal(claims.email, `${user}@example.com`);
        assert.equal(claims.organization_id, setup.organizationId);
        assert.equal(claims.connection_id, setup.connectionId);
        assert.equal(userinfo.email, `${user}@example.com`);
        assert.equal(userinfo.email_verified, true);
        assert.equal(userinfo.given_name, givenName);
        assert.equal(userinfo.family_name, familyName);
        assert.deepEqual(userinfo.groups, groups);
        assert.equal(userinfo.idp_id, user);
        // The claims an app reads are the ones a SAML organization gives it (../shared/API.md, userinfo).
        for (const name of ['sub', 'email', 'given_name', 'family_name', 'groups', 'organization_id', 'connection_id', 'raw_attributes'])
          assert.ok(name in userinfo, name);
        assert.equal((userinfo.raw_attributes as Record<string, unknown>).nonce, undefined, 'token claims are not user attributes');
      }
      const connection = (await lanyard.request({ method: 'GET', url: `/v1/connections/${setup.connectionId}` })).json();
      assert.equal(connection.state, 'active');
      assert.ok(connection.lastUsedAt);
      assert.equal((await loginEvents(lanyard, setup.organizationId, 'login.succeeded')).length, 2);
    },
  );
});

describe('OIDC login against a misbehaving provider: each failure has its own code', () => {
  let lanyard: ListeningLanyard;
  let idp: MisbehavingProvider;
  let rp: RelyingParty;
  let appRedirectUri: string;
  let setup: { organizationId: string; connectionId: string };

  before(async () => {
    lanyard = await startLanyard();
    idp = await startMisbehavingProvider(`${lanyard.url}/sso/oidc/callback`);
    setup = await connectIdp(lanyard, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret }, { groupSync: true }, [
      'example.com',
    ]);
    const application = await createApplication(lanyard);
    appRedirectUri = application.redirectUri;
    rp = await relyingParty(lanyard.url, application);
  });
  after(async () => {
    await idp.close();
    await lanyard.close();
  });

  /** authorize → the provider's authorize endpoint → Lanyard's callback; returns the callback's answer. */
  async function attempt(
    behaviour: Behaviour,
    organizationId = setup.organizationId,
    params: Record<string, string> = { organization: organizationId },
  ) {
    idp.behaviour = behaviour;
    const begun = await rp.begin(params);
    const toIdp = await fetch(begun.url, { redirect: 'manual' });
    assert.equal(toIdp.status, 302, await toIdp.text());
    const fromIdp = await fetch(toIdp.headers.get('location')!, { redirect: 'manual' });
    const callbackUrl = fromIdp.headers.get('location')!;
    assert.ok(callbackUrl.startsWith(`${lanyard.url}/sso/oidc/callback?`), callbackUrl);
    const res = await fetch(callbackUrl, { redirect: 'manual' });
    return { begun, callbackUrl, status: res.status, location: res.headers.get('location'), body: await res.text() };
  }

  async function assertRefused(behaviour: Behaviour, code: string, status = 403, organizationId = setup.organizationId) {
    const result = await attempt(behaviour, organizationId);
    assert.equal(result.status, status, result.body);
    assert.match(result.body, new RegExp(`<code>${code}</code>`), result.body);
    assert.match(result.body, /Request id: <code>req_/);
    const failed = await loginEvents(lanyard, organizationId, 'login.failed');
    assert.equal(failed.at(-1)?.summary.code, code);
    return result;
  }

  test('a well-behaved answer signs in: PKCE S256, fresh state and nonce, the flow id never sent', async () => {
    const result = await attempt('normal');
    assert.equal(result.status, 302, result.body);
    assert.ok(result.location!.startsWith(appRedirectUri));
    const { userinfo } = await rp.finish(result.location!, result.begun);
    assert.equal(userinfo.email, 'carol@example.com');
    assert.equal(userinfo.email_verified, true);
    assert.equal(userinfo.given_name, 'Carol');
    assert.deepEqual(userinfo.groups, ['finance', 'admins']);
    const sent = idp.authorizeRequests.at(-1)!;
    assert.equal(sent.get('code_challenge_method'), 'S256');
    assert.equal(sent.get('response_type'), 'code');
    assert.equal(sent.get('redirect_uri'), `${lanyard.url}/sso/oidc/callback`);
    assert.match(sent.get('state')!, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(sent.get('state'), result.begun.state, "the app's state is not sent upstream");
    const flow = await lanyard.db
      .selectFrom('login_flows')
      .selectAll()
      .where('upstream_request_id', '=', sent.get('state')!)
      .executeTakeFirstOrThrow();
    assert.ok(!flow.sealed_upstream_state!.includes(sent.get('nonce')!), 'the nonce is sealed, not stored in clear');
    assert.notEqual(sent.get('nonce'), result.begun.nonce);
    assert.equal(sent.get('login_hint'), null, 'no hint when the app sent none');
  });

  test("the app's login_hint goes on to the IdP (OIDC Core §3.1.2.1), whether it routed the login or the organization did", async () => {
    for (const params of [
      { login_hint: 'carol@example.com' } as Record<string, string>,
      { organization: setup.organizationId, login_hint: 'Carol@Example.com' },
    ]) {
      const result = await attempt('normal', setup.organizationId, params);
      assert.equal(result.status, 302, result.body);
      assert.equal(idp.authorizeRequests.at(-1)!.get('login_hint'), params.login_hint);
    }
  });

  test('an ID token that expired within the clock skew (120 s) is accepted', async () => {
    const result = await attempt('expired-within-skew');
    assert.equal(result.status, 302, result.body);
  });

  test('claims missing from the ID token are read from userinfo', async () => {
    const result = await attempt('userinfo-only');
    assert.equal(result.status, 302, result.body);
    assert.equal((await rp.finish(result.location!, result.begun)).userinfo.email, 'carol@example.com');
  });

  test('a key the IdP rotated in is fetched on first sight of its kid', async () => {
    await attempt('normal');
    const fetches = idp.jwksFetches;
    const result = await attempt('rotated-key');
    assert.equal(result.status, 302, result.body);
    assert.equal(idp.jwksFetches, fetches + 1);
  });

  test('a tampered ID token signature', async () => {
    const result = await assertRefused('tampered-signature', 'oidc_id_token_invalid_signature');
    assert.match(result.body, /idp-key-1/);
  });
  test('an ID token signed by a key the IdP does not publish', async () => {
    await assertRefused('unknown-key', 'oidc_id_token_unknown_key');
  });
  test('an ID token for another audience', async () => {
    const result = await assertRefused('wrong-audience', 'oidc_audience_mismatch');
    assert.match(result.body, /some-other-client/);
    assert.match(result.body, /lanyard-test-client/);
  });
  test('an ID token from another issuer', async () => {
    const result = await assertRefused('wrong-issuer', 'oidc_issuer_mismatch');
    assert.match(result.body, /Expected issuer<\/th><td><code>http:\/\/127\.0\.0\.1:\d+<\/code>/);
    assert.match(result.body, /Received issuer<\/th><td><code>https:\/\/impostor\.example\.com<\/code>/);
  });
  test('an expired ID token', async () => {
    await assertRefused('expired', 'oidc_id_token_expired');
  });
  test('an ID token signed with HMAC (the client secret) instead of the IdP key', async () => {
    await assertRefused('hmac-signed', 'oidc_id_token_unsupported_algorithm');
  });
  test('an ID token without the nonce', async () => {
    await assertRefused('missing-nonce', 'oidc_nonce_missing');
  });
  test('an ID token with another nonce', async () => {
    await assertRefused('wrong-nonce', 'oidc_nonce_mismatch');
  });
  test('userinfo about another subject', async () => {
    await assertRefused('userinfo-other-subject', 'oidc_userinfo_failed', 502);
  });

  test('a wrong client secret: the IdP refuses the code exchange', async () => {
    const wrong = await connectIdp(lanyard, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: 'not-the-secret' });
    const result = await assertRefused('normal', 'oidc_token_exchange_failed', 502, wrong.organizationId);
    assert.match(result.body, /invalid_client/);
    assert.match(result.body, /client secret/);
  });

  test('the same state a second time (a replayed callback)', async () => {
    const first = await attempt('normal');
    assert.equal(first.status, 302);
    const again = await fetch(first.callbackUrl, { redirect: 'manual' });
    const body = await again.text();
    assert.equal(again.status, 400, body);
    assert.match(body, /<code>oidc_state_replayed<\/code>/);
    const failed = await loginEvents(lanyard, setup.organizationId, 'login.failed');
    assert.equal(failed.at(-1)?.summary.code, 'oidc_state_replayed');
  });

  test('an unknown or missing state', async () => {
    for (const [query, code] of [
      ['?state=never-issued&code=x', 'oidc_state_unknown'],
      ['?code=x', 'oidc_state_missing'],
    ] as const) {
      const res = await fetch(`${lanyard.url}/sso/oidc/callback${query}`, { redirect: 'manual' });
      assert.equal(res.status, 400);
      assert.ok(res.headers.get('x-ratelimit-limit'), 'the callback is rate-limited per client address');
      assert.match(await res.text(), new RegExp(`<code>${code}</code>`));
    }
  });

  test('the IdP answers access_denied: passed on to the app with its state, recorded as login.failed', async () => {
    const result = await attempt('access-denied');
    assert.equal(result.status, 302, result.body);
    const back = new URL(result.location!);
    assert.equal(`${back.origin}${back.pathname}`, appRedirectUri);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), result.begun.state);
    assert.match(back.searchParams.get('error_description')!, /^oidc_idp_error: .*cancelled/);
    const failed = await loginEvents(lanyard, setup.organizationId, 'login.failed');
    assert.equal(failed.at(-1)?.summary.code, 'oidc_idp_error');
  });

  test('a directory user of the organization: linked by email (directory_user_id), refused once deactivated', async () => {
    const created = await lanyard.request({ method: 'POST', url: '/v1/directories', payload: { organizationId: setup.organizationId } });
    const directory = created.json();
    const scim = (method: string, path: string, body: unknown) =>
      fetch(`${directory.scim.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${directory.scim.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify(body),
      });
    const user = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'emp-carol',
      emails: [{ value: 'carol@example.com', primary: true }],
    });
    assert.equal(user.status, 201);
    const { id } = (await user.json()) as { id: string };
    try {
      const result = await attempt('normal');
      assert.equal(result.status, 302, result.body);
      const { claims, userinfo } = await rp.finish(result.location!, result.begun);
      assert.equal(claims.directory_user_id, id);
      assert.equal(userinfo.directory_user_id, id);
      const patch = {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', value: { active: false } }],
      };
      assert.equal((await scim('PATCH', `/Users/${id}`, patch)).status, 200);
      await assertRefused('normal', 'user_deactivated');
    } finally {
      await lanyard.request({ method: 'DELETE', url: `/v1/directories/${directory.id}` });
    }
  });
});
