import { Type, type Static } from 'typebox';
import { MAX_TICKET_TTL_SECONDS, TICKET_DOMAIN_VERIFICATIONS, TICKET_FEATURES, TICKET_TYPES } from '../../domain/tickets/view.ts';
import { Nullable, PageQuery, Timestamp } from './common.ts';

const TicketStatus = Type.Enum(['open', 'completed', 'expired', 'revoked']);
export const Provisioning = Type.Object(
  {
    scim: Type.Optional(Type.Boolean({ description: 'Directory sync (SCIM) will be asked for later; shown on the setup page' })),
    groups: Type.Optional(
      Type.Boolean({ description: "Group memberships must be sent; the ticket's new connection reads them (groupSync)" }),
    ),
  },
  { additionalProperties: false },
);

/** A setup ticket (../shared/API.md, "Setup ticket"). */
export const Ticket = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    connectionId: Nullable(Type.String({ description: 'The connection the setup page configures (null once it was deleted)' })),
    type: Type.String(),
    status: TicketStatus,
    domains: Type.Array(Type.String()),
    provisioning: Provisioning,
    enabledFeatures: Type.Array(Type.String()),
    domainVerification: Type.Enum([...TICKET_DOMAIN_VERIFICATIONS]),
    useForDiscovery: Type.Boolean(),
    lastTest: Nullable(Type.Object({ succeeded: Type.Boolean(), at: Timestamp })),
    expiresAt: Timestamp,
    createdAt: Timestamp,
    openedAt: Nullable(Timestamp),
    completedAt: Nullable(Timestamp),
    revokedAt: Nullable(Timestamp),
    ticketUrl: Type.Optional(
      Type.String({ description: 'The setup page URL; in the creation answer only (only a hash of its token is stored)' }),
    ),
  },
  { $id: 'Ticket' },
);

/** `POST /v1/organizations/{id}/sso/tickets`. */
export const CreateTicketBody = Type.Object(
  {
    type: Type.Enum([...TICKET_TYPES], {
      description:
        'saml, oidc, or the identity provider (azure-ad is entra) the setup page starts with; certificate-renewal: a page that only renews the IdP signing certificate of the SAML connection connectionId',
    }),
    connectionId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description:
          'An existing connection of the organization to edit (required for certificate-renewal); without it, the ticket creates a draft',
      }),
    ),
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_TICKET_TTL_SECONDS,
        description: `Lifetime of the link; 0 or absent: ${MAX_TICKET_TTL_SECONDS} (5 days, also the maximum)`,
      }),
    ),
    domains: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
        maxItems: 100,
        description: 'Email domains the admin may claim for the organization when activating',
      }),
    ),
    provisioning: Type.Optional(Provisioning),
    domainVerification: Type.Optional(
      Type.Enum([...TICKET_DOMAIN_VERIFICATIONS], {
        default: 'required',
        description:
          'How domains the admin claims on the page are verified: none (manual, from domains only), optional or required (DNS TXT record; required: before activation)',
      }),
    ),
    useForDiscovery: Type.Optional(
      Type.Boolean({ default: true, description: 'Whether the domains claimed through the page route logins (login_hint, domain=)' }),
    ),
    enabledFeatures: Type.Optional(
      Type.Array(Type.Enum([...TICKET_FEATURES]), {
        maxItems: TICKET_FEATURES.length,
        uniqueItems: true,
        description: 'Parts of the setup page to offer (default all)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ListTicketsQuery = Type.Object({ ...PageQuery, status: Type.Optional(TicketStatus) });

export type Provisioning = Static<typeof Provisioning>;
export type Ticket = Static<typeof Ticket>;
export type CreateTicketBody = Static<typeof CreateTicketBody>;
export type ListTicketsQuery = Static<typeof ListTicketsQuery>;
