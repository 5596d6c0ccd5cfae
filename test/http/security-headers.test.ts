// Response headers decided in one hook (src/http/security-headers.ts): HSTS over https, no-store on
// answers that carry a secret, and the CSP and frame protection of /docs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOCS_CSP } from '../../src/http/security-headers.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const HSTS = 'max-age=31536000; includeSubDomains';

describe('security headers', () => {
  let https: TestApp;
  let http: TestApp;
  before(async () => {
    [https, http] = await Promise.all([
      createTestApp({ env: { LANYARD_PUBLIC_URL: 'https://sso.example.com' } }),
      createTestApp({ env: { LANYARD_PUBLIC_URL: 'http://127.0.0.1:8080' } }),
    ]);
  });
  after(async () => Promise.all([https.close(), http.close()]));

  const answers = (t: TestApp) =>
    Promise.all([
      t.request({ method: 'GET', url: '/healthz', token: null }),
      t.request({ method: 'GET', url: '/v1/organizations' }),
      t.request({ method: 'GET', url: '/v1/organizations', token: null }),
      t.request({ method: 'POST', url: '/v1/organizations', payload: { nope: 1 } }),
      t.request({ method: 'GET', url: '/v1/nothing-here' }),
      t.request({ method: 'GET', url: '/oauth/authorize?client_id=unknown', token: null }),
      t.request({ method: 'GET', url: '/.well-known/openid-configuration', token: null }),
      t.request({ method: 'GET', url: '/docs/', token: null }),
    ]);

  test('every answer carries HSTS when the public URL is https, and none does over http', async () => {
    for (const res of await answers(https))
      assert.equal(res.headers['strict-transport-security'], HSTS, `${res.statusCode} ${res.body.slice(0, 80)}`);
    for (const res of await answers(http)) assert.equal(res.headers['strict-transport-security'], undefined);
  });

  test('answers that carry a secret are not to be stored; others keep their caching', async () => {
    const key = await http.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'bot' } });
    const application = await http.request({
      method: 'POST',
      url: '/v1/applications',
      payload: { name: 'App', redirectUris: ['https://app.example/cb'] },
    });
    const org = (await http.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json<{ id: string }>();
    const ticket = await http.request({ method: 'POST', url: `/v1/organizations/${org.id}/sso/tickets`, payload: { type: 'saml' } });
    const directory = await http.request({ method: 'POST', url: '/v1/directories', payload: { organizationId: org.id } });
    const rotated = await http.request({ method: 'POST', url: `/v1/directories/${directory.json<{ id: string }>().id}/rotate-token` });
    const endpoint = await http.request({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      payload: { url: 'https://hooks.example.com/lanyard' },
    });
    const newSecret = await http.request({
      method: 'POST',
      url: `/v1/webhook-endpoints/${endpoint.json<{ id: string }>().id}/rotate-secret`,
    });
    for (const [res, secret] of [
      [endpoint, 'secret'],
      [newSecret, 'secret'],
      [key, 'token'],
      [application, 'clientSecret'],
      [ticket, 'ticketUrl'],
      [directory, 'scim'],
      [rotated, 'scim'],
    ] as const) {
      assert.equal(res.statusCode, res === rotated || res === newSecret ? 200 : 201, res.body);
      const body = res.json();
      assert.equal(typeof (secret === 'scim' ? body.scim.token : body[secret]), 'string', `${secret}: the secret is in the answer`);
      assert.equal(res.headers['cache-control'], 'no-store', `${secret}: cache-control`);
      assert.equal(res.headers.pragma, 'no-cache', `${secret}: pragma`);
    }
    // A refused creation is not cached either: the flag is the route's, whatever the answer.
    const refused = await http.request({ method: 'POST', url: '/v1/api-keys', payload: {} });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.headers['cache-control'], 'no-store');
    const listed = await http.request({ method: 'GET', url: '/v1/api-keys' });
    assert.equal(listed.headers['cache-control'], undefined);
    assert.equal((await http.request({ method: 'GET', url: '/oauth/jwks', token: null })).headers['cache-control'], 'public, max-age=300');
  });

  test('/docs and its assets carry a CSP and refuse to be framed', async () => {
    for (const url of ['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
      const res = await http.request({ method: 'GET', url, token: null });
      assert.ok(res.statusCode === 200 || res.statusCode === 302, `${url}: ${res.statusCode}`);
      assert.equal(res.headers['content-security-policy'], DOCS_CSP, url);
      assert.match(DOCS_CSP, /frame-ancestors 'none'/);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
    }
  });
});
