import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Sealer } from '../../crypto/seal.ts';
import { newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import { createGuardedFetch } from '../../net/guarded-request.ts';
import type { Database, WebhookEndpointRow } from '../../storage/schema.ts';
import * as store from '../../storage/webhooks.ts';
import { SYSTEM_ACTOR } from '../actor.ts';
import { dispatchEvents } from './dispatch.ts';
import { recordEvent } from '../events/events.ts';
import type { WebhookMetricsSink } from './metrics.ts';
import { repeatUntilStopped, type BackgroundWorker } from '../jobs/loop.ts';
import { createNudge, type Nudge } from '../jobs/nudge.ts';
import { ATTEMPT_TIMEOUT_MS, judgeAttempt } from './schedule.ts';
import { RESPONSE_BODY_BYTES, sendAttempt, type SentAttempt } from './send.ts';

export interface WebhookWorkerDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly sealer: Sealer;
  readonly lookup: Lookup;
  readonly logger: Logger;
  readonly config: Pick<Config, 'allowPrivateNetwork'>;
  /** Wakes the loop when this instance created work, or a slot freed up. */
  readonly nudge: Nudge;
  readonly metrics: WebhookMetricsSink;
}

export interface WebhookWorkerOptions {
  /** Attempts in flight at once in this instance; default 32. */
  readonly concurrency?: number;
  /** How often an idle worker looks for work other instances or requests created; default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Events per dispatch transaction; default 500. */
  readonly dispatchBatch?: number;
  /** Time limit of one attempt; default 10 s (a 2xx after that is a failure). */
  readonly attemptTimeoutMs?: number;
  /** On stop, how long attempts in flight may still finish before they are aborted and released; default 5000 ms. */
  readonly stopGraceMs?: number;
}

/**
 * The webhook worker that runs in every instance: a dispatcher turning undispatched events into
 * deliveries, and a deliverer claiming due deliveries (FOR NO KEY UPDATE SKIP LOCKED, with a lease
 * of the attempt's time limit plus a margin), sending them and recording each attempt. Nothing
 * is held in memory that the database does not also know: a kill -9 loses at most the leases,
 * which run out by themselves.
 */
