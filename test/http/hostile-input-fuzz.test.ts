// A bounded fuzz of every operation in /openapi.json, and of the routes outside it (/sso/*, /setup/*,
// /scim/*, operations), with hostile values in the path, the query and the body: NUL, unpaired
// surrogates, invalid percent-encodings, over-long and wrongly typed values, deep JSON. On every test
// database, no answer may be a 5xx, and every 4xx of /v1 has the contract's shape with a catalogued code.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ERROR_CATALOGUE } from '../../src/domain/errors.ts';
import { createTestApp, testBackends, type Backend, type TestApp } from '../support/app.ts';
import { createDirectory, type TestDirectory } from '../support/scim.ts';
import { createTicket, openSetup, type SetupSessionInfo } from '../support/setup-page.ts';

/** Values for a path segment or a query parameter, as sent on the wire (already percent-encoded). */
const HOSTILE_URL_VALUES = ['%00', 'a%00b', '%ed%a0%80', '%ff', 'x'.repeat(3000), '-1', '1e999', '%5B%5D'];
/** Values for a body field: text PostgreSQL refuses, over-long text, wrong types, hostile names. */
const HOSTILE_BODY_VALUES: unknown[] = [
  'a\u0000b',
  '\ud800',
  'x'.repeat(20_000),
  2 ** 53,
  -1,
  true,
  null,
  [],
  ['\udc00'],
  { 'k\u0000': '\ud800' },
];
/** Whole bodies: wrong types, JSON nested deeper than any reader should follow, broken JSON. */
const HOSTILE_RAW_BODIES = ['[]', '"\\u0000"', '12', `${'['.repeat(50_000)}${']'.repeat(50_000)}`, nested(40), '{"a":', '\u0000'];

function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** One request of the fuzz. */
interface Probe {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly payload?: string;
}

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly query: readonly string[];
  readonly body?: { readonly contentType: string; readonly properties: Record<string, JsonSchema> };
}
interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
}
interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

/** Every operation of the OpenAPI document, with its query parameters and its body's top-level properties. */
function operationsOf(doc: {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}): Operation[] {
  const resolve = (schema: JsonSchema): JsonSchema =>
    schema.$ref ? resolve(doc.components?.schemas?.[schema.$ref.split('/').pop() ?? ''] ?? {}) : schema;
  const propertiesOf = (schema: JsonSchema): Record<string, JsonSchema> => {
    const resolved = resolve(schema);
    return Object.assign({}, resolved.properties ?? {}, ...(resolved.anyOf ?? []).map(propertiesOf));
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const [contentType, media] = Object.entries(op.requestBody?.content ?? {})[0] ?? [];
      return {
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        ...(contentType && media ? { body: { contentType, properties: propertiesOf(media.schema) } } : {}),
      };
    }),
  );
}

/** Real resources to aim at, so that hostile values reach past the lookups. */
interface Fixtures {
  readonly ids: Record<string, string>;
  readonly directory: TestDirectory;
  readonly session: SetupSessionInfo;
  readonly seeds: Record<string, Record<string, unknown>>;
}

