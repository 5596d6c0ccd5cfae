// Builds the real application for HTTP tests (through app.inject), on the embedded database or on
// real PostgreSQL when LANYARD_TEST_DATABASE_URL is set, each test app in a schema of its own.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/crypto/tokens.ts';
import { createDeps } from '../../src/deps.ts';
import { migrateToLatest, openDatabase, type Db } from '../../src/storage/database.ts';

export type Backend = 'pglite' | 'postgres';

/** The databases every storage and HTTP suite runs on: PGlite always, PostgreSQL when configured. */
export function testBackends(): Backend[] {
  return process.env.LANYARD_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** Says once, loudly, when the PostgreSQL half of the suites is not running (and fails in CI). */
export function assertPostgresConfiguredInCi(): void {
  if (process.env.CI === 'true' && !process.env.LANYARD_TEST_DATABASE_URL) {
    throw new Error('CI=true but LANYARD_TEST_DATABASE_URL is not set: the PostgreSQL half of the suites would not run');
  }
}

export interface TestDatabase {
  readonly db: Db;
  close(): Promise<void>;
}

/** A migrated, empty database: in-memory PGlite, or a fresh schema on PostgreSQL dropped at close. */
export async function openTestDatabase(backend: Backend): Promise<TestDatabase> {
  assertPostgresConfiguredInCi();
  if (backend === 'pglite') {
    const handle = await openDatabase({});
    await migrateToLatest(handle.db);
    return handle;
  }
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const handle = await openDatabase({ url: process.env.LANYARD_TEST_DATABASE_URL!, schema, maxConnections: 4 });
  await migrateToLatest(handle.db, { schema });
  return {
    db: handle.db,
    async close() {
      await handle.db.schema.dropSchema(schema).cascade().execute();
      await handle.close();
    },
  };
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly db: Db;
  readonly config: Config;
  /** The bootstrap admin key's token. */
  readonly adminToken: string;
  /** What the app was built from (its services, its webhook worker). */
  readonly deps: ReturnType<typeof createDeps>;
  /** app.inject with the admin key unless `token` says otherwise (null: no Authorization header). */
  request(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * The real app over a test database; `env` adds LANYARD_* settings, `clock` replaces the time.
 * With `shareDatabaseOf`, a second instance over the first one's database (closing it leaves the
 * database to its owner): two instances behind one load balancer.
 */
export async function createTestApp(
  options: {
    backend?: Backend;
    env?: Record<string, string>;
    clock?: Clock;
    shareDatabaseOf?: TestApp;
    /** A database the caller opened (and closes): e.g. a second pool on another instance's schema. */
    database?: Db;
    /** The admin token of the instance that bootstrapped `database`. */
    adminToken?: string;
  } = {},
): Promise<TestApp> {
  const shared = options.shareDatabaseOf;
  const given = shared?.db ?? options.database;
  const database: TestDatabase = given ? { db: given, close: async () => {} } : await openTestDatabase(options.backend ?? 'pglite');
  const config = loadConfig({
    LANYARD_SECRET_KEY: randomBytes(32).toString('base64'),
    LANYARD_PUBLIC_URL: 'http://127.0.0.1:8080',
    ...options.env,
  });
  const deps = createDeps(config, {
    db: database.db,
    logger: pino({ level: process.env.LANYARD_TEST_LOG_LEVEL ?? 'silent' }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const adminToken = shared?.adminToken ?? options.adminToken ?? (await deps.services.apiKeys.bootstrap())!.token;
  const app = await buildApp(deps);
  return {
    app,
    db: database.db,
    config,
    adminToken,
    deps,
    request({ token, ...inject }) {
      const headers = { ...(inject.headers ?? {}) } as Record<string, string>;
      const key = token === undefined ? adminToken : token;
      if (key !== null) headers.authorization ??= `Bearer ${key}`;
      return app.inject({ ...inject, headers });
    },
    async close() {
      await app.close();
      await deps.close();
      await database.close();
    },
  };
}
