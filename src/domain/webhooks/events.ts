import { Type, type Static } from 'typebox';

/**
 * The events the webhooks feature records, each with the TypeBox schema of its `summary` (what a
 * delivery carries as `data`). No secret and no full URL appears in them: a URL may carry a token
 * in its query, and these events reach /v1/events and other endpoints; the host is enough to tell
 * endpoints apart.
 */
export const WEBHOOK_EVENT_SCHEMAS = {
  /** Sent to one endpoint only, by `POST /v1/webhook-endpoints/{id}/test`. */
  'webhook.test': Type.Object({
    webhookEndpointId: Type.String(),
    message: Type.String(),
  }),
  'webhook_endpoint.created': Type.Object({
    webhookEndpointId: Type.String(),
    host: Type.String(),
    eventTypes: Type.Union([Type.Array(Type.String()), Type.Null()]),
    enabled: Type.Boolean(),
  }),
  'webhook_endpoint.updated': Type.Object({
    webhookEndpointId: Type.String(),
    changed: Type.Array(Type.String()),
  }),
  'webhook_endpoint.deleted': Type.Object({
    webhookEndpointId: Type.String(),
    host: Type.String(),
  }),
  /** Lanyard disabled the endpoint: it answered 410 Gone, or every attempt failed for 5 days. */
  'webhook_endpoint.disabled': Type.Object({
    webhookEndpointId: Type.String(),
    reason: Type.Union([Type.Literal('gone'), Type.Literal('failing')]),
    failingSince: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  }),
  'webhook_endpoint.secret_rotated': Type.Object({
    webhookEndpointId: Type.String(),
    previousSecretExpiresAt: Type.String({ format: 'date-time' }),
  }),
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_SCHEMAS;

/** The summary of one of these events, as its schema declares it. */
export type WebhookEventSummary<T extends WebhookEventType> = Static<(typeof WEBHOOK_EVENT_SCHEMAS)[T]>;

export const WEBHOOK_OWN_EVENT_TYPES = Object.keys(WEBHOOK_EVENT_SCHEMAS) as WebhookEventType[];
