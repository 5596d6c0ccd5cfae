import type { Kysely } from 'kysely';
import { newId } from '../../crypto/tokens.ts';
import {
  deleteDirectoryUser,
  findDirectoryUser,
  groupsOfUsers,
  insertDirectoryUser,
  listScimUsers,
  updateDirectoryUser,
} from '../../storage/directory-users.ts';
import type { Database, DirectoryUserRow } from '../../storage/schema.ts';
import { compileFilter } from '../../storage/scim-filter-sql.ts';
import type { EventType } from '../events/catalogue.ts';
import { recordEvent } from '../events/events.ts';
import { ok, type Result } from '../result.ts';
import { scimFail, type ScimError } from './errors.ts';
import type { DsyncUserPayload } from './events.ts';
import { parseListQuery, parseProjection, type ListParams, type Projection } from './list-query.ts';
import { applyPatch, parsePatchRequest } from './patch.ts';
import { project } from './projection.ts';
import { normalizeOperations } from './quirks.ts';
import { normalizeResource, type StoredResource } from './resource-input.ts';
import { LIST_RESPONSE_SCHEMA, USER_KIND } from './schema.ts';
import { etagOf, renderUser, userColumns } from './scim-render.ts';
import {
  actorOf,
  changedAttributes,
  checkIfMatch,
  inTransaction,
  RESOURCE_ID,
  type ScimContext,
  type ScimDeps,
  type ScimOutcome,
} from './scim-support.ts';
import { directoryOptions, toDirectoryUserView } from './views.ts';

type Outcome = Promise<Result<ScimOutcome, ScimError>>;

const notFound = (id: string) => scimFail('scim_not_found', `no user ${id} in this directory`);

