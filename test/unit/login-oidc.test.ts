import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { PRESETS } from '../../src/domain/connections/presets.ts';
import { idpErrorRedirect, needsUserinfo, oidcIdentity } from '../../src/domain/login/oidc-claims.ts';
import { LOGIN_FAILURE_CATALOGUE } from '../../src/domain/login/failures.ts';
import { createGuardedFetch, GuardedRequestError } from '../../src/net/guarded-request.ts';

const standard = PRESETS.generic.oidc;
const entra = PRESETS.entra.oidc;

test('userinfo is called only when the ID token lacks the email, or the groups of a syncing connection', () => {
  const full = { sub: 's', email: 'a@b.c', groups: ['g'] };
  assert.equal(needsUserinfo(full, { attributeMapping: standard, groupSync: true }), false);
  assert.equal(needsUserinfo({ sub: 's', email: 'a@b.c' }, { attributeMapping: standard, groupSync: false }), false);
  assert.equal(needsUserinfo({ sub: 's', email: 'a@b.c' }, { attributeMapping: standard, groupSync: true }), true);
  assert.equal(needsUserinfo({ sub: 's' }, { attributeMapping: standard, groupSync: false }), true);
  // Entra ID: the sign-in name is preferred_username and app roles stand for groups.
  assert.equal(needsUserinfo({ sub: 's', preferred_username: 'a@b.c', roles: ['r'] }, { attributeMapping: entra, groupSync: true }), false);
});

test('the identity: ID token claims win over userinfo, token claims are dropped, email_verified only qualifies `email`', () => {
  const identity = oidcIdentity(
    { sub: 'u1', iss: 'https://idp', aud: 'c', exp: 1, iat: 1, nonce: 'n', at_hash: 'h', email: 'a@b.c', email_verified: 'true' },
    { sub: 'u1', email: 'other@b.c', groups: ['g'] },
    standard,
  );
  assert.equal(identity.subject, 'u1');
  assert.equal(identity.emailVerified, true);
  assert.deepEqual(identity.values, { sub: 'u1', email: 'a@b.c', email_verified: 'true', groups: ['g'] });
  assert.equal(oidcIdentity({ sub: 'u1', preferred_username: 'a@b.c', email_verified: true }, undefined, entra).emailVerified, null);
  assert.equal(oidcIdentity({ sub: 'u1', email: 'a@b.c' }, undefined, standard).emailVerified, null);
});

const ISSUER = 'https://sso.example.test';

test("an IdP's error reaches the app with its state; codes about Lanyard's request become access_denied", () => {
  const denied = new URL(
    idpErrorRedirect(ISSUER, 'https://app.example/cb?x=1', 'st', { error: 'access_denied', description: 'User said "no" \\ ✗' }),
  );
  assert.equal(denied.searchParams.get('x'), '1');
  assert.equal(denied.searchParams.get('error'), 'access_denied');
  assert.equal(denied.searchParams.get('state'), 'st');
  assert.equal(denied.searchParams.get('iss'), ISSUER, 'RFC 9207: the error response names the issuer too');
  assert.match(
    denied.searchParams.get('error_description')!,
    /^oidc_idp_error: the identity provider answered access_denied: User said {2}no/,
  );
  assert.doesNotMatch(denied.searchParams.get('error_description')!, /["\\✗]/, 'RFC 6749 §4.1.2.1 characters only');
  const scope = new URL(idpErrorRedirect(ISSUER, 'https://app.example/cb', null, { error: 'invalid_scope', description: undefined }));
  assert.equal(scope.searchParams.get('error'), 'access_denied');
  assert.equal(scope.searchParams.get('state'), null);
  assert.equal(
    new URL(
      idpErrorRedirect(ISSUER, 'https://app.example/cb', null, { error: 'temporarily_unavailable', description: undefined }),
    ).searchParams.get('error'),
    'temporarily_unavailable',
  );
});

test('every OIDC login error code is in the catalogue and the README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const source =
    readFileSync(new URL('../../src/domain/login/oidc-failures.ts', import.meta.url), 'utf8') +
    readFileSync(new URL('../../src/domain/login/oidc.ts', import.meta.url), 'utf8');
  const used = new Set([...source.matchAll(/'(oidc_[a-z_]+)'/g)].map((m) => m[1]!));
  for (const code of used) assert.ok(code in LOGIN_FAILURE_CATALOGUE, `${code} is used but not catalogued`);
  for (const code of Object.keys(LOGIN_FAILURE_CATALOGUE)) assert.ok(readme.includes(`\`${code}\``), `${code} is not in the README`);
});

test('the back-channel fetch refuses internal addresses unless allowed, at connect time', async () => {
  const server = createServer((req, res) =>
    res.writeHead(201, { 'content-type': 'application/json', 'x-method': req.method ?? '' }).end('{"ok":true}'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const guarded = createGuardedFetch({}, { lookup });
    for (const url of [`http://127.0.0.1:${port}/token`, `http://idp.example.com:${port}/token`, `http://[::ffff:127.0.0.1]:${port}/`]) {
      await assert.rejects(
        guarded(url, { method: 'POST', body: 'a=1' }),
        (e: unknown) => e instanceof GuardedRequestError && e.code === 'forbidden_address' && !e.message.includes('127.0.0.1:'),
      );
    }
    await assert.rejects(guarded('file:///etc/passwd'), (e: unknown) => e instanceof GuardedRequestError && e.code === 'bad_scheme');
    const allowed = createGuardedFetch({ allowPrivateAddresses: true }, { lookup });
    const res = await allowed(`http://idp.example.com:${port}/token`, {
      method: 'POST',
      body: new URLSearchParams({ a: '1' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-method'), 'POST');
    assert.deepEqual(await res.json(), { ok: true });
    const small = createGuardedFetch({ allowPrivateAddresses: true, maxBytes: 4 }, { lookup });
    await assert.rejects(small(`http://127.0.0.1:${port}/`), (e: unknown) => e instanceof GuardedRequestError && e.code === 'too_large');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
