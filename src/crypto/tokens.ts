import { createHash, timingSafeEqual } from 'node:crypto';

/** A source of random bytes; node:crypto's randomBytes in production, passed in through deps. */
export type RandomBytes = (size: number) => Buffer;

/** A source of the current time, passed in through deps so tests never stub globals. */
export type Clock = () => Date;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A prefixed, time-ordered id (`org_01J…`): 48 bits of milliseconds then 80 random bits, in
 * Crockford base32 like a ULID, so ids sort by creation and serve directly as pagination cursors.
 */
export function newId(prefix: string, now: Date, random: RandomBytes): string {
  let time = now.getTime();
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = CROCKFORD.charAt(time % 32) + head;
    time = Math.floor(time / 32);
  }
  const bytes = random(10);
  let tail = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      tail += CROCKFORD.charAt((buffer >> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  return `${prefix}_${head}${tail}`;
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
