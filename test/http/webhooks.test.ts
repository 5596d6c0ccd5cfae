import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';

const RECEIVER = 'https://hooks.example.com/lanyard';

for (const backend of testBackends()) {
  describe(`webhook endpoints API on ${backend}`, () => {
    let t: TestApp;
    let orgId: string;
    let orgToken: string;
    before(async () => {
      t = await createTestApp({ backend });
      orgId = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json().id;
      orgToken = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'acme', organizationId: orgId } })).json().token;
    });
    after(async () => t.close());

    const create = (payload: Record<string, unknown>, token?: string) =>
      t.request({ method: 'POST', url: '/v1/webhook-endpoints', payload, ...(token ? { token } : {}) });

    test('create answers the secret once, with no-store; reads, lists, changes and deletes never show it', async () => {
      const created = await create({ url: RECEIVER, description: 'app', eventTypes: ['organization.created', 'organization.created'] });
      assert.equal(created.statusCode, 201);
      assert.equal(created.headers['cache-control'], 'no-store');
      const endpoint = created.json();
      assert.match(endpoint.id, /^whk_[0-9A-Z]{26}$/);
      assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(endpoint.secret.slice(6), 'base64').length, 32);
      assert.deepEqual(endpoint.eventTypes, ['organization.created'], 'duplicates collapse');
      assert.equal(endpoint.organizationId, null);
      assert.equal(endpoint.enabled, true);

      const read = await t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpoint.id}` });
      assert.equal(read.statusCode, 200);
      assert.equal(read.json().secret, undefined);
      assert.equal(read.json().url, RECEIVER);
      const listed = (await t.request({ method: 'GET', url: '/v1/webhook-endpoints' })).json();
      assert.ok(listed.data.some((e: { id: string }) => e.id === endpoint.id));
      assert.doesNotMatch(JSON.stringify(listed), /whsec_/);

      const patched = await t.request({
        method: 'PATCH',
        url: `/v1/webhook-endpoints/${endpoint.id}`,
        payload: { eventTypes: null, enabled: false },
      });
      assert.equal(patched.statusCode, 200);
      assert.equal(patched.json().eventTypes, null);
      assert.equal(patched.json().enabled, false);
      assert.equal(patched.json().disabledReason, 'manual');

      assert.equal((await t.request({ method: 'DELETE', url: `/v1/webhook-endpoints/${endpoint.id}` })).statusCode, 204);
      assert.equal((await t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpoint.id}` })).statusCode, 404);

      const events = (await t.request({ method: 'GET', url: '/v1/events?limit=100' })).json();
      const types = events.data.filter((e: { summary: { webhookEndpointId?: string } }) => e.summary.webhookEndpointId === endpoint.id);
      assert.deepEqual(
        types.map((e: { type: string }) => e.type),
        ['webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.deleted'],
      );
      assert.equal(types[0].summary.host, 'hooks.example.com');
      assert.doesNotMatch(JSON.stringify(events), new RegExp(endpoint.secret.slice(6, 20).replace(/[+/]/g, '.')));
      assert.doesNotMatch(JSON.stringify(events), /\/lanyard/, 'no full URL in events (a query may hold a token)');
    });

    test('rotating the secret answers a new one with no-store and a 24-hour overlap', async () => {
      const endpoint = (await create({ url: RECEIVER })).json();
      const rotated = await t.request({ method: 'POST', url: `/v1/webhook-endpoints/${endpoint.id}/rotate-secret` });
      assert.equal(rotated.statusCode, 200);
      assert.equal(rotated.headers['cache-control'], 'no-store');
      assert.match(rotated.json().secret, /^whsec_/);
      assert.notEqual(rotated.json().secret, endpoint.secret);
      const overlap = Date.parse(rotated.json().previousSecretExpiresAt) - Date.parse(rotated.json().updatedAt);
      assert.equal(overlap, 24 * 60 * 60 * 1000);
    });

    test('an unknown event type, a bad URL or hostile text is a 400 naming the field, never a 500', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ url: RECEIVER, eventTypes: ['organization.created', 'user.exploded'] }, 'eventTypes.1'],
        [{ url: 'http://hooks.example.com/x' }, 'url'],
        [{ url: 'ftp://hooks.example.com/x' }, 'url'],
        [{ url: 'not a url' }, 'url'],
        [{ url: 'https://user:pass@hooks.example.com/x' }, 'url'],
        [{ url: 'https://10.0.0.7/x' }, 'url'],
        [{ url: 'https://[::1]/x' }, 'url'],
        [{ url: 'https://169.254.169.254/latest/meta-data' }, 'url'],
        [{ url: 'https://localhost/x' }, 'url'],
        [{ url: 'https://[::ffff:127.0.0.1]/x' }, 'url'],
        [{ url: RECEIVER, description: 'nul\u0000byte' }, 'description'],
        [{ url: RECEIVER, eventTypes: [] }, 'eventTypes'],
        [{ url: RECEIVER, organizationId: 'org_nope' }, 'organizationId'],
        [{ url: RECEIVER, secret: 'whsec_mine' }, 'secret'],
      ];
      for (const [payload, field] of cases) {
        const res = await create(payload);
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
        assert.equal(res.json().code, 'validation_failed');
        assert.ok(
          res.json().details.some((d: { field: string }) => d.field === field),
          `${JSON.stringify(payload)} names ${field}: ${res.body}`,
        );
      }
      const lone = await t.request({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers: { 'content-type': 'application/json' },
        payload: `{"url":"${RECEIVER}","description":"\\ud800 lone"}`,
      });
      assert.equal(lone.statusCode, 400, 'a lone surrogate is refused before it reaches the database');
      assert.equal(lone.json().details[0].field, 'description');
      const valid = (await create({ url: RECEIVER })).json();
      for (const [url, status] of [
        ['/v1/webhook-endpoints/whk_%00', 404],
        [`/v1/webhook-endpoints/${valid.id}/deliveries?eventType=a%00b`, 400],
      ] as const) {
        assert.equal((await t.request({ method: 'GET', url })).statusCode, status, url);
      }
      const deep = await create({ url: RECEIVER, eventTypes: Array.from({ length: 101 }, () => 'organization.created') });
      assert.equal(deep.statusCode, 400);
    });

    test('an organization key manages only its own endpoints; one without organization is admin-only', async () => {
      const own = await create({ url: RECEIVER }, orgToken);
      assert.equal(own.statusCode, 201);
      assert.equal(own.json().organizationId, orgId, 'omitted: the key’s organization');
      assert.equal((await create({ url: RECEIVER, organizationId: null }, orgToken)).statusCode, 403);
      const other = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Other' } })).json().id;
      assert.equal((await create({ url: RECEIVER, organizationId: other }, orgToken)).statusCode, 403);

      const adminOnly = (await create({ url: RECEIVER })).json();
      const otherOrgs = (await create({ url: RECEIVER, organizationId: other })).json();
      for (const id of [adminOnly.id, otherOrgs.id]) {
        for (const [method, url] of [
          ['GET', `/v1/webhook-endpoints/${id}`],
          ['PATCH', `/v1/webhook-endpoints/${id}`],
          ['DELETE', `/v1/webhook-endpoints/${id}`],
          ['POST', `/v1/webhook-endpoints/${id}/rotate-secret`],
          ['POST', `/v1/webhook-endpoints/${id}/test`],
          ['GET', `/v1/webhook-endpoints/${id}/deliveries`],
        ] as const) {
          const res = await t.request({ method, url, token: orgToken, ...(method === 'PATCH' ? { payload: { enabled: false } } : {}) });
          assert.equal(res.statusCode, 404, `${method} ${url}`);
        }
      }
      const listed = (await t.request({ method: 'GET', url: '/v1/webhook-endpoints?limit=100', token: orgToken })).json();
      assert.ok(listed.data.length >= 1);
      assert.ok(listed.data.every((e: { organizationId: string }) => e.organizationId === orgId));
      assert.equal((await t.request({ method: 'GET', url: `/v1/webhook-endpoints/${own.json().id}`, token: orgToken })).statusCode, 200);
    });

    test('a test event for a disabled endpoint is refused with webhook_endpoint_disabled', async () => {
      const endpoint = (await create({ url: RECEIVER, enabled: false })).json();
      assert.equal(endpoint.disabledReason, 'manual');
      const res = await t.request({ method: 'POST', url: `/v1/webhook-endpoints/${endpoint.id}/test` });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'webhook_endpoint_disabled');
      assert.equal(
        (await t.request({ method: 'POST', url: '/v1/webhook-deliveries/whd_01J00000000000000000000000/retry' })).statusCode,
        404,
      );
    });

    test('the OpenAPI document names and summarizes every webhook route', async () => {
      const doc = (await t.request({ method: 'GET', url: '/openapi.json', token: null })).json();
      const operations = [
        ['/v1/webhook-endpoints', 'post'],
        ['/v1/webhook-endpoints', 'get'],
        ['/v1/webhook-endpoints/{id}', 'get'],
        ['/v1/webhook-endpoints/{id}', 'patch'],
        ['/v1/webhook-endpoints/{id}', 'delete'],
        ['/v1/webhook-endpoints/{id}/rotate-secret', 'post'],
        ['/v1/webhook-endpoints/{id}/test', 'post'],
        ['/v1/webhook-endpoints/{id}/deliveries', 'get'],
        ['/v1/webhook-deliveries/{id}/retry', 'post'],
      ];
      const ids = new Set<string>();
      for (const [path, method] of operations) {
        const operation = doc.paths[path!]?.[method!];
        assert.ok(operation?.operationId, `${method} ${path} has an operationId`);
        assert.ok(operation.summary, `${method} ${path} has a summary`);
        ids.add(operation.operationId);
      }
      assert.equal(ids.size, operations.length);
    });
  });
}

describe('webhook URLs on a deployment that allows private networks', () => {
  test('plain http and loopback are accepted with LANYARD_ALLOW_PRIVATE_NETWORK', async () => {
    const t = await createTestApp({ env: { LANYARD_ALLOW_PRIVATE_NETWORK: 'true' } });
    try {
      const res = await t.request({ method: 'POST', url: '/v1/webhook-endpoints', payload: { url: 'http://127.0.0.1:9/hooks' } });
      assert.equal(res.statusCode, 201, res.body);
    } finally {
      await t.close();
    }
  });
});
