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

/** In a transaction: one connection, locked until the transaction ends (a background refresh writing it). */
export async function findConnectionForUpdate(db: Kysely<Database>, id: string): Promise<ConnectionRow | undefined> {
  return db.selectFrom('connections').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** `limit + 1` connections in id (creation) order, for toPage. */
export async function listConnections(db: Kysely<Database>, filter: ConnectionListFilter): Promise<ConnectionRow[]> {
  let q = db
    .selectFrom('connections')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit + 1);
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
  return db
    .updateTable('connections')
    .set(serialise(change))
    .where('id', '=', id)
    .where('updated_at', '=', seenUpdatedAt)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes a connection and its entries in the SAML replay cache (which has no foreign key). */
export async function deleteConnection(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('saml_assertions_seen').where('connection_id', '=', id).execute();
  await db.deleteFrom('connections').where('id', '=', id).execute();
}

/**
 * Enabled connections matching every criterion given, in creation order. A domain is matched
 * through organization_domains, and only where it is verified and used for discovery (issue 15):
 * an unverified claim routes nobody.
 */
export async function findEnabledConnections(
  db: Kysely<Database>,
  criteria: { connectionId?: string | undefined; organizationId?: string | undefined; domain?: string | undefined },
): Promise<ConnectionRow[]> {
  let q = db.selectFrom('connections').selectAll('connections').where('connections.enabled', '=', true).orderBy('connections.id');
  if (criteria.connectionId !== undefined) q = q.where('connections.id', '=', criteria.connectionId);
  if (criteria.organizationId !== undefined) q = q.where('connections.organization_id', '=', criteria.organizationId);
  if (criteria.domain !== undefined) {
    q = q
      .innerJoin('organization_domains', 'organization_domains.organization_id', 'connections.organization_id')
      .where('organization_domains.domain', '=', criteria.domain)
      .where('organization_domains.state', '=', 'verified')
      .where('organization_domains.use_for_discovery', '=', true);
  }
  return q.execute();
}

/** Enabled SAML connections after `afterId`, in id order, `limit` at a time (the expiry watch walks them all). */
export async function listEnabledSamlConnections(db: Kysely<Database>, afterId: string, limit: number): Promise<ConnectionRow[]> {
  return db
    .selectFrom('connections')
    .selectAll()
    .where('type', '=', 'saml')
    .where('enabled', '=', true)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

// How stale last_used_at may get: writing the same row on every login serializes concurrent logins on its lock.
const LAST_USED_RESOLUTION_MS = 60_000;

/** True when a login at `now` changes what the connection row says (its state, or its minute of last use). */
export function isUseWorthRecording(connection: { state: 'draft' | 'active'; lastUsedAt: Date | null }, now: Date): boolean {
  return (
    connection.state === 'draft' ||
    connection.lastUsedAt === null ||
    connection.lastUsedAt.getTime() < now.getTime() - LAST_USED_RESOLUTION_MS
  );
}

/**
 * Marks a connection used: `active` from its first login on, `last_used_at` to the minute. The
 * same condition as isUseWorthRecording, in SQL, for when another login wrote the row since it
 * was read. A row another transaction is marking right now is skipped, not waited for: logins end
 * in transactions, and waiting would queue every concurrent login of the connection behind one.
 */
export async function markConnectionUsed(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  const stale = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  await db
    .updateTable('connections')
    .set({ state: 'active', last_used_at: now })
    .where('id', '=', (eb) =>
      eb
        .selectFrom('connections')
        .select('id')
        .where('id', '=', id)
        .where((w) => w.or([w('state', '=', 'draft'), w('last_used_at', 'is', null), w('last_used_at', '<', stale)]))
        .forUpdate()
        .skipLocked(),
    )
    .execute();
}

// node-postgres turns JS arrays into PostgreSQL arrays, so jsonb values always go over as JSON text.
function serialise<T extends { settings?: unknown; attribute_mapping?: unknown }>(row: T): T {
  const out = { ...row };
  if (out.settings !== undefined && typeof out.settings !== 'string') out.settings = JSON.stringify(out.settings);
  if (out.attribute_mapping !== undefined && typeof out.attribute_mapping !== 'string')
    out.attribute_mapping = JSON.stringify(out.attribute_mapping);
  return out;
}
