import { Type, type Static, type TSchema } from 'typebox';
import { DirectoryPayload, DsyncActivatedPayload, DsyncGroupPayload, DsyncMembershipPayload, DsyncUserPayload } from '../scim/events.ts';
import {
  WebhookEndpointCreatedPayload,
  WebhookEndpointDeletedPayload,
  WebhookEndpointDisabledPayload,
  WebhookEndpointSecretRotatedPayload,
  WebhookEndpointUpdatedPayload,
  WebhookTestPayload,
} from '../webhooks/events.ts';
import { SessionEndedPayload } from '../sessions/events.ts';
import { TICKET_DOMAIN_VERIFICATIONS } from '../tickets/view.ts';

// Every event type Lanyard records, declared once with the TypeBox schema of its `summary`
// (what happened, without secrets). recordEvent accepts only these types, with a summary of the
// declared shape, so the schemas are true to what is recorded; webhooks deliver these payloads,
// and an endpoint's `eventTypes` may name only these. Directory sync and webhooks declare their
// summary schemas next to the code that fills them (scim/events.ts, webhooks/events.ts).

const Id = Type.String();
const MaybeId = Type.Union([Type.String(), Type.Null()]);
const Changed = Type.Array(Type.String(), { description: 'The names of the fields the change touched (never their values)' });
const DomainEventPayload = Type.Object({
  domain: Type.String(),
  verification: Type.Union([Type.Literal('dns'), Type.Literal('manual')]),
  state: Type.Union([Type.Literal('pending'), Type.Literal('verified'), Type.Literal('failed')]),
});
const Protocol = Type.Union([Type.Literal('saml'), Type.Literal('oidc')]);

