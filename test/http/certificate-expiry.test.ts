import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createTestSamlConnection } from '../support/app-login.ts';
import { IDP, testKeys } from '../support/saml-builder.ts';

const DAY = 86_400_000;
const idpNotAfter = Date.parse(new X509Certificate(testKeys.idpCertPem).validTo);

for (const backend of testBackends()) {
  describe(`certificate expiry alerts on ${backend}, two instances on one database`, () => {
    let first: TestApp;
    let second: TestApp;
    let now = idpNotAfter - 40 * DAY;
    let connection: { id: string };

    before(async () => {
      first = await createTestApp({ backend, clock: () => new Date(now) });
      second = await createTestApp({ backend, clock: () => new Date(now), shareDatabaseOf: first });
      const org = (await first.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json();
      connection = await createTestSamlConnection(first, { organizationId: org.id });
    });
    after(async () => {
      await second.close();
      await first.close();
    });

    /** Both instances look at the certificates at the same moment. */
    const watchOnBoth = () =>
      Promise.all([first.deps.services.expiryWatch.worker.drain(), second.deps.services.expiryWatch.worker.drain()]);
    const alerts = async () =>
      (await first.request({ method: 'GET', url: '/v1/events?limit=100' }))
        .json()
        .data.filter((e: { type: string }) => /certificate_expir/.test(e.type)) as {
        type: string;
        organizationId: string | null;
        summary: Record<string, unknown>;
      }[];
    const read = async () => (await first.request({ method: 'GET', url: `/v1/connections/${connection.id}` })).json();

    test('each IdP threshold is alerted exactly once, and the answer says how the certificate stands', async () => {
      await watchOnBoth();
      assert.deepEqual(await alerts(), [], 'nothing before 30 days');
      assert.deepEqual([(await read()).certificateStatus, (await read()).certificateDaysLeft], ['ok', 40]);

      const steps: [number, string, number][] = [
        [30, 'connection.certificate_expiring', 29],
        [14, 'connection.certificate_expiring', 13],
        [7, 'connection.certificate_expiring', 6],
        [1, 'connection.certificate_expiring', 0],
      ];
      for (const [threshold, type, daysLeft] of steps) {
        now = idpNotAfter - threshold * DAY + 3_600_000; // an hour past the threshold
        await watchOnBoth();
        await watchOnBoth(); // and again: nothing new
        const last = (await alerts()).at(-1);
        assert.equal(last?.type, type);
        assert.deepEqual(last?.summary, {
          connectionId: connection.id,
          fingerprintSha256: new X509Certificate(testKeys.idpCertPem).fingerprint256,
          notAfter: new Date(idpNotAfter).toISOString(),
          daysLeft,
          thresholdDays: threshold,
        });
        const answer = await read();
        assert.deepEqual([answer.certificateStatus, answer.certificateDaysLeft], ['expiring', daysLeft]);
      }
      now = idpNotAfter + 1000;
      await watchOnBoth();
      await watchOnBoth();
      const all = await alerts();
      assert.deepEqual(
        all.map((e) => [e.type, e.summary.thresholdDays]),
        [
          ['connection.certificate_expiring', 30],
          ['connection.certificate_expiring', 14],
          ['connection.certificate_expiring', 7],
          ['connection.certificate_expiring', 1],
          ['connection.certificate_expired', 0],
        ],
        'each threshold once, across both instances',
      );
      assert.ok(all.every((e) => e.organizationId !== null));
      assert.deepEqual([(await read()).certificateStatus, (await read()).certificateDaysLeft], ['expired', 0]);
    });

    test('a threshold noticed late sends only the tightest one reached', async () => {
      const org = (await first.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Late' } })).json();
      now = Date.parse(new X509Certificate(testKeys.attackerCertPem).validTo) - 5 * DAY;
      const late = await first.request({
        method: 'POST',
        url: '/v1/connections',
        payload: {
          organizationId: org.id,
          type: 'saml',
          saml: { idpEntityId: IDP, ssoUrl: 'https://idp.example.test/sso', certificates: [testKeys.attackerCertPem] },
        },
      });
      const before = (await alerts()).length;
      await watchOnBoth();
      const added = (await alerts()).slice(before).filter((e) => e.summary.connectionId === late.json().id);
      assert.deepEqual(
        added.map((e) => e.summary.thresholdDays),
        [7],
      );
    });

    test("Lanyard's own SP certificate is alerted like an IdP's", async () => {
      now = Date.parse('2030-01-01T00:00:00Z');
      const metadata = await first.request({ method: 'GET', url: `/sso/saml/${connection.id}/metadata`, token: null });
      assert.equal(metadata.statusCode, 200);
      const key = await first.db.selectFrom('deployment_keys').selectAll().where('purpose', '=', 'saml-sp').executeTakeFirstOrThrow();
      const spNotAfter = Date.parse(new X509Certificate(key.certificate_pem!).validTo);
      now = spNotAfter - 29 * DAY;
      await watchOnBoth();
      await watchOnBoth();
      now = spNotAfter + 1000;
      await watchOnBoth();
      const sp = (await alerts()).filter((e) => e.type.startsWith('deployment_key.'));
      assert.deepEqual(
        sp.map((e) => [e.type, e.summary.thresholdDays, e.summary.keyId, e.organizationId]),
        [
          ['deployment_key.certificate_expiring', 30, key.id, null],
          ['deployment_key.certificate_expired', 0, key.id, null],
        ],
      );
    });
  });
}
