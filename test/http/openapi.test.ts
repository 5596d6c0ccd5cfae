// The OpenAPI document is ready for generators: `redocly lint` (its recommended rules, with the
// exceptions redocly.yaml explains) reports nothing, every operation is named, summarised and tagged,
// every component is named, the public routes ask for no API key, and every event type of the
// catalogue is a 3.1 webhook whose body carries that type's declared summary schema.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { EVENT_CATALOGUE } from '../../src/domain/events/catalogue.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { repoRoot } from '../support/repo.ts';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses?: Record<string, unknown>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, { post: Operation }>;
  components: { schemas: Record<string, unknown> };
}

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Document;
  let text: string;
  before(async () => {
    t = await createTestApp();
    const res = await t.request({ method: 'GET', url: '/openapi.json', token: null });
    assert.equal(res.statusCode, 200);
    text = res.body;
    doc = res.json<Document>();
  });
  after(() => t.close());

  test('redocly lint reports no error and no warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanyard-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, text);
      const cli = join(repoRoot, 'node_modules', '.bin', 'redocly');
      // Nothing leaves the machine: no telemetry, no update check.
      const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
      const run = await promisify(execFile)(cli, ['lint', file, '--format=json', '--config', join(repoRoot, 'redocly.yaml')], {
        cwd: repoRoot,
        env,
      }).catch((error: unknown) => error as { stdout: string });
      const problems = (JSON.parse(run.stdout) as { problems: { ruleId: string; severity: string; message: string; location: unknown }[] })
        .problems;
      assert.deepEqual(
        problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} ${JSON.stringify(p.location)}`),
        [],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every operation has an operationId, a summary and tags; every component is named', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ at: `${m} ${path}`, op })),
    );
    assert.ok(operations.length >= 60);
    for (const { at, op } of operations) {
      assert.ok(op.operationId && op.summary && op.tags && op.tags.length > 0, `${at} has operationId, summary, tags`);
      // redocly.yaml turns operation-2xx-response off for the browser endpoints that succeed with a 302: only those may.
      const success = Object.keys(op.responses ?? {}).filter((status) => /^2/.test(status) || (at.includes(' /sso/') && status === '302'));
      assert.ok(success.length > 0, `${at} declares its success`);
    }
    const ids = operations.map(({ op }) => op.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    const names = Object.keys(doc.components.schemas);
    assert.ok(names.includes('Error') && names.includes('Organization'), names.join());
    assert.deepEqual(
      names.filter((name) => /^def-\d+$/.test(name)),
      [],
    );
  });

  test('the OAuth, discovery and SSO endpoints ask for no API key; /v1 does; SCIM the directory token', () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const expected = path.startsWith('/v1/')
          ? [{ bearer: [] }, { basic: [] }]
          : path.startsWith('/scim/')
            ? [{ directoryToken: [] }]
            : [];
        assert.deepEqual(op.security, expected, `${method} ${path}`);
      }
    }
    const token = doc.paths['/oauth/token']?.post;
    assert.ok(token?.requestBody?.content['application/x-www-form-urlencoded'], '/oauth/token takes a form (RFC 6749 §4.1.3)');
  });

  test('every event type of the catalogue is a webhook, its data the declared summary schema', () => {
    assert.deepEqual(Object.keys(doc.webhooks).sort(), Object.keys(EVENT_CATALOGUE).sort());
    for (const [type, { summary }] of Object.entries(EVENT_CATALOGUE)) {
      const body = doc.webhooks[type]?.post.requestBody?.content['application/json']?.schema as {
        properties: { type: unknown; data: unknown };
      };
      assert.deepEqual(body.properties.type, { const: type });
      assert.deepEqual(body.properties.data, JSON.parse(JSON.stringify(summary)), type);
    }
  });
});