const CertificateExpiry = {
  fingerprintSha256: Type.String(),
  notAfter: Type.String({ format: 'date-time' }),
  daysLeft: Type.Integer({ description: 'Whole days left (0 once expired)' }),
  thresholdDays: Type.Integer({ description: 'The alert threshold reached: 30, 14, 7 or 1, or 0 once expired' }),
};
const DeploymentKeyStep = Type.Object({
  keyId: Id,
  purpose: Type.String({ description: 'saml-sp or oidc-token-signing' }),
  activatesAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  retiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const ConnectionCertificateExpiry = Type.Object({ connectionId: Id, ...CertificateExpiry });
const SpCertificateExpiry = Type.Object({ keyId: Id, ...CertificateExpiry });

function event<S extends TSchema>(description: string, summary: S): { readonly description: string; readonly summary: S } {
  return { description, summary };
}

export const EVENT_CATALOGUE = {
  'organization.created': event(
    'An organization was created.',
    Type.Object({ name: Type.String(), externalId: MaybeId, domains: Type.Array(Type.String()) }),
  ),
  'organization.updated': event('An organization was changed.', Type.Object({ changed: Changed })),
  'organization.deleted': event('An organization was deleted with everything it owned.', Type.Object({ name: Type.String() })),
  'api_key.created': event(
    'An API key was created.',
    Type.Object({ keyId: Id, name: Type.String(), scope: Type.Union([Type.Literal('admin'), Type.Literal('organization')]) }),
  ),
  'api_key.revoked': event('An API key was revoked.', Type.Object({ keyId: Id, name: Type.String() })),
  'application.created': event('An application (OAuth client) was created.', Type.Object({ applicationId: Id, name: Type.String() })),
  'application.updated': event('An application was changed.', Type.Object({ applicationId: Id, changed: Changed })),
  'application.deleted': event('An application was deleted.', Type.Object({ applicationId: Id, name: Type.String() })),
  'connection.created': event(
    'A connection was created.',
    Type.Object({ connectionId: Id, type: Protocol, provider: Type.String(), name: Type.String(), enabled: Type.Boolean() }),
  ),
  'connection.updated': event('A connection was changed.', Type.Object({ connectionId: Id, changed: Changed })),
  'connection.deleted': event('A connection was deleted.', Type.Object({ connectionId: Id, type: Protocol, name: Type.String() })),
  'connection.metadata_refreshed': event(
    "A background or manual refresh from the connection's metadata URL changed its IdP values.",
    Type.Object({
      connectionId: Id,
      changed: Changed,
      certificatesAdded: Type.Array(Type.String(), { description: 'SHA-256 fingerprints of the signing certificates now trusted' }),
      certificatesRemoved: Type.Array(Type.String(), { description: 'SHA-256 fingerprints of those the metadata no longer lists' }),
    }),
  ),
  'connection.metadata_refresh_failed': event(
    "The connection's metadata URL could not be fetched or used; the connection was left as it was and the refresh is retried.",
    Type.Object({
      connectionId: Id,
      code: Type.String(),
      message: Type.String(),
      failures: Type.Integer({ description: 'Failures in a row' }),
      nextAttemptAt: Type.String({ format: 'date-time' }),
    }),
  ),
  'connection.certificate_expiring': event(
    "The connection's IdP signing certificate that expires last does so within thresholdDays (30, 14, 7 or 1).",
    ConnectionCertificateExpiry,
  ),
  'connection.certificate_expired': event(
    "Every IdP signing certificate of the connection has expired: ask the IdP's admin for the current one.",
    ConnectionCertificateExpiry,
  ),
  'deployment_key.published': event(
    'A new Lanyard key was published (SP metadata or JWKS) beside the current one; it signs from activatesAt.',
    DeploymentKeyStep,
  ),
  'deployment_key.activated': event(
    'A published Lanyard key started signing; the one before it retires at its retiresAt.',
    DeploymentKeyStep,
  ),
  'deployment_key.retired': event('A previous Lanyard key was retired: it is no longer published or used.', DeploymentKeyStep),
  'deployment_key.certificate_expiring': event(
    "Lanyard's SAML SP certificate that expires last does so within thresholdDays: rotate the keys (POST /v1/keys/rotate).",
    SpCertificateExpiry,
  ),
  'deployment_key.certificate_expired': event("Lanyard's SAML SP certificate has expired: rotate the keys.", SpCertificateExpiry),
  'login.succeeded': event(
    'A user signed in to an application; the app received a code.',
    Type.Object({
      connectionId: Id,
      applicationId: Id,
      flowId: MaybeId,
      sessionId: Type.String({ description: 'The session the login opened: the `sid` of its id_token' }),
      sub: Type.String({ description: 'The sub the app receives' }),
      idpId: Type.String(),
      email: MaybeId,
    }),
  ),
  'session.ended': event('A session ended: the app logged the user out, the IdP did (Single Logout), or it expired.', SessionEndedPayload),
  'login.failed': event(
    'A sign-in failed; `code` is a login failure code or a SAML verifier code.',
    Type.Object({ connectionId: Id, flowId: MaybeId, applicationId: MaybeId, code: Type.String(), message: Type.String() }),
  ),
  'sso_ticket.created': event(
    'A setup ticket was created (and, with connectionCreated, the draft connection it sets up).',
    Type.Object({
      ticketId: Id,
      connectionId: Id,
      connectionCreated: Type.Boolean(),
      type: Type.String(),
      expiresAt: Type.String({ format: 'date-time' }),
      domains: Type.Array(Type.String()),
      domainVerification: Type.Enum([...TICKET_DOMAIN_VERIFICATIONS], {
        description: 'How the domains the IT admin enters on the page are proven: none, optional or required',
      }),
      useForDiscovery: Type.Boolean({ description: 'Whether those domains route sign-ins to the connection' }),
    }),
  ),
  'sso_ticket.revoked': event('A setup ticket was revoked.', Type.Object({ ticketId: Id, connectionId: MaybeId })),
  'sso_ticket.opened': event(
    'A setup page session started.',
    Type.Object({ ticketId: Id, connectionId: MaybeId, firstOpen: Type.Boolean() }),
  ),
  'sso_ticket.saved': event(
    'The setup page saved something.',
    Type.Object({
      ticketId: Id,
      connectionId: MaybeId,
      changed: Changed,
      provider: Type.Optional(Type.String()),
      protocol: Type.Optional(Protocol),
    }),
  ),
  'sso_ticket.test_started': event(
    'A test sign-in started from the setup page.',
    Type.Object({ ticketId: Id, connectionId: Id, flowId: Id }),
  ),
  'sso_ticket.test_succeeded': event(
    'A test sign-in succeeded.',
    Type.Object({ ticketId: Id, connectionId: Id, flowId: Id, email: MaybeId, idpId: Type.String() }),
  ),
  'sso_ticket.test_failed': event(
    'A test sign-in failed.',
    Type.Object({ ticketId: Id, connectionId: Id, flowId: Id, code: Type.String(), message: Type.String() }),
  ),
  'sso_ticket.completed': event(
    'The setup was activated: the connection enabled, the domains claimed, the ticket completed.',
    Type.Object({ ticketId: Id, connectionId: Id, domainsClaimed: Type.Array(Type.String()), testFlowId: Id }),
  ),
  'organization_domain.created': event(
    'A domain was claimed for an organization (pending until its TXT record is found, or manual and verified at once).',
    DomainEventPayload,
  ),
  'organization_domain.verified': event('A domain claim was verified: it now routes logins and makes emails verified.', DomainEventPayload),
  'organization_domain.verification_failed': event(
    'No check found the TXT record within 7 days; the claim is failed (a check now can still verify it).',
    DomainEventPayload,
  ),
  'organization_domain.deleted': event('A domain claim was deleted.', DomainEventPayload),
  'directory.created': event('A SCIM directory was created.', DirectoryPayload),
  'directory.updated': event('A directory was changed.', DirectoryPayload),
  'directory.deleted': event('A directory was deleted with every user and group it held.', DirectoryPayload),
  'directory.token_rotated': event(
    "A directory's SCIM token was rotated; the previous one works until previousTokenValidUntil.",
    DirectoryPayload,
  ),
  'dsync.activated': event('A directory received its first authenticated SCIM request and became active.', DsyncActivatedPayload),
  'dsync.user.created': event('The IdP provisioned a directory user.', DsyncUserPayload),
  'dsync.user.updated': event("The IdP changed a directory user's attributes.", DsyncUserPayload),
  'dsync.user.deactivated': event('The IdP deactivated a directory user (active: false).', DsyncUserPayload),
  'dsync.user.reactivated': event('The IdP reactivated a deactivated directory user.', DsyncUserPayload),
  'dsync.user.deleted': event('The IdP deleted a directory user; its memberships ended with it.', DsyncUserPayload),
  'dsync.group.created': event('The IdP provisioned a directory group.', DsyncGroupPayload),
  'dsync.group.updated': event("The IdP changed a directory group's attributes.", DsyncGroupPayload),
  'dsync.group.deleted': event('The IdP deleted a directory group.', DsyncGroupPayload),
  'dsync.group.user_added': event('A directory user joined a group (one event per membership).', DsyncMembershipPayload),
  'dsync.group.user_removed': event(
    'A directory user left a group, or was deleted while a member (one event per membership).',
    DsyncMembershipPayload,
  ),
  'webhook.test': event(
    'A test event for one webhook endpoint (POST /v1/webhook-endpoints/{id}/test), delivered to that endpoint only.',
    WebhookTestPayload,
  ),
  'webhook_endpoint.created': event('A webhook endpoint was created.', WebhookEndpointCreatedPayload),
  'webhook_endpoint.updated': event('A webhook endpoint was changed.', WebhookEndpointUpdatedPayload),
  'webhook_endpoint.deleted': event('A webhook endpoint was deleted.', WebhookEndpointDeletedPayload),
  'webhook_endpoint.disabled': event(
    'Lanyard disabled a webhook endpoint: it answered 410 Gone, or every attempt failed for 5 days.',
    WebhookEndpointDisabledPayload,
  ),
  'webhook_endpoint.secret_rotated': event(
    "A webhook endpoint's secret was rotated; deliveries are signed under both secrets until previousSecretExpiresAt.",
    WebhookEndpointSecretRotatedPayload,
  ),
  'console_link.created': event(
    'A single-use sign-in link to the operator console was issued (POST /v1/console-links or `lanyard console-link`).',
    Type.Object({ linkId: Id, expiresAt: Type.String({ format: 'date-time' }) }),
  ),
  'console_session.opened': event(
    'A console sign-in link was used: an operator session started; its id is the actor of what it does.',
    Type.Object({ sessionId: Id, linkId: Id }),
  ),
  'console_session.ended': event('An operator signed out of the console.', Type.Object({ sessionId: Id })),
} as const;

/** A declared event type. */
export type EventType = keyof typeof EVENT_CATALOGUE;

/** The summary an event of type `T` carries. */
export type EventSummary<T extends EventType> = Static<(typeof EVENT_CATALOGUE)[T]['summary']>;
