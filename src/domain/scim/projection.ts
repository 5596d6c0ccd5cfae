import type { AttrRef } from './attribute-paths.ts';
import type { Projection } from './list-query.ts';

/**
 * Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) to a resource as it would be
 * returned. `id` and `schemas` are always returned (RFC 7643 §3.1, §3: returned "always").
 */
export function project(resource: Record<string, unknown>, projection: Projection): Record<string, unknown> {
  if (projection.attributes === null && projection.excluded.length === 0) return resource;
  let out: Record<string, unknown>;
  if (projection.attributes !== null) {
    out = { schemas: resource.schemas, id: resource.id };
    for (const ref of projection.attributes) copy(resource, out, ref);
  } else {
    out = structuredClone(resource);
  }
  for (const ref of projection.excluded) remove(out, ref);
  return out;
}

/** True when the projection leaves a group's members out, so they need not be read. */
export function omitsAttribute(projection: Projection, name: string): boolean {
  const names = (refs: readonly AttrRef[]) =>
    refs.some((r) => r.kind === 'known' && r.extension === null && r.attribute.name === name && r.sub === null);
  if (names(projection.excluded)) return true;
  return projection.attributes !== null && !projection.attributes.some((r) => r.kind === 'known' && r.attribute.name === name);
}

type Location = { container: string | null; name: string; sub: string | null };

function locate(ref: AttrRef): Location | null {
  if (ref.kind === 'opaque') return { container: ref.container, name: ref.name, sub: ref.sub };
  if (ref.extension === null && (ref.attribute.name === 'id' || ref.attribute.name === 'schemas')) return null;
  return { container: ref.extension?.id ?? null, name: ref.attribute.name, sub: ref.sub?.name ?? null };
}

const findKey = (object: Record<string, unknown>, name: string) => Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function copy(from: Record<string, unknown>, to: Record<string, unknown>, ref: AttrRef): void {
  const at = locate(ref);
  if (at === null) return;
  let source: Record<string, unknown> = from;
  let target: Record<string, unknown> = to;
  if (at.container !== null) {
    const key = findKey(from, at.container);
    if (key === undefined || !isObject(from[key])) return;
    source = from[key];
    target = isObject(to[key]) ? to[key] : (to[key] = {});
  }
  const key = findKey(source, at.name);
  if (key === undefined) return;
  const value = source[key];
  if (at.sub === null) {
    target[key] = value;
    return;
  }
  const sub = at.sub;
  // A sub-attribute of a multi-valued attribute keeps that sub-attribute of each element (`emails.value`).
  if (Array.isArray(value)) {
    target[key] = value.map((element) => (isObject(element) && element[sub] !== undefined ? { [sub]: element[sub] } : {}));
  } else if (isObject(value) && value[sub] !== undefined) {
    target[key] = { ...(isObject(target[key]) ? target[key] : {}), [sub]: value[sub] };
  }
}

function remove(from: Record<string, unknown>, ref: AttrRef): void {
  const at = locate(ref);
  if (at === null) return;
  let container: Record<string, unknown> = from;
  if (at.container !== null) {
    const key = findKey(from, at.container);
    if (key === undefined || !isObject(from[key])) return;
    container = from[key];
  }
  const key = findKey(container, at.name);
  if (key === undefined) return;
  if (at.sub === null) {
    Reflect.deleteProperty(container, key);
    return;
  }
  const value = container[key];
  const elements = Array.isArray(value) ? value : [value];
  for (const element of elements) if (isObject(element)) Reflect.deleteProperty(element, at.sub);
}
