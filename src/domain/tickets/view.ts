import type { SsoTicketRow } from '../../storage/schema.ts';
import type { Ticket } from '../../http/schemas/tickets.ts';
import type { Provider } from '../connections/presets.ts';

export type { Provisioning, Ticket } from '../../http/schemas/tickets.ts';

/** What `type` a ticket may ask for: a protocol, or an identity provider (`azure-ad` is env0's name for Entra ID). */
export const TICKET_TYPES = [
  'saml',
  'oidc',
  'azure-ad',
  'entra',
  'okta',
  'google',
  'jumpcloud',
  'keycloak',
  'auth0',
  'onelogin',
  'pingfederate',
  'adfs',
  'certificate-renewal',
] as const;

/** The ticket type whose page only renews an existing SAML connection's IdP signing certificates (issue 16). */
export const RENEWAL_TICKET = 'certificate-renewal';

/** Parts of the setup page the vendor may switch off per ticket; all are on by default. */
export const TICKET_FEATURES = ['provider-choice', 'attribute-mapping', 'domains'] as const;
export type TicketFeature = (typeof TICKET_FEATURES)[number];

/**
 * How the domains the admin claims on the setup page are verified (Auth0's
 * `domain_aliases_config.domain_verification`): `none`, manual and verified at once, only the
 * ticket's own `domains`; `optional`, by DNS, activation does not wait; `required`, by DNS, each
 * verified before activation.
 */
export const TICKET_DOMAIN_VERIFICATIONS = ['none', 'optional', 'required'] as const;
export type TicketDomainVerification = (typeof TICKET_DOMAIN_VERIFICATIONS)[number];

type TicketStatus = 'open' | 'completed' | 'expired' | 'revoked';

/** Default and maximum lifetime of a setup link: 5 days, as Auth0's self-service tickets. */
export const MAX_TICKET_TTL_SECONDS = 432_000;

/** The provider preset a ticket type stands for (`saml` and `oidc` name none: generic). */
export function providerOfType(type: string): Provider {
  if (type === 'azure-ad') return 'entra';
  if (type === 'saml' || type === 'oidc' || type === RENEWAL_TICKET) return 'generic';
  return type as Provider;
}

/**
 * Revoked and completed are facts that stay; expired is computed from expiresAt, so a ticket
 * expires at the instant it says, on every instance, without a sweeper.
 */
function ticketStatus(row: Pick<SsoTicketRow, 'revoked_at' | 'completed_at' | 'expires_at'>, now: Date): TicketStatus {
  if (row.revoked_at !== null) return 'revoked';
  if (row.completed_at !== null) return 'completed';
  return row.expires_at.getTime() <= now.getTime() ? 'expired' : 'open';
}

/** The API's view of a stored ticket. */
export function toTicket(row: SsoTicketRow, now: Date): Ticket {
  return {
    id: row.id,
    organizationId: row.organization_id,
    connectionId: row.connection_id,
    type: row.type,
    status: ticketStatus(row, now),
    domains: row.domains,
    provisioning: row.provisioning,
    enabledFeatures: row.enabled_features,
    domainVerification: row.domain_verification,
    useForDiscovery: row.use_for_discovery,
    lastTest: row.last_test_at === null ? null : { succeeded: row.last_test_ok === true, at: row.last_test_at.toISOString() },
    expiresAt: row.expires_at.toISOString(),
    createdAt: row.created_at.toISOString(),
    openedAt: row.opened_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
