import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { launchChromium, screenshot } from '../support/chromium.ts';
import { requireOrSkip } from '../support/environment.ts';
import { createApplication, relyingParty, startLanyard, startSecondInstance, type ListeningLanyard } from '../support/lanyard-server.ts';
import { loginWithSimpleSamlPhp, postToAcs, signInWithSimpleSamlPhp as signIn } from '../support/saml-idp-driver.ts';
import {
  simpleSamlPhpAvailability,
  startSimpleSamlPhp,
  type SimpleSamlPhpIdp,
  type SimpleSamlPhpOptions,
} from '../support/simplesamlphp.ts';

interface Setup {
  idp: SimpleSamlPhpIdp;
  connectionId: string;
  organizationId: string;
}

/** An organization with a SAML connection configured from a live SimpleSAMLphp's metadata URL. */
async function connectIdp(
  t: ListeningLanyard,
  idpOptions: Partial<SimpleSamlPhpOptions>,
  saml: Record<string, unknown> = {},
): Promise<Setup> {
  const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: `Org ${Math.random()}` } })).json();
  const draft = await t.request({
    method: 'POST',
    url: '/v1/connections',
    payload: {
      organizationId: org.id,
      type: 'saml',
      name: 'SimpleSAMLphp',
      groupSync: true,
      attributeMapping: { firstName: 'givenName', lastName: 'sn' },
    },
  });
  assert.equal(draft.statusCode, 201, draft.body);
  const connection = draft.json();
  let encryptWith: string | undefined;
  if (saml.encryptAssertions) {
    const metadata = await (await fetch(connection.sp.metadataUrl)).text();
    const cert = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata)![1]!;
    encryptWith = join(tmpdir(), `lanyard-sp-${connection.id}.pem`);
    await writeFile(encryptWith, `-----BEGIN CERTIFICATE-----\n${cert.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`);
  }
  const idp = await startSimpleSamlPhp({
    spEntityId: connection.sp.entityId,
    acsUrl: connection.sp.acsUrl,
    ...idpOptions,
    ...(encryptWith ? { encryptWith } : {}),
  });
  const configured = await t.request({
    method: 'PATCH',
    url: `/v1/connections/${connection.id}`,
    payload: { enabled: true, saml: { metadataUrl: idp.metadataUrl, ...saml } },
  });
  assert.equal(configured.statusCode, 200, configured.body);
  return { idp, connectionId: connection.id, organizationId: org.id };
}

function available(t: TestContext): boolean {
  const idp = simpleSamlPhpAvailability();
  return requireOrSkip(t, idp.available, idp.reason);
}

