import type { Kysely } from 'kysely';
import { newId, type RandomBytes } from '../../crypto/tokens.ts';
import type { Database, EventRow, WebhookEndpointRow } from '../../storage/schema.ts';
import * as store from '../../storage/webhooks.ts';
import { webhookBody } from './signing.ts';

type EndpointFilter = Pick<WebhookEndpointRow, 'id' | 'organization_id' | 'event_types' | 'created_at'>;

/**
 * True when `endpoint` should receive `event` (pure): an endpoint without an organization hears
 * every organization's events, one with an organization only that organization's; `eventTypes`
 * filters; an endpoint hears only events that happened after it was created. A `webhook.test`
 * event goes to the one endpoint it names, whatever its filter.
 */
export function endpointWants(
  endpoint: EndpointFilter,
  event: Pick<EventRow, 'type' | 'organization_id' | 'summary' | 'created_at'>,
): boolean {
  if (event.type === 'webhook.test') return event.summary.webhookEndpointId === endpoint.id;
  if (endpoint.organization_id !== null && endpoint.organization_id !== event.organization_id) return false;
  if (endpoint.event_types !== null && !endpoint.event_types.includes(event.type)) return false;
  return endpoint.created_at <= event.created_at;
}

/**
 * One dispatch: in one transaction, locks up to `limit` undispatched events (skipping those
 * another instance holds), writes a delivery per event and endpoint that wants it, and marks the
 * events dispatched. A crash before the commit leaves the events undispatched for the next
 * dispatcher; after it, the deliveries exist. Returns how many events it took.
 */
export async function dispatchEvents(db: Kysely<Database>, deps: { now: Date; random: RandomBytes; limit: number }): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const events = await store.claimUndispatchedEvents(trx, deps.limit);
    if (events.length === 0) return 0;
    const endpoints = await store.lockEnabledEndpoints(trx);
    const deliveries = events.flatMap((event) => {
      const targets = endpoints.filter((endpoint) => endpointWants(endpoint, event));
      if (targets.length === 0) return [];
      const payload = webhookBody({
        id: event.id,
        type: event.type,
        createdAt: event.created_at,
        organizationId: event.organization_id,
        summary: event.summary,
      });
      return targets.map((endpoint) => ({
        id: newId('whd', deps.now, deps.random),
        endpoint_id: endpoint.id,
        event_id: event.id,
        event_type: event.type,
        event_created_at: event.created_at,
        payload,
        status: 'pending' as const,
        next_attempt_at: deps.now,
        created_at: deps.now,
      }));
    });
    await store.insertDeliveries(trx, deliveries);
    await store.markEventsDispatched(
      trx,
      events.map((e) => e.id),
      deps.now,
    );
    return events.length;
  });
}
