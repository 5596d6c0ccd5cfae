import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';

for (const backend of testBackends()) {
  describe(`organizations API on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(async () => t.close());

    const create = (payload: unknown, token?: string | null) =>
      t.request({ method: 'POST', url: '/v1/organizations', payload: payload as object, ...(token !== undefined ? { token } : {}) });

    test('creates, reads, updates and deletes an organization', async () => {
      const created = await create({ name: 'Acme', externalId: 'cust-1', domains: ['Acme.COM', 'acme.io', 'acme.com'] });
      assert.equal(created.statusCode, 201);
      const org = created.json();
      assert.match(org.id, /^org_[0-9A-Z]{26}$/);
      assert.deepEqual(org.domains, ['acme.com', 'acme.io']);
      assert.equal(org.externalId, 'cust-1');
      assert.match(created.headers['x-request-id'] as string, /^req_/);

      const read = await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` });
      assert.equal(read.statusCode, 200);
      assert.deepEqual(read.json(), org);

      const patched = await t.request({
        method: 'PATCH',
        url: `/v1/organizations/${org.id}`,
        payload: { name: 'Acme Inc', domains: ['acme.org'] },
      });
      assert.equal(patched.statusCode, 200);
      assert.equal(patched.json().name, 'Acme Inc');
      assert.deepEqual(patched.json().domains, ['acme.org']);
      assert.equal(patched.json().externalId, 'cust-1');

      const removed = await t.request({ method: 'DELETE', url: `/v1/organizations/${org.id}` });
      assert.equal(removed.statusCode, 204);
      assert.equal((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` })).statusCode, 404);
      // The domain is free again once its organization is gone.
      assert.equal((await create({ name: 'Reuse', domains: ['acme.org'] })).statusCode, 201);

      const events = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}` })).json();
      assert.deepEqual(
        events.data.map((e: { type: string }) => e.type),
        ['organization.created', 'organization.updated', 'organization.deleted'],
      );
      assert.ok(
        events.data.every((e: { actor: string; requestId: string }) => e.actor.startsWith('key_') && e.requestId.startsWith('req_')),
      );
      assert.deepEqual(events.data[1].summary, { changed: ['name', 'domains'] });
    });

    test('pages through organizations with a cursor and filters by externalId and domain', async () => {
      const names = ['P1', 'P2', 'P3', 'P4', 'P5'];
      for (const [i, name] of names.entries())
        assert.equal((await create({ name, externalId: `page-${i}`, domains: [`page${i}.example`] })).statusCode, 201);
      const seen: string[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const page: { data: { name: string }[]; nextCursor: string | null } = (
          await t.request({ method: 'GET', url: `/v1/organizations?limit=2&cursor=${cursor}` })
        ).json();
        assert.ok(page.data.length <= 2);
        seen.push(...page.data.map((o) => o.name));
        cursor = page.nextCursor;
      }
      assert.deepEqual(
        seen.filter((n) => n.startsWith('P')),
        names,
      );
      const byExternal = (await t.request({ method: 'GET', url: '/v1/organizations?externalId=page-3' })).json();
      assert.deepEqual(
        byExternal.data.map((o: { name: string }) => o.name),
        ['P4'],
      );
      const byDomain = (await t.request({ method: 'GET', url: '/v1/organizations?domain=PAGE1.example' })).json();
      assert.deepEqual(
        byDomain.data.map((o: { name: string }) => o.name),
        ['P2'],
      );
      const badCursor = await t.request({ method: 'GET', url: '/v1/organizations?cursor=bogus' });
      assert.equal(badCursor.statusCode, 400);
      assert.equal(badCursor.json().code, 'invalid_cursor');
    });

    test('refuses bad input with field paths', async () => {
      const cases: [unknown, string, string][] = [
        [{}, 'validation_failed', 'name'],
        [{ name: 42 }, 'validation_failed', 'name'],
        [{ name: '' }, 'validation_failed', 'name'],
        [{ name: 'x', unknownField: true }, 'validation_failed', 'unknownField'],
        [{ name: 'x', domains: ['not a domain'] }, 'validation_failed', 'domains.0'],
        [{ name: 'x', domains: ['localhost'] }, 'validation_failed', 'domains.0'],
        [{ name: 'x', domains: 'acme.com' }, 'validation_failed', 'domains'],
        [{ name: 'x'.repeat(201) }, 'validation_failed', 'name'],
      ];
      for (const [payload, code, field] of cases) {
        const res = await create(payload);
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        const body = res.json();
        assert.equal(body.code, code);
        assert.equal(body.error, 'Bad Request');
        assert.match(body.requestId, /^req_/);
        assert.equal(body.details[0].field, field, JSON.stringify(body));
      }
      const malformed = await t.request({
        method: 'POST',
        url: '/v1/organizations',
        headers: { 'content-type': 'application/json' },
        payload: '{"name":',
      });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().code, 'malformed_json');
      const oversize = await t.request({
        method: 'POST',
        url: '/v1/organizations',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'x', pad: 'y'.repeat(1024 * 1024) }),
      });
      assert.equal(oversize.statusCode, 413);
      assert.equal(oversize.json().code, 'payload_too_large');
      const emptyPatch = await t.request({ method: 'PATCH', url: '/v1/organizations/org_x', payload: {} });
      assert.equal(emptyPatch.statusCode, 400);
    });

    test('answers 409 for a taken externalId or domain, naming the field', async () => {
      assert.equal((await create({ name: 'A', externalId: 'dup', domains: ['dup.example'] })).statusCode, 201);
      const external = await create({ name: 'B', externalId: 'dup' });
      assert.equal(external.statusCode, 409);
      assert.equal(external.json().details[0].field, 'externalId');
      const domain = await create({ name: 'C', domains: ['other.example', 'DUP.example'] });
      assert.equal(domain.statusCode, 409);
      assert.equal(domain.json().details[0].field, 'domains.1');
      // Nothing of the refused organization was kept.
      const list = (await t.request({ method: 'GET', url: '/v1/organizations?domain=other.example' })).json();
      assert.equal(list.data.length, 0);
    });

    test('an organization key sees only its own organization', async () => {
      const mine = (await create({ name: 'Mine' })).json();
      const theirs = (await create({ name: 'Theirs' })).json();
      const key = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'scoped', organizationId: mine.id } })).json();
      assert.equal(key.scope, 'organization');
      const own = await t.request({ method: 'GET', url: `/v1/organizations/${mine.id}`, token: key.token });
      assert.equal(own.statusCode, 200);
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const res = await t.request({
          method,
          url: `/v1/organizations/${theirs.id}`,
          token: key.token,
          ...(method === 'PATCH' ? { payload: { name: 'hijack' } } : {}),
        });
        assert.equal(res.statusCode, 404, method);
        assert.equal(res.json().code, 'not_found');
      }
      const list = (await t.request({ method: 'GET', url: '/v1/organizations', token: key.token })).json();
      assert.deepEqual(
        list.data.map((o: { id: string }) => o.id),
        [mine.id],
      );
      const forbidden = await create({ name: 'New' }, key.token);
      assert.equal(forbidden.statusCode, 403);
      assert.equal(forbidden.json().code, 'forbidden');
      assert.equal((await t.request({ method: 'GET', url: `/v1/organizations/${theirs.id}` })).json().name, 'Theirs');
    });

    test('deleting an organization removes what it owns in one transaction', async () => {
      const org = (await create({ name: 'Doomed', domains: ['doomed.example'] })).json();
      const key = (
        await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'doomed key', organizationId: org.id } })
      ).json();
      assert.equal((await t.request({ method: 'DELETE', url: `/v1/organizations/${org.id}` })).statusCode, 204);
      assert.equal((await t.request({ method: 'GET', url: '/v1/organizations', token: key.token })).statusCode, 401);
      const domains = await t.db.selectFrom('organization_domains').selectAll().where('organization_id', '=', org.id).execute();
      assert.equal(domains.length, 0);
    });
  });
}
