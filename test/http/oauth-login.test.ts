import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { hashToken } from '../../src/crypto/tokens.ts';
import { after, before, describe, test } from 'node:test';
import { buildResponseXml, NOW, sign, testKeys } from '../support/saml-builder.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createTestSamlConnection } from '../support/app-login.ts';

const REDIRECT = 'https://app.example.com/callback';
const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

for (const backend of testBackends()) {
  describe(`the OAuth 2.0 / OIDC login on ${backend}, with SAML responses signed by a test IdP`, () => {
    let t: TestApp;
    let now = NOW.getTime();
    let org: { id: string };
    let connection: { id: string; sp: { entityId: string; acsUrl: string } };
    let app: { id: string; clientId: string; clientSecret: string };

    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(now) });
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme', domains: ['acme.test'] } })).json();
      connection = await createTestSamlConnection(
        t,
        { organizationId: org.id, enabled: true, groupSync: true },
        { ssoUrl: 'https://idp.example.test/sso?tenant=1' },
      );
      app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    });
    after(async () => t.close());

    function pkce() {
      const verifier = randomBytes(32).toString('base64url');
      return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
    }

    // PKCE is required by default: requests carry a challenge unless a test sets code_challenge to undefined.
    const defaultPkce = pkce();
    async function authorize(params: Record<string, string | undefined>) {
      const all = {
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        scope: 'openid email profile',
        code_challenge: defaultPkce.challenge,
        code_challenge_method: 'S256',
        ...params,
      };
      const query = new URLSearchParams(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined));
      return t.request({ method: 'GET', url: `/oauth/authorize?${query.toString()}`, token: null });
    }

    /** authorize → the AuthnRequest's ID and the RelayState the IdP will send back. */
    async function startLogin(params: Record<string, string | undefined> = {}) {
      const started = await authorize({ organization: org.id, state: 'st-1', nonce: 'n-1', ...params });
      assert.equal(started.statusCode, 302, started.body);
      const location = new URL(started.headers.location as string);
      assert.equal(location.origin + location.pathname, 'https://idp.example.test/sso');
      assert.equal(location.searchParams.get('tenant'), '1', 'the IdP URL keeps its own parameters');
      const request = inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      return { requestId: /ID="([^"]+)"/.exec(request)![1]!, relayState: location.searchParams.get('RelayState')! };
    }

    /** The ACS form of a response the test IdP signs for a started login. */
    function acsForm(
      started: { requestId: string; relayState: string },
      options: { assertionId?: string; tamper?: (xml: string) => string } = {},
    ) {
      const xml = sign(
        buildResponseXml({
          inResponseTo: started.requestId,
          audience: connection.sp.entityId,
          recipient: connection.sp.acsUrl,
          destination: connection.sp.acsUrl,
          assertionId: options.assertionId ?? `_a${randomBytes(8).toString('hex')}`,
        }),
        { target: 'assertion' },
      );
      return form({ SAMLResponse: Buffer.from((options.tamper ?? ((x) => x))(xml)).toString('base64'), RelayState: started.relayState });
    }

    const postToAcs = (fields: ReturnType<typeof form>) =>
      t.request({ method: 'POST', url: `/sso/saml/${connection.id}/acs`, token: null, ...fields });

    /** authorize → (the test IdP signs a response to the AuthnRequest) → ACS; returns the ACS answer. */
    async function login(params: Record<string, string | undefined> = {}, tamper: (xml: string) => string = (x) => x) {
      return postToAcs(acsForm(await startLogin(params), { tamper }));
    }

    async function exchange(fields: Record<string, string>, authorization?: string) {
      return t.request({
        method: 'POST',
        url: '/oauth/token',
        token: null,
        ...form(fields),
        ...(authorization ? { headers: { 'content-type': 'application/x-www-form-urlencoded', authorization } } : {}),
      });
    }

    test('a full login: code bound to PKCE, tokens, a verifiable id_token and userinfo', async () => {
      const { verifier, challenge } = pkce();
      const acs = await login({ code_challenge: challenge, code_challenge_method: 'S256' });
      assert.equal(acs.statusCode, 302, acs.body);
      const callback = new URL(acs.headers.location as string);
      assert.equal(callback.origin + callback.pathname, REDIRECT);
      assert.equal(callback.searchParams.get('state'), 'st-1');
      const code = callback.searchParams.get('code')!;

      const tokens = await exchange(
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
        basic(app.clientId, app.clientSecret),
      );
      assert.equal(tokens.statusCode, 200, tokens.body);
      assert.equal(tokens.headers['cache-control'], 'no-store');
      const body = tokens.json();
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 600);

      const discovery = (await t.request({ method: 'GET', url: '/.well-known/openid-configuration', token: null })).json();
      assert.equal(discovery.issuer, t.config.publicUrl);
      assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
      const jwks = (await t.request({ method: 'GET', url: '/oauth/jwks', token: null })).json();
      const { payload, protectedHeader } = await jwtVerify(body.id_token, createLocalJWKSet(jwks), {
        issuer: t.config.publicUrl,
        audience: app.clientId,
        currentDate: new Date(now),
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(payload.nonce, 'n-1');
      assert.equal(payload.email, 'alice@example.com');
      assert.equal(payload.organization_id, org.id);
      assert.match(payload.sub!, /^usr_[0-9A-Z]{26}$/);

      const userinfo = await t.request({ method: 'GET', url: '/oauth/userinfo', token: body.access_token });
      assert.equal(userinfo.statusCode, 200);
      assert.equal(userinfo.json().sub, payload.sub);
      assert.deepEqual(userinfo.json().groups, ['staff', 'admins']);

      // RFC 6749 §4.1.2: a code used twice is refused, and what the first use obtained is revoked.
      const again = await exchange(
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
        basic(app.clientId, app.clientSecret),
      );
      assert.equal(again.statusCode, 400);
      assert.equal(again.json().error, 'invalid_grant');
      assert.equal((await t.request({ method: 'GET', url: '/oauth/userinfo', token: body.access_token })).statusCode, 401);
    });

    /** A full login's id_token claims and userinfo, without PKCE. */
    async function claimsOfLogin(): Promise<{ idToken: Record<string, unknown>; userinfo: Record<string, unknown> }> {
      const acs = await login();
      assert.equal(acs.statusCode, 302, acs.body);
      const code = new URL(acs.headers.location as string).searchParams.get('code')!;
      const tokens = (
        await exchange(
          { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: defaultPkce.verifier },
          basic(app.clientId, app.clientSecret),
        )
      ).json();
      const jwks = (await t.request({ method: 'GET', url: '/oauth/jwks', token: null })).json();
      const { payload } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), { currentDate: new Date(now) });
      const userinfo = (await t.request({ method: 'GET', url: '/oauth/userinfo', token: tokens.access_token })).json();
      return { idToken: payload, userinfo };
    }

    test('email_verified is true only for an email in a verified domain of the signing organization', async () => {
      // Another organization holds example.com verified; Acme's IdP asserts alice@example.com.
      const other = await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Example', domains: ['example.com'] } });
      assert.equal(other.statusCode, 201, other.body);
      const hostile = await claimsOfLogin();
      assert.equal(hostile.idToken.email, 'alice@example.com');
      assert.equal(hostile.idToken.email_verified, false, "another organization's domain");
      assert.equal(hostile.userinfo.email_verified, false);

      await t.request({ method: 'DELETE', url: `/v1/organizations/${other.json().id}` });
      await t.request({ method: 'PATCH', url: `/v1/organizations/${org.id}`, payload: { domains: ['acme.test', 'example.com'] } });
      const own = await claimsOfLogin();
      assert.equal(own.idToken.email_verified, true, 'a verified domain of the organization');
      assert.equal(own.userinfo.email_verified, true);

      // A pending claim is not enough.
      await t.request({ method: 'PATCH', url: `/v1/organizations/${org.id}`, payload: { domains: ['acme.test'] } });
      await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain: 'example.com' } });
      assert.equal((await claimsOfLogin()).idToken.email_verified, false);
      await t.request({ method: 'DELETE', url: `/v1/organizations/${org.id}/domains/example.com` });
    });

    test('emailDomainPolicy enforce refuses an email outside the verified domains, even one another organization verified', async () => {
      const other = await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Victim', domains: ['example.com'] } });
      const policy = (emailDomainPolicy: string) =>
        t.request({ method: 'PATCH', url: `/v1/connections/${connection.id}`, payload: { emailDomainPolicy } });
      const enforced = await policy('enforce');
      assert.equal(enforced.statusCode, 200, enforced.body);
      assert.equal(enforced.json().emailDomainPolicy, 'enforce');
      const refused = await login();
      assert.equal(refused.statusCode, 403, refused.body);
      assert.match(refused.body, /email_domain_not_allowed/);
      assert.match(refused.body, /alice@example\.com/);
      const events = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=login.failed` })).json();
      assert.equal(events.data.at(-1).summary.code, 'email_domain_not_allowed');

      await t.request({ method: 'DELETE', url: `/v1/organizations/${other.json().id}` });
      await t.request({ method: 'PATCH', url: `/v1/organizations/${org.id}`, payload: { domains: ['acme.test', 'example.com'] } });
      assert.equal((await claimsOfLogin()).idToken.email_verified, true, 'inside a verified domain the login goes on');
      await t.request({ method: 'PATCH', url: `/v1/organizations/${org.id}`, payload: { domains: ['acme.test'] } });
      assert.equal((await policy('flag')).json().emailDomainPolicy, 'flag');
      assert.equal((await policy('sometimes')).statusCode, 400);
    });

    const countCodes = async () =>
      (
        await t.db
          .selectFrom('authorization_codes')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    const flowRow = (id: string) => t.db.selectFrom('login_flows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

    test('two responses racing for one flow: exactly one gets a code, the other is refused as late', async () => {
      const before = Number(await countCodes());
      const distinct = await startLogin();
      const same = acsForm(await startLogin());
      // Two valid responses (two assertions) for one flow, then one response posted twice, each pair at once.
      for (const [flowId, pair] of [
        [distinct.relayState, [acsForm(distinct), acsForm(distinct)]],
        [new URLSearchParams(same.payload).get('RelayState')!, [same, same]],
      ] as const) {
        const results = await Promise.all(pair.map(postToAcs));
        const granted = results.filter((r) => r.statusCode === 302 && new URL(r.headers.location as string).searchParams.has('code'));
        assert.equal(granted.length, 1, results.map((r) => `${r.statusCode} ${r.body}`).join('\n'));
        const refused = results.find((r) => r !== granted[0])!;
        assert.equal(refused.statusCode, 403);
        assert.match(refused.body, /login_flow_not_found/);
        const flow = await flowRow(flowId);
        assert.ok(flow.returned_at && flow.completed_at);
        assert.equal(flow.failure_code, null, 'the refused response does not touch the flow the other one ended');
      }
      assert.equal(Number(await countCodes()), before + 2);
    });

    test('an assertion that signed in once yields no code again, and uses up the flow it came back to', async () => {
      const assertionId = `_a${randomBytes(8).toString('hex')}`;
      assert.equal((await postToAcs(acsForm(await startLogin(), { assertionId }))).statusCode, 302);
      const codes = await countCodes();
      const second = await startLogin();
      const replayed = await postToAcs(acsForm(second, { assertionId }));
      assert.equal(replayed.statusCode, 403);
      assert.match(replayed.body, /saml_replayed/);
      assert.equal(await countCodes(), codes, 'a replayed assertion yields no code');
      const flow = await flowRow(second.relayState);
      assert.equal(flow.failure_code, 'saml_replayed');
      assert.ok(flow.returned_at && flow.completed_at);
      const failed = await t.db.selectFrom('events').select('summary').where('type', '=', 'login.failed').execute();
      assert.deepEqual(
        failed.filter((e) => e.summary.flowId === second.relayState).map((e) => e.summary.code),
        ['saml_replayed'],
      );
      // As any refused response does: a good response for the same flow comes too late.
      const late = await postToAcs(acsForm(second));
      assert.match(late.body, /login_flow_not_found/);
    });

    test('a code refused at the token endpoint is used up all the same', async () => {
      const { verifier, challenge } = pkce();
      const code = new URL(
        (await login({ code_challenge: challenge, code_challenge_method: 'S256' })).headers.location as string,
      ).searchParams.get('code')!;
      const grant = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT };
      const tokensOf = () => t.db.selectFrom('access_tokens').select('token_hash').where('code_hash', '=', hashToken(code)).execute();
      const wrong = await exchange({ ...grant, code_verifier: pkce().verifier }, basic(app.clientId, app.clientSecret));
      assert.equal(wrong.json().error, 'invalid_grant');
      assert.deepEqual(await tokensOf(), [], 'the token written with the redemption is deleted with the refusal');
      const right = await exchange({ ...grant, code_verifier: verifier }, basic(app.clientId, app.clientSecret));
      assert.equal(right.json().error, 'invalid_grant');
      assert.match(right.json().error_description, /already used/);
    });

    test('one exchange, one access token: the redemption and the token are one statement', async () => {
      const { verifier, challenge } = pkce();
      const code = new URL(
        (await login({ code_challenge: challenge, code_challenge_method: 'S256' })).headers.location as string,
      ).searchParams.get('code')!;
      const grant = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
      const answers = await Promise.all([1, 2, 3].map(() => exchange(grant, basic(app.clientId, app.clientSecret))));
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 400, 400]);
      const tokens = await t.db.selectFrom('access_tokens').selectAll().where('code_hash', '=', hashToken(code)).execute();
      assert.equal(tokens.length, 1);
      const winner = answers.find((a) => a.statusCode === 200)!.json();
      assert.equal(tokens[0]!.token_hash, hashToken(winner.access_token));
      assert.ok(tokens[0]!.revoked_at !== null, 'the later presentations revoked what the first obtained');
    });

    test('the token endpoint refuses what RFC 6749 and RFC 7636 refuse', async () => {
      const { verifier, challenge } = pkce();
      const codeFor = async () =>
        new URL((await login({ code_challenge: challenge, code_challenge_method: 'S256' })).headers.location as string).searchParams.get(
          'code',
        )!;
      const good = {
        grant_type: 'authorization_code',
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      };
      const cases: [Record<string, string>, number, string][] = [
        [{ ...good, code_verifier: pkce().verifier }, 400, 'invalid_grant'],
        [{ ...good, code_verifier: '' }, 400, 'invalid_grant'],
        [{ ...good, redirect_uri: 'https://app.example.com/other' }, 400, 'invalid_grant'],
        [{ ...good, client_secret: 'wrong' }, 401, 'invalid_client'],
        [{ ...good, grant_type: 'password' }, 400, 'unsupported_grant_type'],
      ];
      for (const [fields, status, error] of cases) {
        const res = await exchange({ ...fields, code: await codeFor() });
        assert.equal(res.statusCode, status, JSON.stringify(fields));
        assert.equal(res.json().error, error);
      }
      const withoutSecret = await exchange({ ...good, client_secret: '', code: await codeFor() });
      assert.equal(withoutSecret.json().error, 'invalid_client');
      const twoMethods = await exchange({ ...good, code: await codeFor() }, basic(app.clientId, app.clientSecret));
      assert.equal(twoMethods.json().error, 'invalid_request');
      const code = await codeFor();
      now += 61_000;
      const expired = await exchange({ ...good, code });
      assert.equal(expired.json().error, 'invalid_grant');
      assert.match(expired.json().error_description, /expired/);
      const exempt = { requirePkce: false, pkceExemptReason: 'a legacy app that cannot send PKCE' };
      assert.equal((await t.request({ method: 'PATCH', url: `/v1/applications/${app.id}`, payload: exempt })).statusCode, 200);
      const withoutChallenge = { code_challenge: undefined, code_challenge_method: undefined };
      const noPkce = new URL((await login(withoutChallenge)).headers.location as string).searchParams.get('code')!;
      const downgrade = await exchange({ ...good, code: noPkce });
      assert.equal(downgrade.json().error, 'invalid_grant', 'a verifier without a challenge is refused');
      const withoutVerifier = {
        grant_type: 'authorization_code',
        redirect_uri: REDIRECT,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      };
      const exemptCode = new URL((await login(withoutChallenge)).headers.location as string).searchParams.get('code')!;
      assert.equal((await exchange({ ...withoutVerifier, code: exemptCode })).statusCode, 200, 'the opt-out signs in without PKCE');
      await t.request({ method: 'PATCH', url: `/v1/applications/${app.id}`, payload: { requirePkce: true } });
      const unknownToken = await t.request({ method: 'GET', url: '/oauth/userinfo', token: 'nope' });
      assert.equal(unknownToken.statusCode, 401);
      assert.match(unknownToken.headers['www-authenticate'] as string, /invalid_token/);
    });

    test('authorize shows a page for an untrusted client or redirect URI, and redirects other errors to the app', async () => {
      const unknown = await t.request({
        method: 'GET',
        url: '/oauth/authorize?response_type=code&client_id=nope&redirect_uri=https://evil.example/cb',
        token: null,
      });
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.headers['content-type'] as string, /text\/html/);
      assert.match(unknown.headers['content-security-policy'] as string, /default-src 'none'/);
      assert.equal(unknown.headers.location, undefined);
      const evil = await authorize({ redirect_uri: 'https://evil.example/cb', organization: org.id });
      assert.equal(evil.statusCode, 400);
      assert.match(evil.body, /not registered/);
      const cases: [Record<string, string>, string][] = [
        [{ response_type: 'token', organization: org.id }, 'unsupported_response_type'],
        [{ organization: org.id, code_challenge: pkce().challenge, code_challenge_method: 'plain' }, 'invalid_request'],
        [{ organization: org.id, code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request'],
        [{}, 'invalid_request'],
        [{ organization: 'org_unknown' }, 'access_denied'],
        [{ login_hint: 'someone@elsewhere.test' }, 'access_denied'],
      ];
      for (const [params, error] of cases) {
        const res = await authorize({ state: 'xyz', ...params });
        assert.equal(res.statusCode, 302, JSON.stringify(params));
        const location = new URL(res.headers.location as string);
        assert.equal(location.origin + location.pathname, REDIRECT);
        assert.equal(location.searchParams.get('error'), error, JSON.stringify(params));
        assert.equal(location.searchParams.get('state'), 'xyz');
      }
      const byDomain = await authorize({ login_hint: 'bob@ACME.test' });
      assert.equal(new URL(byDomain.headers.location as string).hostname, 'idp.example.test');
    });

    test('several enabled connections offer a choice; an application limited to other organizations is refused', async () => {
      const second = await t.request({
        method: 'POST',
        url: '/v1/connections',
        payload: {
          organizationId: org.id,
          type: 'saml',
          name: 'Backup IdP',
          enabled: true,
          saml: {
            idpEntityId: 'https://backup.example.test',
            ssoUrl: 'https://backup.example.test/sso',
            certificates: [testKeys.idpCertPem],
          },
        },
      });
      assert.equal(second.statusCode, 201, second.body);
      const chooser = await authorize({ organization: org.id });
      assert.equal(chooser.statusCode, 200);
      assert.match(chooser.body, /Choose how to sign in/);
      assert.doesNotMatch(chooser.body, /\(generic\)/, 'a generic IdP is shown by its connection name alone');
      assert.ok(chooser.body.includes(`connection=${connection.id}`) && chooser.body.includes(`connection=${second.json().id}`));
      await t.request({ method: 'DELETE', url: `/v1/connections/${second.json().id}` });

      const limited = (
        await t.request({
          method: 'POST',
          url: '/v1/applications',
          payload: { name: 'Limited', redirectUris: [REDIRECT], organizationIds: ['org_other'] },
        })
      ).json();
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: limited.clientId,
        redirect_uri: REDIRECT,
        organization: org.id,
        code_challenge: defaultPkce.challenge,
        code_challenge_method: 'S256',
      });
      const refused = await t.request({ method: 'GET', url: `/oauth/authorize?${query.toString()}`, token: null });
      assert.equal(new URL(refused.headers.location as string).searchParams.get('error'), 'access_denied');
    });

    test('a refused response explains itself, is recorded, and offers the way back to the app', async () => {
      const tampered = await login({}, (xml) => xml.replace('>staff<', '>root<'));
      assert.equal(tampered.statusCode, 403);
      assert.match(tampered.headers['content-type'] as string, /text\/html/);
      assert.match(tampered.body, /saml_digest_mismatch/);
      assert.match(tampered.body, /req_/);
      assert.match(tampered.body, /error=access_denied/);
      const events = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=login.failed` })).json();
      assert.equal(events.data.at(-1).summary.code, 'saml_digest_mismatch');

      const deep = await login({}, (xml) => xml.replace('</saml:Assertion>', `${'<a>'.repeat(65)}${'</a>'.repeat(65)}</saml:Assertion>`));
      assert.equal(deep.statusCode, 403);
      assert.match(deep.body, /saml_malformed_xml/);
      assert.match(deep.body, /nests elements more than 64 deep/);

      const started = await authorize({ organization: org.id });
      const relayState = new URL(started.headers.location as string).searchParams.get('RelayState')!;
      now += 11 * 60_000;
      const late = await t.request({
        method: 'POST',
        url: `/sso/saml/${connection.id}/acs`,
        token: null,
        ...form({ SAMLResponse: Buffer.from('<x/>').toString('base64'), RelayState: relayState }),
      });
      assert.equal(late.statusCode, 403);
      assert.match(late.body, /expired or was already completed/);
      const garbage = await t.request({
        method: 'POST',
        url: `/sso/saml/${connection.id}/acs`,
        token: null,
        ...form({ SAMLResponse: '%%%' }),
      });
      assert.equal(garbage.statusCode, 400);
      const unknown = await t.request({ method: 'POST', url: '/sso/saml/conn_nope/acs', token: null, ...form({ SAMLResponse: 'eA==' }) });
      assert.equal(unknown.statusCode, 404);
    });
  });
}
