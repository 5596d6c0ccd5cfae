import { Type, type Static, type TSchema } from 'typebox';
import { Nullable, PageQuery, Timestamp } from './common.ts';

/** `T` or null, described. */
function Described<T extends TSchema>(schema: T, description: string) {
  return Type.Union([schema, Type.Null()], { description });
}

// Text that reaches the database may not hold NUL, which PostgreSQL text refuses: a 400, not a 500.
const NO_NUL = '^[^\\u0000]*$';

export const WebhookEndpoint = Type.Object(
  {
    id: Type.String({ description: 'whk_… id' }),
    url: Type.String(),
    description: Nullable(Type.String()),
    eventTypes: Described(Type.Array(Type.String()), 'null: every event type'),
    organizationId: Described(Type.String(), "null: every organization's events (admin keys only)"),
    enabled: Type.Boolean(),
    disabledReason: Nullable(Type.Union([Type.Literal('manual'), Type.Literal('gone'), Type.Literal('failing')])),
    disabledAt: Nullable(Timestamp),
    failingSince: Described(Timestamp, 'the first failed attempt since the last success'),
    previousSecretExpiresAt: Described(Timestamp, 'until then, deliveries are signed with the previous secret too'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'WebhookEndpoint' },
);

export const WebhookEndpointWithSecret = Type.Intersect([
  WebhookEndpoint,
  Type.Object({ secret: Type.String({ description: 'whsec_… signing secret; shown once' }) }),
]);

const fields = {
  url: Type.String({
    minLength: 1,
    maxLength: 2000,
    pattern: NO_NUL,
    description: 'https URL (http only with LANYARD_ALLOW_PRIVATE_NETWORK)',
  }),
  eventTypes: Nullable(
    Type.Array(Type.String({ minLength: 1, maxLength: 100, pattern: NO_NUL }), {
      minItems: 1,
      maxItems: 100,
      description: 'Event types to deliver; absent or null: all',
    }),
  ),
  description: Nullable(Type.String({ maxLength: 500, pattern: NO_NUL })),
  enabled: Type.Boolean(),
};

export const CreateWebhookEndpointBody = Type.Object(
  {
    url: fields.url,
    eventTypes: Type.Optional(fields.eventTypes),
    organizationId: Type.Optional(
      Nullable(Type.String({ minLength: 1, maxLength: 100, pattern: NO_NUL, description: "Only this organization's events" })),
    ),
    description: Type.Optional(fields.description),
    enabled: Type.Optional(fields.enabled),
  },
  { additionalProperties: false },
);

export const UpdateWebhookEndpointBody = Type.Object(
  {
    url: Type.Optional(fields.url),
    eventTypes: Type.Optional(fields.eventTypes),
    description: Type.Optional(fields.description),
    enabled: Type.Optional(Type.Boolean({ description: 'true re-enables and sends what is still pending' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const WebhookIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100, pattern: NO_NUL }) });

export const WebhookAttempt = Type.Object({
  attemptedAt: Timestamp,
  statusCode: Described(Type.Integer(), 'null when there was no answer'),
  error: Described(Type.String(), 'why there was no answer (timeout, unreachable, refused address)'),
  latencyMs: Type.Integer(),
  responseBody: Described(Type.String(), 'the first 1 KiB of the answer'),
});

const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]);

export const WebhookDelivery = Type.Object(
  {
    id: Type.String({ description: 'whd_… id' }),
    endpointId: Type.String(),
    eventId: Type.String({ description: 'the webhook-id header' }),
    eventType: Type.String(),
    status: DeliveryStatus,
    attemptCount: Type.Integer(),
    nextAttemptAt: Nullable(Timestamp),
    lastAttemptAt: Nullable(Timestamp),
    deliveredAt: Nullable(Timestamp),
    createdAt: Timestamp,
    attempts: Type.Array(WebhookAttempt),
  },
  { $id: 'WebhookDelivery' },
);

export const ListDeliveriesQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(DeliveryStatus),
  eventType: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: NO_NUL })),
});

export const TestEventAnswer = Type.Object({
  eventId: Type.String({ description: 'the webhook.test event, and the webhook-id it is sent with' }),
});

export type WebhookEndpoint = Static<typeof WebhookEndpoint>;
export type WebhookDelivery = Static<typeof WebhookDelivery>;
export type CreateWebhookEndpointBody = Static<typeof CreateWebhookEndpointBody>;
export type UpdateWebhookEndpointBody = Static<typeof UpdateWebhookEndpointBody>;
export type ListDeliveriesQuery = Static<typeof ListDeliveriesQuery>;
