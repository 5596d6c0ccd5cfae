import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { startBackchannelReceiver, type BackchannelReceiver } from '../support/backchannel-receiver.ts';
import { launchChromium, screenshot } from '../support/chromium.ts';
import { createApplication, relyingParty, startLanyard, type ListeningLanyard } from '../support/lanyard-server.ts';
import { simpleSamlPhpAvailability, startSimpleSamlPhp, type SimpleSamlPhpIdp } from '../support/simplesamlphp.ts';
import { requireOrSkip } from '../support/environment.ts';

// Single Logout end to end (issue 17): a person in Chromium signs in to an app through Lanyard and
// SimpleSAMLphp, then logs out from the app (Lanyard → IdP → back to the app) and from the IdP
// (the app's back-channel endpoint is told, the IdP receives Lanyard's LogoutResponse).

describe('Single Logout with SimpleSAMLphp in Chromium', { timeout: 360_000 }, () => {
  let lanyard: ListeningLanyard;
  let receiver: BackchannelReceiver;
  let idp: SimpleSamlPhpIdp | undefined;
  let appUrl: string;
  const closeApp: (() => void)[] = [];

  before(async () => {
    receiver = await startBackchannelReceiver();
    lanyard = await startLanyard({ env: { LANYARD_ALLOW_PRIVATE_NETWORK: 'true' } });
    // The app: pages on loopback the browser lands on after login and after logout.
    const appServer = createServer((req, res) => {
      const text = req.url!.startsWith('/signed-out') ? 'Signed out' : 'Signed in';
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<title>App</title><p>${text}</p>`);
    });
    await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
    closeApp.push(() => appServer.close());
    appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    await idp?.stop();
    closeApp.forEach((close) => close());
    await lanyard.close();
    await receiver.close();
  });

  /** An organization and a SAML connection to a SimpleSAMLphp that signs its logout messages and checks Lanyard's. */
  async function connect(): Promise<{ organizationId: string; connectionId: string; idp: SimpleSamlPhpIdp }> {
    const org = (await lanyard.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json();
    const draft = await lanyard.request({
      method: 'POST',
      url: '/v1/connections',
      payload: { organizationId: org.id, type: 'saml', name: 'SimpleSAMLphp' },
    });
    assert.equal(draft.statusCode, 201, draft.body);
    const connection = draft.json();
    const metadata = await (await fetch(connection.sp.metadataUrl)).text();
    const cert = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata)![1]!;
    const spCert = join(tmpdir(), `lanyard-sp-slo-${connection.id}.pem`);
    await writeFile(spCert, `-----BEGIN CERTIFICATE-----\n${cert.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`);
    const started = await startSimpleSamlPhp({
      spEntityId: connection.sp.entityId,
      acsUrl: connection.sp.acsUrl,
      sloUrl: connection.sp.sloUrl,
      spSigningCert: spCert,
      signLogout: true,
    });
    const configured = await lanyard.request({
      method: 'PATCH',
      url: `/v1/connections/${connection.id}`,
      payload: { enabled: true, saml: { metadataUrl: started.metadataUrl } },
    });
    assert.equal(configured.statusCode, 200, configured.body);
    assert.equal(configured.json().saml.sloUrl, started.sloUrl, "the IdP's SLO URL is read from its metadata");
    return { organizationId: org.id, connectionId: connection.id, idp: started };
  }

  /** Signs in through the IdP's form when it asks for the password; true when it asked. */
  async function signIn(page: Page, url: string, redirectUri: string): Promise<{ askedPassword: boolean; callback: string }> {
    await page.goto(url);
    const askedPassword = (await page.locator('input[name=password]').count()) > 0;
    if (askedPassword) {
      await page.fill('input[name=username]', 'alice');
      await page.fill('input[name=password]', 'alice-pass');
      await Promise.all([page.waitForURL(`${redirectUri}**`), page.click('button[type=submit], input[type=submit]')]);
    } else {
      await page.waitForURL(`${redirectUri}**`);
    }
    return { askedPassword, callback: page.url() };
  }

  test('log in, log out from the app, log in again (password asked), log out from the IdP', async (t: TestContext) => {
    const { available, reason } = simpleSamlPhpAvailability();
    if (!requireOrSkip(t, available, reason)) return;
    const browser = await launchChromium(t);
    if (browser === undefined) return;
    try {
      const setup = await connect();
      idp = setup.idp;
      const afterLogout = `${appUrl}/signed-out`;
      const application = await createApplication(
        lanyard,
        { postLogoutRedirectUris: [afterLogout], backchannelLogoutUri: receiver.url },
        `${appUrl}/callback`,
      );
      const jwks = (await lanyard.request({ method: 'GET', url: '/oauth/jwks', token: null })).json();
      receiver.expect = { jwks, issuer: lanyard.url, audience: application.clientId, now: () => new Date() };
      const rp = await relyingParty(lanyard.url, application);
      const page = await browser.newPage();

      // 1. Log in.
      const first = await rp.begin({ organization: setup.organizationId });
      const signedIn = await signIn(page, first.url.toString(), application.redirectUri);
      assert.equal(signedIn.askedPassword, true);
      const { tokens } = await rp.finish(signedIn.callback, first);
      assert.ok(tokens.claims()!.sid, 'the id_token carries sid');

      // 2. Log out from the app, with openid-client's end-session URL: Lanyard → IdP → back to the app.
      const endSession = client.buildEndSessionUrl(rp.config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: afterLogout,
        state: 'bye',
      });
      assert.equal(endSession.origin + endSession.pathname, `${lanyard.url}/oauth/logout`);
      const hops: string[] = [];
      page.on('request', (request) => {
        if (request.isNavigationRequest()) hops.push(request.url());
      });
      await page.goto(endSession.toString());
      await page.waitForURL(`${afterLogout}**`);
      await screenshot(page, 'saml-logout-1-app-signed-out');
      assert.equal(new URL(page.url()).searchParams.get('state'), 'bye');
      assert.ok(
        hops.some((url) => url.startsWith(setup.idp.sloUrl)),
        'the browser went through the IdP',
      );
      assert.ok(hops.some((url) => url.startsWith(`${lanyard.url}/sso/saml/${setup.connectionId}/slo?SAMLResponse=`)));
      const ended = await lanyard.db
        .selectFrom('sessions')
        .select('ended_by')
        .where('id', '=', tokens.claims()!.sid as string)
        .executeTakeFirst();
      assert.equal(ended?.ended_by, 'app');

      // 3. The IdP session is gone: logging in again asks for the password.
      const second = await rp.begin({ organization: setup.organizationId });
      const again = await signIn(page, second.url.toString(), application.redirectUri);
      assert.equal(again.askedPassword, true, 'the IdP asked for the password again');
      const secondTokens = (await rp.finish(again.callback, second)).tokens;

      // 4. Log out from the IdP: the app is told by a logout_token, the IdP receives a LogoutResponse it accepts.
      receiver.received.length = 0;
      const returnTo = new URL('/logged-out', setup.idp.sloUrl).href;
      // The IdP goes on to its ReturnTo only once it accepted Lanyard's LogoutResponse.
      const reachedReturnTo = page.waitForRequest((request) => request.url().startsWith(returnTo));
      await page.goto(setup.idp.idpLogoutUrl);
      await reachedReturnTo;
      await screenshot(page, 'saml-logout-2-idp-logged-out');
      assert.equal(receiver.received.length, 1);
      const [token] = receiver.received;
      assert.ok(token?.ok, JSON.stringify(token));
      assert.equal(token.claims.sid, secondTokens.claims()!.sid);
      assert.equal(token.claims.sub, secondTokens.claims()!.sub);
      const third = await rp.begin({ organization: setup.organizationId });
      assert.equal((await signIn(page, third.url.toString(), application.redirectUri)).askedPassword, true);
    } finally {
      await browser.close();
    }
  });
});
