import { sql, type RawBuilder } from 'kysely';
import type { AttrRef } from '../domain/scim/attribute-paths.ts';
import type { CompareOp, Literal } from '../domain/scim/filter-parser.ts';
import type { SqlBool } from './scim-filter-sql.ts';
import type { AttributeDef, AttributeType, ResourceKind } from '../domain/scim/schema.ts';

/**
 * Where each SCIM attribute lives in SQL: indexed columns for the attributes IdPs look resources
 * up by, the stored resource (jsonb) for the rest, membership rows for `members` and `groups`.
 * Every identifier here is a constant: nothing from a request is ever spliced into SQL text.
 */

/** A single value: its SQL (text, boolean, timestamptz or jsonb for complex) and how it compares. */
export interface Scalar {
  readonly sql: RawBuilder<unknown>;
  readonly type: AttributeType;
  readonly caseExact: boolean;
  /** True when the value is jsonb text (booleans then read as 'true' / 'false'). */
  readonly json: boolean;
}

/** The elements of a multi-valued attribute: a test that some element satisfies a condition. */
export interface Source {
  exists(condition: SqlBool): SqlBool;
  element(sub: AttributeDef): Scalar | undefined;
}

type Ref = Extract<AttrRef, { kind: 'known' }>;

const column = (table: string, name: string, type: AttributeType, caseExact: boolean): Scalar => ({
  sql: sql.ref(`${table}.${name}`),
  type,
  caseExact,
  json: false,
});
const constant = (value: string): Scalar => ({ sql: sql`${sql.lit(value)}::text`, type: 'string', caseExact: true, json: false });

function tableOf(kind: ResourceKind): 'directory_users' | 'directory_groups' {
  return kind.name === 'User' ? 'directory_users' : 'directory_groups';
}

/** id, externalId and meta, which every resource has as columns. */
function commonScalar(kind: ResourceKind, ref: Ref): Scalar | undefined {
  const table = tableOf(kind);
  switch (ref.attribute.name) {
    case 'id':
      return column(table, 'id', 'string', true);
    case 'externalId':
      return column(table, 'external_id', 'string', true);
    case 'meta':
      switch (ref.sub?.name) {
        case 'created':
          return column(table, 'created_at', 'dateTime', true);
        case 'lastModified':
          return column(table, 'updated_at', 'dateTime', true);
        case 'resourceType':
          return constant(kind.name);
      }
  }
  return undefined;
}

/** The indexed columns of a user's own attributes. */
function userColumn(ref: Ref): Scalar | undefined {
  if (ref.extension !== null) return undefined;
  const name = ref.sub === null ? ref.attribute.name : `${ref.attribute.name}.${ref.sub.name}`;
  switch (name) {
    case 'userName':
      return column('directory_users', 'user_name', 'string', false);
    case 'displayName':
      return column('directory_users', 'display_name', 'string', false);
    case 'active':
      return column('directory_users', 'active', 'boolean', true);
    case 'name.givenName':
      return column('directory_users', 'given_name', 'string', false);
    case 'name.familyName':
      return column('directory_users', 'family_name', 'string', false);
  }
  return undefined;
}

/** A value inside the stored resource: `resource -> [extension] -> attribute [-> sub]`. */
function jsonScalar(kind: ResourceKind, ref: Ref): Scalar {
  const keys = [...(ref.extension !== null ? [ref.extension.id] : []), ref.attribute.name, ...(ref.sub !== null ? [ref.sub.name] : [])];
  const target = ref.sub ?? ref.attribute;
  let expression: RawBuilder<unknown> = sql.ref(`${tableOf(kind)}.resource`);
  keys.forEach((key, i) => {
    const last = i === keys.length - 1;
    expression = last && target.type !== 'complex' ? sql`(${expression} ->> ${sql.lit(key)})` : sql`(${expression} -> ${sql.lit(key)})`;
  });
  return { sql: expression, type: target.type, caseExact: target.caseExact, json: true };
}

/** A single-valued attribute (or a sub-attribute of a single-valued complex one) as SQL. */
function scalar(kind: ResourceKind, ref: Ref): Scalar | undefined {
  if (ref.attribute.name === 'meta' || ref.attribute.name === 'id' || ref.attribute.name === 'externalId') return commonScalar(kind, ref);
  if (kind.name === 'User') return userColumn(ref) ?? jsonScalar(kind, ref);
  if (ref.attribute.name === 'displayName') return column('directory_groups', 'display_name', 'string', false);
  return jsonScalar(kind, ref);
}

