// newId: the ULID layout (48 bits of milliseconds, 80 random bits, Crockford base32) and its
// monotonic generation within a process, so that ids made in one millisecond keep their order.
// The generator remembers the previous id, so each test starts at a millisecond later than any
// before it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { newId, pooledRandomBytes } from '../../src/crypto/tokens.ts';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const bytes =
  (...values: number[]) =>
  () =>
    Buffer.from(values);

/** The random part of an id (its last 16 characters) as a number. */
function randomPart(id: string): bigint {
  let value = 0n;
  for (const char of id.slice(-16)) value = value * 32n + BigInt(CROCKFORD.indexOf(char));
  return value;
}

test('an id is the prefix, 10 characters of milliseconds and 16 of random bits, in Crockford base32', () => {
  const id = newId('evt', new Date('2026-01-02T03:04:05.006Z'), bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  assert.equal(id, 'evt_01KDYAK34E000G40R40M30E209');
  assert.equal(randomPart(id), 0x00010203040506070809n);
});

test('ids made in the same millisecond sort in the order they were made: the random part plus one', () => {
  const now = new Date('2026-01-03T00:00:00.000Z');
  const first = newId('evt', now, bytes(0xf0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  const second = newId('evt', now, bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  assert.equal(second.slice(0, 14), first.slice(0, 14), 'the same time part');
  assert.equal(randomPart(second), randomPart(first) + 1n, 'the random source is not asked again');
  const ids = [first, second, ...Array.from({ length: 2000 }, () => newId('evt', now, randomBytes))];
  assert.deepEqual([...ids].sort(), ids, '2,002 ids of one millisecond, in creation order');
  assert.equal(new Set(ids).size, ids.length);
});

test('after the clock steps back, ids still sort after the previous one, which keeps its time', () => {
  const later = newId('dreq', new Date('2026-01-04T00:00:01.000Z'), randomBytes);
  const earlier = newId('dreq', new Date('2026-01-04T00:00:00.000Z'), randomBytes);
  assert.ok(earlier > later, `${earlier} sorts after ${later}`);
  assert.equal(earlier.slice(0, 15), later.slice(0, 15), 'the previous id’s time');
  assert.equal(randomPart(earlier), randomPart(later) + 1n);
});

test('a later millisecond starts from fresh random bits at its own time', () => {
  const first = newId('org', new Date('2026-01-05T00:00:00.000Z'), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 7));
  const next = newId('org', new Date('2026-01-05T00:00:00.001Z'), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 3));
  assert.ok(next > first);
  assert.notEqual(next.slice(0, 14), first.slice(0, 14));
  assert.equal(randomPart(next), 3n);
});

test('more ids in one millisecond than the random part can count is refused, as the ULID spec says', () => {
  const now = new Date('2026-01-06T00:00:00.000Z');
  const last = newId('evt', now, () => Buffer.alloc(10, 0xff));
  assert.equal(randomPart(last), 2n ** 80n - 1n);
  assert.throws(() => newId('evt', now, randomBytes), RangeError);
  // A later millisecond goes on as usual.
  assert.match(newId('evt', new Date('2026-01-06T00:00:00.001Z'), randomBytes), /^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
});

test('pooledRandomBytes: each byte of the pool is handed out once and copied; large requests bypass the pool', () => {
  const random = pooledRandomBytes(64);
  const draws = Array.from({ length: 40 }, () => random(7));
  assert.ok(draws.every((d) => d.length === 7));
  // 40 draws of 7 bytes cross the 64-byte pool several times: no two draws are equal.
  assert.equal(new Set(draws.map((d) => d.toString('hex'))).size, draws.length);
  const first = random(8);
  const copy = Buffer.from(first);
  for (let i = 0; i < 20; i++) random(8);
  assert.deepEqual(first, copy, 'a value handed out is not changed when the pool is refilled (a copy, not a view)');
  assert.equal(random(17).length, 17, 'more than a quarter of the pool comes straight from the generator');
});
