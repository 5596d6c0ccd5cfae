import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { loadConfig } from '../../src/config.ts';
import { endpointWants } from '../../src/domain/webhooks/dispatch.ts';
import { createNudge } from '../../src/domain/jobs/nudge.ts';
import { judgeAttempt, parseRetryAfter, retryDelay, RETRY_DELAYS_MS } from '../../src/domain/webhooks/schedule.ts';
import { newWebhookSecret, webhookBody, webhookHeaders } from '../../src/domain/webhooks/signing.ts';
import { checkWebhookHost, checkWebhookUrl } from '../../src/domain/webhooks/url-policy.ts';
import { createGuardedFetch, GuardedRequestError } from '../../src/net/guarded-request.ts';

const fixedRandom = (byte: number) => (size: number) => Buffer.alloc(size, byte);
const HOUR = 3_600_000;

describe('Standard Webhooks signing', () => {
  const secret = newWebhookSecret(fixedRandom(7));
  const body = webhookBody({
    id: 'evt_1',
    type: 'organization.created',
    createdAt: new Date('2025-01-02T03:04:05.678Z'),
    organizationId: 'org_1',
    summary: { name: 'Acme' },
  });

  test('a secret is whsec_ and base64 of 32 bytes from the random source it is given', () => {
    assert.equal(secret, `whsec_${Buffer.alloc(32, 7).toString('base64')}`);
  });

  test('the body is exactly {id, type, createdAt, organizationId, data}', () => {
    assert.deepEqual(JSON.parse(body), {
      id: 'evt_1',
      type: 'organization.created',
      createdAt: '2025-01-02T03:04:05.678Z',
      organizationId: 'org_1',
      data: { name: 'Acme' },
    });
  });

  test('the headers verify with the standardwebhooks package, under each secret given, and not once changed', () => {
    const other = newWebhookSecret(fixedRandom(9));
    const headers = webhookHeaders({ id: 'evt_1', now: new Date(), body, secrets: [secret, other] });
    assert.equal(headers['content-type'], 'application/json');
    assert.match(headers['user-agent'] ?? '', /Lanyard/);
    assert.equal(headers['webhook-id'], 'evt_1');
    assert.match(headers['webhook-timestamp'] ?? '', /^\d{10}$/);
    assert.equal(headers['webhook-signature']?.split(' ').length, 2);
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    assert.deepEqual(new Webhook(other).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(newWebhookSecret(fixedRandom(1))).verify(body, headers));
    assert.throws(() => new Webhook(secret).verify(body.replace('Acme', 'Acmf'), headers));
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_2' }));
    const old = webhookHeaders({ id: 'evt_1', now: new Date(Date.now() - 10 * 60_000), body, secrets: [secret] });
    assert.throws(() => new Webhook(secret).verify(body, old), /too old/);
  });
});

