import { sql, type Insertable, type Kysely } from 'kysely';
import type { Database, DeploymentKeyRow, DeploymentKeysTable } from './schema.ts';

const LOCK_BASE = 5_204_117_000;

/** The keys of `purpose` still published at `now` (not retired yet), newest first. */
export async function listPublishedDeploymentKeys(db: Kysely<Database>, purpose: string, now: Date): Promise<DeploymentKeyRow[]> {
  return db
    .selectFrom('deployment_keys')
    .selectAll()
    .where('purpose', '=', purpose)
    .where((w) => w.or([w('retired_at', 'is', null), w('retired_at', '>', now)]))
    .orderBy('created_at', 'desc')
    .execute();
}

/** In a transaction: waits until no other instance is generating a key of `purpose`. */
export async function lockDeploymentKeyPurpose(db: Kysely<Database>, purpose: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${LOCK_BASE + hash(purpose)})`.execute(db);
}

export async function insertDeploymentKey(db: Kysely<Database>, row: Insertable<DeploymentKeysTable>): Promise<DeploymentKeyRow> {
  return db.insertInto('deployment_keys').values(row).returningAll().executeTakeFirstOrThrow();
}

/** Schedules these keys to retire at `at` (sooner ones keep their time); returns the rows as they now are. */
export async function scheduleRetirement(db: Kysely<Database>, ids: readonly string[], at: Date): Promise<DeploymentKeyRow[]> {
  if (ids.length === 0) return [];
  return db
    .updateTable('deployment_keys')
    .set({ retired_at: at })
    .where('id', 'in', [...ids])
    .where((w) => w.or([w('retired_at', 'is', null), w('retired_at', '>', at)]))
    .returningAll()
    .execute();
}

/**
 * Marks the rollover steps whose time has come as recorded, and returns them: the keys that
 * started signing, and those retired. One UPDATE each, so that of several instances noticing the
 * same step exactly one gets the row (and records its event in the same transaction).
 */
export async function takeDueKeySteps(
  db: Kysely<Database>,
  now: Date,
): Promise<{ activated: DeploymentKeyRow[]; retired: DeploymentKeyRow[] }> {
  const activated = await db
    .updateTable('deployment_keys')
    .set({ activation_recorded_at: now })
    .where('activates_at', '<=', now)
    .where('activation_recorded_at', 'is', null)
    .returningAll()
    .execute();
  const retired = await db
    .updateTable('deployment_keys')
    .set({ retirement_recorded_at: now })
    .where('retired_at', '<=', now)
    .where('retirement_recorded_at', 'is', null)
    .returningAll()
    .execute();
  return { activated, retired };
}

function hash(text: string): number {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 1_000_000;
  return h;
}
