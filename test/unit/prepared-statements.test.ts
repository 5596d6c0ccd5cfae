// Server-side prepared statements (src/storage/prepared-statements.ts) on real PostgreSQL and on
// the embedded PGlite database (src/storage/pglite-pool.ts): the login's statements are prepared
// once per connection, a migration under them is survived, and
// LANYARD_DATABASE_PREPARED_STATEMENTS=false sends every statement unnamed; and statements built once
// (preparedStatement) refuse a value they do not send as a parameter.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { requireOrSkip } from '../support/environment.ts';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.ts';
import { findAccessToken } from '../../src/storage/oauth-grants.ts';
import { preparedStatement } from '../../src/storage/prepared-statements.ts';
import { openTestDatabase } from '../support/app.ts';

/** The statements this connection has prepared under our names (one connection: `maxConnections: 1`). */
async function preparedOnConnection(db: Db): Promise<string[]> {
  const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements where name like 'lanyard\_%'`.execute(db);
  return rows.map((r) => r.statement);
}

async function withSchema(t: TestContext, preparedStatements: boolean, run: (db: Db, schema: string) => Promise<void>): Promise<void> {
  const url = process.env.LANYARD_TEST_DATABASE_URL;
  if (!requireOrSkip(t, url !== undefined, 'LANYARD_TEST_DATABASE_URL (PostgreSQL)')) return;
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const handle = await openDatabase({ url, schema, maxConnections: 1, preparedStatements });
  try {
    await migrateToLatest(handle.db, { schema });
    await run(handle.db, schema);
  } finally {
    await handle.db.schema.dropSchema(schema).cascade().execute();
    await handle.close();
  }
}

test('postgres: a marked statement is prepared once on its connection and then reused', async (t) => {
  await withSchema(t, true, async (db) => {
    assert.equal(await findAccessToken(db, 'nothing'), undefined);
    assert.equal(await findAccessToken(db, 'still nothing'), undefined);
    const statements = await preparedOnConnection(db);
    assert.equal(statements.filter((s) => s.includes('"access_tokens"')).length, 1, statements.join('\n'));
  });
});

/** The migrated, in-memory embedded database with one application and its access token 'h'. */
async function withPglite(run: (db: Db) => Promise<void>): Promise<void> {
  const handle = await openTestDatabase('pglite');
  try {
    await sql`insert into applications (id, name, client_id, client_secret_hash, redirect_uris, created_at, updated_at)
              values ('app', 'App', 'client', 'hash', '[]', now(), now())`.execute(handle.db);
    await sql`insert into access_tokens (token_hash, application_id, code_hash, scope, profile, created_at, expires_at)
              values ('h', 'app', 'c', 'openid', '{"sub":"u1"}', now(), now() + interval '1 hour')`.execute(handle.db);
    await run(handle.db);
  } finally {
    await handle.close();
  }
}

test('pglite: a marked statement is prepared once on the embedded database, reused, and reads typed values', async () => {
  await withPglite(async (db) => {
    assert.equal(await findAccessToken(db, 'nothing'), undefined);
    const token = await findAccessToken(db, 'h');
    assert.equal(token?.application_id, 'app');
    assert.deepEqual(token?.profile, { sub: 'u1' }, 'jsonb arrives parsed, as from PGlite’s own query');
    assert.ok(token?.expires_at instanceof Date && token.expires_at.getTime() > Date.now());
    const statements = await preparedOnConnection(db);
    assert.equal(statements.filter((s) => s.includes('"access_tokens"')).length, 1, statements.join('\n'));
  });
});

test('pglite: a column added under a prepared `select *` is survived, and read', async () => {
  await withPglite(async (db) => {
    assert.equal((await findAccessToken(db, 'h'))?.token_hash, 'h');
    await sql`alter table access_tokens add column added_later text default 'x'`.execute(db);
    const row = (await findAccessToken(db, 'h')) as unknown as Record<string, unknown>;
    assert.equal(row?.added_later, 'x');
    assert.equal((await findAccessToken(db, 'h'))?.token_hash, 'h', 'and prepared again for the next time');
  });
});

test('pglite: an error in a prepared statement is the database’s, and the connection goes on', async () => {
  await withPglite(async (db) => {
    await sql`alter table access_tokens rename column token_hash to renamed`.execute(db);
    await assert.rejects(findAccessToken(db, 'h'), (error: { code?: string }) => error.code === '42703');
    await sql`alter table access_tokens rename column renamed to token_hash`.execute(db);
    assert.equal((await findAccessToken(db, 'h'))?.token_hash, 'h');
  });
});

test('postgres: with prepared statements off, nothing is prepared', async (t) => {
  await withSchema(t, false, async (db) => {
    assert.equal(await findAccessToken(db, 'nothing'), undefined);
    assert.deepEqual(await preparedOnConnection(db), []);
  });
});

test('postgres: a column added under a prepared `select *` (another instance migrating) is survived, and read', async (t) => {
  await withSchema(t, true, async (db, schema) => {
    assert.equal(await findAccessToken(db, 'nothing'), undefined);
    await sql`insert into applications (id, name, client_id, client_secret_hash, redirect_uris, created_at, updated_at)
              values ('app', 'App', 'client', 'hash', '[]', now(), now())`.execute(db);
    await sql`insert into access_tokens (token_hash, application_id, code_hash, scope, profile, created_at, expires_at)
              values ('h', 'app', 'c', 'openid', '{}', now(), now())`.execute(db);
    // Another connection, as another instance's migration would be.
    const other = await openDatabase({ url: process.env.LANYARD_TEST_DATABASE_URL!, schema, maxConnections: 1 });
    try {
      await sql`alter table access_tokens add column added_later text default 'x'`.execute(other.db);
    } finally {
      await other.close();
    }
    const row = (await findAccessToken(db, 'h')) as unknown as Record<string, unknown>;
    assert.equal(row?.added_later, 'x');
    assert.equal((await findAccessToken(db, 'h'))?.token_hash, 'h', 'and prepared again for the next time');
  });
});

test('preparedStatement: built once, run with each call’s values; a value not sent as one whole parameter is refused', async () => {
  const handle = await openTestDatabase('pglite');
  try {
    const db = handle.db;
    let builds = 0;
    const byId = preparedStatement((d, v: { id: string }) => {
      builds++;
      return d.selectFrom('organizations').select('name').where('id', '=', v.id);
    });
    const now = new Date();
    await db
      .insertInto('organizations')
      .values([
        { id: 'org_a', name: 'A', external_id: null, created_at: now, updated_at: now },
        { id: 'org_b', name: 'B', external_id: null, created_at: now, updated_at: now },
      ])
      .execute();
    assert.deepEqual((await db.executeQuery(byId(db, { id: 'org_a' }))).rows, [{ name: 'A' }]);
    assert.deepEqual((await db.executeQuery(byId(db, { id: 'org_b' }))).rows, [{ name: 'B' }]);
    assert.equal(builds, 1);

    const embedded = preparedStatement((d, v: { id: string }) =>
      d
        .selectFrom('organizations')
        .select('name')
        .where(sql.ref(String(v.id)), '=', 'x'),
    );
    assert.throws(() => embedded(db, { id: 'x' }), /not sent as parameters: id/);
    const nested = preparedStatement((d, v: { id: string }) =>
      d
        .selectFrom('organizations')
        .select('name')
        .where('id', 'in', [v.id])
        .where('name', '=', sql<string>`${[v.id]}`),
    );
    assert.throws(() => nested(db, { id: 'x' }), /not one whole parameter/);
    const cachedWrite = preparedStatement((d, v: { id: string }) =>
      d.updateTable('organizations').set({ name: 'x' }).where('id', '=', v.id),
    );
    assert.throws(() => cachedWrite(db, { id: 'x' }), /may not write a table the read cache holds/);
  } finally {
    await handle.close();
  }
});
