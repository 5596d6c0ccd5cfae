// Drives logins through real identity providers without a browser: a minimal cookie jar, a redirect
// follower and an HTML form reader over global fetch (redirect: 'manual'), and on top of them a
// SimpleSAMLphp username/password login that ends in the auto-submitting SAMLResponse form.
// The generic part (createCookieJar, fetchWithJar, followRedirects, parseForms, submitForm) is meant
// for other end-to-end tests too, e.g. an OAuth/OIDC authorization-code flow.
// Requests go to loopback only, as every test here must.

/** A minimal RFC 6265 cookie store: host-only and Domain cookies, Path, Max-Age/Expires, Secure. */
export interface CookieJar {
  /** The `Cookie` header to send to `url`, or undefined when no cookie applies. */
  header(url: string | URL): string | undefined;
  /** Stores the Set-Cookie headers of `response`, which came from `url`. */
  store(url: string | URL, response: Response): void;
  /** The value of cookie `name` that would be sent to `url` (or of any cookie so named when no url). */
  get(name: string, url?: string | URL): string | undefined;
}

interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  expiresAt: number | undefined;
}

/** Creates an empty cookie jar. */
export function createCookieJar(): CookieJar {
  let cookies: StoredCookie[] = [];
  const live = (): StoredCookie[] => {
    const now = Date.now();
    cookies = cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
    return cookies;
  };
  const matching = (target: URL): StoredCookie[] =>
    live().filter(
      (c) =>
        (c.hostOnly ? target.hostname === c.domain : domainMatches(target.hostname, c.domain)) &&
        pathMatches(target.pathname, c.path) &&
        (!c.secure || target.protocol === 'https:' || isLoopbackHost(target.hostname)),
    );
  return {
    header(url) {
      // RFC 6265 §5.4: longer paths first.
      const sent = matching(new URL(url)).sort((a, b) => b.path.length - a.path.length);
      return sent.length === 0 ? undefined : sent.map((c) => `${c.name}=${c.value}`).join('; ');
    },
    store(url, response) {
      const origin = new URL(url);
      for (const line of response.headers.getSetCookie()) {
        const cookie = parseSetCookie(line, origin);
        if (cookie === undefined) continue;
        cookies = cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
        cookies.push(cookie);
      }
    },
    get(name, url) {
      const candidates = url === undefined ? live() : matching(new URL(url));
      return candidates.find((c) => c.name === name)?.value;
    },
  };
}

function parseSetCookie(line: string, origin: URL): StoredCookie | undefined {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const cookie: StoredCookie = {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    domain: origin.hostname,
    hostOnly: true,
    path: defaultPath(origin.pathname),
    secure: false,
    expiresAt: undefined,
  };
  let maxAgeSeen = false;
  for (const attribute of attributes) {
    const [rawKey = '', ...rest] = attribute.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (key === 'path' && value.startsWith('/')) cookie.path = value;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'max-age' && /^-?\d+$/.test(value)) {
      maxAgeSeen = true;
      cookie.expiresAt = Date.now() + Number(value) * 1000;
    } else if (key === 'expires' && !maxAgeSeen) {
      const at = Date.parse(value);
      if (!Number.isNaN(at)) cookie.expiresAt = at;
    } else if (key === 'domain' && value !== '') {
      const domain = value.replace(/^\./, '').toLowerCase();
      if (!domainMatches(origin.hostname, domain)) return undefined; // RFC 6265 §5.3 step 6
      cookie.domain = domain;
      cookie.hostOnly = false;
    }
  }
  return cookie;
}

/** RFC 6265 §5.1.4: the request path up to its last '/'. */
function defaultPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  return (
    requestPath === cookiePath ||
    (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'))
  );
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$|:/.test(host));
}

/** localhost, *.localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface JarRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
}

/** One request with the jar's cookies, storing the answer's cookies; never follows a redirect. Loopback only. */
export async function fetchWithJar(jar: CookieJar, url: string | URL, request: JarRequest = {}): Promise<Response> {
  const target = new URL(url);
  if (!isLoopbackHost(target.hostname)) throw new Error(`tests reach loopback only, not ${target.href}`);
  const headers = new Headers(request.headers);
  const cookie = jar.header(target);
  if (cookie !== undefined) headers.set('cookie', cookie);
  const init: RequestInit = { method: request.method ?? 'GET', headers, redirect: 'manual' };
  if (request.body !== undefined) init.body = request.body;
  const response = await fetch(target, init);
  jar.store(target, response);
  return response;
}

