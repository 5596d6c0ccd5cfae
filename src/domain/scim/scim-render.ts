import type { DirectoryGroupRow, DirectoryUserRow } from '../../storage/schema.ts';
import type { StoredResource } from './resource-input.ts';
import { GROUP_KIND, GROUP_SCHEMA, USER_KIND, USER_SCHEMA, type ResourceKind } from './schema.ts';

/**
 * SCIM resources as the API returns them (RFC 7643 §3.1): the stored attributes with `id`,
 * read-only `groups` / `members` from the membership rows, and `meta` (resourceType, created,
 * lastModified, location, version as a weak ETag, RFC 7644 §3.14).
 */

/** The weak ETag of a resource version. */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

function meta(resourceType: 'User' | 'Group', row: { id: string; created_at: Date; updated_at: Date; version: number }, baseUrl: string) {
  return {
    resourceType,
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location: `${baseUrl}/${resourceType}s/${row.id}`,
    version: etagOf(row.version),
  };
}

/**
 * Orders the keys as people read them: schemas, id, externalId, the schema's attributes in its
 * order, extensions and other attributes, meta (jsonb keeps keys in its own order).
 */
function arrange(
  kind: ResourceKind,
  schemas: unknown,
  id: string,
  stored: StoredResource,
  extra: Record<string, unknown>,
  metaValue: unknown,
) {
  const out: Record<string, unknown> = { schemas, id };
  if (stored.externalId !== undefined) out.externalId = stored.externalId;
  for (const attribute of kind.core.attributes) {
    const value = attribute.name in extra ? extra[attribute.name] : stored[attribute.name];
    if (value !== undefined) out[attribute.name] = value;
  }
  for (const [key, value] of Object.entries(stored)) if (!(key in out) && key !== 'schemas') out[key] = value;
  out.meta = metaValue;
  return out;
}

export function renderUser(
  row: DirectoryUserRow,
  groups: readonly { id: string; display_name: string }[],
  baseUrl: string,
): Record<string, unknown> {
  const schemas = Array.isArray(row.resource.schemas) ? row.resource.schemas : [USER_SCHEMA];
  const extra =
    groups.length > 0
      ? { groups: groups.map((g) => ({ value: g.id, $ref: `${baseUrl}/Groups/${g.id}`, display: g.display_name, type: 'direct' })) }
      : {};
  return arrange(USER_KIND, schemas, row.id, row.resource, extra, meta('User', row, baseUrl));
}

/** A group; `members` undefined when the projection leaves them out (they are then not read). */
export function renderGroup(
  row: DirectoryGroupRow,
  members: readonly { id: string; user_name: string }[] | undefined,
  baseUrl: string,
): Record<string, unknown> {
  const schemas = Array.isArray(row.resource.schemas) ? row.resource.schemas : [GROUP_SCHEMA];
  const extra =
    members !== undefined && members.length > 0
      ? { members: members.map((m) => ({ value: m.id, $ref: `${baseUrl}/Users/${m.id}`, display: m.user_name, type: 'User' })) }
      : {};
  return arrange(GROUP_KIND, schemas, row.id, row.resource, extra, meta('Group', row, baseUrl));
}

/** The indexed columns of a stored user resource. */
export function userColumns(resource: StoredResource) {
  const emails = Array.isArray(resource.emails) ? (resource.emails as Record<string, unknown>[]) : [];
  const email =
    emails.find((e) => e.primary === true) ??
    emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    emails[0];
  const name = (typeof resource.name === 'object' && resource.name !== null ? resource.name : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    user_name: String(resource.userName),
    external_id: text(resource.externalId),
    // An absent `active` is active: RFC 7643 §4.1.1 leaves it to the service provider, and every IdP sends it.
    active: resource.active !== false,
    email: text(email?.value),
    email_values: [...new Set(emails.map((e) => text(e.value)?.toLowerCase()).filter((v): v is string => v !== undefined))],
    given_name: text(name.givenName),
    family_name: text(name.familyName),
    display_name: text(resource.displayName),
  };
}

/** The indexed columns of a stored group resource. */
export function groupColumns(resource: StoredResource) {
  return { display_name: String(resource.displayName), external_id: typeof resource.externalId === 'string' ? resource.externalId : null };
}
