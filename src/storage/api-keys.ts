import { sql, type Insertable, type Kysely } from 'kysely';
import type { ApiKeyRow, ApiKeysTable, Database } from './schema.ts';

// Serializes bootstrap across instances starting at once on one database.
const BOOTSTRAP_LOCK = 7_318_201_104;

export async function insertApiKey(db: Kysely<Database>, row: Insertable<ApiKeysTable>): Promise<ApiKeyRow> {
  return db.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findApiKey(db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The key a token hashes to, revoked or not (the caller checks). */
export async function findApiKeyByTokenHash(db: Kysely<Database>, tokenHash: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** `limit + 1` keys in id (creation) order, for toPage; those of one organization when given. */
export async function listApiKeys(
  db: Kysely<Database>,
  filter: { organizationId?: string | undefined; after?: string | undefined; limit: number },
): Promise<ApiKeyRow[]> {
  let q = db
    .selectFrom('api_keys')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit + 1);
  if (filter.organizationId !== undefined) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.after !== undefined) q = q.where('id', '>', filter.after);
  return q.execute();
}

/** Revokes a key (once: a revoked key keeps its first revocation time). */
export async function revokeApiKey(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
}

export async function touchApiKey(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
}

/** In a transaction: waits for any other instance's bootstrap, then says whether any key exists. */
export async function lockForBootstrap(db: Kysely<Database>): Promise<{ anyKey: boolean }> {
  await sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`.execute(db);
  const any = await db.selectFrom('api_keys').select('id').limit(1).executeTakeFirst();
  return { anyKey: any !== undefined };
}
