import type { Catalogue } from '../domain/catalogue.ts';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { err, ok, type Result } from '../domain/result.ts';
import { addressPolicy, classifyAddress, type AddressCategory, type AddressPolicyOptions } from './address-policy.ts';

/** Where and how to fetch a document from a URL a caller supplied. */
export interface GuardedFetchOptions extends AddressPolicyOptions {
  url: string;
  /** The Accept header. */
  accept: string;
  /** How messages name the URL and the document ("metadata URL", "metadata"). */
  names: { url: string; document: string };
  /** Total time for every hop, connection and body included; default 5000 ms. */
  timeoutMs?: number | undefined;
  /** Body size limit; default 1 MiB. Reading stops beyond it. */
  maxBytes?: number | undefined;
  /** Redirects followed at most; default 3. */
  maxRedirects?: number | undefined;
  /** PEM CA certificates trusted besides Node's default roots, e.g. an enterprise CA of an on-premises IdP. */
  trustedCaCertificates?: readonly string[] | undefined;
  /** Validators for a conditional GET (RFC 9110 §13.1): a 304 then answers `notModified` with no body. */
  conditional?: { etag?: string | undefined; lastModified?: string | undefined } | undefined;
}

/** The caching headers of an answer (RFC 9110 §8.8, RFC 9111 §5.2), for the next conditional GET. */
export interface CachingHeaders {
  etag?: string;
  lastModified?: string;
  cacheControl?: string;
}

/** One address a host name resolves to. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address of `hostname` (like `dns.lookup` with `all: true`): the only network I/O besides connecting. */
export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

/** Resolution through the operating system, as node:http would do by default. */
export const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true });

/**
 * A socket `lookup` that resolves through `resolve` and refuses, at connect time, any address the
 * policy does not permit (so a name cannot change its answer between a check and the connection).
 * `refused()` names the address that was refused, if any.
 */
export function checkedLookup(
  resolve: Lookup,
  permitted: (address: string) => boolean,
): { lookup: LookupFunction; refused(): string | undefined } {
  let refused: string | undefined;
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (found) => {
        const family = lookupOptions.family;
        const wanted = family === 4 || family === 6 ? found.filter((a) => a.family === family) : found;
        refused = wanted.find((a) => !permitted(a.address))?.address;
        const [first] = wanted;
        if (refused !== undefined) callback(new Error('forbidden address'), '', 0);
        else if (first === undefined) callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        else if (lookupOptions.all) callback(null, wanted);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)), '', 0);
      },
    );
  };
  return { lookup, refused: () => refused };
}

/** Why a guarded fetch failed, by stable code; callers prefix the codes with their own subject. */
export const GUARDED_FETCH_ERROR_CATALOGUE = {
  invalid: { description: 'The URL is not a valid absolute URL.' },
  bad_scheme: { description: 'The URL, or a redirect from it, uses a scheme other than http or https.' },
  forbidden_address: { description: 'The host resolves to a private, loopback, link-local or otherwise internal address.' },
  timeout: { description: 'The fetch, redirects included, took longer than the time limit.' },
  too_large: { description: 'The document is larger than the size limit.' },
  status: { description: 'The server answered with an HTTP status other than 2xx or a redirect.' },
  too_many_redirects: { description: 'The URL redirected more times than allowed.' },
  bad_redirect: { description: 'A redirect had no Location, or an invalid one.' },
  insecure_redirect: { description: 'An https URL redirected to plain http.' },
  unreachable: { description: 'The host could not be resolved or connected to, TLS failed, or the connection broke.' },
} as const satisfies Catalogue;

/** A stable code from {@link GUARDED_FETCH_ERROR_CATALOGUE}. */
export type GuardedFetchErrorCode = keyof typeof GUARDED_FETCH_ERROR_CATALOGUE;

/** Why the document could not be fetched; `message` is safe to show to whoever gave the URL. */
export interface GuardedFetchError {
  code: GuardedFetchErrorCode;
  message: string;
  detail?: {
    /** For `status`: the HTTP status received. */
    status?: number;
    /** For `forbidden_address`, logs only: the refused address and why. */
    address?: string;
    category?: AddressCategory | 'internal';
    /** For `unreachable`: the network error's code or message. */
    cause?: string;
  };
}

