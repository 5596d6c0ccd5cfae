// OIDC connections, secrets at rest (raw database, rotation), the login read, and the live IdPs.
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { createSealer } from '../../src/crypto/seal.ts';
import { rotateSealedSecrets } from '../../src/domain/keys/secret-rotation.ts';
import { isUseWorthRecording, markConnectionUsed } from '../../src/storage/connections.ts';
import { testBackends } from '../support/app.ts';
import {
  connectionsTestBed,
  directConnectionService,
  dumpDatabase,
  fixtureCertificates as certs,
  metadataFixture as fixture,
  PUBLIC_URL,
} from '../support/connections.ts';
import { requireOrSkip } from '../support/environment.ts';
import { oidcProviderAvailability, startOidcProvider } from '../support/oidc-provider.ts';
import { simpleSamlPhpAvailability, startSimpleSamlPhp } from '../support/simplesamlphp.ts';
import { discoveredEndpoints, discoveryDocument } from '../support/static-server.ts';

for (const backend of testBackends()) {
  describe(`OIDC connections, secrets and the login read on ${backend}`, () => {
    const bed = connectionsTestBed(backend);
    const { create, saml } = bed;
    test('creates an OIDC connection from discovery; the client secret is write-only', async () => {
      const issuer = `${bed.server.base}/tenant-a`;
      bed.server.route('/tenant-a/.well-known/openid-configuration', discoveryDocument(issuer));
      const secret = `s3cret-${randomBytes(8).toString('hex')}`;
      const res = await create({
        organizationId: bed.org.id,
        type: 'oidc',
        provider: 'entra',
        oidc: { issuer, clientId: 'client-a', clientSecret: secret },
      });
      assert.equal(res.statusCode, 201, res.body);
      const conn = res.json();
      assert.deepEqual(conn.oidc, {
        issuer,
        clientId: 'client-a',
        clientSecretSet: true,
        scopes: ['openid', 'email', 'profile'],
        ...discoveredEndpoints(issuer),
        redirectUri: `${PUBLIC_URL}/sso/oidc/callback`,
        postLogoutRedirectUri: `${PUBLIC_URL}/sso/oidc/logout-callback`,
      });
      assert.equal(conn.saml, null);
      assert.equal(conn.sp, null);
      assert.equal(conn.attributeMapping.email, 'preferred_username');
      assert.equal(conn.attributeMapping.groups, 'roles');
      assert.equal(conn.enabled, true);
      const patched = await bed.t.request({
        method: 'PATCH',
        url: `/v1/connections/${conn.id}`,
        payload: { oidc: { clientSecret: `${secret}-2`, scopes: ['openid', 'email'] } },
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(patched.json().oidc.scopes, ['openid', 'email']);
      const everything = [
        res.body,
        patched.body,
        (await bed.t.request({ method: 'GET', url: `/v1/connections/${conn.id}` })).body,
        (await bed.t.request({ method: 'GET', url: '/v1/connections?limit=100' })).body,
        (await bed.t.request({ method: 'GET', url: `/v1/events?organizationId=${bed.org.id}&limit=100` })).body,
      ];
      for (const text of everything) assert.ok(!text.includes(secret), 'the client secret is never answered');
      const scopes = await bed.t.request({ method: 'PATCH', url: `/v1/connections/${conn.id}`, payload: { oidc: { scopes: ['email'] } } });
      assert.equal(scopes.statusCode, 400);
      assert.equal(scopes.json().details[0].field, 'oidc.scopes');
    });

    test('answers 422 when OIDC discovery disagrees or fails', async () => {
      const cases: [string, (issuer: string) => ReturnType<typeof discoveryDocument> | undefined, RegExp][] = [
        [
          'impostor',
          (issuer) => discoveryDocument(`${issuer}/other`),
          /names "http:\/\/127\.0\.0\.1:\d+\/impostor\/other", not "http:\/\/127\.0\.0\.1:\d+\/impostor"/,
        ],
        ['no-jwks', (issuer) => discoveryDocument(issuer, (d) => delete d.jwks_uri), /no http\(s\) jwks_uri/],
        ['bad-token', (issuer) => discoveryDocument(issuer, (d) => (d.token_endpoint = 'javascript:1')), /token_endpoint/],
        ['not-json', () => ({ type: 'text/html', body: '<html></html>' }), /did not answer with JSON/],
        ['absent', () => undefined, /answered HTTP 404/],
      ];
      for (const [path, document, message] of cases) {
        const issuer = `${bed.server.base}/${path}`;
        const doc = document(issuer);
        if (doc !== undefined) bed.server.route(`/${path}/.well-known/openid-configuration`, doc);
        const res = await create({ organizationId: bed.org.id, type: 'oidc', oidc: { issuer, clientId: 'c', clientSecret: 's' } });
        assert.equal(res.statusCode, 422, `${path}: ${res.body}`);
        assert.equal(res.json().code, 'oidc_discovery_failed');
        assert.equal(res.json().details[0].field, 'oidc.issuer');
        assert.match(res.json().message, message);
      }
    });

    test('the raw database holds no client secret and no SP private key in clear', async () => {
      const issuer = `${bed.server.base}/raw`;
      bed.server.route('/raw/.well-known/openid-configuration', discoveryDocument(issuer));
      const secret = `raw-secret-${randomBytes(12).toString('hex')}`;
      assert.equal(
        (await create({ organizationId: bed.org.id, type: 'oidc', oidc: { issuer, clientId: 'raw', clientSecret: secret } })).statusCode,
        201,
      );
      const samlConn = (await create(saml({ metadataXml: fixture('okta.xml') }))).json();
      assert.equal((await bed.t.request({ method: 'GET', url: `/sso/saml/${samlConn.id}/metadata`, token: null })).statusCode, 200);
      const sealer = createSealer(bed.t.config.secretKey!, [], randomBytes);
      const key = await bed.t.db.selectFrom('deployment_keys').selectAll().where('purpose', '=', 'saml-sp').executeTakeFirstOrThrow();
      const privatePem = sealer.open(key.sealed_private_key, `deployment_keys:${key.id}`);
      assert.match(privatePem, /BEGIN PRIVATE KEY/);
      const privateBody = privatePem.replace(/-----[A-Z ]+-----|\s/g, '');
      const dump = await dumpDatabase(bed.t);
      assert.ok(!dump.includes('raw-secret'), 'client secret found in the database');
      assert.ok(!dump.includes(secret));
      assert.ok(!dump.includes('PRIVATE KEY'));
      for (let i = 0; i + 64 <= privateBody.length; i += 64)
        assert.ok(!dump.includes(privateBody.slice(i, i + 64)), 'private key material found in the database');
      assert.ok(dump.includes(issuer), 'the dump does hold the connections');
    });

    test('the login read resolves enabled connections, opens the secret, and marks use', async () => {
      const login = directConnectionService(bed.t, { LANYARD_ALLOW_PRIVATE_METADATA_URLS: 'true' });
      const issuer = `${bed.server.base}/login`;
      bed.server.route('/login/.well-known/openid-configuration', discoveryDocument(issuer));
      const scoped = (
        await bed.t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Login', domains: ['login.example'] } })
      ).json();
      const oidc = (
        await create({
          organizationId: scoped.id,
          type: 'oidc',
          oidc: { issuer, clientId: 'cid', clientSecret: 'the-secret' },
          groupSync: true,
        })
      ).json();
      const samlConn = (
        await create({
          organizationId: scoped.id,
          type: 'saml',
          provider: 'okta',
          saml: { metadataXml: fixture('okta.xml'), signaturePolicy: 'assertion' },
        })
      ).json();
      await create({ organizationId: scoped.id, type: 'saml', saml: { metadataXml: fixture('google.xml') }, enabled: false });
      const byDomain = await login.resolveForLogin({ domain: 'LOGIN.example' });
      assert.deepEqual(
        byDomain.map((c) => c.id),
        [oidc.id, samlConn.id],
      );
      assert.deepEqual(
        (await login.resolveForLogin({ organizationId: scoped.id })).map((c) => c.id),
        [oidc.id, samlConn.id],
      );
      assert.deepEqual(
        (await login.resolveForLogin({ connectionId: samlConn.id, domain: 'acme.example' })).map((c) => c.id),
        [],
      );
      assert.deepEqual(await login.resolveForLogin({}), []);
      const o = byDomain[0]!;
      assert.deepEqual(o.oidc, {
        issuer,
        clientId: 'cid',
        clientSecret: 'the-secret',
        scopes: ['openid', 'email', 'profile'],
        ...discoveredEndpoints(issuer),
        redirectUri: `${PUBLIC_URL}/sso/oidc/callback`,
      });
      assert.equal(o.groupSync, true);
      assert.deepEqual(o.attributeMapping, { email: 'email', firstName: 'given_name', lastName: 'family_name', groups: 'groups' });
      const s = (await login.getForLogin(samlConn.id))!;
      assert.equal(s.state, 'draft');
      assert.equal(s.lastUsedAt, null);
      assert.equal(s.saml!.spEntityId, samlConn.sp.entityId);
      assert.equal(s.saml!.acsUrl, samlConn.sp.acsUrl);
      assert.equal(s.saml!.signaturePolicy, 'assertion');
      assert.equal(s.saml!.idpEntityId, 'http://www.okta.com/exk1fxtrlanyard0d7');
      assert.equal(new X509Certificate(s.saml!.certificatesPem[0]!).fingerprint256, certs.okta!.sha256);
      assert.ok(s.updatedAt instanceof Date);
      assert.equal(await login.getForLogin('conn_unknown'), undefined);
      const usedAt = new Date('2026-05-01T12:00:00Z');
      await markConnectionUsed(bed.t.db, samlConn.id, usedAt);
      const read = (await bed.t.request({ method: 'GET', url: `/v1/connections/${samlConn.id}` })).json();
      assert.equal(read.state, 'active');
      assert.equal(read.lastUsedAt, usedAt.toISOString());
      const used = (await login.getForLogin(samlConn.id))!;
      assert.deepEqual([used.state, used.lastUsedAt], ['active', usedAt]);
      // To the minute: a login within it finds nothing to write.
      assert.equal(isUseWorthRecording(used, new Date(usedAt.getTime() + 59_000)), false);
      assert.equal(isUseWorthRecording(used, new Date(usedAt.getTime() + 61_000)), true);
    });

    test('secrets rotate re-seals every sealed value under the new key, idempotently', async () => {
      const issuer = `${bed.server.base}/rotate`;
      bed.server.route('/rotate/.well-known/openid-configuration', discoveryDocument(issuer));
      const conn = (
        await create({ organizationId: bed.org.id, type: 'oidc', oidc: { issuer, clientId: 'r', clientSecret: 'rotate-me' } })
      ).json();
      const keyA = bed.t.config.secretKey!;
      const keyB = loadConfig({ LANYARD_SECRET_KEY: randomBytes(32).toString('base64') }).secretKey!;
      const report = await rotateSealedSecrets(bed.t.db, createSealer(keyB, [keyA], randomBytes));
      const counts = Object.fromEntries(report.map((c) => [`${c.table}.${c.column}`, c]));
      assert.ok(counts['connections.sealed_secret']!.resealed >= 1);
      assert.ok(counts['deployment_keys.sealed_private_key']!.resealed >= 1);
      assert.ok(report.every((c) => c.failed.length === 0));
      const again = await rotateSealedSecrets(bed.t.db, createSealer(keyB, [keyA], randomBytes));
      assert.ok(
        again.every((c) => c.resealed === 0 && c.failed.length === 0),
        'a second run re-seals nothing',
      );
      const onlyB = createSealer(keyB, [], randomBytes);
      const row = await bed.t.db.selectFrom('connections').select(['sealed_secret']).where('id', '=', conn.id).executeTakeFirstOrThrow();
      assert.equal(onlyB.open(row.sealed_secret!, `connections:${conn.id}`), 'rotate-me');
      for (const key of await bed.t.db.selectFrom('deployment_keys').selectAll().execute())
        assert.match(onlyB.open(key.sealed_private_key, `deployment_keys:${key.id}`), /BEGIN PRIVATE KEY/);
      const stale = await rotateSealedSecrets(bed.t.db, createSealer(keyA, [], randomBytes));
      assert.ok(
        stale.some((c) => c.failed.length > 0),
        'values under an unknown key are reported, not dropped',
      );
    });

    test('live IdPs: SimpleSAMLphp metadata URL and oidc-provider discovery', async (context) => {
      const saml2 = simpleSamlPhpAvailability();
      const oidc = oidcProviderAvailability();
      if (!requireOrSkip(context, saml2.available && oidc.available, `${saml2.reason}${oidc.reason}`)) return;
      const idp = await startSimpleSamlPhp({
        spEntityId: `${PUBLIC_URL}/sso/saml/pending/metadata`,
        acsUrl: `${PUBLIC_URL}/sso/saml/pending/acs`,
      });
      try {
        const res = await create(saml({ metadataUrl: idp.metadataUrl }, { provider: 'generic' }));
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.json().saml.idpEntityId, idp.entityId);
        assert.equal(res.json().saml.ssoUrl, idp.ssoUrl);
        assert.equal(res.json().saml.certificates[0].fingerprintSha256, new X509Certificate(readFileSync(idp.certFile)).fingerprint256);
        assert.equal(res.json().enabled, true);
      } finally {
        await idp.stop();
      }
      const provider = await startOidcProvider({
        clientId: 'lanyard',
        clientSecret: 'provider-secret',
        redirectUris: [`${PUBLIC_URL}/sso/oidc/callback`],
      });
      try {
        const res = await create({
          organizationId: bed.org.id,
          type: 'oidc',
          provider: 'keycloak',
          oidc: { issuer: provider.issuer, clientId: 'lanyard', clientSecret: 'provider-secret' },
        });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.json().oidc.issuer, provider.issuer);
        assert.match(res.json().oidc.jwksUri, /^http:\/\/127\.0\.0\.1:\d+\//);
        assert.ok(!res.body.includes('provider-secret'));
      } finally {
        await provider.stop();
      }
    });
  });
}
