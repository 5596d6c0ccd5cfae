// Drives the operator console through app.inject as a browser would: a sign-in link from the API,
// the session cookie it opens, and the CSRF token in the console's forms.
import assert from 'node:assert/strict';
import type { TestApp } from './app.ts';
import { cookieOf, csrfOf } from './setup-page.ts';

/** A signed-in console "browser": its cookie and the CSRF token of its forms. */
export interface ConsoleBrowser {
  cookie: string;
  csrf: string;
}

/** Asks the API (admin key) for a sign-in link; asserts the 201 and returns the link's URL. */
export async function consoleLink(t: TestApp): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/v1/console-links' });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ url: string }>().url;
}

/** The token of a sign-in link. */
export function tokenOf(url: string): string {
  return new URL(url).searchParams.get('token') ?? '';
}

/** Spends a link: the answer of POST /console/sign-in. */
export function signIn(t: TestApp, token: string) {
  return t.request({
    method: 'POST',
    url: '/console/sign-in',
    token: null,
    payload: new URLSearchParams({ token }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/** Signs in with a new link and reads the CSRF token from the organizations page. */
export async function signedIn(t: TestApp): Promise<ConsoleBrowser> {
  const res = await signIn(t, tokenOf(await consoleLink(t)));
  assert.equal(res.statusCode, 303, res.body);
  const cookie = cookieOf(res);
  const page = await t.request({ method: 'GET', url: '/console', token: null, headers: { cookie } });
  assert.equal(page.statusCode, 200, page.body);
  return { cookie, csrf: csrfOf(page.body) };
}

/** A console form post as the browser sends it. */
export function consolePost(t: TestApp, browser: ConsoleBrowser, url: string, form: Record<string, string>) {
  return t.request({
    method: 'POST',
    url,
    token: null,
    headers: { cookie: browser.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
  });
}
