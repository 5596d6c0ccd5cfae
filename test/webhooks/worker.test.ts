// The worker's own life: woken by a nudge, stopped with attempts in flight, held to its time
// limit; the address guard at connect time; secrets rotation; and events older than webhooks.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { createSealer } from '../../src/crypto/seal.ts';
import { parseSecretKey } from '../../src/config.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { recordEvent } from '../../src/domain/events/events.ts';
import { rotateSealedSecrets } from '../../src/domain/keys/secret-rotation.ts';
import { dispatchEvents } from '../../src/domain/webhooks/dispatch.ts';
import { createWebhookWorker, type WebhookWorkerOptions } from '../../src/domain/webhooks/worker.ts';
import { systemLookup } from '../../src/net/guarded-fetch.ts';
import { createTestApp, testBackends } from '../support/app.ts';
import { startReceiver, type Receiver } from '../support/webhook-receiver.ts';
import { createHarness, deliveriesOf, endpointFor, renameOrganization, type Harness } from './support.ts';
import { withDatabaseAtMigration } from '../support/migration-database.ts';

/** A worker over the app's database and services, with its own options. */
function workerFor(h: Harness, options: WebhookWorkerOptions, sealer = h.t.deps.sealer) {
  const t = h.t;
  return createWebhookWorker(
    {
      db: t.db,
      clock: h.now,
      random: randomBytes,
      sealer,
      lookup: systemLookup,
      logger: pino({ level: 'silent' }),
      config: t.config,
      nudge: t.deps.services.webhookNudge,
      metrics: t.deps.metrics.webhooks,
    },
    options,
  );
}

