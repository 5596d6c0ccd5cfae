import { Type, type Static } from 'typebox';
import { Nullable, Timestamp } from './common.ts';

export const ApiKey = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    organizationId: Nullable(Type.String()),
    scope: Type.Union([Type.Literal('admin'), Type.Literal('organization')]),
    createdAt: Timestamp,
    lastUsedAt: Nullable(Timestamp),
    revokedAt: Nullable(Timestamp),
  },
  { $id: 'ApiKey' },
);
export const CreatedApiKey = Type.Intersect([
  ApiKey,
  Type.Object({ token: Type.String({ description: 'Shown once; send as `Authorization: Bearer <token>`' }) }),
]);
export const CreateApiKeyBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), organizationId: Type.Optional(Nullable(Type.String({ maxLength: 100 }))) },
  { additionalProperties: false },
);

export type ApiKey = Static<typeof ApiKey>;
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>;
