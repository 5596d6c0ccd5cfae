import type { Insertable, Kysely, Updateable } from 'kysely';
import type { ScimListWindow } from './directory-users.ts';
import type { Database, DirectoryGroupRow, DirectoryGroupsTable } from './schema.ts';

/** Inserts one directory group. */
export async function insertDirectoryGroup(db: Kysely<Database>, row: Insertable<DirectoryGroupsTable>): Promise<DirectoryGroupRow> {
  return db.insertInto('directory_groups').values(serialise(row)).returningAll().executeTakeFirstOrThrow();
}

/** One group of a directory, locked for the rest of the transaction when `forUpdate` (membership changes serialize on it). */
export async function findDirectoryGroup(
  db: Kysely<Database>,
  directoryId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<DirectoryGroupRow | undefined> {
  const q = db.selectFrom('directory_groups').selectAll().where('directory_id', '=', directoryId).where('id', '=', id);
  return (options.forUpdate ? q.forUpdate() : q).executeTakeFirst();
}

/** One directory group by id, whichever directory holds it (callers check visibility). */
export async function findDirectoryGroupById(db: Kysely<Database>, id: string): Promise<DirectoryGroupRow | undefined> {
  return db.selectFrom('directory_groups').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Changes a group and returns the new row. */
export async function updateDirectoryGroup(
  db: Kysely<Database>,
  id: string,
  change: Updateable<DirectoryGroupsTable>,
): Promise<DirectoryGroupRow> {
  return db.updateTable('directory_groups').set(serialise(change)).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Deletes a group; its membership rows go with it. Returns how many members it had. */
export async function deleteDirectoryGroup(db: Kysely<Database>, id: string): Promise<number> {
  const members = await db.deleteFrom('directory_group_members').where('group_id', '=', id).returning('user_id').execute();
  await db.deleteFrom('directory_groups').where('id', '=', id).execute();
  return members.length;
}

/** A page of a directory's groups for SCIM, and how many match in all. */
export async function listScimGroups(
  db: Kysely<Database>,
  directoryId: string,
  window: ScimListWindow,
): Promise<{ rows: DirectoryGroupRow[]; total: number }> {
  let base = db.selectFrom('directory_groups').where('directory_id', '=', directoryId);
  if (window.where !== null) base = base.where(window.where);
  const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  if (window.limit === 0) return { rows: [], total: total.n };
  let q = base.selectAll();
  if (window.sort !== null) q = q.orderBy(window.sort.key, window.sort.descending ? 'desc' : 'asc');
  const rows = await q.orderBy('id').offset(window.offset).limit(window.limit).execute();
  return { rows, total: total.n };
}

/** The members of each of `groupIds`, with their userName for `display`. */
export async function membersOfGroups(
  db: Kysely<Database>,
  groupIds: readonly string[],
): Promise<{ group_id: string; id: string; user_name: string }[]> {
  if (groupIds.length === 0) return [];
  return db
    .selectFrom('directory_group_members')
    .innerJoin('directory_users', 'directory_users.id', 'directory_group_members.user_id')
    .select(['directory_group_members.group_id', 'directory_users.id', 'directory_users.user_name'])
    .where('directory_group_members.group_id', 'in', groupIds)
    .orderBy('directory_users.id')
    .execute();
}

/** How many members a group has. */
export async function countGroupMembers(db: Kysely<Database>, groupId: string): Promise<number> {
  const row = await db
    .selectFrom('directory_group_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('group_id', '=', groupId)
    .executeTakeFirstOrThrow();
  return row.n;
}

/** Inserts memberships; returns the user ids that were not members before. */
export async function addGroupMembers(db: Kysely<Database>, groupId: string, userIds: readonly string[], now: Date): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .insertInto('directory_group_members')
    .values(userIds.map((user_id) => ({ group_id: groupId, user_id, created_at: now })))
    .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
    .returning('user_id')
    .execute();
  return rows.map((r) => r.user_id);
}

/** Deletes memberships; returns the user ids that were members. */
export async function removeGroupMembers(db: Kysely<Database>, groupId: string, userIds: readonly string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .deleteFrom('directory_group_members')
    .where('group_id', '=', groupId)
    .where('user_id', 'in', userIds)
    .returning('user_id')
    .execute();
  return rows.map((r) => r.user_id);
}

/** Deletes every membership of the group except `keep`; returns the user ids removed. */
export async function removeGroupMembersExcept(db: Kysely<Database>, groupId: string, keep: readonly string[]): Promise<string[]> {
  let q = db.deleteFrom('directory_group_members').where('group_id', '=', groupId);
  if (keep.length > 0) q = q.where('user_id', 'not in', keep);
  const rows = await q.returning('user_id').execute();
  return rows.map((r) => r.user_id);
}

/** `limit + 1` groups of a directory in id order, for the management API. */
export async function listDirectoryGroups(
  db: Kysely<Database>,
  filter: { directoryId: string; after?: string | undefined; limit: number },
): Promise<DirectoryGroupRow[]> {
  let q = db
    .selectFrom('directory_groups')
    .selectAll()
    .where('directory_id', '=', filter.directoryId)
    .orderBy('id')
    .limit(filter.limit + 1);
  if (filter.after !== undefined) q = q.where('id', '>', filter.after);
  return q.execute();
}

/** `limit + 1` members of a group in user id order, as directory users. */
export async function listGroupMembers(db: Kysely<Database>, filter: { groupId: string; after?: string | undefined; limit: number }) {
  let q = db
    .selectFrom('directory_group_members')
    .innerJoin('directory_users', 'directory_users.id', 'directory_group_members.user_id')
    .selectAll('directory_users')
    .where('directory_group_members.group_id', '=', filter.groupId)
    .orderBy('directory_users.id')
    .limit(filter.limit + 1);
  if (filter.after !== undefined) q = q.where('directory_users.id', '>', filter.after);
  return q.execute();
}

// node-postgres turns JS arrays into PostgreSQL arrays, so jsonb values always go over as JSON text.
function serialise<T extends { resource?: unknown }>(row: T): T {
  const out = { ...row };
  if (out.resource !== undefined && typeof out.resource !== 'string') out.resource = JSON.stringify(out.resource);
  return out;
}
