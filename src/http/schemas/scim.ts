import { Type, type Static } from 'typebox';

/**
 * TypeBox schemas of the SCIM API (RFC 7644). Resources are open objects: their attributes are
 * checked by the domain against the SCIM schemas, which answers in SCIM's own error shape.
 */

export const ScimError = Type.Object(
  {
    schemas: Type.Array(Type.String()),
    status: Type.String({ description: 'The HTTP status, as a string (RFC 7644 §3.12)' }),
    scimType: Type.Optional(Type.String()),
    detail: Type.String(),
  },
  { description: 'A SCIM error (urn:ietf:params:scim:api:messages:2.0:Error)' },
);

export const ScimResource = Type.Object(
  { schemas: Type.Array(Type.String()), id: Type.Optional(Type.String()) },
  { additionalProperties: true, description: 'A SCIM resource (User or Group, RFC 7643)' },
);

export const ScimListResponse = Type.Object(
  {
    schemas: Type.Array(Type.String()),
    totalResults: Type.Integer(),
    startIndex: Type.Integer(),
    itemsPerPage: Type.Integer(),
    Resources: Type.Array(Type.Object({}, { additionalProperties: true })),
  },
  { description: 'A SCIM ListResponse (RFC 7644 §3.4.2)' },
);

export const ScimBody = Type.Object({}, { additionalProperties: true, description: 'A SCIM resource, or a PatchOp for PATCH' });

const QueryText = Type.Optional(Type.String({ maxLength: 4096 }));

export const ScimListQuery = Type.Object(
  {
    filter: QueryText,
    startIndex: QueryText,
    count: QueryText,
    sortBy: QueryText,
    sortOrder: QueryText,
    attributes: QueryText,
    excludedAttributes: QueryText,
  },
  // Other parameters (Entra's aadOptscim062020 flag travels in the URL) are ignored.
  { additionalProperties: true },
);
export type ScimListQuery = Static<typeof ScimListQuery>;

export const ScimDirectoryParams = Type.Object({ directoryId: Type.String({ maxLength: 100, description: 'dir_… id' }) });
export const ScimResourceParams = Type.Object({
  directoryId: Type.String({ maxLength: 100 }),
  id: Type.String({ maxLength: 300, description: 'dusr_… or dgrp_… id, a resource type, or a schema URN' }),
});

/** Error answers every SCIM route may give. */
export const scimErrorResponses = {
  400: ScimError,
  401: ScimError,
  404: ScimError,
  409: ScimError,
  412: ScimError,
  413: ScimError,
  415: ScimError,
  429: ScimError,
  500: ScimError,
  501: ScimError,
} as const;
