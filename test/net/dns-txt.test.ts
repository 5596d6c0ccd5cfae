// TXT lookups and domain-verification checks against a real DNS server (dnsmasq) on loopback.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { matchVerificationRecord, newVerificationValue, verificationRecordName } from '../../src/domain/domains/verification.ts';
import { createTxtLookup, TXT_LOOKUP_DEFAULTS, type TxtLookup } from '../../src/net/dns-txt.ts';
import { DNSMASQ_MISSING, hasDnsmasq, startDnsmasq, type DnsRecords, type Dnsmasq } from '../support/dnsmasq.ts';
import { freePort, requireOrSkip } from '../support/environment.ts';

const ZONE = 'corp.test';
const VALUE = 'lanyard-verification=Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV4cXV1eHF1dXo';

const baseRecords: DnsRecords = {
  zones: [ZONE],
  txt: {
    [`_lanyard-verification.${ZONE}`]: [VALUE],
    [`_lanyard-verification.wrong.${ZONE}`]: ['lanyard-verification=somebody-elses-value'],
    [`_lanyard-verification.split.${ZONE}`]: [[VALUE.slice(0, 30), VALUE.slice(30)]],
    [`_lanyard-verification.many.${ZONE}`]: ['v=spf1 -all', 'google-site-verification=abc', VALUE],
    [`_lanyard-verification.target.${ZONE}`]: [VALUE],
    [`quoting.${ZONE}`]: [['a, b "c" \\d', ' e ']],
  },
  cname: {
    // alias → alias → target: the chain a managed-DNS delegation builds.
    [`_lanyard-verification.alias.${ZONE}`]: `hop.${ZONE}`,
    [`hop.${ZONE}`]: `_lanyard-verification.target.${ZONE}`,
    [`_lanyard-verification.dangling.${ZONE}`]: `host.${ZONE}`,
  },
  a: { [`host.${ZONE}`]: '192.0.2.10' },
};

