// Smoke tests of the end-to-end harness against the real things: SimpleSAMLphp and oidc-provider from
// ../shared/idp, and Debian's Chromium. Each skips loudly when its dependency is missing, and fails in CI.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { launchChromium, screenshot } from '../support/chromium.ts';
import { requireOrSkip } from '../support/environment.ts';
import { oidcProviderAvailability, startOidcProvider } from '../support/oidc-provider.ts';
import {
  createCookieJar,
  followRedirects,
  loginWithSimpleSamlPhp,
  parseForms,
  postSamlForm,
  submitForm,
} from '../support/saml-idp-driver.ts';
import type { SamlPostForm } from '../support/saml-idp-driver.ts';
import { simpleSamlPhpAvailability, startSimpleSamlPhp } from '../support/simplesamlphp.ts';

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

interface RecordedRequest {
  method: string;
  url: string;
  body: string;
}

interface LoopbackServer {
  url(path: string): string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 that records every request and answers 200 with `page`. */
async function startLoopbackServer(page = 'ok'): Promise<LoopbackServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    url: (path) => `http://127.0.0.1:${address.port}${path}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

/** The samlp:Response the ACS received last, checked to be one, with its NameID and InResponseTo. */
function receivedSamlResponse(acs: LoopbackServer): { nameId: string; inResponseTo: string | null; relayState: string | null } {
  const posted = acs.requests.filter((r) => r.method === 'POST' && r.url === '/acs').at(-1);
  assert.ok(posted, 'the ACS received no POST');
  const fields = new URLSearchParams(posted.body);
  const xml = Buffer.from(fields.get('SAMLResponse') ?? '', 'base64').toString('utf8');
  const root = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
  assert.ok(root, 'SAMLResponse is not XML');
  assert.equal(root.namespaceURI, PROTOCOL_NS);
  assert.equal(root.localName, 'Response');
  const nameIds = root.getElementsByTagNameNS(ASSERTION_NS, 'NameID');
  assert.equal(nameIds.length, 1);
  return {
    nameId: nameIds.item(0)?.textContent ?? '',
    inResponseTo: root.getAttribute('InResponseTo'),
    relayState: fields.get('RelayState'),
  };
}

/** A minimal AuthnRequest for the HTTP-Redirect binding (SAML bindings §3.4.4.1: DEFLATE, base64, URL-encode). */
function authnRequestUrl(ssoUrl: string, spEntityId: string, acsUrl: string, relayState: string): { url: string; id: string } {
  const id = `_${randomBytes(16).toString('hex')}`;
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${PROTOCOL_NS}" xmlns:saml="${ASSERTION_NS}" ID="${id}" Version="2.0" ` +
    `IssueInstant="${new Date().toISOString()}" Destination="${ssoUrl}" AssertionConsumerServiceURL="${acsUrl}" ` +
    `ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${spEntityId}</saml:Issuer>` +
    `<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>` +
    `</samlp:AuthnRequest>`;
  const url = new URL(ssoUrl);
  url.searchParams.set('SAMLRequest', deflateRawSync(xml).toString('base64'));
  url.searchParams.set('RelayState', relayState);
  return { url: url.href, id };
}

test('SimpleSAMLphp: IdP- and SP-initiated logins as alice reach a loopback ACS', { timeout: 360_000 }, async (t) => {
  const { available, reason } = simpleSamlPhpAvailability();
  if (!requireOrSkip(t, available, reason)) return;
  const acs = await startLoopbackServer();
  try {
    const spEntityId = 'https://sp.lanyard.test/saml/metadata';
    const acsUrl = acs.url('/acs');
    const idp = await startSimpleSamlPhp({ spEntityId, acsUrl });
    try {
      await t.test('IdP-initiated', async () => {
        const form = await loginWithSimpleSamlPhp({ startUrl: idp.idpInitiatedUrl, username: 'alice', password: 'alice-pass' });
        assert.equal(form.action, acsUrl);
        await postSamlForm(createCookieJar(), form);
        assert.equal(receivedSamlResponse(acs).nameId, 'alice@example.com');
      });

      await t.test('SP-initiated, with RelayState', async () => {
        const relayState = randomBytes(8).toString('hex');
        const request = authnRequestUrl(idp.ssoUrl, spEntityId, acsUrl, relayState);
        const form: SamlPostForm = await loginWithSimpleSamlPhp({ startUrl: request.url, username: 'alice', password: 'alice-pass' });
        assert.equal(form.RelayState, relayState);
        await postSamlForm(createCookieJar(), form);
        const received = receivedSamlResponse(acs);
        assert.equal(received.nameId, 'alice@example.com');
        assert.equal(received.inResponseTo, request.id);
        assert.equal(received.relayState, relayState);
      });

      await t.test('a wrong password is rejected', async () => {
        await assert.rejects(
          loginWithSimpleSamlPhp({ startUrl: idp.idpInitiatedUrl, username: 'bob', password: 'wrong' }),
          /rejected the login of bob/,
        );
      });

      assert.match(await readFile(idp.certFile, 'utf8'), /BEGIN CERTIFICATE/);
    } finally {
      await idp.stop();
    }
  } finally {
    await acs.close();
  }
});

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
}

