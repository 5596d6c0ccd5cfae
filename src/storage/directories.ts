import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Database, DirectoriesTable, DirectoryRequestRow, DirectoryRequestsTable, DirectoryRow } from './schema.ts';

/** Inserts one directory. JSON columns take values; they are serialised here. */
export async function insertDirectory(db: Kysely<Database>, row: Insertable<DirectoriesTable>): Promise<DirectoryRow> {
  return db.insertInto('directories').values(serialise(row)).returningAll().executeTakeFirstOrThrow();
}

/** One directory by id, whoever owns it (callers check visibility). */
export async function findDirectory(
  db: Kysely<Database>,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<DirectoryRow | undefined> {
  const q = db.selectFrom('directories').selectAll().where('id', '=', id);
  return (options.forUpdate ? q.forUpdate() : q).executeTakeFirst();
}

/** `limit + 1` directories in id (creation) order, for toPage. */
export async function listDirectories(
  db: Kysely<Database>,
  filter: { organizationId?: string | undefined; after?: string | undefined; limit: number },
): Promise<DirectoryRow[]> {
  let q = db
    .selectFrom('directories')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit + 1);
  if (filter.organizationId !== undefined) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.after !== undefined) q = q.where('id', '>', filter.after);
  return q.execute();
}

/** Changes a directory and returns the new row. */
export async function updateDirectory(db: Kysely<Database>, id: string, change: Updateable<DirectoriesTable>): Promise<DirectoryRow> {
  return db.updateTable('directories').set(serialise(change)).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Deletes a directory; its users, groups, memberships and trace go with it (foreign keys cascade). */
export async function deleteDirectory(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('directories').where('id', '=', id).execute();
}

/** How many users and groups a directory holds. */
export async function countDirectoryContents(db: Kysely<Database>, id: string): Promise<{ users: number; groups: number }> {
  const [users, groups] = await Promise.all([
    db
      .selectFrom('directory_users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('directory_id', '=', id)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('directory_groups')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('directory_id', '=', id)
      .executeTakeFirstOrThrow(),
  ]);
  return { users: users.n, groups: groups.n };
}

/** Marks a pending directory active; true when this call did it (so exactly one request records the activation). */
export async function activateDirectory(db: Kysely<Database>, id: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('directories')
    .set({ state: 'active', last_request_at: now })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Records the time of the latest SCIM request, to the minute. A row another request is writing
 * right now is skipped, not waited for: Entra sends requests in parallel.
 */
export async function touchDirectory(db: Kysely<Database>, id: string, now: Date, resolutionMs: number): Promise<void> {
  const stale = new Date(now.getTime() - resolutionMs);
  await db
    .updateTable('directories')
    .set({ last_request_at: now })
    .where('id', '=', (eb) =>
      eb
        .selectFrom('directories')
        .select('id')
        .where('id', '=', id)
        .where((w) => w.or([w('last_request_at', 'is', null), w('last_request_at', '<', stale)]))
        .forUpdate()
        .skipLocked(),
    )
    .execute();
}

/** Appends one SCIM request to the directory's trace and drops what is beyond the newest `keep`. */
export async function recordDirectoryRequest(db: Kysely<Database>, row: Insertable<DirectoryRequestsTable>, keep: number): Promise<void> {
  await db.insertInto('directory_requests').values(row).execute();
  const boundary = await db
    .selectFrom('directory_requests')
    .select('id')
    .where('directory_id', '=', row.directory_id)
    .orderBy('id', 'desc')
    .offset(keep)
    .limit(1)
    .executeTakeFirst();
  if (boundary !== undefined)
    await db.deleteFrom('directory_requests').where('directory_id', '=', row.directory_id).where('id', '<=', boundary.id).execute();
}

/** `limit + 1` traced requests, newest first, older than `before` when given. */
export async function listDirectoryRequests(
  db: Kysely<Database>,
  filter: { directoryId: string; before?: string | undefined; limit: number },
): Promise<DirectoryRequestRow[]> {
  let q = db
    .selectFrom('directory_requests')
    .selectAll()
    .where('directory_id', '=', filter.directoryId)
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.before !== undefined) q = q.where('id', '<', filter.before);
  return q.execute();
}

// node-postgres turns JS arrays into PostgreSQL arrays, so jsonb values always go over as JSON text.
function serialise<T extends { options?: unknown }>(row: T): T {
  const out = { ...row };
  if (out.options !== undefined && typeof out.options !== 'string') out.options = JSON.stringify(out.options);
  return out;
}
