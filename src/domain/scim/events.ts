import { Type, type Static } from 'typebox';
import { DirectoryGroupSchema, DirectoryUserSchema } from './views.ts';

/**
 * The payloads (event `summary`) of directory-sync events, recorded with recordEvent in the
 * transaction of the change; the event catalogue (src/domain/events/catalogue.ts) declares the types
 * that carry them. Each holds the user or group as it now is and, for changes, which attributes
 * changed. No secrets: tokens never appear, the password is never stored.
 */

const Changed = Type.Array(Type.String(), { description: 'Attribute names that changed, as SCIM names them' });

const DirectoryRef = Type.Object({ id: Type.String(), name: Type.String(), provider: Type.String() });

/** `dsync.activated`: the first authenticated SCIM request reached the directory. */
export const DsyncActivatedPayload = Type.Object({ directory: DirectoryRef });

/** `dsync.user.created|updated|deactivated|reactivated|deleted`. */
export const DsyncUserPayload = Type.Object({ directoryId: Type.String(), user: DirectoryUserSchema, changed: Changed });

/** `dsync.group.created|updated|deleted`; `memberCount` is the count after the change. */
export const DsyncGroupPayload = Type.Object({
  directoryId: Type.String(),
  group: DirectoryGroupSchema,
  memberCount: Type.Integer(),
  changed: Changed,
});

/** `dsync.group.user_added|user_removed`: one event per membership. */
export const DsyncMembershipPayload = Type.Object({
  directoryId: Type.String(),
  group: Type.Object({ id: Type.String(), name: Type.String() }),
  user: Type.Object({ id: Type.String(), username: Type.String(), email: Type.Union([Type.String(), Type.Null()]), state: Type.String() }),
});

/** `directory.created|updated|deleted|token_rotated`. */
export const DirectoryPayload = Type.Object({
  directory: Type.Object({ ...DirectoryRef.properties, organizationId: Type.String(), state: Type.String() }),
  changed: Type.Optional(Changed),
  previousTokenValidUntil: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  removed: Type.Optional(Type.Object({ users: Type.Integer(), groups: Type.Integer() })),
});

export type DsyncUserPayload = Static<typeof DsyncUserPayload>;
export type DsyncGroupPayload = Static<typeof DsyncGroupPayload>;
export type DsyncMembershipPayload = Static<typeof DsyncMembershipPayload>;
export type DirectoryPayload = Static<typeof DirectoryPayload>;
