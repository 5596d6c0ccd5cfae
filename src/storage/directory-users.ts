import { sql, type Expression, type Insertable, type Kysely, type SqlBool, type Updateable } from 'kysely';
import { preparedStatement } from './prepared-statements.ts';
import type { Database, DirectoryUserRow, DirectoryUsersTable } from './schema.ts';

/** How a SCIM list is cut: a condition from the filter compiler, an order, a 1-based window. */
export interface ScimListWindow {
  readonly where: Expression<SqlBool> | null;
  readonly sort: { readonly key: Expression<unknown>; readonly descending: boolean } | null;
  readonly offset: number;
  readonly limit: number;
}

/** Inserts one directory user; a taken userName raises the unique violation `directory_users_user_name`. */
export async function insertDirectoryUser(db: Kysely<Database>, row: Insertable<DirectoryUsersTable>): Promise<DirectoryUserRow> {
  return db.insertInto('directory_users').values(serialise(row)).returningAll().executeTakeFirstOrThrow();
}

/** One user of a directory, locked for the rest of the transaction when `forUpdate`. */
export async function findDirectoryUser(
  db: Kysely<Database>,
  directoryId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<DirectoryUserRow | undefined> {
  const q = db.selectFrom('directory_users').selectAll().where('directory_id', '=', directoryId).where('id', '=', id);
  return (options.forUpdate ? q.forUpdate() : q).executeTakeFirst();
}

/** One directory user by id, whichever directory holds it (callers check visibility). */
export async function findDirectoryUserById(db: Kysely<Database>, id: string): Promise<DirectoryUserRow | undefined> {
  return db.selectFrom('directory_users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Changes a user and returns the new row. */
export async function updateDirectoryUser(
  db: Kysely<Database>,
  id: string,
  change: Updateable<DirectoryUsersTable>,
): Promise<DirectoryUserRow> {
  return db.updateTable('directory_users').set(serialise(change)).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Deletes a user; its memberships go with it. Returns the groups it was in. */
export async function deleteDirectoryUser(db: Kysely<Database>, id: string): Promise<{ id: string; display_name: string }[]> {
  const groups = await db
    .selectFrom('directory_group_members')
    .innerJoin('directory_groups', 'directory_groups.id', 'directory_group_members.group_id')
    .select(['directory_groups.id', 'directory_groups.display_name'])
    .where('directory_group_members.user_id', '=', id)
    .orderBy('directory_groups.id')
    .execute();
  await db.deleteFrom('directory_users').where('id', '=', id).execute();
  return groups;
}

/** A page of a directory's users for SCIM, and how many match in all. */
export async function listScimUsers(
  db: Kysely<Database>,
  directoryId: string,
  window: ScimListWindow,
): Promise<{ rows: DirectoryUserRow[]; total: number }> {
  let base = db.selectFrom('directory_users').where('directory_id', '=', directoryId);
  if (window.where !== null) base = base.where(window.where);
  const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  if (window.limit === 0) return { rows: [], total: total.n };
  let q = base.selectAll();
  if (window.sort !== null) q = q.orderBy(window.sort.key, window.sort.descending ? 'desc' : 'asc');
  const rows = await q.orderBy('id').offset(window.offset).limit(window.limit).execute();
  return { rows, total: total.n };
}

/** The groups of each of `userIds`, for their `groups` attribute. */
export async function groupsOfUsers(
  db: Kysely<Database>,
  userIds: readonly string[],
): Promise<{ user_id: string; id: string; display_name: string }[]> {
  if (userIds.length === 0) return [];
  return db
    .selectFrom('directory_group_members')
    .innerJoin('directory_groups', 'directory_groups.id', 'directory_group_members.group_id')
    .select(['directory_group_members.user_id', 'directory_groups.id', 'directory_groups.display_name'])
    .where('directory_group_members.user_id', 'in', userIds)
    .orderBy('directory_groups.id')
    .execute();
}

/**
 * Which of `ids` are users of the directory, share-locked until the transaction ends so that a
 * concurrent delete cannot slip between this check and the membership insert.
 */
export async function lockExistingUsers(
  db: Kysely<Database>,
  directoryId: string,
  ids: readonly string[],
): Promise<{ id: string; user_name: string; email: string | null; active: boolean }[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('directory_users')
    .select(['id', 'user_name', 'email', 'active'])
    .where('directory_id', '=', directoryId)
    .where('id', 'in', ids)
    .forKeyShare()
    .execute();
}

/** `limit + 1` users of a directory in id order for the management API, filtered. */
export async function listDirectoryUsers(
  db: Kysely<Database>,
  filter: {
    directoryId: string;
    active?: boolean | undefined;
    email?: string | undefined;
    groupId?: string | undefined;
    after?: string | undefined;
    limit: number;
  },
): Promise<DirectoryUserRow[]> {
  let q = db
    .selectFrom('directory_users')
    .selectAll('directory_users')
    .where('directory_users.directory_id', '=', filter.directoryId)
    .orderBy('directory_users.id')
    .limit(filter.limit + 1);
  if (filter.active !== undefined) q = q.where('directory_users.active', '=', filter.active);
  if (filter.email !== undefined)
    q = q.where(sql<boolean>`directory_users.email_values @> ${JSON.stringify([filter.email.toLowerCase()])}::jsonb`);
  if (filter.groupId !== undefined) {
    const groupId = filter.groupId;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('directory_group_members')
          .select('user_id')
          .whereRef('directory_group_members.user_id', '=', 'directory_users.id')
          .where('directory_group_members.group_id', '=', groupId),
      ),
    );
  }
  if (filter.after !== undefined) q = q.where('directory_users.id', '>', filter.after);
  return q.execute();
}

/** A login's directory user, with the login policy of the directory that holds it. */
export interface LoginDirectoryUser {
  readonly id: string;
  readonly directoryId: string;
  readonly active: boolean;
  readonly refuseInactiveUsers: boolean;
}

/**
 * The directory user a login of `organizationId` is: by externalId or userName equal to the
 * login's subject (NameID), else by email, in one query the organization indexes serve. Exact
 * subject matches come before email matches.
 */
export async function findDirectoryUserForLogin(
  db: Kysely<Database>,
  input: { organizationId: string; subject: string; email: string | null },
): Promise<LoginDirectoryUser | undefined> {
  const statement = input.email === null ? DIRECTORY_USER_BY_SUBJECT : DIRECTORY_USER_BY_SUBJECT_OR_EMAIL;
  const row = (await db.executeQuery(statement(db, input))).rows[0];
  if (row === undefined) return undefined;
  // The option's default (true) is applied here, as views.ts applies it for the API.
  return { id: row.id, directoryId: row.directory_id, active: row.active, refuseInactiveUsers: row.options.refuseInactiveUsers ?? true };
}

const directoryUserForLogin = (byEmail: boolean) =>
  preparedStatement((db, input: { organizationId: string; subject: string; email: string | null }) =>
    db
      .selectFrom('directory_users as u')
      .innerJoin('directories as d', 'd.id', 'u.directory_id')
      .select(['u.id', 'u.directory_id', 'u.active', 'd.options'])
      .where('u.organization_id', '=', input.organizationId)
      .where((eb) =>
        eb.or([
          eb('u.external_id', '=', input.subject),
          eb(sql`lower(u.user_name)`, '=', sql`lower(${input.subject})`),
          ...(byEmail ? [eb(sql`lower(u.email)`, '=', sql`lower(${input.email})`)] : []),
        ]),
      )
      .orderBy(sql`case when u.external_id = ${input.subject} then 0 when lower(u.user_name) = lower(${input.subject}) then 1 else 2 end`)
      .orderBy('u.id')
      .limit(1),
  );
const DIRECTORY_USER_BY_SUBJECT = directoryUserForLogin(false);
const DIRECTORY_USER_BY_SUBJECT_OR_EMAIL = directoryUserForLogin(true);

// node-postgres turns JS arrays into PostgreSQL arrays, so jsonb values always go over as JSON text.
function serialise<T extends { resource?: unknown; email_values?: unknown }>(row: T): T {
  const out = { ...row };
  if (out.resource !== undefined && typeof out.resource !== 'string') out.resource = JSON.stringify(out.resource);
  if (out.email_values !== undefined && typeof out.email_values !== 'string') out.email_values = JSON.stringify(out.email_values);
  return out;
}