test('oidc-provider: discovery, and an authorization-code login as alice through its dev pages', { timeout: 360_000 }, async (t) => {
  const { available, reason } = oidcProviderAvailability();
  if (!requireOrSkip(t, available, reason)) return;
  const app = await startLoopbackServer('signed in');
  try {
    const redirectUri = app.url('/callback');
    const provider = await startOidcProvider({
      clientId: 'lanyard-e2e',
      clientSecret: 'lanyard-e2e-secret-0123456789abcdef',
      redirectUris: [redirectUri],
    });
    try {
      const discovery = (await (await fetch(provider.discoveryUrl)).json()) as Discovery;
      assert.equal(discovery.issuer, provider.issuer);

      const state = randomBytes(8).toString('hex');
      const nonce = randomBytes(8).toString('hex');
      const authorize = new URL(discovery.authorization_endpoint);
      for (const [key, value] of Object.entries({
        client_id: provider.clientId,
        response_type: 'code',
        scope: 'openid email profile groups',
        redirect_uri: redirectUri,
        state,
        nonce,
      })) {
        authorize.searchParams.set(key, value);
      }
      const jar = createCookieJar();
      let step = await followRedirects(jar, authorize);
      // The dev interaction pages: a login form (any name, password ignored), then a consent form.
      for (let pages = 0; step.url.startsWith(`${provider.issuer}/interaction/`); pages++) {
        assert.ok(pages < 5, `stuck in the interaction pages at ${step.url}`);
        const form = parseForms(step.body, step.url)[0];
        assert.ok(form, `no form at ${step.url}:\n${step.body}`);
        step = await submitForm(jar, form, 'login' in form.fields ? { login: 'alice', password: 'any' } : {});
      }
      assert.equal(step.body, 'signed in');
      const callback = new URL(step.url);
      assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
      assert.equal(callback.searchParams.get('state'), state);
      const code = callback.searchParams.get('code');
      assert.ok(code, `no code at the redirect URI: ${step.url}`);

      // The code is real: the token endpoint takes it and says who logged in.
      const tokenResponse = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${provider.clientId}:${provider.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
      });
      const tokens = (await tokenResponse.json()) as { id_token?: string; access_token?: string };
      assert.equal(tokenResponse.status, 200, JSON.stringify(tokens));
      const idToken = JSON.parse(Buffer.from(tokens.id_token?.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      assert.equal(idToken.iss, provider.issuer);
      assert.equal(idToken.sub, 'alice');
      assert.equal(idToken.nonce, nonce);
      // With an access token issued, the scope claims are served by userinfo, not put in the ID token.
      const userinfo = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token ?? ''}` } });
      const claims = (await userinfo.json()) as Record<string, unknown>;
      assert.equal(userinfo.status, 200, JSON.stringify(claims));
      assert.equal(claims.email, 'alice@example.com');
      assert.deepEqual(claims.groups, ['admins', 'engineering']);
    } finally {
      await provider.stop();
    }
  } finally {
    await app.close();
  }
});

test('Chromium: renders a loopback page and takes a screenshot', { timeout: 120_000 }, async (t) => {
  const browser = await launchChromium(t);
  if (browser === undefined) return;
  try {
    const site = await startLoopbackServer(
      '<!doctype html><html><head><title>Lanyard harness</title></head>' +
        '<body><h1 id="greeting">Hello from Lanyard</h1><p>loopback only</p></body></html>',
    );
    try {
      const page = await browser.newPage();
      await page.goto(site.url('/'));
      assert.equal(await page.title(), 'Lanyard harness');
      assert.equal(await page.textContent('#greeting'), 'Hello from Lanyard');
      const path = await screenshot(page, 'idp-harness-loopback-page');
      assert.deepEqual([...(await readFile(path)).subarray(1, 4)], [...Buffer.from('PNG')]);
    } finally {
      await site.close();
    }
  } finally {
    await browser.close();
  }
});
