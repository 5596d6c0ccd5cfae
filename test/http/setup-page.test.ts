import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { metadataFixture, PUBLIC_URL } from '../support/connections.ts';
import { IDP, NOW, testKeys } from '../support/saml-builder.ts';
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

for (const backend of testBackends()) {
  describe(`the hosted setup page on ${backend}`, () => {
    let t: TestApp;
    let now = NOW.getTime();
    let org: { id: string };
    let other: { id: string };
    before(async () => {
      t = await createTestApp({ backend, clock: () => new Date(now), env: { LANYARD_PUBLIC_URL: PUBLIC_URL } });
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Initech' } })).json();
      other = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Globex' } })).json();
    });
    after(async () => t.close());

    const connection = async (id: string) => (await t.request({ method: 'GET', url: `/v1/connections/${id}` })).json();
    const ticketOf = async (id: string) => (await t.request({ method: 'GET', url: `/v1/sso/tickets/${id}` })).json();

    const testSignIn = (session: SetupSessionInfo, connectionId: string, signWith: { keyPem?: string; certPem?: string } = {}) =>
      testSignInThroughPage(t, session, connectionId, signWith);

    test("IdP details: inline errors in the connection service's words, saved values, provider and attribute names", async () => {
      const ticket = await createTicket(t, org.id, { type: 'saml' });
      const { session } = await openSetup(t, ticket.ticketUrl);

      const badXml = await postSetup(t, session, 'idp', { source: 'xml', 'saml.metadataXml': '<EntityDescriptor>not metadata' });
      assert.equal(badXml.statusCode, 400);
      assert.match(badXml.body, /<p class="field-error" id="f-saml-metadataXml-error">is not usable: [^<]+<\/p>/);
      assert.match(
        badXml.body,
        /id="f-saml-metadataXml" name="saml.metadataXml"[^>]*aria-invalid="true" aria-describedby="[^"]*f-saml-metadataXml-error"/,
      );
      assert.ok(badXml.body.includes('&lt;EntityDescriptor&gt;not metadata</textarea>'), 'what was typed is kept, escaped');
      assert.match(textOf(badXml.body), /Not saved\. Correct the field marked below\./);
      // Anyone holding the ticket link can post this: refused on the shape alone (issue 12: ~135 MB a parse before).
      const deep = await postSetup(t, session, 'idp', {
        source: 'xml',
        'saml.metadataXml': `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`,
      });
      assert.equal(deep.statusCode, 400);
      assert.match(deep.body, /id="f-saml-metadataXml-error">is not usable: The XML document nests elements more than 64 deep\.</);

      const badUrl = await postSetup(t, session, 'idp', { source: 'url', 'saml.metadataUrl': 'ftp://idp.example.test/metadata' });
      assert.equal(badUrl.statusCode, 400);
      assert.match(badUrl.body, /id="f-saml-metadataUrl-error">must be an http\(s\) URL</);
      const missing = await postSetup(t, session, 'idp', {
        source: 'fields',
        'saml.idpEntityId': IDP,
        'saml.ssoUrl': '',
        'saml.certificates': '',
      });
      assert.equal(missing.statusCode, 400);
      assert.match(missing.body, /id="f-saml-ssoUrl-error">is required</);
      assert.match(missing.body, /id="f-saml-certificates-error">is required</);
      const badCert = await postSetup(t, session, 'idp', { ...TEST_IDP_FIELDS, 'saml.certificates': 'MIIBnotacertificate' });
      assert.match(badCert.body, /id="f-saml-certificates-error">is not a usable certificate/);
      assert.equal((await connection(ticket.connectionId)).saml.idpEntityId, null, 'nothing was saved');

      const okta = await postSetup(t, session, 'idp', { source: 'xml', 'saml.metadataXml': metadataFixture('okta.xml') });
      assert.equal(okta.statusCode, 303, okta.body);
      assert.equal(okta.headers.location, `${session.path}?saved=idp#step-test`, 'the page opens at the next step');
      const saved = textOf((await getWithSession(t, session, `${session.path}?saved=idp`)).body);
      assert.match(saved, /Saved: Lanyard read your identity provider's details/);
      assert.match(saved, /IdP entity ID http:\/\/www\.okta\.com\/exk1fxtrlanyard0d7/);
      assert.equal((await connection(ticket.connectionId)).saml.idpEntityId, 'http://www.okta.com/exk1fxtrlanyard0d7');

      assert.equal((await postSetup(t, session, 'provider', { choice: 'entra:saml' })).statusCode, 303);
      const entra = await connection(ticket.connectionId);
      assert.deepEqual([entra.provider, entra.name], ['entra', 'Microsoft Entra ID SAML']);
      assert.match(
        textOf((await getWithSession(t, session)).body),
        /Microsoft Entra admin center.*http:\/\/schemas\.xmlsoap\.org\/ws\/2005\/05\/identity\/claims\/emailaddress/,
      );
      assert.equal((await postSetup(t, session, 'provider', { choice: 'nonsense:saml' })).statusCode, 400);

      assert.equal(
        (await postSetup(t, session, 'mapping', { 'attributeMapping.email': 'mail', 'attributeMapping.groups': '' })).statusCode,
        303,
      );
      assert.equal((await connection(ticket.connectionId)).attributeMapping.email, 'mail');
      const saves = (await t.request({ method: 'GET', url: `/v1/events?type=sso_ticket.saved&limit=100` }))
        .json()
        .data.filter((e: { summary: { ticketId: string } }) => e.summary.ticketId === ticket.id);
      assert.equal(saves.length, 3);
      const updates = (await t.request({ method: 'GET', url: `/v1/events?type=connection.updated&limit=100` }))
        .json()
        .data.filter((e: { actor: string }) => e.actor === ticket.id);
      assert.equal(updates.length, 3, 'the connection service records each change as made by the ticket');
    });

    test('a metadata URL that cannot be fetched and an issuer that cannot be discovered are explained inline (422); a test needs the details first', async () => {
      const saml = await createTicket(t, org.id, { type: 'saml' });
      const { session } = await openSetup(t, saml.ticketUrl);
      const early = await postSetup(t, session, 'test');
      assert.equal(early.statusCode, 400);
      assert.match(textOf(early.body), /Not started\. Needs your identity provider's details first \(step 3\)/);
      // This deployment does not allow private addresses (LANYARD_ALLOW_PRIVATE_METADATA_URLS is off).
      const refused = await postSetup(t, session, 'idp', { source: 'url', 'saml.metadataUrl': 'http://127.0.0.1:9/metadata' });
      assert.equal(refused.statusCode, 422);
      assert.match(refused.body, /id="f-saml-metadataUrl-error">[^<]*(loopback|private|internal)[^<]*</);
      assert.ok(refused.body.includes('value="http://127.0.0.1:9/metadata"'), 'the URL typed is kept');

      const oidc = await createTicket(t, org.id, { type: 'oidc' });
      const opened = await openSetup(t, oidc.ticketUrl);
      const undiscovered = await postSetup(t, opened.session, 'idp', {
        source: 'oidc',
        'oidc.issuer': 'http://127.0.0.1:9',
        'oidc.clientId': 'client',
        'oidc.clientSecret': 'do-not-echo-this-secret',
      });
      assert.equal(undiscovered.statusCode, 422);
      assert.match(undiscovered.body, /id="f-oidc-issuer-error">[^<]+</);
      assert.ok(!undiscovered.body.includes('do-not-echo-this-secret'), 'a typed secret is never sent back');
      const noSecret = await postSetup(t, opened.session, 'idp', { source: 'oidc', 'oidc.issuer': '', 'oidc.clientId': '' });
      assert.equal(noSecret.statusCode, 400);
      assert.match(noSecret.body, /id="f-oidc-issuer-error">is required</);
      assert.match(noSecret.body, /id="f-oidc-clientId-error">is required</);
    });

    test("a form naming another connection changes only the ticket's own; features switched off are refused", async () => {
      const theirs = (
        await t.request({
          method: 'POST',
          url: '/v1/connections',
          payload: { organizationId: other.id, type: 'saml', name: 'Globex SAML' },
        })
      ).json();
      const mineToo = (
        await t.request({ method: 'POST', url: '/v1/connections', payload: { organizationId: org.id, type: 'saml', name: 'Second' } })
      ).json();
      const ticket = await createTicket(t, org.id, { type: 'saml', enabledFeatures: ['domains'] });
      const { session } = await openSetup(t, ticket.ticketUrl);
      for (const id of [theirs.id, mineToo.id]) {
        const res = await postSetup(t, session, 'idp', { ...TEST_IDP_FIELDS, connectionId: id, connection: id, organizationId: other.id });
        assert.equal(res.statusCode, 303);
      }
      assert.equal((await connection(ticket.connectionId)).saml.idpEntityId, IDP);
      assert.equal((await connection(theirs.id)).saml.idpEntityId, null, "another organization's connection is untouched");
      assert.equal((await connection(mineToo.id)).saml.idpEntityId, null, 'so is another connection of the same organization');
      const page = await getWithSession(t, session);
      assert.ok(
        !page.body.includes('name="choice"') && !page.body.includes('attributeMapping.email'),
        'switched-off parts are not offered',
      );
      assert.equal((await postSetup(t, session, 'provider', { choice: 'okta:saml' })).statusCode, 400);
      assert.equal((await postSetup(t, session, 'mapping', { 'attributeMapping.email': 'x' })).statusCode, 400);
      assert.equal((await connection(ticket.connectionId)).provider, 'generic');
    });

    test("switching protocol replaces the ticket's own draft; a ticket for an existing connection cannot", async () => {
      const ticket = await createTicket(t, org.id, { type: 'okta' });
      const { session } = await openSetup(t, ticket.ticketUrl);
      assert.equal((await postSetup(t, session, 'provider', { choice: 'okta:oidc' })).statusCode, 303);
      const moved = await ticketOf(ticket.id);
      assert.notEqual(moved.connectionId, ticket.connectionId);
      assert.equal(
        (await t.request({ method: 'GET', url: `/v1/connections/${ticket.connectionId}` })).statusCode,
        404,
        'the old draft is gone',
      );
      const oidc = await connection(moved.connectionId);
      assert.deepEqual([oidc.type, oidc.provider], ['oidc', 'okta']);
      assert.match(textOf((await getWithSession(t, session)).body), new RegExp(`Redirect URI ${PUBLIC_URL}/sso/oidc/callback`));

      const existing = (
        await t.request({ method: 'POST', url: '/v1/connections', payload: { organizationId: org.id, type: 'saml' } })
      ).json();
      const bound = await createTicket(t, org.id, { type: 'saml', connectionId: existing.id });
      const opened = await openSetup(t, bound.ticketUrl);
      assert.ok(!opened.res.body.includes('value="generic:oidc"'), 'only same-protocol choices are offered');
      assert.equal((await postSetup(t, opened.session, 'provider', { choice: 'generic:oidc' })).statusCode, 400);
      assert.equal((await ticketOf(bound.id)).connectionId, existing.id);
    });

    test('test sign-in through the draft, its result page, activation, and a read-only link afterwards', async () => {
      // Policy none: the ticket's own domains, ticked at activation and claimed manual (setup-domains.test.ts has the DNS policies).
      const ticket = await createTicket(t, org.id, {
        type: 'saml',
        domains: ['initech.example'],
        domainVerification: 'none',
        provisioning: { groups: true },
      });
      const { session } = await openSetup(t, ticket.ticketUrl);
      assert.equal((await postSetup(t, session, 'idp', TEST_IDP_FIELDS)).statusCode, 303);
      const early = await postSetup(t, session, 'activate', { domains: 'initech.example' });
      assert.equal(early.statusCode, 400);
      assert.match(textOf(early.body), /Not activated\. Needs a successful test sign-in with the settings as they are now/);
      assert.match(
        (await getWithSession(t, session)).headers['content-security-policy'] as string,
        /form-action 'self' https:\/\/idp\.example\.test;/,
        'the test button may lead to the IdP',
      );

      // A response signed by a key the connection does not trust: the result page diagnoses it.
      const failed = await testSignIn(session, ticket.connectionId, { keyPem: testKeys.attackerKeyPem, certPem: testKeys.attackerCertPem });
      assert.match(failed.text, /Test sign-in failed.*Trusted certificate \(SHA-256\).*Error code saml_untrusted_certificate/);
      assert.match(failed.text, /Certificate that signed the response \(SHA-256\)/, 'a human label for the detail');
      assert.doesNotMatch(failed.text, /keyInfoFingerprintSha256/);
      assert.equal((await ticketOf(ticket.id)).lastTest.succeeded, false);
      assert.match(textOf((await getWithSession(t, session)).body), /Last test failed/);
      assert.equal((await postSetup(t, session, 'activate', {})).statusCode, 400);

      // Without group sync the result says so, instead of "(none)" next to raw attributes that list groups.
      const groupSync = (on: boolean) =>
        t.request({ method: 'PATCH', url: `/v1/connections/${ticket.connectionId}`, payload: { groupSync: on } });
      await groupSync(false);
      assert.match((await testSignIn(session, ticket.connectionId)).text, /Groups Not read: group sync is off/);
      await groupSync(true);
      const passed = await testSignIn(session, ticket.connectionId);
      assert.match(passed.text, /Test sign-in succeeded.*Email alice@example\.com.*Groups staff, admins.*User ID the app receives usr_/);
      assert.match(passed.text, /Everything your identity provider sent.*urn:oid:0\.9\.2342\.19200300\.100\.1\.3 alice@example\.com/);
      assert.match(passed.result.body, new RegExp(`href="${session.path}#step-test"`), 'the result page leads back to the setup');
      assert.equal(
        (await t.request({ method: 'GET', url: passed.resultPath, token: null })).statusCode,
        403,
        'only the browser of the session sees a result',
      );
      const draft = await connection(ticket.connectionId);
      assert.deepEqual([draft.enabled, draft.state, draft.lastUsedAt], [false, 'draft', null], 'a test is not a login');
      assert.equal(
        (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&type=login.succeeded` })).json().data.length,
        0,
      );
      const tested = (await t.request({ method: 'GET', url: `/v1/events?type=sso_ticket.test_succeeded` }))
        .json()
        .data.find((e: { summary: { ticketId: string } }) => e.summary.ticketId === ticket.id);
      assert.equal(tested.summary.email, 'alice@example.com');

      // A change after the test asks for a new one.
      now += 1000;
      assert.equal((await postSetup(t, session, 'mapping', { 'attributeMapping.firstName': 'givenName' })).statusCode, 303);
      assert.match(textOf((await getWithSession(t, session)).body), /The settings changed since: test again/);
      assert.equal((await postSetup(t, session, 'activate', {})).statusCode, 400);
      now += 1000;
      await testSignIn(session, ticket.connectionId);

      const activated = await postSetup(t, session, 'activate', { domains: ['initech.example', 'not-offered.example'] });
      assert.equal(activated.statusCode, 303, activated.body);
      const summary = await getWithSession(t, session, activated.headers.location);
      assert.match(
        textOf(summary.body),
        /Single sign-on is now active.*Single sign-on is set up\. Nothing can be changed through this link any more.*Email domains initech\.example/,
      );
      const done = await ticketOf(ticket.id);
      assert.deepEqual([done.status, done.completedAt], ['completed', new Date(now).toISOString()]);
      const live = await connection(ticket.connectionId);
      assert.equal(live.enabled, true);
      assert.deepEqual((await t.request({ method: 'GET', url: `/v1/organizations/${org.id}` })).json().domains, ['initech.example']);

      // Reused after completion: a summary, and no change is accepted.
      const later = await postSetup(t, session, 'idp', { source: 'url', 'saml.metadataUrl': 'https://evil.example.test/metadata' });
      assert.equal(later.statusCode, 409);
      assert.match(textOf(later.body), /This setup is complete, so nothing was changed/);
      for (const action of ['test', 'activate', 'provider', 'mapping'])
        assert.equal((await postSetup(t, session, action, { choice: 'okta:saml' })).statusCode, 409, action);
      assert.equal((await connection(ticket.connectionId)).updatedAt, live.updatedAt);
      const fresh = await t.request({ method: 'GET', url: session.path, token: null });
      assert.equal(fresh.statusCode, 200);
      assert.match(textOf(fresh.body), /Single sign-on is set up/);
      assert.ok(!fresh.body.includes('<form'), 'a new visit gets the summary, with no form');

      // The app now signs in through the connection.
      const application = (
        await t.request({
          method: 'POST',
          url: '/v1/applications',
          payload: { name: 'App', redirectUris: ['https://app.example.test/cb'] },
        })
      ).json();
      const authorize = await t.request({
        method: 'GET',
        url: `/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: application.clientId, redirect_uri: 'https://app.example.test/cb', organization: org.id, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString()}`,
        token: null,
      });
      assert.equal(authorize.statusCode, 302);
      assert.match(authorize.headers.location as string, /^https:\/\/idp\.example\.test\/sso\?SAMLRequest=/);
      const types = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${org.id}&limit=100` }))
        .json()
        .data.filter((e: { summary: { ticketId?: string } }) => e.summary.ticketId === ticket.id)
        .map((e: { type: string }) => e.type);
      for (const type of [
        'sso_ticket.created',
        'sso_ticket.opened',
        'sso_ticket.saved',
        'sso_ticket.test_started',
        'sso_ticket.test_failed',
        'sso_ticket.test_succeeded',
        'sso_ticket.completed',
      ])
        assert.ok(types.includes(type), type);
    });
  });
}
