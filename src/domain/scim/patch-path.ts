import { err, ok, type Result } from '../result.ts';
import { resolveAttrPath, resolveSubAttr, type AttrRef } from './attribute-paths.ts';
import { scimFail, type ScimError } from './errors.ts';
import { parseValueFilter, tokenize, TokenStream, type Filter, type Literal } from './filter-parser.ts';
import type { AttributeDef, ResourceKind } from './schema.ts';

/**
 * A PATCH path (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`): the attribute, an
 * optional value filter selecting elements of a multi-valued attribute, and an optional
 * sub-attribute of those elements (`emails[type eq "work"].value`).
 */
export interface PatchPath {
  readonly ref: AttrRef;
  readonly filter: Filter | null;
  readonly elementSub: AttributeDef | null;
}

const invalidPath = (detail: string) => scimFail('scim_invalid_path', detail);

/** Parses and resolves a PATCH path against `kind`. */
export function parsePatchPath(kind: ResourceKind, path: string): Result<PatchPath, ScimError> {
  if (path.length > 1024) return invalidPath('the path is longer than 1024 characters');
  const tokens = tokenize(path);
  if (!tokens.ok) return invalidPath(`"${path}" is not a valid path: ${tokens.error.detail}`);
  const stream = new TokenStream(tokens.value);
  const head = stream.next();
  if (head?.t !== 'word') return invalidPath(`"${path}" is not a valid path`);
  const ref = resolveAttrPath(kind, head.v, true);
  if (!ref.ok) return invalidPath(ref.error);
  if (stream.atEnd()) return ok({ ref: ref.value, filter: null, elementSub: null });
  if (!stream.isPunct('[')) return invalidPath(`"${path}" is not a valid path`);
  if (ref.value.kind !== 'known' || !ref.value.attribute.multiValued || ref.value.sub !== null || ref.value.attribute.type !== 'complex')
    return invalidPath(`"${path}": a value filter applies to a multi-valued complex attribute`);
  stream.next();
  const filter = parseValueFilter(stream, 1);
  if (!filter.ok) return invalidPath(`"${path}" has an invalid filter: ${filter.error.detail}`);
  if (!stream.isPunct(']')) return invalidPath(`"${path}" is not a valid path`);
  stream.next();
  const check = checkElementFilter(ref.value.attribute, filter.value);
  if (!check.ok) return invalidPath(`"${path}": ${check.error}`);
  let elementSub: AttributeDef | null = null;
  const tail = stream.next();
  if (tail !== undefined) {
    if (tail.t !== 'word' || !tail.v.startsWith('.') || !stream.atEnd()) return invalidPath(`"${path}" is not a valid path`);
    const sub = resolveSubAttr(ref.value.attribute, tail.v.slice(1));
    if (!sub.ok) return invalidPath(sub.error);
    elementSub = sub.value;
  }
  return ok({ ref: ref.value, filter: filter.value, elementSub });
}

/** Every attribute a value filter names must be a sub-attribute of its parent. */
function checkElementFilter(parent: AttributeDef, filter: Filter): Result<void, string> {
  switch (filter.type) {
    case 'and':
    case 'or': {
      const left = checkElementFilter(parent, filter.left);
      return left.ok ? checkElementFilter(parent, filter.right) : left;
    }
    case 'not':
      return checkElementFilter(parent, filter.filter);
    case 'valuePath':
      return err('value filters cannot nest');
    default: {
      const sub = resolveSubAttr(parent, filter.path);
      return sub.ok ? ok(undefined) : err(sub.error);
    }
  }
}

/** Whether one element of `parent` (a stored object) satisfies a value filter, with the SQL compiler's semantics. */
export function elementMatches(parent: AttributeDef, element: unknown, filter: Filter): boolean {
  switch (filter.type) {
    case 'and':
      return elementMatches(parent, element, filter.left) && elementMatches(parent, element, filter.right);
    case 'or':
      return elementMatches(parent, element, filter.left) || elementMatches(parent, element, filter.right);
    case 'not':
      return !elementMatches(parent, element, filter.filter);
    case 'valuePath':
      return false;
    default: {
      const sub = resolveSubAttr(parent, filter.path);
      if (!sub.ok || typeof element !== 'object' || element === null) return false;
      const value = (element as Record<string, unknown>)[sub.value.name];
      const isPresent = value !== undefined && value !== null && value !== '';
      if (filter.type === 'present') return isPresent;
      return compareValue(sub.value, value, filter.op, filter.value, isPresent);
    }
  }
}

function compareValue(attribute: AttributeDef, value: unknown, op: string, literal: Literal, isPresent: boolean): boolean {
  if (literal.kind === 'null') return op === 'eq' ? !isPresent : op === 'ne' ? isPresent : false;
  if (literal.kind === 'boolean')
    return typeof value === 'boolean' && (op === 'eq' ? value === literal.value : op === 'ne' && value !== literal.value);
  if (literal.kind !== 'string' || typeof value !== 'string') return op === 'ne';
  const a = attribute.caseExact ? value : value.toLowerCase();
  const b = attribute.caseExact ? literal.value : literal.value.toLowerCase();
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
  return false;
}