describe('SAML login against SimpleSAMLphp, the app played by openid-client', () => {
  let lanyard: ListeningLanyard;
  const idps: SimpleSamlPhpIdp[] = [];
  before(async () => {
    lanyard = await startLanyard();
  });
  after(async () => {
    await Promise.all(idps.map((idp) => idp.stop()));
    await lanyard.close();
  });

  const cases: [string, Partial<SimpleSamlPhpOptions>, Record<string, unknown>][] = [
    ['a signed assertion', {}, {}],
    ['a signed response', { signResponse: true, signAssertion: false }, { signaturePolicy: 'response' }],
    ['an encrypted assertion', {}, { encryptAssertions: true, signaturePolicy: 'assertion' }],
  ];
  for (const [name, idpOptions, saml] of cases) {
    test(`SP-initiated with ${name}: alice and bob get their email and groups`, async (t) => {
      if (!available(t)) return;
      const setup = await connectIdp(lanyard, idpOptions, saml);
      idps.push(setup.idp);
      const application = await createApplication(lanyard);
      const rp = await relyingParty(lanyard.url, application);
      for (const [user, groups] of [
        ['alice', ['admins', 'engineering']],
        ['bob', ['engineering']],
      ] as const) {
        const begun = await rp.begin({ organization: setup.organizationId });
        const { status, location, body } = await signIn(begun.url, user);
        assert.equal(status, 302, body);
        assert.ok(location!.startsWith(application.redirectUri), location!);
        const { claims, userinfo } = await rp.finish(location!, begun);
        assert.equal(claims.email, `${user}@example.com`);
        assert.equal(claims.organization_id, setup.organizationId);
        assert.equal(claims.connection_id, setup.connectionId);
        assert.match(claims.sub, /^usr_/);
        assert.equal(userinfo.email, `${user}@example.com`);
        assert.deepEqual(userinfo.groups, groups);
        assert.equal(userinfo.given_name, user === 'alice' ? 'Alice' : 'Bob');
      }
      const connection = (await lanyard.request({ method: 'GET', url: `/v1/connections/${setup.connectionId}` })).json();
      assert.equal(connection.state, 'active');
      assert.ok(connection.lastUsedAt);
      const events = (
        await lanyard.request({ method: 'GET', url: `/v1/events?organizationId=${setup.organizationId}&type=login.succeeded` })
      ).json();
      assert.equal(events.data.length, 2);
    });
  }

  test('the same SAMLResponse posted twice is refused the second time', async (t) => {
    if (!available(t)) return;
    const setup = await connectIdp(lanyard, {}, { allowIdpInitiated: true });
    idps.push(setup.idp);
    const application = await createApplication(lanyard);
    const rp = await relyingParty(lanyard.url, application);
    const begun = await rp.begin({ organization: setup.organizationId });
    const first = await signIn(begun.url, 'alice');
    assert.equal(first.status, 302);
    const again = await postToAcs(first.samlForm);
    assert.equal(again.status, 403);
    assert.match(again.body, /already completed|already used/);
    // Without its RelayState the same response looks IdP-initiated: the replay cache refuses it.
    const { RelayState: _dropped, ...unsolicited } = first.samlForm;
    const stripped = await postToAcs(unsolicited);
    assert.equal(stripped.status, 403);
    assert.match(stripped.body, /saml_in_response_to_mismatch|saml_replayed/);
  });

  test('IdP-initiated login lands on the default application only where allowed', async (t) => {
    if (!available(t)) return;
    const application = await createApplication(lanyard);
    const setup = await connectIdp(lanyard, {}, { allowIdpInitiated: true, defaultApplicationId: application.id });
    idps.push(setup.idp);
    const samlForm = await loginWithSimpleSamlPhp({ startUrl: setup.idp.idpInitiatedUrl, username: 'bob', password: 'bob-pass' });
    const landed = await postToAcs(samlForm);
    assert.equal(landed.status, 302, landed.body);
    assert.ok(landed.location!.startsWith(application.redirectUri));
    assert.equal(new URL(landed.location!).searchParams.get('state'), null);
    const rp = await relyingParty(lanyard.url, application);
    const { userinfo } = await rp.finish(landed.location!, {});
    assert.equal(userinfo.email, 'bob@example.com');
    const replay = await postToAcs(samlForm);
    assert.equal(replay.status, 403);
    assert.match(replay.body, /saml_replayed/);

    await lanyard.request({
      method: 'PATCH',
      url: `/v1/connections/${setup.connectionId}`,
      payload: { saml: { allowIdpInitiated: false } },
    });
    const refused = await postToAcs(
      await loginWithSimpleSamlPhp({ startUrl: setup.idp.idpInitiatedUrl, username: 'bob', password: 'bob-pass' }),
    );
    assert.equal(refused.status, 403);
    assert.match(refused.body, /saml_unsolicited_not_allowed/);
  });

  test('a login in headless Chromium, as a person would', async (t) => {
    if (!available(t)) return;
    const browser = await launchChromium(t);
    if (browser === undefined) return;
    try {
      const setup = await connectIdp(lanyard, {});
      idps.push(setup.idp);
      // The app: a real page on loopback that the browser lands on with the code.
      let callback: string | undefined;
      const appServer = createServer((req, res) => {
        if (req.url!.startsWith('/callback')) callback = new URL(req.url!, `http://${req.headers.host}`).toString();
        res.writeHead(200, { 'content-type': 'text/html' }).end('<title>App</title><p>Signed in</p>');
      });
      await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
      t.after(() => appServer.close());
      const application = await createApplication(lanyard, {}, `http://127.0.0.1:${(appServer.address() as AddressInfo).port}/callback`);
      const rp = await relyingParty(lanyard.url, application);
      const begun = await rp.begin({ organization: setup.organizationId });
      const page = await browser.newPage();
      await page.goto(begun.url.toString());
      await page.fill('input[name=username]', 'alice');
      await page.fill('input[name=password]', 'alice-pass');
      await screenshot(page, 'saml-login-1-idp-form');
      await Promise.all([page.waitForURL(`${application.redirectUri}**`), page.click('button[type=submit], input[type=submit]')]);
      await screenshot(page, 'saml-login-2-app');
      assert.ok(callback, 'the browser reached the app with a code');
      assert.equal(await page.textContent('p'), 'Signed in');
      const { userinfo } = await rp.finish(callback, begun);
      assert.equal(userinfo.email, 'alice@example.com');
    } finally {
      await browser.close();
    }
  });
});

describe('replay across two instances sharing one PostgreSQL', () => {
  test('a response one instance accepted is refused by the other', async (t) => {
    if (!available(t)) return;
    if (!requireOrSkip(t, process.env.LANYARD_TEST_DATABASE_URL !== undefined, 'LANYARD_TEST_DATABASE_URL (PostgreSQL)')) return;
    const a = await startLanyard({ backend: 'postgres' });
    const b = await startSecondInstance(a);
    let idp: SimpleSamlPhpIdp | undefined;
    try {
      const application = await createApplication(a);
      const setup = await connectIdp(a, {}, { allowIdpInitiated: true, defaultApplicationId: application.id });
      idp = setup.idp;
      const atB = (form: { action: string; SAMLResponse: string; RelayState?: string }) =>
        postToAcs({ ...form, action: form.action.replace(a.url, b.url) });

      // SP-initiated: the flow started on instance a, the response reaches b, then a replay reaches a.
      const rp = await relyingParty(a.url, application);
      const begun = await rp.begin({ organization: setup.organizationId });
      const authorize = await fetch(begun.url, { redirect: 'manual' });
      const samlForm = await loginWithSimpleSamlPhp({
        startUrl: authorize.headers.get('location')!,
        username: 'alice',
        password: 'alice-pass',
      });
      const accepted = await atB(samlForm);
      assert.equal(accepted.status, 302, accepted.body);
      assert.equal((await rp.finish(accepted.location!, begun)).userinfo.email, 'alice@example.com');
      const replayed = await postToAcs(samlForm);
      assert.equal(replayed.status, 403);

      // IdP-initiated: no flow to consume, so the replay cache in the database is what refuses it.
      const unsolicited = await loginWithSimpleSamlPhp({ startUrl: idp.idpInitiatedUrl, username: 'bob', password: 'bob-pass' });
      assert.equal((await postToAcs(unsolicited)).status, 302);
      const again = await atB(unsolicited);
      assert.equal(again.status, 403);
      assert.match(again.body, /saml_replayed/);
    } finally {
      await idp?.stop();
      await b.close();
      await a.close();
    }
  });
});