describe('the webhook worker', () => {
  let h: Harness;
  let receiver: Receiver;
  before(async () => {
    h = await createHarness('pglite');
  });
  after(async () => h.t.close());
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => receiver.close());

  test('a started worker delivers at once when the API nudges it, long before its next poll', async () => {
    const worker = workerFor(h, { pollIntervalMs: 120_000 });
    const { endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
    worker.start();
    try {
      const started = Date.now();
      await h.t.request({ method: 'POST', url: `/v1/webhook-endpoints/${endpoint.id}/test` });
      await receiver.waitFor(1, 5000);
      assert.equal(receiver.received[0]?.payload?.type, 'webhook.test');
      assert.ok(Date.now() - started < 5000);
    } finally {
      await worker.stop();
    }
  });

  test('stop() with an attempt in flight releases it after the grace time: no attempt counted, due again at once', async () => {
    const worker = workerFor(h, { pollIntervalMs: 120_000, stopGraceMs: 200 });
    const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
    receiver.answer = () => 'hang';
    await renameOrganization(h.t, org.id, 'In flight at shutdown');
    worker.start();
    worker.wake();
    await receiver.waitFor(1, 5000);
    const stopping = Date.now();
    await worker.stop();
    assert.ok(Date.now() - stopping < 3000, 'stop does not wait for the 10 s time limit');
    const [delivery] = await deliveriesOf(h.t, endpoint.id);
    assert.equal(delivery?.status, 'pending');
    assert.equal(delivery?.attemptCount, 0);
    assert.equal(delivery?.attempts.length, 0);
    assert.ok(Date.parse(delivery?.nextAttemptAt ?? '') <= Date.now(), 'released, not leased');
    receiver.answer = () => ({ status: 204 });
    await h.t.deps.webhookWorker.drain();
    assert.equal((await deliveriesOf(h.t, endpoint.id))[0]?.status, 'delivered');
  });

  test('an attempt is held to the time limit: no answer, or a 2xx that comes too late, is a timeout', async () => {
    const worker = workerFor(h, { attemptTimeoutMs: 300 });
    const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
    let calls = 0;
    receiver.answer = () => (++calls === 1 ? 'hang' : { status: 200, delayMs: 600 });
    await renameOrganization(h.t, org.id, 'Slow 1');
    await worker.drain();
    await renameOrganization(h.t, org.id, 'Slow 2');
    await worker.drain();
    const deliveries = await deliveriesOf(h.t, endpoint.id);
    assert.equal(deliveries.length, 2);
    for (const delivery of deliveries) {
      assert.equal(delivery.status, 'pending');
      assert.match(delivery.attempts[0]?.error ?? '', /^timeout/);
      assert.ok((delivery.attempts[0]?.latencyMs ?? 0) >= 290);
    }
    h.advance(6000);
  });

  test('the default time limit is 10 s', async () => {
    const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
    receiver.answer = () => 'hang';
    await renameOrganization(h.t, org.id, 'Ten seconds');
    const started = Date.now();
    await h.t.deps.webhookWorker.drain();
    const took = Date.now() - started;
    assert.ok(took >= 9900 && took < 12_000, `took ${took} ms`);
    assert.match((await deliveriesOf(h.t, endpoint.id))[0]?.attempts[0]?.error ?? '', /^timeout/);
    h.advance(6000);
  });

  test('an instance without LANYARD_ALLOW_PRIVATE_NETWORK refuses plain http and, at connect time, loopback', async () => {
    const key = h.t.config.secretKey?.key.toString('base64') ?? '';
    const strict = await createTestApp({ shareDatabaseOf: h.t, env: { LANYARD_SECRET_KEY: key }, clock: h.now });
    try {
      const port = new URL(receiver.url).port;
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
      const https = (
        await h.t.request({
          method: 'POST',
          url: '/v1/webhook-endpoints',
          payload: { url: `https://localhost:${port}/hooks`, organizationId: org.id, eventTypes: ['organization.updated'] },
        })
      ).json();
      await renameOrganization(h.t, org.id, 'Guarded');
      await strict.deps.webhookWorker.drain();
      assert.equal(receiver.received.length, 0);
      assert.match((await deliveriesOf(h.t, endpoint.id))[0]?.attempts[0]?.error ?? '', /^insecure_url/);
      const [refused] = await deliveriesOf(h.t, https.id);
      assert.match(refused?.attempts[0]?.error ?? '', /^forbidden_address: .*loopback/, JSON.stringify(refused));
    } finally {
      await strict.close();
      h.advance(6000);
    }
  });

  test('`secrets rotate` re-seals both endpoint secrets; deliveries still verify with the old key dropped', async () => {
    const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
    const rotated = (await h.t.request({ method: 'POST', url: `/v1/webhook-endpoints/${endpoint.id}/rotate-secret` })).json();
    receiver.secrets = [endpoint.secret, rotated.secret];
    const oldKey = h.t.config.secretKey;
    assert.ok(oldKey);
    const newKey = parseSecretKey('LANYARD_SECRET_KEY', randomBytes(32).toString('base64'));
    const report = await rotateSealedSecrets(h.t.db, createSealer(newKey, [oldKey], randomBytes));
    for (const column of ['sealed_secret', 'sealed_previous_secret']) {
      const entry = report.find((r) => r.table === 'webhook_endpoints' && r.column === column);
      assert.ok(entry && entry.resealed >= 1 && entry.failed.length === 0, `${column}: ${JSON.stringify(entry)}`);
    }
    await renameOrganization(h.t, org.id, 'Re-sealed');
    await workerFor(h, {}, createSealer(newKey, [], randomBytes)).drain();
    assert.deepEqual(receiver.received.at(-1)?.verifiedBy, [0, 1]);
  });
});

for (const backend of testBackends()) {
  describe(`migration 0006 on ${backend}`, () => {
    test('events recorded before webhooks existed are marked dispatched and never delivered', async () => {
      await withDatabaseAtMigration(backend, '0004-tickets', async (db, migrateRest) => {
        const deps = { now: new Date(), random: randomBytes };
        const summary = { name: 'Acme', externalId: null, domains: [] };
        const old = await recordEvent(db, deps, SYSTEM_ACTOR, { type: 'organization.created', organizationId: null, summary });
        await migrateRest();
        const fresh = await recordEvent(db, deps, SYSTEM_ACTOR, { type: 'organization.created', organizationId: null, summary });
        const rows = await db.selectFrom('events').select(['id', 'dispatched_at']).orderBy('id').execute();
        assert.notEqual(rows.find((r) => r.id === old)?.dispatched_at, null);
        assert.equal(rows.find((r) => r.id === fresh)?.dispatched_at, null);
        assert.equal(await dispatchEvents(db, { ...deps, limit: 100 }), 1, 'only the new event is taken');
      });
    });
  });
}
