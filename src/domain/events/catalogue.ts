import { Type, type Static, type TSchema } from 'typebox';

// Every event type Lanyard records, declared once with the TypeBox schema of its `summary`
// (what happened, without secrets). recordEvent accepts only these types, with a summary of the
// declared shape, so the schemas are true to what is recorded; webhooks deliver these payloads.

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
} as const;

/** A declared event type. */
export type EventType = keyof typeof EVENT_CATALOGUE;

/** The summary an event of type `T` carries. */
export type EventSummary<T extends EventType> = Static<(typeof EVENT_CATALOGUE)[T]['summary']>;
