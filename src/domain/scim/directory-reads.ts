import type { Kysely } from 'kysely';
import { listDirectoryRequests, findDirectory } from '../../storage/directories.ts';
import { findDirectoryGroupById, listDirectoryGroups, listGroupMembers, countGroupMembers } from '../../storage/directory-groups.ts';
import { findDirectoryUserById, groupsOfUsers, listDirectoryUsers } from '../../storage/directory-users.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import type { Database, DirectoryRow } from '../../storage/schema.ts';
import { canSee, type Actor } from '../actor.ts';
import { notFound } from '../errors.ts';
import type { ListDirectoryUsersInput } from './directory-inputs.ts';
import { RESOURCE_ID } from './scim-support.ts';
import {
  directoryOptions,
  toDirectoryGroupView,
  toDirectoryRequestView,
  toDirectoryUserView,
  type DirectoryGroupView,
  type DirectoryRequestView,
  type DirectoryUserView,
} from './views.ts';

type PageQuery = { limit: number; cursor?: string | undefined };

/**
 * What the app reads of directory sync through the management API: the users and groups a
 * directory's IdP provisioned, a group's members by cursor, and the SCIM request trace.
 */
export function createDirectoryReads(deps: {
  readonly db: Kysely<Database>;
  readonly visible: (actor: Actor, id: string) => Promise<DirectoryRow>;
}) {
  const { db, visible } = deps;

  async function users(
    directory: DirectoryRow,
    rows: Awaited<ReturnType<typeof listDirectoryUsers>>,
    limit: number,
  ): Promise<Page<DirectoryUserView>> {
    const groups = await groupsOfUsers(
      db,
      rows.map((r) => r.id),
    );
    const mapping = directoryOptions(directory).customAttributes;
    return toPage(rows, limit, (row) =>
      toDirectoryUserView(
        row,
        groups.filter((g) => g.user_id === row.id),
        mapping,
      ),
    );
  }

  async function directoryOf(actor: Actor, directoryId: string): Promise<DirectoryRow> {
    const directory = await findDirectory(db, directoryId);
    if (directory === undefined || !canSee(actor, directory.organization_id)) throw notFound('directory');
    return directory;
  }

  return {
    /** GET /v1/directories/{id}/users?state&email&group. */
    async listUsers(actor: Actor, directoryId: string, query: ListDirectoryUsersInput): Promise<Page<DirectoryUserView>> {
      const directory = await visible(actor, directoryId);
      if (query.group !== undefined && !RESOURCE_ID.Group.test(query.group)) return { data: [], nextCursor: null };
      const rows = await listDirectoryUsers(db, {
        directoryId: directory.id,
        active: query.state === undefined ? undefined : query.state === 'active',
        email: query.email,
        groupId: query.group,
        after: decodeCursor(query.cursor),
        limit: query.limit,
      });
      return users(directory, rows, query.limit);
    },

    async listGroups(actor: Actor, directoryId: string, query: PageQuery): Promise<Page<DirectoryGroupView>> {
      const directory = await visible(actor, directoryId);
      const rows = await listDirectoryGroups(db, { directoryId: directory.id, after: decodeCursor(query.cursor), limit: query.limit });
      return toPage(rows, query.limit, toDirectoryGroupView);
    },

    /** The SCIM request trace, newest first. */
    async listRequests(actor: Actor, directoryId: string, query: PageQuery): Promise<Page<DirectoryRequestView>> {
      const directory = await visible(actor, directoryId);
      const rows = await listDirectoryRequests(db, { directoryId: directory.id, before: decodeCursor(query.cursor), limit: query.limit });
      return toPage(rows, query.limit, toDirectoryRequestView);
    },

    async getUser(actor: Actor, id: string): Promise<DirectoryUserView> {
      const row = RESOURCE_ID.User.test(id) ? await findDirectoryUserById(db, id) : undefined;
      if (row === undefined || !canSee(actor, row.organization_id)) throw notFound('directory user');
      const directory = await directoryOf(actor, row.directory_id);
      return toDirectoryUserView(row, await groupsOfUsers(db, [row.id]), directoryOptions(directory).customAttributes);
    },

    /** A group with one page of its members. */
    async getGroup(
      actor: Actor,
      id: string,
      query: PageQuery,
    ): Promise<DirectoryGroupView & { memberCount: number; members: Page<DirectoryUserView> }> {
      const row = RESOURCE_ID.Group.test(id) ? await findDirectoryGroupById(db, id) : undefined;
      if (row === undefined || !canSee(actor, row.organization_id)) throw notFound('directory group');
      const directory = await directoryOf(actor, row.directory_id);
      const members = await listGroupMembers(db, { groupId: row.id, after: decodeCursor(query.cursor), limit: query.limit });
      return {
        ...toDirectoryGroupView(row),
        memberCount: await countGroupMembers(db, row.id),
        members: await users(directory, members, query.limit),
      };
    },
  };
}

export type DirectoryReads = ReturnType<typeof createDirectoryReads>;
