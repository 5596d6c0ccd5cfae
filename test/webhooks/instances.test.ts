// At-least-once across processes: a server killed with SIGKILL in the middle of a burst and
// restarted delivers every committed event; two instances on one PostgreSQL share a burst of 1,000
// events with none lost. Both need PostgreSQL (a SIGKILLed PGlite directory is not a fair test of
// anything but PGlite).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { recordEvent } from '../../src/domain/events/events.ts';
import { createDeps } from '../../src/deps.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { createTestApp } from '../support/app.ts';
import { requireOrSkip } from '../support/environment.ts';
import { sample } from '../support/metrics.ts';
import { createServerDatabase, startServer } from '../support/server-process.ts';
import { startReceiver, type Receiver } from '../support/webhook-receiver.ts';

const base = process.env.LANYARD_TEST_DATABASE_URL;

/** Every event id the receiver got with a valid signature, and how many requests repeated one. */
function tally(receiver: Receiver): { unique: Set<string>; duplicates: number; unverified: number } {
  const verified = receiver.received.filter((r) => r.verifiedBy.length > 0);
  const unique = new Set(verified.map((r) => r.id));
  return { unique, duplicates: verified.length - unique.size, unverified: receiver.received.length - verified.length };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('webhooks across processes and instances', () => {
  test('a server killed with SIGKILL mid-burst and restarted delivers every committed event at least once', async (t) => {
    if (!requireOrSkip(t, base !== undefined, 'LANYARD_TEST_DATABASE_URL (PostgreSQL)')) return;
    const database = await createServerDatabase(base ?? '', 'lanyard_webhooks');
    const { url, token } = database;
    const env = {
      ...database.env,
      LANYARD_ALLOW_PRIVATE_NETWORK: 'true',
      LANYARD_RATE_LIMIT_MAX: '1000000',
      LANYARD_LOG_LEVEL: 'warn',
    };
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 204, delayMs: 20 }); // slow enough that many attempts are in flight at the kill
    const db = new pg.Client({ connectionString: url.toString() });
    try {
      const first = await startServer(env);
      const api = (path: string, body: unknown) =>
        fetch(`${first.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const endpoint = (await (await api('/v1/webhook-endpoints', { url: receiver.url, eventTypes: ['organization.created'] })).json()) as {
        secret: string;
      };
      receiver.secrets = [endpoint.secret];
      let killed = false;
      const burst = async (lane: number): Promise<void> => {
        for (let i = 0; i < 50 && !killed; i++) {
          try {
            await api('/v1/organizations', { name: `Burst ${lane}-${i}` });
          } catch {
            return; // the server is gone: whatever it committed is what counts
          }
        }
      };
      const lanes = Array.from({ length: 8 }, (_, lane) => burst(lane));
      await until(() => receiver.received.length >= 100, 60_000, 'the first deliveries');
      first.child.kill('SIGKILL');
      killed = true;
      await first.stop();
      await Promise.all(lanes);
      const atKill = receiver.received.length;

      await db.connect();
      const committed = (await db.query<{ id: string }>(`select id from events where type = 'organization.created'`)).rows.map((r) => r.id);
      assert.ok(committed.length > atKill, `some events were still undelivered at the kill (${committed.length} > ${atKill})`);

      const second = await startServer(env);
      try {
        // In-flight attempts of the killed process come back when their lease (10 s + 5 s) ends.
        await until(() => committed.every((id) => tally(receiver).unique.has(id)), 90_000, 'every committed event');
        // Then until nothing is pending: the attempts the kill interrupted are sent again (the duplicates).
        const pending = async () =>
          (await db.query<{ n: number }>(`select count(*)::int as n from webhook_deliveries where status <> 'delivered'`)).rows[0]?.n;
        await until(async () => (await pending()) === 0, 90_000, 'no delivery pending');
      } finally {
        await second.stop();
      }
      const { duplicates, unverified } = tally(receiver);
      t.diagnostic(
        `committed ${committed.length}, received ${receiver.received.length} (${duplicates} duplicates, ${atKill} before the kill)`,
      );
      assert.equal(unverified, 0, 'every request verifies');
      assert.ok(duplicates <= 64, `duplicates are bounded by what was in flight: ${duplicates}`);
    } finally {
      await db.end().catch(() => {});
      await receiver.close();
      await database.drop();
    }
  });

  test('two instances on one PostgreSQL deliver a burst of 1,000 events: none lost, duplicates counted', async (t) => {
    if (!requireOrSkip(t, base !== undefined, 'LANYARD_TEST_DATABASE_URL (PostgreSQL)')) return;
    const one = await createTestApp({ backend: 'postgres', env: { LANYARD_ALLOW_PRIVATE_NETWORK: 'true' } });
    // The second instance has its own pool and its own worker over the same schema.
    const schema = (await one.db.selectNoFrom((eb) => eb.fn<string>('current_schema').as('schema')).executeTakeFirstOrThrow()).schema;
    const handle = await openDatabase({ url: base, schema, maxConnections: 4 });
    const config = loadConfig({
      LANYARD_SECRET_KEY: one.config.secretKey?.key.toString('base64') ?? '',
      LANYARD_ALLOW_PRIVATE_NETWORK: 'true',
    });
    const two = createDeps(config, { db: handle.db, logger: pino({ level: 'silent' }) });
    const receiver = await startReceiver();
    try {
      const created = await one.request({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        payload: { url: receiver.url, eventTypes: ['organization.created'] },
      });
      receiver.secrets = [created.json().secret];
      one.deps.webhookWorker.start();
      two.webhookWorker.start();
      const ids: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        await one.db.transaction().execute(async (trx) => {
          for (let i = 0; i < 50; i++) {
            ids.push(
              await recordEvent(trx, { now: new Date(), random: randomBytes }, SYSTEM_ACTOR, {
                type: 'organization.created',
                organizationId: null,
                summary: { name: `org ${batch * 50 + i}`, externalId: null, domains: [] },
              }),
            );
          }
        });
      }
      await until(() => tally(receiver).unique.size >= 1000, 60_000, '1,000 distinct events');
      await new Promise((r) => setTimeout(r, 500)); // late duplicates, if any, would arrive now
      const { unique, duplicates, unverified } = tally(receiver);
      const delivered = async (deps: { metrics: { render(): Promise<string> } }) =>
        sample(await deps.metrics.render(), 'lanyard_webhook_deliveries_total', { outcome: 'delivered' }) ?? 0;
      const byOne = await delivered(one.deps);
      const byTwo = await delivered(two);
      t.diagnostic(
        `received ${receiver.received.length}: ${unique.size} distinct, ${duplicates} duplicates; instance one ${byOne}, two ${byTwo}`,
      );
      assert.ok(
        ids.every((id) => unique.has(id)),
        'none lost',
      );
      assert.equal(unverified, 0);
      assert.ok(duplicates <= 10, `a small number of duplicates: ${duplicates}`);
      assert.ok(byOne > 0 && byTwo > 0, 'both instances delivered');
      assert.equal(byOne + byTwo, 1000 + duplicates, 'each attempt recorded once');
    } finally {
      await one.deps.webhookWorker.stop();
      await two.close();
      await handle.close();
      await receiver.close();
      await one.close();
    }
  });
});
