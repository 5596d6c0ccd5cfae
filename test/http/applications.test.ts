import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';

for (const backend of testBackends()) {
  describe(`applications API on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(async () => t.close());

    test('creates an application, shows its secret once, updates and deletes it', async () => {
      const created = await t.request({
        method: 'POST',
        url: '/v1/applications',
        payload: {
          name: 'Dashboard',
          redirectUris: ['https://app.example.com/callback', 'http://localhost:3000/cb'],
          defaultRedirectUri: 'https://app.example.com/callback',
        },
      });
      assert.equal(created.statusCode, 201);
      const app = created.json();
      assert.match(app.id, /^app_/);
      assert.match(app.clientId, /^client_/);
      assert.ok(app.clientSecret.length >= 43);
      const read = (await t.request({ method: 'GET', url: `/v1/applications/${app.id}` })).json();
      assert.equal(read.clientSecret, undefined);
      const row = await t.db.selectFrom('applications').selectAll().where('id', '=', app.id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(app.clientSecret), 'only a hash of the secret is stored');
      const patched = await t.request({
        method: 'PATCH',
        url: `/v1/applications/${app.id}`,
        payload: { name: 'Dash', organizationIds: ['org_x'] },
      });
      assert.equal(patched.statusCode, 200);
      assert.deepEqual(patched.json().organizationIds, ['org_x']);
      assert.equal(patched.json().defaultRedirectUri, 'https://app.example.com/callback');
      assert.ok((await t.request({ method: 'GET', url: '/v1/applications' })).json().data.some((a: { id: string }) => a.id === app.id));
      assert.equal((await t.request({ method: 'DELETE', url: `/v1/applications/${app.id}` })).statusCode, 204);
      assert.equal((await t.request({ method: 'GET', url: `/v1/applications/${app.id}` })).statusCode, 404);
    });

    test('refuses redirect URIs that are not exact, safe https URLs', async () => {
      const cases: [unknown, string][] = [
        [{ name: 'x', redirectUris: ['http://app.example.com/cb'] }, 'redirectUris.0'],
        [{ name: 'x', redirectUris: ['https://app.example.com/cb#frag'] }, 'redirectUris.0'],
        [{ name: 'x', redirectUris: ['https://ok.example.com/cb', 'javascript:alert(1)'] }, 'redirectUris.1'],
        [{ name: 'x', redirectUris: ['/relative'] }, 'redirectUris.0'],
        [{ name: 'x', redirectUris: ['https://user:pw@app.example.com/cb'] }, 'redirectUris.0'],
        [{ name: 'x', redirectUris: [] }, 'redirectUris'],
        [{ name: 'x', redirectUris: ['https://a.example.com/cb'], defaultRedirectUri: 'https://b.example.com/cb' }, 'defaultRedirectUri'],
        [{ redirectUris: ['https://a.example.com/cb'] }, 'name'],
      ];
      for (const [payload, field] of cases) {
        const res = await t.request({ method: 'POST', url: '/v1/applications', payload: payload as object });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().details[0].field, field, JSON.stringify(res.json()));
      }
    });

    test('organization keys cannot manage applications', async () => {
      const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'AppOrg' } })).json();
      const key = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'k', organizationId: org.id } })).json();
      const res = await t.request({
        method: 'POST',
        url: '/v1/applications',
        payload: { name: 'x', redirectUris: ['https://a.example.com/cb'] },
        token: key.token,
      });
      assert.equal(res.statusCode, 403);
      assert.equal((await t.request({ method: 'GET', url: '/v1/applications', token: key.token })).statusCode, 403);
    });
  });
}
