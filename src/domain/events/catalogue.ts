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

// Every event type Lanyard records, declared once with the TypeBox schema of its `summary`
// (what happened, without secrets). recordEvent accepts only these types, with a summary of the
// declared shape, so the schemas are true to what is recorded; webhooks deliver these payloads,
// and an endpoint's `eventTypes` may name only these. Directory sync and webhooks declare their
// summary schemas next to the code that fills them (scim/events.ts, webhooks/events.ts).

const Id = Type.String();
const MaybeId = Type.Union([Type.String(), Type.Null()]);
const Changed = Type.Array(Type.String(), { description: 'The names of the fields the change touched (never their values)' });
const Protocol = Type.Union([Type.Literal('saml'), Type.Literal('oidc')]);

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
  'login.succeeded': event(
    'A user signed in to an application; the app received a code.',
    Type.Object({
      connectionId: Id,
      applicationId: Id,
      flowId: MaybeId,
      sub: Type.String({ description: 'The sub the app receives' }),
      idpId: Type.String(),
      email: MaybeId,
    }),
  ),
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
