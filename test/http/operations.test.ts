import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERROR_CATALOGUE } from '../../src/domain/errors.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { sample } from '../support/metrics.ts';
import { repoRoot } from '../support/repo.ts';

describe('operations endpoints and the error contract', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  test('healthz, readyz and metrics answer without a key', async () => {
    assert.deepEqual((await t.request({ method: 'GET', url: '/healthz', token: null })).json(), { status: 'ok' });
    assert.equal((await t.request({ method: 'GET', url: '/readyz', token: null })).statusCode, 200);
    await t.request({ method: 'GET', url: '/v1/organizations' });
    await t.request({ method: 'GET', url: '/v1/organizations', token: null });
    await t.request({ method: 'GET', url: '/v1/organizations', token: null });
    const metrics = await t.request({ method: 'GET', url: '/metrics', token: null });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    const route = { route: '/v1/organizations', method: 'GET' };
    assert.equal(sample(metrics.body, 'lanyard_http_requests_total', { ...route, status: '200' }), 1);
    assert.equal(sample(metrics.body, 'lanyard_http_requests_total', { ...route, status: '401' }), 2);
    assert.equal(sample(metrics.body, 'lanyard_http_request_duration_seconds_bucket', { ...route, status: '401', le: '+Inf' }), 2);
    assert.equal(sample(metrics.body, 'lanyard_http_request_duration_seconds_count', { ...route, status: '401' }), 2);
    await t.request({ method: 'GET', url: '/v1/no/such/route/42' });
    const after = (await t.request({ method: 'GET', url: '/metrics', token: null })).body;
    assert.equal(sample(after, 'lanyard_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }), 1);
    assert.doesNotMatch(after, /no\/such\/route/, 'a raw URL never becomes a label');
    // prom-client's default process and Node.js metrics.
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      assert.ok((sample(after, name, {}) ?? -1) >= 0, name);
    for (const name of [
      'lanyard_logins_started_total',
      'lanyard_logins_succeeded_total',
      'lanyard_logins_failed_total',
      'lanyard_scim_requests_total',
      'lanyard_webhook_attempts_total',
      'lanyard_webhook_deliveries_total',
    ])
      assert.match(after, new RegExp(`^# TYPE ${name} counter$`, 'm'));
    assert.match(after, /^# TYPE lanyard_webhook_attempt_duration_seconds histogram$/m);
    assert.equal(sample(after, 'lanyard_webhook_oldest_waiting_seconds', { stage: 'pending' }), 0, 'nothing waits');
  });

  test('every app counts in a registry of its own', async () => {
    const other = await createTestApp();
    try {
      await other.request({ method: 'GET', url: '/healthz', token: null });
      const mine = (await t.request({ method: 'GET', url: '/metrics', token: null })).body;
      const theirs = (await other.request({ method: 'GET', url: '/metrics', token: null })).body;
      assert.equal(sample(theirs, 'lanyard_http_requests_total', { route: '/healthz', method: 'GET', status: '200' }), 1);
      assert.equal(sample(theirs, 'lanyard_http_requests_total', { route: '/v1/organizations', method: 'GET', status: '401' }), undefined);
      assert.ok((sample(mine, 'lanyard_http_requests_total', { route: '/v1/organizations', method: 'GET', status: '401' }) ?? 0) >= 2);
    } finally {
      await other.close();
    }
  });

  test('the metrics count logins, SCIM requests and webhook attempts by their labels; the backlog is read at each scrape', async () => {
    let backlog: () => Promise<{ oldestPendingSeconds: number; oldestUndispatchedSeconds: number }> = async () => ({
      oldestPendingSeconds: 12.5,
      oldestUndispatchedSeconds: 3,
    });
    const metrics = createMetrics({ webhookBacklog: () => backlog() });
    metrics.logins.started('saml');
    metrics.logins.started('saml');
    metrics.logins.succeeded('oidc');
    metrics.logins.failed('saml', 'saml_signature_invalid');
    metrics.scim.request('Users', 'POST', 201);
    metrics.webhooks.attempt('success', 0.02);
    metrics.webhooks.attempt('timeout', 10);
    metrics.webhooks.delivery('delivered');
    const body = await metrics.render();
    assert.equal(sample(body, 'lanyard_logins_started_total', { connection_type: 'saml' }), 2);
    assert.equal(sample(body, 'lanyard_logins_succeeded_total', { connection_type: 'oidc' }), 1);
    assert.equal(sample(body, 'lanyard_logins_failed_total', { connection_type: 'saml', code: 'saml_signature_invalid' }), 1);
    assert.equal(sample(body, 'lanyard_scim_requests_total', { resource: 'Users', method: 'POST', status: '201' }), 1);
    assert.equal(sample(body, 'lanyard_webhook_attempts_total', { outcome: 'timeout' }), 1);
    assert.equal(sample(body, 'lanyard_webhook_attempt_duration_seconds_bucket', { outcome: 'success', le: '0.025' }), 1);
    assert.equal(sample(body, 'lanyard_webhook_attempt_duration_seconds_bucket', { outcome: 'timeout', le: '10' }), 1);
    assert.equal(sample(body, 'lanyard_webhook_deliveries_total', { outcome: 'delivered' }), 1);
    assert.equal(sample(body, 'lanyard_webhook_oldest_waiting_seconds', { stage: 'pending' }), 12.5);
    assert.equal(sample(body, 'lanyard_webhook_oldest_waiting_seconds', { stage: 'undispatched' }), 3);
    // A database that cannot answer leaves the last values; /metrics still answers.
    backlog = async () => Promise.reject(new Error('database down'));
    assert.equal(sample(await metrics.render(), 'lanyard_webhook_oldest_waiting_seconds', { stage: 'pending' }), 12.5);
  });

  test('serves the generated OpenAPI document and a page to read it', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json', token: null })).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/v1/organizations', '/v1/organizations/{id}', '/v1/api-keys', '/v1/events']) assert.ok(doc.paths[path], path);
    assert.ok(doc.paths['/v1/organizations'].post.requestBody);
    assert.equal(doc.paths['/healthz'], undefined);
    const docs = await t.request({ method: 'GET', url: '/docs', token: null });
    assert.ok(docs.statusCode === 200 || docs.statusCode === 302);
  });

  test('unknown routes answer 404 in the contract shape with a request id', async () => {
    const res = await t.request({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(res.statusCode, 404);
    const body = res.json();
    assert.equal(body.code, 'route_not_found');
    assert.equal(body.requestId, res.headers['x-request-id']);
  });

  test('a failure nobody planned for is a 500 with the request id and no internals', async () => {
    const broken = await createTestApp();
    // The database going away under a running app: every query now fails unexpectedly.
    await broken.db.destroy();
    const res = await broken.request({ method: 'GET', url: '/v1/organizations' });
    assert.equal(res.statusCode, 500);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'requestId', 'statusCode']);
    assert.equal(body.code, 'internal_error');
    assert.doesNotMatch(res.body, /at .*\.ts:\d+|Error:/);
    assert.equal((await broken.request({ method: 'GET', url: '/readyz', token: null })).statusCode, 503);
    await broken.app.close();
  });

  test('every error code is in the catalogue and the README, and the code throws no other', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const code of Object.keys(ERROR_CATALOGUE))
      assert.match(
        readme,
        new RegExp(`\\| \`${code}\` \\| ${ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status} \\|`),
        `README documents ${code}`,
      );
    const thrown = new Set<string>();
    for (const file of sourceFiles(join(repoRoot, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/(?:new AppError\(|sendError\([^,]+, [^,]+, )'([a-z_]+)'/g))
        thrown.add(match[1]!);
    }
    assert.ok(thrown.size >= 5, `found ${thrown.size} codes in src`);
    for (const code of thrown) assert.ok(code in ERROR_CATALOGUE, `${code} is thrown but not catalogued`);
  });
});

function sourceFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
}
