/**
 * Webhook delivery benchmark (issue 13): a burst of events committed on PostgreSQL, delivered by
 * Lanyard's worker to a receiver on loopback in another process that verifies every signature.
 * Reports throughput (events per second from the first commit to the last receipt) and the lag of
 * each event from its commit to its first receipt (p50, p99, max). Runs on its own:
 *
 *   node --import tsx bench/webhooks.ts
 *
 * Knobs: BENCH_PG_URL, BENCH_WEBHOOK_EVENTS (10000), BENCH_WEBHOOK_WRITERS (8 concurrent
 * single-event transactions, as requests would write them), BENCH_WEBHOOK_CONCURRENCY (32 attempts
 * in flight), BENCH_WEBHOOK_RECEIVER_DELAY_MS (0), BENCH_OUT (also write the report there).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { recordEvent } from '../src/domain/events/events.ts';
import { createDeps } from '../src/deps.ts';
import type { WebhookMetricsSink } from '../src/domain/webhooks/metrics.ts';
import { createWebhookWorker } from '../src/domain/webhooks/worker.ts';
import { systemLookup } from '../src/net/guarded-fetch.ts';
import { migrateToLatest, openDatabase } from '../src/storage/database.ts';
import { createScratchDatabase } from './server.ts';
import { envInt, fmt, latency, pool, quantile, table } from './stats.ts';

const events = envInt('BENCH_WEBHOOK_EVENTS', 10_000, 2000);
const writers = envInt('BENCH_WEBHOOK_WRITERS', 8, 8);
const concurrency = envInt('BENCH_WEBHOOK_CONCURRENCY', 32, 32);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

type Report = { received: [string, number, boolean][] };

const scratch = await createScratchDatabase(adminUrl);
const child = fork(join(import.meta.dirname, 'webhook-receiver.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
const fromChild = <T>(key: string): Promise<T> =>
  new Promise((resolve) => {
    const onMessage = (message: Record<string, unknown>) => {
      if (key in message) {
        child.off('message', onMessage);
        resolve(message as T);
      }
    };
    child.on('message', onMessage);
  });
process.once('SIGINT', () => void scratch.drop().finally(() => process.exit(130)));

try {
  const { url: receiverUrl } = await fromChild<{ url: string }>('url');
  const handle = await openDatabase({ url: scratch.url, maxConnections: 10 });
  await migrateToLatest(handle.db);
  const config = loadConfig({ LANYARD_SECRET_KEY: randomBytes(32).toString('base64'), LANYARD_ALLOW_PRIVATE_NETWORK: 'true' });
  const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
  const deps = createDeps(config, { db: handle.db, logger });
  const endpoint = await deps.services.webhooks.create(SYSTEM_ACTOR, { url: receiverUrl, eventTypes: ['organization.created'] });
  child.send({ secret: endpoint.secret });
  // The bench's own sink: the mean attempt latency is all it reports.
  const attempts = { sum: 0, count: 0 };
  const metrics: WebhookMetricsSink = {
    attempt(_outcome, seconds) {
      attempts.sum += seconds;
      attempts.count++;
    },
    delivery() {},
  };
  const worker = createWebhookWorker(
    {
      db: handle.db,
      clock: () => new Date(),
      random: randomBytes,
      sealer: deps.sealer,
      lookup: systemLookup,
      logger,
      config,
      nudge: deps.services.webhookNudge,
      metrics,
    },
    { concurrency },
  );
  worker.start();

  // The burst: each event in its own transaction, `writers` at a time, its commit time noted.
  const committedAt = new Map<string, number>();
  const burstStart = Date.now();
  await pool(
    Array.from({ length: events }, (_, i) => i),
    writers,
    async (n) => {
      const id = await handle.db.transaction().execute((trx) =>
        recordEvent(trx, { now: new Date(), random: randomBytes }, SYSTEM_ACTOR, {
          type: 'organization.created',
          organizationId: null,
          summary: { name: `bench ${n}`, externalId: null, domains: [] },
        }),
      );
      committedAt.set(id, Date.now());
    },
  );
  const burstMs = Date.now() - burstStart;

  let report: Report = { received: [] };
  for (;;) {
    child.send({ report: true });
    report = await fromChild<Report>('received');
    if (new Set(report.received.map(([id]) => id)).size >= events) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await worker.stop();

  // Capacity: the same number of events committed first, then delivered from a standing backlog.
  const backlogIds = new Set<string>();
  await pool(
    Array.from({ length: events }, (_, i) => i),
    writers,
    async (n) => {
      const id = await handle.db.transaction().execute((trx) =>
        recordEvent(trx, { now: new Date(), random: randomBytes }, SYSTEM_ACTOR, {
          type: 'organization.created',
          organizationId: null,
          summary: { name: `bench ${n}`, externalId: null, domains: [] },
        }),
      );
      backlogIds.add(id);
    },
  );
  const backlogStart = Date.now();
  worker.start();
  let backlogDone = 0;
  for (;;) {
    child.send({ report: true });
    const seen = new Set((await fromChild<Report>('received')).received.map(([id]) => id));
    if ([...backlogIds].every((id) => seen.has(id))) {
      backlogDone = Date.now();
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await worker.stop();
  const backlogSeconds = (backlogDone - backlogStart) / 1000;
  await deps.close();
  await handle.close();

  const first = new Map<string, number>();
  for (const [id, at] of report.received) if (!first.has(id)) first.set(id, at);
  const lags = [...committedAt].map(([id, at]) => (first.get(id) ?? Number.NaN) - at);
  const lastReceipt = Math.max(...first.values());
  const seconds = (lastReceipt - burstStart) / 1000;
  const lag = latency(lags);
  const text = [
    `# Webhook delivery: ${events} events, ${writers} writers, ${concurrency} attempts in flight, PostgreSQL`,
    '',
    table(
      ['measure', 'value'],
      [
        ['burst committed in', `${fmt(burstMs / 1000)} s (${fmt(events / (burstMs / 1000), 0)} events/s)`],
        ['all delivered after', `${fmt(seconds)} s from the first commit`],
        ['throughput during the burst', `${fmt(events / seconds, 0)} deliveries/s`],
        ['throughput from a standing backlog', `${fmt(events / backlogSeconds, 0)} deliveries/s (${fmt(backlogSeconds)} s)`],
        ['lag commit → receipt p50', `${fmt(lag.p50, 0)} ms`],
        ['lag commit → receipt p99', `${fmt(lag.p99, 0)} ms`],
        ['lag max', `${fmt(quantile(lags, 1), 0)} ms`],
        ['requests received (burst)', `${report.received.length} (${report.received.length - first.size} duplicates)`],
        ['signatures that failed to verify', String(report.received.filter(([, , ok]) => !ok).length)],
        ['attempt latency mean', `${fmt((attempts.sum / attempts.count) * 1000)} ms`],
      ],
    ),
    '',
  ].join('\n');
  process.stdout.write(text);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, text);
} finally {
  child.send({ stop: true });
  await scratch.drop();
}
