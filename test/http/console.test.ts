import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { hashToken } from '../../src/crypto/tokens.ts';
import { CONSOLE_ABSOLUTE_TIMEOUT_MS, CONSOLE_IDLE_TIMEOUT_MS, CONSOLE_LINK_TTL_MS } from '../../src/domain/console/sessions.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { fixtureCertificates } from '../support/connections.ts';
import { consoleLink, consolePost, signedIn, signIn, tokenOf } from '../support/console.ts';

type Application = { id: string; clientId: string; organizationIds: string[] | null };

const START = new Date('2030-01-01T12:00:00.000Z');

for (const backend of testBackends()) {
  describe(`operator console sign-in and forms on ${backend}`, () => {
    let t: TestApp;
    let now = START.getTime();
    let org: { id: string };
    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(now), env: { LANYARD_PUBLIC_URL: 'https://lanyard.example' } });
      org = (
        await t.request({
          method: 'POST',
          url: '/v1/organizations',
          payload: { name: 'Acme', externalId: 'crm-1', domains: ['acme.example'] },
        })
      ).json();
      await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Globex 100%_', domains: ['globex.example'] } });
    });
    after(async () => t.close());

    const get = (url: string, cookie?: string) => t.request({ method: 'GET', url, token: null, headers: cookie ? { cookie } : {} });

    test('POST /v1/console-links is for admin keys only, and its answer is not stored', async () => {
      const res = await t.request({ method: 'POST', url: '/v1/console-links' });
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['cache-control'], 'no-store');
      const link = res.json<{ id: string; url: string; expiresAt: string }>();
      assert.match(link.url, /^https:\/\/lanyard\.example\/console\/sign-in\?token=[A-Za-z0-9_-]{43}$/);
      assert.equal(link.expiresAt, new Date(now + CONSOLE_LINK_TTL_MS).toISOString());
      const stored = await t.db.selectFrom('console_links').selectAll().where('id', '=', link.id).executeTakeFirstOrThrow();
      assert.equal(stored.token_hash, hashToken(tokenOf(link.url)), 'only the hash of the token is kept');

      assert.equal((await t.request({ method: 'POST', url: '/v1/console-links', token: null })).statusCode, 401);
      const orgKey = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'acme', organizationId: org.id } })).json()
        .token;
      const refused = await t.request({ method: 'POST', url: '/v1/console-links', token: orgKey });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'forbidden');
    });

    test('a link opens a page with a button (a link scanner does not spend it), then works once', async () => {
      const url = await consoleLink(t);
      const landing = await get(`/console/sign-in?token=${tokenOf(url)}`);
      assert.equal(landing.statusCode, 200);
      assert.match(landing.headers['content-security-policy'] as string, /script-src 'self'/);
      const first = await signIn(t, tokenOf(url));
      assert.equal(first.statusCode, 303);
      assert.equal(first.headers.location, '/console');
      const setCookie = String(first.headers['set-cookie']);
      assert.match(setCookie, /^lanyard_console=/);
      for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/console'])
        assert.ok(setCookie.includes(attribute), `${attribute} in ${setCookie}`);
      const secret = /^lanyard_console=([^;]+)/.exec(setCookie)![1]!;
      const stored = await t.db.selectFrom('console_sessions').select('secret_hash').execute();
      assert.ok(
        stored.some((s) => s.secret_hash === hashToken(decodeURIComponent(secret))),
        'the session secret is stored hashed',
      );
      assert.ok(!stored.some((s) => s.secret_hash === secret));

      const again = await signIn(t, tokenOf(url));
      assert.equal(again.statusCode, 403, 'a link used twice is refused');
      assert.equal(again.headers['set-cookie'], undefined);
      assert.match(again.body, /already used, has expired/);
      assert.equal((await signIn(t, 'forged')).statusCode, 403);
      assert.equal((await signIn(t, '')).statusCode, 403);
    });

    test('an expired link is refused', async () => {
      const url = await consoleLink(t);
      now += CONSOLE_LINK_TTL_MS;
      assert.equal((await signIn(t, tokenOf(url))).statusCode, 403);
    });

    test('a session ends after its idle timeout, and after its absolute timeout however busy', async () => {
      const idle = await signedIn(t);
      now += CONSOLE_IDLE_TIMEOUT_MS - 1000;
      assert.equal((await get('/console', idle.cookie)).statusCode, 200, 'still within the idle timeout');
      now += CONSOLE_IDLE_TIMEOUT_MS + 1000;
      const expired = await get('/console', idle.cookie);
      assert.equal(expired.statusCode, 401);
      assert.match(expired.body, /Sign in needed/);

      const busy = await signedIn(t);
      const end = now + CONSOLE_ABSOLUTE_TIMEOUT_MS;
      while (now + CONSOLE_IDLE_TIMEOUT_MS / 2 < end) {
        now += CONSOLE_IDLE_TIMEOUT_MS / 2;
        assert.equal((await get('/console', busy.cookie)).statusCode, 200);
      }
      now = end;
      assert.equal((await get('/console', busy.cookie)).statusCode, 401, 'the absolute timeout ends a busy session');
      assert.equal((await get('/console')).statusCode, 401, 'no cookie, no console');
      assert.equal((await get('/console', 'lanyard_console=forged')).statusCode, 401);
    });

    test('a post without the CSRF token, or with another session’s, changes nothing', async () => {
      const browser = await signedIn(t);
      const other = await signedIn(t);
      const before = await t.db.selectFrom('sso_tickets').select('id').execute();
      const missing = await consolePost(t, browser, `/console/organizations/${org.id}/tickets`, { type: 'saml' });
      assert.equal(missing.statusCode, 403);
      assert.match(missing.body, /This form was refused/);
      const foreign = await consolePost(t, browser, `/console/organizations/${org.id}/tickets`, { type: 'saml', _csrf: other.csrf });
      assert.equal(foreign.statusCode, 403);
      assert.equal((await consolePost(t, browser, '/console/sign-out', {})).statusCode, 403);
      assert.deepEqual(await t.db.selectFrom('sso_tickets').select('id').execute(), before);
    });

    test('searches organizations by name (any case, wildcards literal), external id and domain', async () => {
      const browser = await signedIn(t);
      const names = async (query: string) => {
        const res = await get(`/console?${query}`, browser.cookie);
        assert.equal(res.statusCode, 200);
        return [...res.body.matchAll(/<a href="\/console\/organizations\/org_[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);
      };
      assert.deepEqual(await names('name=acm'), ['Acme']);
      assert.deepEqual(await names('name=%25_'), ['Globex 100%_']);
      assert.deepEqual(await names('name=%25'), ['Globex 100%_']);
      assert.deepEqual(await names('externalId=crm-1'), ['Acme']);
      assert.deepEqual(await names('domain=GLOBEX.example'), ['Globex 100%_']);
      assert.match((await get('/console?name=nobody', browser.cookie)).body, /No organization matches/);
    });

    test('creates and revokes a setup ticket; each action is an event with the session as the actor', async () => {
      const browser = await signedIn(t);
      const created = await consolePost(t, browser, `/console/organizations/${org.id}/tickets`, {
        type: 'okta',
        domainVerification: 'optional',
        useForDiscovery: 'no',
        _csrf: browser.csrf,
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.headers['cache-control'], 'no-store');
      const ticketUrl = /<code id="ticket-url">([^<]+)<\/code>/.exec(created.body)![1]!;
      assert.match(ticketUrl, /^https:\/\/lanyard\.example\/setup\//);
      const ticketId = /\/console\/tickets\/(tkt_[0-9A-Z]+)\/revoke/.exec(created.body)![1]!;
      const revoked = await consolePost(t, browser, `/console/tickets/${ticketId}/revoke`, { _csrf: browser.csrf });
      assert.equal(revoked.statusCode, 303);
      const page = await get(revoked.headers.location as string, browser.cookie);
      assert.match(page.body, /The setup link was revoked/);
      const ticket = (await t.request({ method: 'GET', url: `/v1/sso/tickets/${ticketId}` })).json();
      assert.deepEqual([ticket.status, ticket.domainVerification, ticket.useForDiscovery], ['revoked', 'optional', false]);
      // Without the policy fields the form keeps the API's defaults.
      const plain = await consolePost(t, browser, `/console/organizations/${org.id}/tickets`, { type: 'saml', _csrf: browser.csrf });
      const plainId = /\/console\/tickets\/(tkt_[0-9A-Z]+)\/revoke/.exec(plain.body)![1]!;
      const defaults = (await t.request({ method: 'GET', url: `/v1/sso/tickets/${plainId}` })).json();
      assert.deepEqual([defaults.domainVerification, defaults.useForDiscovery], ['required', true]);

      const events = (await t.request({ method: 'GET', url: '/v1/events?limit=100' })).json().data as {
        type: string;
        actor: string;
        summary: { ticketId?: string };
      }[];
      const opened = events.filter((e) => e.type === 'console_session.opened').at(-1)!;
      const actions = events.filter((e) => e.summary.ticketId === ticketId);
      assert.deepEqual(
        actions.map((e) => [e.type, e.actor]),
        [
          ['sso_ticket.created', opened.actor],
          ['sso_ticket.revoked', opened.actor],
        ],
      );
      assert.match(opened.actor, /^cses_/);
    });

    test('an organization page shows its domains, directories and an empty state that says what to do', async () => {
      const directory = await t.request({
        method: 'POST',
        url: '/v1/directories',
        payload: { organizationId: org.id, name: 'Acme Okta', provider: 'okta' },
      });
      assert.equal(directory.statusCode, 201, directory.body);
      const browser = await signedIn(t);
      const page = await get(`/console/organizations/${org.id}`, browser.cookie);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<td>acme\.example<\/td><td>verified<\/td><td>manual<\/td><td><time [^>]+>[^<]+<\/time><\/td><td>yes<\/td>/);
      const claimed = await t.request({
        method: 'POST',
        url: `/v1/organizations/${org.id}/domains`,
        payload: { domain: 'pending.example' },
      });
      assert.equal(claimed.statusCode, 201, claimed.body);
      const withPending = (await get(`/console/organizations/${org.id}`, browser.cookie)).body;
      assert.match(
        withPending,
        /<td>pending\.example<\/td><td>pending<\/td><td>DNS TXT <code>_lanyard-verification\.pending\.example<\/code><\/td>/,
      );
      assert.match(page.body, /<td>Acme Okta<\/td><td>okta<\/td><td><span class="pill">pending<\/span><\/td><td>0<\/td><td>0<\/td>/);
      const empty = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Empty' } })).json<{ id: string }>();
      const emptyPage = (await get(`/console/organizations/${empty.id}`, browser.cookie)).body;
      assert.match(emptyPage, /No connection yet\. Create a setup link below/);
      assert.match(emptyPage, /No directory\. Create one with/);
      assert.match(emptyPage, /No domain yet\. Claim one with/);
      const api = await t.request({ method: 'GET', url: '/v1/organizations?name=ACME' });
      assert.deepEqual(
        api.json().data.map((o: { id: string }) => o.id),
        [org.id],
        'the API searches by name too',
      );
    });

    test("a connection's certificate expiry is flagged by the services' clock", async () => {
      const pem = fixtureCertificates.okta!.pem;
      const notAfter = new Date(new X509Certificate(pem).validTo);
      const owner = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Certs' } })).json<{ id: string }>();
      const created = await t.request({
        method: 'POST',
        url: '/v1/connections',
        payload: {
          organizationId: owner.id,
          type: 'saml',
          saml: { idpEntityId: 'https://idp.example/x', ssoUrl: 'https://idp.example/sso', certificates: [pem] },
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const saved = now;
      try {
        now = notAfter.getTime() - 9.5 * 86_400_000;
        const browser = await signedIn(t);
        const soon = await get(`/console/organizations/${owner.id}`, browser.cookie);
        assert.match(soon.body, /<time datetime="[^"]+">[^<]+<\/time> <span class="pill bad">9 days left<\/span>/);
        now = notAfter.getTime() + 1000;
        const fresh = await signedIn(t);
        assert.match((await get(`/console/organizations/${owner.id}`, fresh.cookie)).body, /<span class="pill bad">expired<\/span>/);
      } finally {
        now = saved;
      }
    });

    test('hostile input is answered with a page, never a 500', async () => {
      const browser = await signedIn(t);
      for (const url of [
        '/console/organizations/%00',
        '/console/organizations/nope',
        '/console/connections/x',
        '/console/webhooks/x',
        `/console?cursor=${'%ff'.repeat(5)}`,
        '/console/events?type=%27',
      ]) {
        const res = await get(url, browser.cookie);
        assert.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
        assert.match(res.headers['content-type'] as string, /text\/html/);
      }
      const before = (await t.db.selectFrom('sso_tickets').select('id').execute()).length;
      for (const form of [
        { type: 'nope' } as Record<string, string>,
        { type: 'saml', domainVerification: 'sometimes' },
        { type: 'saml', domainVerification: '' },
        { type: 'saml', useForDiscovery: 'true' },
      ]) {
        const bad = await consolePost(t, browser, `/console/organizations/${org.id}/tickets`, { ...form, _csrf: browser.csrf });
        assert.equal(bad.statusCode, 400, JSON.stringify(form));
      }
      assert.equal((await t.db.selectFrom('sso_tickets').select('id').execute()).length, before, 'no ticket from a refused form');
      const gone = await consolePost(t, browser, '/console/tickets/tkt_nope/revoke', { _csrf: browser.csrf });
      assert.equal(gone.statusCode, 404);
      const retry = await consolePost(t, browser, '/console/webhook-deliveries/whd_nope/retry', { _csrf: browser.csrf });
      assert.equal(retry.statusCode, 404);
    });

    test('signing out ends the session', async () => {
      const browser = await signedIn(t);
      const out = await consolePost(t, browser, '/console/sign-out', { _csrf: browser.csrf });
      assert.equal(out.statusCode, 200);
      assert.equal((await get('/console', browser.cookie)).statusCode, 401);
    });

    test("an organization's lists page on their own (25 each): setup links newest first, only the applications it may sign in to", async () => {
      const browser = await signedIn(t);
      const many = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Many links' } })).json();
      const tickets: string[] = [];
      for (let i = 0; i < 30; i++) {
        now += 1; // ids are in time order
        tickets.push(
          (await t.request({ method: 'POST', url: `/v1/organizations/${many.id}/sso/tickets`, payload: { type: 'saml' } })).json().id,
        );
      }
      const admitting: string[] = [];
      for (let i = 0; i < 30; i++) {
        now += 1;
        const organizationIds = i % 10 === 9 ? [org.id] : [org.id, many.id]; // every tenth admits Acme only
        const app = await t.request({
          method: 'POST',
          url: '/v1/applications',
          payload: { name: `App ${i}`, redirectUris: ['https://app.example/cb'], organizationIds },
        });
        if (organizationIds.includes(many.id)) admitting.push(app.json().id);
      }
      const everyOrganization = ((await t.request({ method: 'GET', url: '/v1/applications?limit=100' })).json().data as Application[])
        .filter((a) => a.organizationIds === null)
        .map((a) => a.id);

      /** Every page of one list, following its "Next page" links; the ids of each page, in page order. */
      const walk = async (section: string, idPattern: RegExp) => {
        const pages: string[][] = [];
        let url: string | undefined = `/console/organizations/${many.id}`;
        while (url !== undefined) {
          const page = await get(url, browser.cookie);
          assert.equal(page.statusCode, 200, page.body);
          const nav = new RegExp(`<nav class="pager" aria-label="Pages of ${section}">([\\s\\S]*?)</nav>`).exec(page.body)?.[1] ?? '';
          const body = page.body.slice(page.body.indexOf(`id="h-${section}"`));
          pages.push([...new Set([...body.slice(0, body.indexOf('</section>')).matchAll(idPattern)].map((m) => m[0]))]);
          const next = /<a href="([^"]+)" rel="next">/.exec(nav)?.[1]?.replaceAll('&amp;', '&');
          if (pages.length > 1) assert.match(nav, /First page/);
          url = next;
        }
        return pages;
      };
      const ticketPages = await walk('tickets', /tkt_[0-9A-Z]{26}/g);
      assert.deepEqual(
        ticketPages.map((p) => p.length),
        [25, 5],
      );
      assert.deepEqual(ticketPages.flat(), [...tickets].reverse(), 'newest first, each once');
      const connectionPages = await walk('connections', /conn_[0-9A-Z]{26}/g);
      assert.deepEqual(
        connectionPages.map((p) => p.length),
        [25, 5],
        'one draft connection per ticket',
      );
      const applicationPages = await walk('applications', /client_[A-Za-z0-9_-]+/g);
      assert.equal(applicationPages.flat().length, admitting.length + everyOrganization.length);
      assert.equal(applicationPages[0]!.length, 25);
      const listed = (await t.request({ method: 'GET', url: '/v1/applications?limit=100' })).json().data as Application[];
      assert.deepEqual(
        applicationPages.flat().sort(),
        listed
          .filter((a) => admitting.includes(a.id) || everyOrganization.includes(a.id))
          .map((a) => a.clientId)
          .sort(),
        'the applications admitting the organization, and no other',
      );
      // Paging one list keeps the others where they were; a cursor Lanyard did not make is refused.
      const first = await get(`/console/organizations/${many.id}`, browser.cookie);
      const ticketsNext = /aria-label="Pages of tickets">[\s\S]*?<a href="([^"]+)" rel="next">/
        .exec(first.body)![1]!
        .replaceAll('&amp;', '&');
      const onSecond = await get(ticketsNext, browser.cookie);
      const connectionsNext = /aria-label="Pages of connections">[\s\S]*?<a href="([^"]+)" rel="next">/.exec(onSecond.body)![1]!;
      assert.match(connectionsNext, /tickets=[^&]+&amp;connections=|connections=[^&]+&amp;tickets=/);
      const forged = await get(`/console/organizations/${many.id}?tickets=bm90LWEtY3Vyc29y`, browser.cookie);
      assert.equal(forged.statusCode, 400);
    });
  });
}
