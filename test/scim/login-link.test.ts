// Issue 14, "Linked to login": a SAML login whose user is a directory user of the same organization
// carries directory_user_id in the id_token and userinfo; a deactivated directory user is refused
// with user_deactivated (failure page, login.failed event) unless the directory opts out.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { decodeJwt } from 'jose';
import { after, before, describe, test } from 'node:test';
import { buildResponseXml, IDP, NOW, sign, testKeys } from '../support/saml-builder.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';
import { TEST_PKCE } from '../support/app-login.ts';

const REDIRECT = 'https://app.example.com/callback';
const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

for (const backend of testBackends()) {
  describe(`SSO logins linked to directory users on ${backend}`, () => {
    let t: TestApp;
    let directory: TestDirectory;
    let connection: { id: string; sp: { entityId: string; acsUrl: string } };
    let app: { clientId: string; clientSecret: string };

    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(NOW.getTime()) });
      directory = await createDirectory(t);
      const created = await t.request({
        method: 'POST',
        url: '/v1/connections',
        payload: {
          organizationId: directory.organizationId,
          type: 'saml',
          enabled: true,
          saml: { idpEntityId: IDP, ssoUrl: 'https://idp.example.test/sso', certificates: [testKeys.idpCertPem] },
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      connection = created.json();
      app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    });
    after(async () => t.close());

    /** authorize → the test IdP signs a response for `nameId` (mail attribute alice@example.com) → ACS. */
    async function login(nameId = 'alice@example.com') {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        ...TEST_PKCE.query,
        scope: 'openid email profile',
        organization: directory.organizationId,
        state: 'st',
      });
      const started = await t.request({ method: 'GET', url: `/oauth/authorize?${query.toString()}`, token: null });
      assert.equal(started.statusCode, 302, started.body);
      const location = new URL(started.headers.location as string);
      const request = inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      const xml = sign(
        buildResponseXml({
          inResponseTo: /ID="([^"]+)"/.exec(request)![1]!,
          audience: connection.sp.entityId,
          recipient: connection.sp.acsUrl,
          destination: connection.sp.acsUrl,
          assertionId: `_a${randomBytes(8).toString('hex')}`,
          nameIdXml: nameId,
        }),
        { target: 'assertion' },
      );
      const fields = { SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: location.searchParams.get('RelayState')! };
      return t.request({ method: 'POST', url: `/sso/saml/${connection.id}/acs`, token: null, ...form(fields) });
    }

    /** A login that must succeed: the id_token's and userinfo's directory_user_id (undefined when absent). */
    async function linkedId(nameId?: string): Promise<unknown> {
      const acs = await login(nameId);
      assert.equal(acs.statusCode, 302, acs.body);
      const code = new URL(acs.headers.location as string).searchParams.get('code');
      assert.ok(code, acs.headers.location);
      const basic = Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64');
      const tokens = await t.request({
        method: 'POST',
        url: '/oauth/token',
        token: null,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
        payload: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT,
          code_verifier: TEST_PKCE.verifier,
        }).toString(),
      });
      assert.equal(tokens.statusCode, 200, tokens.body);
      const claims = decodeJwt(tokens.json().id_token);
      const userinfo = (await t.request({ method: 'GET', url: '/oauth/userinfo', token: tokens.json().access_token })).json();
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
