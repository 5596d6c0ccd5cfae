import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { parseSecretKey } from '../../src/config.ts';
import { createSealer, SealError } from '../../src/crypto/seal.ts';

const key = (b: Buffer) => parseSecretKey('TEST', b.toString('base64'));

test('seals and opens, bound to its context, under rotating keys', () => {
  const oldKey = key(randomBytes(32));
  const newKey = key(randomBytes(32));
  const before = createSealer(oldKey, [], randomBytes);
  const sealed = before.seal('client-secret-value', 'connections:conn_1');
  assert.ok(!sealed.includes('client-secret-value'));
  assert.equal(before.open(sealed, 'connections:conn_1'), 'client-secret-value');
  assert.throws(() => before.open(sealed, 'connections:conn_2'), SealError, 'a value moved to another record does not open');
  const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
  assert.throws(() => before.open(tampered, 'connections:conn_1'), SealError);

  const during = createSealer(newKey, [oldKey], randomBytes);
  assert.equal(during.open(sealed, 'connections:conn_1'), 'client-secret-value');
  assert.equal(during.isCurrent(sealed), false);
  const resealed = during.seal(during.open(sealed, 'connections:conn_1'), 'connections:conn_1');
  assert.equal(during.isCurrent(resealed), true);
  const after = createSealer(newKey, [], randomBytes);
  assert.equal(after.open(resealed, 'connections:conn_1'), 'client-secret-value');
  assert.throws(() => after.open(sealed, 'connections:conn_1'), /neither LANYARD_SECRET_KEY/);
});
