import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERROR_CATALOGUE } from '../../src/domain/errors.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
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
    const metrics = await t.request({ method: 'GET', url: '/metrics', token: null });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /lanyard_http_requests_total\{route="\/v1\/organizations",method="GET",status="200"\} \d+/);
    assert.match(metrics.body, /lanyard_http_requests_total\{route="\/v1\/organizations",method="GET",status="401"\} \d+/);
    assert.match(
      metrics.body,
      /lanyard_http_request_duration_seconds_bucket\{route="\/v1\/organizations",method="GET",status="200",le="\+Inf"\} \d+/,
    );
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
