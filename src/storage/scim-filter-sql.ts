import { sql, type RawBuilder } from 'kysely';
import { ok, type Result } from '../domain/result.ts';
import { resolveAttrPath, resolveSubAttr } from '../domain/scim/attribute-paths.ts';
import { scimFail, type ScimError } from '../domain/scim/errors.ts';
import type { CompareOp, Filter, Literal } from '../domain/scim/filter-parser.ts';
import { filterColumns, type Scalar, type Source } from './scim-filter-columns.ts';
import type { AttributeDef, ResourceKind } from '../domain/scim/schema.ts';

/**
 * Compiles a filter AST to one SQL boolean over `directory_users` or `directory_groups`
 * (RFC 7644 §3.4.2.2). Lookups IdPs make (`userName eq`, `externalId eq`, `id eq`, `displayName eq`,
 * `emails.value eq`) become comparisons the table's indexes serve; everything else is evaluated in
 * SQL over the stored resource, never by loading a directory. Comparisons are left bare so the
 * indexes serve them (an absent attribute makes them null, which a WHERE treats as false); `not`
 * and `ne` turn null into false first, so they mean what the RFC says. Anything the server
 * cannot compare faithfully is an invalidFilter error, never a wrong list.
 */
export type SqlBool = RawBuilder<boolean>;

const fail = (detail: string) => scimFail('scim_invalid_filter', detail);

/** The SQL condition for `filter` over `kind`'s table. */
export function compileFilter(kind: ResourceKind, filter: Filter): Result<SqlBool, ScimError> {
  return compile(kind, filter);
}

function compile(kind: ResourceKind, filter: Filter): Result<SqlBool, ScimError> {
  switch (filter.type) {
    case 'and':
    case 'or': {
      const left = compile(kind, filter.left);
      if (!left.ok) return left;
      const right = compile(kind, filter.right);
      if (!right.ok) return right;
      return ok(filter.type === 'and' ? sql<boolean>`(${left.value} and ${right.value})` : sql<boolean>`(${left.value} or ${right.value})`);
    }
    case 'not': {
      const inner = compile(kind, filter.filter);
      return inner.ok ? ok(negate(inner.value)) : inner;
    }
    case 'valuePath':
      return compileValuePath(kind, filter.path, filter.filter);
    case 'present':
    case 'compare':
      return compileAttrExp(kind, filter);
  }
}

/** `emails[type eq "work" and value co "@acme.com"]`: some element satisfies the inner filter. */
function compileValuePath(kind: ResourceKind, path: string, inner: Filter): Result<SqlBool, ScimError> {
  const ref = resolveAttrPath(kind, path, false);
  if (!ref.ok) return fail(ref.error);
  if (ref.value.kind !== 'known' || ref.value.sub !== null || ref.value.attribute.type !== 'complex')
    return fail(`"${path}[…]" needs a complex attribute before the brackets`);
  const source = filterColumns.source(kind, ref.value);
  if (source === undefined) return fail(`"${path}" cannot be filtered`);
  const attribute = ref.value.attribute;
  const condition = compileElement(source, attribute, inner);
  return condition.ok ? ok(source.exists(condition.value)) : condition;
}

/** The inner filter of a value path, over one element of `source`. */
function compileElement(source: Source, parent: AttributeDef, filter: Filter): Result<SqlBool, ScimError> {
  switch (filter.type) {
    case 'and':
    case 'or': {
      const left = compileElement(source, parent, filter.left);
      if (!left.ok) return left;
      const right = compileElement(source, parent, filter.right);
      if (!right.ok) return right;
      return ok(filter.type === 'and' ? sql<boolean>`(${left.value} and ${right.value})` : sql<boolean>`(${left.value} or ${right.value})`);
    }
    case 'not': {
      const inner = compileElement(source, parent, filter.filter);
      return inner.ok ? ok(negate(inner.value)) : inner;
    }
    case 'valuePath':
      return fail('value filters cannot nest');
    case 'present':
    case 'compare': {
      const sub = resolveSubAttr(parent, filter.path);
      if (!sub.ok) return fail(sub.error);
      const scalar = source.element(sub.value);
      if (scalar === undefined) return fail(`"${parent.name}.${sub.value.name}" cannot be filtered`);
      return filter.type === 'present' ? ok(present(scalar)) : compare(scalar, filter.op, filter.value, `${parent.name}.${sub.value.name}`);
    }
  }
}

function compileAttrExp(kind: ResourceKind, filter: Filter & { type: 'present' | 'compare' }): Result<SqlBool, ScimError> {
  const resolved = resolveAttrPath(kind, filter.path, false);
  if (!resolved.ok) return fail(resolved.error);
  const ref = resolved.value;
  if (ref.kind !== 'known') return fail(`"${filter.path}" cannot be filtered`);
  if (ref.attribute.returned === 'never') return fail(`"${ref.attribute.name}" is never returned and cannot be filtered`);
  const fast = filter.type === 'compare' ? filterColumns.indexedLookup(kind, ref, filter.op, filter.value) : undefined;
  if (fast !== undefined) return ok(fast);
  if (ref.attribute.multiValued) {
    // `emails.value co "x"`, or `emails co "x"` (a complex attribute without sub-attribute compares its value): some element.
    const source = filterColumns.source(kind, ref);
    if (source === undefined) return fail(`"${filter.path}" cannot be filtered`);
    if (filter.type === 'present' && ref.sub === null) return ok(source.exists(sql<boolean>`true`));
    const subName = ref.sub?.name ?? 'value';
    const sub = resolveSubAttr(ref.attribute, subName);
    if (!sub.ok) return fail(sub.error);
    const scalar = source.element(sub.value);
    if (scalar === undefined) return fail(`"${filter.path}" cannot be filtered`);
    const condition = filter.type === 'present' ? ok(present(scalar)) : compare(scalar, filter.op, filter.value, filter.path);
    return condition.ok ? ok(source.exists(condition.value)) : condition;
  }
  const scalar = filterColumns.scalar(kind, ref);
  if (scalar === undefined) return fail(`"${filter.path}" cannot be filtered`);
  return filter.type === 'present' ? ok(present(scalar)) : compare(scalar, filter.op, filter.value, filter.path);
}

