import { Type } from 'typebox';

/**
 * The summaries (what a delivery carries as `data`) of the webhooks feature's own events, one
 * TypeBox schema each; the event catalogue (src/domain/events/catalogue.ts) declares the types that
 * carry them. No secret and no full URL appears in them: a URL may carry a token in its query, and
 * these events reach /v1/events and other endpoints; the host is enough to tell endpoints apart.
 */

/** `webhook.test`: sent to one endpoint only, by `POST /v1/webhook-endpoints/{id}/test`. */
export const WebhookTestPayload = Type.Object({
  webhookEndpointId: Type.String(),
  message: Type.String(),
});

/** `webhook_endpoint.created`. */
export const WebhookEndpointCreatedPayload = Type.Object({
  webhookEndpointId: Type.String(),
  host: Type.String(),
  eventTypes: Type.Union([Type.Array(Type.String()), Type.Null()]),
  enabled: Type.Boolean(),
});

/** `webhook_endpoint.updated`. */
export const WebhookEndpointUpdatedPayload = Type.Object({
  webhookEndpointId: Type.String(),
  changed: Type.Array(Type.String()),
});

/** `webhook_endpoint.deleted`. */
export const WebhookEndpointDeletedPayload = Type.Object({
  webhookEndpointId: Type.String(),
  host: Type.String(),
});

/** `webhook_endpoint.disabled`: Lanyard disabled the endpoint, as it answered 410 Gone or every attempt failed for 5 days. */
export const WebhookEndpointDisabledPayload = Type.Object({
  webhookEndpointId: Type.String(),
  reason: Type.Union([Type.Literal('gone'), Type.Literal('failing')]),
  failingSince: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** `webhook_endpoint.secret_rotated`. */
export const WebhookEndpointSecretRotatedPayload = Type.Object({
  webhookEndpointId: Type.String(),
  previousSecretExpiresAt: Type.String({ format: 'date-time' }),
});
