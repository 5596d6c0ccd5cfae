import { Type, type Static } from 'typebox';
import { NO_NUL, PageQuery, Timestamp } from './common.ts';

const Name = Type.String({ minLength: 1, maxLength: 200 });
const ExternalId = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], {
  description: 'Your own id for this customer; unique',
});
const Domains = Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
  maxItems: 100,
  description: 'Email domains; lower-cased, unique across organizations',
});

export const Organization = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    externalId: Type.Union([Type.String(), Type.Null()]),
    domains: Type.Array(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Organization' },
);

export const CreateOrganizationBody = Type.Object(
  { name: Name, externalId: Type.Optional(ExternalId), domains: Type.Optional(Domains) },
  { additionalProperties: false },
);

export const UpdateOrganizationBody = Type.Object(
  { name: Type.Optional(Name), externalId: Type.Optional(ExternalId), domains: Type.Optional(Domains) },
  { additionalProperties: false, minProperties: 1 },
);

export const ListOrganizationsQuery = Type.Object({
  ...PageQuery,
  externalId: Type.Optional(Type.String({ maxLength: 200 })),
  domain: Type.Optional(Type.String({ maxLength: 253 })),
  name: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, pattern: NO_NUL, description: 'Organizations whose name contains this, in any case' }),
  ),
});

export type Organization = Static<typeof Organization>;
export type CreateOrganizationBody = Static<typeof CreateOrganizationBody>;
export type UpdateOrganizationBody = Static<typeof UpdateOrganizationBody>;
export type ListOrganizationsQuery = Static<typeof ListOrganizationsQuery>;
