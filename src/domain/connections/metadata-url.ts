import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';

/** Where and how to fetch an IdP's metadata. */
export interface MetadataUrlOptions {
  url: string;
  /** Fetch from private, loopback and other internal addresses too (an operator's choice; default false). */
  allowPrivateAddresses?: boolean;
  /** Individual addresses that pass even though internal, e.g. an on-premises ADFS (`10.0.4.7`). */
  allowedAddresses?: readonly string[];
  /** Total time for every hop, connection and body included; default 5000 ms. */
  timeoutMs?: number;
  /** Body size limit; default 1 MiB. Reading stops beyond it. */
  maxBytes?: number;
  /** Redirects followed at most; default 3. */
  maxRedirects?: number;
  /** PEM CA certificates trusted besides Node's default roots, e.g. an enterprise CA of an on-premises IdP. */
  trustedCaCertificates?: readonly string[];
}

/** One address a host name resolves to. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** The network I/O this module does besides connecting: name resolution. */
export interface MetadataUrlDeps {
  /** Every address of `hostname` (like `dns.lookup` with `all: true`). */
  lookup: (hostname: string) => Promise<ResolvedAddress[]>;
}

/** Resolution through the operating system, as node:http would do by default. */
export const systemLookup: MetadataUrlDeps['lookup'] = (hostname) => dnsLookup(hostname, { all: true });

/**
 * Why a metadata URL could not be fetched, by stable code; the message built next to each failure
 * says what happened without revealing internal addresses.
 */
export const METADATA_URL_ERROR_CATALOGUE = {
  metadata_url_invalid: 'The metadata URL is not a valid absolute URL.',
  metadata_url_bad_scheme: 'The metadata URL, or a redirect from it, uses a scheme other than http or https.',
  metadata_url_forbidden_address: 'The host resolves to a private, loopback, link-local or otherwise internal address.',
  metadata_url_timeout: 'The fetch, redirects included, took longer than the time limit.',
  metadata_url_too_large: 'The metadata is larger than the size limit.',
  metadata_url_status: 'The server answered with an HTTP status other than 2xx or a redirect.',
  metadata_url_too_many_redirects: 'The URL redirected more times than allowed.',
  metadata_url_bad_redirect: 'A redirect had no Location, or an invalid one.',
  metadata_url_insecure_redirect: 'An https URL redirected to plain http.',
  metadata_url_unreachable: 'The host could not be resolved or connected to, TLS failed, or the connection broke.',
} as const satisfies Record<string, string>;

/** A stable code from {@link METADATA_URL_ERROR_CATALOGUE}. */
export type MetadataUrlErrorCode = keyof typeof METADATA_URL_ERROR_CATALOGUE;

/** Why the metadata could not be fetched; `message` is safe to show to the admin who gave the URL. */
export interface MetadataUrlError {
  code: MetadataUrlErrorCode;
  message: string;
  detail?: {
    /** For `metadata_url_status`: the HTTP status received. */
    status?: number;
    /** For `metadata_url_forbidden_address`, logs only: the refused address and why. */
    address?: string;
    category?: AddressCategory | 'internal';
    /** For `metadata_url_unreachable`: the network error's code or message. */
    cause?: string;
  };
}

export type FetchMetadataResult = { ok: true; value: { xml: string; finalUrl: string } } | { ok: false; error: MetadataUrlError };

type Failure = { ok: false; error: MetadataUrlError };
type Hop = { ok: true; body: string } | { ok: true; location: string } | Failure;

const REQUEST_HEADERS = {
  accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1',
  // No compression asked for: the size limit then applies to what is actually buffered.
  'accept-encoding': 'identity',
  'user-agent': 'Lanyard metadata fetcher',
};
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches IdP metadata from a URL an admin typed, defending the network Lanyard runs in (SSRF):
 * http(s) only, every hop re-checked, and each address checked at connect time inside the socket's
 * own lookup, so a name that resolves to a public address when checked and an internal one when
 * connecting (DNS rebinding) never gets through.
 */
export async function fetchMetadataUrl(options: MetadataUrlOptions, deps: MetadataUrlDeps): Promise<FetchMetadataResult> {
  const maxRedirects = options.maxRedirects ?? 3;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 5000);
  try {
    let url = parseHttpUrl(options.url);
    for (let redirects = 0; ; redirects++) {
      if (!url.ok) return url;
      const hop = await fetchOnce(url.url, options, deps, controller.signal);
      if (!hop.ok || 'body' in hop) return hop.ok ? { ok: true, value: { xml: hop.body, finalUrl: url.url.href } } : hop;
      if (redirects === maxRedirects) {
        return failure('metadata_url_too_many_redirects', `The metadata URL redirected more than ${maxRedirects} times.`);
      }
      url = followRedirect(url.url, hop.location);
    }
  } finally {
    clearTimeout(timer);
  }
}

