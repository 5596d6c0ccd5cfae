// An app's sign-in through Lanyard without a browser: authorize, the test IdP's signed SAML
// response to the AuthnRequest (test/support/saml-builder.ts), the ACS, and where it sends the browser.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import { buildResponseXml, sign } from './saml-builder.ts';
import type { TestApp } from './app.ts';

/** A SAML connection trusting the test IdP, as the API answers it. */
export interface TestSamlConnection {
  readonly id: string;
  readonly sp: { readonly entityId: string; readonly acsUrl: string };
}

/**
 * Follows an authorization URL: Lanyard's answer when it does not send the browser to the IdP
 * (a redirect back to the app, a page), else the ACS's answer to a response the test IdP signed,
 * `tamper` changing its XML first.
 */
export async function signInAtTestIdp(
  t: TestApp,
  connection: TestSamlConnection,
  authorizationUrl: URL,
  tamper: (xml: string) => string = (xml) => xml,
): Promise<LightMyRequestResponse> {
  const started = await t.request({ method: 'GET', url: authorizationUrl.pathname + authorizationUrl.search, token: null });
  const location = started.statusCode === 302 ? new URL(started.headers.location as string) : undefined;
  const samlRequest = location?.searchParams.get('SAMLRequest');
  if (location === undefined || samlRequest == null) return started;
  const request = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
  const xml = sign(
    buildResponseXml({
      inResponseTo: /ID="([^"]+)"/.exec(request)![1]!,
      audience: connection.sp.entityId,
      recipient: connection.sp.acsUrl,
      destination: connection.sp.acsUrl,
      assertionId: `_a${randomBytes(8).toString('hex')}`,
    }),
    { target: 'assertion' },
  );
  const form = { SAMLResponse: Buffer.from(tamper(xml)).toString('base64'), RelayState: location.searchParams.get('RelayState')! };
  return t.request({
    method: 'POST',
    url: `/sso/saml/${connection.id}/acs`,
    token: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
  });
}

/** {@link signInAtTestIdp} that must end with a redirect: the URL the browser is sent to. */
export async function redirectAfterSignIn(t: TestApp, connection: TestSamlConnection, authorizationUrl: URL): Promise<URL> {
  const answer = await signInAtTestIdp(t, connection, authorizationUrl);
  assert.equal(answer.statusCode, 302, answer.body);
  return new URL(answer.headers.location as string);
}

/**
 * One PKCE pair (RFC 7636 §4.1, §4.2) for tests whose subject is not PKCE: applications require it by
 * default, so their authorization requests carry `TEST_PKCE.query` and their token requests `code_verifier`.
 */
const verifier = randomBytes(32).toString('base64url');
export const TEST_PKCE = {
  verifier,
  query: { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' },
} as const;
