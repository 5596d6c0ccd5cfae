// Issue 14, "Linked to login": a SAML login whose user is a directory user of the same organization
// carries directory_user_id in the id_token and userinfo; a deactivated directory user is refused
// with user_deactivated (failure page, login.failed event) unless the directory opts out.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { after, before, describe, test } from 'node:test';
import { NOW } from '../support/saml-builder.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';
import {
  answerAtTestIdp,
  createTestSamlConnection,
  codeFrom,
  exchangeCode,
  startAtIdp,
  testAuthorizationUrl,
} from '../support/app-login.ts';

const REDIRECT = 'https://app.example.com/callback';

for (const backend of testBackends()) {
  describe(`SSO logins linked to directory users on ${backend}`, () => {
    let t: TestApp;
    let directory: TestDirectory;
    let connection: { id: string; sp: { entityId: string; acsUrl: string } };
    let app: { clientId: string; clientSecret: string };

    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(NOW.getTime()) });
      directory = await createDirectory(t);
      connection = await createTestSamlConnection(t, { organizationId: directory.organizationId, enabled: true });
      app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    });
    after(async () => t.close());

    /** authorize → the test IdP signs a response for `nameId` (mail attribute alice@example.com) → ACS. */
    async function login(nameId = 'alice@example.com') {
      const url = testAuthorizationUrl(t, {
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        scope: 'openid email profile',
        organization: directory.organizationId,
        state: 'st',
      });
      return answerAtTestIdp(t, connection, await startAtIdp(t, url), { nameIdXml: nameId });
    }

    /** A login that must succeed: the id_token's and userinfo's directory_user_id (undefined when absent). */
    async function linkedId(nameId?: string): Promise<unknown> {
      const code = codeFrom(await login(nameId));
      const tokens = await exchangeCode(t, app, { code, redirectUri: REDIRECT, clientAuth: 'basic' });
      const claims = decodeJwt(tokens.id_token);
      const userinfo = (await t.request({ method: 'GET', url: '/oauth/userinfo', token: tokens.access_token })).json();
      assert.equal(userinfo.directory_user_id, claims.directory_user_id, 'userinfo and the id_token agree');
      return claims.directory_user_id;
    }

    const setActive = async (id: string, active: boolean) =>
      assert.equal(
        (await scim(t, directory, { method: 'PATCH', path: `/Users/${id}`, body: patchOp({ op: 'replace', value: { active } }) }))
          .statusCode,
        200,
      );
    const loginFailures = async () =>
      (await t.db.selectFrom('events').select('summary').where('type', '=', 'login.failed').execute()).map((e) => e.summary.code);

    test('no directory user: the login succeeds without directory_user_id; another organization’s user is never linked', async () => {
      const outsider = await createDirectory(t);
      const created = await scim(t, outsider, {
        method: 'POST',
        path: '/Users',
        body: { schemas: [USER_SCHEMA], userName: 'alice@example.com' },
      });
      const deactivated = patchOp({ op: 'replace', value: { active: false } });
      assert.equal((await scim(t, outsider, { method: 'PATCH', path: `/Users/${created.json().id}`, body: deactivated })).statusCode, 200);
      assert.equal(await linkedId(), undefined);
    });

    test('linked by userName = NameID, by externalId = NameID, else by email', async () => {
      const byName = await scim(t, directory, {
        method: 'POST',
        path: '/Users',
        body: { schemas: [USER_SCHEMA], userName: 'Alice@Example.com' },
      });
      assert.equal(byName.statusCode, 201, byName.body);
      assert.equal(await linkedId(), byName.json().id);

      const byExternal = await scim(t, directory, {
        method: 'POST',
        path: '/Users',
        body: { schemas: [USER_SCHEMA], userName: 'bob', externalId: '00u-bob' },
      });
      assert.equal(await linkedId('00u-bob'), byExternal.json().id);

      // The NameID (an email address) is nobody's userName or externalId: the email finds the user.
      const byEmail = await scim(t, directory, {
        method: 'POST',
        path: '/Users',
        body: { schemas: [USER_SCHEMA], userName: 'emp-7', emails: [{ value: 'dave@example.com', primary: true }] },
      });
      assert.equal(await linkedId('Dave@Example.com'), byEmail.json().id);
    });

    test('a deactivated directory user is refused with user_deactivated, until reactivated or the directory opts out', async () => {
      const user = (
        await scim(t, directory, { method: 'POST', path: '/Users', body: { schemas: [USER_SCHEMA], userName: 'carol' } })
      ).json();
      assert.equal(await linkedId('carol'), user.id);
      await setActive(user.id, false);

      const refused = await login('carol');
      assert.equal(refused.statusCode, 403, refused.body);
      assert.match(refused.headers['content-type'] as string, /text\/html/);
      assert.match(refused.body, /user_deactivated/);
      assert.match(refused.body, new RegExp(user.id));
      assert.ok((await loginFailures()).includes('user_deactivated'));

      const optOut = await t.request({
        method: 'PATCH',
        url: `/v1/directories/${directory.id}`,
        payload: { options: { refuseInactiveUsers: false } },
      });
      assert.equal(optOut.statusCode, 200, optOut.body);
      assert.equal(await linkedId('carol'), user.id, 'the directory opted out: the inactive user signs in, still linked');

      await t.request({ method: 'PATCH', url: `/v1/directories/${directory.id}`, payload: { options: { refuseInactiveUsers: true } } });
      assert.equal((await login('carol')).statusCode, 403);
      await setActive(user.id, true);
      assert.equal(await linkedId('carol'), user.id);
    });
  });
}
