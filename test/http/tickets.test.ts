import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { hashToken } from '../../src/crypto/tokens.ts';
import { createDeps } from '../../src/deps.ts';
import { createTestApp, openTestDatabase, testBackends, type TestApp } from '../support/app.ts';
import { dumpDatabase, PUBLIC_URL } from '../support/connections.ts';
import { cookieOf, createTicket, csrfOf, getWithSession, openSetup, postSetup, textOf } from '../support/setup-page.ts';

const MAX_TTL = 432_000;
const START = new Date('2030-01-01T12:00:00.000Z');

for (const backend of testBackends()) {
  describe(`setup tickets API and the access to setup pages on ${backend}`, () => {
    let t: TestApp;
    let now = START.getTime();
    let org: { id: string; name: string };
    let other: { id: string };
    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(now), env: { LANYARD_PUBLIC_URL: PUBLIC_URL } });
      org = (
        await t.request({
          method: 'POST',
          url: '/v1/organizations',
          payload: { name: 'Acme <script>alert(1)</script>', domains: ['acme.example'] },
        })
      ).json();
      other = (
        await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Globex', domains: ['globex.example'] } })
      ).json();
    });
    after(async () => t.close());

    const events = async (type: string) =>
      (await t.request({ method: 'GET', url: `/v1/events?type=${type}&limit=100` })).json().data as {
        actor: string;
        summary: Record<string, unknown>;
      }[];

    test('creates, reads, lists and revokes tickets; the URL is in the creation answer only and only its hash is stored', async () => {
      const ticket = await createTicket(t, org.id, { type: 'okta', domains: ['Sub.Acme.example'], provisioning: { scim: true } });
      assert.match(ticket.id, /^tkt_[0-9A-Z]{26}$/);
      assert.match(ticket.ticketUrl, new RegExp(`^${PUBLIC_URL}/setup/[A-Za-z0-9_-]{43}$`));
      assert.equal(ticket.status, 'open');
      assert.equal(ticket.expiresAt, new Date(now + MAX_TTL * 1000).toISOString());
      const connection = (await t.request({ method: 'GET', url: `/v1/connections/${ticket.connectionId}` })).json();
      assert.deepEqual(
        [connection.organizationId, connection.type, connection.provider, connection.enabled, connection.state],
        [org.id, 'saml', 'okta', false, 'draft'],
      );

      const read = (await t.request({ method: 'GET', url: `/v1/sso/tickets/${ticket.id}` })).json();
      assert.equal(read.ticketUrl, undefined, 'the URL cannot be read again');
      assert.deepEqual(read.domains, ['sub.acme.example']);
      assert.deepEqual(read.provisioning, { scim: true });
      assert.deepEqual(read.enabledFeatures, ['provider-choice', 'attribute-mapping', 'domains']);
      assert.deepEqual(
        { ...read, ticketUrl: undefined },
        {
          ...ticket,
          ticketUrl: undefined,
          domains: ['sub.acme.example'],
          provisioning: { scim: true },
          enabledFeatures: read.enabledFeatures,
          lastTest: null,
          openedAt: null,
          completedAt: null,
          revokedAt: null,
          type: 'okta',
          connectionId: ticket.connectionId,
        },
      );

      const token = ticket.ticketUrl.split('/').pop()!;
      const dump = await dumpDatabase(t);
      assert.ok(!dump.includes(token), 'the token is not stored');
      assert.ok(dump.includes(hashToken(token)), 'its hash is');

      const list = (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/sso/tickets?status=open&limit=100` })).json();
      assert.ok(list.data.some((x: { id: string }) => x.id === ticket.id));
      assert.ok(list.data.every((x: { ticketUrl?: string }) => x.ticketUrl === undefined));

      assert.equal((await t.request({ method: 'DELETE', url: `/v1/sso/tickets/${ticket.id}` })).statusCode, 204);
      assert.equal(
        (await t.request({ method: 'DELETE', url: `/v1/sso/tickets/${ticket.id}` })).statusCode,
        204,
        'revoking twice is not an error',
      );
      const revoked = (await t.request({ method: 'GET', url: `/v1/sso/tickets/${ticket.id}` })).json();
      assert.equal(revoked.status, 'revoked');
      assert.equal(revoked.revokedAt, new Date(now).toISOString());
      const open = (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/sso/tickets?status=open&limit=100` })).json();
      assert.ok(!open.data.some((x: { id: string }) => x.id === ticket.id));
      assert.equal((await events('sso_ticket.created')).filter((e) => e.summary.ticketId === ticket.id).length, 1);
      assert.equal((await events('sso_ticket.revoked')).filter((e) => e.summary.ticketId === ticket.id).length, 1);
    });

    test('ttlSeconds: 0 means the default, the maximum is accepted, one more is a 400 naming the field', async () => {
      const zero = await createTicket(t, org.id, { type: 'saml', ttlSeconds: 0 });
      assert.equal(zero.expiresAt, new Date(now + MAX_TTL * 1000).toISOString());
      const max = await createTicket(t, org.id, { type: 'saml', ttlSeconds: MAX_TTL });
      assert.equal(max.expiresAt, new Date(now + MAX_TTL * 1000).toISOString());
      const hour = await createTicket(t, org.id, { type: 'saml', ttlSeconds: 3600 });
      assert.equal(hour.expiresAt, new Date(now + 3600 * 1000).toISOString());
      for (const ttlSeconds of [MAX_TTL + 1, -1, 1.5, '60']) {
        const res = await t.request({
          method: 'POST',
          url: `/v1/organizations/${org.id}/sso/tickets`,
          payload: { type: 'saml', ttlSeconds },
        });
        assert.equal(res.statusCode, 400, `${ttlSeconds}: ${res.body}`);
        assert.equal(res.json().code, 'validation_failed');
        assert.equal(res.json().details[0].field, 'ttlSeconds');
      }
    });

    test("types pick the protocol and preset; a given connection is edited, never another organization's", async () => {
      const oidc = await createTicket(t, org.id, { type: 'oidc' });
      assert.equal((await t.request({ method: 'GET', url: `/v1/connections/${oidc.connectionId}` })).json().type, 'oidc');
      const azure = await createTicket(t, org.id, { type: 'azure-ad' });
      assert.equal((await t.request({ method: 'GET', url: `/v1/connections/${azure.connectionId}` })).json().provider, 'entra');

      const mine = (await t.request({ method: 'POST', url: '/v1/connections', payload: { organizationId: org.id, type: 'saml' } })).json();
      const theirs = (
        await t.request({
          method: 'POST',
          url: '/v1/connections',
          payload: { organizationId: other.id, type: 'saml', name: 'Globex SAML' },
        })
      ).json();
      const edit = await createTicket(t, org.id, { type: 'google', connectionId: mine.id });
      assert.equal(edit.connectionId, mine.id);
      assert.equal(
        (await t.request({ method: 'GET', url: `/v1/connections/${mine.id}` })).json().provider,
        'google',
        'a draft takes the named provider',
      );

      const foreign = await t.request({
        method: 'POST',
        url: `/v1/organizations/${org.id}/sso/tickets`,
        payload: { type: 'saml', connectionId: theirs.id },
      });
      const unknown = await t.request({
        method: 'POST',
        url: `/v1/organizations/${org.id}/sso/tickets`,
        payload: { type: 'saml', connectionId: 'conn_01J0000000000000000000000' },
      });
      for (const res of [foreign, unknown]) {
        assert.equal(res.statusCode, 404, res.body);
        assert.deepEqual(res.json().details, [{ field: 'connectionId', message: 'no such connection in this organization' }]);
      }
      assert.equal(foreign.json().message, unknown.json().message, "another organization's connection reads as unknown");
      assert.equal((await t.request({ method: 'GET', url: `/v1/connections/${theirs.id}` })).json().name, 'Globex SAML');

      const mismatch = await t.request({
        method: 'POST',
        url: `/v1/organizations/${org.id}/sso/tickets`,
        payload: { type: 'oidc', connectionId: mine.id },
      });
      assert.equal(mismatch.statusCode, 400);
      assert.equal(mismatch.json().details[0].field, 'type');
      const taken = await t.request({
        method: 'POST',
        url: `/v1/organizations/${org.id}/sso/tickets`,
        payload: { type: 'saml', domains: ['new.example', 'globex.example'] },
      });
      assert.equal(taken.statusCode, 409);
      assert.equal(taken.json().details[0].field, 'domains.1');
      for (const payload of [{ type: 'ping' }, { type: 'saml', enabledFeatures: ['everything'] }, { type: 'saml', extra: 1 }]) {
        assert.equal(
          (await t.request({ method: 'POST', url: `/v1/organizations/${org.id}/sso/tickets`, payload })).statusCode,
          400,
          JSON.stringify(payload),
        );
      }
    });

    test("an organization key sees and makes only its own organization's tickets", async () => {
      const key = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'acme', organizationId: org.id } })).json()
        .token as string;
      const own = await createTicket(t, org.id, { type: 'saml' }, key);
      const foreign = await createTicket(t, other.id, { type: 'saml' });
      assert.equal((await t.request({ method: 'GET', url: `/v1/sso/tickets/${own.id}`, token: key })).statusCode, 200);
      for (const [method, url] of [
        ['GET', `/v1/sso/tickets/${foreign.id}`],
        ['DELETE', `/v1/sso/tickets/${foreign.id}`],
        ['GET', `/v1/organizations/${other.id}/sso/tickets`],
        ['POST', `/v1/organizations/${other.id}/sso/tickets`],
      ] as const) {
        const res = await t.request({ method, url, token: key, ...(method === 'POST' ? { payload: { type: 'saml' } } : {}) });
        assert.equal(res.statusCode, 404, `${method} ${url}`);
      }
      assert.equal(
        (await t.request({ method: 'GET', url: `/v1/sso/tickets/${foreign.id}` })).json().status,
        'open',
        'not revoked by the other organization',
      );
      const created = (await events('sso_ticket.created')).find((e) => e.summary.ticketId === own.id)!;
      assert.match(created.actor, /^key_/);
    });

    test('the setup page: a short HttpOnly SameSite=Lax session cookie, strict CSP, escaped values, one "opened" event per session', async () => {
      const ticket = await createTicket(t, org.id, { type: 'okta' });
      const { res, session } = await openSetup(t, ticket.ticketUrl);
      const cookie = res.headers['set-cookie'] as string;
      assert.match(
        cookie,
        new RegExp(`^lanyard_setup_${ticket.id}=[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}; Max-Age=7200; Path=/setup; HttpOnly; SameSite=Lax$`),
      );
      assert.match(
        res.headers['content-security-policy'] as string,
        /default-src 'none'; style-src 'sha256-[^']+'; script-src 'self';.*form-action 'self'; frame-ancestors 'none'/,
      );
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.ok(
        res.body.includes('Acme &lt;script&gt;alert(1)&lt;/script&gt;') && !res.body.includes('<script>alert'),
        'the organization name is escaped',
      );
      const text = textOf(res.body);
      for (const expected of [
        `${PUBLIC_URL}/sso/saml/${ticket.connectionId}/acs`,
        `${PUBLIC_URL}/sso/saml/${ticket.connectionId}/metadata`,
        'Okta (SAML)',
        'Okta Admin Console',
        'user.email',
        'Test sign-in',
      ]) {
        assert.ok(text.includes(expected), expected);
      }
      assert.equal((await getWithSession(t, session)).headers['set-cookie'], undefined, 'a live session is kept');
      const opened = (await events('sso_ticket.opened')).filter((e) => e.summary.ticketId === ticket.id);
      assert.equal(opened.length, 1);
      assert.equal(opened[0]!.actor, ticket.id);
      assert.equal((await t.request({ method: 'GET', url: `/v1/sso/tickets/${ticket.id}` })).json().openedAt, new Date(now).toISOString());

      const https = await createTestApp({ backend, env: { LANYARD_PUBLIC_URL: 'https://sso.example.test' } });
      try {
        const org2 = (await https.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Secure' } })).json();
        const secure = await createTicket(https, org2.id);
        const opened2 = await https.request({ method: 'GET', url: new URL(secure.ticketUrl).pathname, token: null });
        assert.match(
          opened2.headers['set-cookie'] as string,
          /; Max-Age=7200; Path=\/setup; HttpOnly; Secure; SameSite=Lax$/,
          'Secure when the public URL is https',
        );
      } finally {
        await https.close();
      }
    });

    test('unknown, tampered, expired and revoked links show a page that names nothing; so do their forms', async () => {
      const ticket = await createTicket(t, org.id, { type: 'saml', ttlSeconds: 600 });
      const { session } = await openSetup(t, ticket.ticketUrl);
      const token = ticket.ticketUrl.split('/').pop()!;
      const tampered = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
      const strip = (html: string) => html.replace(/req_[A-Za-z0-9_-]+/g, 'req_');
      const pages = await Promise.all(
        [tampered, randomBytes(32).toString('base64url'), 'abc', `${token}/unknown-step`, `${token}x`].map((p) =>
          t.request({ method: 'GET', url: `/setup/${p}`, token: null }),
        ),
      );
      for (const res of pages) {
        assert.equal(res.statusCode, 404);
        assert.equal(strip(res.body), strip(pages[0]!.body), 'the same page for every unusable token');
        assert.equal(res.headers['set-cookie'], undefined);
      }
      const text = textOf(pages[0]!.body);
      assert.match(text, /This setup link is not valid/);
      for (const secret of ['Acme', org.id, ticket.id, ticket.connectionId]) assert.ok(!pages[0]!.body.includes(secret), secret);

      now += 601 * 1000;
      const expired = await getWithSession(t, session);
      assert.equal(expired.statusCode, 410);
      assert.match(textOf(expired.body), /This setup link can no longer be used/);
      assert.ok(!expired.body.includes('Acme'));
      assert.equal(
        (await postSetup(t, session, 'idp', { source: 'url', 'saml.metadataUrl': 'https://idp.example.test/metadata' })).statusCode,
        410,
      );
      assert.equal((await t.request({ method: 'GET', url: `/v1/sso/tickets/${ticket.id}` })).json().status, 'expired');

      const revoked = await createTicket(t, org.id, { type: 'saml' });
      const opened = await openSetup(t, revoked.ticketUrl);
      await t.request({ method: 'DELETE', url: `/v1/sso/tickets/${revoked.id}` });
      assert.equal((await getWithSession(t, opened.session)).statusCode, 410);
      assert.equal((await postSetup(t, opened.session, 'test')).statusCode, 410);
      assert.equal(strip((await getWithSession(t, opened.session)).body), strip(expired.body));
    });

    test("every form needs this ticket's session cookie and its CSRF token (403 otherwise, nothing changed)", async () => {
      const ticket = await createTicket(t, org.id, { type: 'saml' });
      const second = await createTicket(t, org.id, { type: 'saml' });
      const { session } = await openSetup(t, ticket.ticketUrl);
      const { session: secondSession } = await openSetup(t, second.ticketUrl);
      const fields = {
        source: 'fields',
        'saml.idpEntityId': 'https://idp.example.test/x',
        'saml.ssoUrl': 'https://idp.example.test/sso',
        'saml.certificates': 'x',
      };
      const attempts = [
        await postSetup(t, session, 'idp', fields, { csrf: null }),
        await postSetup(t, session, 'idp', fields, { csrf: 'A'.repeat(43) }),
        await postSetup(t, session, 'idp', fields, { csrf: secondSession.csrf }),
        await postSetup(t, session, 'idp', fields, { cookie: null }),
        await postSetup(t, session, 'idp', fields, { cookie: secondSession.cookie, csrf: secondSession.csrf }),
        await postSetup(t, session, 'idp', fields, { cookie: session.cookie.replace(/\.[^.]+$/, `.${'B'.repeat(43)}`) }),
        await postSetup(t, session, 'activate', {}, { csrf: null }),
        await postSetup(t, session, 'test', {}, { csrf: null }),
      ];
      for (const res of attempts) {
        assert.equal(res.statusCode, 403, res.body);
        assert.match(textOf(res.body), /This form could not be accepted.*Nothing was changed/);
      }
      assert.equal((await t.request({ method: 'GET', url: `/v1/connections/${ticket.connectionId}` })).json().saml.idpEntityId, null);
      // A cookie with the right token but a session that has ended is refused too.
      now += 2 * 3600 * 1000 + 1000;
      assert.equal((await postSetup(t, session, 'provider', { choice: 'okta:saml' })).statusCode, 403);
      const reopened = await getWithSession(t, session);
      assert.equal(reopened.statusCode, 200);
      assert.ok(cookieOf(reopened) !== session.cookie, 'an ended session is replaced on the next visit');
      assert.notEqual(csrfOf(reopened.body), session.csrf);
    });
  });
}

