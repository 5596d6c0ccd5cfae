import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createSelfSignedCertificate } from '../../src/crypto/self-signed.ts';
import type { AppError } from '../../src/domain/errors.ts';
import { NS, attr, children, firstChild, parseXml, textOf } from '../../src/domain/saml/xml.ts';
import { testBackends } from '../support/app.ts';
import {
  connectionsTestBed,
  directConnectionService,
  fixtureCertificates as certs,
  metadataFixture as fixture,
  PUBLIC_URL,
} from '../support/connections.ts';

const MS_CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

/** A certificate that expired in 2021, for the warning. */
function expiredCertificatePem(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return createSelfSignedCertificate({
    privateKey,
    commonName: 'expired.fixture.example',
    validityYears: 1,
    now: new Date('2020-01-01T00:00:00Z'),
    serialEntropy: randomBytes(16),
  });
}

type Body = Record<string, unknown>;

for (const backend of testBackends()) {
  describe(`connections API on ${backend}`, () => {
    const bed = connectionsTestBed(backend);
    const { create, saml } = bed;
    test('creates SAML connections from Entra ID, Okta, AD FS and Google metadata', async () => {
      const cases = [
        {
          file: 'entra.xml',
          provider: 'entra',
          entityId: 'https://sts.windows.net/11111111-2222-4333-8444-555555555555/',
          certs: ['entra1', 'entra2'],
          email: `${MS_CLAIMS}/emailaddress`,
        },
        { file: 'okta.xml', provider: 'okta', entityId: 'http://www.okta.com/exk1fxtrlanyard0d7', certs: ['okta'], email: 'email' },
        {
          file: 'adfs.xml',
          provider: 'adfs',
          entityId: 'http://adfs.fixture.example/adfs/services/trust',
          certs: ['adfssig', 'adfstls'],
          email: `${MS_CLAIMS}/emailaddress`,
        },
        {
          file: 'google.xml',
          provider: 'google',
          entityId: 'https://accounts.google.com/o/saml2?idpid=C03fxtr1a',
          certs: ['google'],
          email: 'email',
        },
      ];
      for (const c of cases) {
        const res = await create(saml({ metadataXml: fixture(c.file) }, { provider: c.provider }));
        assert.equal(res.statusCode, 201, res.body);
        const conn = res.json();
        assert.match(conn.id, /^conn_[0-9A-Z]{26}$/);
        assert.equal(conn.saml.idpEntityId, c.entityId);
        assert.match(conn.saml.ssoUrl, /^https:\/\//);
        assert.equal(conn.saml.ssoBinding, 'redirect');
        assert.deepEqual(
          conn.saml.certificates.map((x: { fingerprintSha256: string }) => x.fingerprintSha256),
          c.certs.map((k) => certs[k]!.sha256),
        );
        assert.equal(conn.saml.metadataUrl, null);
        assert.equal(conn.attributeMapping.email, c.email);
        assert.equal(conn.enabled, true, 'complete connections are enabled by default');
        assert.equal(conn.state, 'draft');
        assert.equal(conn.lastUsedAt, null);
        assert.deepEqual(conn.warnings, []);
        assert.deepEqual(conn.sp, {
          entityId: `${PUBLIC_URL}/sso/saml/${conn.id}/metadata`,
          acsUrl: `${PUBLIC_URL}/sso/saml/${conn.id}/acs`,
          metadataUrl: `${PUBLIC_URL}/sso/saml/${conn.id}/metadata`,
          sloUrl: `${PUBLIC_URL}/sso/saml/${conn.id}/slo`,
        });
        assert.equal(conn.oidc, null);
      }
      const adfs = (await bed.t.request({ method: 'GET', url: `/v1/connections?organizationId=${bed.org.id}&type=saml&limit=100` }))
        .json()
        .data.find((c: Body) => c.provider === 'adfs');
      assert.equal(adfs.saml.sloUrl, 'https://adfs.fixture.example/adfs/ls/');
      assert.equal(adfs.name, 'AD FS SAML');
      assert.equal(adfs.attributeMapping.groups, 'http://schemas.xmlsoap.org/claims/Group');
    });

    test('creates a SAML connection from fields, with options, overrides and an expired certificate', async () => {
      const bareBase64 = certs.idp1!.pem.replace(/-----[A-Z ]+-----|\s/g, '');
      const res = await create(
        saml(
          {
            idpEntityId: 'https://idp.fields.example',
            ssoUrl: 'https://idp.fields.example/sso',
            ssoBinding: 'post',
            sloUrl: 'https://idp.fields.example/slo',
            certificates: [certs.idp2!.pem, bareBase64, expiredCertificatePem()],
            allowIdpInitiated: true,
            clockSkewSeconds: 30,
            nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
            encryptAssertions: true,
            signaturePolicy: 'both',
          },
          { provider: 'entra', name: 'Fields', attributeMapping: { email: 'mail', groups: null }, groupSync: true, enabled: false },
        ),
      );
      assert.equal(res.statusCode, 201, res.body);
      const conn = res.json();
      assert.equal(conn.enabled, false);
      assert.equal(conn.name, 'Fields');
      assert.equal(conn.groupSync, true);
      assert.deepEqual(conn.attributeMapping, {
        email: 'mail',
        firstName: `${MS_CLAIMS}/givenname`,
        lastName: `${MS_CLAIMS}/surname`,
        groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
        id: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
      });
      assert.deepEqual(conn.saml.certificates.map((c: Body) => c.fingerprintSha256).slice(0, 2), [certs.idp2!.sha256, certs.idp1!.sha256]);
      assert.deepEqual(
        conn.saml.certificates.map((c: Body) => c.expired),
        [false, false, true],
      );
      assert.equal(conn.saml.certificates[2].subject, 'CN=expired.fixture.example');
      assert.equal(conn.saml.certificates[2].notAfter, '2021-01-01T00:00:00.000Z');
      assert.equal(conn.warnings.length, 1);
      assert.match(conn.warnings[0], /saml\.certificates\.2 .*expired on 2021-01-01/);
      assert.deepEqual(
        { ...conn.saml, certificates: undefined },
        {
          idpEntityId: 'https://idp.fields.example',
          ssoUrl: 'https://idp.fields.example/sso',
          ssoBinding: 'post',
          sloUrl: 'https://idp.fields.example/slo',
          certificates: undefined,
          metadataUrl: null,
          allowIdpInitiated: true,
          defaultApplicationId: null,
          clockSkewSeconds: 30,
          nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
          signRequests: false,
          encryptAssertions: true,
          allowSha1: false,
          allowUnsignedLogout: false,
          signaturePolicy: 'both',
        },
      );
    });

    test('creates a draft without IdP values, which cannot be enabled until completed', async () => {
      const draft = (await create(saml({}, { provider: 'okta' }))).json();
      assert.equal(draft.enabled, false);
      assert.equal(draft.saml.idpEntityId, null);
      assert.equal(draft.saml.clockSkewSeconds, 120);
      assert.match(draft.warnings.join(), /IdP values are missing/);
      const refused = await bed.t.request({ method: 'PATCH', url: `/v1/connections/${draft.id}`, payload: { enabled: true } });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().details[0].field, 'enabled');
      assert.equal((await create(saml({}, { enabled: true }))).json().details[0].field, 'enabled');
      const completed = await bed.t.request({
        method: 'PATCH',
        url: `/v1/connections/${draft.id}`,
        payload: { enabled: true, saml: { metadataXml: fixture('okta.xml') } },
      });
      assert.equal(completed.statusCode, 200, completed.body);
      assert.equal(completed.json().enabled, true);
      assert.deepEqual(completed.json().sp, draft.sp);
    });

    test('a defaultApplicationId must name an application that may serve the organization and has a defaultRedirectUri', async () => {
      const application = (payload: Body) =>
        bed.t
          .request({
            method: 'POST',
            url: '/v1/applications',
            payload: { name: 'App', redirectUris: ['https://app.example.com/cb'], ...payload },
          })
          .then((r) => r.json().id as string);
      const landing = { defaultRedirectUri: 'https://app.example.com/cb' };
      const usable = await application(landing);
      const otherOrganization = await application({ ...landing, organizationIds: ['org_someone_else'] });
      const noLanding = await application({});
      for (const [applicationId, why] of [
        ['app_missing', /no application/],
        [otherOrganization, /no application/],
        [noLanding, /without a defaultRedirectUri/],
      ] as const) {
        const refused = await create(saml({ allowIdpInitiated: true, defaultApplicationId: applicationId }));
        assert.equal(refused.statusCode, 400, refused.body);
        assert.equal(refused.json().details[0].field, 'saml.defaultApplicationId');
        assert.match(refused.json().message, why);
      }
      const created = await create(saml({ allowIdpInitiated: true, defaultApplicationId: usable }));
      assert.equal(created.statusCode, 201, created.body);
      const patched = await bed.t.request({
        method: 'PATCH',
        url: `/v1/connections/${created.json().id}`,
        payload: { saml: { defaultApplicationId: noLanding } },
      });
      assert.equal(patched.statusCode, 400, 'an update is checked too');
      assert.equal(
        (
          await bed.t.request({
            method: 'PATCH',
            url: `/v1/connections/${created.json().id}`,
            payload: { saml: { defaultApplicationId: null } },
          })
        ).statusCode,
        200,
      );
    });

    test('picks one IdP of an EntitiesDescriptor by idpEntityId, and refuses to guess', async () => {
      const two = fixture('entities-two-idps.xml');
      const guess = await create(saml({ metadataXml: two }));
      assert.equal(guess.statusCode, 400);
      assert.equal(guess.json().details[0].field, 'saml.idpEntityId');
      assert.match(guess.json().message, /2 identity providers.*idp-one.*idp-two/);
      const picked = await create(saml({ metadataXml: two, idpEntityId: 'https://idp-two.fixture.example/saml' }));
      assert.equal(picked.statusCode, 201, picked.body);
      assert.equal(picked.json().saml.certificates[0].fingerprintSha256, certs.idp2!.sha256);
      const one = await create(saml({ metadataXml: fixture('entities-one-idp.xml') }));
      assert.equal(one.statusCode, 201);
      assert.equal(one.json().saml.signRequests, true, 'WantAuthnRequestsSigned turns signRequests on');
    });

    test('refuses bad input with a field path', async () => {
      const cases: [Body, string, RegExp?][] = [
        [{ type: 'saml' }, 'organizationId'],
        [{ organizationId: bed.org.id }, 'type'],
        [{ organizationId: bed.org.id, type: 'ldap' }, 'type'],
        [{ organizationId: bed.org.id, type: 'saml', colour: 'blue' }, 'colour'],
        [saml({ idpEntityId: 'x', tenant: 'y' }), 'saml.tenant'],
        [saml({}, { provider: 'myspace' }), 'provider', /unknown provider "myspace"; use one of okta, entra/],
        [saml({ ssoUrl: 'javascript:alert(1)', idpEntityId: 'x', certificates: [certs.idp1!.pem] }), 'saml.ssoUrl', /http\(s\) URL/],
        [saml({ metadataUrl: 'ftp://idp.example/metadata.xml' }), 'saml.metadataUrl', /http\(s\) URL/],
        [saml({ metadataUrl: 'not a url' }), 'saml.metadataUrl'],
        [
          saml({ idpEntityId: 'x', ssoUrl: 'https://x.example/sso', certificates: ['<not a certificate!>'] }),
          'saml.certificates.0',
          /neither PEM nor base64/,
        ],
        [
          saml({ idpEntityId: 'x', ssoUrl: 'https://x.example/sso', certificates: [certs.idp1!.pem, 'QUJD'] }),
          'saml.certificates.1',
          /X\.509/,
        ],
        [
          saml({
            idpEntityId: 'x',
            ssoUrl: 'https://x.example/sso',
            certificates: ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'],
          }),
          'saml.certificates.0',
          /PRIVATE KEY/,
        ],
        [saml({ idpEntityId: 'x', ssoUrl: 'https://x.example/sso' }), 'saml.certificates', /is required/],
        [saml({ ssoUrl: 'https://x.example/sso', certificates: [certs.idp1!.pem] }), 'saml.idpEntityId', /is required/],
        [saml({ metadataXml: fixture('garbage-certificate.xml') }), 'saml.metadataXml', /certificate/],
        [saml({ metadataXml: fixture('not-metadata.xml') }), 'saml.metadataXml', /not SAML 2\.0 metadata/],
        [saml({ metadataXml: fixture('not-xml.txt') }), 'saml.metadataXml', /not well-formed|XML/],
        [saml({ metadataXml: fixture('doctype.xml') }), 'saml.metadataXml', /DOCTYPE/],
        [saml({ metadataXml: `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}` }), 'saml.metadataXml', /more than 64 deep/],
        [saml({ metadataXml: fixture('sp-only.xml') }), 'saml.metadataXml', /service provider's metadata/],
        [saml({ metadataXml: fixture('no-sso.xml') }), 'saml.metadataXml', /SingleSignOnService/],
        [saml({ metadataXml: fixture('no-certificate.xml') }), 'saml.metadataXml', /signing certificate/],
        [saml({ metadataXml: fixture('okta.xml'), ssoUrl: 'https://x.example/sso' }), 'saml.ssoUrl', /cannot be combined/],
        [saml({ metadataXml: fixture('okta.xml'), metadataUrl: 'https://x.example/md' }), 'saml.metadataUrl', /cannot be combined/],
        [saml({ clockSkewSeconds: 601 }), 'saml.clockSkewSeconds'],
        [saml({ signaturePolicy: 'none' }), 'saml.signaturePolicy'],
        [saml({ certificates: [] }), 'saml.certificates'],
        [
          { organizationId: bed.org.id, type: 'saml', oidc: { issuer: 'https://x.example', clientId: 'a', clientSecret: 'b' } },
          'oidc',
          /only for type oidc/,
        ],
        [{ organizationId: bed.org.id, type: 'oidc', saml: {} }, 'saml', /only for type saml/],
        [{ organizationId: bed.org.id, type: 'oidc', oidc: { issuer: 'https://x.example', clientId: 'a' } }, 'oidc.clientSecret'],
        [
          { organizationId: bed.org.id, type: 'oidc', oidc: { issuer: 'file:///etc/passwd', clientId: 'a', clientSecret: 'b' } },
          'oidc.issuer',
          /http\(s\) URL/,
        ],
        [
          { organizationId: bed.org.id, type: 'oidc', oidc: { issuer: 'https://x.example/?tenant=1', clientId: 'a', clientSecret: 'b' } },
          'oidc.issuer',
          /query/,
        ],
        [saml({}, { attributeMapping: { mail: 'x' } }), 'attributeMapping.mail'],
      ];
      for (const [payload, field, message] of cases) {
        const res = await create(payload);
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 200)} → ${res.body}`);
        const body = res.json();
        assert.equal(body.code, 'validation_failed');
        assert.equal(body.details[0].field, field, res.body);
        if (message) assert.match(body.message, message);
      }
      const unknownOrg = await create({ organizationId: 'org_00000000000000000000000000', type: 'saml' });
      assert.equal(unknownOrg.statusCode, 404);
      assert.equal(unknownOrg.json().details[0].field, 'organizationId');
    });

    test('creates from a metadata URL, fetches it again on update, and answers 422 when it cannot', async () => {
      bed.server.route('/okta', { type: 'application/samlmetadata+xml', body: fixture('okta.xml') });
      bed.server.route('/html', { type: 'text/html', body: '<html><body>Sign in</body></html>' });
      bed.server.route('/huge', { type: 'application/xml', body: ' '.repeat(1024 * 1024 + 1) });
      const created = await create(saml({ metadataUrl: `${bed.server.base}/okta` }, { provider: 'okta' }));
      assert.equal(created.statusCode, 201, created.body);
      const conn = created.json();
      assert.equal(conn.saml.metadataUrl, `${bed.server.base}/okta`);
      assert.equal(conn.saml.idpEntityId, 'http://www.okta.com/exk1fxtrlanyard0d7');

      bed.server.route('/okta', { type: 'application/samlmetadata+xml', body: fixture('google.xml') });
      const refreshed = await bed.t.request({
        method: 'PATCH',
        url: `/v1/connections/${conn.id}`,
        payload: { saml: { metadataUrl: `${bed.server.base}/okta` } },
      });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(refreshed.json().saml.idpEntityId, 'https://accounts.google.com/o/saml2?idpid=C03fxtr1a');
      assert.deepEqual(refreshed.json().sp, conn.sp);

      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const failures: [string, RegExp][] = [
        [`http://127.0.0.1:${closedPort}/metadata`, /could not be reached \(ECONNREFUSED\)/],
        [`${bed.server.base}/missing`, /answered HTTP 404/],
        [`${bed.server.base}/huge`, /metadata is larger than 1048576 bytes/],
        [`${bed.server.base}/html`, /does not serve usable IdP metadata.*not SAML 2\.0 metadata/],
      ];
      for (const [url, message] of failures) {
        const res = await create(saml({ metadataUrl: url }));
        assert.equal(res.statusCode, 422, res.body);
        assert.equal(res.json().code, 'metadata_fetch_failed');
        assert.equal(res.json().details[0].field, 'saml.metadataUrl');
        assert.match(res.json().message, message);
      }
      // Without LANYARD_ALLOW_PRIVATE_METADATA_URLS, loopback is refused. (A second test app is not
      // opened for this: two migrated schemas at once trip Kysely's migration lock on PostgreSQL.)
      const strict = directConnectionService(bed.t);
      await assert.rejects(
        strict.create(
          { id: 'test', organizationId: null, requestId: null },
          { organizationId: bed.org.id, type: 'saml', saml: { metadataUrl: `${bed.server.base}/okta` } },
        ),
        (error: AppError) => {
          assert.equal(error.code, 'metadata_fetch_failed');
          assert.match(error.message, /loopback address, which Lanyard does not fetch from/);
          assert.doesNotMatch(error.message, /127\.0\.0\.1/);
          return true;
        },
      );
    });

    test('an organization key sees and changes only its own organization’s connections', async () => {
      const other = (await bed.t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Other' } })).json();
      const theirs = (await create({ organizationId: other.id, type: 'saml', saml: { metadataXml: fixture('okta.xml') } })).json();
      const key = (
        await bed.t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'acme key', organizationId: bed.org.id } })
      ).json();
      const mine = await create(saml({ metadataXml: fixture('google.xml') }), key.token);
      assert.equal(mine.statusCode, 201);
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const res = await bed.t.request({
          method,
          url: `/v1/connections/${theirs.id}`,
          token: key.token,
          ...(method === 'PATCH' ? { payload: { name: 'hijack' } } : {}),
        });
        assert.equal(res.statusCode, 404, method);
        assert.equal(res.json().code, 'not_found');
      }
      const foreign = await create({ organizationId: other.id, type: 'saml' }, key.token);
      assert.equal(foreign.statusCode, 404);
      const list = (await bed.t.request({ method: 'GET', url: '/v1/connections?limit=100', token: key.token })).json();
      assert.ok(list.data.length > 0 && list.data.every((c: Body) => c.organizationId === bed.org.id));
      assert.deepEqual(
        (await bed.t.request({ method: 'GET', url: `/v1/connections?organizationId=${other.id}`, token: key.token })).json().data,
        [],
      );
      const own = await bed.t.request({
        method: 'PATCH',
        url: `/v1/connections/${mine.json().id}`,
        token: key.token,
        payload: { name: 'Ours' },
      });
      assert.equal(own.json().name, 'Ours');
      assert.equal((await bed.t.request({ method: 'GET', url: `/v1/connections/${theirs.id}` })).json().name, 'Generic SAML');
    });

    test('pages through connections, filtered by organization and type', async () => {
      const paged = (await bed.t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Paged' } })).json();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await create({ organizationId: paged.id, type: i % 2 === 0 ? 'saml' : 'oidc', name: `P${i}` })).json().id);
      const seen: string[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const page: { data: { id: string }[]; nextCursor: string | null } = (
          await bed.t.request({ method: 'GET', url: `/v1/connections?organizationId=${paged.id}&limit=2&cursor=${cursor}` })
        ).json();
        assert.ok(page.data.length <= 2);
        seen.push(...page.data.map((c) => c.id));
        cursor = page.nextCursor;
      }
      assert.deepEqual(seen, ids);
      const oidc = (await bed.t.request({ method: 'GET', url: `/v1/connections?organizationId=${paged.id}&type=oidc` })).json();
      assert.deepEqual(
        oidc.data.map((c: Body) => c.name),
        ['P1', 'P3'],
      );
      assert.equal((await bed.t.request({ method: 'GET', url: '/v1/connections?cursor=bogus' })).json().code, 'invalid_cursor');
      assert.equal((await bed.t.request({ method: 'GET', url: '/v1/connections?type=ldap' })).statusCode, 400);
    });

    test('PATCH keeps the SP values, merges options and mappings; DELETE removes; every change is an event', async () => {
      const own = (await bed.t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Evented' } })).json();
      const conn = (
        await create({
          organizationId: own.id,
          type: 'saml',
          provider: 'okta',
          saml: { metadataXml: fixture('okta.xml') },
          attributeMapping: { email: 'mail' },
        })
      ).json();
      const patch = async (payload: Body) => bed.t.request({ method: 'PATCH', url: `/v1/connections/${conn.id}`, payload });
      const changed = await patch({
        name: 'Renamed',
        provider: 'entra',
        saml: { allowIdpInitiated: true, certificates: [certs.idp1!.pem] },
        attributeMapping: { email: null, lastName: 'sn' },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      const after = changed.json();
      assert.deepEqual(after.sp, conn.sp);
      assert.equal(after.id, conn.id);
      assert.equal(after.saml.idpEntityId, conn.saml.idpEntityId);
      assert.equal(after.saml.allowIdpInitiated, true);
      assert.equal(after.saml.clockSkewSeconds, 120);
      assert.deepEqual(
        after.saml.certificates.map((c: Body) => c.fingerprintSha256),
        [certs.idp1!.sha256],
      );
      assert.equal(after.attributeMapping.email, `${MS_CLAIMS}/emailaddress`, 'null restores the preset');
      assert.equal(after.attributeMapping.lastName, 'sn');
      assert.equal(after.createdAt, conn.createdAt);
      for (const [payload, field] of [
        [{ type: 'oidc' }, 'type'],
        [{ organizationId: bed.org.id }, 'organizationId'],
        [{ oidc: { clientId: 'x' } }, 'oidc'],
        [{}, '(root)'],
      ] as const) {
        const res = await patch(payload);
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().details[0].field, field);
      }
      assert.equal((await bed.t.request({ method: 'DELETE', url: `/v1/connections/${conn.id}` })).statusCode, 204);
      assert.equal((await bed.t.request({ method: 'GET', url: `/v1/connections/${conn.id}` })).statusCode, 404);
      assert.equal((await bed.t.request({ method: 'DELETE', url: `/v1/connections/${conn.id}` })).statusCode, 404);
      assert.equal((await bed.t.request({ method: 'GET', url: `/sso/saml/${conn.id}/metadata`, token: null })).statusCode, 404);
      const events = (await bed.t.request({ method: 'GET', url: `/v1/events?organizationId=${own.id}&limit=100` }))
        .json()
        .data.filter((e: Body) => String(e.type).startsWith('connection.'));
      assert.deepEqual(
        events.map((e: Body) => e.type),
        ['connection.created', 'connection.updated', 'connection.deleted'],
      );
      assert.deepEqual(events[0].summary, { connectionId: conn.id, type: 'saml', provider: 'okta', name: 'Okta SAML', enabled: true });
      assert.deepEqual(events[1].summary, {
        connectionId: conn.id,
        changed: ['name', 'provider', 'saml.allowIdpInitiated', 'saml.certificates', 'attributeMapping'],
      });
      assert.ok(events.every((e: Body) => String(e.actor).startsWith('key_') && String(e.requestId).startsWith('req_')));
    });

    test('serves SP metadata that parses back with the project parser and names the ACS and certificate', async () => {
      const conn = (await create(saml({ metadataXml: fixture('okta.xml'), signRequests: true }))).json();
      const res = await bed.t.request({ method: 'GET', url: `/sso/saml/${conn.id}/metadata`, token: null });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/samlmetadata\+xml/);
      const parsed = parseXml(res.body);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
      assert.equal(attr(parsed.value.root, 'entityID'), conn.sp.entityId);
      const descriptor = children(parsed.value.root, NS.md, 'SPSSODescriptor')[0]!;
      assert.equal(attr(descriptor, 'AuthnRequestsSigned'), 'true');
      const acs = children(descriptor, NS.md, 'AssertionConsumerService');
      assert.deepEqual(
        acs.map((el) => [attr(el, 'Binding'), attr(el, 'Location')]),
        [['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', conn.sp.acsUrl]],
      );
      assert.deepEqual(
        children(descriptor, NS.md, 'SingleLogoutService').map((el) => [attr(el, 'Binding'), attr(el, 'Location')]),
        [
          ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', conn.sp.sloUrl],
          ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', conn.sp.sloUrl],
        ],
      );
      const keys = await bed.t.db.selectFrom('deployment_keys').selectAll().where('purpose', '=', 'saml-sp').execute();
      assert.equal(keys.length, 1);
      const deploymentFingerprint = new X509Certificate(keys[0]!.certificate_pem!).fingerprint256;
      const keyDescriptors = (xml: string) => {
        const parsedXml = parseXml(xml);
        assert.ok(parsedXml.ok);
        const root = parsedXml.value.root;
        return children(children(root, NS.md, 'SPSSODescriptor')[0]!, NS.md, 'KeyDescriptor').map((kd) => {
          const data = firstChild(firstChild(kd, NS.ds, 'KeyInfo')!, NS.ds, 'X509Data')!;
          return [
            attr(kd, 'use'),
            new X509Certificate(Buffer.from(textOf(firstChild(data, NS.ds, 'X509Certificate')!), 'base64')).fingerprint256,
          ];
        });
      };
      assert.deepEqual(keyDescriptors(res.body), [['signing', deploymentFingerprint]]);
      await bed.t.request({ method: 'PATCH', url: `/v1/connections/${conn.id}`, payload: { saml: { encryptAssertions: true } } });
      const encrypted = await bed.t.request({ method: 'GET', url: `/sso/saml/${conn.id}/metadata`, token: null });
      assert.deepEqual(keyDescriptors(encrypted.body), [
        ['signing', deploymentFingerprint],
        ['encryption', deploymentFingerprint],
      ]);
      assert.equal((await bed.t.request({ method: 'GET', url: '/sso/saml/conn_unknown/metadata', token: null })).statusCode, 404);
      const oidcDraft = (await create({ organizationId: bed.org.id, type: 'oidc' })).json();
      assert.equal((await bed.t.request({ method: 'GET', url: `/sso/saml/${oidcDraft.id}/metadata`, token: null })).statusCode, 404);
    });
  });
}
