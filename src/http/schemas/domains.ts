import { Type, type Static } from 'typebox';
import { Nullable, Timestamp } from './common.ts';

const DomainName = Type.String({ minLength: 1, maxLength: 253, description: 'An email domain; stored lower-cased, IDNs in ASCII' });

export const DomainVerification = Type.Union([Type.Literal('dns'), Type.Literal('manual')], {
  description: '`dns`: proven by a TXT record; `manual`: vouched for by an admin key, verified at once',
});

export const OrganizationDomain = Type.Object(
  {
    domain: Type.String(),
    organizationId: Type.String(),
    state: Type.Union([Type.Literal('pending'), Type.Literal('verified'), Type.Literal('failed')], {
      description: 'Only a verified domain routes logins and makes emails verified',
    }),
    verification: DomainVerification,
    useForDiscovery: Type.Boolean({ description: 'Whether login_hint and domain= at /oauth/authorize find the organization by it' }),
    dnsRecord: Nullable(
      Type.Object(
        {
          type: Type.Literal('TXT'),
          name: Type.String({ description: '_lanyard-verification.<domain>' }),
          value: Type.String({ description: 'Publish exactly this string' }),
        },
        { description: 'The record to publish (DNS verification only)' },
      ),
    ),
    verifiedAt: Nullable(Timestamp),
    failedAt: Nullable(Timestamp),
    nextCheckAt: Nullable(Timestamp),
    verificationDeadline: Nullable(Timestamp),
    lastCheck: Nullable(
      Type.Object({
        at: Timestamp,
        matched: Type.Boolean(),
        code: Type.Optional(Type.String({ description: 'Why it did not match: a dns_… code or verification_record_mismatch' })),
        found: Type.Array(Type.String(), { description: 'The TXT records found instead' }),
      }),
    ),
    createdAt: Timestamp,
  },
  { $id: 'OrganizationDomain' },
);

export const CreateOrganizationDomainBody = Type.Object(
  {
    domain: DomainName,
    verification: Type.Optional(DomainVerification),
    useForDiscovery: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);

export const DomainParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100, description: 'org_… id' }),
  domain: DomainName,
});

export type OrganizationDomain = Static<typeof OrganizationDomain>;
export type CreateOrganizationDomainBody = Static<typeof CreateOrganizationDomainBody>;