function parseHttpUrl(text: string): { ok: true; url: URL } | Failure {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return failure('metadata_url_invalid', 'The metadata URL is not a valid absolute URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return failure('metadata_url_bad_scheme', `Only http and https metadata URLs are fetched, not ${url.protocol.slice(0, -1)}.`);
  }
  return { ok: true, url };
}

function followRedirect(from: URL, location: string): { ok: true; url: URL } | Failure {
  let next: URL;
  try {
    next = new URL(location, from); // relative references resolve against the current URL (RFC 9110 §10.2.2)
  } catch {
    return failure('metadata_url_bad_redirect', 'The metadata URL redirected to an invalid location.');
  }
  const parsed = parseHttpUrl(next.href);
  if (!parsed.ok) return parsed;
  // Metadata is trusted because it came over TLS; a downgrade would hand it to anyone on the path.
  if (from.protocol === 'https:' && next.protocol === 'http:') {
    return failure('metadata_url_insecure_redirect', 'The metadata URL redirected from https to plain http.');
  }
  return parsed;
}

function fetchOnce(url: URL, options: MetadataUrlOptions, deps: MetadataUrlDeps, signal: AbortSignal): Promise<Hop> {
  const permitted = addressPolicy(options);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal never goes through `lookup`, so it is checked here.
  if (isIP(host) !== 0 && !permitted(host)) return Promise.resolve(forbidden(host));
  if (signal.aborted) return Promise.resolve(timedOut());
  let refused: string | undefined;
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    deps.lookup(hostname).then(
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
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  return new Promise<Hop>((resolve) => {
    // agent: false gives every hop a fresh socket, so each one goes through the checked lookup.
    const common = { method: 'GET', headers: REQUEST_HEADERS, lookup, signal, agent: false } as const;
    const onResponse = (response: IncomingMessage): void => readResponse(response, maxBytes, signal, resolve);
    // `ca` replaces the default roots, so the extra ones are added to them rather than given alone.
    const ca = options.trustedCaCertificates?.length ? [...rootCertificates, ...options.trustedCaCertificates] : undefined;
    const request =
      url.protocol === 'https:' ? httpsRequest(url, { ...common, ...(ca ? { ca } : {}) }, onResponse) : httpRequest(url, common, onResponse);
    request.on('error', (error) => {
      if (refused !== undefined) resolve(forbidden(refused));
      else if (signal.aborted) resolve(timedOut());
      else {
        const why = `The metadata URL could not be reached (${describeNetworkError(error)}).`;
        resolve(failure('metadata_url_unreachable', why, { detail: { cause: error.message } }));
      }
    });
    request.end();
  });
}

function readResponse(response: IncomingMessage, maxBytes: number, signal: AbortSignal, resolve: (hop: Hop) => void): void {
  const status = response.statusCode ?? 0;
  const location = response.headers.location;
  if (REDIRECT_STATUSES.has(status)) {
    response.destroy();
    if (location !== undefined) resolve({ ok: true, location });
    else resolve(failure('metadata_url_bad_redirect', `The metadata URL answered ${status} without a Location.`));
    return;
  }
  if (status < 200 || status > 299) {
    response.destroy();
    resolve(failure('metadata_url_status', `The metadata URL answered HTTP ${status}.`, { detail: { status } }));
    return;
  }
  const tooLarge = (): Hop => failure('metadata_url_too_large', `The metadata is larger than ${maxBytes} bytes.`);
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
  response.on('end', () => resolve({ ok: true, body: Buffer.concat(chunks).toString('utf8') }));
  const broken = (why: string, cause?: string): Hop =>
    signal.aborted ? timedOut() : failure('metadata_url_unreachable', why, cause === undefined ? {} : { detail: { cause } });
  response.on('error', (error) => {
    resolve(broken(`The connection broke while reading the metadata (${describeNetworkError(error)}).`, error.message));
  });
  // 'close' without 'end' (the socket closed early): the body is incomplete. After 'end' it is a no-op.
  response.on('close', () => resolve(broken('The connection closed before the metadata was complete.')));
}

function describeNetworkError(error: NodeJS.ErrnoException): string {
  return error.code ?? error.message;
}

function timedOut(): Failure {
  return failure('metadata_url_timeout', 'The metadata URL did not answer in time.');
}

function forbidden(address: string): Failure {
  const category = classifyAddress(address) ?? 'internal';
  // The address itself stays in `detail`: echoing it would turn this into a map of the internal network.
  const message = `The metadata URL leads to a ${category} address, which Lanyard does not fetch from.`;
  return failure('metadata_url_forbidden_address', message, { detail: { address, category } });
}

function failure(code: MetadataUrlErrorCode, message: string, extra: Partial<MetadataUrlError> = {}): Failure {
  return { ok: false, error: { ...extra, code, message } };
}

function addressPolicy(options: MetadataUrlOptions): (address: string) => boolean {
  const key = (address: string): string => ipBytes(address)?.join('.') ?? 'invalid';
  const allowed = new Set((options.allowedAddresses ?? []).filter((a) => isIP(a.split('%')[0]!) !== 0).map(key));
  return (address) => options.allowPrivateAddresses === true || allowed.has(key(address)) || classifyAddress(address) === undefined;
}

// --- Address classification (IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC 6890). ---

/** Why an address is internal, or undefined for a public unicast address. Unparseable input counts as internal. */
export type AddressCategory = 'private' | 'loopback' | 'link-local' | 'unique-local' | 'shared (CGNAT)' | 'multicast' | 'unspecified' | 'reserved';

type Rule = [prefix: number[], bits: number, category: AddressCategory | 'embedded-ipv4', embeddedAt?: number];

const RULES: Rule[] = [
  ['0.0.0.0', 8, 'unspecified'], ['10.0.0.0', 8, 'private'], ['100.64.0.0', 10, 'shared (CGNAT)'], ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], ['172.16.0.0', 12, 'private'], ['192.0.0.0', 24, 'reserved'], ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'], ['192.168.0.0', 16, 'private'], ['198.18.0.0', 15, 'reserved'], ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'], ['224.0.0.0', 4, 'multicast'], ['240.0.0.0', 4, 'reserved'],
  ['::', 128, 'unspecified'], ['::1', 128, 'loopback'],
  // IPv4-mapped (RFC 4291 §2.5.5.2), NAT64 well-known prefix (RFC 6052) and 6to4 (RFC 3056) carry an
  // IPv4 address that the packet really reaches, so that address is judged instead.
  ['::ffff:0:0', 96, 'embedded-ipv4', 12], ['64:ff9b::', 96, 'embedded-ipv4', 12], ['2002::', 16, 'embedded-ipv4', 2],
  ['::', 96, 'reserved'], ['64:ff9b:1::', 48, 'reserved'], ['100::', 64, 'reserved'], ['2001::', 32, 'reserved'],
  ['2001:db8::', 32, 'reserved'], ['fc00::', 7, 'unique-local'], ['fe80::', 10, 'link-local'], ['fec0::', 10, 'private'],
  ['ff00::', 8, 'multicast'],
].map(([prefix, bits, category, at]) => [ipBytes(prefix as string)!, bits, category, at] as Rule);

