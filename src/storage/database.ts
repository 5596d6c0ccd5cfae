import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type MigrationResultSet, type PostgresPool } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.ts';
import { lockDataDirectory } from './data-dir-lock.ts';
import { pglitePool } from './pglite-pool.ts';
import { preparingPool } from './prepared-statements.ts';
import { attachReadCache, CHANGES_CHANNEL, createReadCache, type ReadCache } from './read-cache.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface OpenDatabaseOptions {
  /** postgres:// URL; undefined opens the embedded PGlite database. */
  readonly url?: string | undefined;
  /** Where PGlite keeps its files; undefined keeps them in memory (tests). */
  readonly dataDir?: string | undefined;
  /** PostgreSQL schema to use (tests isolate themselves in one); created when missing. */
  readonly schema?: string | undefined;
  readonly maxConnections?: number;
  /** Run the login's statements as server-side prepared statements (PostgreSQL only; default true). */
  readonly preparedStatements?: boolean;
  /** Who opens the embedded database's directory, in words, for the message another process gets (`the running server`). */
  readonly owner?: string;
}

export interface DatabaseHandle {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

// pg returns int8 (bigint, count(*)) as strings by default; every bigint we store fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * Keeps a connection of its own listening on the changes channel; caching is on only while it
 * listens. Reconnects with backoff (1 s doubling to 30 s) after it is lost.
 */
async function followChanges(connect: () => pg.Client, cache: ReadCache): Promise<{ stop(): Promise<void> }> {
  let stopped = false;
  let current: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delayMs = 1_000;
  const attempt = async (): Promise<void> => {
    const client = connect();
    current = client;
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      cache.setLive(false);
      client.end().catch(() => {});
      if (stopped) return;
      timer = setTimeout(() => void attempt(), delayMs);
      timer.unref();
      delayMs = Math.min(delayMs * 2, 30_000);
    };
    client.on('notification', () => cache.invalidate());
    client.on('error', onLost);
    client.on('end', onLost);
    try {
      await client.connect();
      await client.query(`listen ${CHANGES_CHANNEL}`);
      delayMs = 1_000;
      cache.setLive(true);
    } catch {
      onLost();
    }
  };
  await attempt();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      cache.setLive(false);
      await current?.end().catch(() => {});
    },
  };
}

/** Opens PostgreSQL through a `pg` pool, or the embedded PGlite database. Does not migrate. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.url !== undefined) {
    const schema = options.schema;
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    if (schema) await pool.query(`create schema if not exists "${schema.replace(/"/g, '')}"`);
    const cache = createReadCache();
    const dialect = new PostgresDialect({ pool: options.preparedStatements === false ? pool : preparingPool(pool) });
    const db = new Kysely<Database>({ dialect, plugins: [cache.plugin] });
    attachReadCache(db, cache);
    // Named, so an operator can tell it in pg_stat_activity: it sits idle on purpose.
    const changes = await followChanges(() => new pg.Client({ connectionString: options.url, application_name: 'lanyard changes' }), cache);
    return {
      db,
      kind: 'postgres',
      close: async () => {
        await changes.stop();
        await db.destroy();
      },
    };
  }
  if (options.dataDir === undefined) return openPglite(undefined);
  await mkdir(options.dataDir, { recursive: true });
  // Before PGlite reads a byte: two processes must never open one directory (data-dir-lock.ts).
  const lock = await lockDataDirectory(options.dataDir, options.owner ?? 'another Lanyard process');
  try {
    const handle = await openPglite(join(options.dataDir, 'pg'));
    return { ...handle, close: () => handle.close().finally(() => lock.release()) };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function openPglite(dir: string | undefined): Promise<DatabaseHandle> {
  const pglite = await PGlite.create(dir);
  // One process holds the embedded database: the plugin sees every write, the cache can be on from the start.
  const cache = createReadCache();
  cache.setLive(true);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: pglitePool(pglite) as unknown as PostgresPool }),
    plugins: [cache.plugin],
  });
  attachReadCache(db, cache);
  return { db, kind: 'pglite', close: () => db.destroy() };
}

/**
 * Applies the numbered, forward-only migrations. Kysely's migrator holds a PostgreSQL advisory
 * lock while it runs, so instances starting together apply each migration exactly once.
 */
export async function migrateToLatest(db: Db, options: { schema?: string } = {}): Promise<string[]> {
  // The bookkeeping tables live in the schema being migrated: Kysely otherwise looks them up in any schema on the search path.
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(options.schema ? { migrationTableSchema: options.schema } : {}),
  });
  const { error, results } = await lookingPastDroppedSchemas(() => migrator.migrateToLatest());
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Runs `migrate` again, up to five times in all, while it fails before any migration ran because
 * Kysely's search for its bookkeeping tables, which reads every schema of the database, met one that
 * someone else dropped meanwhile (3F000; seen in CI between two test files). Looking again is safe.
 */
export async function lookingPastDroppedSchemas(migrate: () => Promise<MigrationResultSet>): Promise<MigrationResultSet> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await migrate();
    const droppedMeanwhile = outcome.results === undefined && (outcome.error as { code?: string } | undefined)?.code === '3F000';
    if (!droppedMeanwhile || attempt === 5) return outcome;
  }
}

/** True when the database answers a trivial query. */
export async function isDatabaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