/** The elements of a multi-valued attribute stored as a JSON array in the resource. */
function jsonArraySource(kind: ResourceKind, ref: Ref): Source {
  const array = sql`(${sql.ref(`${tableOf(kind)}.resource`)} -> ${sql.lit(ref.attribute.name)})`;
  const elements = sql`jsonb_array_elements(case when jsonb_typeof(${array}) = 'array' then ${array} else '[]'::jsonb end)`;
  return {
    exists: (condition) => sql<boolean>`exists (select 1 from ${elements} as element(v) where ${condition})`,
    element: (sub) => ({
      sql: sub.type === 'complex' ? sql`(element.v -> ${sql.lit(sub.name)})` : sql`(element.v ->> ${sql.lit(sub.name)})`,
      type: sub.type,
      caseExact: sub.caseExact,
      json: true,
    }),
  };
}

/** A group's members, or a user's groups, from the membership rows. */
function membershipSource(kind: ResourceKind): Source {
  if (kind.name === 'Group') {
    return {
      exists: (condition) =>
        sql<boolean>`exists (select 1 from directory_group_members as m join directory_users as mu on mu.id = m.user_id where m.group_id = directory_groups.id and ${condition})`,
      element: (sub) =>
        sub.name === 'value'
          ? column('m', 'user_id', 'string', true)
          : sub.name === 'display'
            ? column('mu', 'user_name', 'string', false)
            : sub.name === 'type'
              ? constant('User')
              : undefined,
    };
  }
  return {
    exists: (condition) =>
      sql<boolean>`exists (select 1 from directory_group_members as m join directory_groups as mg on mg.id = m.group_id where m.user_id = directory_users.id and ${condition})`,
    element: (sub) =>
      sub.name === 'value'
        ? column('m', 'group_id', 'string', true)
        : sub.name === 'display'
          ? column('mg', 'display_name', 'string', false)
          : sub.name === 'type'
            ? constant('direct')
            : undefined,
  };
}

function source(kind: ResourceKind, ref: Ref): Source | undefined {
  if (!ref.attribute.multiValued) return undefined;
  if ((kind.name === 'Group' && ref.attribute.name === 'members') || (kind.name === 'User' && ref.attribute.name === 'groups'))
    return membershipSource(kind);
  return jsonArraySource(kind, ref);
}

/**
 * `emails.value eq "…"` (and `emails eq "…"`), the lookup Entra ID makes, as containment in the
 * lower-cased email list that a GIN index serves (emails.value is caseExact=false, RFC 7643 §4.1.2).
 */
function indexedLookup(kind: ResourceKind, ref: Ref, op: CompareOp, literal: Literal): SqlBool | undefined {
  const isEmailValue =
    kind.name === 'User' && ref.extension === null && ref.attribute.name === 'emails' && (ref.sub?.name ?? 'value') === 'value';
  if (!isEmailValue || op !== 'eq' || literal.kind !== 'string') return undefined;
  return sql<boolean>`(directory_users.email_values @> ${JSON.stringify([literal.value.toLowerCase()])}::jsonb)`;
}

/**
 * An expression to sort by (RFC 7644 §3.4.2.3); multi-valued attributes sort by their primary
 * value. Strings that compare case-insensitively sort that way too, by code point (the C
 * collation), so the order is the same on every database.
 */
function sortKey(kind: ResourceKind, ref: Ref): Scalar | undefined {
  const isEmails =
    kind.name === 'User' && ref.extension === null && ref.attribute.name === 'emails' && (ref.sub?.name ?? 'value') === 'value';
  if (!isEmails && (ref.attribute.multiValued || (ref.sub === null && ref.attribute.type === 'complex'))) return undefined;
  const key = isEmails ? column('directory_users', 'email', 'string', false) : scalar(kind, ref);
  if (key === undefined || (key.type !== 'string' && key.type !== 'reference')) return key;
  return { ...key, sql: key.caseExact ? sql`(${key.sql} collate "C")` : sql`(lower(${key.sql}) collate "C")` };
}

export const filterColumns = { scalar, source, indexedLookup, sortKey };
