import { Type, type Static } from 'typebox';
import { PROVIDERS } from '../../domain/connections/presets.ts';
import { Nullable, PageQuery, Timestamp } from './common.ts';

// URL syntax and schemes are checked in the domain, which names the field in a clearer message.
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'An absolute http(s) URL' });
const ConnectionType = Type.Enum(['saml', 'oidc']);
const SignaturePolicy = Type.Enum(['assertion-or-response', 'assertion', 'response', 'both'], {
  description:
    'Which signatures a response must carry: the assertion or the whole response (default), the assertion, the response, or both',
});
const SsoBinding = Type.Enum(['redirect', 'post'], { description: 'The binding the SSO URL takes AuthnRequests with' });
// The provider is checked in the domain, so an unknown one is refused with the list on offer.
const Provider = Type.String({
  minLength: 1,
  maxLength: 50,
  description: `One of ${PROVIDERS.join(', ')} (default generic): sets the default attribute names`,
});
const Name = Type.String({ minLength: 1, maxLength: 200 });

const SamlOptions = {
  allowIdpInitiated: Type.Optional(Type.Boolean({ description: 'Accept responses the IdP sends unasked (default false)' })),
  defaultApplicationId: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 100, description: 'app_… that IdP-initiated logins go to' })),
  ),
  clockSkewSeconds: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 600, description: 'Tolerated clock difference with the IdP (default 120)' }),
  ),
  nameIdFormat: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 256, description: 'NameID format to ask for (a SAML core §8.3 URI)' })),
  ),
  signRequests: Type.Optional(
    Type.Boolean({ description: 'Sign AuthnRequests (default false, true when the metadata says WantAuthnRequestsSigned)' }),
  ),
  encryptAssertions: Type.Optional(Type.Boolean({ description: 'Announce an encryption certificate in the SP metadata (default false)' })),
  allowSha1: Type.Optional(Type.Boolean({ description: 'Accept SHA-1 signatures (default false)' })),
  allowUnsignedLogout: Type.Optional(
    Type.Boolean({ description: 'Accept unsigned LogoutRequests and LogoutResponses at the SLO URL (default false)' }),
  ),
  signaturePolicy: Type.Optional(SignaturePolicy),
};

/** What a login whose email lies outside the organization's verified domains gets (issue 15). */
const EmailDomainPolicy = Type.Union([Type.Literal('flag'), Type.Literal('enforce')], {
  description: '`flag` (default): signed in with email_verified false; `enforce`: refused (email_domain_not_allowed)',
});

export const SamlInput = Type.Object(
  {
    metadataXml: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000_000, description: "The IdP's SAML metadata" })),
    metadataUrl: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: 'Where to fetch the IdP metadata (now, and on every update that gives it)',
      }),
    ),
    idpEntityId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: 'The IdP entity ID; with metadata, picks one IdP of several' }),
    ),
    ssoUrl: Type.Optional(Url),
    ssoBinding: Type.Optional(SsoBinding),
    sloUrl: Type.Optional(Nullable(Url)),
    certificates: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 65_536 }), {
        minItems: 1,
        maxItems: 10,
        description: 'Signing certificates, PEM or bare base64 DER',
      }),
    ),
    ...SamlOptions,
  },
  { additionalProperties: false },
);

const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
  minItems: 1,
  maxItems: 50,
  description: 'Default openid email profile',
});
const OidcCreate = Type.Object(
  {
    issuer: Url,
    clientId: Type.String({ minLength: 1, maxLength: 512 }),
    clientSecret: Type.String({ minLength: 1, maxLength: 2048, description: 'Write-only: sealed, never shown' }),
    scopes: Type.Optional(Scopes),
  },
  { additionalProperties: false },
);
const OidcUpdate = Type.Object(
  {
    issuer: Type.Optional(Url),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Write-only: sealed, never shown' })),
    scopes: Type.Optional(Scopes),
  },
  { additionalProperties: false },
);

const AttributeName = Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 256 })));
export const AttributeMappingInput = Type.Object(
  { email: AttributeName, firstName: AttributeName, lastName: AttributeName, groups: AttributeName, id: AttributeName },
  {
    additionalProperties: false,
    description: "Attribute (SAML) or claim (OIDC) names overriding the provider's; null restores the default",
  },
);

/** `POST /v1/connections` (../shared/API.md, "Connection"). */
export const CreateConnectionBody = Type.Object(
  {
    organizationId: Type.String({ minLength: 1, maxLength: 100 }),
    type: ConnectionType,
    name: Type.Optional(Name),
    provider: Type.Optional(Provider),
    enabled: Type.Optional(Type.Boolean({ description: 'Default: true when the IdP values are given, else false' })),
    saml: Type.Optional(SamlInput),
    oidc: Type.Optional(OidcCreate),
    attributeMapping: Type.Optional(AttributeMappingInput),
    groupSync: Type.Optional(Type.Boolean({ description: 'Read group claims (default false)' })),
    emailDomainPolicy: Type.Optional(EmailDomainPolicy),
  },
  { additionalProperties: false },
);

