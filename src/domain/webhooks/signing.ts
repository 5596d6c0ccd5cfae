import { createHmac } from 'node:crypto';
import type { RandomBytes } from '../../crypto/tokens.ts';

/** Standard Webhooks 1.0.0, "Signature scheme": symmetric secrets are `whsec_` + base64, 24 to 64 bytes. */
const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(random: RandomBytes): string {
  return SECRET_PREFIX + random(SECRET_BYTES).toString('base64');
}

/** The HMAC key of a secret: the base64-decoded part after `whsec_`. */
function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** What one attempt of one delivery signs and sends. */
export interface SignedRequestInput {
  /** The event id: `webhook-id`, the same on every attempt so receivers can deduplicate. */
  readonly id: string;
  /** The attempt's time; `webhook-timestamp` is its whole seconds. */
  readonly now: Date;
  /** The exact body sent. */
  readonly body: string;
  /** Every secret that applies (the current one, and the previous one while a rotation overlaps). */
  readonly secrets: readonly string[];
}

/**
 * The Standard Webhooks headers (1.0.0, "Webhook headers"): the signature is
 * `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` per secret, space-separated.
 */
export function webhookHeaders(input: SignedRequestInput): Record<string, string> {
  const timestamp = String(Math.floor(input.now.getTime() / 1000));
  const content = `${input.id}.${timestamp}.${input.body}`;
  const signatures = input.secrets.map(
    (secret) => `v1,${createHmac('sha256', secretKey(secret)).update(content, 'utf8').digest('base64')}`,
  );
  return {
    'content-type': 'application/json',
    'user-agent': 'Lanyard-Webhooks/1',
    'webhook-id': input.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
  };
}

/** The body of a delivery: the event as /v1/events shows it, its summary as `data`. */
export function webhookBody(event: {
  id: string;
  type: string;
  createdAt: Date;
  organizationId: string | null;
  summary: Record<string, unknown>;
}): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    createdAt: event.createdAt.toISOString(),
    organizationId: event.organizationId,
    data: event.summary,
  });
}
