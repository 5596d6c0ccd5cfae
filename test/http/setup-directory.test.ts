// Issue 14, "Setup": a ticket with provisioning {scim: true} has a Directory sync step on its setup
// page: per-IdP instructions, the SCIM base URL, a token generated there and shown once, and a live
// status; activating single sign-on does not wait for it, and the step outlives the activation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { PUBLIC_URL } from '../support/connections.ts';
import { NOW } from '../support/saml-builder.ts';
import { GROUP_SCHEMA, scim, USER_SCHEMA } from '../support/scim.ts';
import {
  createTicket,
  getWithSession,
  openSetup,
  postSetup,
  TEST_IDP_FIELDS,
  testSignInThroughPage,
  textOf,
  type SetupSessionInfo,
} from '../support/setup-page.ts';

const TOKEN = /<code id="v-scim-token">(scim_[A-Za-z0-9_-]+)<\/code>/;
const BASE_URL = new RegExp(`<code id="v-scim-base">(${PUBLIC_URL}/scim/v2/(dir_[0-9A-Z]{26}))</code>`);

for (const backend of testBackends()) {
  describe(`the setup page's Directory sync step on ${backend}`, () => {
    let t: TestApp;
    let org: { id: string };
    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(NOW.getTime()), env: { LANYARD_PUBLIC_URL: PUBLIC_URL } });
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Initech' } })).json();
    });
    after(async () => t.close());

    const directoriesOf = async (organizationId: string) =>
      (await t.request({ method: 'GET', url: `/v1/directories?organizationId=${organizationId}` })).json().data;
    const status = (session: SetupSessionInfo) => getWithSession(t, session, `${session.path}/directory-status`);

    test('a ticket without provisioning.scim has no step, and its page cannot create a directory', async () => {
      const ticket = await createTicket(t, org.id, { type: 'saml' });
      const { res, session } = await openSetup(t, ticket.ticketUrl);
      assert.ok(!res.body.includes('step-directory'));
      const refused = await postSetup(t, session, 'directory');
      assert.equal(refused.statusCode, 400);
      assert.deepEqual(await directoriesOf(org.id), []);
    });

    test('instructions, a token shown once, the base URL, a live status, and a new token that rotates the same directory', async () => {
      const ticket = await createTicket(t, org.id, { type: 'okta', provisioning: { scim: true } });
      const { res, session } = await openSetup(t, ticket.ticketUrl);
      const text = textOf(res.body);
      assert.match(text, /Directory sync \(SCIM\).*Not set up yet: generate a token to get the SCIM base URL\./);
      for (const idp of ['Okta', 'Microsoft Entra ID', 'JumpCloud', 'OneLogin', 'PingFederate', 'Rippling', 'Another SCIM 2.0 client'])
        assert.ok(text.includes(idp), idp);
      assert.match(res.body, /<details open>\s*<summary>Okta<\/summary>/, "the SSO connection's IdP opens first");
      assert.match(res.body, /href="#step-directory"/);

      // No CSRF token: nothing is created.
      assert.equal((await postSetup(t, session, 'directory', {}, { csrf: null })).statusCode, 403);
      assert.deepEqual(await directoriesOf(org.id), []);

      const generated = await postSetup(t, session, 'directory');
      assert.equal(generated.statusCode, 200, generated.body);
      assert.equal(generated.headers['cache-control'], 'no-store');
      const token = TOKEN.exec(generated.body)?.[1];
      const [, baseUrl, directoryId] = BASE_URL.exec(generated.body) ?? [];
      assert.ok(token && baseUrl && directoryId, 'the answer shows the token and the base URL');
      assert.match(textOf(generated.body), /shown only this once.*Waiting for the first request from your identity provider\./);
      const [directory] = await directoriesOf(org.id);
      assert.deepEqual(
        [directory.id, directory.provider, directory.state, directory.scim.baseUrl],
        [directoryId, 'okta', 'pending', baseUrl],
      );
      const created = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=directory.created` })).json().data;
      assert.equal(created[0].actor, ticket.id, 'the ticket is the actor');

      const again = await getWithSession(t, session);
      assert.ok(!again.body.includes(token), 'the token is never shown again');
      assert.ok(BASE_URL.test(again.body), 'the base URL is');
      assert.deepEqual((await status(session)).json(), {
        id: directoryId,
        baseUrl,
        state: 'pending',
        users: 0,
        groups: 0,
        lastRequestAt: null,
        text: 'Waiting for the first request from your identity provider.',
      });
      const stranger = await t.request({ method: 'GET', url: `${session.path}/directory-status`, token: null });
      assert.equal(stranger.statusCode, 403, 'only the browser with the session reads the status');

      // The IdP provisions with the token: the status follows.
      const dir = { id: directoryId, token };
      const user = await scim(t, dir, {
        method: 'POST',
        path: '/Users',
        body: { schemas: [USER_SCHEMA], userName: 'alice@initech.example' },
      });
      assert.equal(user.statusCode, 201, user.body);
      const group = { schemas: [GROUP_SCHEMA], displayName: 'Staff', members: [{ value: user.json().id }] };
      assert.equal((await scim(t, dir, { method: 'POST', path: '/Groups', body: group })).statusCode, 201);
      const live = (await status(session)).json();
      assert.deepEqual([live.state, live.users, live.groups], ['active', 1, 1]);
      assert.match(live.text, /^Connected: 1 user and 1 group received\. Last request /);
      assert.match(textOf((await getWithSession(t, session)).body), /Connected: 1 user and 1 group received\./);

      // A new token rotates the same directory; the old one keeps working through the grace period.
      const rotated = await postSetup(t, session, 'directory');
      assert.equal(rotated.statusCode, 200, rotated.body);
      const newToken = TOKEN.exec(rotated.body)?.[1];
      assert.ok(newToken && newToken !== token);
      assert.equal(BASE_URL.exec(rotated.body)?.[2], directoryId);
      assert.equal((await directoriesOf(org.id)).length, 1);
      for (const bearer of [newToken, token])
        assert.equal((await scim(t, { id: directoryId, token: bearer }, { method: 'GET', path: '/Users' })).statusCode, 200);
    });

    test('activating single sign-on does not wait for directory sync, which stays usable on the completed ticket', async () => {
      const other = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Globex' } })).json();
      const ticket = await createTicket(t, other.id, { type: 'saml', provisioning: { scim: true } });
      const { session } = await openSetup(t, ticket.ticketUrl);
      assert.equal((await postSetup(t, session, 'idp', TEST_IDP_FIELDS)).statusCode, 303);
      await testSignInThroughPage(t, session, ticket.connectionId);
      const activated = await postSetup(t, session, 'activate', {});
      assert.equal(activated.statusCode, 303, activated.body);

      const summary = await getWithSession(t, session, activated.headers.location);
      assert.match(textOf(summary.body), /Single sign-on is set up\..*directory sync below still can.*Directory sync \(SCIM\)/);
      const generated = await postSetup(t, session, 'directory');
      assert.equal(generated.statusCode, 200, generated.body);
      assert.ok(TOKEN.test(generated.body) && BASE_URL.test(generated.body));
      assert.match(textOf(generated.body), /Single sign-on is set up/);
      const [directory] = await directoriesOf(other.id);
      assert.equal(directory.organizationId, other.id, "the directory belongs to the ticket's organization");
      // Other forms stay closed on the completed ticket.
      assert.equal((await postSetup(t, session, 'idp', TEST_IDP_FIELDS)).statusCode, 409);
    });
  });
}
