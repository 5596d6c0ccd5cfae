import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import type { Sealer } from '../../crypto/seal.ts';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import { organizationExists } from '../../storage/organizations.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import type { Database, WebhookEndpointRow } from '../../storage/schema.ts';
import * as store from '../../storage/webhooks.ts';
import type { Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { isKnownEventType } from './event-types.ts';
import { newWebhookSecret } from './signing.ts';
import { checkWebhookHost, checkWebhookUrl } from './url-policy.ts';
import type {
  CreateWebhookEndpointBody,
  ListDeliveriesQuery,
  UpdateWebhookEndpointBody,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../http/schemas/webhooks.ts';
import { toDelivery, toEndpoint } from './view.ts';

/** How long deliveries carry signatures under both secrets after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

export interface WebhookServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly sealer: Sealer;
  /** Name resolution for the check of a URL's host when it is given. */
  readonly lookup: Lookup;
  readonly config: Pick<Config, 'allowPrivateNetwork'>;
  /** Tells this instance's worker that work is waiting (a test event, a retry, a re-enabled endpoint). */
  readonly wake: () => void;
}

/**
 * Webhook endpoints: where events are delivered. An organization key manages only its
 * organization's endpoints; one without an organization (every organization's events) is for
 * admin keys. Every change writes an event in its transaction.
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const { db, clock, random, sealer, config } = deps;
  const visible = (actor: Actor, organizationId: string | null): boolean =>
    actor.organizationId === null || actor.organizationId === organizationId;

  async function loadVisible(trx: Kysely<Database>, actor: Actor, id: string): Promise<WebhookEndpointRow> {
    const row = await store.findEndpoint(trx, id);
    if (row === undefined || !visible(actor, row.organization_id)) throw notFound('webhook endpoint');
    return row;
  }

  async function checkUrl(text: string): Promise<string> {
    const parsed = checkWebhookUrl(text, config);
    const resolved = parsed.ok ? await checkWebhookHost(parsed.value, config, deps) : parsed;
    if (!resolved.ok) throw fieldError('url', resolved.error.message);
    return resolved.value.href;
  }

  async function scopeOf(trx: Kysely<Database>, actor: Actor, requested: string | null | undefined): Promise<string | null> {
    // Omitted: the key's own scope. An organization key may act for its organization only.
    const organizationId = requested === undefined ? actor.organizationId : requested;
    if (actor.organizationId !== null && organizationId !== actor.organizationId) {
      throw new AppError('forbidden', "an organization API key manages only its own organization's webhook endpoints");
    }
    if (organizationId === null) return null;
    if (!(await organizationExists(trx, organizationId))) throw fieldError('organizationId', 'names no organization');
    return organizationId;
  }

  return {
    async create(actor: Actor, input: CreateWebhookEndpointBody): Promise<WebhookEndpoint & { secret: string }> {
      const url = await checkUrl(input.url);
      const eventTypes = checkEventTypes(input.eventTypes);
      const now = clock();
      const id = newId('whk', now, random);
      const secret = newWebhookSecret(random);
      const enabled = input.enabled ?? true;
      const row = await db.transaction().execute(async (trx) => {
        const organizationId = await scopeOf(trx, actor, input.organizationId);
        const inserted = await store.insertEndpoint(trx, {
          id,
          url,
          description: input.description ?? null,
          event_types: eventTypes,
          organization_id: organizationId,
          enabled,
          disabled_reason: enabled ? null : 'manual',
          disabled_at: enabled ? null : now,
          sealed_secret: sealer.seal(secret, `webhook_endpoints:${id}`),
          created_at: now,
          updated_at: now,
        });
        await recordEvent(trx, { now, random }, actor, {
          type: 'webhook_endpoint.created',
          organizationId,
          summary: { webhookEndpointId: id, host: new URL(url).host, eventTypes, enabled },
        });
        return inserted;
      });
      return { ...toEndpoint(row, now), secret };
    },

    async list(actor: Actor, query: { limit: number; cursor?: string | undefined }): Promise<Page<WebhookEndpoint>> {
      const rows = await store.listEndpoints(db, {
        organizationId: actor.organizationId ?? undefined,
        after: decodeCursor(query.cursor),
        limit: query.limit,
      });
      const now = clock();
      return toPage(rows, query.limit, (row) => toEndpoint(row, now));
    },

    async get(actor: Actor, id: string): Promise<WebhookEndpoint> {
      return toEndpoint(await loadVisible(db, actor, id), clock());
    },

    async update(actor: Actor, id: string, patch: UpdateWebhookEndpointBody): Promise<WebhookEndpoint> {
      const url = patch.url === undefined ? undefined : await checkUrl(patch.url);
      const eventTypes = patch.eventTypes === undefined ? undefined : checkEventTypes(patch.eventTypes);
      const now = clock();
      const { row, reenabled } = await db.transaction().execute(async (trx) => {
        const current = await loadVisible(trx, actor, id);
        const enabling = patch.enabled === true && !current.enabled;
        const disabling = patch.enabled === false && current.enabled;
        const updated = await store.updateEndpoint(trx, id, {
          ...(url === undefined ? {} : { url }),
          ...(eventTypes === undefined ? {} : { event_types: eventTypes }),
          ...(patch.description === undefined ? {} : { description: patch.description }),
          ...(enabling ? { enabled: true, disabled_reason: null, disabled_at: null, failing_since: null } : {}),
          ...(disabling ? { enabled: false, disabled_reason: 'manual' as const, disabled_at: now } : {}),
          updated_at: now,
        });
        if (updated === undefined) throw notFound('webhook endpoint');
        // Re-enabled: what is still pending goes now, not at its backed-off time.
        if (enabling) await store.makePendingDueNow(trx, id, now);
        const changed = Object.keys(patch).filter((key) => patch[key as keyof UpdateWebhookEndpointBody] !== undefined);
        await recordEvent(trx, { now, random }, actor, {
          type: 'webhook_endpoint.updated',
          organizationId: current.organization_id,
          summary: { webhookEndpointId: id, changed },
        });
        return { row: updated, reenabled: enabling };
      });
      if (reenabled) deps.wake();
      return toEndpoint(row, now);
    },

    async delete(actor: Actor, id: string): Promise<void> {
      const now = clock();
      await db.transaction().execute(async (trx) => {
        const row = await loadVisible(trx, actor, id);
        await store.deleteEndpoint(trx, id);
        await recordEvent(trx, { now, random }, actor, {
          type: 'webhook_endpoint.deleted',
          organizationId: row.organization_id,
          summary: { webhookEndpointId: id, host: new URL(row.url).host },
        });
      });
    },

    /** A new secret; for 24 h deliveries are signed under the old one too (Standard Webhooks, "Webhook headers"). */
    async rotateSecret(actor: Actor, id: string): Promise<WebhookEndpoint & { secret: string }> {
      const now = clock();
      const secret = newWebhookSecret(random);
      const expires = new Date(now.getTime() + SECRET_OVERLAP_MS);
      const row = await db.transaction().execute(async (trx) => {
        const current = await loadVisible(trx, actor, id);
        const context = `webhook_endpoints:${id}`;
        const updated = await store.updateEndpoint(trx, id, {
          sealed_secret: sealer.seal(secret, context),
          // Re-sealed rather than copied, so that it is under the current key like the new one.
          sealed_previous_secret: sealer.seal(sealer.open(current.sealed_secret, context), context),
          previous_secret_expires_at: expires,
          updated_at: now,
        });
        if (updated === undefined) throw notFound('webhook endpoint');
        await recordEvent(trx, { now, random }, actor, {
          type: 'webhook_endpoint.secret_rotated',
          organizationId: current.organization_id,
          summary: { webhookEndpointId: id, previousSecretExpiresAt: expires.toISOString() },
        });
        return updated;
      });
      return { ...toEndpoint(row, now), secret };
    },

    /** Records a `webhook.test` event, which the dispatcher delivers to this endpoint only. */
    async sendTest(actor: Actor, id: string): Promise<{ eventId: string }> {
      const now = clock();
      const eventId = await db.transaction().execute(async (trx) => {
        const row = await loadVisible(trx, actor, id);
        if (!row.enabled) throw disabledError(row);
        return recordEvent(trx, { now, random }, actor, {
          type: 'webhook.test',
          organizationId: row.organization_id,
          summary: { webhookEndpointId: id, message: 'A test event sent from the Lanyard API.' },
        });
      });
      deps.wake();
      return { eventId };
    },

    async listDeliveries(actor: Actor, id: string, query: ListDeliveriesQuery): Promise<Page<WebhookDelivery>> {
      await loadVisible(db, actor, id);
      const rows = await store.listDeliveries(db, {
        endpointId: id,
        status: query.status,
        eventType: query.eventType,
        before: decodeCursor(query.cursor),
        limit: query.limit,
      });
      const attempts = await store.listAttempts(
        db,
        rows.slice(0, query.limit).map((r) => r.id),
      );
      return toPage(rows, query.limit, (row) =>
        toDelivery(
          row,
          attempts.filter((a) => a.delivery_id === row.id),
        ),
      );
    },

    /** Sends a delivery again now, whatever its status (its endpoint must be enabled). */
    async retryDelivery(actor: Actor, deliveryId: string): Promise<WebhookDelivery> {
      const found = await store.findDelivery(db, deliveryId);
      if (found === undefined || !visible(actor, found.endpoint_organization_id)) throw notFound('webhook delivery');
      if (!found.endpoint_enabled) {
        throw new AppError('webhook_endpoint_disabled', 'the endpoint of this delivery is disabled; enable it first (PATCH enabled: true)');
      }
      const row = await store.makeDeliveryDueNow(db, deliveryId, clock());
      if (row === undefined) throw notFound('webhook delivery');
      deps.wake();
      return toDelivery(row, await store.listAttempts(db, [deliveryId]));
    },

    /**
     * The lag, for a gauge: seconds since the oldest event still waiting for a delivery was
     * recorded (pending deliveries, and events not yet dispatched), 0 when nothing waits.
     */
    async lag(): Promise<{ oldestPendingSeconds: number; oldestUndispatchedSeconds: number }> {
      const { pendingSince, undispatchedSince } = await store.oldestBacklog(db);
      const now = clock().getTime();
      const age = (since: Date | null): number => (since === null ? 0 : Math.max(0, (now - since.getTime()) / 1000));
      return { oldestPendingSeconds: age(pendingSince), oldestUndispatchedSeconds: age(undispatchedSince) };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;

/** Absent or null: every type. Otherwise each must be a type Lanyard records (400 naming the entry). */
function checkEventTypes(types: string[] | null | undefined): string[] | null {
  if (types === undefined || types === null) return null;
  types.forEach((type, index) => {
    if (!isKnownEventType(type)) throw fieldError(`eventTypes.${index}`, `"${type}" is not an event type Lanyard records`);
  });
  return [...new Set(types)];
}

function fieldError(field: string, message: string): AppError {
  return new AppError('validation_failed', `${field} ${message}`, [{ field, message }]);
}

function disabledError(row: WebhookEndpointRow): AppError {
  const why =
    row.disabled_reason === 'gone' ? ' (it answered 410 Gone)' : row.disabled_reason === 'failing' ? ' (it failed for 5 days)' : '';
  return new AppError('webhook_endpoint_disabled', `the webhook endpoint is disabled${why}; enable it first (PATCH enabled: true)`);
}