/** `PATCH /v1/connections/{id}`: type and organization are fixed; `saml`, `oidc` and `attributeMapping` merge. */
export const UpdateConnectionBody = Type.Object(
  {
    name: Type.Optional(Name),
    provider: Type.Optional(Provider),
    enabled: Type.Optional(Type.Boolean()),
    saml: Type.Optional(SamlInput),
    oidc: Type.Optional(OidcUpdate),
    attributeMapping: Type.Optional(AttributeMappingInput),
    groupSync: Type.Optional(Type.Boolean()),
    emailDomainPolicy: Type.Optional(EmailDomainPolicy),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** `GET /v1/connections` query. */
export const ListConnectionsQuery = Type.Object({
  ...PageQuery,
  organizationId: Type.Optional(Type.String({ maxLength: 100 })),
  type: Type.Optional(ConnectionType),
});

const Certificate = Type.Object({
  fingerprintSha256: Type.String(),
  subject: Type.String(),
  notBefore: Timestamp,
  notAfter: Timestamp,
  expired: Type.Boolean(),
});

const SamlOutput = Type.Object({
  idpEntityId: Nullable(Type.String()),
  ssoUrl: Nullable(Type.String()),
  ssoBinding: Nullable(SsoBinding),
  sloUrl: Nullable(Type.String()),
  certificates: Type.Array(Certificate),
  metadataUrl: Nullable(Type.String()),
  allowIdpInitiated: Type.Boolean(),
  defaultApplicationId: Nullable(Type.String()),
  clockSkewSeconds: Type.Integer(),
  nameIdFormat: Nullable(Type.String()),
  signRequests: Type.Boolean(),
  encryptAssertions: Type.Boolean(),
  allowSha1: Type.Boolean(),
  allowUnsignedLogout: Type.Boolean(),
  signaturePolicy: SignaturePolicy,
});

const OidcOutput = Type.Object({
  issuer: Nullable(Type.String()),
  clientId: Nullable(Type.String()),
  clientSecretSet: Type.Boolean({ description: 'Whether a client secret is stored (it is never shown)' }),
  scopes: Type.Array(Type.String()),
  authorizationEndpoint: Nullable(Type.String()),
  tokenEndpoint: Nullable(Type.String()),
  jwksUri: Nullable(Type.String()),
  userinfoEndpoint: Nullable(Type.String()),
  endSessionEndpoint: Nullable(
    Type.String({ description: "The provider's end_session_endpoint (RP-Initiated Logout 1.0), where app-initiated logouts go on to" }),
  ),
  redirectUri: Type.String({ description: 'Register this redirect URI at the provider' }),
  postLogoutRedirectUri: Type.String({
    description: 'Register this post-logout redirect URI at the provider, so a logout sent to its end_session_endpoint comes back',
  }),
});

const SpValues = Type.Object(
  { entityId: Type.String(), acsUrl: Type.String(), metadataUrl: Type.String(), sloUrl: Type.String() },
  { description: 'What the IdP admin configures; stable for the life of the connection' },
);

const RefreshOutcome = Type.Enum(['updated', 'unchanged', 'not_modified', 'failed'], {
  description:
    'updated: the metadata changed the connection; unchanged: it was fetched and says the same; not_modified: the server ' +
    'answered 304; failed: it could not be fetched or used, and the connection was left as it was',
});

const LastRefresh = Type.Object(
  {
    at: Timestamp,
    outcome: RefreshOutcome,
    message: Nullable(Type.String({ description: 'What failed, or what changed' })),
    nextAt: Timestamp,
  },
  { $id: 'ConnectionLastRefresh', description: 'The latest fetch of saml.metadataUrl after the connection was saved' },
);

const AttributeMapping = Type.Object({
  email: Type.String(),
  firstName: Type.String(),
  lastName: Type.String(),
  groups: Type.String(),
  id: Type.Optional(Type.String()),
});

/** A connection as every answer shows it; never a secret. */
export const Connection = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    type: ConnectionType,
    provider: Type.Enum([...PROVIDERS]),
    name: Type.String(),
    enabled: Type.Boolean(),
    state: Type.Enum(['draft', 'active'], { description: 'draft until the first successful login' }),
    attributeMapping: AttributeMapping,
    groupSync: Type.Boolean(),
    emailDomainPolicy: EmailDomainPolicy,
    saml: Nullable(SamlOutput),
    oidc: Nullable(OidcOutput),
    sp: Nullable(SpValues),
    warnings: Type.Array(Type.String()),
    certificateStatus: Nullable(
      Type.Enum(['ok', 'expiring', 'expired'], {
        description: 'By the IdP signing certificate that expires last: expiring within 30 days, or expired; null without certificates',
      }),
    ),
    certificateDaysLeft: Nullable(Type.Integer({ description: 'Whole days until that certificate expires (0 once it has)' })),
    lastRefresh: Nullable(LastRefresh),
    lastUsedAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Connection' },
);

export type SamlInput = Static<typeof SamlInput>;
export type OidcInput = Static<typeof OidcUpdate>;
export type AttributeMappingInput = Static<typeof AttributeMappingInput>;
export type CreateConnectionBody = Static<typeof CreateConnectionBody>;
export type UpdateConnectionBody = Static<typeof UpdateConnectionBody>;
export type ListConnectionsQuery = Static<typeof ListConnectionsQuery>;
export type Connection = Static<typeof Connection>;
export type RefreshOutcome = Static<typeof RefreshOutcome>;
