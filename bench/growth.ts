/**
 * Part 4: cost growth. Filler organizations (each with a domain) and SAML connections are written
 * straight into the database in bulk through Kysely, copied from the real connection the API
 * created (so they carry realistic settings whatever their shape), then VACUUM ANALYZEd and
 * checkpointed, as autovacuum and the checkpointer would have by the time a table grew that large.
 * Each level (10, 10,000, 100,000 connections) has its own database and server, and the login is
 * measured at concurrency 1 on all of them in interleaved rounds.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { newId } from '../src/crypto/tokens.ts';
import { openDatabase, type Db } from '../src/storage/database.ts';
import { runLoginBatch, type BatchResult, type LoginStack } from './login.ts';
import { latency, type Latency } from './stats.ts';

const FILLER_PREFIX = 'bench-filler-';
const BATCH_ROWS = 2000;

export interface GrowthLevel {
  readonly label: string;
  /** Connections stored in this level's database. */
  readonly connections: number;
  readonly acs: Latency;
  readonly login: Latency;
  readonly fillMs: number;
}

/** Values read back from PostgreSQL (jsonb as objects) made insertable again: node-postgres sends arrays as SQL arrays, so JSON goes over as text. */
function insertable(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] =
      value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value) ? JSON.stringify(value) : value;
  }
  return out;
}

async function countConnections(db: Db): Promise<number> {
  const row = await db
    .selectFrom('connections')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Adds filler organizations, domains and connections until `target` connections are stored. */
async function fillTo(db: Db, target: number, templateConnectionId: string): Promise<number> {
  const started = performance.now();
  const template = (await db
    .selectFrom('connections')
    .selectAll()
    .where('id', '=', templateConnectionId)
    .executeTakeFirstOrThrow()) as unknown as Record<string, unknown>;
  const organization = (await db
    .selectFrom('organizations')
    .selectAll()
    .where('id', '=', template.organization_id as string)
    .executeTakeFirstOrThrow()) as unknown as Record<string, unknown>;
  let missing = target - (await countConnections(db));
  let serial = Number(
    (await sql<{ n: string }>`select count(*) as n from organizations where external_id like ${`${FILLER_PREFIX}%`}`.execute(db)).rows[0]
      ?.n ?? 0,
  );
  while (missing > 0) {
    const size = Math.min(BATCH_ROWS, missing);
    const now = new Date();
    const orgs: Record<string, unknown>[] = [];
    const domains: { domain: string; organization_id: string }[] = [];
    const connections: Record<string, unknown>[] = [];
    for (let i = 0; i < size; i++) {
      const n = serial++;
      const orgId = newId('org', now, randomBytes);
      orgs.push(
        insertable({
          ...organization,
          id: orgId,
          name: `Filler ${n}`,
          external_id: `${FILLER_PREFIX}${n}`,
          created_at: now,
          updated_at: now,
        }),
      );
      domains.push({ domain: `filler-${n}.bench.test`, organization_id: orgId });
      const settings = { ...(template.settings as Record<string, unknown>) };
      if (typeof settings.idpEntityId === 'string') settings.idpEntityId = `https://idp-${n}.filler.bench.test/metadata`;
      connections.push(
        insertable({
          ...template,
          id: newId('conn', now, randomBytes),
          organization_id: orgId,
          name: `Filler IdP ${n}`,
          settings,
          created_at: now,
          updated_at: now,
          last_used_at: null,
        }),
      );
    }
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('organizations')
        .values(orgs as never)
        .execute();
      await trx.insertInto('organization_domains').values(domains).execute();
      await trx
        .insertInto('connections')
        .values(connections as never)
        .execute();
    });
    missing -= size;
  }
  await settle(db);
  return performance.now() - started;
}

/**
 * After a bulk write: what autovacuum and the checkpointer would have done by the time a real
 * table had grown this large, so the measurement sees the steady state rather than the bulk load's
 * WAL and I/O (which slow every commit for a while).
 */
async function settle(db: Db): Promise<void> {
  await sql`vacuum analyze organizations, organization_domains, connections`.execute(db);
  try {
    await sql`checkpoint`.execute(db);
  } catch {
    // CHECKPOINT needs superuser or pg_checkpoint; without it, wait for the I/O to calm down a little.
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/** A direct database handle for the bulk writes (the server keeps its own pool). */
export async function openBenchDatabase(url: string): Promise<{ db: Db; close(): Promise<void> }> {
  return openDatabase({ url, maxConnections: 2 });
}

/** Brings the table to `count` connections (adding fillers only); returns how long it took. */
export async function ensureConnections(db: Db, count: number, templateConnectionId: string): Promise<number> {
  return (await countConnections(db)) < count ? fillTo(db, count, templateConnectionId) : 0;
}

/** One level: a server of its own over a database of its own holding that many connections. */
export interface GrowthEnvironment {
  readonly db: Db;
  readonly stack: LoginStack;
  readonly fillMs: number;
}

/**
 * Interleaves the levels round by round (the order rotating), so a slower or busier moment of the
 * machine falls on every level alike instead of passing for growth.
 */
export async function runGrowth(options: {
  environments: readonly GrowthEnvironment[];
  rounds: number;
  loginsPerRound: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<GrowthLevel[]> {
  const { environments, log } = options;
  const samples = environments.map(() => ({ acs: [] as number[], login: [] as number[] }));
  for (const env of environments) await runLoginBatch(env.stack, options.warmup, 1);
  for (let round = 0; round < options.rounds; round++) {
    const parts: string[] = [];
    for (let k = 0; k < environments.length; k++) {
      const i = (k + round) % environments.length;
      const batch: BatchResult = await runLoginBatch(environments[i]!.stack, options.loginsPerRound, 1);
      samples[i]!.acs.push(...batch.phaseSamples.acs);
      samples[i]!.login.push(...batch.loginSamples);
      parts.push(`${i}: login p50 ${latency(batch.loginSamples).p50.toFixed(1)} ms`);
    }
    log(`growth: round ${round + 1}/${options.rounds}  ${parts.join(', ')}`);
  }
  const levels: GrowthLevel[] = [];
  for (let i = 0; i < environments.length; i++) {
    const connections = await countConnections(environments[i]!.db);
    levels.push({
      label: connections.toLocaleString('en-US'),
      connections,
      acs: latency(samples[i]!.acs),
      login: latency(samples[i]!.login),
      fillMs: environments[i]!.fillMs,
    });
  }
  return levels;
}
