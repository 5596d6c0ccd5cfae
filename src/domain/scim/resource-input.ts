import { ok, type Result } from '../result.ts';
import { scimFail, type ScimError } from './errors.ts';
import { booleanFromString } from './quirks.ts';
import { coreAttributes, findAttribute, findExtension, type AttributeDef, type ResourceKind } from './schema.ts';

/**
 * Turns a resource as a client sent it (POST, PUT, or the result of a PATCH) into the stored form
 * (RFC 7643): attribute names in their canonical spelling (names are case-insensitive, §2.1),
 * values checked against their types, read-only attributes ignored (RFC 7644 §3.5.1), the password
 * dropped (never stored), unassigned values (null, "", [], {}) left out (§2.5), at most one
 * primary value per multi-valued attribute (§2.4). Attributes the schema does not define (custom
 * extensions mapped by the IdP's admin) are kept as sent.
 */

export type StoredResource = Record<string, unknown>;

/** Bounds on one resource. */
export const RESOURCE_LIMITS = { maxValuesPerAttribute: 100, maxStringLength: 2048, maxOpaqueBytes: 16_384 } as const;

const invalid = (detail: string) => scimFail('scim_invalid_value', detail);

/** The stored form of `input` for `kind`, or the first problem found. `members` of groups are left to the caller. */
export function normalizeResource(kind: ResourceKind, input: unknown): Result<StoredResource, ScimError> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return scimFail('scim_invalid_syntax', 'the body must be a JSON object');
  const out: StoredResource = {};
  const opaque: Record<string, unknown> = {};
  for (const [key, value] of flattenCore(kind, input as Record<string, unknown>)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') continue;
    if (lower.startsWith('urn:')) {
      const placed = placeUrnKey(kind, key, value, out, opaque);
      if (!placed.ok) return placed;
      continue;
    }
    const attribute = findAttribute(coreAttributes(kind), key);
    if (attribute === undefined) {
      opaque[key] = value;
      continue;
    }
    if (
      attribute.mutability === 'readOnly' ||
      attribute.mutability === 'writeOnly' ||
      (kind.name === 'Group' && attribute.name === 'members')
    )
      continue;
    const normalized = normalizeValue(attribute, value, attribute.name);
    if (!normalized.ok) return normalized;
    if (normalized.value === undefined) Reflect.deleteProperty(out, attribute.name);
    else out[attribute.name] = normalized.value;
  }
  const kept = keepOpaque(opaque, out);
  if (!kept.ok) return kept;
  const required = kind.core.attributes.filter((a) => a.required && out[a.name] === undefined);
  if (required.length > 0) return invalid(`${required.map((a) => a.name).join(', ')} is required`);
  out.schemas = [kind.core.id, ...Object.keys(out).filter((k) => k.toLowerCase().startsWith('urn:'))];
  return ok(out);
}

/** The body's entries, with attributes given under the core schema's URN (RFC 7644 §3.10's qualified form) lifted to the top. */
function flattenCore(kind: ResourceKind, input: Record<string, unknown>): [string, unknown][] {
  const core = kind.core.id.toLowerCase();
  return Object.entries(input).flatMap(([key, value]): [string, unknown][] =>
    key.toLowerCase() === core && typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.entries(value as Record<string, unknown>)
      : [[key, value]],
  );
}

/** A top-level `urn:…` key: a known extension's object, or something opaque. */
function placeUrnKey(
  kind: ResourceKind,
  key: string,
  value: unknown,
  out: StoredResource,
  opaque: Record<string, unknown>,
): Result<void, ScimError> {
  const extension = findExtension(kind, key);
  if (extension === undefined) {
    opaque[key] = value;
    return ok(undefined);
  }
  if (value === null) return ok(undefined);
  if (typeof value !== 'object' || Array.isArray(value)) return invalid(`${extension.id} must be an object`);
  const inner: StoredResource = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    const attribute = findAttribute(extension.attributes, name);
    if (attribute === undefined) return invalid(`${extension.id}:${name} is not an attribute of the ${extension.name} schema`);
    const normalized = normalizeValue(attribute, item, `${extension.id}:${attribute.name}`);
    if (!normalized.ok) return normalized;
    if (normalized.value !== undefined) inner[attribute.name] = normalized.value;
  }
  if (Object.keys(inner).length > 0) out[extension.id] = inner;
  return ok(undefined);
}