/** Classifies an IPv4 or IPv6 address (zone index allowed) against the ranges Lanyard never fetches from. */
export function classifyAddress(address: string): AddressCategory | undefined {
  const bytes = ipBytes(address);
  if (bytes === undefined) return 'reserved';
  for (const [prefix, bits, category, at] of RULES) {
    if (prefix.length !== bytes.length || !matches(bytes, prefix, bits)) continue;
    return category === 'embedded-ipv4' ? classifyAddress(bytes.slice(at, at! + 4).join('.')) : category;
  }
  return undefined;
}

function matches(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> i % 8;
    if ((bytes[i >> 3]! & mask) !== (prefix[i >> 3]! & mask)) return false;
  }
  return true;
}

/** 4 or 16 octets, or undefined when `address` is not an IP address. */
function ipBytes(address: string): number[] | undefined {
  const text = address.split('%')[0]!;
  const family = isIP(text);
  if (family === 4) return text.split('.').map(Number);
  if (family !== 6) return undefined;
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  // A dotted IPv4 tail (::ffff:1.2.3.4) stands for the last two 16-bit groups.
  const hex = dotted === null ? text : `${text.slice(0, dotted.index + 1)}0:0`;
  const [head = '', tail] = hex.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : 8 - left.length - right.length).fill('0'), ...right];
  const bytes = groups.flatMap((group) => [parseInt(group, 16) >> 8, parseInt(group, 16) & 0xff]);
  if (dotted !== null) bytes.splice(12, 4, ...dotted[1]!.split('.').map(Number));
  return bytes;
}