describe('retry schedule and verdicts', () => {
  test('about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each ±20%, then none', () => {
    assert.deepEqual(
      RETRY_DELAYS_MS.map((ms) => ms / 1000),
      [5, 300, 1800, 7200, 18000, 36000, 36000],
    );
    RETRY_DELAYS_MS.forEach((base, i) => {
      assert.equal(retryDelay(i + 1, fixedRandom(0)), Math.round(base * 0.8));
      assert.ok(Math.abs((retryDelay(i + 1, fixedRandom(0xff)) ?? 0) - base * 1.2) < base * 0.001);
    });
    assert.equal(retryDelay(8, fixedRandom(0)), undefined);
  });

  test('Retry-After postpones up to the longest delay, never brings forward', () => {
    assert.equal(retryDelay(1, fixedRandom(0), 60_000), 60_000);
    assert.equal(retryDelay(1, fixedRandom(0), 1000), 4000);
    assert.equal(retryDelay(1, fixedRandom(0), 100 * HOUR), 10 * HOUR);
    const now = new Date('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now), 60_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  test('2xx delivers; 3xx, 4xx, 5xx and no answer retry; 410 disables at once; 5 days of failures disable', () => {
    const now = new Date('2025-01-10T00:00:00Z');
    const context = { attemptsMade: 1, now, failingSince: null, random: fixedRandom(0) };
    for (const status of [200, 204, 299]) assert.equal(judgeAttempt({ kind: 'response', status }, context).status, 'delivered');
    for (const status of [199, 301, 302, 400, 404, 429, 500, 503]) {
      const verdict = judgeAttempt({ kind: 'response', status }, context);
      assert.equal(verdict.status, 'pending', String(status));
      assert.equal(verdict.nextAttemptAt?.getTime(), now.getTime() + 4000);
      assert.deepEqual(verdict.endpoint, { kind: 'failing' });
    }
    assert.deepEqual(judgeAttempt({ kind: 'response', status: 410 }, context).endpoint, { kind: 'disable', reason: 'gone' });
    assert.equal(judgeAttempt({ kind: 'error', code: 'timeout' }, { ...context, attemptsMade: 8 }).status, 'failed');
    const fourDays = new Date(now.getTime() - 4 * 24 * HOUR);
    const fiveDays = new Date(now.getTime() - 5 * 24 * HOUR);
    assert.deepEqual(judgeAttempt({ kind: 'error', code: 'x' }, { ...context, failingSince: fourDays }).endpoint, { kind: 'failing' });
    assert.deepEqual(judgeAttempt({ kind: 'error', code: 'x' }, { ...context, failingSince: fiveDays }).endpoint, {
      kind: 'disable',
      reason: 'failing',
    });
  });
});

describe('which endpoints an event goes to', () => {
  const created = new Date('2025-01-01T00:00:00Z');
  const later = new Date('2025-01-02T00:00:00Z');
  const event = { type: 'organization.updated', organization_id: 'org_a', summary: {}, created_at: later };
  test('organization, event types, creation time, and webhook.test to its one endpoint', () => {
    const all = { id: 'whk_all', organization_id: null, event_types: null, created_at: created };
    assert.equal(endpointWants(all, event), true);
    assert.equal(endpointWants({ ...all, organization_id: 'org_a' }, event), true);
    assert.equal(endpointWants({ ...all, organization_id: 'org_b' }, event), false);
    assert.equal(endpointWants({ ...all, organization_id: 'org_a' }, { ...event, organization_id: null }), false);
    assert.equal(endpointWants({ ...all, event_types: ['organization.created'] }, event), false);
    assert.equal(endpointWants({ ...all, event_types: ['organization.updated'] }, event), true);
    assert.equal(endpointWants({ ...all, created_at: new Date(later.getTime() + 1) }, event), false);
    const testEvent = { ...event, type: 'webhook.test', summary: { webhookEndpointId: 'whk_all' } };
    assert.equal(endpointWants({ ...all, event_types: ['organization.created'] }, testEvent), true);
    assert.equal(endpointWants({ ...all, id: 'whk_other' }, testEvent), false);
  });
});

describe('webhook URL policy', () => {
  const strict = { allowPrivateNetwork: false };
  test('https only, no credentials or fragment, no internal IP literal or localhost, unless private networks are allowed', () => {
    assert.equal(checkWebhookUrl('https://hooks.example.com/x?token=1', strict).ok, true);
    for (const url of [
      'http://hooks.example.com',
      'https://a:b@hooks.example.com',
      'https://hooks.example.com/#x',
      'javascript:alert(1)',
    ]) {
      assert.equal(checkWebhookUrl(url, strict).ok, false, url);
    }
    for (const url of ['https://127.0.0.1', 'https://10.1.2.3', 'https://[fd00::1]', 'https://0.0.0.0', 'https://app.localhost']) {
      const result = checkWebhookUrl(url, strict);
      assert.equal(result.ok ? 'ok' : result.error.code, 'forbidden_address', url);
    }
    assert.equal(checkWebhookUrl('http://127.0.0.1:8080/x', { allowPrivateNetwork: true }).ok, true);
  });

  test('a name that resolves inside the network is refused when given; one that does not resolve passes', async () => {
    const url = new URL('https://hooks.example.com/x');
    const to = (address: string) => ({ lookup: async () => [{ address, family: 4 }] });
    const refused = await checkWebhookHost(url, strict, to('192.168.1.10'));
    assert.equal(refused.ok ? 'ok' : refused.error.code, 'forbidden_address');
    assert.doesNotMatch(refused.ok ? '' : refused.error.message, /192\.168/, 'the address is not echoed');
    assert.equal((await checkWebhookHost(url, strict, to('93.184.216.34'))).ok, true);
    const failing = { lookup: async () => Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })) };
    assert.equal((await checkWebhookHost(url, strict, failing)).ok, true);
    assert.equal((await checkWebhookHost(url, { allowPrivateNetwork: true }, to('10.0.0.1'))).ok, true);
  });

  test('LANYARD_ALLOW_PRIVATE_NETWORK and the older LANYARD_ALLOW_PRIVATE_METADATA_URLS are one switch', () => {
    const key = { LANYARD_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') };
    assert.equal(loadConfig(key).allowPrivateNetwork, false);
    for (const name of ['LANYARD_ALLOW_PRIVATE_NETWORK', 'LANYARD_ALLOW_PRIVATE_METADATA_URLS']) {
      const config = loadConfig({ ...key, [name]: 'true' });
      assert.equal(config.allowPrivateNetwork, true, name);
      assert.equal(config.allowPrivateMetadataUrls, true, name);
      assert.throws(() => loadConfig({ ...key, [name]: 'maybe' }), new RegExp(name));
    }
  });
});

describe('the guarded fetch as webhooks use it', () => {
  test('keeps the first bytes of a long answer with `truncate`, fails without it, and never follows a redirect', async () => {
    const server = createServer((request, response) => {
      if (request.url === '/redirect') response.writeHead(302, { location: '/long' }).end();
      else response.writeHead(200).end('x'.repeat(100_000));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lookup = { lookup: async () => [{ address: '127.0.0.1', family: 4 }] };
    try {
      const truncating = createGuardedFetch({ allowPrivateAddresses: true, maxBytes: 1024, truncate: true }, lookup);
      const long = await truncating(`${base}/long`, { method: 'POST', body: '{}' });
      assert.equal(long.status, 200);
      assert.equal((await long.text()).length, 1024);
      const redirect = await truncating(`${base}/redirect`, { method: 'POST', body: '{}' });
      assert.equal(redirect.status, 302, 'the 3xx is the answer');
      const strictFetch = createGuardedFetch({ allowPrivateAddresses: true, maxBytes: 1024 }, lookup);
      await assert.rejects(strictFetch(`${base}/long`), (e: unknown) => e instanceof GuardedRequestError && e.code === 'too_large');
      const guarded = createGuardedFetch({ truncate: true }, lookup);
      await assert.rejects(guarded(`${base}/long`), (e: unknown) => e instanceof GuardedRequestError && e.code === 'forbidden_address');
    } finally {
      server.close();
    }
  });
});

describe('worker plumbing', () => {
  test('a nudge ends a wait at once, and one sent before the wait is not lost', async () => {
    const nudge = createNudge();
    const started = Date.now();
    setTimeout(() => nudge.notify(), 10);
    await nudge.wait(5000);
    nudge.notify();
    await nudge.wait(5000);
    assert.ok(Date.now() - started < 1000);
  });
});