async function createFixtures(t: TestApp): Promise<Fixtures> {
  const post = async (url: string, payload: object) => {
    const res = await t.request({ method: 'POST', url, payload });
    assert.ok(res.statusCode < 300, `${url}: ${res.body}`);
    return res.json<{ id: string; userName?: string }>();
  };
  const directory = await createDirectory(t);
  const organizationId = directory.organizationId;
  const ticket = await createTicket(t, organizationId);
  const { session } = await openSetup(t, ticket.ticketUrl);
  const application = await post('/v1/applications', { name: 'Fuzz', redirectUris: ['https://app.example.com/cb'] });
  const apiKey = await post('/v1/api-keys', { name: 'fuzz', organizationId });
  const endpoint = await post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook' });
  const scimHeaders = { authorization: `Bearer ${directory.token}`, 'content-type': 'application/scim+json' };
  const scimPost = async (resource: string, body: object) =>
    (await t.app.inject({ method: 'POST', url: `/scim/v2/${directory.id}/${resource}`, headers: scimHeaders, payload: body })).json<{
      id: string;
    }>();
  const user = await scimPost('Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'fuzz@example.com' });
  const group = await scimPost('Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Fuzzers' });
  return {
    directory,
    session,
    // The id each path parameter gets, by the path segment before it.
    ids: {
      organizations: organizationId,
      'api-keys': apiKey.id,
      connections: ticket.connectionId,
      applications: application.id,
      tickets: ticket.id,
      'webhook-endpoints': endpoint.id,
      'webhook-deliveries': 'whd_none',
      directories: directory.id,
      'directory-users': 'dusr_none',
      'directory-groups': 'dgrp_none',
      v2: directory.id,
      Users: user.id,
      Groups: group.id,
      ResourceTypes: 'User',
      Schemas: 'urn:ietf:params:scim:schemas:core:2.0:User',
      saml: ticket.connectionId,
    },
    // A valid body per create operation, into which one hostile field at a time goes.
    seeds: {
      'POST /v1/organizations': { name: 'Fuzz' },
      'POST /v1/api-keys': { name: 'fuzz' },
      'POST /v1/applications': { name: 'Fuzz', redirectUris: ['https://app.example.com/cb'] },
      'POST /v1/organizations/{id}/sso/tickets': { type: 'saml' },
      'POST /v1/webhook-endpoints': { url: 'http://127.0.0.1:9/hook' },
      'POST /v1/directories': { organizationId },
      'POST /v1/connections': {
        organizationId,
        type: 'saml',
        saml: { idpEntityId: 'https://idp.example.com', ssoUrl: 'https://idp.example.com/sso' },
      },
      'POST /scim/v2/{directoryId}/Users': { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'other@example.com' },
      'POST /scim/v2/{directoryId}/Groups': { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Others' },
      'POST /oauth/token': {
        grant_type: 'authorization_code',
        code: 'c',
        redirect_uri: 'https://app.example.com/cb',
        client_id: application.id,
      },
    },
  };
}

/** The path with each `{param}` replaced: by `hostile` for the one at `index`, by a real id for the others. */
function fillPath(path: string, fixtures: Fixtures, hostile?: { index: number; value: string }): string {
  let index = 0;
  const segments = path.split('/');
  return segments
    .map((segment, i) => {
      if (!/^\{.+\}$/.test(segment)) return segment;
      const value = hostile?.index === index ? hostile.value : (fixtures.ids[segments[i - 1] ?? ''] ?? 'none');
      index++;
      return value;
    })
    .join('/');
}

/** The requests one operation gets: a hostile value in each path parameter, each query parameter, each body field, and whole hostile bodies. */
function requestsFor(op: Operation, fixtures: Fixtures): Probe[] {
  const params = op.path.match(/\{[^}]+\}/g) ?? [];
  const requests: Probe[] = [];
  const base = fillPath(op.path, fixtures);
  const seed = fixtures.seeds[`${op.method} ${op.path}`] ?? {};
  const withBody = (body: string, contentType = op.body?.contentType ?? 'application/json'): Probe => ({
    method: op.method,
    url: base,
    headers: { 'content-type': contentType },
    payload: body,
  });
  const encode = (value: Record<string, unknown>) =>
    op.body?.contentType === 'application/x-www-form-urlencoded'
      ? new URLSearchParams(
          Object.entries(value).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
        ).toString()
      : JSON.stringify(value);
  for (const value of HOSTILE_URL_VALUES) {
    params.forEach((_, index) => requests.push({ method: op.method, url: fillPath(op.path, fixtures, { index, value }) }));
    for (const name of op.query) requests.push({ method: op.method, url: `${base}?${name}=${value}` });
  }
  for (const name of op.query) requests.push({ method: op.method, url: `${base}?${name}=1&${name}=2` });
  if (op.body !== undefined) {
    for (const [name, schema] of Object.entries(op.body.properties)) {
      for (const value of HOSTILE_BODY_VALUES) requests.push(withBody(encode({ ...seed, [name]: value })));
      // One level down, for the nested objects (saml, oidc, attributeMapping, options).
      for (const inner of Object.keys(schema.properties ?? {})) {
        for (const value of HOSTILE_BODY_VALUES.slice(0, 3)) requests.push(withBody(encode({ ...seed, [name]: { [inner]: value } })));
      }
    }
    for (const raw of HOSTILE_RAW_BODIES) requests.push(withBody(raw));
    requests.push(withBody('{}', 'text/plain'));
  }
  return requests;
}

