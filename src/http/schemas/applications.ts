import { Type, type Static } from 'typebox';
import { Nullable, Timestamp } from './common.ts';

export const Application = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    clientId: Type.String(),
    redirectUris: Type.Array(Type.String()),
    defaultRedirectUri: Nullable(Type.String()),
    organizationIds: Nullable(Type.Array(Type.String())),
    requirePkce: Type.Boolean(),
    pkceExemptReason: Nullable(Type.String()),
    postLogoutRedirectUris: Type.Array(Type.String()),
    backchannelLogoutUri: Nullable(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Application' },
);
export const CreatedApplication = Type.Intersect([Application, Type.Object({ clientSecret: Type.String({ description: 'Shown once' }) })]);
const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  redirectUris: Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
    minItems: 1,
    maxItems: 20,
    description: 'Exact-match redirect URIs: https, or http on localhost/127.0.0.1',
  }),
  defaultRedirectUri: Type.Optional(
    Nullable(Type.String({ maxLength: 2000, description: 'Where IdP-initiated logins land; one of redirectUris' })),
  ),
  organizationIds: Type.Optional(
    Nullable(
      Type.Array(Type.String({ maxLength: 100 }), { maxItems: 1000, description: 'Only these organizations may sign in; null for all' }),
    ),
  ),
  requirePkce: Type.Optional(
    Type.Boolean({
      description: 'Refuse authorization requests without a PKCE (S256) code_challenge; true unless pkceExemptReason says why not',
    }),
  ),
  pkceExemptReason: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description: 'Why this application may sign in without PKCE; required with requirePkce: false',
      }),
    ),
  ),
  postLogoutRedirectUris: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
      maxItems: 20,
      description: 'Where /oauth/logout may return the browser (RP-Initiated Logout 1.0), exact match; same rules as redirectUris',
    }),
  ),
  backchannelLogoutUri: Type.Optional(
    Nullable(
      Type.String({
        maxLength: 2000,
        description: 'Where Lanyard POSTs logout_tokens (Back-Channel Logout 1.0) when the IdP ends a session; https, no fragment',
      }),
    ),
  ),
};
export const CreateApplicationBody = Type.Object(fields, { additionalProperties: false });
export const UpdateApplicationBody = Type.Object(
  {
    name: Type.Optional(fields.name),
    redirectUris: Type.Optional(fields.redirectUris),
    defaultRedirectUri: fields.defaultRedirectUri,
    organizationIds: fields.organizationIds,
    requirePkce: fields.requirePkce,
    pkceExemptReason: fields.pkceExemptReason,
    postLogoutRedirectUris: fields.postLogoutRedirectUris,
    backchannelLogoutUri: fields.backchannelLogoutUri,
  },
  { additionalProperties: false, minProperties: 1 },
);

export type Application = Static<typeof Application>;
export type CreateApplicationBody = Static<typeof CreateApplicationBody>;
export type UpdateApplicationBody = Static<typeof UpdateApplicationBody>;
