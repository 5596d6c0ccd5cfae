import type { Kysely } from 'kysely';
import { newId } from '../../crypto/tokens.ts';
import {
  addGroupMembers,
  countGroupMembers,
  deleteDirectoryGroup,
  findDirectoryGroup,
  insertDirectoryGroup,
  listScimGroups,
  membersOfGroups,
  removeGroupMembers,
  removeGroupMembersExcept,
  updateDirectoryGroup,
} from '../../storage/directory-groups.ts';
import { lockExistingUsers } from '../../storage/directory-users.ts';
import type { Database, DirectoryGroupRow } from '../../storage/schema.ts';
import { compileFilter } from '../../storage/scim-filter-sql.ts';
import type { EventSummary, EventType } from '../events/catalogue.ts';
import { recordEvent } from '../events/events.ts';
import { ok, type Result } from '../result.ts';
import { scimFail, type ScimError } from './errors.ts';
import type { DsyncGroupPayload, DsyncMembershipPayload } from './events.ts';
import { planGroupPatch, type MembershipPlan } from './group-patch.ts';
import { parseListQuery, parseProjection, type ListParams, type Projection } from './list-query.ts';
import { applyPatch, parsePatchRequest } from './patch.ts';
import { omitsAttribute, project } from './projection.ts';
import { normalizeOperations } from './quirks.ts';
import { normalizeResource } from './resource-input.ts';
import { GROUP_KIND, LIST_RESPONSE_SCHEMA } from './schema.ts';
import { etagOf, groupColumns, renderGroup } from './scim-render.ts';
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
import { toDirectoryGroupView } from './views.ts';

type Outcome = Promise<Result<ScimOutcome, ScimError>>;

const notFound = (id: string) => scimFail('scim_not_found', `no group ${id} in this directory`);
const NO_PROJECTION: Projection = { attributes: null, excluded: [] };

/**
 * The SCIM /Groups endpoint of a directory (RFC 7644 §3). Members are rows: a PATCH that adds one
 * member inserts one row, so concurrent PATCHes on one group (Entra sends them) lose nothing; the
 * group row is locked for the transaction, which orders them.
 */
