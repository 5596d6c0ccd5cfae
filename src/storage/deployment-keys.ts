import { sql, type Insertable, type Kysely } from 'kysely';
import type { Database, DeploymentKeyRow, DeploymentKeysTable } from './schema.ts';

const LOCK_BASE = 5_204_117_000;

/** The newest key of `purpose` that is not retired. */
export async function findCurrentDeploymentKey(db: Kysely<Database>, purpose: string): Promise<DeploymentKeyRow | undefined> {
  return db
    .selectFrom('deployment_keys')
    .selectAll()
    .where('purpose', '=', purpose)
    .where('retired_at', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

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

function hash(text: string): number {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 1_000_000;
  return h;
}
