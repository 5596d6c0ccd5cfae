import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { ConfigError, loadConfig, redactConfig } from '../../src/config.ts';

test('defaults give a working embedded setup', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.dataDir, './data');
  assert.equal(config.databasePreparedStatements, true);
  assert.equal(config.secretKey, undefined);
  assert.deepEqual(config.rateLimit, { max: 1000, windowSeconds: 60 });
  assert.ok(Object.isFrozen(config));
});

test('each bad value names its variable', () => {
  const cases: [Record<string, string>, string][] = [
    [{ LANYARD_PORT: 'eighty' }, 'LANYARD_PORT'],
    [{ LANYARD_PORT: '70000' }, 'LANYARD_PORT'],
    [{ LANYARD_PUBLIC_URL: 'ftp://x' }, 'LANYARD_PUBLIC_URL'],
    [{ LANYARD_PUBLIC_URL: 'not a url' }, 'LANYARD_PUBLIC_URL'],
    [{ LANYARD_DATABASE_URL: 'mysql://x' }, 'LANYARD_DATABASE_URL'],
    [{ LANYARD_DATABASE_URL: 'postgres://localhost/db' }, 'LANYARD_SECRET_KEY'],
    [{ LANYARD_SECRET_KEY: 'short' }, 'LANYARD_SECRET_KEY'],
    [{ LANYARD_PREVIOUS_SECRET_KEYS: 'short' }, 'LANYARD_PREVIOUS_SECRET_KEYS'],
    [{ LANYARD_BOOTSTRAP_API_KEY: 'too short' }, 'LANYARD_BOOTSTRAP_API_KEY'],
    [{ LANYARD_REDIS_URL: 'http://x' }, 'LANYARD_REDIS_URL'],
    [{ LANYARD_LOG_LEVEL: 'loud' }, 'LANYARD_LOG_LEVEL'],
    [{ LANYARD_RATE_LIMIT_MAX: '0' }, 'LANYARD_RATE_LIMIT_MAX'],
    [{ LANYARD_ALLOW_PRIVATE_METADATA_URLS: 'maybe' }, 'LANYARD_ALLOW_PRIVATE_METADATA_URLS'],
    [{ LANYARD_DATABASE_PREPARED_STATEMENTS: 'off' }, 'LANYARD_DATABASE_PREPARED_STATEMENTS'],
    [{ LANYARD_DNS_SERVERS: 'dns.example.com' }, 'LANYARD_DNS_SERVERS'],
    [{ LANYARD_DNS_SERVERS: '1.1.1.1,' }, 'LANYARD_DNS_SERVERS'],
    [{ LANYARD_DNS_SERVERS: '1.1.1.1:0' }, 'LANYARD_DNS_SERVERS'],
    [{ LANYARD_DNS_SERVERS: '1.1.1.1:65536' }, 'LANYARD_DNS_SERVERS'],
    [{ LANYARD_DNS_SERVERS: '300.1.1.1' }, 'LANYARD_DNS_SERVERS'],
    [{ LANYARD_DNS_SERVERS: '1.1.1.1:53:53' }, 'LANYARD_DNS_SERVERS'],
    [{ LANYARD_DNS_SERVERS: '[1.1.1.1]:53' }, 'LANYARD_DNS_SERVERS'],
    [{ LANYARD_DNS_SERVERS: '[::1]:x' }, 'LANYARD_DNS_SERVERS'],
  ];
  for (const [env, variable] of cases) {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => error instanceof ConfigError && error.variable === variable && error.message.startsWith(variable),
      JSON.stringify(env),
    );
  }
});

test('secret keys parse from base64 or hex, get a stable id, and never appear when logged', () => {
  const key = randomBytes(32);
  const fromBase64 = loadConfig({
    LANYARD_SECRET_KEY: key.toString('base64'),
    LANYARD_BOOTSTRAP_API_KEY: 'b'.repeat(40),
    LANYARD_DATABASE_URL: 'postgres://u:hunter2@db/x',
  });
  const fromHex = loadConfig({ LANYARD_SECRET_KEY: key.toString('hex') });
  assert.deepEqual(fromBase64.secretKey?.key, key);
  assert.equal(fromBase64.secretKey?.id, fromHex.secretKey?.id);
  const logged = JSON.stringify(redactConfig(fromBase64));
  assert.ok(!logged.includes(key.toString('base64')) && !logged.includes('hunter2') && !logged.includes('b'.repeat(40)), logged);
});

test('LANYARD_DNS_SERVERS: the system resolver by default, else addresses with optional ports', () => {
  assert.equal(loadConfig({}).dnsServers, undefined);
  assert.equal(loadConfig({ LANYARD_DNS_SERVERS: ' ' }).dnsServers, undefined);
  const config = loadConfig({ LANYARD_DNS_SERVERS: '10.0.0.2, 127.0.0.1:5353,2001:db8::1,[2001:db8::2]:53,[::1]' });
  assert.deepEqual(config.dnsServers, ['10.0.0.2', '127.0.0.1:5353', '2001:db8::1', '[2001:db8::2]:53', '[::1]']);
  assert.ok(Object.isFrozen(config.dnsServers));
});

test('LANYARD_WORKERS: one process by default, a count or one per CPU, more than one only on PostgreSQL', () => {
  const postgres = { LANYARD_DATABASE_URL: 'postgres://db/x', LANYARD_SECRET_KEY: randomBytes(32).toString('base64') };
  assert.equal(loadConfig({}).workers, 1);
  assert.equal(loadConfig({ ...postgres, LANYARD_WORKERS: '3' }).workers, 3);
  assert.equal(loadConfig({ ...postgres, LANYARD_WORKERS: 'auto' }).workers, availableParallelism());
  assert.throws(() => loadConfig({ ...postgres, LANYARD_WORKERS: '0' }), /LANYARD_WORKERS must be a whole number from 1 to 64/);
  assert.throws(() => loadConfig({ LANYARD_WORKERS: '2' }), /LANYARD_WORKERS is 2, but the embedded database allows one process/);
});
