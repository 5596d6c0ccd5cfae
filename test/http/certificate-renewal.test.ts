// Certificate-renewal tickets (issue 16, item 2): created only for an existing SAML connection of the
// organization; their page asks only for the new certificate or metadata, tests a sign-in that trusts
// the candidate while the live connection keeps its own trust, and renews.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createSelfSignedCertificate } from '../../src/crypto/self-signed.ts';
import { signInAtTestIdp } from '../support/app-login.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { PUBLIC_URL } from '../support/connections.ts';
import { idpMetadataXml, startMetadataServer, type MetadataServer } from '../support/metadata-server.ts';
import { IDP, NOW, testKeys } from '../support/saml-builder.ts';
import { createTicket, openSetup, postSetup, testSignInThroughPage, textOf, type SetupSessionInfo } from '../support/setup-page.ts';

const SSO_URL = 'https://idp.example.test/sso';
const REDIRECT = 'https://app.example.com/cb';
const NEW_KEY = { keyPem: testKeys.attackerKeyPem, certPem: testKeys.attackerCertPem };
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
const OLD_FP = fingerprint(testKeys.idpCertPem);
const NEW_FP = fingerprint(testKeys.attackerCertPem);

for (const backend of testBackends()) {
  describe(`certificate-renewal tickets on ${backend}`, () => {
    let t: TestApp;
    let metadata: MetadataServer;
    let org: { id: string };
    let other: { id: string };
    let app: { clientId: string };
    before(async () => {
      // SAML responses of the test IdP are dated NOW.
      // A millisecond a reading, so that each change of a connection has a new updatedAt (the ACS caches its keys by it).
      let tick = 0;
      t = await createTestApp({ backend, clock: () => new Date(NOW.getTime() + tick++), env: { LANYARD_PUBLIC_URL: PUBLIC_URL } });
      metadata = await startMetadataServer();
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Initech' } })).json();
      other = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Globex' } })).json();
      app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    });
    after(async () => {
      await metadata.close();
      await t.close();
    });

    async function samlConnection(organizationId = org.id) {
      const saml = { idpEntityId: IDP, ssoUrl: SSO_URL, certificates: [testKeys.idpCertPem] };
      const res = await t.request({
        method: 'POST',
        url: '/v1/connections',
        payload: { organizationId, type: 'saml', enabled: true, saml },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<{ id: string; sp: { entityId: string; acsUrl: string } }>();
    }
    const connection = async (id: string) => (await t.request({ method: 'GET', url: `/v1/connections/${id}` })).json();
    const trusted = async (id: string) =>
      ((await connection(id)).saml.certificates as { fingerprintSha256: string }[]).map((c) => c.fingerprintSha256);

    /** An app's login through the connection, the response signed by the test IdP's current key: true when it got a code. */
    async function appLoginWorks(conn: { id: string; sp: { entityId: string; acsUrl: string } }): Promise<boolean> {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        connection: conn.id,
        code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
        code_challenge_method: 'S256',
      });
      const answer = await signInAtTestIdp(t, conn, new URL(`/oauth/authorize?${query.toString()}`, PUBLIC_URL));
      return answer.statusCode === 302 && new URL(answer.headers.location as string).searchParams.has('code');
    }

    async function renewalPage(connectionId: string) {
      const ticket = await createTicket(t, org.id, { type: 'certificate-renewal', connectionId });
      const { res, session } = await openSetup(t, ticket.ticketUrl);
      return { ticket, res, session };
    }
    const saveCandidate = (session: SetupSessionInfo, source: string, value: string, keep: boolean) =>
      postSetup(t, session, 'candidate', { source, [`renewal.${source}`]: value, ...(keep ? { keepCurrent: 'yes' } : {}) });

    test('creation: only for an existing SAML connection with IdP values of the organization, and nothing else', async () => {
      const conn = await samlConnection();
      const foreign = await samlConnection(other.id);
      const oidc = (await t.request({ method: 'POST', url: '/v1/connections', payload: { organizationId: org.id, type: 'oidc' } })).json<{
        id: string;
      }>();
      const draft = (await t.request({ method: 'POST', url: '/v1/connections', payload: { organizationId: org.id, type: 'saml' } })).json<{
        id: string;
      }>();
      const create = (body: Record<string, unknown>) =>
        t.request({ method: 'POST', url: `/v1/organizations/${org.id}/sso/tickets`, payload: { type: 'certificate-renewal', ...body } });
      const cases: [Record<string, unknown>, number, string, RegExp][] = [
        [{}, 400, 'connectionId', /is required/],
        [{ connectionId: 'conn_01JUNKJUNKJUNKJUNKJUNKJUNK' }, 404, 'connectionId', /no such connection/],
        [{ connectionId: foreign.id }, 404, 'connectionId', /no such connection/],
        [{ connectionId: oidc.id }, 400, 'connectionId', /must name a SAML connection/],
        [{ connectionId: draft.id }, 400, 'connectionId', /without IdP values/],
        [{ connectionId: conn.id, domains: ['initech.example'] }, 400, 'domains', /not for certificate-renewal/],
        [{ connectionId: conn.id, provisioning: { scim: true } }, 400, 'provisioning', /not for certificate-renewal/],
        [{ connectionId: conn.id, enabledFeatures: ['domains'] }, 400, 'enabledFeatures', /not for certificate-renewal/],
      ];
      for (const [body, status, field, message] of cases) {
        const res = await create(body);
        assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
        const error = res.json();
        assert.equal(typeof error.requestId, 'string');
        assert.equal(error.details[0].field, field);
        assert.match(error.details[0].message, message);
      }
      const created = await create({ connectionId: conn.id });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().type, 'certificate-renewal');
      assert.equal(created.json().connectionId, conn.id);
      assert.deepEqual(created.json().enabledFeatures, []);
    });

    test('replace: the test trusts only the candidate, the live connection keeps its trust until renewed', async () => {
      const conn = await samlConnection();
      const { res, session } = await renewalPage(conn.id);
      const page = textOf(res.body);
      assert.match(page, /Certificate renewal for Initech/);
      assert.ok(page.includes(OLD_FP), 'the current certificate is shown');
      assert.doesNotMatch(res.body, /name="choice"|name="attributeMapping|name="domains"/, 'nothing but certificates is asked');

      // Nothing to test or renew before a candidate.
      const early = await postSetup(t, session, 'renew');
      assert.equal(early.statusCode, 400);
      assert.match(textOf(early.body), /needs the new certificate or metadata first/i);
      assert.equal((await postSetup(t, session, 'test')).statusCode, 400);

      const saved = await saveCandidate(session, 'certificate', testKeys.attackerCertPem, false);
      assert.equal(saved.statusCode, 303, saved.body);
      const shown = textOf((await t.request({ method: 'GET', url: session.path, token: null, headers: { cookie: session.cookie } })).body);
      assert.ok(shown.includes(NEW_FP), 'the candidate fingerprint is shown');
      assert.match(shown, /valid until 2126-10-30T18:37:25/);
      assert.match(shown, /Lanyard trusts only these/);
      // Saving a candidate changes nothing for sign-ins.
      assert.deepEqual(await trusted(conn.id), [OLD_FP]);
      assert.equal(await appLoginWorks(conn), true);

      // Signed with the old key: refused, because the test trusts the candidate, not the connection.
      const withOld = await testSignInThroughPage(t, session, conn.id);
      assert.match(withOld.text, /Test sign-in failed/);
      assert.ok(withOld.text.includes(NEW_FP), 'the failure names the candidate as the trusted certificate');
      const refused = await postSetup(t, session, 'renew');
      assert.equal(refused.statusCode, 400);
      assert.match(textOf(refused.body), /needs a successful test sign-in/i);

      const withNew = await testSignInThroughPage(t, session, conn.id, NEW_KEY);
      assert.doesNotMatch(withNew.text, /Test sign-in failed/);
      // The test flow's trust stayed in it: the live connection still trusts the old key only.
      assert.equal(await appLoginWorks(conn), true);
      assert.deepEqual(await trusted(conn.id), [OLD_FP]);

      const renewed = await postSetup(t, session, 'renew');
      assert.equal(renewed.statusCode, 303, renewed.body);
      assert.equal(renewed.headers.location, `${session.path}?saved=renewed`);
      assert.deepEqual(await trusted(conn.id), [NEW_FP]);
      assert.equal(await appLoginWorks(conn), false, 'the old key is no longer trusted');
      const summary = await t.request({
        method: 'GET',
        url: `${session.path}?saved=renewed`,
        token: null,
        headers: { cookie: session.cookie },
      });
      assert.match(textOf(summary.body), /The new certificate is in use\. The certificate is renewed/);

      const ticket = (await t.request({ method: 'GET', url: `/v1/organizations/${org.id}/sso/tickets` })).json().data.at(-1);
      assert.equal(ticket.status, 'completed');
      const events = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}` })).json().data;
      const updated = events.find(
        (e: { type: string; summary: { connectionId?: string } }) => e.type === 'connection.updated' && e.summary.connectionId === conn.id,
      );
      assert.deepEqual(updated.summary.changed, ['saml.certificates']);
      assert.equal(updated.actor, ticket.id);
      assert.ok(
        events.some(
          (e: { type: string; summary: { ticketId?: string } }) => e.type === 'sso_ticket.completed' && e.summary.ticketId === ticket.id,
        ),
      );

      // A completed renewal changes nothing more.
      assert.equal((await saveCandidate(session, 'certificate', testKeys.idpCertPem, true)).statusCode, 409);
      assert.equal((await postSetup(t, session, 'renew')).statusCode, 409);
    });

    test('keep both: the old key keeps working through the rollover, and the connection then trusts both', async () => {
      const conn = await samlConnection();
      const { session } = await renewalPage(conn.id);
      assert.equal((await saveCandidate(session, 'certificate', testKeys.attackerCertPem, true)).statusCode, 303);
      const test1 = await testSignInThroughPage(t, session, conn.id);
      assert.doesNotMatch(test1.text, /Test sign-in failed/);
      // The connection changed its certificates since the test: it no longer tested what would apply.
      const patched = await t.request({
        method: 'PATCH',
        url: `/v1/connections/${conn.id}`,
        payload: { saml: { certificates: [testKeys.idpCertPem, createExpiredCertificate()] } },
      });
      assert.equal(patched.statusCode, 200, patched.body);
      const stale = await postSetup(t, session, 'renew');
      assert.equal(stale.statusCode, 400);
      assert.match(textOf(stale.body), /needs a successful test sign-in/i);
      await t.request({ method: 'PATCH', url: `/v1/connections/${conn.id}`, payload: { saml: { certificates: [testKeys.idpCertPem] } } });
      await testSignInThroughPage(t, session, conn.id, NEW_KEY);
      // A new candidate forgets the test made with the previous one.
      assert.equal((await saveCandidate(session, 'certificate', testKeys.attackerCertPem, true)).statusCode, 303);
      assert.equal((await postSetup(t, session, 'renew')).statusCode, 400);
      await testSignInThroughPage(t, session, conn.id, NEW_KEY);
      assert.equal((await postSetup(t, session, 'renew')).statusCode, 303);
      assert.deepEqual(await trusted(conn.id), [OLD_FP, NEW_FP]);
      assert.equal(await appLoginWorks(conn), true);
    });

    test('metadata: XML of the same IdP, a URL through the outbound guard (refreshed from once renewed)', async () => {
      const conn = await samlConnection();
      const { session } = await renewalPage(conn.id);
      const otherIdp = await saveCandidate(
        session,
        'metadataXml',
        idpMetadataXml('https://other.example/idp', SSO_URL, [testKeys.attackerCertPem]),
        false,
      );
      assert.equal(otherIdp.statusCode, 400);
      assert.match(textOf(otherIdp.body), /not "https:\/\/idp\.example\.test\/metadata"|not usable/);
      assert.equal(
        (await saveCandidate(session, 'metadataXml', idpMetadataXml(IDP, SSO_URL, [testKeys.attackerCertPem]), false)).statusCode,
        303,
      );
      // The guard: this Lanyard does not allow private addresses, and the metadata server is on loopback.
      metadata.serve({ xml: idpMetadataXml(IDP, SSO_URL, [testKeys.attackerCertPem]) });
      const guarded = await saveCandidate(session, 'metadataUrl', metadata.url, false);
      assert.equal(guarded.statusCode, 422);
      assert.match(textOf(guarded.body), /could not be fetched/);
      assert.equal(metadata.requests.length, 0, 'nothing was fetched from a private address');

      const open = await createTestApp({
        backend,
        clock: () => NOW,
        env: { LANYARD_PUBLIC_URL: PUBLIC_URL, LANYARD_ALLOW_PRIVATE_METADATA_URLS: 'true' },
      });
      try {
        const o = (await open.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Umbrella' } })).json();
        const saml = { idpEntityId: IDP, ssoUrl: SSO_URL, certificates: [testKeys.idpCertPem] };
        const c = (
          await open.request({
            method: 'POST',
            url: '/v1/connections',
            payload: { organizationId: o.id, type: 'saml', enabled: true, saml },
          })
        ).json();
        const ticket = await createTicket(open, o.id, { type: 'certificate-renewal', connectionId: c.id });
        const { session: s } = await openSetup(open, ticket.ticketUrl);
        const viaUrl = await postSetup(open, s, 'candidate', { source: 'metadataUrl', 'renewal.metadataUrl': metadata.url });
        assert.equal(viaUrl.statusCode, 303, viaUrl.body);
        await testSignInThroughPage(open, s, c.id, NEW_KEY);
        assert.equal((await postSetup(open, s, 'renew')).statusCode, 303);
        const renewed = (await open.request({ method: 'GET', url: `/v1/connections/${c.id}` })).json();
        assert.equal(renewed.saml.metadataUrl, metadata.url);
        assert.deepEqual(
          renewed.saml.certificates.map((x: { fingerprintSha256: string }) => x.fingerprintSha256),
          [NEW_FP],
        );
        const events = (await open.request({ method: 'GET', url: `/v1/events?organizationId=${o.id}&type=connection.updated` })).json()
          .data;
        assert.deepEqual(events[0].summary.changed, ['saml.certificates', 'saml.metadataUrl']);
      } finally {
        await open.close();
      }
    });

    test('refused inputs are 4xx with the reason at the field, never a 500', async () => {
      const conn = await samlConnection();
      const { session } = await renewalPage(conn.id);
      const cases: [Record<string, string>, number, RegExp][] = [
        [{ source: 'certificate', 'renewal.certificate': '' }, 400, /Correct the field marked below\. .*is required/],
        [{ source: 'certificate', 'renewal.certificate': testKeys.attackerKeyPem }, 400, /not a usable certificate/],
        [{ source: 'certificate', 'renewal.certificate': 'not base64 at all!' }, 400, /not a usable certificate/],
        [{ source: 'certificate', 'renewal.certificate': createExpiredCertificate() }, 400, /only expired certificates/],
        [{ source: 'metadataXml', 'renewal.metadataXml': '<a>'.repeat(50_000) }, 400, /not usable/],
        [{ source: 'metadataUrl', 'renewal.metadataUrl': 'file:///etc/passwd' }, 400, /must be an http\(s\) URL/],
        [{ source: 'nonsense' }, 400, /source is not one of/i],
        [{}, 400, /source is not one of/i],
      ];
      for (const [fields, status, message] of cases) {
        const res = await postSetup(t, session, 'candidate', fields);
        assert.equal(res.statusCode, status, `${JSON.stringify(fields).slice(0, 80)}: ${res.body.slice(0, 300)}`);
        assert.match(textOf(res.body), message);
      }
      assert.deepEqual(await trusted(conn.id), [OLD_FP]);
    });

    test('a renewal computed from a connection that changed before it was written is refused, not applied', async () => {
      const conn = await samlConnection();
      const actor = { id: 'tkt_test', organizationId: org.id, requestId: null };
      const stale = new Date(Date.parse((await connection(conn.id)).updatedAt) - 1);
      await assert.rejects(
        t.deps.services.connections.renewCertificates(actor, conn.id, {
          certificates: [testKeys.attackerCertPem],
          metadataUrl: null,
          expectedUpdatedAt: stale,
        }),
        (error: { code?: string }) => error.code === 'conflict',
      );
      assert.deepEqual(await trusted(conn.id), [OLD_FP]);
    });

    test("a setup ticket's page cannot post the renewal forms", async () => {
      const conn = await samlConnection();
      const before = await connection(conn.id);
      const ticket = await createTicket(t, org.id, { type: 'saml', connectionId: conn.id });
      const { session } = await openSetup(t, ticket.ticketUrl);
      const candidate = await saveCandidate(session, 'certificate', testKeys.attackerCertPem, false);
      assert.equal(candidate.statusCode, 400, candidate.body.slice(0, 300));
      assert.equal((await postSetup(t, session, 'renew')).statusCode, 400);
      assert.deepEqual((await connection(conn.id)).saml, before.saml);
    });

    test("the renewal link cannot use the setup page's other forms, nor post without its session and CSRF token", async () => {
      const conn = await samlConnection();
      const before = await connection(conn.id);
      const { session } = await renewalPage(conn.id);
      const attempts: [string, Record<string, string>][] = [
        [
          'idp',
          {
            source: 'fields',
            'saml.idpEntityId': 'https://evil.example/idp',
            'saml.ssoUrl': 'https://evil.example/sso',
            'saml.certificates': testKeys.attackerCertPem,
          },
        ],
        ['idp', { source: 'url', 'saml.metadataUrl': 'https://evil.example/metadata' }],
        ['provider', { choice: 'okta-saml' }],
        ['mapping', { 'attributeMapping.email': 'evil' }],
        ['activate', {}],
      ];
      for (const [action, fields] of attempts) {
        const res = await postSetup(t, session, action, fields);
        assert.equal(res.statusCode, 400, `${action}: ${res.body.slice(0, 200)}`);
        assert.match(textOf(res.body), /renews certificates only/i);
      }
      assert.equal(
        (
          await postSetup(
            t,
            session,
            'candidate',
            { source: 'certificate', 'renewal.certificate': testKeys.attackerCertPem },
            { csrf: null },
          )
        ).statusCode,
        403,
      );
      assert.equal(
        (
          await postSetup(
            t,
            session,
            'candidate',
            { source: 'certificate', 'renewal.certificate': testKeys.attackerCertPem },
            { cookie: null },
          )
        ).statusCode,
        403,
      );
      assert.equal((await postSetup(t, session, 'renew', {}, { csrf: 'x'.repeat(43) })).statusCode, 403);
      const afterwards = await connection(conn.id);
      assert.deepEqual(afterwards.saml, before.saml);
      assert.deepEqual(afterwards.attributeMapping, before.attributeMapping);
      assert.equal(afterwards.updatedAt, before.updatedAt);
    });
  });
}

/** A certificate that expired in 2021 (the suite's clock is in 2030). */
function createExpiredCertificate(): string {
  return createSelfSignedCertificate({
    privateKey: createPrivateKey(testKeys.attackerKeyPem),
    commonName: 'expired.example.test',
    validityYears: 1,
    now: new Date('2020-01-01T00:00:00Z'),
    serialEntropy: randomBytes(16),
  });
}
