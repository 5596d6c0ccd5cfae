import { Type, type Static, type TLiteral } from 'typebox';
import { PROVIDERS } from './views.ts';

/** How long a rotated-out token keeps working unless the rotation says otherwise: one day, time to paste the new one into the IdP. */
export const DEFAULT_GRACE_SECONDS = 86_400;
/** The longest grace period a rotation may ask for: one week. */
export const MAX_GRACE_SECONDS = 604_800;

/**
 * Text that PostgreSQL can store as given: no NUL and no unpaired surrogate (Ajv matches patterns
 * with the u flag, where a lone surrogate is a code point of its own), which would otherwise be a 500.
 */
const STORABLE = '^[^\\u0000\\uD800-\\uDFFF]*$';
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: STORABLE });
/** One literal per value, as a tuple: TypeBox infers a union's type from a tuple of members (from an array, nothing). */
function literals<const T extends readonly string[]>(values: T): { -readonly [K in keyof T]: TLiteral<T[K]> } {
  return values.map((value) => Type.Literal(value)) as { -readonly [K in keyof T]: TLiteral<T[K]> };
}

const Provider = Type.Union(literals(PROVIDERS), {
  description: 'The IdP that provisions the directory (shapes the setup notes; every quirk is handled whatever it says)',
});
const TokenLifetime = Type.Union([Type.Integer({ minimum: 3600, maximum: 157_680_000 }), Type.Null()], {
  description: 'Seconds a SCIM token lives from its creation or rotation (1 hour to 5 years); null: no expiry',
});
const Options = Type.Object(
  {
    refuseInactiveUsers: Type.Optional(Type.Boolean()),
    customAttributes: Type.Optional(
      Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 300, pattern: STORABLE }), {
        propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,99}$' },
        maxProperties: 50,
        description: 'customAttributes of each directory user: name → SCIM attribute path',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CreateDirectoryBody = Type.Object(
  {
    organizationId: Type.String({ minLength: 1, maxLength: 100, pattern: STORABLE }),
    name: Type.Optional(Name),
    provider: Type.Optional(Provider),
    tokenLifetimeSeconds: Type.Optional(TokenLifetime),
    options: Type.Optional(Options),
  },
  { additionalProperties: false },
);
export type CreateDirectoryInput = Static<typeof CreateDirectoryBody>;

export const UpdateDirectoryBody = Type.Object(
  {
    name: Type.Optional(Name),
    provider: Type.Optional(Provider),
    tokenLifetimeSeconds: Type.Optional(TokenLifetime),
    options: Type.Optional(Options),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateDirectoryInput = Static<typeof UpdateDirectoryBody>;

export const RotateTokenBody = Type.Object(
  {
    gracePeriodSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        description: `Seconds the old token keeps working (default ${DEFAULT_GRACE_SECONDS})`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type RotateTokenInput = Static<typeof RotateTokenBody>;

export const ListDirectoryUsersQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('inactive')])),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 320, pattern: STORABLE })),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: STORABLE, description: 'dgrp_… id' })),
  },
  { additionalProperties: false },
);
export type ListDirectoryUsersInput = Static<typeof ListDirectoryUsersQuery>;

/** An organization id filter that is safe to send to the database. */
export const OrganizationIdQuery = Type.Optional(Type.String({ maxLength: 100, pattern: STORABLE }));
