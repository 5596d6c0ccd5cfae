// /metrics after real work: a login that succeeds and one that fails, SCIM requests, and a webhook
// delivery to a receiver on loopback, each counted where it happens (prom-client, one registry per app).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestSamlConnection, signInAtTestIdp } from '../support/app-login.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { sample } from '../support/metrics.ts';
import { createDirectory, scim, USER_SCHEMA } from '../support/scim.ts';
import { NOW } from '../support/saml-builder.ts';
import { startReceiver, type Receiver } from '../support/webhook-receiver.ts';

const REDIRECT = 'https://app.example.com/callback';

describe('/metrics after logins, SCIM requests and a webhook delivery', () => {
  let t: TestApp;
  let receiver: Receiver;
  before(async () => {
    // SAML responses of the test IdP are dated NOW.
    t = await createTestApp({ clock: () => NOW });
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await t.close();
  });
  const metrics = async () => (await t.request({ method: 'GET', url: '/metrics', token: null })).body;

  test('a login counts as started and succeeded, a refused one as failed by its code', async () => {
    const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json();
    const connection = await createTestSamlConnection(t, { organizationId: org.id, enabled: true });
    const app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: app.clientId,
      redirect_uri: REDIRECT,
      organization: org.id,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const url = new URL(`/oauth/authorize?${query.toString()}`, t.config.publicUrl);
    const good = await signInAtTestIdp(t, connection, url);
    assert.equal(new URL(good.headers.location as string).searchParams.has('code'), true, good.body);
    const refused = await signInAtTestIdp(t, connection, url, { tamper: (xml) => xml.replace('>staff<', '>root<') });
    assert.match(refused.body, /saml_digest_mismatch/);

    const body = await metrics();
    assert.equal(sample(body, 'lanyard_logins_started_total', { connection_type: 'saml' }), 2);
    assert.equal(sample(body, 'lanyard_logins_succeeded_total', { connection_type: 'saml' }), 1);
    assert.equal(sample(body, 'lanyard_logins_failed_total', { connection_type: 'saml', code: 'saml_digest_mismatch' }), 1);
  });

  test('SCIM requests count by resource, method and status', async () => {
    const directory = await createDirectory(t);
    const user = { schemas: [USER_SCHEMA], userName: 'alice@acme.test', active: true };
    assert.equal((await scim(t, directory, { method: 'POST', path: '/Users', body: user })).statusCode, 201);
    assert.equal((await scim(t, directory, { method: 'POST', path: '/Users', body: user })).statusCode, 409);
    assert.equal((await scim(t, { ...directory, token: 'wrong' }, { method: 'GET', path: '/Groups' })).statusCode, 401);
    const body = await metrics();
    assert.equal(sample(body, 'lanyard_scim_requests_total', { resource: 'Users', method: 'POST', status: '201' }), 1);
    assert.equal(sample(body, 'lanyard_scim_requests_total', { resource: 'Users', method: 'POST', status: '409' }), 1);
    assert.equal(sample(body, 'lanyard_scim_requests_total', { resource: 'Groups', method: 'GET', status: '401' }), 1);
  });

  test('a webhook delivery counts its attempt, its latency and its outcome; the backlog age is read from the database', async () => {
    // Webhook signatures are checked against the real time: an app of its own, whose clock starts now.
    let at = Date.now();
    const w = await createTestApp({ env: { LANYARD_ALLOW_PRIVATE_NETWORK: 'true' }, clock: () => new Date(at) });
    try {
      const created = await w.request({ method: 'POST', url: '/v1/webhook-endpoints', payload: { url: receiver.url } });
      assert.equal(created.statusCode, 201, created.body);
      receiver.secrets = [created.json().secret];
      assert.equal((await w.request({ method: 'POST', url: `/v1/webhook-endpoints/${created.json().id}/test` })).statusCode, 202);
      at += 30_000;
      const scrape = async () => (await w.request({ method: 'GET', url: '/metrics', token: null })).body;
      const waiting = await scrape();
      assert.ok((sample(waiting, 'lanyard_webhook_oldest_waiting_seconds', { stage: 'undispatched' }) ?? 0) >= 30, waiting);
      await w.deps.webhookWorker.drain();
      assert.ok(receiver.received.some((r) => r.payload?.type === 'webhook.test'));
      const body = await scrape();
      assert.ok((sample(body, 'lanyard_webhook_attempts_total', { outcome: 'success' }) ?? 0) >= 1);
      assert.equal(
        sample(body, 'lanyard_webhook_attempt_duration_seconds_count', { outcome: 'success' }),
        sample(body, 'lanyard_webhook_attempts_total', { outcome: 'success' }),
      );
      assert.ok((sample(body, 'lanyard_webhook_deliveries_total', { outcome: 'delivered' }) ?? 0) >= 1);
      assert.equal(sample(body, 'lanyard_webhook_oldest_waiting_seconds', { stage: 'pending' }), 0);
      assert.equal(sample(body, 'lanyard_webhook_oldest_waiting_seconds', { stage: 'undispatched' }), 0);
    } finally {
      await w.close();
    }
  });
});
