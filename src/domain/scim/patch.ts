import { ok, type Result } from '../result.ts';
import { scimFail, type ScimError } from './errors.ts';
import { elementMatches, parsePatchPath, type PatchPath } from './patch-path.ts';
import { elementFromFilter, normalizeOp, type PatchOperation, type RawPatchOperation } from './quirks.ts';
import { normalizeResource, type StoredResource } from './resource-input.ts';
import { findExtension, PATCH_OP_SCHEMA, type ResourceKind } from './schema.ts';

/**
 * Applies PATCH operations (RFC 7644 §3.5.2) to a stored resource, in order, and returns the new
 * stored form (normalized again, so every value is type-checked). Pure: no I/O. Group members are
 * not handled here (they are rows; see group-patch.ts).
 */
export function applyPatch(
  kind: ResourceKind,
  resource: StoredResource,
  operations: readonly PatchOperation[],
): Result<StoredResource, ScimError> {
  const working = structuredClone(resource);
  for (const operation of operations) {
    const applied =
      operation.path === undefined ? applyPathless(kind, working, operation) : applyWithPath(kind, working, operation, operation.path);
    if (!applied.ok) return applied;
  }
  return normalizeResource(kind, working);
}

function applyWithPath(kind: ResourceKind, working: StoredResource, operation: PatchOperation, path: string): Result<void, ScimError> {
  const parsed = parsePatchPath(kind, path);
  if (!parsed.ok) return parsed;
  return applyAt(working, operation.op, parsed.value, operation.value);
}

/** `add`/`replace` without a path: each key of the value object is a path (§3.5.2.1, §3.5.2.3). */
function applyPathless(kind: ResourceKind, working: StoredResource, operation: PatchOperation): Result<void, ScimError> {
  if (operation.op === 'remove') return scimFail('scim_no_target', 'a remove operation needs a path (RFC 7644 §3.5.2.2)');
  const value = operation.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return scimFail('scim_invalid_value', `an ${operation.op} without a path needs an object value`);
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const extension = findExtension(kind, key);
    if (extension !== undefined) {
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        return scimFail('scim_invalid_value', `${extension.id} must be an object`);
      for (const [name, inner] of Object.entries(item as Record<string, unknown>)) {
        const applied = applyWithPath(kind, working, { op: operation.op, path: undefined, value: inner }, `${extension.id}:${name}`);
        if (!applied.ok) return applied;
      }
      continue;
    }
    const applied = applyWithPath(kind, working, { op: operation.op, path: undefined, value: item }, key);
    if (!applied.ok) return applied;
  }
  return ok(undefined);
}

type Container = Record<string, unknown>;

/** The object holding the target: the resource itself or an extension's object (created on write). */
function containerOf(working: StoredResource, name: string | null, create: boolean): Container | undefined {
  if (name === null) return working;
  const key = Object.keys(working).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
  const existing = working[key];
  if (typeof existing === 'object' && existing !== null && !Array.isArray(existing)) return existing as Container;
  if (!create) return undefined;
  const created: Container = {};
  working[key] = created;
  return created;
}

function keyIn(container: Container, name: string): string {
  return Object.keys(container).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
}

const isObject = (value: unknown): value is Container => typeof value === 'object' && value !== null && !Array.isArray(value);

function applyAt(working: StoredResource, op: PatchOperation['op'], path: PatchPath, value: unknown): Result<void, ScimError> {
  if (op !== 'remove' && value === undefined) return scimFail('scim_invalid_value', `an ${op} operation needs a value`);
  const ref = path.ref;
  if (ref.kind === 'opaque') {
    const container = containerOf(working, ref.container, op !== 'remove');
    if (container === undefined) return ok(undefined);
    const key = keyIn(container, ref.name);
    if (ref.sub === null) {
      if (op === 'remove') Reflect.deleteProperty(container, key);
      else container[key] = value;
      return ok(undefined);
    }
    const inner = isObject(container[key]) ? container[key] : {};
    if (op === 'remove') Reflect.deleteProperty(inner, ref.sub);
    else inner[ref.sub] = value;
    container[key] = inner;
    return ok(undefined);
  }
  const { attribute, sub } = ref;
  if (attribute.mutability === 'readOnly' || sub?.mutability === 'readOnly')
    return scimFail('scim_mutability', `${attribute.name}${sub ? `.${sub.name}` : ''} is read-only`);
  if (attribute.mutability === 'writeOnly') return ok(undefined); // the password: never stored
  const container = containerOf(working, ref.extension?.id ?? null, op !== 'remove');
  if (container === undefined) return ok(undefined);
  const name = attribute.name;
  if (path.filter !== null) return applyFiltered(container, name, op, path, value);
  if (sub !== null) {
    if (attribute.multiValued)
      return scimFail('scim_invalid_path', `select elements of ${name} with a filter, as in ${name}[type eq "work"].${sub.name}`);
    const inner = isObject(container[name]) ? container[name] : {};
    if (op === 'remove') Reflect.deleteProperty(inner, sub.name);
    else inner[sub.name] = value;
    container[name] = inner;
    return ok(undefined);
  }
  if (op === 'remove') {
    Reflect.deleteProperty(container, name);
    return ok(undefined);
  }
  if (attribute.multiValued) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    container[name] = op === 'add' && Array.isArray(container[name]) ? [...(container[name] as unknown[]), ...values] : values;
    return ok(undefined);
  }
  if (attribute.type === 'complex') {
    // Sub-attributes not in the value are left as they are (§3.5.2.1 and §3.5.2.3).
    if (!isObject(value)) return scimFail('scim_invalid_value', `${name} must be an object`);
    container[name] = { ...(isObject(container[name]) ? container[name] : {}), ...value };
    return ok(undefined);
  }
  container[name] = value;
  return ok(undefined);
}

