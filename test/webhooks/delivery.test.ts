// Delivery through the real worker to a real receiver on loopback that verifies every request with
// the standardwebhooks package. Lanyard's clock is moved instead of waiting for retries.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { testBackends } from '../support/app.ts';
import { startReceiver, type Receiver } from '../support/webhook-receiver.ts';
import { createHarness, deliveriesOf, endpointFor, renameOrganization, type Harness } from './support.ts';

const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;

for (const backend of testBackends()) {
  describe(`webhook delivery on ${backend}`, () => {
    let h: Harness;
    let receiver: Receiver;
    const drain = () => h.t.deps.webhookWorker.drain();
    const updates = () => receiver.received.filter((r) => r.payload?.type === 'organization.updated');
    before(async () => {
      h = await createHarness(backend);
    });
    after(async () => h.t.close());
    beforeEach(async () => {
      receiver = await startReceiver();
      receiver.now = h.now;
    });
    afterEach(async () => receiver.close());

    test('a committed event arrives signed, shaped as /v1/events shows it, and is listed as delivered', async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver);
      const eventId = await renameOrganization(h.t, org.id, 'Renamed');
      await drain();
      const [received, ...more] = updates();
      assert.ok(received, 'delivered');
      assert.equal(more.length, 0);
      assert.deepEqual(received.verifiedBy, [0], 'standardwebhooks verifies it with the endpoint secret');
      assert.equal(received.id, eventId, 'webhook-id is the event id');
      assert.equal(received.headers['content-type'], 'application/json');
      assert.match(received.headers['user-agent'] ?? '', /^Lanyard/);
      const event = (await h.t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=organization.updated` }))
        .json()
        .data.find((e: { id: string }) => e.id === eventId);
      assert.deepEqual(received.payload, {
        id: eventId,
        type: 'organization.updated',
        createdAt: event.createdAt,
        organizationId: org.id,
        data: event.summary,
      });
      assert.doesNotMatch(received.body, /whsec_/);
      const [delivery] = await deliveriesOf(h.t, endpoint.id, '&eventType=organization.updated');
      assert.equal(delivery?.status, 'delivered');
      assert.equal(delivery?.eventId, eventId);
      assert.equal(delivery?.attempts.length, 1);
      assert.equal(delivery?.attempts[0]?.statusCode, 204);
      await drain();
      assert.equal(updates().length, 1, 'nothing is sent twice');
    });

    test('a 500 is retried about 5 s later with the same webhook-id; each attempt and the first KiB of its answer are kept', async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
      let calls = 0;
      receiver.answer = () => (++calls === 1 ? { status: 500, body: `\u0000${'e'.repeat(5000)}` } : { status: 200, body: 'ok' });
      const eventId = await renameOrganization(h.t, org.id, 'Retry me');
      await drain();
      let [delivery] = await deliveriesOf(h.t, endpoint.id);
      assert.equal(delivery?.status, 'pending');
      const wait = Date.parse(delivery?.nextAttemptAt ?? '') - h.now().getTime();
      assert.ok(wait >= 4 * SECOND && wait <= 6 * SECOND, `next attempt in ${wait} ms`);
      assert.equal(delivery?.attempts[0]?.statusCode, 500);
      assert.equal(delivery?.attempts[0]?.responseBody?.length, 1024, 'the first KiB');
      assert.ok(delivery?.attempts[0]?.responseBody?.startsWith('\uFFFD'), 'a NUL byte is stored as U+FFFD');
      assert.ok((await h.t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpoint.id}` })).json().failingSince);

      await drain();
      assert.equal(receiver.received.length, 1, 'not before it is due');
      h.advance(6 * SECOND);
      await drain();
      [delivery] = await deliveriesOf(h.t, endpoint.id);
      assert.equal(delivery?.status, 'delivered');
      assert.deepEqual(
        delivery?.attempts.map((a) => a.statusCode),
        [500, 200],
      );
      assert.deepEqual(
        receiver.received.map((r) => r.id),
        [eventId, eventId],
      );
      assert.ok(receiver.received.every((r) => r.verifiedBy.length === 1));
      assert.equal((await h.t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpoint.id}` })).json().failingSince, null);
    });

    test('a receiver that is down, then back, gets the event on the next attempt', async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
      await receiver.down();
      await renameOrganization(h.t, org.id, 'While down');
      await drain();
      let [delivery] = await deliveriesOf(h.t, endpoint.id);
      assert.equal(delivery?.status, 'pending');
      assert.equal(delivery?.attempts[0]?.statusCode, null);
      assert.match(delivery?.attempts[0]?.error ?? '', /^unreachable: .*ECONNREFUSED/);
      await receiver.start();
      h.advance(6 * SECOND);
      await drain();
      [delivery] = await deliveriesOf(h.t, endpoint.id);
      assert.equal(delivery?.status, 'delivered');
      assert.equal(updates().length, 1);
    });

    test('410 Gone disables the endpoint at once with an event; re-enabling sends what is still pending', async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
      receiver.answer = () => ({ status: 410 });
      await renameOrganization(h.t, org.id, 'Gone 1');
      await drain();
      const disabled = (await h.t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpoint.id}` })).json();
      assert.equal(disabled.enabled, false);
      assert.equal(disabled.disabledReason, 'gone');
      const events = (
        await h.t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=webhook_endpoint.disabled` })
      ).json();
      assert.equal(events.data.length, 1);
      assert.deepEqual(events.data[0].summary.reason, 'gone');
      assert.equal(events.data[0].actor, 'system');

      await renameOrganization(h.t, org.id, 'Gone 2'); // while disabled: not for this endpoint
      h.advance(6 * SECOND);
      await drain();
      assert.equal(receiver.received.length, 1, 'nothing is sent to a disabled endpoint');

      receiver.answer = () => ({ status: 200 });
      h.advance(-6 * SECOND); // re-enabling must not wait for the backed-off time
      const enabled = await h.t.request({ method: 'PATCH', url: `/v1/webhook-endpoints/${endpoint.id}`, payload: { enabled: true } });
      assert.equal(enabled.json().enabled, true);
      assert.equal(enabled.json().disabledReason, null);
      await drain();
      const deliveries = await deliveriesOf(h.t, endpoint.id);
      assert.deepEqual(
        deliveries.map((d) => d.status),
        ['delivered'],
      );
      assert.equal(receiver.received.length, 2);
      h.advance(6 * SECOND);
    });

    test('an endpoint failing for 5 days is disabled; a delivery whose attempts run out is failed', async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
      receiver.answer = () => ({ status: 503 });
      const started = h.now();
      await renameOrganization(h.t, org.id, 'Failing');
      for (let attempt = 1; attempt <= 8; attempt++) {
        await drain();
        h.advance(13 * 3600 * SECOND); // beyond the longest delay with jitter
      }
      const [exhausted] = await deliveriesOf(h.t, endpoint.id);
      assert.equal(exhausted?.status, 'failed');
      assert.equal(exhausted?.attemptCount, 8);
      assert.equal(exhausted?.nextAttemptAt, null);
      assert.equal(receiver.received.length, 8);
      assert.equal((await h.t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpoint.id}` })).json().enabled, true, '4.3 days');

      h.advance(DAY);
      await renameOrganization(h.t, org.id, 'Still failing');
      await drain();
      const after = (await h.t.request({ method: 'GET', url: `/v1/webhook-endpoints/${endpoint.id}` })).json();
      assert.equal(after.enabled, false);
      assert.equal(after.disabledReason, 'failing');
      assert.equal(after.failingSince, started.toISOString());
      const events = (
        await h.t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=webhook_endpoint.disabled` })
      ).json();
      assert.equal(events.data[0]?.summary.reason, 'failing');
    });

    test('a redirect is an unsuccessful answer and is not followed', async () => {
      const other = await startReceiver();
      other.now = h.now;
      try {
        const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
        receiver.answer = () => ({ status: 307, headers: { location: other.url } });
        await renameOrganization(h.t, org.id, 'Redirected');
        await drain();
        const [delivery] = await deliveriesOf(h.t, endpoint.id);
        assert.equal(delivery?.status, 'pending');
        assert.equal(delivery?.attempts[0]?.statusCode, 307);
        assert.equal(other.received.length, 0);
      } finally {
        await other.close();
        h.advance(6 * SECOND);
      }
    });

    test('after a secret rotation deliveries carry both signatures for 24 h, then only the new one', async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
      const rotated = (await h.t.request({ method: 'POST', url: `/v1/webhook-endpoints/${endpoint.id}/rotate-secret` })).json();
      receiver.secrets = [endpoint.secret, rotated.secret];
      await renameOrganization(h.t, org.id, 'Both');
      await drain();
      assert.deepEqual(receiver.received[0]?.verifiedBy, [0, 1]);
      assert.equal(receiver.received[0]?.signature.split(' ').length, 2);
      h.advance(DAY + SECOND);
      await renameOrganization(h.t, org.id, 'New only');
      await drain();
      assert.deepEqual(receiver.received[1]?.verifiedBy, [1]);
      assert.equal(receiver.received[1]?.signature.split(' ').length, 1);
    });

    test('a test event goes to its endpoint only; a manual retry sends a delivery again with the same webhook-id', async () => {
      const { endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'] });
      const bystander = await startReceiver();
      bystander.now = h.now;
      try {
        await endpointFor(h.t, bystander);
        const answer = await h.t.request({ method: 'POST', url: `/v1/webhook-endpoints/${endpoint.id}/test` });
        assert.equal(answer.statusCode, 202);
        await drain();
        assert.equal(receiver.received.length, 1);
        assert.equal(receiver.received[0]?.payload?.type, 'webhook.test');
        assert.equal(receiver.received[0]?.id, answer.json().eventId);
        assert.ok(bystander.received.every((r) => r.payload?.type !== 'webhook.test'));

        const [delivery] = await deliveriesOf(h.t, endpoint.id, '&status=delivered');
        const retried = await h.t.request({ method: 'POST', url: `/v1/webhook-deliveries/${delivery?.id}/retry` });
        assert.equal(retried.statusCode, 202);
        assert.equal(retried.json().status, 'pending');
        await drain();
        assert.deepEqual(
          receiver.received.map((r) => r.id),
          [answer.json().eventId, answer.json().eventId],
        );
        assert.equal((await deliveriesOf(h.t, endpoint.id))[0]?.attempts.length, 2);
      } finally {
        await bystander.close();
      }
    });

    test("an organization's deletion, and what was pending for it, still reach its endpoints", async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated', 'organization.deleted'] });
      await renameOrganization(h.t, org.id, 'About to go');
      assert.equal((await h.t.request({ method: 'DELETE', url: `/v1/organizations/${org.id}` })).statusCode, 204);
      await drain();
      // Sent concurrently: the order of arrival is not the order of the events.
      assert.deepEqual(receiver.received.map((r) => r.payload?.type).sort(), ['organization.deleted', 'organization.updated']);
      assert.equal((await deliveriesOf(h.t, endpoint.id)).length, 2);
    });

    test('events recorded while no endpoint wanted them are never sent later', async () => {
      const { org, endpoint } = await endpointFor(h.t, receiver, { eventTypes: ['organization.updated'], enabled: false });
      await renameOrganization(h.t, org.id, 'Unheard');
      await drain();
      await h.t.request({ method: 'PATCH', url: `/v1/webhook-endpoints/${endpoint.id}`, payload: { enabled: true } });
      await drain();
      assert.equal(receiver.received.length, 0);
    });
  });
}
