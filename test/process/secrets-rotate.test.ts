// `lanyard secrets rotate` as an operator runs it: a child process over an embedded database in a
// temporary data directory, with the new key in LANYARD_SECRET_KEY and the old one as previous.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSecretKey } from '../../src/config.ts';
import { createSealer } from '../../src/crypto/seal.ts';
import { createSelfSignedCertificate } from '../../src/crypto/self-signed.ts';
import { createDeploymentKeys } from '../../src/domain/keys/deployment-keys.ts';
import { migrateToLatest, openDatabase } from '../../src/storage/database.ts';
import { runEntryToExit } from '../support/server-process.ts';

const runCli = (args: string[], env: Record<string, string>) => runEntryToExit('cli/main.ts', args, env);

test('lanyard secrets rotate re-seals under the new key; the old key is then not needed', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lanyard-rotate-'));
  const [a, b] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  const keyA = parseSecretKey('A', a);
  const keyB = parseSecretKey('B', b);
  try {
    const handle = await openDatabase({ dataDir });
    await migrateToLatest(handle.db);
    const sealerA = createSealer(keyA, [], randomBytes);
    const now = new Date();
    await handle.db
      .insertInto('organizations')
      .values({ id: 'org_01', name: 'Rotate', external_id: null, created_at: now, updated_at: now })
      .execute();
    await handle.db
      .insertInto('connections')
      .values({
        id: 'conn_01',
        organization_id: 'org_01',
        type: 'oidc',
        provider: 'generic',
        name: 'R',
        enabled: false,
        state: 'draft',
        settings: '{}',
        sealed_secret: sealerA.seal('client-secret', 'connections:conn_01'),
        attribute_mapping: '{}',
        group_sync: false,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const keys = createDeploymentKeys({ db: handle.db, sealer: sealerA, clock: () => now, random: randomBytes });
    await keys.get('saml-sp', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const certificatePem = createSelfSignedCertificate({
        privateKey,
        commonName: 'rotate',
        validityYears: 1,
        now,
        serialEntropy: randomBytes(16),
      });
      return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certificatePem };
    });
    await handle.close();

    const env = { LANYARD_DATA_DIR: dataDir, LANYARD_SECRET_KEY: b, LANYARD_PREVIOUS_SECRET_KEYS: a };
    const first = await runCli(['secrets', 'rotate'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^connections\.sealed_secret: 1 re-sealed, 0 already under key/m);
    assert.match(first.stdout, /^deployment_keys\.sealed_private_key: 1 re-sealed, 0 already under key/m);
    assert.match(first.stdout, /re-sealed 2 value\(s\) under key [0-9a-f]{8}; 0 already current; 0 failed/);
    const second = await runCli(['secrets', 'rotate'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /re-sealed 0 value\(s\) under key [0-9a-f]{8}; 2 already current; 0 failed/);

    const reopened = await openDatabase({ dataDir });
    try {
      const onlyB = createSealer(keyB, [], randomBytes);
      const row = await reopened.db.selectFrom('connections').select('sealed_secret').executeTakeFirstOrThrow();
      assert.equal(onlyB.open(row.sealed_secret!, 'connections:conn_01'), 'client-secret');
      const key = await reopened.db.selectFrom('deployment_keys').selectAll().executeTakeFirstOrThrow();
      assert.match(onlyB.open(key.sealed_private_key, `deployment_keys:${key.id}`), /BEGIN PRIVATE KEY/);
    } finally {
      await reopened.close();
    }

    const wrong = await runCli(['secrets', 'rotate'], {
      LANYARD_DATA_DIR: dataDir,
      LANYARD_SECRET_KEY: randomBytes(32).toString('base64'),
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /2 failed/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