export interface FollowOptions {
  /** Redirects to follow at most (default 20). */
  maxRedirects?: number;
  /** Stop before requesting a redirect target for which this is true (e.g. an OAuth redirect_uri). */
  stopAt?: (url: URL) => boolean;
}

export interface FollowResult {
  /** The last response: the final page, or the redirect whose target matched stopAt. */
  response: Response;
  /** The URL `response` came from. */
  url: string;
  /** The final page's body ('' when stopped at a redirect). */
  body: string;
  /** The redirect target that matched stopAt, not requested. */
  stoppedAt?: string;
  /** Every URL requested, in order. */
  visited: string[];
}

/**
 * Requests `url` with the jar and follows redirects like a browser: 301/302/303 turn into GET without
 * a body, 307/308 repeat the method and body.
 */
export async function followRedirects(
  jar: CookieJar,
  url: string | URL,
  request: JarRequest = {},
  options: FollowOptions = {},
): Promise<FollowResult> {
  const maxRedirects = options.maxRedirects ?? 20;
  const visited: string[] = [];
  let current = new URL(url);
  let next: JarRequest = request;
  for (;;) {
    visited.push(current.href);
    const response = await fetchWithJar(jar, current, next);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 399 || location === null) {
      return { response, url: current.href, body: await response.text(), visited };
    }
    await response.arrayBuffer(); // frees the connection
    const target = new URL(location, current);
    if (options.stopAt?.(target) === true) {
      return { response, url: current.href, body: '', stoppedAt: target.href, visited };
    }
    if (visited.length > maxRedirects) throw new Error(`more than ${maxRedirects} redirects: ${visited.join(' -> ')}`);
    if (response.status !== 307 && response.status !== 308) next = { headers: withoutBodyHeaders(next.headers) };
    current = target;
  }
}

function withoutBodyHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !/^content-/i.test(name)));
}

/** An HTML form as a browser would submit it without clicking a button. */
export interface HtmlForm {
  /** Absolute URL the form submits to. */
  action: string;
  method: 'GET' | 'POST';
  /** Named inputs (hidden, text, password, checked boxes) with their values, entities decoded. */
  fields: Record<string, string>;
}

/** Reads the forms of an HTML page; `pageUrl` resolves relative actions. Test glue for IdP pages, not a general parser. */
export function parseForms(html: string, pageUrl: string | URL): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)) {
    const attributes = parseAttributes(match[1] ?? '');
    const fields: Record<string, string> = {};
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const field = parseAttributes(input[1] ?? '');
      const type = (field.type ?? 'text').toLowerCase();
      if (field.name === undefined || ['submit', 'button', 'image', 'reset', 'file'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in field)) continue;
      fields[field.name] = field.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '');
    }
    const action = attributes.action === undefined || attributes.action === '' ? pageUrl : attributes.action;
    forms.push({
      action: new URL(action, pageUrl).href,
      method: (attributes.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET',
      fields,
    });
  }
  return forms;
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const m of source.matchAll(/([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    const name = (m[1] ?? '').toLowerCase();
    if (!(name in attributes)) attributes[name] = decodeHtmlEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attributes;
}

const namedEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decodes the character references found in attribute values (&amp; &quot; &#39; &#x2F; …). */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#x[\da-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return namedEntities[ref.toLowerCase()] ?? whole;
  });
}

/** Submits `form` with `values` filled in (over its own fields) and follows redirects. */
export function submitForm(
  jar: CookieJar,
  form: HtmlForm,
  values: Record<string, string> = {},
  options: FollowOptions = {},
): Promise<FollowResult> {
  const data = new URLSearchParams({ ...form.fields, ...values });
  if (form.method === 'GET') {
    const target = new URL(form.action);
    target.search = data.toString();
    return followRedirects(jar, target, {}, options);
  }
  return followRedirects(
    jar,
    form.action,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: data.toString() },
    options,
  );
}

