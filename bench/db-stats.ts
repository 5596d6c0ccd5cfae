/**
 * Where the login's time goes on the database side: which tables each phase reads and writes and
 * how many transactions it commits, per login (PostgreSQL's cumulative statistics of the scratch
 * database, which only the benchmark's server uses while they are read), and what one durable
 * commit costs on this machine.
 */
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../src/storage/database.ts';
import { PHASES, type LoginStack, type Phase, type PreparedLogin } from './login.ts';
import { pool, quantile } from './stats.ts';

/** Per application table: index and sequential scans (reads) and rows inserted, updated and deleted (writes). */
type Counters = Map<string, { reads: number; seqScans: number; inserted: number; updated: number; deleted: number }>;

/** The table counters, and the transactions committed and sessions opened in the scratch database so far. */
interface Snapshot {
  tables: Counters;
  commits: number;
  sessions: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until no session is connected to the database. A backend publishes the commits of its
 * read-only transactions only along with other statistics or when it exits (PostgreSQL 15), so
 * exact commit counts need every session gone: the server's `pg` pool closes connections idle for
 * 10 s (its default idleTimeoutMillis), as does the benchmark's own pool. The server's change
 * listener (src/storage/read-cache.ts) stays connected by design and runs no transactions: not counted.
 */
async function allSessionsGone(admin: pg.Client, database: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 30_000; await pause(200)) {
    const { rows } = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = $1 and application_name <> 'lanyard changes'",
      [database],
    );
    if (rows[0]?.n === 0) return;
  }
  throw new Error(`sessions to ${database} stayed open for 30 s: the commit counts would be wrong`);
}

/**
 * Reads pg_stat_user_tables (application tables only: catalog writes by autovacuum and the reads of
 * this very query do not show there) in a session of its own that then exits, and the database's
 * xact_commit and sessions from pg_stat_database through `admin` (connected to another database).
 * The reading session adds two commits of its own: its start and its one query.
 */
async function snapshot(databaseUrl: string, admin: pg.Client, database: string): Promise<Snapshot> {
  await allSessionsGone(admin, database);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let tables: Counters;
  try {
    const { rows } = await client.query<{ relname: string; reads: number; seq: number; ins: number; upd: number; del: number }>(
      'select relname, (coalesce(idx_scan, 0) + coalesce(seq_scan, 0))::float8 as reads, coalesce(seq_scan, 0)::float8 as seq, n_tup_ins::float8 as ins, n_tup_upd::float8 as upd, n_tup_del::float8 as del from pg_stat_user_tables',
    );
    tables = new Map(
      rows.map((r) => [
        r.relname,
        { reads: Number(r.reads), seqScans: Number(r.seq), inserted: Number(r.ins), updated: Number(r.upd), deleted: Number(r.del) },
      ]),
    );
  } finally {
    await client.end();
  }
  await allSessionsGone(admin, database);
  const { rows } = await admin.query<{ commits: number; sessions: number }>(
    'select xact_commit::float8 as commits, sessions::float8 as sessions from pg_stat_database where datname = $1',
    [database],
  );
  return { tables, commits: Number(rows[0]?.commits ?? 0), sessions: Number(rows[0]?.sessions ?? 0) };
}

/** Per table, per login: reads (index or sequential scans) and writes (rows inserted / updated / deleted). */
export type TableCosts = { table: string; reads: number; seqScans: number; inserted: number; updated: number; deleted: number }[];

/**
 * Per phase, per login: the table costs, and the transactions the server committed (an
 * autocommitted statement is one, a BEGIN … COMMIT block one, the start of a session one).
 */
export type PhaseCosts = Record<Phase, { tables: TableCosts; commits: number }>;

/**
 * Runs `count` logins phase by phase at concurrency 1 and reads the statistics between phases
 * (10–12 s each: until the server's idle connections close). `adminUrl` names another database of
 * the same PostgreSQL. Autovacuum also commits in the database: should it run during a phase, the
 * count is off by a fraction.
 */
export async function measurePhaseCosts(databaseUrl: string, adminUrl: string, stack: LoginStack, count: number): Promise<PhaseCosts> {
  const database = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const logins: PreparedLogin[] = stack.prepare(count);
    const costs = {} as PhaseCosts;
    let last = await snapshot(databaseUrl, admin, database);
    for (const phase of PHASES) {
      if (phase === 'acs') for (const login of logins) stack.sign(login);
      await pool(logins, 1, (login) => stack[phase](login));
      const now = await snapshot(databaseUrl, admin, database);
      const tables = [...now.tables]
        .map(([table, x]) => {
          const y = last.tables.get(table) ?? { reads: 0, seqScans: 0, inserted: 0, updated: 0, deleted: 0 };
          return {
            table,
            reads: (x.reads - y.reads) / count,
            seqScans: (x.seqScans - y.seqScans) / count,
            inserted: (x.inserted - y.inserted) / count,
            updated: (x.updated - y.updated) / count,
            deleted: (x.deleted - y.deleted) / count,
          };
        })
        .filter((t) => t.reads + t.inserted + t.updated + t.deleted > 0)
        .sort((a, b) => a.table.localeCompare(b.table));
      // Less the reading session's query and every session's start (the server reconnects after each pause).
      const commits = now.commits - last.commits - 1 - (now.sessions - last.sessions);
      costs[phase] = { tables, commits: commits / count };
      last = now;
    }
    return costs;
  } finally {
    await admin.end();
  }
}

/** The latency of one single-row INSERT committed on its own (an fsync of the WAL with the default synchronous_commit). */
export async function commitLatency(db: Db, samples = 40): Promise<{ p50: number; p99: number; setting: string }> {
  await sql`create table if not exists bench_commit_probe (id serial primary key, at timestamptz not null default now())`.execute(db);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await sql`insert into bench_commit_probe default values`.execute(db);
    times.push(performance.now() - t0);
  }
  await sql`drop table bench_commit_probe`.execute(db);
  const setting = (await sql<{ v: string }>`select current_setting('synchronous_commit') as v`.execute(db)).rows[0]?.v ?? '?';
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), setting };
}

/** What the database sessions serving the scratch database were doing, as shares of all samples. */
export interface WaitProfile {
  readonly samples: number;
  /** e.g. "active: on CPU", "active: IO/WALSync", "active: Lock/transactionid", "idle", "idle in transaction". */
  readonly shares: { state: string; share: number }[];
}

/**
 * Samples pg_stat_activity every few milliseconds (from a connection to the admin database) while
 * `during` runs: which share of the server's sessions is running, waiting for a lock, for the WAL
 * flush, or idle (the time the server itself spends between queries).
 */
export async function sampleWaits(adminUrl: string, database: string, during: () => Promise<unknown>): Promise<WaitProfile> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      const { rows } = await admin.query<{ state: string | null; type: string | null; event: string | null }>(
        'select state, wait_event_type as type, wait_event as event from pg_stat_activity where datname = $1 and backend_type = $2',
        [database, 'client backend'],
      );
      for (const row of rows) {
        const key =
          row.state === 'active' ? `active: ${row.type === null ? 'on CPU' : `${row.type}/${row.event}`}` : (row.state ?? 'unknown');
        counts.set(key, (counts.get(key) ?? 0) + 1);
        samples++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await sampler;
    await admin.end();
  }
  return { samples, shares: [...counts].map(([state, n]) => ({ state, share: n / samples })).sort((a, b) => b.share - a.share) };
}
