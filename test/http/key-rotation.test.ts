import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import { NS, children, descendants, isElement, parseXml, textOf } from '../../src/domain/saml/xml.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { NOW } from '../support/saml-builder.ts';
import { answerAtTestIdp, createTestSamlConnection } from '../support/app-login.ts';

const REDIRECT = 'https://app.example.com/callback';
const ROLLOVER_SECONDS = 5;
// The test IdP dates its responses at NOW: the app's clock runs from there, in real time, so that
// the rollover's steps come by themselves and openid-client (told the offset) agrees on the time.
const offsetMs = NOW.getTime() - Date.now();

for (const backend of testBackends()) {
  describe(`rotation of Lanyard's own keys on ${backend}`, () => {
    let t: TestApp;
    let org: { id: string };
    let connection: { id: string; sp: { entityId: string; acsUrl: string } };
    let app: { clientId: string; clientSecret: string };
    let rp: client.Configuration;

    before(async () => {
      t = await createTestApp({
        backend,
        env: { LANYARD_KEY_ROLLOVER_SECONDS: String(ROLLOVER_SECONDS) },
        clock: () => new Date(Date.now() + offsetMs),
      });
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json();
      connection = await createTestSamlConnection(t, { organizationId: org.id }, { signRequests: true });
      app = (await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: [REDIRECT] } })).json();
    });
    after(async () => t.close());

    /** openid-client's HTTP, answered by the app in process. */
    const injectFetch: client.CustomFetch = async (url, options) => {
      const target = new URL(url);
      const body =
        options.body instanceof URLSearchParams ? options.body.toString() : typeof options.body === 'string' ? options.body : undefined;
      const answer = await t.app.inject({
        method: options.method as 'GET' | 'POST',
        url: target.pathname + target.search,
        headers: Object.fromEntries(new Headers(options.headers as ConstructorParameters<typeof Headers>[0])),
        ...(body === undefined ? {} : { payload: body }),
      });
      return new Response(answer.rawPayload.length === 0 ? null : answer.rawPayload, {
        status: answer.statusCode,
        headers: answer.headers as Record<string, string>,
      });
    };

    /** authorize → the AuthnRequest as the IdP receives it (its signed query octets) → ACS; returns the callback URL. */
    async function startAndFinish(authorizeUrl: URL): Promise<{ callback: URL; signedOctets: string; signature: Buffer }> {
      const started = await t.request({ method: 'GET', url: authorizeUrl.pathname + authorizeUrl.search, token: null });
      assert.equal(started.statusCode, 302, started.body);
      const location = started.headers.location as string;
      const query = location.slice(location.indexOf('?') + 1).split('&');
      const signedOctets = query.filter((p) => !p.startsWith('Signature=')).join('&');
      const idpUrl = new URL(location);
      const acs = await answerAtTestIdp(t, connection, idpUrl);
      assert.equal(acs.statusCode, 302, acs.body);
      return {
        callback: new URL(acs.headers.location as string),
        signedOctets,
        signature: Buffer.from(idpUrl.searchParams.get('Signature')!, 'base64'),
      };
    }

    /** A whole sign-in through openid-client: its id_token validated against /oauth/jwks; returns the kid and the AuthnRequest. */
    async function signIn() {
      const pkceCodeVerifier = client.randomPKCECodeVerifier();
      const expectedState = client.randomState();
      const expectedNonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(rp, {
        redirect_uri: REDIRECT,
        scope: 'openid email',
        code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
        code_challenge_method: 'S256',
        state: expectedState,
        nonce: expectedNonce,
        organization: org.id,
      });
      const finished = await startAndFinish(url);
      const tokens = await client.authorizationCodeGrant(rp, finished.callback, { pkceCodeVerifier, expectedState, expectedNonce });
      assert.equal(tokens.claims()?.email, 'alice@example.com');
      return { kid: decodeProtectedHeader(tokens.id_token!).kid, ...finished };
    }

    /** The signing certificates the SP metadata announces, as an IdP that reads it would trust them. */
    async function spSigningCertificates(): Promise<string[]> {
      const metadata = await t.request({ method: 'GET', url: `/sso/saml/${connection.id}/metadata`, token: null });
      const parsed = parseXml(metadata.body);
      assert.ok(parsed.ok);
      const descriptor = children(parsed.value.root, NS.md, 'SPSSODescriptor')[0]!;
      return children(descriptor, NS.md, 'KeyDescriptor')
        .filter((k) => k.getAttribute('use') === 'signing')
        .map((k) => {
          const certificate = [...descendants(k)].find((el) => isElement(el, NS.ds, 'X509Certificate'))!;
          return `-----BEGIN CERTIFICATE-----\n${textOf(certificate).trim()}\n-----END CERTIFICATE-----\n`;
        });
    }

    /** The IdP's check of an HTTP-Redirect AuthnRequest signature (bindings §3.4.4.1) against the certificates it trusts. */
    const idpAccepts = (request: { signedOctets: string; signature: Buffer }, trusted: readonly string[]) =>
      trusted.some((pem) => verify('sha256', Buffer.from(request.signedOctets), createPublicKey(pem), request.signature));

    const keyIds = async (url: string) =>
      ((await t.request({ method: 'GET', url, token: null })).json().keys as { kid: string }[]).map((k) => k.kid);

    test('id_tokens keep validating in openid-client, and AuthnRequests at the IdP, across a rotation', async () => {
      const [firstKid] = await keyIds('/oauth/jwks');
      const trustedBefore = await spSigningCertificates();
      assert.equal(trustedBefore.length, 1);

      const rotated = await t.request({ method: 'POST', url: '/v1/keys/rotate', payload: {} });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const keys = rotated.json().data as { id: string; purpose: string; state: string }[];
      assert.deepEqual(keys.map((k) => [k.purpose, k.state]).sort(), [
        ['oidc-token-signing', 'current'],
        ['oidc-token-signing', 'next'],
        ['saml-sp', 'current'],
        ['saml-sp', 'next'],
      ]);
      const nextKid = keys.find((k) => k.purpose === 'oidc-token-signing' && k.state === 'next')!.id;
      const again = await t.request({ method: 'POST', url: '/v1/keys/rotate', payload: { purposes: ['saml-sp'] } });
      assert.equal(again.statusCode, 409, 'one rotation at a time');

      // Published first: JWKS and SP metadata list both keys, the current one still signs.
      assert.deepEqual((await keyIds('/oauth/jwks')).sort(), [firstKid, nextKid].sort());
      const trustedDuring = await spSigningCertificates();
      assert.equal(trustedDuring.length, 2);
      rp = await client.discovery(
        new URL(t.config.publicUrl),
        app.clientId,
        { [client.clockSkew]: Math.round(offsetMs / 1000) },
        client.ClientSecretBasic(app.clientSecret),
        { execute: [client.allowInsecureRequests], [client.customFetch]: injectFetch },
      );
      rp[client.customFetch] = injectFetch;
      const during = await signIn();
      assert.equal(during.kid, firstKid);
      assert.ok(idpAccepts(during, trustedBefore), 'an IdP that has not read the new metadata yet');
      assert.ok(idpAccepts(during, trustedDuring));

      // Switched: the next key signs; the client's cached JWKS and the IdP's copy of the metadata already hold it.
      await sleep(ROLLOVER_SECONDS * 1000 + 300);
      const switched = await signIn();
      assert.equal(switched.kid, nextKid, 'the next key signs after the delay');
      assert.ok(idpAccepts(switched, trustedDuring), 'the IdP that read the metadata during the rollover accepts it');
      assert.ok(!idpAccepts(switched, trustedBefore), 'which is why the new certificate is published first');

      // Retired: only the new key is left.
      await sleep(ROLLOVER_SECONDS * 1000 + 300);
      assert.deepEqual(await keyIds('/oauth/jwks'), [nextKid]);
      assert.equal((await spSigningCertificates()).length, 1);
      const after = await signIn();
      assert.equal(after.kid, nextKid);

      await t.deps.services.keyRollover.worker.drain();
      const events = (await t.request({ method: 'GET', url: '/v1/events?limit=100' })).json().data as { type: string }[];
      const steps = events.filter((e) => e.type.startsWith('deployment_key.')).map((e) => e.type);
      assert.deepEqual(steps.sort(), [
        'deployment_key.activated',
        'deployment_key.activated',
        'deployment_key.published',
        'deployment_key.published',
        'deployment_key.retired',
        'deployment_key.retired',
      ]);
    });

    test('only admin keys see and rotate the keys', async () => {
      const token = (await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'org', organizationId: org.id } })).json()
        .token as string;
      assert.equal((await t.request({ method: 'POST', url: '/v1/keys/rotate', payload: {}, token })).statusCode, 403);
      assert.equal((await t.request({ method: 'GET', url: '/v1/keys', token })).statusCode, 403);
      assert.equal((await t.request({ method: 'POST', url: '/v1/keys/rotate', payload: {}, token: null })).statusCode, 401);
      const bad = await t.request({ method: 'POST', url: '/v1/keys/rotate', payload: { purposes: ['everything'] } });
      assert.equal(bad.statusCode, 400);
    });
  });
}
