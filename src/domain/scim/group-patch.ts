import { err, ok, type Result } from '../result.ts';
import { scimFail, type ScimError } from './errors.ts';
import type { Filter } from './filter-parser.ts';
import { parsePatchPath } from './patch-path.ts';
import type { PatchOperation } from './quirks.ts';
import { GROUP_KIND } from './schema.ts';

/** Member changes one request may make (adds plus removes), so one PATCH stays one bounded transaction. */
export const MAX_MEMBER_CHANGES = 1000;

/**
 * What a group PATCH does to the membership rows, worked out without reading them: `clear` drops
 * every member not in `add`; otherwise `remove` are deleted and `add` inserted. Operations apply in
 * order, so Okta's pushes that remove, add and rename in one request (Okta, "SCIM 2.0 — Update a
 * specific Group membership") come out as sent.
 */
export interface MembershipPlan {
  readonly clear: boolean;
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

const USER_ID = /^dusr_[0-9A-Z]{26}$/;

/** Splits a group PATCH into the operations on the stored resource and the membership plan. */
export function planGroupPatch(
  operations: readonly PatchOperation[],
): Result<{ resourceOperations: PatchOperation[]; membership: MembershipPlan }, ScimError> {
  // An object, not a `let`: `apply` sets it, and the compiler does not see a closure's assignments.
  const planned = { clear: false };
  const add = new Set<string>();
  const remove = new Set<string>();
  let changes = 0;
  const resourceOperations: PatchOperation[] = [];
  const apply = (op: PatchOperation['op'], ids: readonly string[] | 'all'): Result<void, ScimError> => {
    changes += ids === 'all' ? 0 : ids.length;
    if (changes > MAX_MEMBER_CHANGES) return scimFail('scim_invalid_value', `at most ${MAX_MEMBER_CHANGES} member changes per request`);
    if (op === 'replace' || ids === 'all') {
      planned.clear = true;
      add.clear();
      remove.clear();
    }
    for (const id of ids === 'all' ? [] : ids) {
      if (op === 'remove') {
        add.delete(id);
        remove.add(id);
      } else {
        remove.delete(id);
        add.add(id);
      }
    }
    return ok(undefined);
  };
  for (const operation of operations) {
    const step = planOne(operation, resourceOperations, apply);
    if (!step.ok) return step;
  }
  return ok({ resourceOperations, membership: { clear: planned.clear, add: [...add], remove: planned.clear ? [] : [...remove] } });
}

type Apply = (op: PatchOperation['op'], ids: readonly string[] | 'all') => Result<void, ScimError>;

function planOne(operation: PatchOperation, resourceOperations: PatchOperation[], apply: Apply): Result<void, ScimError> {
  if (operation.path === undefined) {
    const value = operation.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      resourceOperations.push(operation);
      return ok(undefined);
    }
    const rest: Record<string, unknown> = {};
    let members: unknown = undefined;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (key.toLowerCase() === 'members') members = item;
      else rest[key] = item;
    }
    if (Object.keys(rest).length > 0 || members === undefined) resourceOperations.push({ ...operation, value: rest });
    if (members === undefined) return ok(undefined);
    const ids = memberIds(members);
    return ids.ok ? apply(operation.op, ids.value) : ids;
  }
  const parsed = parsePatchPath(GROUP_KIND, operation.path);
  if (!parsed.ok) return parsed;
  const { ref, filter, elementSub } = parsed.value;
  if (ref.kind !== 'known' || ref.attribute.name !== 'members') {
    resourceOperations.push(operation);
    return ok(undefined);
  }
  if (ref.sub !== null || elementSub !== null)
    return scimFail('scim_invalid_path', 'members are changed as a whole: use "members" or members[value eq "…"]');
  if (filter !== null) {
    if (operation.op !== 'remove')
      return scimFail('scim_invalid_path', 'members[…] selects members to remove; add members with path "members"');
    const ids = idsOfFilter(filter);
    if (!ids.ok) return scimFail('scim_invalid_filter', ids.error);
    return apply('remove', ids.value);
  }
  if (operation.op === 'remove') return apply('remove', 'all');
  const ids = memberIds(operation.value);
  return ids.ok ? apply(operation.op, ids.value) : ids;
}

/** The user ids of a `members` value (an array of `{value}`, or one). */
function memberIds(value: unknown): Result<string[], ScimError> {
  if (value === null || value === undefined) return ok([]);
  const items: unknown[] = Array.isArray(value) ? value : [value];
  if (items.length > MAX_MEMBER_CHANGES) return scimFail('scim_invalid_value', `at most ${MAX_MEMBER_CHANGES} member changes per request`);
  const ids: string[] = [];
  for (const item of items) {
    const member = typeof item === 'string' ? { value: item } : item;
    if (typeof member !== 'object' || member === null || typeof (member as { value?: unknown }).value !== 'string')
      return scimFail('scim_invalid_value', 'each member needs a "value": the id of a user of this directory');
    const { value: id, type } = member as { value: string; type?: unknown };
    // Nested groups are not kept: Lanyard's users belong to groups, groups to nothing (say so rather than drop them).
    if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'user'))
      return scimFail(
        'scim_invalid_value',
        `member ${id} is of type ${typeof type === 'string' ? type : JSON.stringify(type)}; only users can be members`,
      );
    if (!USER_ID.test(id)) return scimFail('scim_invalid_value', `member ${id} is not a user of this directory`);
    ids.push(id);
  }
  return ok(ids);
}

/** The ids a member filter names: `value eq "…"`, joined by `or`. */
function idsOfFilter(filter: Filter): Result<string[], string> {
  if (filter.type === 'or') {
    const left = idsOfFilter(filter.left);
    if (!left.ok) return left;
    const right = idsOfFilter(filter.right);
    return right.ok ? ok([...left.value, ...right.value]) : right;
  }
  if (filter.type === 'compare' && filter.op === 'eq' && filter.path.toLowerCase() === 'value' && filter.value.kind === 'string')
    return ok([filter.value.value]);
  return err('a members filter names members by value eq "…" (joined by or)');
}
