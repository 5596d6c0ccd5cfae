import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { idpMetadataXml, startMetadataServer, type MetadataServer } from '../support/metadata-server.ts';
import { IDP, NOW, testKeys } from '../support/saml-builder.ts';
import { answerAtTestIdp, startAtIdp, testAuthorizationUrl } from '../support/app-login.ts';

const REDIRECT = 'https://app.example.com/callback';
const SSO = 'https://idp.example.test/sso';
const INTERVAL = 3600;
const keyA = { keyPem: testKeys.idpKeyPem, certPem: testKeys.idpCertPem };
// The IdP's next key: the attacker fixture is just another key pair here.
const keyB = { keyPem: testKeys.attackerKeyPem, certPem: testKeys.attackerCertPem };
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

for (const backend of testBackends()) {
  describe(`metadata refresh on ${backend}`, () => {
    let t: TestApp;
    let idp: MetadataServer;
    let now = NOW.getTime();
    let org: { id: string };
    let connection: { id: string; sp: { entityId: string; acsUrl: string } };
    let app: { clientId: string };

    const env = { LANYARD_ALLOW_PRIVATE_METADATA_URLS: 'true', LANYARD_METADATA_REFRESH_SECONDS: String(INTERVAL) };
    const advance = (seconds: number) => (now += seconds * 1000);
    const refreshInBackground = () => t.deps.services.metadataRefresh.worker.drain();
    const read = async () => (await t.request({ method: 'GET', url: `/v1/connections/${connection.id}` })).json();
    const events = async (type: string) =>
      (await t.request({ method: 'GET', url: `/v1/events?type=${type}&limit=100` })).json().data as { summary: Record<string, unknown> }[];

    before(async () => {
      idp = await startMetadataServer();
      idp.serve({ xml: idpMetadataXml(IDP, SSO, [keyA.certPem]) });
      t = await createTestApp({ backend, env, clock: () => new Date(now) });
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json();
      const created = await t.request({
        method: 'POST',
        url: '/v1/connections',
        payload: { organizationId: org.id, type: 'saml', saml: { metadataUrl: idp.url } },
      });
      assert.equal(created.statusCode, 201, created.body);
      connection = created.json();
      app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    });
    after(async () => {
      await t.close();
      await idp.close();
    });

    /** A whole sign-in whose response the IdP signs with `key`; true when the app got a code. */
    async function signIn(key: { keyPem: string; certPem: string }): Promise<boolean> {
      // The response builder dates its assertions at NOW: the sign-in happens then, whatever time the refreshes reached.
      const refreshTime = now;
      now = NOW.getTime();
      try {
        return await signInAtNow(key);
      } finally {
        now = refreshTime;
      }
    }

    async function signInAtNow(key: { keyPem: string; certPem: string }): Promise<boolean> {
      const url = testAuthorizationUrl(t, {
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        scope: 'openid email',
        organization: org.id,
        state: 's',
      });
      const acs = await answerAtTestIdp(t, connection, await startAtIdp(t, url), { key });
      const back = acs.statusCode === 302 ? new URL(acs.headers.location as string) : undefined;
      return back !== undefined && back.searchParams.has('code');
    }

    test('sign-ins keep working while the IdP rotates its key behind the metadata URL, with no API call', async () => {
      assert.equal(await signIn(keyA), true, 'before: the first key signs');
      assert.equal(await signIn(keyB), false, 'the next key is not trusted before the IdP publishes it');
      assert.equal((await read()).lastRefresh, null, 'no refresh yet: the connection was just fetched at save');

      // During: the IdP publishes its next key beside the current one.
      idp.serve({ xml: idpMetadataXml(IDP, SSO, [keyA.certPem, keyB.certPem]) });
      await refreshInBackground();
      assert.equal((await read()).saml.certificates.length, 1, 'not due yet: nothing was fetched');
      advance(INTERVAL * 1.1 + 1);
      await refreshInBackground();
      const during = await read();
      assert.equal(during.saml.certificates.length, 2);
      assert.equal(during.lastRefresh.outcome, 'updated');
      assert.equal(await signIn(keyA), true, 'during: the current key still signs');
      assert.equal(await signIn(keyB), true, 'during: the next key is trusted as soon as it is published');
      const [added] = await events('connection.metadata_refreshed');
      assert.deepEqual(added?.summary, {
        connectionId: connection.id,
        changed: ['saml.certificates'],
        certificatesAdded: [fingerprint(keyB.certPem)],
        certificatesRemoved: [],
      });

      // After: the old key is no longer listed, so it is no longer trusted.
      idp.serve({ xml: idpMetadataXml(IDP, SSO, [keyB.certPem]) });
      advance(INTERVAL * 1.1 + 1);
      await refreshInBackground();
      assert.equal(await signIn(keyB), true, 'after: the new key signs');
      assert.equal(await signIn(keyA), false, 'after: the retired key is dropped');
      const removed = (await events('connection.metadata_refreshed')).at(-1);
      assert.deepEqual(removed?.summary.certificatesRemoved, [fingerprint(keyA.certPem)]);

      // Unchanged since: the validator comes back and the server answers 304.
      advance(INTERVAL * 1.1 + 1);
      await refreshInBackground();
      assert.ok(idp.requests.at(-1)?.['if-none-match'], 'the ETag is sent back');
      assert.equal((await read()).lastRefresh.outcome, 'not_modified');
    });

    test('a metadata URL that starts failing leaves the connection working, records the failure and backs off', async () => {
      const before = await read();
      idp.serve({ status: 503 });
      advance(INTERVAL * 1.1 + 1);
      await refreshInBackground();
      const failed = await read();
      assert.deepEqual(failed.saml, before.saml, 'the connection is unchanged');
      assert.equal(failed.lastRefresh.outcome, 'failed');
      assert.match(failed.lastRefresh.message, /503/);
      const retryIn = Date.parse(failed.lastRefresh.nextAt) - now;
      assert.ok(retryIn >= 54_000 && retryIn <= 66_000, `the first retry comes after about a minute (${retryIn} ms)`);
      assert.equal(await signIn(keyB), true, 'sign-ins go on with what the connection holds');

      const fetches = idp.requests.length;
      await refreshInBackground();
      assert.equal(idp.requests.length, fetches, 'no retry before it is due');
      advance(70);
      idp.serve({ xml: '<html>maintenance</html>' });
      await refreshInBackground();
      const unusable = await read();
      assert.deepEqual(unusable.saml, before.saml, 'metadata that cannot be used changes nothing either');
      assert.match(unusable.lastRefresh.message, /not usable/);
      const second = Date.parse(unusable.lastRefresh.nextAt) - now;
      assert.ok(second >= 108_000 && second <= 132_000, `the second retry waits twice as long (${second} ms)`);
      const recorded = await events('connection.metadata_refresh_failed');
      assert.deepEqual(
        recorded.map((e) => e.summary.failures),
        [1, 2],
      );
      assert.equal(recorded[0]?.summary.code, 'metadata_url_status');
      assert.equal(await signIn(keyB), true);

      idp.serve({ xml: idpMetadataXml(IDP, SSO, [keyB.certPem]) });
      advance(200);
      await refreshInBackground();
      const recovered = await read();
      assert.equal(recovered.lastRefresh.outcome, 'not_modified', 'back to normal: the document last used is still current');
      assert.ok(Date.parse(recovered.lastRefresh.nextAt) - now > INTERVAL * 900, 'and the schedule is the interval again');
    });

    test('POST /v1/connections/{id}/refresh refreshes now; organization keys refresh only their own', async () => {
      idp.serve({ xml: idpMetadataXml(IDP, SSO, [keyA.certPem, keyB.certPem]) });
      const refreshed = await t.request({ method: 'POST', url: `/v1/connections/${connection.id}/refresh` });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(refreshed.json().saml.certificates.length, 2);
      assert.equal(refreshed.json().lastRefresh.outcome, 'updated');

      const other = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Other' } })).json();
      const key = async (organizationId: string) =>
        (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'k', organizationId } })).json().token as string;
      const foreign = await t.request({ method: 'POST', url: `/v1/connections/${connection.id}/refresh`, token: await key(other.id) });
      assert.equal(foreign.statusCode, 404, 'another organization’s key learns nothing');
      const own = await t.request({ method: 'POST', url: `/v1/connections/${connection.id}/refresh`, token: await key(org.id) });
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json().lastRefresh.outcome, 'not_modified');

      idp.serve({ status: 500 });
      const failing = await t.request({ method: 'POST', url: `/v1/connections/${connection.id}/refresh` });
      assert.equal(failing.statusCode, 422);
      assert.equal(failing.json().code, 'metadata_fetch_failed');
      assert.equal((await read()).lastRefresh.outcome, 'failed', 'a manual failure is recorded too');
      assert.equal((await read()).saml.certificates.length, 2);

      const manual = await t.request({
        method: 'POST',
        url: '/v1/connections',
        payload: { organizationId: org.id, type: 'saml', saml: { idpEntityId: IDP, ssoUrl: SSO, certificates: [keyA.certPem] } },
      });
      const none = await t.request({ method: 'POST', url: `/v1/connections/${manual.json().id}/refresh` });
      assert.equal(none.statusCode, 409);
      assert.equal(none.json().code, 'no_metadata_url');
      const unknown = await t.request({ method: 'POST', url: '/v1/connections/conn_nope/refresh' });
      assert.equal(unknown.statusCode, 404);
    });

    test('the background refresh goes through the outbound guard: an instance that may not reach private addresses records a refusal', async () => {
      idp.serve({ xml: idpMetadataXml(IDP, SSO, [keyB.certPem]) });
      const guarded = await createTestApp({
        backend,
        env: { LANYARD_METADATA_REFRESH_SECONDS: String(INTERVAL) },
        clock: () => new Date(now),
        shareDatabaseOf: t,
      });
      try {
        advance(INTERVAL * 1.1 + 1);
        const fetches = idp.requests.length;
        await guarded.deps.services.metadataRefresh.worker.drain();
        assert.equal(idp.requests.length, fetches, 'the loopback metadata URL was not fetched');
        const refused = await read();
        assert.equal(refused.lastRefresh.outcome, 'failed');
        assert.match(refused.lastRefresh.message, /loopback address/);
        assert.equal((await events('connection.metadata_refresh_failed')).at(-1)?.summary.code, 'metadata_url_forbidden_address');
        advance(INTERVAL);
        await refreshInBackground(); // back to an instance that may: the connection recovers
        assert.notEqual((await read()).lastRefresh.outcome, 'failed');
      } finally {
        await guarded.close();
      }
    });

    test('two instances refresh a connection once between them', async () => {
      idp.serve({ xml: idpMetadataXml(IDP, SSO, [keyB.certPem]) });
      const second = await createTestApp({ backend, env, clock: () => new Date(now), shareDatabaseOf: t });
      try {
        advance(INTERVAL * 1.1 + 1);
        const fetches = idp.requests.length;
        await Promise.all([refreshInBackground(), second.deps.services.metadataRefresh.worker.drain()]);
        assert.equal(idp.requests.length, fetches + 1);
        assert.equal((await read()).saml.certificates.length, 1);
      } finally {
        await second.close();
      }
    });
  });
}
