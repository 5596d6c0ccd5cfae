/**
 * Where the login's time goes on the database side: which tables each phase reads and writes, per
 * login (PostgreSQL's cumulative statistics of the scratch database, which only the benchmark's
 * server uses while they are read), and what one durable commit costs on this machine.
 */
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../src/storage/database.ts';
import { PHASES, type LoginStack, type Phase, type PreparedLogin } from './login.ts';
import { pool, quantile } from './stats.ts';

/** Per application table: index and sequential scans (reads) and rows inserted, updated and deleted (writes). */
type Counters = Map<string, { reads: number; seqScans: number; inserted: number; updated: number; deleted: number }>;

/**
 * Reads pg_stat_user_tables of the scratch database (application tables only: catalog writes by
 * autovacuum and the reads of this very query do not show there).
 */
async function counters(client: pg.Client): Promise<Counters> {
  await client.query('select pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ relname: string; reads: number; seq: number; ins: number; upd: number; del: number }>(
    'select relname, (coalesce(idx_scan, 0) + coalesce(seq_scan, 0))::float8 as reads, coalesce(seq_scan, 0)::float8 as seq, n_tup_ins::float8 as ins, n_tup_upd::float8 as upd, n_tup_del::float8 as del from pg_stat_user_tables',
  );
  return new Map(rows.map((r) => [r.relname, { reads: Number(r.reads), seqScans: Number(r.seq), inserted: Number(r.ins), updated: Number(r.upd), deleted: Number(r.del) }]));
}

const same = (a: Counters, b: Counters) => [...a].every(([table, x]) => {
  const y = b.get(table);
  return y !== undefined && x.reads === y.reads && x.seqScans === y.seqScans && x.inserted === y.inserted && x.updated === y.updated && x.deleted === y.deleted;
});

/**
 * A backend publishes its statistics at the end of a transaction at most once a second, and an idle
 * one only after ten seconds (PostgreSQL 15 cumulative statistics). So after a pause, `nudge` makes
 * the server run a trivial query on each of its pooled connections (GET /readyz, concurrently), which
 * flushes them; repeated until the counters stop moving.
 */
async function settled(client: pg.Client, nudge: () => Promise<void>): Promise<Counters> {
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await pause(1100);
  await nudge();
  let previous = await counters(client);
  for (let i = 0; i < 10; i++) {
    await pause(1100);
    await nudge();
    await pause(100);
    const current = await counters(client);
    if (same(current, previous)) return current;
    previous = current;
  }
  return previous;
}

/** Per phase and table, per login: reads (index or sequential scans) and writes (rows inserted / updated / deleted). */
export type PhaseCosts = Record<Phase, { table: string; reads: number; seqScans: number; inserted: number; updated: number; deleted: number }[]>;

/** Runs `count` logins phase by phase at concurrency 1 and reads the table statistics between phases. */
export async function measurePhaseCosts(databaseUrl: string, stack: LoginStack, count: number, nudge: () => Promise<void>): Promise<PhaseCosts> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const logins: PreparedLogin[] = stack.prepare(count);
    const costs = {} as PhaseCosts;
    let last = await settled(client, nudge);
    for (const phase of PHASES) {
      if (phase === 'acs') for (const login of logins) stack.sign(login);
      await pool(logins, 1, (login) => stack[phase](login));
      const now = await settled(client, nudge);
      costs[phase] = [...now]
        .map(([table, x]) => {
          const y = last.get(table) ?? { reads: 0, seqScans: 0, inserted: 0, updated: 0, deleted: 0 };
          return { table, reads: (x.reads - y.reads) / count, seqScans: (x.seqScans - y.seqScans) / count, inserted: (x.inserted - y.inserted) / count, updated: (x.updated - y.updated) / count, deleted: (x.deleted - y.deleted) / count };
        })
        .filter((t) => t.reads + t.inserted + t.updated + t.deleted > 0)
        .sort((a, b) => a.table.localeCompare(b.table));
      last = now;
    }
    return costs;
  } finally {
    await client.end();
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
        const key = row.state === 'active' ? `active: ${row.type === null ? 'on CPU' : `${row.type}/${row.event}`}` : (row.state ?? 'unknown');
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
