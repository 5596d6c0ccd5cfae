import { WEBHOOK_OWN_EVENT_TYPES } from './events.ts';

/**
 * The event types an endpoint may subscribe to (`eventTypes`). For now a list kept here, of what
 * `recordEvent` is called with in src/; it is to be replaced by the event catalogue
 * (src/domain/events/catalogue.ts) once that exists, so that a type is declared in one place.
 */
export const WEBHOOK_EVENT_TYPES: readonly string[] = Object.freeze([
  'organization.created',
  'organization.updated',
  'organization.deleted',
  'api_key.created',
  'api_key.revoked',
  'application.created',
  'application.updated',
  'application.deleted',
  'connection.created',
  'connection.updated',
  'connection.deleted',
  'login.succeeded',
  'login.failed',
  'sso_ticket.created',
  'sso_ticket.revoked',
  'sso_ticket.opened',
  'sso_ticket.saved',
  'sso_ticket.completed',
  'sso_ticket.test_started',
  'sso_ticket.test_succeeded',
  'sso_ticket.test_failed',
  ...WEBHOOK_OWN_EVENT_TYPES,
]);

const KNOWN = new Set(WEBHOOK_EVENT_TYPES);

/** True when `type` is an event type Lanyard records. */
export function isKnownEventType(type: string): boolean {
  return KNOWN.has(type);
}
