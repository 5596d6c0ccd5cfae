// Drives the hosted setup page through app.inject as a browser would: the session cookie it sets,
// the CSRF token in its forms, form-encoded posts.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';

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