/** Logical not over SQL's three values: an unknown (absent) comparison counts as false first. */
function negate(condition: SqlBool): SqlBool {
  return sql<boolean>`(not coalesce(${condition}, false))`;
}

/** `pr`: has a value that is not null, not empty (RFC 7644 §3.4.2.2, table 3). */
function present(scalar: Scalar): SqlBool {
  switch (scalar.type) {
    case 'complex':
      return sql<boolean>`(jsonb_typeof(${scalar.sql}) = 'object' and ${scalar.sql} <> '{}'::jsonb)`;
    case 'boolean':
    case 'dateTime':
      return sql<boolean>`(${scalar.sql} is not null)`;
    default:
      return sql<boolean>`(${scalar.sql} <> '')`;
  }
}

function compare(scalar: Scalar, op: CompareOp, literal: Literal, path: string): Result<SqlBool, ScimError> {
  if (literal.kind === 'null') {
    // `eq null` / `ne null` ask whether the attribute is unassigned (RFC 7643 §2.5).
    if (op === 'eq') return ok(negate(present(scalar)));
    if (op === 'ne') return ok(present(scalar));
    return fail(`"${path} ${op} null" compares nothing`);
  }
  switch (scalar.type) {
    case 'string':
    case 'reference':
      return compareString(scalar, op, literal, path);
    case 'boolean':
      return compareBoolean(scalar, op, literal, path);
    case 'dateTime':
      return compareDate(scalar, op, literal, path);
    default:
      return fail(`"${path}" is ${scalar.type === 'complex' ? 'complex: compare one of its sub-attributes' : `of type ${scalar.type}`}`);
  }
}

function compareString(scalar: Scalar, op: CompareOp, literal: Literal, path: string): Result<SqlBool, ScimError> {
  if (literal.kind !== 'string') return fail(`"${path}" is a string: compare it with a "string"`);
  const a = scalar.caseExact ? scalar.sql : sql`lower(${scalar.sql})`;
  const b = scalar.caseExact ? sql`${literal.value}::text` : sql`lower(${literal.value}::text)`;
  const bool = (condition: RawBuilder<unknown>) => sql<boolean>`(${condition})`;
  switch (op) {
    case 'eq':
      return ok(bool(sql`${a} = ${b}`));
    case 'ne':
      return ok(negate(sql<boolean>`${a} = ${b}`));
    case 'co':
      return ok(bool(sql`strpos(${a}, ${b}) > 0`));
    case 'sw':
      return ok(bool(sql`starts_with(${a}, ${b})`));
    case 'ew':
      return ok(bool(sql`right(${a}, char_length(${b})) = ${b}`));
    // Ordering compares code points (the C collation), the same on every database.
    case 'gt':
      return ok(bool(sql`${a} collate "C" > ${b} collate "C"`));
    case 'ge':
      return ok(bool(sql`${a} collate "C" >= ${b} collate "C"`));
    case 'lt':
      return ok(bool(sql`${a} collate "C" < ${b} collate "C"`));
    case 'le':
      return ok(bool(sql`${a} collate "C" <= ${b} collate "C"`));
  }
}

function compareBoolean(scalar: Scalar, op: CompareOp, literal: Literal, path: string): Result<SqlBool, ScimError> {
  // Booleans only compare for equality (RFC 7644 §3.4.2.2: gt/ge/lt/le on booleans SHALL fail).
  if (literal.kind !== 'boolean') return fail(`"${path}" is a boolean: compare it with true or false`);
  if (op !== 'eq' && op !== 'ne') return fail(`"${path}" is a boolean: only eq and ne apply`);
  const equal = scalar.json
    ? sql<boolean>`(${scalar.sql} = ${literal.value ? 'true' : 'false'})`
    : sql<boolean>`(${scalar.sql} = ${literal.value})`;
  return ok(op === 'eq' ? equal : negate(equal));
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const OPERATOR_SQL = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

function compareDate(scalar: Scalar, op: CompareOp, literal: Literal, path: string): Result<SqlBool, ScimError> {
  // xsd:dateTime with a time zone (RFC 7643 §2.3.5); a date without one would compare against an unknown zone.
  if (literal.kind !== 'string' || !DATE_TIME.test(literal.value) || Number.isNaN(Date.parse(literal.value)))
    return fail(`"${path}" is a dateTime: compare it with a "YYYY-MM-DDThh:mm:ssZ" string`);
  if (op === 'co' || op === 'sw' || op === 'ew') return fail(`"${path}" is a dateTime: ${op} does not apply`);
  const at = new Date(literal.value);
  if (op === 'ne') return ok(negate(sql<boolean>`${scalar.sql} = ${at}::timestamptz`));
  return ok(sql<boolean>`(${scalar.sql} ${sql.raw(OPERATOR_SQL[op])} ${at}::timestamptz)`);
}
