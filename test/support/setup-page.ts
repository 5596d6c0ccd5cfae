// Drives the hosted setup page through app.inject as a browser would: the session cookie it sets,
// the CSRF token in its forms, form-encoded posts.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';
import { PUBLIC_URL } from './connections.ts';
import { answerAtTestIdp } from './app-login.ts';
import { IDP, testKeys } from './saml-builder.ts';

/** The setup page's IdP step filled in by hand ("fields") with the test IdP's entity id, SSO URL and certificate. */
export const TEST_IDP_FIELDS = {
  source: 'fields',
  'saml.idpEntityId': IDP,
  'saml.ssoUrl': 'https://idp.example.test/sso',
  'saml.certificates': testKeys.idpCertPem,
} as const;

/** A setup page opened by one "browser": its path, the cookie it was given, and its forms' CSRF token. */
export interface SetupSessionInfo {
  path: string;
  cookie: string;
  csrf: string;
}

/** Creates a ticket through the API (admin key unless `token` says otherwise); asserts the 201. */
export async function createTicket(t: TestApp, organizationId: string, body: Record<string, unknown> = { type: 'saml' }, token?: string) {
  const res = await t.request({
    method: 'POST',
    url: `/v1/organizations/${organizationId}/sso/tickets`,
    payload: body,
    ...(token ? { token } : {}),
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string; connectionId: string; ticketUrl: string; expiresAt: string; status: string; organizationId: string }>();
}

/** The `name=value` of the cookie a response sets. */
export function cookieOf(res: LightMyRequestResponse): string {
  const header = res.headers['set-cookie'];
  const line = Array.isArray(header) ? header[0] : header;
  assert.ok(line, 'the response sets a cookie');
  return line.split(';')[0]!;
}

/** The value of the first `_csrf` hidden field of a page. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  assert.ok(match, 'the page has a form with a CSRF token');
  return match[1]!;
}

/** Opens a setup URL without a cookie (a fresh browser); asserts it answers 200 with a session. */
export async function openSetup(t: TestApp, ticketUrl: string): Promise<{ res: LightMyRequestResponse; session: SetupSessionInfo }> {
  const path = new URL(ticketUrl).pathname;
  const res = await t.request({ method: 'GET', url: path, token: null });
  assert.equal(res.statusCode, 200, res.body);
  return { res, session: { path, cookie: cookieOf(res), csrf: csrfOf(res.body) } };
}

/** GET of a setup path with the session's cookie. */
export function getWithSession(t: TestApp, session: SetupSessionInfo, url = session.path): Promise<LightMyRequestResponse> {
  return t.request({ method: 'GET', url, token: null, headers: { cookie: session.cookie } });
}

/**
 * Posts a setup form (`/setup/{token}/{action}`) with the session's cookie and CSRF token, unless
 * `cookie` or `csrf` replace them (null leaves one out).
 */
export function postSetup(
  t: TestApp,
  session: SetupSessionInfo,
  action: string,
  fields: Record<string, string | string[]> = {},
  override: { cookie?: string | null; csrf?: string | null } = {},
): Promise<LightMyRequestResponse> {
  const body = new URLSearchParams();
  const csrf = override.csrf === undefined ? session.csrf : override.csrf;
  if (csrf !== null) body.append('_csrf', csrf);
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  const cookie = override.cookie === undefined ? session.cookie : override.cookie;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...(cookie !== null ? { cookie } : {}) };
  return t.request({ method: 'POST', url: `${session.path}/${action}`, token: null, headers, payload: body.toString() });
}

/** The visible text of a page: tags dropped, entities decoded, whitespace collapsed (for assertions on wording). */
export function textOf(html: string): string {
  return html
    .replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Test sign-in: the page's button → the IdP (a response to its AuthnRequest signed by the test IdP,
 * or by `signWith`) → the ACS → the result page, read with the session's cookie.
 */
export async function testSignInThroughPage(
  t: TestApp,
  session: SetupSessionInfo,
  connectionId: string,
  signWith: { keyPem?: string; certPem?: string } = {},
) {
  const started = await postSetup(t, session, 'test');
  assert.equal(started.statusCode, 303, started.body);
  const location = new URL(started.headers.location as string);
  assert.equal(location.origin + location.pathname, 'https://idp.example.test/sso');
  const sp = (await t.request({ method: 'GET', url: `/v1/connections/${connectionId}` })).json().sp;
  const acs = await answerAtTestIdp(t, { id: connectionId, sp }, location, { key: signWith });
  assert.equal(acs.statusCode, 302, acs.body);
  const resultUrl = acs.headers.location as string;
  assert.match(resultUrl, new RegExp(`^${PUBLIC_URL}/setup/tests/lgn_[0-9A-Z]{26}$`));
  const result = await getWithSession(t, session, new URL(resultUrl).pathname);
  assert.equal(result.statusCode, 200, result.body);
  return { resultPath: new URL(resultUrl).pathname, result, text: textOf(result.body) };
}
