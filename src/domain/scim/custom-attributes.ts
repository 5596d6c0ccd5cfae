import { err, ok, type Result } from '../result.ts';
import type { ScimError } from './errors.ts';
import { elementMatches, parsePatchPath, type PatchPath } from './patch-path.ts';
import { USER_KIND } from './schema.ts';

/**
 * customAttributes of a directory user: each name of the directory's mapping reads one SCIM
 * attribute path from the stored resource (`title`, `name.formatted`,
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`,
 * `emails[type eq "work"].value`, or a custom extension's attribute).
 */
export function readCustomAttributes(
  resource: Record<string, unknown>,
  mapping: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(mapping)) {
    const parsed = parsePatchPath(USER_KIND, path);
    if (!parsed.ok) continue;
    const value = readPath(resource, parsed.value);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Checks that every path of a mapping parses, so a mistake shows when the mapping is saved. */
export function checkCustomAttributeMapping(mapping: Readonly<Record<string, string>>): Result<void, { name: string; error: ScimError }> {
  for (const [name, path] of Object.entries(mapping)) {
    const parsed = parsePatchPath(USER_KIND, path);
    if (!parsed.ok) return err({ name, error: parsed.error });
  }
  return ok(undefined);
}

const findKey = (object: Record<string, unknown>, name: string) => Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function child(object: unknown, name: string | null): unknown {
  if (name === null) return object;
  if (!isObject(object)) return undefined;
  const key = findKey(object, name);
  return key === undefined ? undefined : object[key];
}

function readPath(resource: Record<string, unknown>, path: PatchPath): unknown {
  const ref = path.ref;
  const container = child(resource, ref.kind === 'opaque' ? ref.container : (ref.extension?.id ?? null));
  const name = ref.kind === 'opaque' ? ref.name : ref.attribute.name;
  const sub = ref.kind === 'opaque' ? ref.sub : (ref.sub?.name ?? null);
  const value = child(container, name);
  if (path.filter === null || ref.kind !== 'known') return sub === null ? value : child(value, sub);
  const filter = path.filter;
  const element: unknown = Array.isArray(value) ? value.find((e) => elementMatches(ref.attribute, e, filter)) : undefined;
  return path.elementSub === null ? element : child(element, path.elementSub.name);
}
