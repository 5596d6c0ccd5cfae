import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';

for (const backend of testBackends()) {
  describe(`API keys on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(async () => t.close());

    test('a new key authenticates with Bearer and with Basic, and stops at once when revoked', async () => {
      const created = await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'ci' } });
      assert.equal(created.statusCode, 201);
      const key = created.json();
      assert.equal(key.scope, 'admin');
      assert.match(key.token, /^key_[0-9A-Z]{26}\.[A-Za-z0-9_-]{43}$/);
      assert.equal((await t.request({ method: 'GET', url: '/v1/organizations', token: key.token })).statusCode, 200);
      const [id, secret] = key.token.split('.');
      const basic = Buffer.from(`${id}:${secret}`).toString('base64');
      assert.equal(
        (await t.request({ method: 'GET', url: '/v1/organizations', token: null, headers: { authorization: `Basic ${basic}` } }))
          .statusCode,
        200,
      );
      const wrongSecret = Buffer.from(`${id}:${secret}x`).toString('base64');
      assert.equal(
        (await t.request({ method: 'GET', url: '/v1/organizations', token: null, headers: { authorization: `Basic ${wrongSecret}` } }))
          .statusCode,
        401,
      );

      const listed = (await t.request({ method: 'GET', url: '/v1/api-keys' })).json();
      assert.ok(listed.data.some((k: { id: string }) => k.id === key.id));
      assert.ok(
        listed.data.every((k: Record<string, unknown>) => !('token' in k)),
        'a token is never shown again',
      );

      assert.equal((await t.request({ method: 'DELETE', url: `/v1/api-keys/${key.id}` })).statusCode, 204);
      const revoked = await t.request({ method: 'GET', url: '/v1/organizations', token: key.token });
      assert.equal(revoked.statusCode, 401);
      assert.equal(revoked.json().code, 'unauthenticated');
      assert.equal(revoked.headers['www-authenticate'], 'Bearer realm="lanyard"');
      assert.ok((await t.request({ method: 'GET', url: `/v1/api-keys/${key.id}` })).json().revokedAt);
    });

    test('answers 401 without a key, with a malformed header and with an unknown token', async () => {
      for (const headers of [
        {},
        { authorization: 'Bearer' },
        { authorization: 'Token abc' },
        { authorization: 'Bearer key_00000000000000000000000000.nope' },
      ]) {
        const res = await t.request({ method: 'GET', url: '/v1/organizations', token: null, headers });
        assert.equal(res.statusCode, 401, JSON.stringify(headers));
        assert.equal(res.json().code, 'unauthenticated');
      }
    });

    test('stores only a hash of each token', async () => {
      const key = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'hash check' } })).json();
      const row = await t.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow();
      const secret = key.token.split('.')[1];
      assert.ok(!JSON.stringify(row).includes(secret));
      assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    });

    test('an organization key manages only keys of its own organization', async () => {
      const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'KeyOrg' } })).json();
      const other = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'OtherOrg' } })).json();
      const scoped = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'scoped', organizationId: org.id } })).json();
      const sibling = await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'sibling' }, token: scoped.token });
      assert.equal(sibling.statusCode, 201);
      assert.equal(sibling.json().organizationId, org.id, 'an organization key creates keys of its own organization');
      const escalate = await t.request({
        method: 'POST',
        url: '/v1/api-keys',
        payload: { name: 'admin', organizationId: null },
        token: scoped.token,
      });
      assert.equal(escalate.statusCode, 403);
      const cross = await t.request({
        method: 'POST',
        url: '/v1/api-keys',
        payload: { name: 'x', organizationId: other.id },
        token: scoped.token,
      });
      assert.equal(cross.statusCode, 403);
      const list = (await t.request({ method: 'GET', url: '/v1/api-keys', token: scoped.token })).json();
      assert.ok(list.data.length >= 2 && list.data.every((k: { organizationId: string }) => k.organizationId === org.id));
      const adminKeyId = t.adminToken.split('.')[0];
      assert.equal((await t.request({ method: 'GET', url: `/v1/api-keys/${adminKeyId}`, token: scoped.token })).statusCode, 404);
      assert.equal((await t.request({ method: 'DELETE', url: `/v1/api-keys/${adminKeyId}`, token: scoped.token })).statusCode, 404);
      const missing = await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'x', organizationId: 'org_nope' } });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().details[0].field, 'organizationId');
    });

    test('lists events with filters and a cursor, scoped for organization keys', async () => {
      const a = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'EvA' } })).json();
      const b = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'EvB' } })).json();
      await t.request({ method: 'PATCH', url: `/v1/organizations/${a.id}`, payload: { name: 'EvA2' } });
      const created = (await t.request({ method: 'GET', url: '/v1/events?type=organization.created&limit=100' })).json();
      assert.ok(created.data.every((e: { type: string }) => e.type === 'organization.created'));
      const all: string[] = [];
      let cursor = '';
      for (;;) {
        const page = (await t.request({ method: 'GET', url: `/v1/events?limit=3&cursor=${cursor}` })).json();
        all.push(...page.data.map((e: { id: string }) => e.id));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      assert.deepEqual([...all].sort(), all, 'events come oldest first');
      assert.equal(new Set(all).size, all.length);
      const afterFirst = (await t.request({ method: 'GET', url: `/v1/events?after=${all[0]}&limit=100` })).json();
      assert.equal(afterFirst.data.length, all.length - 1);
      const key = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'ev', organizationId: b.id } })).json();
      const scoped = (await t.request({ method: 'GET', url: '/v1/events?limit=100', token: key.token })).json();
      assert.ok(scoped.data.length > 0 && scoped.data.every((e: { organizationId: string }) => e.organizationId === b.id));
      const peek = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${a.id}`, token: key.token })).json();
      assert.equal(peek.data.length, 0);
    });
  });
}
