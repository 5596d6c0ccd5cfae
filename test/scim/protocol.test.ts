// The SCIM API's edges: hostile input never reaches the database or makes a 500; errors in SCIM's
// shape; unsupported features; ETags; the per-directory rate limit; the discovery documents. (The
// SCIM error catalogue is held to the README by test/unit/catalogues.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, ENTERPRISE, filter, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

for (const backend of testBackends()) {
  describe(`SCIM protocol edges on ${backend}`, () => {
    let t: TestApp;
    let directory: TestDirectory;
    let user: string;
    before(async () => {
      t = await createTestApp({ backend });
      directory = await createDirectory(t);
      user = (
        await scim(t, directory, { method: 'POST', path: '/Users', body: { schemas: [USER_SCHEMA], userName: 'edge@example.com' } })
      ).json().id;
    });
    after(async () => t.close());

    test('hostile bodies and parameters are refused in SCIM’s shape, never a 500', async () => {
      const deep = JSON.parse(`${'{"a":'.repeat(60)}1${'}'.repeat(60)}`);
      const cases: [string, string, unknown, number, string | undefined][] = [
        ['POST', '/Users', { userName: 'nul\u0000@example.com' }, 400, 'invalidValue'],
        ['POST', '/Users', '{"userName":"lone\\ud800@example.com"}', 400, 'invalidValue'],
        ['POST', '/Users', { userName: 'k@example.com', 'bad\u0000key': 1 }, 400, 'invalidValue'],
        ['POST', '/Users', { userName: 'deep@example.com', deep }, 400, 'invalidValue'],
        ['POST', '/Users', { userName: 'x'.repeat(9000) }, 400, 'invalidValue'],
        [
          'POST',
          '/Users',
          { userName: 'big@example.com', emails: Array.from({ length: 101 }, (_, i) => ({ value: `${i}@x.example` })) },
          400,
          'invalidValue',
        ],
        ['POST', '/Users', '{"userName": "broken"', 400, 'invalidSyntax'],
        ['POST', '/Users', '[1,2]', 400, 'invalidSyntax'],
        ['POST', '/Users', { name: { givenName: 'no userName' } }, 400, 'invalidValue'],
        ['POST', '/Users', { userName: 42.5, active: 'perhaps' }, 400, 'invalidValue'],
        ['PATCH', `/Users/${user}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] }, 400, 'invalidSyntax'],
        [
          'PATCH',
          `/Users/${user}`,
          patchOp(...Array.from({ length: 1001 }, () => ({ op: 'add', path: 'title', value: 'x' }))),
          400,
          'invalidValue',
        ],
        ['PATCH', `/Users/${user}`, patchOp({ op: 'replace', path: 7, value: 'x' }), 400, 'invalidPath'],
        ['GET', `/Users${filter('userName eq "a\u0000"')}`, undefined, 400, 'invalidFilter'],
        ['GET', '/Users?attributes=%00', undefined, 400, 'invalidValue'],
        ['GET', '/Users?sortBy=%ED%A0%80', undefined, 400, 'invalidValue'],
        ['GET', `/Users?count=${'9'.repeat(20)}`, undefined, 400, 'invalidValue'],
        ['GET', '/Users/%00', undefined, 404, undefined],
        ['GET', `/Users/${user}%00`, undefined, 404, undefined],
        ['DELETE', '/Groups/dgrp_%00', undefined, 404, undefined],
        ['GET', '/Schemas/%00', undefined, 404, undefined],
      ];
      for (const [method, path, body, status, scimType] of cases) {
        const res = await scim(t, directory, { method, path, body });
        assert.equal(res.statusCode, status, `${method} ${path.slice(0, 60)}: ${res.body.slice(0, 200)}`);
        const error = res.json();
        assert.deepEqual(error.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
        assert.equal(error.status, String(status));
        assert.equal(error.scimType, scimType, `${method} ${path.slice(0, 60)}`);
      }
      const huge = await scim(t, directory, {
        method: 'POST',
        path: '/Users',
        body: { userName: 'huge@example.com', filler: 'x'.repeat(1_100_000) },
      });
      assert.equal(huge.statusCode, 413);
      assert.equal(huge.json().status, '413');
      const text = await scim(t, directory, {
        method: 'POST',
        path: '/Users',
        body: 'userName=x',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(text.statusCode, 415);
      const plainJson = await scim(t, directory, {
        method: 'POST',
        path: '/Users',
        body: { userName: 'json@example.com' },
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(plainJson.statusCode, 201, 'application/json is accepted as well');
      assert.equal(
        (await scim(t, directory, { method: 'GET', path: `/Users/${user}` })).json().meta.version,
        'W/"1"',
        'nothing reached the user',
      );
      const other = (await scim(t, directory, { method: 'POST', path: '/Users', body: { userName: 'bodiless@example.com' } })).json().id;
      const bodiless = await scim(t, directory, {
        method: 'DELETE',
        path: `/Users/${other}`,
        headers: { 'content-type': 'application/scim+json' },
      });
      assert.equal(bodiless.statusCode, 204, 'a DELETE with a JSON content type and no body');
    });

    test('unsupported features answer 501, unknown endpoints 404, both as SCIM errors', async () => {
      for (const [method, path, status] of [
        ['POST', '/Bulk', 501],
        ['GET', '/Me', 501],
        ['POST', '/Users/.search', 501],
        ['GET', '/Nope', 404],
        ['GET', '/users', 404],
        ['POST', '/Users/x/y', 404],
      ] as const) {
        const res = await scim(t, directory, { method, path, body: method === 'POST' ? {} : undefined });
        assert.equal(res.statusCode, status, path);
        assert.equal(res.json().status, String(status));
      }
    });

    test('ETags: If-Match guards changes (412), If-None-Match answers 304', async () => {
      const current = await scim(t, directory, { method: 'GET', path: `/Users/${user}` });
      const etag = current.headers.etag as string;
      const stale = await scim(t, directory, {
        method: 'PATCH',
        path: `/Users/${user}`,
        body: patchOp({ op: 'replace', path: 'title', value: 'x' }),
        headers: { 'if-match': 'W/"99"' },
      });
      assert.equal(stale.statusCode, 412);
      const fresh = await scim(t, directory, {
        method: 'PATCH',
        path: `/Users/${user}`,
        body: patchOp({ op: 'replace', path: 'title', value: 'x' }),
        headers: { 'if-match': etag },
      });
      assert.equal(fresh.statusCode, 200);
      assert.equal(fresh.headers.etag, 'W/"2"');
      assert.equal(
        (await scim(t, directory, { method: 'GET', path: `/Users/${user}`, headers: { 'if-none-match': 'W/"2"' } })).statusCode,
        304,
      );
      assert.equal((await scim(t, directory, { method: 'DELETE', path: `/Users/${user}`, headers: { 'if-match': etag } })).statusCode, 412);
    });

    test('the discovery documents say what the server does', async () => {
      const spc = (await scim(t, directory, { method: 'GET', path: '/ServiceProviderConfig' })).json();
      assert.deepEqual(
        [spc.patch.supported, spc.bulk.supported, spc.filter.supported, spc.filter.maxResults, spc.sort.supported, spc.etag.supported],
        [true, false, true, 200, true, true],
      );
      assert.equal(spc.authenticationSchemes[0].type, 'oauthbearertoken');
      const types = (await scim(t, directory, { method: 'GET', path: '/ResourceTypes' })).json();
      assert.deepEqual(
        types.Resources.map((r: { id: string }) => r.id),
        ['User', 'Group'],
      );
      const userType = (await scim(t, directory, { method: 'GET', path: '/ResourceTypes/User' })).json();
      assert.deepEqual(userType.schemaExtensions, [{ schema: ENTERPRISE, required: false }]);
      assert.equal((await scim(t, directory, { method: 'GET', path: '/ResourceTypes/Nope' })).statusCode, 404);
      const schemas = (await scim(t, directory, { method: 'GET', path: '/Schemas' })).json();
      assert.deepEqual(
        schemas.Resources.map((s: { id: string }) => s.id),
        [USER_SCHEMA, ENTERPRISE, 'urn:ietf:params:scim:schemas:core:2.0:Group'],
      );
      const userSchema = (await scim(t, directory, { method: 'GET', path: `/Schemas/${USER_SCHEMA}` })).json();
      const userName = userSchema.attributes.find((a: { name: string }) => a.name === 'userName');
      assert.deepEqual([userName.caseExact, userName.uniqueness, userName.required], [false, 'server', true]);
      assert.equal(userSchema.attributes.find((a: { name: string }) => a.name === 'password').returned, 'never');
    });
  });
}

describe('the SCIM per-directory rate limit', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { LANYARD_RATE_LIMIT_MAX: '5' } });
  });
  after(async () => t.close());

  test('a directory over its limit gets 429 with Retry-After; another directory and strangers do not count against it', async () => {
    const a = await createDirectory(t);
    const b = await createDirectory(t);
    for (let i = 0; i < 3; i++) assert.equal((await scim(t, a, { method: 'GET', path: '/Users', token: 'stranger' })).statusCode, 401);
    for (let i = 0; i < 5; i++) assert.equal((await scim(t, a, { method: 'GET', path: '/Users' })).statusCode, 200, `request ${i + 1}`);
    const limited = await scim(t, a, { method: 'GET', path: '/Users' });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().status, '429');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((await scim(t, b, { method: 'GET', path: '/Users' })).statusCode, 200);
  });
});