export function createScimGroups(deps: ScimDeps) {
  const { db, clock, random } = deps;

  async function render(trx: Kysely<Database>, context: ScimContext, row: DirectoryGroupRow, projection: Projection): Promise<ScimOutcome> {
    const members = omitsAttribute(projection, 'members') ? undefined : await membersOfGroups(trx, [row.id]);
    return { status: 200, body: project(renderGroup(row, members, context.baseUrl), projection), etag: etagOf(row.version) };
  }

  async function event<T extends EventType>(trx: Kysely<Database>, context: ScimContext, type: T, summary: EventSummary<T>) {
    await recordEvent(trx, { now: clock(), random }, actorOf(context), {
      type,
      organizationId: context.directory.organization_id,
      summary,
    });
  }

  async function groupEvent(
    trx: Kysely<Database>,
    context: ScimContext,
    type: Extract<EventType, `dsync.group.${'created' | 'updated' | 'deleted'}`>,
    row: DirectoryGroupRow,
    changed: string[],
    count?: number,
  ) {
    const memberCount = count ?? (await countGroupMembers(trx, row.id));
    const summary: DsyncGroupPayload = { directoryId: context.directory.id, group: toDirectoryGroupView(row), memberCount, changed };
    await event(trx, context, type, summary);
  }

  /** Applies a membership plan to the rows, after checking every added id is a user of this directory; one event per membership. */
  async function applyMembership(
    trx: Kysely<Database>,
    context: ScimContext,
    group: { id: string; name: string },
    plan: MembershipPlan,
  ): Promise<Result<number, ScimError>> {
    const users = await lockExistingUsers(trx, context.directory.id, plan.add);
    const missing = plan.add.filter((id) => !users.some((u) => u.id === id));
    // An unknown member is refused, never silently dropped (Metatavu/keycloak-scim-server#107).
    if (missing.length > 0)
      return scimFail('scim_invalid_value', `members ${missing.slice(0, 5).join(', ')} are not users of this directory`);
    const removed = plan.clear
      ? await removeGroupMembersExcept(trx, group.id, plan.add)
      : await removeGroupMembers(trx, group.id, plan.remove);
    const added = await addGroupMembers(trx, group.id, plan.add, clock());
    const removedUsers = await lockExistingUsers(trx, context.directory.id, removed);
    const announce = async (type: 'dsync.group.user_added' | 'dsync.group.user_removed', user: MemberUser) => {
      const summary: DsyncMembershipPayload = { directoryId: context.directory.id, group, user: briefUser(user) };
      await event(trx, context, type, summary);
    };
    for (const user of users.filter((u) => added.includes(u.id))) await announce('dsync.group.user_added', user);
    for (const user of removedUsers) await announce('dsync.group.user_removed', user);
    return ok(added.length + removed.length);
  }

  async function locked(
    trx: Kysely<Database>,
    context: ScimContext,
    id: string,
    ifMatch: string | undefined,
  ): Promise<Result<DirectoryGroupRow, ScimError>> {
    const row = RESOURCE_ID.Group.test(id) ? await findDirectoryGroup(trx, context.directory.id, id, { forUpdate: true }) : undefined;
    if (row === undefined) return notFound(id);
    const match = checkIfMatch(ifMatch, row.version);
    return match.ok ? ok(row) : match;
  }

  /** Writes a group's new stored form and membership, bumping its version when anything changed. */
  async function write(
    trx: Kysely<Database>,
    context: ScimContext,
    row: DirectoryGroupRow,
    next: Record<string, unknown>,
    plan: MembershipPlan,
  ): Promise<Result<DirectoryGroupRow, ScimError>> {
    const changed = changedAttributes(row.resource, next);
    const columns = groupColumns(next);
    const membership = await applyMembership(trx, context, { id: row.id, name: columns.display_name }, plan);
    if (!membership.ok) return membership;
    if (changed.length === 0 && membership.value === 0) return ok(row);
    const updated = await updateDirectoryGroup(trx, row.id, {
      ...(changed.length > 0 ? { ...columns, resource: next } : {}),
      version: row.version + 1,
      updated_at: clock(),
    });
    if (changed.length > 0) await groupEvent(trx, context, 'dsync.group.updated', updated, changed);
    return ok(updated);
  }

  return {
    /** POST /Groups, with its initial members. */
    async create(context: ScimContext, body: unknown): Outcome {
      const stored = normalizeResource(GROUP_KIND, body);
      if (!stored.ok) return stored;
      const plan = planGroupPatch([{ op: 'replace', path: 'members', value: (body as Record<string, unknown>).members ?? [] }]);
      if (!plan.ok) return plan;
      const now = clock();
      return inTransaction(db, async (trx) => {
        const row = await insertDirectoryGroup(trx, {
          id: newId('dgrp', now, random),
          directory_id: context.directory.id,
          organization_id: context.directory.organization_id,
          ...groupColumns(stored.value),
          resource: stored.value,
          version: 1,
          created_at: now,
          updated_at: now,
        });
        // The members about to be added: every one is checked to exist, or the whole request fails.
        await groupEvent(trx, context, 'dsync.group.created', row, [], plan.value.membership.add.length);
        const membership = await applyMembership(trx, context, { id: row.id, name: row.display_name }, plan.value.membership);
        if (!membership.ok) return membership;
        return ok({ ...(await render(trx, context, row, NO_PROJECTION)), status: 201 });
      });
    },

    async get(context: ScimContext, id: string, params: ListParams): Outcome {
      const projection = parseProjection(GROUP_KIND, params.attributes, params.excludedAttributes);
      if (!projection.ok) return projection;
      const row = RESOURCE_ID.Group.test(id) ? await findDirectoryGroup(db, context.directory.id, id) : undefined;
      if (row === undefined) return notFound(id);
      return ok(await render(db, context, row, projection.value));
    },

    /** GET /Groups; `excludedAttributes=members` (Entra's lookups) skips reading members at all. */
    async list(context: ScimContext, params: ListParams): Outcome {
      const query = parseListQuery(GROUP_KIND, params);
      if (!query.ok) return query;
      const where = query.value.filter === null ? ok(null) : compileFilter(GROUP_KIND, query.value.filter);
      if (!where.ok) return where;
      const { rows, total } = await listScimGroups(db, context.directory.id, {
        where: where.value,
        sort: query.value.sort === null ? null : { key: query.value.sort.key.sql, descending: query.value.sort.descending },
        offset: query.value.startIndex - 1,
        limit: query.value.count,
      });
      const withMembers = !omitsAttribute(query.value.projection, 'members');
      const members = withMembers
        ? await membersOfGroups(
            db,
            rows.map((r) => r.id),
          )
        : [];
      const resources = rows.map((row) =>
        project(
          renderGroup(row, withMembers ? members.filter((m) => m.group_id === row.id) : undefined, context.baseUrl),
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

    /** PUT /Groups/{id}: the body replaces the group, its members included (RFC 7644 §3.5.1). */
    async replace(context: ScimContext, id: string, body: unknown, ifMatch: string | undefined): Outcome {
      const stored = normalizeResource(GROUP_KIND, body);
      if (!stored.ok) return stored;
      const plan = planGroupPatch([{ op: 'replace', path: 'members', value: (body as Record<string, unknown>).members ?? [] }]);
      if (!plan.ok) return plan;
      return inTransaction(db, async (trx) => {
        const row = await locked(trx, context, id, ifMatch);
        if (!row.ok) return row;
        const written = await write(trx, context, row.value, stored.value, plan.value.membership);
        return written.ok ? ok(await render(trx, context, written.value, NO_PROJECTION)) : written;
      });
    },

    /** PATCH /Groups/{id}: attribute operations on the resource, member operations on the rows, in request order. */
    async patch(context: ScimContext, id: string, body: unknown, ifMatch: string | undefined): Outcome {
      const operations = parsePatchRequest(body);
      if (!operations.ok) return operations;
      const plan = planGroupPatch(normalizeOperations(GROUP_KIND, id, operations.value));
      if (!plan.ok) return plan;
      return inTransaction(db, async (trx) => {
        const row = await locked(trx, context, id, ifMatch);
        if (!row.ok) return row;
        const next = applyPatch(GROUP_KIND, row.value.resource, plan.value.resourceOperations);
        if (!next.ok) return next;
        const written = await write(trx, context, row.value, next.value, plan.value.membership);
        return written.ok ? ok(await render(trx, context, written.value, NO_PROJECTION)) : written;
      });
    },

    async delete(context: ScimContext, id: string, ifMatch: string | undefined): Outcome {
      return inTransaction(db, async (trx) => {
        const row = await locked(trx, context, id, ifMatch);
        if (!row.ok) return row;
        const memberCount = await deleteDirectoryGroup(trx, row.value.id);
        const summary: DsyncGroupPayload = {
          directoryId: context.directory.id,
          group: toDirectoryGroupView(row.value),
          memberCount,
          changed: [],
        };
        await event(trx, context, 'dsync.group.deleted', summary);
        return ok({ status: 204 });
      });
    },
  };
}

type MemberUser = { id: string; user_name: string; email: string | null; active: boolean };

function briefUser(user: MemberUser): DsyncMembershipPayload['user'] {
  return { id: user.id, username: user.user_name, email: user.email, state: user.active ? 'active' : 'inactive' };
}

export type ScimGroups = ReturnType<typeof createScimGroups>;
