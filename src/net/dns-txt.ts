import { Resolver } from 'node:dns/promises';
import type { Catalogue } from '../domain/catalogue.ts';
import { err, ok, type Result } from '../domain/result.ts';

/**
 * Why a TXT lookup found nothing usable, by stable code. Each is a DNS condition, never a bug, so
 * the lookup returns it instead of throwing; the domain-verification schedule retries them all.
 */
export const DNS_TXT_ERROR_CATALOGUE = {
  dns_invalid_name: {
    description: 'The name is not one that can be asked of DNS (not ASCII, an empty or over-long label, over 253 characters).',
  },
  dns_name_not_found: { description: 'The DNS server answered that the name does not exist (NXDOMAIN).' },
  dns_no_txt_record: { description: 'The name exists (or is a CNAME) but has no TXT record (NOERROR with no TXT answer).' },
  dns_timeout: { description: 'No DNS server answered in time (every try timed out, or the whole lookup passed its time limit).' },
  dns_server_failure: {
    description: 'The DNS server failed or refused the query (SERVFAIL, REFUSED, connection refused, malformed answer).',
  },
} as const satisfies Catalogue;

/** A stable code from {@link DNS_TXT_ERROR_CATALOGUE}. */
export type DnsTxtErrorCode = keyof typeof DNS_TXT_ERROR_CATALOGUE;

/** Why the lookup failed; `cause` is the resolver's own code (ESERVFAIL, EREFUSED, …), for logs. */
export interface DnsTxtError {
  readonly code: DnsTxtErrorCode;
  readonly cause?: string;
}

/**
 * The TXT records found at a name, each record's character-strings joined without a separator
 * (the RFC 7208 §3.3 convention: a record of several strings is read as their concatenation), so
 * that a value split by a DNS console into 255-byte strings still compares as one record. Bytes are
 * read as Latin-1 (node:dns does so), so a record can hold any code point up to U+00FF, NUL included.
 */
export interface TxtRecords {
  readonly records: readonly string[];
}

/** Looks up the TXT records of `name`; resolves to a Result for every DNS condition and never rejects for one. */
export type TxtLookup = (name: string) => Promise<Result<TxtRecords, DnsTxtError>>;

export interface TxtLookupOptions {
  /** Servers, in the forms of node:dns `setServers` ('ip', 'ip:port', '[v6]:port'); undefined: the system's (/etc/resolv.conf). */
  readonly servers?: readonly string[] | undefined;
  /** c-ares' timeout for a first try at one server, in ms; later tries wait longer (c-ares backs off). Default 1000. */
  readonly timeoutMs?: number | undefined;
  /** Tries per server. Default 2. */
  readonly tries?: number | undefined;
  /** A hard limit for the whole lookup, whatever the servers and tries; then `dns_timeout`. Default 5000 ms. */
  readonly deadlineMs?: number | undefined;
}

/** The defaults: with one silent server, c-ares 1.34 (Node 20) gives up after about 4 s; the deadline bounds any other case to 5 s. */
export const TXT_LOOKUP_DEFAULTS = { timeoutMs: 1000, tries: 2, deadlineMs: 5000 } as const;

// A DNS name as it goes on the wire: ASCII labels of 1-63 letters, digits, '-' or '_' (service labels
// such as `_lanyard-verification`, RFC 8552), 253 characters at most without the root dot (RFC 1035 §2.3.4).
const LABEL = /^[A-Za-z0-9_-]{1,63}$/;

/** True when `name` can be sent as a query (an optional trailing root dot allowed). */
export function isQueryableName(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare.length > 0 && bare.length <= 253 && bare.split('.').every((label) => LABEL.test(label));
}

/**
 * A TXT lookup through its own node:dns `Resolver` per call (so the deadline's `cancel()` touches
 * no other lookup). CNAMEs are followed by the recursive server, which answers a TXT query at an
 * alias with the chain and the target's TXT records; the resolver keeps the TXT records of the answer.
 * Throws only for bad `servers` (a configuration error), at creation.
 */
export function createTxtLookup(options: TxtLookupOptions = {}): TxtLookup {
  const timeout = options.timeoutMs ?? TXT_LOOKUP_DEFAULTS.timeoutMs;
  const tries = options.tries ?? TXT_LOOKUP_DEFAULTS.tries;
  const deadlineMs = options.deadlineMs ?? TXT_LOOKUP_DEFAULTS.deadlineMs;
  const servers = options.servers === undefined ? undefined : [...options.servers];
  const newResolver = (): Resolver => {
    const resolver = new Resolver({ timeout, tries });
    if (servers !== undefined) resolver.setServers(servers);
    return resolver;
  };
  newResolver(); // fails now, not at the first lookup, on a server string setServers refuses
  return async (name) => {
    if (!isQueryableName(name)) return err({ code: 'dns_invalid_name' });
    const resolver = newResolver();
    // An object, not a `let`: the timer sets it, and the compiler does not see a callback's assignments.
    const deadline = { passed: false };
    const timer = setTimeout(() => {
      deadline.passed = true;
      resolver.cancel();
    }, deadlineMs);
    try {
      const answer = await resolver.resolveTxt(name);
      // An alias whose target has no TXT record is a NOERROR answer holding only the CNAME: no records.
      if (answer.length === 0) return err({ code: 'dns_no_txt_record' });
      return ok({ records: answer.map((strings) => strings.join('')) });
    } catch (error) {
      return err(deadline.passed ? { code: 'dns_timeout', cause: 'deadline' } : classify(error));
    } finally {
      clearTimeout(timer);
    }
  };
}

// c-ares' status codes as node:dns names them (`dns.NOTFOUND` is 'ENOTFOUND', …) that are not a server failure.
const CODES: Readonly<Record<string, DnsTxtErrorCode>> = {
  ENOTFOUND: 'dns_name_not_found',
  ENODATA: 'dns_no_txt_record',
  ETIMEOUT: 'dns_timeout',
  ECANCELLED: 'dns_timeout',
  EBADNAME: 'dns_invalid_name',
};

/**
 * Maps a resolver rejection to its code. Every other status (ESERVFAIL, EREFUSED, ECONNREFUSED,
 * EBADRESP, EFORMERR, …) is the server's failure; a rejection without a code is a bug and is rethrown.
 */
function classify(error: unknown): DnsTxtError {
  const cause = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (cause === undefined) throw error;
  return { code: Object.hasOwn(CODES, cause) ? (CODES[cause] ?? 'dns_server_failure') : 'dns_server_failure', cause };
}