/** The SCIM /Users endpoint of a directory (RFC 7644 §3): every change in one transaction with its event. */
export function createScimUsers(deps: ScimDeps) {
  const { db, clock, random } = deps;

  async function render(trx: Kysely<Database>, context: ScimContext, row: DirectoryUserRow, projection?: Projection): Promise<ScimOutcome> {
    const groups = await groupsOfUsers(trx, [row.id]);
    const body = renderUser(row, groups, context.baseUrl);
    return { status: 200, body: projection ? project(body, projection) : body, etag: etagOf(row.version) };
  }

  async function record(
    trx: Kysely<Database>,
    context: ScimContext,
    type: Extract<EventType, `dsync.user.${string}`>,
    row: DirectoryUserRow,
    changed: string[],
  ) {
    const groups = await groupsOfUsers(trx, [row.id]);
    const summary: DsyncUserPayload = {
      directoryId: context.directory.id,
      user: toDirectoryUserView(row, groups, directoryOptions(context.directory).customAttributes),
      changed,
    };
    await recordEvent(trx, { now: clock(), random }, actorOf(context), {
      type,
      organizationId: context.directory.organization_id,
      summary,
    });
  }

  /** Writes a new stored form of an existing user (locked by the caller), with its event; no event when nothing changed. */
  async function write(
    trx: Kysely<Database>,
    context: ScimContext,
    row: DirectoryUserRow,
    next: StoredResource,
  ): Promise<DirectoryUserRow> {
    const changed = changedAttributes(row.resource, next);
    if (changed.length === 0) return row;
    const columns = userColumns(next);
    const updated = await updateDirectoryUser(trx, row.id, { ...columns, resource: next, version: row.version + 1, updated_at: clock() });
    const type =
      row.active && !updated.active
        ? 'dsync.user.deactivated'
        : !row.active && updated.active
          ? 'dsync.user.reactivated'
          : 'dsync.user.updated';
    await record(trx, context, type, updated, changed);
    return updated;
  }

  async function locked(
    trx: Kysely<Database>,
    context: ScimContext,
    id: string,
    ifMatch: string | undefined,
  ): Promise<Result<DirectoryUserRow, ScimError>> {
    const row = RESOURCE_ID.User.test(id) ? await findDirectoryUser(trx, context.directory.id, id, { forUpdate: true }) : undefined;
    if (row === undefined) return notFound(id);
    const match = checkIfMatch(ifMatch, row.version);
    return match.ok ? ok(row) : match;
  }

  return {
    /** POST /Users (RFC 7644 §3.3): 201, or 409 uniqueness when the userName is taken. */
    async create(context: ScimContext, body: unknown): Outcome {
      const stored = normalizeResource(USER_KIND, body);
      if (!stored.ok) return stored;
      const now = clock();
      return inTransaction(db, async (trx) => {
        const row = await insertDirectoryUser(trx, {
          id: newId('dusr', now, random),
          directory_id: context.directory.id,
          organization_id: context.directory.organization_id,
          ...userColumns(stored.value),
          resource: stored.value,
          version: 1,
          created_at: now,
          updated_at: now,
        });
        await record(trx, context, 'dsync.user.created', row, []);
        return ok({ ...(await render(trx, context, row)), status: 201 });
      });
    },

    /** GET /Users/{id} with attributes / excludedAttributes. */
    async get(context: ScimContext, id: string, params: ListParams): Outcome {
      const projection = parseProjection(USER_KIND, params.attributes, params.excludedAttributes);
      if (!projection.ok) return projection;
      const row = RESOURCE_ID.User.test(id) ? await findDirectoryUser(db, context.directory.id, id) : undefined;
      if (row === undefined) return notFound(id);
      return ok(await render(db, context, row, projection.value));
    },

    /** GET /Users (RFC 7644 §3.4.2): filter, sort and page in SQL. */
    async list(context: ScimContext, params: ListParams): Outcome {
      const query = parseListQuery(USER_KIND, params);
      if (!query.ok) return query;
      const where = query.value.filter === null ? ok(null) : compileFilter(USER_KIND, query.value.filter);
      if (!where.ok) return where;
      const { rows, total } = await listScimUsers(db, context.directory.id, {
        where: where.value,
        sort: query.value.sort === null ? null : { key: query.value.sort.key.sql, descending: query.value.sort.descending },
        offset: query.value.startIndex - 1,
        limit: query.value.count,
      });
      const groups = await groupsOfUsers(
        db,
        rows.map((r) => r.id),
      );
      const resources = rows.map((row) =>
        project(
          renderUser(
            row,
            groups.filter((g) => g.user_id === row.id),
            context.baseUrl,
          ),
          query.value.projection,
        ),
      );
      return ok({
        status: 200,
        body: {
          schemas: [LIST_RESPONSE_SCHEMA],
          totalResults: total,
          startIndex: query.value.startIndex,
          itemsPerPage: rows.length,
          Resources: resources,
        },
      });
    },

    /**
     * PUT /Users/{id} (RFC 7644 §3.5.1): the body replaces the user. A body that says nothing of
     * `active` leaves it as it was: a replace that forgot it must not reactivate someone who left.
     */
    async replace(context: ScimContext, id: string, body: unknown, ifMatch: string | undefined): Outcome {
      const stored = normalizeResource(USER_KIND, body);
      if (!stored.ok) return stored;
      return inTransaction(db, async (trx) => {
        const row = await locked(trx, context, id, ifMatch);
        if (!row.ok) return row;
        const next =
          stored.value.active === undefined && row.value.resource.active !== undefined
            ? { ...stored.value, active: row.value.resource.active }
            : stored.value;
        return ok(await render(trx, context, await write(trx, context, row.value, next)));
      });
    },

    /** PATCH /Users/{id} (RFC 7644 §3.5.2), after the IdP quirks are normalized. */
    async patch(context: ScimContext, id: string, body: unknown, ifMatch: string | undefined): Outcome {
      const operations = parsePatchRequest(body);
      if (!operations.ok) return operations;
      return inTransaction(db, async (trx) => {
        const row = await locked(trx, context, id, ifMatch);
        if (!row.ok) return row;
        const next = applyPatch(USER_KIND, row.value.resource, normalizeOperations(USER_KIND, id, operations.value));
        if (!next.ok) return next;
        return ok(await render(trx, context, await write(trx, context, row.value, next.value)));
      });
    },

    /** DELETE /Users/{id} (RFC 7644 §3.6): 204; its memberships end with it. */
    async delete(context: ScimContext, id: string, ifMatch: string | undefined): Outcome {
      return inTransaction(db, async (trx) => {
        const row = await locked(trx, context, id, ifMatch);
        if (!row.ok) return row;
        await record(trx, context, 'dsync.user.deleted', row.value, []);
        const groups = await deleteDirectoryUser(trx, row.value.id);
        const user = {
          id: row.value.id,
          username: row.value.user_name,
          email: row.value.email,
          state: row.value.active ? 'active' : 'inactive',
        };
        for (const group of groups) {
          await recordEvent(trx, { now: clock(), random }, actorOf(context), {
            type: 'dsync.group.user_removed',
            organizationId: context.directory.organization_id,
            summary: { directoryId: context.directory.id, group: { id: group.id, name: group.display_name }, user },
          });
        }
        return ok({ status: 204 });
      });
    },
  };
}

export type ScimUsers = ReturnType<typeof createScimUsers>;