describe('logs', () => {
  test('a setup token never reaches the request log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const database = await openTestDatabase('pglite');
    const config = loadConfig({ LANYARD_SECRET_KEY: randomBytes(32).toString('base64'), LANYARD_PUBLIC_URL: PUBLIC_URL });
    const deps = createDeps(config, { db: database.db, logger: pino({ level: 'info' }, sink) });
    const admin = (await deps.services.apiKeys.bootstrap())!.token;
    const app = await buildApp(deps);
    try {
      const headers = { authorization: `Bearer ${admin}` };
      const org = (await app.inject({ method: 'POST', url: '/v1/organizations', headers, payload: { name: 'Logged' } })).json();
      const ticket = (
        await app.inject({ method: 'POST', url: `/v1/organizations/${org.id}/sso/tickets`, headers, payload: { type: 'saml' } })
      ).json();
      const token = ticket.ticketUrl.split('/').pop();
      const page = await app.inject({ method: 'GET', url: `/setup/${token}?saved=idp` });
      assert.equal(page.statusCode, 200);
      await app.inject({
        method: 'POST',
        url: `/setup/${token}/idp`,
        payload: 'source=url',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      await app.inject({ method: 'GET', url: `/setup/${token}/no-such-step` });
      const log = lines.join('');
      assert.ok(log.includes('/setup/[redacted]?saved=idp'), 'the request is logged, redacted');
      assert.ok(log.includes('/setup/[redacted]/no-such-step'));
      assert.ok(!log.includes(token), 'the token is not');
    } finally {
      await app.close();
      await deps.close();
      await database.close();
    }
  });
});