/** Routes outside the OpenAPI document, and the browser forms whose fields no schema names. */
function fixedRequests(fixtures: Fixtures): Probe[] {
  const connection = fixtures.ids.connections ?? '';
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const page = { cookie: fixtures.session.cookie, ...form };
  const setupFields = [
    'choice',
    'source',
    'saml.metadataXml',
    'saml.metadataUrl',
    'saml.idpEntityId',
    'saml.ssoUrl',
    'saml.certificates',
    'oidc.issuer',
    'oidc.clientId',
    'oidc.clientSecret',
    'attributeMapping.email',
    'attributeMapping.groups',
    'domains',
  ];
  const requests: Probe[] = [];
  for (const value of HOSTILE_URL_VALUES) {
    requests.push(
      { method: 'GET', url: `/sso/saml/${value}/metadata` },
      { method: 'POST', url: `/sso/saml/${value}/acs`, headers: form, payload: 'SAMLResponse=PHg%2BPC94Pg%3D%3D' },
      { method: 'POST', url: `/sso/saml/${connection}/acs`, headers: form, payload: `SAMLResponse=${value}&RelayState=${value}` },
      { method: 'GET', url: `/sso/oidc/callback?state=${value}&code=${value}` },
      { method: 'GET', url: `/sso/oidc/callback?state=${value}&error=${value}&error_description=${value}` },
      { method: 'GET', url: `/setup/${value}` },
      { method: 'GET', url: `/setup/tests/${value}`, headers: { cookie: fixtures.session.cookie } },
      { method: 'GET', url: `/scim/v2/${value}/Users` },
      { method: 'GET', url: `/scim/v2/${fixtures.directory.id}/${value}` },
      { method: 'GET', url: `/healthz?x=${value}` },
      { method: 'GET', url: `/readyz?x=${value}` },
      { method: 'GET', url: `/docs/${value}` },
      { method: 'GET', url: `/oauth/authorize?response_type=code&client_id=${value}&redirect_uri=${value}&state=${value}` },
    );
    for (const action of ['provider', 'idp', 'mapping', 'activate', 'test']) {
      requests.push({ method: 'POST', url: `/setup/${value}/${action}`, headers: page, payload: `_csrf=${fixtures.session.csrf}` });
      const fields = setupFields.map((field) => `${encodeURIComponent(field)}=${value}`).join('&');
      requests.push({
        method: 'POST',
        url: `${fixtures.session.path}/${action}`,
        headers: page,
        payload: `_csrf=${fixtures.session.csrf}&${fields}`,
      });
    }
  }
  // The SAMLResponse decodes to XML with a NUL character reference, and to bytes that are not UTF-8.
  for (const xml of ['<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&#0;</samlp:Response>', '\u0000\udc00']) {
    const payload = `SAMLResponse=${encodeURIComponent(Buffer.from(xml).toString('base64'))}`;
    requests.push({ method: 'POST', url: `/sso/saml/${connection}/acs`, headers: form, payload });
  }
  requests.push({ method: 'POST', url: `/sso/saml/${connection}/acs`, headers: form, payload: `SAMLResponse=${'%ff'.repeat(10)}` });
  return requests;
}

/** Sends one request with the credential its surface wants; SCIM gets the directory's token, /v1 the admin key. */
function send(t: TestApp, fixtures: Fixtures, request: Probe): Promise<LightMyRequestResponse> {
  const url = request.url;
  const token = url.startsWith('/v1/') ? t.adminToken : url.startsWith('/scim/') ? fixtures.directory.token : null;
  const headers = { ...(request.headers ?? {}), ...(token !== null ? { authorization: `Bearer ${token}` } : {}) };
  return t.app.inject({ ...request, headers });
}

/** What is wrong with an answer, or undefined: a 5xx anywhere, or a /v1 error outside the contract's shape. */
function problemWith(request: Probe, res: LightMyRequestResponse): string | undefined {
  if (res.statusCode >= 500) return `answered ${res.statusCode}: ${res.body.slice(0, 200)}`;
  if (!request.url.startsWith('/v1/') || res.statusCode < 400) return undefined;
  const body = res.json<{ statusCode?: number; code?: string; requestId?: string }>();
  if (body.statusCode !== res.statusCode || typeof body.requestId !== 'string' || !((body.code ?? '') in ERROR_CATALOGUE)) {
    return `answered outside the contract's error shape: ${res.body.slice(0, 200)}`;
  }
  return undefined;
}

for (const backend of testBackends()) {
  describe(`hostile input on every operation, on ${backend}`, () => {
    let t: TestApp;
    let fixtures: Fixtures;
    before(async () => {
      t = await createTestApp({
        backend: backend satisfies Backend,
        env: { LANYARD_RATE_LIMIT_MAX: '1000000', LANYARD_ALLOW_PRIVATE_NETWORK: 'true' },
      });
      fixtures = await createFixtures(t);
    });
    after(() => t.close());

    test('no request answers 5xx, and every /v1 error has the contract shape', async () => {
      const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).json();
      const operations = operationsOf(doc);
      assert.ok(operations.length >= 60, `the document lists the operations (${operations.length})`);
      // Deletes go last, so that the resources they remove are there for every other operation.
      const ordered = [...operations.filter((op) => op.method !== 'DELETE'), ...operations.filter((op) => op.method === 'DELETE')];
      const requests = [...fixedRequests(fixtures), ...ordered.flatMap((op) => requestsFor(op, fixtures))];
      const problems: string[] = [];
      for (const request of requests) {
        const problem = problemWith(request, await send(t, fixtures, request));
        if (problem !== undefined) {
          const payload = request.payload === undefined ? '' : ` ${request.payload.slice(0, 80)}`;
          problems.push(`${request.method} ${request.url.slice(0, 120)}${payload}: ${problem}`);
        }
      }
      assert.deepEqual(problems, [], `${problems.length} of ${requests.length} requests`);
    });
  });
}
