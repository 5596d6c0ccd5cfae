import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';
import { canConnect, requireOrSkip } from '../support/environment.ts';

describe('rate limiting in process', () => {
  let t: TestApp;
  let now = new Date('2026-01-01T00:00:00Z').getTime();
  before(async () => {
    t = await createTestApp({ env: { LANYARD_RATE_LIMIT_MAX: '3', LANYARD_RATE_LIMIT_WINDOW_SECONDS: '60' }, clock: () => new Date(now) });
  });
  after(async () => t.close());

  test('answers 429 with Retry-After past the limit, per key and route, and resets with the window', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await t.request({ method: 'GET', url: '/v1/organizations' });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers['x-ratelimit-remaining'], String(2 - i));
    }
    const limited = await t.request({ method: 'GET', url: '/v1/organizations' });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, 'rate_limited');
    assert.equal(limited.headers['retry-after'], '60');
    // Another route has its own budget; so has another key.
    assert.equal((await t.request({ method: 'GET', url: '/v1/api-keys' })).statusCode, 200);
    const other = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'second' } })).json();
    assert.equal((await t.request({ method: 'GET', url: '/v1/organizations', token: other.token })).statusCode, 200);
    now += 61_000;
    assert.equal((await t.request({ method: 'GET', url: '/v1/organizations' })).statusCode, 200);
  });

  test('counts unauthenticated requests per client address', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.request({ method: 'GET', url: '/v1/events', token: null })).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
  });
});

describe('rate limiting through Redis', () => {
  test('two instances share one budget', async (t) => {
    const url = process.env.LANYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const port = Number(new URL(url).port || 6379);
    if (!requireOrSkip(t, await canConnect(port, new URL(url).hostname), `Redis at ${url}`)) return;
    const env = { LANYARD_REDIS_URL: url, LANYARD_RATE_LIMIT_MAX: '4' };
    const a = await createTestApp({ env });
    try {
      const b = await createTestApp({ env });
      try {
        // The same key on both instances: b's database gets a's key so both accept it.
        const row = await a.db.selectFrom('api_keys').selectAll().where('token_hash', '!=', '').executeTakeFirstOrThrow();
        await b.db
          .insertInto('api_keys')
          .values({ ...row, id: row.id, token_hash: row.token_hash, name: 'shared' })
          .onConflict((c) => c.doNothing())
          .execute();
        const statuses = [];
        for (const app of [a, b, a, b, a])
          statuses.push((await app.request({ method: 'GET', url: '/v1/organizations', token: a.adminToken })).statusCode);
        assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });
});
