// Issue 15, item 2: "every instance may run the job; each domain is checked by one at a time".
// Two Lanyard instances, each with its own connection pool on one PostgreSQL schema and its own
// DNS server (two dnsmasq processes answering the same zone), both listening, so both run the
// background re-check. Each round moves the shared clock to the next slot of the schedule and wakes
// both workers at once; the DNS servers' query logs then say how often each domain was looked up
// (and by which instance). With the claim's lease and FOR UPDATE SKIP LOCKED
// (src/storage/organization-domains.ts, claimDueChecks) each due domain is looked up exactly once
// per round; without them both instances check the same domains.
//
// PGlite is one in-process connection: two instances over it cannot contend for a row, so this
// suite needs LANYARD_TEST_DATABASE_URL (a failure in CI, a loud skip elsewhere).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/storage/database.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { DNSMASQ_MISSING, hasDnsmasq, startDnsmasq, type Dnsmasq } from '../support/dnsmasq.ts';
import { requireOrSkip } from '../support/environment.ts';

const ZONE = 'corp.test';
const MINUTE = 60_000;
const DOMAINS = Array.from({ length: 40 }, (_, i) => `d${String(i).padStart(2, '0')}.${ZONE}`);
const ROUNDS = 5;
const POSTGRES_MISSING =
  'LANYARD_TEST_DATABASE_URL is not set: two instances contending for due domains need PostgreSQL (PGlite has one connection)';

/** TXT queries for each name in a dnsmasq log excerpt ("query[TXT] <name> from 127.0.0.1"). */
function txtQueries(log: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of log.matchAll(/query\[TXT\] (\S+) from /g)) counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the domain re-check on two instances over one PostgreSQL database', () => {
  const url = process.env.LANYARD_TEST_DATABASE_URL;
  const available = url !== undefined && url !== '' && hasDnsmasq();
  const schema = `test_${randomBytes(6).toString('hex')}`;
  let now = new Date('2026-03-02T10:00:00Z').getTime();
  const clock = () => new Date(now);
  let handles: DatabaseHandle[] = [];
  let dns: Dnsmasq[] = [];
  let instances: TestApp[] = [];

  before(async () => {
    if (!available) return;
    const first = await openDatabase({ url, schema, maxConnections: 4 });
    await migrateToLatest(first.db, { schema });
    handles = [first, await openDatabase({ url, schema, maxConnections: 4 })];
    dns = [await startDnsmasq({ zones: [ZONE] }), await startDnsmasq({ zones: [ZONE] })];
    const a = await createTestApp({ database: first.db, clock, env: { LANYARD_DNS_SERVERS: dns[0]!.server } });
    const b = await createTestApp({
      database: handles[1]!.db,
      adminToken: a.adminToken,
      clock,
      env: { LANYARD_DNS_SERVERS: dns[1]!.server },
    });
    instances = [a, b];
    // Listening starts each instance's background workers (app.ts, onListen).
    for (const instance of instances) await instance.app.listen({ port: 0, host: '127.0.0.1' });
  });

  after(async () => {
    for (const instance of instances) await instance.close();
    if (handles[0] !== undefined) await handles[0].db.schema.dropSchema(schema).cascade().execute();
    for (const handle of handles) await handle.close();
    for (const server of dns) await server.stop();
  });

  test('each due domain is checked by one instance per slot, and both instances take part', async (ctx) => {
    if (!requireOrSkip(ctx, url !== undefined && url !== '', POSTGRES_MISSING)) return;
    if (!requireOrSkip(ctx, hasDnsmasq(), DNSMASQ_MISSING)) return;
    const [a, b] = instances as [TestApp, TestApp];
    const org = (await a.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Contended' } })).json<{ id: string }>();
    for (const domain of DOMAINS) {
      const res = await b.request({ method: 'POST', url: `/v1/organizations/${org.id}/domains`, payload: { domain } });
      assert.equal(res.statusCode, 201, res.body);
    }
    const perInstance = [0, 0];
    for (let round = 1; round <= ROUNDS; round++) {
      const offsets = dns.map((server) => server.log().length);
      // The next minute's slot: every claim is due at once, on both instances.
      now += MINUTE;
      a.deps.domainCheckWorker.wake();
      b.deps.domainCheckWorker.wake();
      const checkedAt = new Date(now).toISOString();
      for (let waited = 0; ; waited += 50) {
        const listed = (await a.request({ method: 'GET', url: `/v1/organizations/${org.id}/domains` })).json<{
          data: { lastCheck: { at: string } | null }[];
        }>().data;
        if (listed.length === DOMAINS.length && listed.every((d) => d.lastCheck?.at === checkedAt)) break;
        assert.ok(waited < 20_000, `round ${round}: not every domain was checked within 20 s`);
        await sleep(50);
      }
      // A second check of a domain would land within milliseconds of the first; give it time, and the logs time to arrive.
      await sleep(500);
      const rounds = dns.map((server, i) => txtQueries(server.log().slice(offsets[i])));
      rounds.forEach((counts, i) => (perInstance[i]! += [...counts.values()].reduce((sum, n) => sum + n, 0)));
      for (const domain of DOMAINS) {
        const name = `_lanyard-verification.${domain}`;
        const times = rounds.map((counts) => counts.get(name) ?? 0);
        assert.deepEqual(
          times.reduce((sum, n) => sum + n),
          1,
          `round ${round}: ${domain} was looked up ${times.join(' + ')} times (instance A + instance B), not once`,
        );
      }
    }
    assert.equal(perInstance[0]! + perInstance[1]!, DOMAINS.length * ROUNDS);
    assert.ok(perInstance[0]! > 0 && perInstance[1]! > 0, `both instances check domains (A ${perInstance[0]}, B ${perInstance[1]})`);
  });
});
