// An app's sign-in through Lanyard without a browser: authorize, the test IdP's signed SAML
// response to the AuthnRequest (test/support/saml-builder.ts), the ACS, where it sends the browser,
// and the app's exchange of the code at /oauth/token.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import { buildResponseXml, IDP, sign, testKeys } from './saml-builder.ts';
import type { TestApp } from './app.ts';

/** A SAML connection trusting the test IdP, as the API answers it. */
export interface TestSamlConnection {
  readonly id: string;
  readonly sp: { readonly entityId: string; readonly acsUrl: string };
}

/**
 * Creates a SAML connection trusting the test IdP, which must answer 201: `body` (organizationId,
 * enabled …) beside `saml`, whose fields add to or change the test IdP's entity id, SSO URL
 * (https://idp.example.test/sso) and certificate.
 */
export async function createTestSamlConnection(
  t: TestApp,
  body: { readonly organizationId: string } & Record<string, unknown>,
  saml: Record<string, unknown> = {},
): Promise<TestSamlConnection & Record<string, unknown>> {
  const created = await t.request({
    method: 'POST',
    url: '/v1/connections',
    payload: {
      type: 'saml',
      ...body,
      saml: { idpEntityId: IDP, ssoUrl: 'https://idp.example.test/sso', certificates: [testKeys.idpCertPem], ...saml },
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  return created.json();
}

/** How the test IdP answers; each field absent keeps the response builder's default. */
export interface TestIdpAnswer {
  /** The NameID's content, already escaped (the builder's alice@example.com). */
  readonly nameIdXml?: string;
  /** The AuthnStatement's SessionIndex (the builder's `_session-42`). */
  readonly sessionIndex?: string;
  /** The key pair that signs the assertion (the test IdP's). */
  readonly key?: { readonly keyPem?: string; readonly certPem?: string };
  /** Changes the signed response's XML before it is posted. */
  readonly tamper?: (xml: string) => string;
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

/** An /oauth/authorize URL on `t` asking for a code with {@link TEST_PKCE}, with `params` (client_id, redirect_uri, scope …). */
export function testAuthorizationUrl(t: TestApp, params: Record<string, string>): URL {
  const query = new URLSearchParams({ response_type: 'code', ...TEST_PKCE.query, ...params });
  return new URL(`/oauth/authorize?${query.toString()}`, t.config.publicUrl);
}

/** Follows an authorization URL that must send the browser to the IdP: the IdP's URL, with its SAMLRequest. */
export async function startAtIdp(t: TestApp, authorizationUrl: URL): Promise<URL> {
  const started = await t.request({ method: 'GET', url: authorizationUrl.pathname + authorizationUrl.search, token: null });
  assert.equal(started.statusCode, 302, started.body);
  const location = new URL(started.headers.location as string);
  assert.ok(location.searchParams.has('SAMLRequest'), location.href);
  return location;
}

/**
 * The test IdP's signed response to the AuthnRequest in `idpUrl` (where Lanyard sent the browser,
 * HTTP-Redirect binding), posted to the connection's ACS with the RelayState: the ACS's answer.
 */
export async function answerAtTestIdp(
  t: TestApp,
  connection: TestSamlConnection,
  idpUrl: URL,
  answer: TestIdpAnswer = {},
): Promise<LightMyRequestResponse> {
  const request = inflateRawSync(Buffer.from(idpUrl.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const unsigned = buildResponseXml({
    inResponseTo: /ID="([^"]+)"/.exec(request)![1]!,
    audience: connection.sp.entityId,
    recipient: connection.sp.acsUrl,
    destination: connection.sp.acsUrl,
    assertionId: `_a${randomBytes(8).toString('hex')}`,
    ...(answer.nameIdXml === undefined ? {} : { nameIdXml: answer.nameIdXml }),
  });
  const xml = sign(
    answer.sessionIndex === undefined ? unsigned : unsigned.replace('SessionIndex="_session-42"', `SessionIndex="${answer.sessionIndex}"`),
    { target: 'assertion', ...answer.key },
  );
  const tamper = answer.tamper ?? ((signed: string) => signed);
  const form = { SAMLResponse: Buffer.from(tamper(xml)).toString('base64'), RelayState: idpUrl.searchParams.get('RelayState')! };
  return t.request({
    method: 'POST',
    url: `/sso/saml/${connection.id}/acs`,
    token: null,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
  });
}

/**
 * Follows an authorization URL: Lanyard's answer when it does not send the browser to the IdP
 * (a redirect back to the app, a page), else the ACS's answer to the test IdP's response.
 */
export async function signInAtTestIdp(
  t: TestApp,
  connection: TestSamlConnection,
  authorizationUrl: URL,
  answer: TestIdpAnswer = {},
): Promise<LightMyRequestResponse> {
  const started = await t.request({ method: 'GET', url: authorizationUrl.pathname + authorizationUrl.search, token: null });
  const location = started.statusCode === 302 ? new URL(started.headers.location as string) : undefined;
  if (location === undefined || !location.searchParams.has('SAMLRequest')) return started;
  return answerAtTestIdp(t, connection, location, answer);
}

/** {@link signInAtTestIdp} that must end with a redirect: the URL the browser is sent to. */
export async function redirectAfterSignIn(t: TestApp, connection: TestSamlConnection, authorizationUrl: URL): Promise<URL> {
  const answer = await signInAtTestIdp(t, connection, authorizationUrl);
  assert.equal(answer.statusCode, 302, answer.body);
  return new URL(answer.headers.location as string);
}

/** The code in a redirect back to the app, which the answer must be. */
export function codeFrom(answer: LightMyRequestResponse): string {
  assert.equal(answer.statusCode, 302, answer.body);
  const code = new URL(answer.headers.location as string).searchParams.get('code');
  assert.ok(code, answer.headers.location);
  return code;
}

/** An application's client credentials, as the API answers them. */
export interface TestApplication {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * The app's authorization-code grant (RFC 6749 §4.1.3) with {@link TEST_PKCE}'s verifier, which must
 * succeed: the token response. The client authenticates in the body (`post`) or with HTTP Basic.
 */
export async function exchangeCode(
  t: TestApp,
  app: TestApplication,
  grant: { readonly code: string; readonly redirectUri: string; readonly clientAuth?: 'post' | 'basic' },
): Promise<{ id_token: string; access_token: string } & Record<string, unknown>> {
  const fields = { grant_type: 'authorization_code', code: grant.code, redirect_uri: grant.redirectUri, code_verifier: TEST_PKCE.verifier };
  const basic = grant.clientAuth === 'basic';
  const tokens = await t.request({
    method: 'POST',
    url: '/oauth/token',
    token: null,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(basic ? { authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}` } : {}),
    },
    payload: new URLSearchParams(basic ? fields : { ...fields, client_id: app.clientId, client_secret: app.clientSecret }).toString(),
  });
  assert.equal(tokens.statusCode, 200, tokens.body);
  return tokens.json();
}
