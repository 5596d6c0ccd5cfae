import {
  fetchGuarded,
  systemLookup as guardedSystemLookup,
  type GuardedFetchError,
  type GuardedFetchErrorCode,
  type Lookup,
  type ResolvedAddress as GuardedResolvedAddress,
} from '../../net/guarded-fetch.ts';

// The address rules moved to src/net/ for OIDC discovery to share; re-exported for existing callers.
export { classifyAddress, type AddressCategory } from '../../net/address-policy.ts';

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
export type ResolvedAddress = GuardedResolvedAddress;

/** The network I/O this module does besides connecting: name resolution. */
export interface MetadataUrlDeps {
  /** Every address of `hostname` (like `dns.lookup` with `all: true`). */
  lookup: Lookup;
}

/** Resolution through the operating system, as node:http would do by default. */
export const systemLookup: MetadataUrlDeps['lookup'] = guardedSystemLookup;

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
} as const satisfies Record<`metadata_url_${GuardedFetchErrorCode}`, string>;

/** A stable code from {@link METADATA_URL_ERROR_CATALOGUE}. */
export type MetadataUrlErrorCode = keyof typeof METADATA_URL_ERROR_CATALOGUE;

/** Why the metadata could not be fetched; `message` is safe to show to the admin who gave the URL. */
export interface MetadataUrlError {
  code: MetadataUrlErrorCode;
  message: string;
  detail?: GuardedFetchError['detail'];
}

/** The metadata and the URL it finally came from, or why not. */
export type FetchMetadataResult = { ok: true; value: { xml: string; finalUrl: string } } | { ok: false; error: MetadataUrlError };

const ACCEPT = 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1';

/**
 * Fetches IdP metadata from a URL an admin typed, with the SSRF defences of
 * {@link fetchGuarded}: http(s) only, every hop and every address checked, time and size bounded.
 */
export async function fetchMetadataUrl(options: MetadataUrlOptions, deps: MetadataUrlDeps): Promise<FetchMetadataResult> {
  const result = await fetchGuarded({ ...options, accept: ACCEPT, names: { url: 'metadata URL', document: 'metadata' } }, deps);
  if (result.ok) return { ok: true, value: { xml: result.value.body, finalUrl: result.value.finalUrl } };
  return { ok: false, error: { ...result.error, code: `metadata_url_${result.error.code}` } };
}
