// A database stopped at an earlier migration, for tests of what a later migration does to the rows
// written before it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Migrator } from 'kysely';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.ts';
import { migrations } from '../../src/storage/migrations/index.ts';
import type { Backend } from './app.ts';

/**
 * Runs `body` on a new database (on PostgreSQL, a new schema of LANYARD_TEST_DATABASE_URL) migrated
 * up to `migration`, with `migrateRest` to take it to the latest; drops the schema and closes it after.
 */
export async function withDatabaseAtMigration(
  backend: Backend,
  migration: string,
  body: (db: Db, migrateRest: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const handle =
    backend === 'pglite'
      ? await openDatabase({})
      : await openDatabase({ url: process.env.LANYARD_TEST_DATABASE_URL, schema, maxConnections: 2 });
  try {
    const migrator = new Migrator({
      db: handle.db,
      provider: { getMigrations: async () => migrations },
      ...(backend === 'postgres' ? { migrationTableSchema: schema } : {}),
    });
    assert.equal((await migrator.migrateTo(migration)).error, undefined);
    await body(handle.db, async () => {
      await migrateToLatest(handle.db, backend === 'postgres' ? { schema } : {});
    });
  } finally {
    if (backend === 'postgres') await handle.db.schema.dropSchema(schema).cascade().execute();
    await handle.close();
  }
}