/**
 * The body, the URL it finally came from (after redirects) and its caching headers, or why not.
 * `notModified` (with an empty body) only answers a conditional GET.
 */
export type GuardedFetchResult = Result<
  { body: string; finalUrl: string; notModified: boolean; caching: CachingHeaders },
  GuardedFetchError
>;

type Failure = Result<never, GuardedFetchError>;
type Hop = Result<{ body: string; notModified: boolean; caching: CachingHeaders } | { location: string }, GuardedFetchError>;
type Names = GuardedFetchOptions['names'];

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * GETs a document from a URL a caller typed, defending the network Lanyard runs in (SSRF): http(s)
 * only, every hop re-checked, and each address checked at connect time inside the socket's own
 * lookup, so a name that resolves to a public address when checked and an internal one when
 * connecting (DNS rebinding) never gets through.
 */
export async function fetchGuarded(options: GuardedFetchOptions, deps: { lookup: Lookup }): Promise<GuardedFetchResult> {
  const maxRedirects = options.maxRedirects ?? 3;
  const { names } = options;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 5000);
  try {
    let url = parseHttpUrl(options.url, names);
    for (let redirects = 0; ; redirects++) {
      if (!url.ok) return url;
      const hop = await fetchOnce(url.value, options, deps, controller.signal);
      if (!hop.ok) return hop;
      if ('body' in hop.value) return ok({ ...hop.value, finalUrl: url.value.href });
      if (redirects === maxRedirects) {
        return failure('too_many_redirects', `The ${names.url} redirected more than ${maxRedirects} times.`);
      }
      url = followRedirect(url.value, hop.value.location, names);
    }
  } finally {
    clearTimeout(timer);
  }
}

