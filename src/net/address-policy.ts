import { isIP } from 'node:net';

/**
 * Which addresses Lanyard may open outbound connections to when the URL came from a caller (IdP
 * metadata URLs, OIDC discovery): public unicast only, unless the operator allows more. Shared by
 * every fetch of a caller-supplied URL so that the SSRF rules live in one place.
 */
export interface AddressPolicyOptions {
  /** Allow private, loopback and other internal addresses too (an operator's choice; default false). */
  allowPrivateAddresses?: boolean | undefined;
  /** Individual addresses that pass even though internal, e.g. an on-premises ADFS (`10.0.4.7`). */
  allowedAddresses?: readonly string[] | undefined;
}

/** Builds the check applied to every address a request is about to connect to. */
export function addressPolicy(options: AddressPolicyOptions): (address: string) => boolean {
  const key = (address: string): string => ipBytes(address)?.join('.') ?? 'invalid';
  const allowed = new Set((options.allowedAddresses ?? []).filter((a) => isIP(withoutZone(a)) !== 0).map(key));
  return (address) => options.allowPrivateAddresses === true || allowed.has(key(address)) || classifyAddress(address) === undefined;
}

// --- Address classification (IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC 6890). ---

/** Why an address is internal, or undefined for a public unicast address. Unparseable input counts as internal. */
export type AddressCategory =
  'private' | 'loopback' | 'link-local' | 'unique-local' | 'shared (CGNAT)' | 'multicast' | 'unspecified' | 'reserved';

type Rule = [prefix: number[], bits: number, category: AddressCategory | 'embedded-ipv4', embeddedAt?: number];

const RULES: Rule[] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  // IPv4-mapped (RFC 4291 §2.5.5.2), NAT64 well-known prefix (RFC 6052) and 6to4 (RFC 3056) carry an
  // IPv4 address that the packet really reaches, so that address is judged instead.
  ['::ffff:0:0', 96, 'embedded-ipv4', 12],
  ['64:ff9b::', 96, 'embedded-ipv4', 12],
  ['2002::', 16, 'embedded-ipv4', 2],
  ['::', 96, 'reserved'],
  ['64:ff9b:1::', 48, 'reserved'],
  ['100::', 64, 'reserved'],
  ['2001::', 32, 'reserved'],
  ['2001:db8::', 32, 'reserved'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'],
  ['ff00::', 8, 'multicast'],
].map(([prefix, bits, category, at]) => [ruleBytes(prefix as string), bits, category, at] as Rule);

function ruleBytes(prefix: string): number[] {
  const bytes = ipBytes(prefix);
  if (bytes === undefined) throw new Error(`address rule ${prefix} is not an IP address`);
  return bytes;
}

/** Classifies an IPv4 or IPv6 address (zone index allowed) against the ranges Lanyard never fetches from. */
export function classifyAddress(address: string): AddressCategory | undefined {
  const bytes = ipBytes(address);
  if (bytes === undefined) return 'reserved';
  for (const [prefix, bits, category, at] of RULES) {
    if (prefix.length !== bytes.length || !matches(bytes, prefix, bits)) continue;
    if (category !== 'embedded-ipv4') return category;
    const start = at ?? 0;
    return classifyAddress(bytes.slice(start, start + 4).join('.'));
  }
  return undefined;
}

function matches(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if (((bytes[i >> 3] ?? 0) & mask) !== ((prefix[i >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

/** The address without its zone index (`fe80::1%eth0` → `fe80::1`). */
function withoutZone(address: string): string {
  const percent = address.indexOf('%');
  return percent < 0 ? address : address.slice(0, percent);
}

/** 4 or 16 octets, or undefined when `address` is not an IP address. */
function ipBytes(address: string): number[] | undefined {
  const text = withoutZone(address);
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
  if (dotted?.[1] !== undefined) bytes.splice(12, 4, ...dotted[1].split('.').map(Number));
  return bytes;
}
