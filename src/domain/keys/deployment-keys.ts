import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Sealer } from '../../crypto/seal.ts';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import { findCurrentDeploymentKey, insertDeploymentKey, lockDeploymentKeyPurpose } from '../../storage/deployment-keys.ts';
import type { Database } from '../../storage/schema.ts';

/** A deployment-wide key pair, opened for use. */
export interface DeploymentKey {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
  readonly certificatePem: string | null;
}

/** What a purpose generates on first use: a PKCS#8 private key PEM and, optionally, a certificate. */
export type GenerateKey = () => Promise<{ privateKeyPem: string; certificatePem?: string }>;

/**
 * Key pairs generated once per deployment and kept sealed in the database (the SAML SP key, the
 * token signing key): the first instance to need one creates it under an advisory lock, every
 * other instance reads the same row, and each keeps the opened key in memory.
 */
export function createDeploymentKeys(deps: { db: Kysely<Database>; sealer: Sealer; clock: Clock; random: RandomBytes }) {
  const cache = new Map<string, Promise<DeploymentKey>>();

  async function load(purpose: string, generate: GenerateKey): Promise<DeploymentKey> {
    let row = await findCurrentDeploymentKey(deps.db, purpose);
    if (row === undefined) {
      row = await deps.db.transaction().execute(async (trx) => {
        await lockDeploymentKeyPurpose(trx, purpose);
        const existing = await findCurrentDeploymentKey(trx, purpose);
        if (existing !== undefined) return existing;
        const generated = await generate();
        const id = newId('key', deps.clock(), deps.random);
        return insertDeploymentKey(trx, {
          id,
          purpose,
          public_pem: createPublicKey(generated.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString(),
          certificate_pem: generated.certificatePem ?? null,
          sealed_private_key: deps.sealer.seal(generated.privateKeyPem, `deployment_keys:${id}`),
          created_at: deps.clock(),
        });
      });
    }
    const privateKey = createPrivateKey(deps.sealer.open(row.sealed_private_key, `deployment_keys:${row.id}`));
    return {
      id: row.id,
      privateKey,
      publicKey: createPublicKey(privateKey),
      publicPem: row.public_pem,
      certificatePem: row.certificate_pem,
    };
  }

  return {
    /** The current key for `purpose`, generated with `generate` the first time any instance asks. */
    get(purpose: string, generate: GenerateKey): Promise<DeploymentKey> {
      let key = cache.get(purpose);
      if (key === undefined) {
        key = load(purpose, generate);
        cache.set(purpose, key);
        key.catch(() => cache.delete(purpose));
      }
      return key;
    },
  };
}

export type DeploymentKeys = ReturnType<typeof createDeploymentKeys>;