function parseHttpUrl(text: string, names: Names): Result<URL, GuardedFetchError> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return failure('invalid', `The ${names.url} is not a valid absolute URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return failure('bad_scheme', `Only http and https ${names.url}s are fetched, not ${url.protocol.slice(0, -1)}.`);
  }
  return ok(url);
}

function followRedirect(from: URL, location: string, names: Names): Result<URL, GuardedFetchError> {
  let next: URL;
  try {
    next = new URL(location, from); // relative references resolve against the current URL (RFC 9110 §10.2.2)
  } catch {
    return failure('bad_redirect', `The ${names.url} redirected to an invalid location.`);
  }
  const parsed = parseHttpUrl(next.href, names);
  if (!parsed.ok) return parsed;
  // The document is trusted because it came over TLS; a downgrade would hand it to anyone on the path.
  if (from.protocol === 'https:' && next.protocol === 'http:') {
    return failure('insecure_redirect', `The ${names.url} redirected from https to plain http.`);
  }
  return parsed;
}

function fetchOnce(url: URL, options: GuardedFetchOptions, deps: { lookup: Lookup }, signal: AbortSignal): Promise<Hop> {
  const { names } = options;
  const permitted = addressPolicy(options);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal never goes through `lookup`, so it is checked here.
  if (isIP(host) !== 0 && !permitted(host)) return Promise.resolve(forbidden(host, names));
  if (signal.aborted) return Promise.resolve(timedOut(names));
  const checked = checkedLookup(deps.lookup, permitted);
  const lookup = checked.lookup;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  // No compression asked for: the size limit then applies to what is actually buffered.
  const headers = {
    accept: options.accept,
    'accept-encoding': 'identity',
    'user-agent': 'Lanyard',
    ...(options.conditional?.etag !== undefined ? { 'if-none-match': options.conditional.etag } : {}),
    ...(options.conditional?.lastModified !== undefined ? { 'if-modified-since': options.conditional.lastModified } : {}),
  };
  const conditional = 'if-none-match' in headers || 'if-modified-since' in headers;
  return new Promise<Hop>((resolve) => {
    // agent: false gives every hop a fresh socket, so each one goes through the checked lookup.
    const common = { method: 'GET', headers, lookup, signal, agent: false } as const;
    const onResponse = (response: IncomingMessage): void => readResponse(response, { maxBytes, names, conditional }, signal, resolve);
    // `ca` replaces the default roots, so the extra ones are added to them rather than given alone.
    const ca = options.trustedCaCertificates?.length ? [...rootCertificates, ...options.trustedCaCertificates] : undefined;
    const request =
      url.protocol === 'https:'
        ? httpsRequest(url, { ...common, ...(ca ? { ca } : {}) }, onResponse)
        : httpRequest(url, common, onResponse);
    request.on('error', (error) => {
      const refused = checked.refused();
      if (refused !== undefined) resolve(forbidden(refused, names));
      else if (signal.aborted) resolve(timedOut(names));
      else {
        const why = `The ${names.url} could not be reached (${describeNetworkError(error)}).`;
        resolve(failure('unreachable', why, { detail: { cause: error.message } }));
      }
    });
    request.end();
  });
}

function readResponse(
  response: IncomingMessage,
  limits: { maxBytes: number; names: Names; conditional: boolean },
  signal: AbortSignal,
  resolve: (hop: Hop) => void,
): void {
  const { maxBytes, names } = limits;
  const status = response.statusCode ?? 0;
  const location = response.headers.location;
  const caching = cachingHeaders(response);
  if (status === 304 && limits.conditional) {
    response.destroy();
    resolve(ok({ body: '', notModified: true, caching }));
    return;
  }
  if (REDIRECT_STATUSES.has(status)) {
    response.destroy();
    if (location !== undefined) resolve(ok({ location }));
    else resolve(failure('bad_redirect', `The ${names.url} answered ${status} without a Location.`));
    return;
  }
  if (status < 200 || status > 299) {
    response.destroy();
    resolve(failure('status', `The ${names.url} answered HTTP ${status}.`, { detail: { status } }));
    return;
  }
  const tooLarge = (): Hop => failure('too_large', `The ${names.document} is larger than ${maxBytes} bytes.`);
  if (Number(response.headers['content-length'] ?? 0) > maxBytes) {
    response.destroy();
    resolve(tooLarge());
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) {
      response.destroy(); // stop reading: the rest is never buffered
      resolve(tooLarge());
    } else chunks.push(chunk);
  });
  response.on('end', () => resolve(ok({ body: Buffer.concat(chunks).toString('utf8'), notModified: false, caching })));
  const broken = (why: string, cause?: string): Hop =>
    signal.aborted ? timedOut(names) : failure('unreachable', why, cause === undefined ? {} : { detail: { cause } });
  response.on('error', (error) => {
    resolve(broken(`The connection broke while reading the ${names.document} (${describeNetworkError(error)}).`, error.message));
  });
  // 'close' without 'end' (the socket closed early): the body is incomplete. After 'end' it is a no-op.
  response.on('close', () => resolve(broken(`The connection closed before the ${names.document} was complete.`)));
}

function cachingHeaders(response: IncomingMessage): CachingHeaders {
  const { etag, 'last-modified': lastModified, 'cache-control': cacheControl } = response.headers;
  return {
    ...(etag !== undefined ? { etag } : {}),
    ...(lastModified !== undefined ? { lastModified } : {}),
    ...(cacheControl !== undefined ? { cacheControl } : {}),
  };
}

function describeNetworkError(error: NodeJS.ErrnoException): string {
  return error.code ?? error.message;
}

function timedOut(names: Names): Failure {
  return failure('timeout', `The ${names.url} did not answer in time.`);
}

function forbidden(address: string, names: Names): Failure {
  const category = classifyAddress(address) ?? 'internal';
  // The address itself stays in `detail`: echoing it would turn this into a map of the internal network.
  const message = `The ${names.url} leads to a ${category} address, which Lanyard does not fetch from.`;
  return failure('forbidden_address', message, { detail: { address, category } });
}

function failure(code: GuardedFetchErrorCode, message: string, extra: Partial<GuardedFetchError> = {}): Failure {
  return err({ ...extra, code, message });
}
