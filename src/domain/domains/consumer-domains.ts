// Consumer ("free mail") domains: anyone can get an address there, so no organization can own one,
// and routing its logins to one organization would hand that organization everyone's sign-ins.
// The list is the npm package email-providers (ISC; about 8,700 mailbox providers, built from
// goware/emailproviders; no disposable-address domains, no dependencies, no install script).
import { domainToASCII } from 'node:url';
import providers from 'email-providers/all.json' with { type: 'json' };

// RFC 2606 §3 reserves these for documentation: nobody's mail is there, and the list carries
// example.com by mistake. Kept usable so examples and tests can claim them.
const RESERVED_EXAMPLES = new Set(['example.com', 'example.net', 'example.org']);

// The list holds a few IDNs in Unicode (müll.email); compared here in their ASCII form, as domains are stored.
const CONSUMER_DOMAINS: ReadonlySet<string> = new Set(
  providers.map((domain) => domainToASCII(domain.toLowerCase())).filter((domain) => domain !== '' && !RESERVED_EXAMPLES.has(domain)),
);

/**
 * True when `domain` is a consumer mail domain (gmail.com, outlook.com, …), so it may not be used
 * for discovery. Exact match only, never by parent: the list holds public suffixes such as com.ar
 * and org.ua, and a parent match would refuse every company under them. `domain` may be in
 * Unicode or ASCII form, any case, with a trailing dot.
 */
export function isConsumerDomain(domain: string): boolean {
  return CONSUMER_DOMAINS.has(domainToASCII(domain.trim().toLowerCase().replace(/\.$/, '')));
}
