// Every 4xx of /v1 has the contract's shape (../shared/API.md, "Errors") with a catalogued code and
// a request id, including the refusals that come before any route: the router's and node's HTTP parser's.
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ERROR_CATALOGUE } from '../../src/domain/errors.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

function assertContractError(status: number, body: string, code: string, headers: Record<string, unknown>): void {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  assert.equal(parsed.statusCode, status, body);
  assert.equal(parsed.code, code, body);
  assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status, status);
  assert.equal(typeof parsed.error, 'string');
  assert.equal(typeof parsed.message, 'string');
  assert.match(String(parsed.requestId), /^req_/);
  assert.equal(headers['x-request-id'], parsed.requestId, 'the header and the body carry the same request id');
}

function assertShape(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assertContractError(status, res.body, code, res.headers);
}

describe('the contract error shape on every refusal of /v1', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('a percent-encoding that is not UTF-8 (FST_ERR_BAD_URL) is invalid_url', async () => {
    assertShape(await t.request({ method: 'GET', url: '/v1/organizations/%ff' }), 400, 'invalid_url');
  });

  test('a path segment over the router limit (FST_ERR_MAX_PARAM_LENGTH) is uri_too_long', async () => {
    assertShape(await t.request({ method: 'GET', url: `/v1/organizations/org_${'a'.repeat(200)}` }), 414, 'uri_too_long');
  });

  test('an unknown route is route_not_found; a known path with another method is 405 with Allow', async () => {
    assertShape(await t.request({ method: 'GET', url: '/v1/nothing-here' }), 404, 'route_not_found');
    const wrongMethod = await t.request({ method: 'PUT', url: '/v1/organizations' });
    assertShape(wrongMethod, 405, 'method_not_allowed');
    assert.equal(wrongMethod.headers.allow, 'GET, HEAD, POST');
    const onId = await t.request({ method: 'POST', url: '/v1/organizations/org_x' });
    assertShape(onId, 405, 'method_not_allowed');
    assert.equal(onId.headers.allow, 'DELETE, GET, HEAD, PATCH');
  });

  test('a body in another content type is 415, too large 413, broken JSON 400', async () => {
    const headers = { 'content-type': 'text/plain' };
    assertShape(await t.request({ method: 'POST', url: '/v1/organizations', headers, payload: 'name' }), 415, 'unsupported_media_type');
    const xml = { 'content-type': 'application/xml' };
    assertShape(
      await t.request({ method: 'POST', url: '/v1/organizations', headers: xml, payload: '<a/>' }),
      415,
      'unsupported_media_type',
    );
    const json = { 'content-type': 'application/json' };
    const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 1) });
    assertShape(await t.request({ method: 'POST', url: '/v1/organizations', headers: json, payload: big }), 413, 'payload_too_large');
    assertShape(await t.request({ method: 'POST', url: '/v1/organizations', headers: json, payload: '{"name":' }), 400, 'malformed_json');
  });

  test('text PostgreSQL cannot store is refused by name in a body and a query, and is no id in a path', async () => {
    const nul = await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'a\u0000b' } });
    assertShape(nul, 400, 'validation_failed');
    assert.deepEqual(nul.json().details, [{ field: 'name', message: 'must not contain NUL characters or unpaired UTF-16 surrogates' }]);
    const json = { 'content-type': 'application/json' };
    assertShape(
      await t.request({ method: 'POST', url: '/v1/organizations', headers: json, payload: '{"name":"\\ud800"}' }),
      400,
      'validation_failed',
    );
    assertShape(await t.request({ method: 'GET', url: '/v1/events?type=%00' }), 400, 'validation_failed');
    assertShape(await t.request({ method: 'GET', url: '/v1/organizations/%00' }), 404, 'not_found');
    const deep = `{"name":"x","domains":${'['.repeat(40)}${']'.repeat(40)}}`;
    assertShape(await t.request({ method: 'POST', url: '/v1/organizations', headers: json, payload: deep }), 400, 'validation_failed');
  });

  test('the other surfaces answer in their own shape: OAuth, SCIM, and a page for browser routes', async () => {
    const oauth = await t.request({ method: 'GET', url: '/oauth/authorize?client_id=%00', token: null });
    assert.equal(oauth.statusCode, 400);
    assert.equal(oauth.json().error, 'invalid_request');
    const scim = await t.request({ method: 'GET', url: '/scim/v2/%ff/Users', token: null });
    assert.equal(scim.statusCode, 400);
    assert.equal(scim.json().scimType, 'invalidValue');
    for (const url of ['/sso/saml/%ff/metadata', '/sso/oidc/callback?state=%00']) {
      const page = await t.request({ method: 'GET', url, token: null });
      assert.equal(page.statusCode, 400, url);
      assert.match(String(page.headers['content-type']), /^text\/html/, url);
    }
  });

  test("node's HTTP parser refusals (a 16 KiB URL: 431; a malformed header: 400) are in the shape too", async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    // A raw socket: an HTTP client would refuse to send what the parser is there to refuse.
    const send = (head: string) =>
      new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(`${head}\r\n\r\n`));
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', reject);
        socket.on('close', () => {
          const [top = '', body = ''] = text.split('\r\n\r\n');
          const [statusLine = '', ...lines] = top.split('\r\n');
          const headers = Object.fromEntries(
            lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
          );
          resolve({ status: Number(statusLine.split(' ')[1]), body, headers });
        });
      });
    const long = await send(`GET /v1/organizations?externalId=${'x'.repeat(16 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1`);
    assert.equal(long.status, 431);
    assertContractError(431, long.body, 'request_header_fields_too_large', long.headers);
    const malformed = await send('GET /v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here');
    assert.equal(malformed.status, 400);
    assertContractError(400, malformed.body, 'malformed_request', malformed.headers);
  });
});