export function createWebhookWorker(deps: WebhookWorkerDeps, options: WebhookWorkerOptions = {}): BackgroundWorker {
  const { db, clock, random, logger, nudge } = deps;
  const concurrency = options.concurrency ?? 32;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const timeoutMs = options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const dispatchBatch = options.dispatchBatch ?? 500;
  // The lease outlasts the attempt's time limit, so a live sender always records before it ends.
  const leaseMs = timeoutMs + 5000;
  const token = `wkr_${randomToken(random, 12)}`;
  const fetch = createGuardedFetch(
    { allowPrivateAddresses: deps.config.allowPrivateNetwork, timeoutMs, maxBytes: RESPONSE_BODY_BYTES, truncate: true },
    deps,
  );
  const inFlight = new Map<string, Promise<void>>();
  // The dispatcher listens to the nudge from deps; the deliverer to the dispatcher and to freed slots.
  const deliverNudge = createNudge();
  let abort = new AbortController();
  let running = false;
  let loops: Promise<void>[] = [];
  // Read through a call: start() and stop() change it while a loop awaits, which the compiler does not follow.
  const loop = { pollIntervalMs, logger, running: (): boolean => running };

  /** One dispatch transaction; returns how many events it took. */
  async function dispatchOnce(): Promise<number> {
    return dispatchEvents(db, { now: clock(), random, limit: dispatchBatch });
  }

  /**
   * Claims due deliveries for the free slots and starts sending them. Claims wait until a
   * quarter of the slots are free (or none is busy), so that a busy worker claims in batches
   * rather than one row per finished attempt.
   */
  async function claimAndSend(): Promise<number> {
    const free = concurrency - inFlight.size;
    if (free < Math.max(1, Math.floor(concurrency / 4)) && inFlight.size > 0) return 0;
    const now = clock();
    const claimed = await store.claimDueDeliveries(db, { now, leaseUntil: new Date(now.getTime() + leaseMs), token, limit: free });
    if (claimed.length === 0) return 0;
    const endpoints = new Map((await store.findEndpoints(db, [...new Set(claimed.map((c) => c.endpoint_id))])).map((e) => [e.id, e]));
    for (const delivery of claimed) {
      const work = deliver(delivery, endpoints.get(delivery.endpoint_id)).finally(() => {
        inFlight.delete(delivery.id);
        deliverNudge.notify(); // a slot is free
      });
      inFlight.set(delivery.id, work);
    }
    return claimed.length;
  }

  async function deliver(delivery: store.ClaimedDelivery, endpoint: WebhookEndpointRow | undefined): Promise<void> {
    try {
      if (endpoint === undefined) return; // deleted meanwhile: its deliveries went with it
      const attempt = await sendAttempt(
        fetch,
        {
          url: endpoint.url,
          eventId: delivery.event_id,
          body: delivery.payload,
          secrets: secretsOf(endpoint),
          now: clock(),
          allowHttp: deps.config.allowPrivateNetwork,
        },
        abort.signal,
      );
      if (attempt === 'aborted') await store.releaseClaims(db, [delivery.id], token, clock());
      else await record(delivery, endpoint, attempt);
    } catch (error) {
      // The database went away, most likely; the lease brings the delivery back.
      logger.error({ err: error, deliveryId: delivery.id, endpointId: delivery.endpoint_id }, 'webhook delivery could not be recorded');
    }
  }

  /** The current secret, and the previous one while a rotation's overlap lasts. */
  function secretsOf(endpoint: WebhookEndpointRow): string[] {
    const context = `webhook_endpoints:${endpoint.id}`;
    const secrets = [deps.sealer.open(endpoint.sealed_secret, context)];
    const previous = endpoint.sealed_previous_secret;
    if (previous !== null && endpoint.previous_secret_expires_at !== null && endpoint.previous_secret_expires_at > clock()) {
      secrets.push(deps.sealer.open(previous, context));
    }
    return secrets;
  }

  async function record(delivery: store.ClaimedDelivery, endpoint: WebhookEndpointRow, attempt: SentAttempt): Promise<void> {
    const now = clock();
    deps.metrics.attempt(attempt.outcome, attempt.latencyMs / 1000);
    const row = {
      id: newId('wha', now, random),
      attempted_at: now,
      status_code: attempt.statusCode,
      error: attempt.error,
      latency_ms: attempt.latencyMs,
      response_body: attempt.responseBody,
    };
    const context = { attemptsMade: delivery.attempt_count + 1, now, random };
    if (attempt.outcome === 'success') {
      const verdict = judgeAttempt(attempt.result, { ...context, failingSince: null });
      const moved = await store.recordAttempt(db, {
        deliveryId: delivery.id,
        token,
        status: verdict.status,
        nextAttemptAt: null,
        attempt: row,
      });
      if (moved) deps.metrics.delivery('delivered');
      if (moved && endpoint.failing_since !== null) await store.clearFailingStreak(db, endpoint.id);
      return;
    }
    await db.transaction().execute(async (trx) => {
      const streak = await store.extendFailingStreak(trx, endpoint.id, now);
      const verdict = judgeAttempt(attempt.result, { ...context, failingSince: streak?.failing_since ?? null });
      const moved = await store.recordAttempt(trx, {
        deliveryId: delivery.id,
        token,
        status: verdict.status,
        nextAttemptAt: verdict.nextAttemptAt,
        attempt: row,
      });
      if (!moved) return;
      deps.metrics.delivery(verdict.status === 'failed' ? 'failed' : 'retry_scheduled');
      if (verdict.endpoint.kind === 'disable' && (await store.disableEndpoint(trx, endpoint.id, verdict.endpoint.reason, now))) {
        logger.warn({ endpointId: endpoint.id, reason: verdict.endpoint.reason }, 'webhook endpoint disabled');
        await recordEvent(trx, { now, random }, SYSTEM_ACTOR, {
          type: 'webhook_endpoint.disabled',
          organizationId: endpoint.organization_id,
          summary: {
            webhookEndpointId: endpoint.id,
            reason: verdict.endpoint.reason,
            failingSince: streak?.failing_since?.toISOString() ?? null,
          },
        });
      }
    });
    logger.debug(
      { deliveryId: delivery.id, endpointId: endpoint.id, status: attempt.statusCode, error: attempt.error },
      'webhook attempt failed',
    );
  }

  return {
    start() {
      if (running) return;
      running = true;
      abort = new AbortController();
      loops = [
        // Whatever woke the dispatcher (a request of this instance) may have made deliveries due: tell the deliverer.
        repeatUntilStopped({ ...loop, name: 'webhook dispatch', step: dispatchOnce, wake: nudge, after: () => deliverNudge.notify() }),
        repeatUntilStopped({ ...loop, name: 'webhook delivery', step: claimAndSend, wake: deliverNudge }),
      ];
    },
    async stop() {
      if (!running) return;
      running = false;
      nudge.notify();
      deliverNudge.notify();
      await Promise.all(loops);
      const finished = Promise.all(inFlight.values());
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.stopGraceMs ?? 5000)));
      await Promise.race([finished, grace]);
      clearTimeout(timer);
      abort.abort(); // what is still in flight is released, not recorded
      await finished;
    },
    wake() {
      nudge.notify();
    },
    async drain() {
      for (;;) {
        const found = (await dispatchOnce()) + (await claimAndSend());
        if (inFlight.size > 0) await Promise.race(inFlight.values());
        else if (found === 0) return;
      }
    },
  };
}
