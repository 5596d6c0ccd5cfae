import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { requireOrSkip } from '../support/environment.ts';
import { createApplication, relyingParty } from '../support/lanyard-server.ts';
import { lanyardAndOidcProvider, oidcProviderAvailability, passOidcProviderPages } from '../support/oidc-provider.ts';
import { createCookieJar, followRedirects } from '../support/saml-idp-driver.ts';

/**
 * App-initiated logout through oidc-provider as the upstream OIDC IdP (issue 17, proof: "app-initiated
 * logout reaches its end-session endpoint"). The app logs out with openid-client's end-session URL;
 * Lanyard ends its session and sends the browser to oidc-provider's end_session_endpoint.
 *
 * Limitation: ../shared/idp/oidc-provider/start.mjs registers its one client with redirect_uris only,
 * and takes no option or environment variable for post_logout_redirect_uris. oidc-provider therefore
 * refuses Lanyard's post_logout_redirect_uri ("post_logout_redirect_uri not registered") and the
 * browser cannot come back through the provider. That refusal is the last of its end-session checks
 * (lib/actions/end_session.js): before it, the id_token_hint was decoded, its audience found as the
 * client, client_id matched against it, and its signature and issuer validated, so the request
 * Lanyard built passed everything the provider checks. The way back, /sso/oidc/logout-callback to
 * the app, is shown by presenting the state Lanyard sent as a provider with the URI registered
 * would (RP-Initiated Logout 1.0 §3), and over HTTP in test/http/logout-oidc.test.ts.
 */
describe('App-initiated logout through oidc-provider as the upstream OIDC IdP', () => {
  const suite = lanyardAndOidcProvider();

  test(
    'Lanyard ends its session and the browser reaches the end_session_endpoint with the right parameters',
    { timeout: 360_000 },
    async (t) => {
      const { available, reason } = oidcProviderAvailability();
      if (!requireOrSkip(t, available, reason)) return;
      const clientId = 'lanyard-e2e-logout';
      const clientSecret = 'lanyard-oidc-e2e-logout-secret-0123456789';
      const { lanyard } = suite;
      const idp = await suite.startIdp({ clientId, clientSecret, redirectUris: [`${lanyard.url}/sso/oidc/callback`] });
      const org = (
        await lanyard.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Logout org', domains: [] } })
      ).json();
      const created = await lanyard.request({
        method: 'POST',
        url: '/v1/connections',
        payload: {
          organizationId: org.id,
          type: 'oidc',
          name: 'oidc-provider',
          enabled: true,
          oidc: { issuer: idp.issuer, clientId, clientSecret },
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const connection = created.json();
      assert.equal(connection.oidc.endSessionEndpoint, `${idp.issuer}/session/end`, "oidc-provider's discovery names it");
      assert.equal(connection.oidc.postLogoutRedirectUri, `${lanyard.url}/sso/oidc/logout-callback`);
      const afterLogout = 'http://127.0.0.1:3999/signed-out';
      const application = await createApplication(lanyard, { postLogoutRedirectUris: [afterLogout] });
      const rp = await relyingParty(lanyard.url, application);

      // 1. Sign in: authorize → oidc-provider's login and consent pages → Lanyard's callback → the app.
      const begun = await rp.begin({ organization: org.id });
      const jar = createCookieJar();
      const callback = await passOidcProviderPages(jar, begun.url, idp, 'alice', application.redirectUri);
      const { tokens } = await rp.finish(callback, begun);
      const sid = tokens.claims()!.sid as string;
      const stored = await lanyard.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow();
      assert.ok(stored.sealed_upstream_id_token !== null, "the provider's id_token is kept, sealed");

      // 2. Log out from the app with openid-client's end-session URL: Lanyard sends the browser on to the provider.
      const endSession = client.buildEndSessionUrl(rp.config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: afterLogout,
        state: 'e2e-bye',
      });
      const atLanyard = await fetch(endSession, { redirect: 'manual' });
      assert.equal(atLanyard.status, 302, await atLanyard.text());
      const toIdp = new URL(atLanyard.headers.get('location')!);
      assert.equal(toIdp.origin + toIdp.pathname, `${idp.issuer}/session/end`);
      const ended = await lanyard.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow();
      assert.equal(ended.ended_by, 'app', "Lanyard's session ended before the browser left");
      const hint = toIdp.searchParams.get('id_token_hint')!;
      const verified = await jwtVerify(hint, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), { issuer: idp.issuer, audience: clientId });
      assert.equal(verified.payload.sub, 'alice', "the hint is oidc-provider's own id_token of this login");
      assert.equal(
        stored.upstream_sid,
        typeof decodeJwt(hint).sid === 'string' ? decodeJwt(hint).sid : null,
        'the upstream sid is recorded',
      );
      assert.equal(toIdp.searchParams.get('client_id'), clientId);
      assert.equal(toIdp.searchParams.get('post_logout_redirect_uri'), `${lanyard.url}/sso/oidc/logout-callback`);
      const state = toIdp.searchParams.get('state')!;
      assert.ok(state.length >= 40 && state !== 'e2e-bye', 'a fresh random state, not the app’s');

      // 3. At the provider, with the browser's session cookies: every check up to the registered-URI one passes (see above).
      const atIdp = await followRedirects(jar, toIdp);
      assert.equal(atIdp.url.split('?')[0], `${idp.issuer}/session/end`);
      assert.equal(atIdp.response.status, 400, atIdp.body.slice(0, 500));
      assert.match(atIdp.body, /post_logout_redirect_uri not registered/);
      for (const earlier of [
        'could not decode id_token_hint',
        'client_id does not match',
        'unrecognized id_token_hint audience',
        'could not validate id_token_hint',
      ])
        assert.ok(!atIdp.body.includes(earlier), earlier);

      // 4. The way back as a provider with the URI registered takes it: Lanyard's callback → the app, with the app's state.
      const back = await fetch(`${lanyard.url}/sso/oidc/logout-callback?state=${encodeURIComponent(state)}`, { redirect: 'manual' });
      assert.equal(back.status, 302, await back.text());
      assert.equal(back.headers.get('location'), `${afterLogout}?state=e2e-bye`);
    },
  );
});
