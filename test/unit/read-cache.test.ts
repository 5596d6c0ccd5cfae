// The login's read cache (src/storage/read-cache.ts) on real databases: what empties it, and that
// another instance's write reaches it on PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import { requireOrSkip } from '../support/environment.ts';
import { openTestDatabase } from '../support/app.ts';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.ts';
import { readCacheOf } from '../../src/storage/read-cache.ts';

const insertOrganization = (db: Db, id: string) =>
  db.insertInto('organizations').values({ id, name: id, external_id: null, created_at: new Date(), updated_at: new Date() }).execute();

/** A loader that counts its calls, so each test can see whether a get was served from memory. */
function counter() {
  let loads = 0;
  return { load: () => Promise.resolve(++loads), loads: () => loads };
}

test('pglite: writes of applications, connections, organizations or organization_domains empty the cache, other statements do not', async () => {
  const handle = await openTestDatabase('pglite');
  const db = handle.db;
  try {
    const cache = readCacheOf(db);
    const { load, loads } = counter();
    const get = () => cache.get('key', load);
    assert.equal(await get(), 1);
    assert.equal(await get(), 1, 'served from memory');

    await insertOrganization(db, 'org_a');
    assert.equal(await get(), 2, 'an INSERT of organizations');
    await db.insertInto('organization_domains').values({ domain: 'a.example', organization_id: 'org_a' }).execute();
    assert.equal(await get(), 3, 'a domain claimed (discovery and email_verified read them)');
    await db.insertInto('saml_assertions_seen').values({ connection_id: 'c', assertion_id: 'a', expires_at: new Date() }).execute();
    await db.selectFrom('connections').selectAll().execute();
    assert.equal(await get(), 3, 'neither an unwatched table nor a read');
    await sql`update organizations set name = 'renamed'`.execute(db);
    assert.equal(await get(), 4, 'raw SQL writing a watched table');
    await sql`update organization_domains set use_for_discovery = false`.execute(db);
    assert.equal(await get(), 5, 'raw SQL writing organization_domains');
    await db.transaction().execute((trx) => trx.updateTable('applications').set({ name: 'x' }).execute());
    assert.equal(await get(), 6, 'an UPDATE inside a transaction');
    await db.deleteFrom('organizations').execute();
    assert.equal(await get(), 7, 'a DELETE (whose cascade reaches connections)');
    assert.equal(loads(), 7);
  } finally {
    await handle.close();
  }
});

test('postgres: another instance writing reaches the cache by NOTIFY; while the listener is lost nothing is cached', async (t) => {
  const url = process.env.LANYARD_TEST_DATABASE_URL;
  if (!requireOrSkip(t, url !== undefined, 'LANYARD_TEST_DATABASE_URL (PostgreSQL)')) return;
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const first = await openDatabase({ url, schema, maxConnections: 2 });
  const second = await openDatabase({ url, schema, maxConnections: 2 });
  try {
    await migrateToLatest(first.db, { schema });
    const cache = readCacheOf(first.db);
    const { load, loads } = counter();
    const get = () => cache.get('key', load);
    await get();
    assert.equal(await get(), 1, 'served from memory');

    // The other instance's write goes through its own plugin, not ours: only the NOTIFY can tell us.
    await insertOrganization(second.db, 'org_b');
    await eventually(async () => (await get()) === 2, 'the other instance’s write empties the cache');
    await get();
    assert.equal(await get(), 2, 'served from memory again');
    await second.db.insertInto('organization_domains').values({ domain: 'b.example', organization_id: 'org_b' }).execute();
    await eventually(async () => (await get()) === 3, 'the other instance’s domain claim empties the cache');
    await sql`update organization_domains set state = 'verified' where domain = 'nothing.example'`.execute(second.db);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await get(), 3, 'an UPDATE of no domain row notifies nobody (the re-check claims every 15 s)');
    await sql`update organization_domains set state = 'verified'`.execute(second.db);
    await eventually(async () => (await get()) === 4, 'the other instance’s domain verification empties the cache');

    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'lanyard changes'`.execute(second.db);
    await eventually(async () => (await get()) !== (await get()), 'nothing cached while the listener is gone');
    // It reconnects within about a second, and caches again.
    await eventually(async () => {
      const before = loads();
      await get();
      await get();
      return loads() === before + 1;
    }, 'caching resumes once the listener is back');
  } finally {
    await first.db.schema.dropSchema(schema).cascade().execute();
    await Promise.all([first.close(), second.close()]);
  }
});

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
