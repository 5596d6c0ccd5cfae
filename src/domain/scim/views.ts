import { Type, type Static } from 'typebox';
import type { DirectoryGroupRow, DirectoryRequestRow, DirectoryRow, DirectoryUserRow } from '../../storage/schema.ts';
import { readCustomAttributes } from './custom-attributes.ts';

/**
 * What the app sees of directory sync: directories, and the users and groups their IdP provisioned,
 * normalized (the SCIM resource stays available as rawAttributes). One TypeBox schema per shape,
 * used for the management API's responses and for the event payloads.
 */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });

export const PROVIDERS = ['okta', 'entra', 'jumpcloud', 'onelogin', 'pingfederate', 'rippling', 'generic'] as const;
export type DirectoryProvider = (typeof PROVIDERS)[number];

export const DirectoryOptionsSchema = Type.Object(
  {
    refuseInactiveUsers: Type.Boolean({ description: 'Refuse SSO logins of directory users the IdP deactivated (default true)' }),
    customAttributes: Type.Record(Type.String(), Type.String(), {
      description: 'customAttributes of each directory user: name → SCIM attribute path (e.g. "urn:…:enterprise:2.0:User:department")',
    }),
  },
  { additionalProperties: false },
);

export const DirectorySchema = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    name: Type.String(),
    provider: Type.String(),
    state: Type.Union([Type.Literal('pending'), Type.Literal('active')]),
    scim: Type.Object({ baseUrl: Type.String(), token: Type.Optional(Type.String({ description: 'Only in the answers that create it' })) }),
    tokenExpiresAt: Nullable(Timestamp),
    tokenLifetimeSeconds: Nullable(Type.Integer()),
    previousTokenValidUntil: Nullable(Timestamp),
    options: DirectoryOptionsSchema,
    lastRequestAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Directory' },
);
export type DirectoryView = Static<typeof DirectorySchema>;

export const DirectoryGroupRefSchema = Type.Object({ id: Type.String(), name: Type.String() });

export const DirectoryUserSchema = Type.Object(
  {
    id: Type.String(),
    directoryId: Type.String(),
    organizationId: Type.String(),
    externalId: Nullable(Type.String()),
    username: Type.String(),
    email: Nullable(Type.String()),
    firstName: Nullable(Type.String()),
    lastName: Nullable(Type.String()),
    displayName: Nullable(Type.String()),
    state: Type.Union([Type.Literal('active'), Type.Literal('inactive')]),
    groups: Type.Array(DirectoryGroupRefSchema),
    customAttributes: Type.Record(Type.String(), Type.Unknown()),
    rawAttributes: Type.Record(Type.String(), Type.Unknown(), { description: 'The SCIM resource as the IdP last sent it (no password)' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'DirectoryUser' },
);
export type DirectoryUserView = Static<typeof DirectoryUserSchema>;

export const DirectoryGroupSchema = Type.Object(
  {
    id: Type.String(),
    directoryId: Type.String(),
    organizationId: Type.String(),
    externalId: Nullable(Type.String()),
    name: Type.String(),
    rawAttributes: Type.Record(Type.String(), Type.Unknown()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'DirectoryGroup' },
);
export type DirectoryGroupView = Static<typeof DirectoryGroupSchema>;

export const DirectoryRequestSchema = Type.Object(
  {
    id: Type.String(),
    method: Type.String(),
    path: Type.String(),
    status: Type.Integer(),
    scimType: Nullable(Type.String()),
    detail: Nullable(Type.String()),
    durationMs: Type.Integer(),
    userAgent: Nullable(Type.String()),
    requestId: Type.String(),
    createdAt: Timestamp,
  },
  { $id: 'DirectoryRequest' },
);
export type DirectoryRequestView = Static<typeof DirectoryRequestSchema>;

/** The SCIM base URL of a directory. */
export function scimBaseUrl(publicUrl: string, directoryId: string): string {
  return `${publicUrl}/scim/v2/${directoryId}`;
}

/** A directory's options with their defaults filled in. */
export function directoryOptions(row: Pick<DirectoryRow, 'options'>): Static<typeof DirectoryOptionsSchema> {
  return { refuseInactiveUsers: row.options.refuseInactiveUsers ?? true, customAttributes: row.options.customAttributes ?? {} };
}

export function toDirectoryView(row: DirectoryRow, publicUrl: string, now: Date, token?: string): DirectoryView {
  const graceOpen = row.previous_token_hash !== null && row.previous_token_expires_at !== null && row.previous_token_expires_at > now;
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    provider: row.provider,
    state: row.state,
    scim: { baseUrl: scimBaseUrl(publicUrl, row.id), ...(token !== undefined ? { token } : {}) },
    tokenExpiresAt: row.token_expires_at?.toISOString() ?? null,
    tokenLifetimeSeconds: row.token_lifetime_seconds,
    previousTokenValidUntil: graceOpen ? (row.previous_token_expires_at?.toISOString() ?? null) : null,
    options: directoryOptions(row),
    lastRequestAt: row.last_request_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toDirectoryUserView(
  row: DirectoryUserRow,
  groups: readonly { id: string; display_name: string }[],
  mapping: Readonly<Record<string, string>>,
): DirectoryUserView {
  return {
    id: row.id,
    directoryId: row.directory_id,
    organizationId: row.organization_id,
    externalId: row.external_id,
    username: row.user_name,
    email: row.email,
    firstName: row.given_name,
    lastName: row.family_name,
    displayName: row.display_name,
    state: row.active ? 'active' : 'inactive',
    groups: groups.map((g) => ({ id: g.id, name: g.display_name })),
    customAttributes: readCustomAttributes(row.resource, mapping),
    rawAttributes: row.resource,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toDirectoryGroupView(row: DirectoryGroupRow): DirectoryGroupView {
  return {
    id: row.id,
    directoryId: row.directory_id,
    organizationId: row.organization_id,
    externalId: row.external_id,
    name: row.display_name,
    rawAttributes: row.resource,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toDirectoryRequestView(row: DirectoryRequestRow): DirectoryRequestView {
  return {
    id: row.id,
    method: row.method,
    path: row.path,
    status: row.status,
    scimType: row.scim_type,
    detail: row.detail,
    durationMs: row.duration_ms,
    userAgent: row.user_agent,
    requestId: row.request_id,
    createdAt: row.created_at.toISOString(),
  };
}
