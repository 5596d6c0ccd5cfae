// Setup tickets' domain policy (issue 15, item 4; Auth0's domain_aliases_config): domainVerification
// none|optional|required and useForDiscovery on the API, and the setup page's Email domains step
// against a real DNS server (dnsmasq on loopback): the TXT record to publish, Check now, and
// activation refused under `required` until each entered domain is verified.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { PUBLIC_URL } from '../support/connections.ts';
import { DNSMASQ_MISSING, hasDnsmasq, startDnsmasq, type Dnsmasq } from '../support/dnsmasq.ts';
import { requireOrSkip } from '../support/environment.ts';
import { NOW } from '../support/saml-builder.ts';
import {
  createTicket,
  getWithSession,
  openSetup,
  postSetup,
  TEST_IDP_FIELDS,
  testSignInThroughPage,
  textOf,
  type SetupSessionInfo,
} from '../support/setup-page.ts';
import { withDatabaseAtMigration } from '../support/migration-database.ts';

const ZONE = 'corp.test';
const MINUTE = 60_000;

interface Domain {
  domain: string;
  state: string;
  verification: string;
  useForDiscovery: boolean;
  dnsRecord: { name: string; value: string } | null;
  lastCheck: { code?: string } | null;
}

for (const backend of testBackends()) {
  test(`migration 0017 on ${backend}: a ticket made before keeps policy none; a new row defaults to required`, async () => {
    await withDatabaseAtMigration(backend, '0015-change-notifications', async (db, migrateRest) => {
      const ticket = (id: string) =>
        sql`insert into sso_tickets (id, organization_id, owns_connection, type, token_hash, enabled_features, created_by, created_at, expires_at)
            values (${id}, 'org_1', false, 'saml', ${id}, '[]'::jsonb, 'key_1', now(), now())`;
      await sql`insert into organizations (id, name, created_at, updated_at) values ('org_1', 'Before', now(), now())`.execute(db);
      await ticket('tkt_before').execute(db);
      await migrateRest();
      await ticket('tkt_after').execute(db);
      const rows = await db
        .selectFrom('sso_tickets')
        .select(['id', 'domain_verification', 'use_for_discovery', 'entered_domains'])
        .orderBy('id', 'desc')
        .execute();
      assert.deepEqual(rows, [
        { id: 'tkt_before', domain_verification: 'none', use_for_discovery: true, entered_domains: [] },
        { id: 'tkt_after', domain_verification: 'required', use_for_discovery: true, entered_domains: [] },
      ]);
    });
  });

  describe(`setup tickets' domain policy on ${backend}`, () => {
    let t: TestApp;
    let dns: Dnsmasq | undefined;
    let now = NOW.getTime();
    let txt: Record<string, string[]> = {};

    before(async () => {
      if (hasDnsmasq()) dns = await startDnsmasq({ zones: [ZONE] });
      t = await createTestApp({
        backend,
        clock: () => new Date(now),
        env: { LANYARD_PUBLIC_URL: PUBLIC_URL, ...(dns === undefined ? {} : { LANYARD_DNS_SERVERS: dns.server }) },
      });
    });
    after(async () => {
      try {
        await t.close();
      } finally {
        await dns?.stop();
      }
    });

    const ready = (ctx: Parameters<typeof requireOrSkip>[0]): boolean => requireOrSkip(ctx, hasDnsmasq(), DNSMASQ_MISSING);

    async function publish(name: string, value: string): Promise<void> {
      txt = { ...txt, [name]: [value] };
      await dns?.setRecords({ zones: [ZONE], txt });
    }

    async function organization(name: string): Promise<{ id: string }> {
      const res = await t.request({ method: 'POST', url: '/v1/organizations', payload: { name } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    }

    const claimOf = async (orgId: string, domain: string) =>
      t.request({ method: 'GET', url: `/v1/organizations/${orgId}/domains/${domain}` });
    const connection = async (id: string) => (await t.request({ method: 'GET', url: `/v1/connections/${id}` })).json();

    /** A ticket's page with the IdP saved and a successful test sign-in, ready to activate but for its domains. */
    async function testedSetup(orgId: string, body: Record<string, unknown>) {
      const ticket = await createTicket(t, orgId, { type: 'saml', ...body });
      const { session } = await openSetup(t, ticket.ticketUrl);
      assert.equal((await postSetup(t, session, 'idp', TEST_IDP_FIELDS)).statusCode, 303);
      now += 1000;
      await testSignInThroughPage(t, session, ticket.connectionId);
      return { ticket, session };
    }

    const page = async (session: SetupSessionInfo) => (await getWithSession(t, session)).body;

    test('the API: defaults required and true, values kept, refusals in the contract shape', async () => {
      const org = await organization('Policies');
      const plain = await createTicket(t, org.id, { type: 'saml' });
      const read = (await t.request({ method: 'GET', url: `/v1/sso/tickets/${plain.id}` })).json();
      assert.deepEqual([read.domainVerification, read.useForDiscovery], ['required', true]);
      const optional = await createTicket(t, org.id, { type: 'oidc', domainVerification: 'optional', useForDiscovery: false });
      assert.deepEqual(
        [
          (optional as unknown as Record<string, unknown>).domainVerification,
          (optional as unknown as Record<string, unknown>).useForDiscovery,
        ],
        ['optional', false],
      );
      const listed = (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/sso/tickets` })).json().data;
      assert.deepEqual(
        listed.map((x: { domainVerification: string }) => x.domainVerification),
        ['required', 'optional'],
      );
      // The event tells a webhook consumer the policy too.
      const created = (await t.request({ method: 'GET', url: `/v1/events?type=sso_ticket.created&organizationId=${org.id}` })).json().data;
      assert.deepEqual(
        Object.fromEntries(
          created.map((e: { summary: Record<string, unknown> }) => [
            e.summary.ticketId,
            [e.summary.domainVerification, e.summary.useForDiscovery],
          ]),
        ),
        { [plain.id]: ['required', true], [optional.id]: ['optional', false] },
      );

      for (const [payload, field] of [
        [{ type: 'saml', domainVerification: 'sometimes' }, 'domainVerification'],
        [{ type: 'saml', domainVerification: null }, 'domainVerification'],
        [{ type: 'saml', useForDiscovery: 'yes' }, 'useForDiscovery'],
        // A consumer mail domain cannot route logins, as on the domains resource.
        [{ type: 'saml', domains: ['corp.test', 'Gmail.com'] }, 'domains.1'],
      ] as const) {
        const res = await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/sso/tickets`, payload });
        assert.equal(res.statusCode, 400, res.body);
        const body = res.json();
        assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'error', 'message', 'requestId', 'statusCode']);
        assert.equal(body.code, 'validation_failed');
        assert.ok(
          body.details.some((d: { field: string }) => d.field === field || d.field === `/${field}`),
          `${JSON.stringify(payload)}: ${res.body}`,
        );
      }
      const consumer = await createTicket(t, org.id, { type: 'saml', domains: ['gmail.com'], useForDiscovery: false });
      assert.deepEqual((consumer as unknown as { domains: string[] }).domains, ['gmail.com']);
    });

    test('required: the page shows the TXT record; activation is refused until Check now finds it', async (ctx) => {
      if (!ready(ctx)) return;
      const org = await organization('Required');
      await t.request({ method: 'PATCH', url: `/v1/organizations/${org.id}`, payload: { domains: ['mine.corp.test'] } });
      const { ticket, session } = await testedSetup(org.id, { domains: ['acme.corp.test', 'mine.corp.test'] });
      const before = await page(session);
      assert.match(textOf(before), /5\. Email domains .*Activation waits until each domain here is verified/);
      assert.match(textOf(before), /6\. Activate/);
      assert.ok(before.includes('>Add acme.corp.test</button>'), "the ticket's domain is suggested");
      assert.match(textOf(before), /Already verified for your organization: mine\.corp\.test\./);
      assert.ok(!before.includes('>Add mine.corp.test</button>'));
      assert.ok(!before.includes('name="domains"'), 'no checkboxes: domains are entered in their step');

      const added = await postSetup(t, session, 'domains', { domain: ' Acme.Corp.Test ' });
      assert.equal(added.statusCode, 303, added.body);
      assert.equal(added.headers.location, `${session.path}?saved=domain-added#step-domains`);
      const claim: Domain = (await claimOf(org.id, 'acme.corp.test')).json();
      assert.deepEqual([claim.state, claim.verification, claim.useForDiscovery], ['pending', 'dns', true]);
      const shown = await page(session);
      assert.ok(shown.includes(`<code id="v-txt-name-0">_lanyard-verification.acme.corp.test</code>`), 'the record name, copyable');
      assert.ok(shown.includes(`<code id="v-txt-value-0">${claim.dnsRecord!.value}</code>`), 'the record value, copyable');
      assert.match(shown, /data-copy="v-txt-value-0"/);
      assert.match(textOf(shown), /acme\.corp\.test Pending ?: waiting for the TXT record below\. .*Not checked yet\./);
      assert.match(textOf(shown), /Activation waits for acme\.corp\.test to be verified/);

      const refused = await postSetup(t, session, 'activate');
      assert.equal(refused.statusCode, 409, refused.body);
      assert.match(
        textOf(refused.body),
        /Not activated\. Email domains: acme\.corp\.test is not verified yet: publish its TXT record, then press Check now/,
      );
      assert.equal((await connection(ticket.connectionId)).enabled, false, 'the connection stays off');
      assert.equal((await t.request({ method: 'GET', url: `/v1/sso/tickets/${ticket.id}` })).json().status, 'open');

      // Check now needs the page's CSRF token like every form: without it nothing is looked up.
      assert.equal((await postSetup(t, session, 'domains/check', { domain: 'acme.corp.test' }, { csrf: null })).statusCode, 403);
      assert.equal((await claimOf(org.id, 'acme.corp.test')).json().lastCheck, null);
      const nothing = await postSetup(t, session, 'domains/check', { domain: 'acme.corp.test' });
      assert.equal(nothing.statusCode, 303, nothing.body);
      assert.match(
        textOf((await getWithSession(t, session, nothing.headers.location)).body),
        /Checked just now.*Pending ?: .*not verified \(dns_name_not_found\)\. The DNS server answered that the name does not exist/,
      );

      await publish('_lanyard-verification.acme.corp.test', claim.dnsRecord!.value);
      assert.equal((await postSetup(t, session, 'domains/check', { domain: 'acme.corp.test' })).statusCode, 303);
      const verified = await page(session);
      assert.match(textOf(verified), /acme\.corp\.test Verified .*: it belongs to your organization/);
      assert.ok(!verified.includes('v-txt-value-0'), 'no record to publish any more');
      assert.doesNotMatch(textOf(verified), /Activation waits for/);
      assert.equal(
        (await postSetup(t, session, 'domains/remove', { domain: 'acme.corp.test' })).statusCode,
        400,
        'a verified domain stays',
      );

      const activated = await postSetup(t, session, 'activate');
      assert.equal(activated.statusCode, 303, activated.body);
      assert.equal((await connection(ticket.connectionId)).enabled, true);
      assert.deepEqual((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` })).json().domains, [
        'acme.corp.test',
        'mine.corp.test',
      ]);
      const [completed] = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=sso_ticket.completed` })).json()
        .data;
      assert.deepEqual(completed.summary.domainsClaimed, ['acme.corp.test']);
      assert.equal(completed.actor, ticket.id);
    });

    test('required: a wrong domain can be removed (its pending claim goes), and activation proceeds', async (ctx) => {
      if (!ready(ctx)) return;
      const org = await organization('Mistyped');
      const { ticket, session } = await testedSetup(org.id, { useForDiscovery: false });
      assert.equal((await postSetup(t, session, 'domains', { domain: 'typo.corp.test' })).statusCode, 303);
      const claim: Domain = (await claimOf(org.id, 'typo.corp.test')).json();
      assert.equal(claim.useForDiscovery, false, "the ticket's useForDiscovery");
      assert.match(textOf(await page(session)), /These domains are not used to find your sign-in page/);
      assert.equal((await postSetup(t, session, 'activate')).statusCode, 409);
      // Only a domain entered on this page may be checked or removed through it.
      for (const action of ['domains/check', 'domains/remove']) {
        const res = await postSetup(t, session, action, { domain: 'other.corp.test' });
        assert.equal(res.statusCode, 400, action);
        assert.match(textOf(res.body), /The domain is not one of the domains entered on this page/);
      }
      // A claim the organization already has (made through the API) is taken over, record and all.
      const api: Domain = (
        await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain: 'api.corp.test' } })
      ).json();
      assert.equal((await postSetup(t, session, 'domains', { domain: 'api.corp.test' })).statusCode, 303);
      assert.ok((await page(session)).includes(`<code id="v-txt-value-1">${api.dnsRecord!.value}</code>`));
      // Deleted through the API meanwhile: the page says so, and Check now answers in words, not a 500.
      assert.equal((await t.request({ method: 'DELETE', url: `/v1/organizations/${org.id}/domains/api.corp.test` })).statusCode, 204);
      assert.match(textOf(await page(session)), /api\.corp\.test Removed meanwhile/);
      const gone = await postSetup(t, session, 'domains/check', { domain: 'api.corp.test' });
      assert.equal(gone.statusCode, 400, gone.body);
      assert.match(textOf(gone.body), /The domain was removed meanwhile: add it again/);
      assert.equal((await postSetup(t, session, 'domains/remove', { domain: 'api.corp.test' })).statusCode, 303);

      const removed = await postSetup(t, session, 'domains/remove', { domain: 'typo.corp.test' });
      assert.equal(removed.statusCode, 303, removed.body);
      assert.equal((await claimOf(org.id, 'typo.corp.test')).statusCode, 404, 'the pending claim is deleted');
      assert.ok(!(await page(session)).includes('typo.corp.test'));
      assert.equal((await postSetup(t, session, 'activate')).statusCode, 303);
      assert.equal((await connection(ticket.connectionId)).enabled, true);
    });

    test('optional: activation proceeds at once; the domain verifies later in the background', async (ctx) => {
      if (!ready(ctx)) return;
      const org = await organization('Optional');
      const { ticket, session } = await testedSetup(org.id, { domainVerification: 'optional' });
      assert.match(textOf(await page(session)), /Activation does not wait/);
      assert.equal((await postSetup(t, session, 'domains', { domain: 'later.corp.test' })).statusCode, 303);
      const activated = await postSetup(t, session, 'activate');
      assert.equal(activated.statusCode, 303, activated.body);
      assert.equal((await connection(ticket.connectionId)).enabled, true);
      const claim: Domain = (await claimOf(org.id, 'later.corp.test')).json();
      assert.equal(claim.state, 'pending', 'not verified by activating');
      assert.deepEqual((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` })).json().domains, []);
      const summary = textOf(await page(session));
      assert.match(summary, /Email domains later\.corp\.test \(pending DNS verification\)/);

      await publish('_lanyard-verification.later.corp.test', claim.dnsRecord!.value);
      now += MINUTE;
      await t.deps.domainCheckWorker.drain();
      assert.equal((await claimOf(org.id, 'later.corp.test')).json().state, 'verified');
      assert.deepEqual((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` })).json().domains, ['later.corp.test']);
    });

    test("none: no Email domains step; the ticket's chosen domains are claimed manual, with its useForDiscovery", async () => {
      const org = await organization('Manual');
      const { ticket, session } = await testedSetup(org.id, {
        domains: ['manual.corp.test', 'unticked.corp.test'],
        domainVerification: 'none',
        useForDiscovery: false,
      });
      const shown = await page(session);
      assert.ok(!shown.includes('id="step-domains"') && !shown.includes(`${session.path}/domains"`), 'no step to enter domains');
      assert.match(textOf(shown), /5\. Activate/);
      assert.ok(shown.includes('name="domains" value="manual.corp.test" checked'));
      const entered = await postSetup(t, session, 'domains', { domain: 'elsewhere.corp.test' });
      assert.equal(entered.statusCode, 400, 'nothing can be entered: a manual claim proves nothing');
      assert.equal((await claimOf(org.id, 'elsewhere.corp.test')).statusCode, 404);
      assert.equal((await postSetup(t, session, 'activate', { domains: 'manual.corp.test' })).statusCode, 303);
      assert.equal((await connection(ticket.connectionId)).enabled, true);
      const claim: Domain = (await claimOf(org.id, 'manual.corp.test')).json();
      assert.deepEqual([claim.state, claim.verification, claim.useForDiscovery], ['verified', 'manual', false]);
      assert.equal((await claimOf(org.id, 'unticked.corp.test')).statusCode, 404);
    });

    test('hostile domain values on the page never answer 500, nor echo a megabyte; a page takes at most 20 domains', async () => {
      const org = await organization('Hostile');
      const other = await organization('Holder');
      await t.request({ method: 'PATCH', url: `/v1/organizations/${other.id}`, payload: { domains: ['held.corp.test'] } });
      const ticket = await createTicket(t, org.id, { type: 'saml' });
      const { session } = await openSetup(t, ticket.ticketUrl);
      const values: (string | string[])[] = [
        '',
        '   ',
        '<script>alert(1)</script>.test',
        '"><img src=x onerror=alert(1)>',
        'a'.repeat(1_000_000),
        `${'a.'.repeat(130)}test`,
        '../../etc/passwd',
        'xn--',
        'ex ample.test',
        'nul\u0000.test',
        '\ud800.test',
        '-lead.test',
        'gmail.com',
        'held.corp.test',
        ['one.corp.test', 'two.corp.test'],
        'bücher.test',
        '_lanyard-verification.corp.test',
      ];
      // Added, checked, removed, and added again (so the valid ones are there at the end).
      for (const action of ['domains', 'domains/check', 'domains/remove', 'domains']) {
        for (const domain of values) {
          const res = await postSetup(t, session, action, { domain });
          assert.ok(
            [303, 400, 409].includes(res.statusCode),
            `${action} ${String(domain).slice(0, 40)}: ${res.statusCode} ${res.body.slice(0, 300)}`,
          );
          assert.ok(!res.body.includes('<script>alert(1)') && !res.body.includes('<img src=x'), 'escaped');
          assert.ok(res.body.length < 100_000, `${action}: the refusal does not echo the input (${res.body.length} bytes)`);
        }
      }
      const consumer = await postSetup(t, session, 'domains', { domain: 'gmail.com' });
      assert.match(
        textOf(consumer.body),
        /Not added\..* is a consumer mail domain \(anyone can have an address there\): it cannot route sign-ins/,
      );
      const held = await postSetup(t, session, 'domains', { domain: 'held.corp.test' });
      assert.equal(held.statusCode, 409, "another organization's verified domain");
      assert.ok((await claimOf(org.id, 'xn--bcher-kva.test')).statusCode === 200, 'an IDN is claimed in its ASCII form');

      const entered = (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/domains` })).json().data.length;
      for (let i = entered; i < 20; i++)
        assert.equal((await postSetup(t, session, 'domains', { domain: `n${i}.corp.test` })).statusCode, 303);
      const full = await postSetup(t, session, 'domains', { domain: 'n21.corp.test' });
      assert.equal(full.statusCode, 400);
      assert.match(textOf(full.body), /this page takes at most 20 domains/);
      assert.equal((await claimOf(org.id, 'n21.corp.test')).statusCode, 404);
      const created = (
        await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=organization_domain.created&limit=100` })
      )
        .json()
        .data.map((e: { summary: { domain: string } }) => e.summary.domain);
      assert.ok(!created.includes('n21.corp.test'), 'a full page refuses before claiming anything');
      assert.equal((await postSetup(t, session, 'domains', { domain: 'n19.corp.test' })).statusCode, 303, 'adding one again is fine');

      // 25 adds at once on a fresh page: each reads an empty list first, and still only 20 land, with no stray claim.
      const racing = await organization('Racing');
      const raced = await openSetup(t, (await createTicket(t, racing.id, { type: 'saml' })).ticketUrl);
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, i) => postSetup(t, raced.session, 'domains', { domain: `r${i}.corp.test` })),
      );
      assert.equal(answers.filter((r) => r.statusCode === 303).length, 20);
      assert.ok(answers.every((r) => [303, 400].includes(r.statusCode)));
      assert.equal((await t.request({ method: 'GET', url: `/v1/organizations/${racing.id}/domains` })).json().data.length, 20);
    });
  });
}
