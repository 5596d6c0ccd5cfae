// Verified domains (issue 15): the /domains resource, checks against a real DNS server (dnsmasq on
// loopback), the background re-check, and discovery at /oauth/authorize through verified domains only.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { DNSMASQ_MISSING, hasDnsmasq, startDnsmasq, type Dnsmasq } from '../support/dnsmasq.ts';
import { requireOrSkip } from '../support/environment.ts';
import { createTestSamlConnection, TEST_PKCE } from '../support/app-login.ts';

const ZONE = 'corp.test';
const REDIRECT = 'https://app.example.com/callback';
const START = new Date('2026-03-02T10:00:00Z').getTime();
const MINUTE = 60_000;

interface Domain {
  domain: string;
  state: string;
  verification: string;
  useForDiscovery: boolean;
  dnsRecord: { type: string; name: string; value: string } | null;
  verifiedAt: string | null;
  nextCheckAt: string | null;
  verificationDeadline: string | null;
  lastCheck: { at: string; matched: boolean; code?: string; found: string[] } | null;
}

for (const backend of testBackends()) {
  describe(`verified domains on ${backend}, checked against dnsmasq`, () => {
    let t: TestApp;
    let dns: Dnsmasq | undefined;
    let now = START;
    let txt: Record<string, string[]> = {};
    let cname: Record<string, string> = {};

    const ready = (ctx: Parameters<typeof requireOrSkip>[0]): boolean => requireOrSkip(ctx, hasDnsmasq(), DNSMASQ_MISSING);

    before(async () => {
      if (hasDnsmasq()) dns = await startDnsmasq({ zones: [ZONE] });
      t = await createTestApp({
        backend,
        clock: () => new Date(now),
        env: dns === undefined ? {} : { LANYARD_DNS_SERVERS: dns.server },
      });
    });
    after(async () => {
      await t.close();
      await dns?.stop();
    });

    /** Publishes `value` (or several) at a name, keeping what was published before. */
    async function publish(name: string, ...values: string[]): Promise<void> {
      txt = { ...txt, [name]: values };
      await dns?.setRecords({ zones: [ZONE], txt, cname });
    }

    async function organization(name: string, domains: string[] = []): Promise<{ id: string }> {
      const res = await t.request({ method: 'POST', url: '/v1/organizations', payload: { name, domains } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    }

    async function claim(orgId: string, payload: Record<string, unknown>, token?: string) {
      return t.request({ method: 'POST', url: `/v1/organizations/${orgId}/domains`, payload, ...(token ? { token } : {}) });
    }

    async function verify(orgId: string, domain: string): Promise<Domain> {
      const res = await t.request({ method: 'POST', url: `/v1/organizations/${orgId}/domains/${domain}/verify` });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    }

    async function eventsOf(orgId: string, type: string): Promise<{ summary: Record<string, unknown>; actor: string }[]> {
      const res = await t.request({ method: 'GET', url: `/v1/events?organizationId=${orgId}&type=${type}` });
      return res.json().data;
    }

    test('a DNS claim is pending with its TXT record; a record published after the first check verifies it', async (ctx) => {
      if (!ready(ctx)) return;
      const org = await organization('Acme');
      const created = await claim(org.id, { domain: 'Acme.Corp.Test' });
      assert.equal(created.statusCode, 201, created.body);
      const domain: Domain = created.json();
      assert.equal(domain.domain, 'acme.corp.test');
      assert.equal(domain.state, 'pending');
      assert.equal(domain.verification, 'dns');
      assert.equal(domain.useForDiscovery, true);
      assert.equal(domain.dnsRecord?.type, 'TXT');
      assert.equal(domain.dnsRecord?.name, '_lanyard-verification.acme.corp.test');
      assert.match(domain.dnsRecord?.value ?? '', /^lanyard-verification=[A-Za-z0-9_-]{43}$/);
      assert.equal(domain.nextCheckAt, new Date(START + MINUTE).toISOString());
      assert.equal(domain.verificationDeadline, new Date(START + 7 * 24 * 60 * MINUTE).toISOString());
      // Pending: not one of the organization's domains yet.
      assert.deepEqual((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` })).json().domains, []);

      const nothing = await verify(org.id, 'acme.corp.test');
      assert.equal(nothing.state, 'pending');
      assert.equal(nothing.lastCheck?.matched, false);
      assert.equal(nothing.lastCheck?.code, 'dns_name_not_found', 'NXDOMAIN inside the zone');

      await publish('_lanyard-verification.acme.corp.test', 'v=spf1 -all', domain.dnsRecord?.value ?? '');
      const verified = await verify(org.id, 'acme.corp.test');
      assert.equal(verified.state, 'verified');
      assert.equal(verified.verifiedAt, new Date(now).toISOString());
      assert.equal(verified.nextCheckAt, null);
      assert.deepEqual((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` })).json().domains, ['acme.corp.test']);
      const [event] = await eventsOf(org.id, 'organization_domain.verified');
      assert.deepEqual(event?.summary, { domain: 'acme.corp.test', verification: 'dns', state: 'verified' });
    });

    test('a wrong value is a mismatch showing what was found; a CNAME to the right record verifies', async (ctx) => {
      if (!ready(ctx)) return;
      const org = await organization('Wrong');
      const domain: Domain = (await claim(org.id, { domain: 'wrong.corp.test' })).json();
      await publish('_lanyard-verification.wrong.corp.test', 'lanyard-verification=somebody-elses');
      const mismatch = await verify(org.id, 'wrong.corp.test');
      assert.equal(mismatch.state, 'pending');
      assert.deepEqual(mismatch.lastCheck, {
        at: new Date(now).toISOString(),
        matched: false,
        code: 'verification_record_mismatch',
        found: ['lanyard-verification=somebody-elses'],
      });

      const aliased: Domain = (await claim(org.id, { domain: 'alias.corp.test' })).json();
      cname = { ...cname, '_lanyard-verification.alias.corp.test': 'target.corp.test' };
      await publish('target.corp.test', aliased.dnsRecord!.value);
      assert.equal((await verify(org.id, 'alias.corp.test')).state, 'verified');
      assert.equal(domain.state, 'pending');
    });

    test('the background job checks due domains, verifies them, and fails them after 7 days', async (ctx) => {
      if (!ready(ctx)) return;
      const org = await organization('Background');
      const later: Domain = (await claim(org.id, { domain: 'later.corp.test' })).json();
      assert.equal((await claim(org.id, { domain: 'never.corp.test' })).statusCode, 201);
      const domains = t.deps.services.domains;
      // Not due yet: nothing is claimed.
      assert.equal(await domains.checkDue(100), 0);
      now += MINUTE;
      await publish('_lanyard-verification.later.corp.test', later.dnsRecord!.value);
      assert.ok((await domains.checkDue(100)) >= 2);
      const [verified, waiting] = await Promise.all(
        ['later', 'never'].map(async (name) =>
          (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/domains/${name}.corp.test` })).json<Domain>(),
        ),
      );
      assert.equal(verified?.state, 'verified');
      assert.equal(waiting?.state, 'pending');
      assert.equal(waiting?.nextCheckAt, new Date(now + MINUTE).toISOString(), 'the next slot of the schedule');
      const [event] = await eventsOf(org.id, 'organization_domain.verified');
      assert.equal(event?.actor, 'system');

      now += 7 * 24 * 60 * MINUTE;
      await domains.checkDue(100);
      const failed: Domain = (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/domains/never.corp.test` })).json();
      assert.equal(failed.state, 'failed');
      assert.equal(failed.nextCheckAt, null);
      assert.equal((await eventsOf(org.id, 'organization_domain.verification_failed')).length, 1);
      // Failed is final for the job: nothing is due any more.
      now += 60 * MINUTE;
      assert.equal(await domains.checkDue(100), 0);
    });

    test('two organizations may claim one domain; once one verifies it, the other cannot', async (ctx) => {
      if (!ready(ctx)) return;
      const first = await organization('First');
      const second = await organization('Second');
      const a: Domain = (await claim(first.id, { domain: 'shared.corp.test' })).json();
      const b = await claim(second.id, { domain: 'shared.corp.test' });
      assert.equal(b.statusCode, 201, 'a pending claim blocks nobody');
      // Both records published: the first to check wins, the other's check says why it cannot verify.
      await publish('_lanyard-verification.shared.corp.test', a.dnsRecord!.value, b.json<Domain>().dnsRecord!.value);
      assert.equal((await verify(first.id, 'shared.corp.test')).state, 'verified');
      const refused = await verify(second.id, 'shared.corp.test');
      assert.equal(refused.state, 'pending');
      assert.equal(refused.lastCheck?.code, 'domain_verified_elsewhere');
      const third = await organization('Third');
      const late = await claim(third.id, { domain: 'shared.corp.test' });
      assert.equal(late.statusCode, 409);
      assert.equal(late.json().code, 'conflict');
      const patched = await t.request({
        method: 'PATCH',
        url: `/v1/organizations/${third.id}`,
        payload: { domains: ['shared.corp.test'] },
      });
      assert.equal(patched.statusCode, 409, 'the domains field refuses it too');
    });

    test('a DNS server that never answers is a timeout, recorded on the claim', async (ctx) => {
      const silent = createSocket('udp4');
      silent.on('message', () => {});
      await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
      const other = await createTestApp({ backend, env: { LANYARD_DNS_SERVERS: `127.0.0.1:${silent.address().port}` } });
      ctx.after(async () => {
        await other.close();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      });
      const org = (await other.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Silent' } })).json();
      await other.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain: 'silent.corp.test' } });
      const res = await other.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains/silent.corp.test/verify` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().state, 'pending');
      assert.equal(res.json().lastCheck.code, 'dns_timeout');
    });
  });

  describe(`domain claims on ${backend}: rules, scoping and discovery`, () => {
    let t: TestApp;
    let app: { clientId: string };

    before(async () => {
      t = await createTestApp({ backend });
      app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    });
    after(async () => t.close());

    async function organizationWithConnection(name: string): Promise<{ id: string }> {
      const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name } })).json();
      await createTestSamlConnection(t, { organizationId: org.id, enabled: true }, { ssoUrl: `https://idp.example.test/sso?org=${name}` });
      return org;
    }

    /** Where /oauth/authorize sends the browser for these discovery parameters: the IdP's URL, or the app's error. */
    async function discover(params: Record<string, string>): Promise<string> {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        ...TEST_PKCE.query,
        state: 's',
        ...params,
      });
      const res = await t.request({ method: 'GET', url: `/oauth/authorize?${query.toString()}`, token: null });
      assert.equal(res.statusCode, 302, res.body);
      const location = new URL(res.headers.location as string);
      return location.searchParams.get('error') ?? location.searchParams.get('org') ?? location.href;
    }

    test('discovery finds an organization only through a verified domain used for discovery', async () => {
      const pending = await organizationWithConnection('pending');
      await t.request({ method: 'POST', url: `/v1/organizations/${pending.id}/domains`, payload: { domain: 'pending.example' } });
      assert.equal(await discover({ login_hint: 'ann@pending.example' }), 'access_denied', 'a pending claim routes nobody');
      assert.equal(await discover({ login_hint: 'ann@unknown.example' }), 'access_denied');

      const verified = await organizationWithConnection('verified');
      const res = await t.request({
        method: 'POST',
        url: `/v1/organizations/${verified.id}/domains`,
        payload: { domain: 'verified.example', verification: 'manual' },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().state, 'verified');
      assert.equal(res.json().dnsRecord, null);
      assert.equal(await discover({ login_hint: 'ann@Verified.Example' }), 'verified');
      assert.equal(await discover({ domain: 'verified.example' }), 'verified');

      // A pending claim of the same domain by a second organization changes nothing.
      const rival = await organizationWithConnection('rival');
      const rivalClaim = await t.request({
        method: 'POST',
        url: `/v1/organizations/${rival.id}/domains`,
        payload: { domain: 'verified.example' },
      });
      assert.equal(rivalClaim.statusCode, 409, 'held verified elsewhere');
      await t.request({ method: 'POST', url: `/v1/organizations/${rival.id}/domains`, payload: { domain: 'pending.example' } });
      assert.equal(await discover({ login_hint: 'ann@pending.example' }), 'access_denied');

      const hidden = await organizationWithConnection('hidden');
      await t.request({
        method: 'POST',
        url: `/v1/organizations/${hidden.id}/domains`,
        payload: { domain: 'hidden.example', verification: 'manual', useForDiscovery: false },
      });
      assert.equal(await discover({ login_hint: 'ann@hidden.example' }), 'access_denied', 'verified but not used for discovery');
    });

    test('consumer mail domains are refused for discovery, and never route', async () => {
      const org = await organizationWithConnection('consumer');
      const refused = await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain: 'gmail.com' } });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().details[0].field, 'useForDiscovery');
      const allowed = await t.request({
        method: 'POST',
        url: `/v1/organizations/${org.id}/domains`,
        payload: { domain: 'outlook.com', verification: 'manual', useForDiscovery: false },
      });
      assert.equal(allowed.statusCode, 201, allowed.body);
      // Set through the organization's domains field (an admin's word), a consumer domain still routes nobody.
      await t.request({ method: 'PATCH', url: `/v1/organizations/${org.id}`, payload: { domains: ['gmail.com'] } });
      assert.equal(await discover({ login_hint: 'ann@gmail.com' }), 'access_denied');
    });

    test('the domains field of organizations keeps working: manual and verified at once', async () => {
      const org = await organizationWithConnection('field');
      await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain: 'claim.example' } });
      const patched = await t.request({ method: 'PATCH', url: `/v1/organizations/${org.id}`, payload: { domains: ['field.example'] } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(patched.json().domains, ['field.example']);
      const list = (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/domains` })).json();
      assert.deepEqual(
        list.data.map((d: Domain) => [d.domain, d.state, d.verification]),
        [
          ['claim.example', 'pending', 'dns'],
          ['field.example', 'verified', 'manual'],
        ],
        'the pending claim stays',
      );
      assert.equal(list.nextCursor, null);
      assert.equal(await discover({ login_hint: 'bob@field.example' }), 'field');
      assert.equal((await t.request({ method: 'DELETE', url: `/v1/organizations/${org.id}/domains/field.example` })).statusCode, 204);
      assert.equal(await discover({ login_hint: 'bob@field.example' }), 'access_denied');
      assert.equal((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/domains/field.example` })).statusCode, 404);
    });

    test('an organization key manages only its own domains, by DNS only', async () => {
      const mine = await organizationWithConnection('mine');
      const theirs = await organizationWithConnection('theirs');
      await t.request({ method: 'POST', url: `/v1/organizations/${theirs.id}/domains`, payload: { domain: 'theirs.example' } });
      const key = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'scoped', organizationId: mine.id } })).json();
      const own = await t.request({
        method: 'POST',
        url: `/v1/organizations/${mine.id}/domains`,
        payload: { domain: 'mine.example' },
        token: key.token,
      });
      assert.equal(own.statusCode, 201, own.body);
      const manual = await t.request({
        method: 'POST',
        url: `/v1/organizations/${mine.id}/domains`,
        payload: { domain: 'manual.example', verification: 'manual' },
        token: key.token,
      });
      assert.equal(manual.statusCode, 403, 'only an admin key may vouch for a domain');
      const field = await t.request({
        method: 'PATCH',
        url: `/v1/organizations/${mine.id}`,
        payload: { domains: ['mine.example'] },
        token: key.token,
      });
      assert.equal(field.statusCode, 403, 'nor through the domains field');
      for (const [method, url] of [
        ['GET', `/v1/organizations/${theirs.id}/domains`],
        ['POST', `/v1/organizations/${theirs.id}/domains`],
        ['GET', `/v1/organizations/${theirs.id}/domains/theirs.example`],
        ['DELETE', `/v1/organizations/${theirs.id}/domains/theirs.example`],
        ['POST', `/v1/organizations/${theirs.id}/domains/theirs.example/verify`],
      ] as const) {
        const res = await t.request({
          method,
          url,
          token: key.token,
          ...(method === 'POST' && url.endsWith('domains') ? { payload: { domain: 'x.example' } } : {}),
        });
        assert.equal(res.statusCode, 404, `${method} ${url}`);
      }
      assert.equal((await t.request({ method: 'GET', url: `/v1/organizations/${theirs.id}/domains/theirs.example` })).statusCode, 200);
    });

    test('hostile input is a 4xx, never a 500', async () => {
      const org = await organizationWithConnection('hostile');
      for (const payload of [
        {},
        { domain: '' },
        { domain: 'a'.repeat(300) },
        { domain: 'not a domain' },
        { domain: 'x.example', verification: 'magic' },
        { domain: 'x.example', extra: 1 },
      ]) {
        const res = await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
      }
      for (const domain of ['%00', '..', 'a%2F..', 'x'.repeat(254)]) {
        const res = await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/domains/${domain}` });
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${domain}: ${res.statusCode}`);
      }
      assert.equal(
        (await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain: 'dup.example' } })).statusCode,
        201,
      );
      assert.equal(
        (await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain: 'DUP.example' } })).statusCode,
        409,
      );
      assert.equal((await t.request({ method: 'GET', url: '/v1/organizations/org_nope/domains' })).statusCode, 404);
    });
  });
}