/** The auto-submitting HTTP-POST binding form an IdP answers with (SAML bindings §3.5). */
export interface SamlPostForm {
  /** The ACS URL the form posts to. */
  action: string;
  /** Base64 of the samlp:Response. */
  SAMLResponse: string;
  RelayState?: string;
}

/** Finds the SAMLResponse form of a page, if it has one. */
export function findSamlPostForm(html: string, pageUrl: string | URL): SamlPostForm | undefined {
  const form = parseForms(html, pageUrl).find((f) => f.fields.SAMLResponse !== undefined);
  if (form === undefined || form.fields.SAMLResponse === undefined) return undefined;
  const result: SamlPostForm = { action: form.action, SAMLResponse: form.fields.SAMLResponse };
  if (form.fields.RelayState !== undefined) result.RelayState = form.fields.RelayState;
  return result;
}

export interface SimpleSamlPhpLogin {
  /** An SP-initiated SSO URL (`?SAMLRequest=…&RelayState=…`) or the IdP's idpInitiatedUrl. */
  startUrl: string;
  username: string;
  password: string;
  /** Reuse a jar to keep the IdP session between logins; a fresh one by default. */
  jar?: CookieJar;
}

/**
 * Logs in at a SimpleSAMLphp IdP as a browser would, without one: follows redirects to the
 * username/password page, posts AuthState, username and password, and returns the SAMLResponse
 * form the IdP answers with (not yet posted to the ACS: see postSamlForm).
 */
export async function loginWithSimpleSamlPhp(login: SimpleSamlPhpLogin): Promise<SamlPostForm> {
  const jar = login.jar ?? createCookieJar();
  const page = await followRedirects(jar, login.startUrl);
  const already = findSamlPostForm(page.body, page.url); // the IdP session in `jar` was still valid
  if (already !== undefined) return already;
  const form = parseForms(page.body, page.url).find((f) => f.fields.AuthState !== undefined);
  if (form === undefined) {
    throw new Error(`no SimpleSAMLphp login form at ${page.url} (HTTP ${page.response.status}):\n${page.body.slice(0, 2000)}`);
  }
  const answer = await submitForm(jar, form, { username: login.username, password: login.password });
  const samlForm = findSamlPostForm(answer.body, answer.url);
  if (samlForm !== undefined) return samlForm;
  const rejected = parseForms(answer.body, answer.url).some((f) => f.fields.AuthState !== undefined);
  throw new Error(
    rejected
      ? `SimpleSAMLphp rejected the login of ${login.username}`
      : `no SAMLResponse form at ${answer.url} (HTTP ${answer.response.status}):\n${answer.body.slice(0, 2000)}`,
  );
}

/** Posts a SAMLResponse form to its ACS, as the IdP's auto-submitting page would, and follows redirects. */
export function postSamlForm(jar: CookieJar, samlForm: SamlPostForm, options: FollowOptions = {}): Promise<FollowResult> {
  const fields: Record<string, string> = { SAMLResponse: samlForm.SAMLResponse };
  if (samlForm.RelayState !== undefined) fields.RelayState = samlForm.RelayState;
  return submitForm(jar, { action: samlForm.action, method: 'POST', fields }, {}, options);
}

/** Posts the IdP's auto-submitting SAMLResponse form to its action (the SP's ACS), as the browser would. */
export async function postToAcs(samlForm: { action: string; SAMLResponse: string; RelayState?: string }) {
  const body = new URLSearchParams({
    SAMLResponse: samlForm.SAMLResponse,
    ...(samlForm.RelayState ? { RelayState: samlForm.RelayState } : {}),
  });
  const res = await fetch(samlForm.action, { method: 'POST', body, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

/**
 * authorize → SimpleSAMLphp's login form → ACS, without a browser: the response Lanyard sent the browser
 * (a redirect back to the app, or a failure page) and the SAML form it posted.
 */
export async function signInWithSimpleSamlPhp(authorizeUrl: URL, username: string) {
  const authorize = await fetch(authorizeUrl, { redirect: 'manual' });
  if (authorize.status !== 302) throw new Error(`authorize answered ${authorize.status}: ${await authorize.text()}`);
  const samlForm = await loginWithSimpleSamlPhp({ startUrl: authorize.headers.get('location')!, username, password: `${username}-pass` });
  return { samlForm, ...(await postToAcs(samlForm)) };
}