/** A UDP port that receives queries and never answers (where a firewall drops them, say). */
async function silentPort(): Promise<{ server: string; close(): Promise<void> }> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', () => {});
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { server: `127.0.0.1:${socket.address().port}`, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

describe('TXT lookups against dnsmasq', () => {
  let dns: Dnsmasq | undefined;
  let lookup: TxtLookup;

  before(async () => {
    if (!hasDnsmasq()) return;
    dns = await startDnsmasq(baseRecords);
    lookup = createTxtLookup({ servers: [dns.server] });
  });
  after(async () => {
    await dns?.stop();
  });

  const ready = (t: Parameters<typeof requireOrSkip>[0]): boolean => requireOrSkip(t, hasDnsmasq(), DNSMASQ_MISSING);

  test('a published record is found and matches', async (t) => {
    if (!ready(t)) return;
    const found = await lookup(`_lanyard-verification.${ZONE}`);
    assert.deepEqual(found, { ok: true, value: { records: [VALUE] } }, dns?.log());
    assert.deepEqual(matchVerificationRecord(found, VALUE), { matched: true });
  });

  test('a wrong value is found but does not match, and what was found is reported', async (t) => {
    if (!ready(t)) return;
    const found = await lookup(`_lanyard-verification.wrong.${ZONE}`);
    assert.deepEqual(matchVerificationRecord(found, VALUE), {
      matched: false,
      code: 'verification_record_mismatch',
      found: ['lanyard-verification=somebody-elses-value'],
    });
    // Case matters: base64url values differ by case.
    assert.equal(matchVerificationRecord(await lookup(`_lanyard-verification.${ZONE}`), VALUE.toUpperCase()).matched, false);
  });

  test('an unknown name is NXDOMAIN; a name without TXT records is no data', async (t) => {
    if (!ready(t)) return;
    assert.deepEqual(await lookup(`_lanyard-verification.nobody.${ZONE}`), {
      ok: false,
      error: { code: 'dns_name_not_found', cause: 'ENOTFOUND' },
    });
    assert.deepEqual(await lookup(`host.${ZONE}`), { ok: false, error: { code: 'dns_no_txt_record', cause: 'ENODATA' } });
    const absent = matchVerificationRecord(await lookup(`_lanyard-verification.nobody.${ZONE}`), VALUE);
    assert.deepEqual(absent, { matched: false, code: 'dns_name_not_found', found: [] });
  });

  test('CNAME chains are followed to the TXT records of their target', async (t) => {
    if (!ready(t)) return;
    const found = await lookup(`_lanyard-verification.alias.${ZONE}`);
    assert.deepEqual(found, { ok: true, value: { records: [VALUE] } }, dns?.log());
    // The server answered with the chain itself (the resolver asked once, for the alias).
    assert.match(dns?.log() ?? '', new RegExp(`_lanyard-verification\\.alias\\.${ZONE.replace('.', '\\.')} is <CNAME>`));
    // An alias to a name without TXT records: NOERROR with only the CNAME, which is no data.
    assert.deepEqual(await lookup(`_lanyard-verification.dangling.${ZONE}`), { ok: false, error: { code: 'dns_no_txt_record' } });
  });

  test("a record's strings are joined (RFC 7208 §3.3); any one of several records may match", async (t) => {
    if (!ready(t)) return;
    const split = await lookup(`_lanyard-verification.split.${ZONE}`);
    assert.deepEqual(split, { ok: true, value: { records: [VALUE] } });
    assert.deepEqual(matchVerificationRecord(split, VALUE), { matched: true });
    const many = await lookup(`_lanyard-verification.many.${ZONE}`);
    assert.ok(many.ok);
    assert.deepEqual([...many.value.records].sort(), ['google-site-verification=abc', 'v=spf1 -all', VALUE].sort());
    assert.deepEqual(matchVerificationRecord(many, VALUE), { matched: true });
    // Only whole records compare: the strings of two records are not glued together.
    assert.equal(matchVerificationRecord(many, `v=spf1 -all${VALUE}`).matched, false);
    // The harness passes commas, quotes, backslashes and edge spaces through intact.
    assert.deepEqual(await lookup(`quoting.${ZONE}`), { ok: true, value: { records: ['a, b "c" \\d e '] } });
  });

  test('a record added after the first check is found by the next one', async (t) => {
    if (!ready(t) || dns === undefined) return;
    const name = `_lanyard-verification.later.${ZONE}`;
    const value = newVerificationValue(() => Buffer.alloc(32, 7));
    assert.equal(name, verificationRecordName(`later.${ZONE}`));
    assert.deepEqual(matchVerificationRecord(await lookup(name), value), { matched: false, code: 'dns_name_not_found', found: [] });
    try {
      await dns.setRecords({ ...baseRecords, txt: { ...baseRecords.txt, [name]: [value] } });
      assert.deepEqual(matchVerificationRecord(await lookup(name), value), { matched: true }, dns.log());
    } finally {
      await dns.setRecords(baseRecords);
    }
    assert.deepEqual(await lookup(name), { ok: false, error: { code: 'dns_name_not_found', cause: 'ENOTFOUND' } });
  });

  test('a name outside every zone is REFUSED by the server: a server failure', async (t) => {
    if (!ready(t)) return;
    assert.deepEqual(await lookup('_lanyard-verification.elsewhere.invalid'), {
      ok: false,
      error: { code: 'dns_server_failure', cause: 'EREFUSED' },
    });
  });

  test('names that cannot be queried are refused before any query', async (t) => {
    if (!ready(t) || dns === undefined) return;
    const before = dns.log();
    for (const name of [
      `a\u0000b.${ZONE}`,
      `müller.${ZONE}`,
      `\ud800.${ZONE}`,
      `a..${ZONE}`,
      '',
      '.',
      `${'a'.repeat(64)}.${ZONE}`,
      `${'a.'.repeat(127)}b`,
    ]) {
      assert.deepEqual(await lookup(name), { ok: false, error: { code: 'dns_invalid_name' } }, JSON.stringify(name));
    }
    assert.equal(dns.log(), before, 'no query reached the server');
    // A trailing root dot is a valid way to write a name.
    assert.equal((await lookup(`_lanyard-verification.${ZONE}.`)).ok, true);
  });

  test('servers are tried in order: a refusing one is skipped for one that answers', async (t) => {
    if (!ready(t) || dns === undefined) return;
    const closed = `127.0.0.1:${await freePort()}`;
    const twoServers = createTxtLookup({ servers: [closed, dns.server], timeoutMs: 300, tries: 1 });
    assert.deepEqual(await twoServers(`_lanyard-verification.${ZONE}`), { ok: true, value: { records: [VALUE] } });
  });
});

describe('TXT lookups that get no answer', () => {
  test('a port where nothing answers times out', async () => {
    const silent = await silentPort();
    try {
      const started = Date.now();
      const result = await createTxtLookup({ servers: [silent.server], timeoutMs: 200, tries: 1 })('_lanyard-verification.corp.test');
      assert.deepEqual(result, { ok: false, error: { code: 'dns_timeout', cause: 'ETIMEOUT' } });
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    } finally {
      await silent.close();
    }
  });

  test('the deadline bounds the whole lookup, whatever the servers and tries', async () => {
    const silent = await silentPort();
    try {
      const started = Date.now();
      const lookup = createTxtLookup({
        servers: [silent.server, silent.server, silent.server],
        timeoutMs: 1000,
        tries: 5,
        deadlineMs: 300,
      });
      assert.deepEqual(await lookup('_lanyard-verification.corp.test'), { ok: false, error: { code: 'dns_timeout', cause: 'deadline' } });
      const took = Date.now() - started;
      assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
    } finally {
      await silent.close();
    }
  });

  test('with the defaults, a silent server gives up within the documented 5 s', async () => {
    const silent = await silentPort();
    try {
      const started = Date.now();
      const result = await createTxtLookup({ servers: [silent.server] })('_lanyard-verification.corp.test');
      assert.equal(result.ok ? undefined : result.error.code, 'dns_timeout');
      assert.ok(Date.now() - started <= TXT_LOOKUP_DEFAULTS.deadlineMs + 500, `took ${Date.now() - started} ms`);
    } finally {
      await silent.close();
    }
  });

  test('a port where nothing listens is refused: a server failure', async () => {
    const lookup = createTxtLookup({ servers: [`127.0.0.1:${await freePort()}`], timeoutMs: 300, tries: 1 });
    assert.deepEqual(await lookup('_lanyard-verification.corp.test'), {
      ok: false,
      error: { code: 'dns_server_failure', cause: 'ECONNREFUSED' },
    });
  });

  test('servers that setServers refuses fail at creation, not at a lookup', () => {
    assert.throws(() => createTxtLookup({ servers: ['dns.example.com'] }));
  });
});