/** Attributes no schema defines, kept as sent (nulls dropped), within a size bound. */
function keepOpaque(opaque: Record<string, unknown>, out: StoredResource): Result<void, ScimError> {
  const entries = Object.entries(opaque).filter(([, v]) => v !== null && v !== '');
  if (JSON.stringify(Object.fromEntries(entries)).length > RESOURCE_LIMITS.maxOpaqueBytes)
    return invalid(`attributes outside the schema take more than ${RESOURCE_LIMITS.maxOpaqueBytes} bytes`);
  for (const [key, value] of entries) out[key] = value;
  return ok(undefined);
}

/** A value of `attribute` in stored form; undefined when unassigned. */
export function normalizeValue(attribute: AttributeDef, value: unknown, path: string): Result<unknown, ScimError> {
  if (value === null || value === undefined) return ok(undefined);
  if (!attribute.multiValued) return normalizeSingle(attribute, value, path);
  const items = Array.isArray(value) ? value : [value];
  if (items.length > RESOURCE_LIMITS.maxValuesPerAttribute)
    return invalid(`${path} has more than ${RESOURCE_LIMITS.maxValuesPerAttribute} values`);
  const out: unknown[] = [];
  for (const item of items) {
    const normalized = normalizeSingle(attribute, item, path);
    if (!normalized.ok) return normalized;
    if (normalized.value !== undefined && !out.some((o) => JSON.stringify(o) === JSON.stringify(normalized.value)))
      out.push(normalized.value);
  }
  let primarySeen = false;
  for (const item of out) {
    if (typeof item !== 'object' || item === null || (item as StoredResource).primary !== true) continue;
    if (primarySeen) (item as StoredResource).primary = false;
    primarySeen = true;
  }
  return ok(out.length === 0 ? undefined : out);
}

function normalizeSingle(attribute: AttributeDef, value: unknown, path: string): Result<unknown, ScimError> {
  if (value === null || value === undefined) return ok(undefined);
  if (attribute.type !== 'complex') return normalizeSimple(attribute, value, path);
  if (typeof value !== 'object' || Array.isArray(value)) return invalid(`${path} must be an object`);
  const out: StoredResource = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    const sub = findAttribute(attribute.subAttributes ?? [], name);
    // Unknown sub-attributes of a known complex attribute are dropped, like read-only ones.
    if (sub === undefined || sub.mutability === 'readOnly') continue;
    const normalized = normalizeSimple(sub, item, `${path}.${sub.name}`);
    if (!normalized.ok) return normalized;
    if (normalized.value !== undefined) out[sub.name] = normalized.value;
  }
  return ok(Object.keys(out).length === 0 ? undefined : out);
}

function normalizeSimple(attribute: AttributeDef, value: unknown, path: string): Result<unknown, ScimError> {
  if (value === null || value === undefined) return ok(undefined);
  switch (attribute.type) {
    case 'boolean': {
      const bool = booleanFromString(value);
      return typeof bool === 'boolean' ? ok(bool) : invalid(`${path} must be true or false`);
    }
    case 'string':
    case 'reference': {
      // Numbers are taken as their text: employee numbers arrive as either.
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      if (typeof text !== 'string') return invalid(`${path} must be a string`);
      if (text.length > RESOURCE_LIMITS.maxStringLength)
        return invalid(`${path} is longer than ${RESOURCE_LIMITS.maxStringLength} characters`);
      return ok(text === '' ? undefined : text);
    }
    default:
      return invalid(`${path} cannot be set`);
  }
}