/** `emails[type eq "work"]` and `emails[type eq "work"].value`: the elements the filter selects. */
function applyFiltered(
  container: Container,
  name: string,
  op: PatchOperation['op'],
  path: PatchPath,
  value: unknown,
): Result<void, ScimError> {
  const filter = path.filter;
  if (filter === null || path.ref.kind !== 'known') return ok(undefined);
  const parent = path.ref.attribute;
  const elements = Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
  const selected = elements.filter((element) => elementMatches(parent, element, filter));
  const sub = path.elementSub?.name;
  if (op === 'remove') {
    if (sub !== undefined) for (const element of selected) if (isObject(element)) Reflect.deleteProperty(element, sub);
    container[name] = sub !== undefined ? elements : elements.filter((element) => !selected.includes(element));
    return ok(undefined);
  }
  if (sub === undefined && !isObject(value)) return scimFail('scim_invalid_value', `each element of ${name} is an object`);
  if (selected.length === 0) {
    const described = elementFromFilter(filter);
    if (described === undefined) return scimFail('scim_no_target', `no element of ${name} matches the path's filter`);
    container[name] = [...elements, { ...described, ...(sub !== undefined ? { [sub]: value } : (value as Container)) }];
    return ok(undefined);
  }
  container[name] = elements.map((element) => {
    if (!selected.includes(element)) return element;
    if (sub !== undefined) return { ...(isObject(element) ? element : {}), [sub]: value };
    return op === 'add' ? { ...(isObject(element) ? element : {}), ...(value as Container) } : value;
  });
  return ok(undefined);
}

/** Operations one PATCH request may carry. */
export const MAX_OPERATIONS = 1000;

/**
 * Reads a PatchOp body (RFC 7644 §3.5.2): `Operations`, each with an op (compared
 * case-insensitively, see quirks.ts), an optional path and a value.
 */
export function parsePatchRequest(body: unknown): Result<PatchOperation[], ScimError> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return scimFail('scim_invalid_syntax', 'the body must be a PatchOp object');
  const entries = Object.entries(body as Record<string, unknown>);
  const operations = entries.find(([key]) => key.toLowerCase() === 'operations')?.[1];
  if (!Array.isArray(operations) || operations.length === 0)
    return scimFail('scim_invalid_syntax', `a PatchOp (${PATCH_OP_SCHEMA}) needs a non-empty Operations array`);
  if (operations.length > MAX_OPERATIONS) return scimFail('scim_invalid_value', `at most ${MAX_OPERATIONS} operations per request`);
  const out: PatchOperation[] = [];
  for (const [index, raw] of operations.entries()) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return scimFail('scim_invalid_syntax', `Operations[${index}] must be an object`);
    const fields = Object.fromEntries(
      Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]),
    ) as RawPatchOperation;
    const op = normalizeOp(fields.op);
    if (op === undefined) return scimFail('scim_invalid_syntax', `Operations[${index}].op must be add, remove or replace`);
    if (fields.path !== undefined && fields.path !== null && typeof fields.path !== 'string')
      return scimFail('scim_invalid_path', `Operations[${index}].path must be a string`);
    const path = typeof fields.path === 'string' && fields.path.trim() !== '' ? fields.path.trim() : undefined;
    out.push({ op, path, value: fields.value });
  }
  return ok(out);
}
