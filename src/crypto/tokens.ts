import { createHash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

/** A source of random bytes; {@link pooledRandomBytes} in production, passed in through deps. */
export type RandomBytes = (size: number) => Buffer;

/**
 * node:crypto's CSPRNG drawn `poolSize` bytes at a time, as node's own randomUUID does: a login
 * takes a dozen small random values, and each call into OpenSSL's generator costs about 20 µs here.
 * Every byte is handed out once, copied, and wiped from the pool; larger requests bypass it.
 */
export function pooledRandomBytes(poolSize = 4096): RandomBytes {
  const pool = Buffer.alloc(poolSize);
  let at = poolSize;
  return (size) => {
    if (size > poolSize / 4) return randomBytes(size);
    if (at + size > poolSize) {
      randomFillSync(pool);
      at = 0;
    }
    const out = Buffer.from(pool.subarray(at, at + size));
    pool.fill(0, at, at + size);
    at += size;
    return out;
  };
}

/** A source of the current time, passed in through deps so tests never stub globals. */
export type Clock = () => Date;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The random part of an id: 80 bits, as 16 Crockford base32 characters. */
const RANDOM_BITS = 80n;

/**
 * The last id this process made, so that the next one sorts after it (ULID spec, "Monotonicity"):
 * ids made in the same millisecond, or after the clock stepped back, would otherwise sort at random.
 */
const previous = { time: -1, random: 0n };

/**
 * A prefixed, time-ordered id (`org_01J…`): 48 bits of milliseconds then 80 random bits, in
 * Crockford base32 like a ULID, so ids sort by creation and serve directly as pagination cursors.
 * Monotonic within the process, as the ULID spec's monotonic generation: an id made in the same
 * or an earlier millisecond than the previous one takes that one's time and its random part plus
 * one, so events, traces and cursors made in one millisecond keep their order.
 *
 * @throws RangeError when 2^80 ids fall in one millisecond (the random part would overflow, as the spec says).
 */
export function newId(prefix: string, now: Date, random: RandomBytes): string {
  const time = now.getTime();
  if (time > previous.time) {
    previous.time = time;
    previous.random = BigInt(`0x${random(10).toString('hex')}`);
  } else {
    previous.random += 1n;
    if (previous.random >> RANDOM_BITS !== 0n) throw new RangeError('more ids in one millisecond than an id can order');
  }
  return `${prefix}_${base32(BigInt(previous.time), 10)}${base32(previous.random, 16)}`;
}

/** `value` as `length` Crockford base32 characters, most significant first. */
function base32(value: bigint, length: number): string {
  let out = '';
  for (let rest = value, i = 0; i < length; i++, rest >>= 5n) out = CROCKFORD.charAt(Number(rest & 31n)) + out;
  return out;
}

/** An unguessable bearer secret: `bytes` random bytes, base64url. */
export function randomToken(random: RandomBytes, bytes = 32): string {
  return random(bytes).toString('base64url');
}

/** The SHA-256 of a high-entropy bearer secret, hex: what we store instead of the secret. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares two strings without leaking where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}
