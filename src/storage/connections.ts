import type { Insertable, Kysely, Updateable } from 'kysely';
import type { ConnectionRow, ConnectionsTable, Database } from './schema.ts';

/** Filters of the connection list; `after` is the last id of the previous page. */
export interface ConnectionListFilter {
  organizationId?: string | undefined;
  type?: 'saml' | 'oidc' | undefined;
  after?: string | undefined;
  limit: number;
}

/** Inserts one connection. JSON columns take values; they are serialised here. */
export async function insertConnection(db: Kysely<Database>, row: Insertable<ConnectionsTable>): Promise<ConnectionRow> {
  return db.insertInto('connections').values(serialise(row)).returningAll().executeTakeFirstOrThrow();
}

/** One connection by id, whoever owns it (callers check visibility). */
export async function findConnection(db: Kysely<Database>, id: string): Promise<ConnectionRow | undefined> {
  return db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
}

/** `limit + 1` connections in id (creation) order, for toPage. */
export async function listConnections(db: Kysely<Database>, filter: ConnectionListFilter): Promise<ConnectionRow[]> {
  let q = db.selectFrom('connections').selectAll().orderBy('id').limit(filter.limit + 1);
  if (filter.organizationId !== undefined) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.type !== undefined) q = q.where('type', '=', filter.type);
  if (filter.after !== undefined) q = q.where('id', '>', filter.after);
  return q.execute();
}

/**
 * Updates a connection unless it changed since `seenUpdatedAt` (optimistic concurrency: the new
 * values were worked out from what was read then). Returns the new row, or undefined on a race.
 */
export async function updateConnection(
  db: Kysely<Database>,
  id: string,
  seenUpdatedAt: Date,
  change: Updateable<ConnectionsTable>,
): Promise<ConnectionRow | undefined> {
  return db.updateTable('connections').set(serialise(change)).where('id', '=', id).where('updated_at', '=', seenUpdatedAt).returningAll().executeTakeFirst();
}

/** Deletes a connection and its entries in the SAML replay cache (which has no foreign key). */
export async function deleteConnection(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('saml_assertions_seen').where('connection_id', '=', id).execute();
  await db.deleteFrom('connections').where('id', '=', id).execute();
}

/** Enabled connections matching every criterion given, in creation order; a domain is matched through organization_domains. */
export async function findEnabledConnections(
  db: Kysely<Database>,
  criteria: { connectionId?: string | undefined; organizationId?: string | undefined; domain?: string | undefined },
): Promise<ConnectionRow[]> {
  let q = db.selectFrom('connections').selectAll('connections').where('connections.enabled', '=', true).orderBy('connections.id');
  if (criteria.connectionId !== undefined) q = q.where('connections.id', '=', criteria.connectionId);
  if (criteria.organizationId !== undefined) q = q.where('connections.organization_id', '=', criteria.organizationId);
  if (criteria.domain !== undefined) {
    q = q.innerJoin('organization_domains', 'organization_domains.organization_id', 'connections.organization_id').where('organization_domains.domain', '=', criteria.domain);
  }
  return q.execute();
}

/** Records a successful login: the connection is proven (`active`) and was used now. */
// How stale last_used_at may get: writing the same row on every login serializes concurrent logins on its lock.
const LAST_USED_RESOLUTION_MS = 60_000;

/** Marks a connection used: `active` from its first login on, `last_used_at` to the minute. */
export async function markConnectionUsed(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db
    .updateTable('connections')
    .set({ state: 'active', last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('state', '=', 'draft'), eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - LAST_USED_RESOLUTION_MS))]))
    .execute();
}

// node-postgres turns JS arrays into PostgreSQL arrays, so jsonb values always go over as JSON text.
function serialise<T extends { settings?: unknown; attribute_mapping?: unknown }>(row: T): T {
  const out = { ...row };
  if (out.settings !== undefined && typeof out.settings !== 'string') out.settings = JSON.stringify(out.settings);
  if (out.attribute_mapping !== undefined && typeof out.attribute_mapping !== 'string') out.attribute_mapping = JSON.stringify(out.attribute_mapping);
  return out;
}
