// Setup tickets that nobody finished leave no orphan draft connections: the cleanup worker deletes
// the drafts of expired and revoked tickets, and leaves every connection something still needs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createTicket } from '../support/setup-page.ts';
import { IDP, testKeys } from '../support/saml-builder.ts';

for (const backend of testBackends()) {
  describe(`the drafts of abandoned setup tickets on ${backend}`, () => {
    let t: TestApp;
    let now = Date.parse('2030-01-01T00:00:00Z');
    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(now) });
    });
    after(async () => t.close());

    const connectionIds = async (organizationId: string) =>
      (await t.request({ method: 'GET', url: `/v1/connections?organizationId=${organizationId}&limit=100` }))
        .json<{ data: { id: string }[] }>()
        .data.map((c) => c.id)
        .sort();

    test('four expired tickets leave no drafts; a live ticket, a revoked one, and connections in use are handled right', async () => {
      const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json<{ id: string }>();
      const expiring = [];
      for (let i = 0; i < 4; i++) expiring.push(await createTicket(t, org.id, { type: 'saml', ttlSeconds: 3600 }));
      const live = await createTicket(t, org.id, { type: 'oidc', ttlSeconds: 4 * 24 * 3600 });
      const revoked = await createTicket(t, org.id, { type: 'saml', ttlSeconds: 4 * 24 * 3600 });
      await t.request({ method: 'DELETE', url: `/v1/sso/tickets/${revoked.id}` });
      // A ticket for a connection the vendor made: its connection is not the ticket's to delete.
      const saml = { idpEntityId: IDP, ssoUrl: 'https://idp.example.test/sso', certificates: [testKeys.idpCertPem] };
      const own = (
        await t.request({ method: 'POST', url: '/v1/connections', payload: { organizationId: org.id, type: 'saml', enabled: false, saml } })
      ).json<{ id: string }>();
      await createTicket(t, org.id, { type: 'saml', connectionId: own.id, ttlSeconds: 3600 });
      // A draft an expired ticket created, taken over by a new, open ticket.
      const reused = await createTicket(t, org.id, { type: 'saml', connectionId: expiring[3]!.connectionId, ttlSeconds: 4 * 24 * 3600 });
      assert.equal((await connectionIds(org.id)).length, 7);

      now += 2 * 3600 * 1000;
      await t.deps.draftCleanupWorker.drain();
      const left = await connectionIds(org.id);
      assert.deepEqual(left, [live.connectionId, own.id, reused.connectionId].sort());
      for (const ticket of [...expiring.slice(0, 3), revoked]) {
        const answer = await t.request({ method: 'GET', url: `/v1/sso/tickets/${ticket.id}` });
        assert.equal(answer.statusCode, 200, 'the ticket stays, for the record');
      }
      const deleted = (
        await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=connection.deleted&limit=100` })
      ).json<{
        data: { actor: unknown; summary: { connectionId: string } }[];
      }>().data;
      assert.deepEqual(
        deleted.map((e) => e.summary.connectionId).sort(),
        [...expiring.slice(0, 3), revoked].map((ticket) => ticket.connectionId).sort(),
      );
      await t.deps.draftCleanupWorker.drain();
      assert.deepEqual(await connectionIds(org.id), left, 'a second run finds nothing more');
    });
  });
}
