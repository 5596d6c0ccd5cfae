import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Sealer } from '../../crypto/seal.ts';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import {
  insertDeploymentKey,
  listPublishedDeploymentKeys,
  lockDeploymentKeyPurpose,
  scheduleRetirement,
} from '../../storage/deployment-keys.ts';
import type { Database, DeploymentKeyRow } from '../../storage/schema.ts';

/** A deployment-wide key pair, opened for use. */
export interface DeploymentKey {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
  readonly certificatePem: string | null;
  /** When it signs from (null: since its creation) and when it is retired (null: not scheduled). */
  readonly activatesAt: Date | null;
  readonly retiresAt: Date | null;
}

/** What a purpose generates on first use and at each rotation: a PKCS#8 private key PEM and, optionally, a certificate. */
export type GenerateKey = () => Promise<{ privateKeyPem: string; certificatePem?: string }>;

/** The keys of one purpose at one moment: the one that signs, and every one still published (it among them). */
export interface KeySet {
  readonly signing: DeploymentKey;
  readonly published: readonly DeploymentKey[];
}

// Another instance's rotation is seen within this long; a rotation on this instance at once.
const ROWS_TTL_MS = 30_000;

/**
 * Key pairs per deployment and purpose (the SAML SP key, the token signing key), kept sealed in the
 * database: the first instance to need one creates it under an advisory lock, every other instance
 * reads the same rows, and each keeps the opened keys in memory. During a rollover a purpose has
 * several published keys; which one signs follows from their `activatesAt` and the clock, so every
 * instance switches at the same moment without being told.
 */
export function createDeploymentKeys(deps: { db: Kysely<Database>; sealer: Sealer; clock: Clock; random: RandomBytes }) {
  const opened = new Map<string, DeploymentKey>();
  const rows = new Map<string, { at: number; rows: Promise<DeploymentKeyRow[]> }>();

  function open(row: DeploymentKeyRow): DeploymentKey {
    let key = opened.get(row.id);
    if (key === undefined || key.retiresAt?.getTime() !== row.retired_at?.getTime()) {
      const privateKey = createPrivateKey(deps.sealer.open(row.sealed_private_key, `deployment_keys:${row.id}`));
      key = {
        id: row.id,
        privateKey,
        publicKey: createPublicKey(privateKey),
        publicPem: row.public_pem,
        certificatePem: row.certificate_pem,
        activatesAt: row.activates_at,
        retiresAt: row.retired_at,
      };
      opened.set(row.id, key);
    }
    return key;
  }

  async function load(purpose: string, generate: GenerateKey): Promise<DeploymentKeyRow[]> {
    const found = await listPublishedDeploymentKeys(deps.db, purpose, deps.clock());
    if (found.length > 0) return found;
    return deps.db.transaction().execute(async (trx) => {
      await lockDeploymentKeyPurpose(trx, purpose);
      const existing = await listPublishedDeploymentKeys(trx, purpose, deps.clock());
      if (existing.length > 0) return existing;
      return [await insertGenerated(trx, purpose, await generate(), null)];
    });
  }

  async function insertGenerated(
    trx: Kysely<Database>,
    purpose: string,
    generated: Awaited<ReturnType<GenerateKey>>,
    activatesAt: Date | null,
  ): Promise<DeploymentKeyRow> {
    const id = newId('key', deps.clock(), deps.random);
    return insertDeploymentKey(trx, {
      id,
      purpose,
      public_pem: createPublicKey(generated.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString(),
      certificate_pem: generated.certificatePem ?? null,
      sealed_private_key: deps.sealer.seal(generated.privateKeyPem, `deployment_keys:${id}`),
      created_at: deps.clock(),
      activates_at: activatesAt,
    });
  }

  async function keySet(purpose: string, generate: GenerateKey): Promise<KeySet> {
    const now = deps.clock();
    let cached = rows.get(purpose);
    if (cached === undefined || Math.abs(now.getTime() - cached.at) > ROWS_TTL_MS) {
      cached = { at: now.getTime(), rows: load(purpose, generate) };
      rows.set(purpose, cached);
      const failed = cached;
      cached.rows.catch(() => rows.get(purpose) === failed && rows.delete(purpose));
    }
    const published = (await cached.rows).filter((row) => row.retired_at === null || row.retired_at > now).map(open);
    // Newest first: the newest key whose time has come signs; the next one waits for its activatesAt.
    const signing = published.find((key) => key.activatesAt === null || key.activatesAt <= now) ?? published.at(-1);
    if (signing === undefined) {
      rows.delete(purpose); // every cached key retired meanwhile: read again
      return keySet(purpose, generate);
    }
    return { signing, published };
  }

  return {
    /** The key that signs for `purpose` now, generated with `generate` the first time any instance asks. */
    async get(purpose: string, generate: GenerateKey): Promise<DeploymentKey> {
      return (await keySet(purpose, generate)).signing;
    },

    /** The signing key and every key still published for `purpose` (metadata, JWKS, decryption). */
    keySet,

    /**
     * Publishes `generated` as the next key of `purpose`, signing from `activatesAt`, and schedules every key
     * published now to retire at `retiresAt`; in the caller's transaction, under the purpose's lock.
     * Undefined when a rollover is already under way (a published key that does not sign yet).
     */
    async publishNext(
      trx: Kysely<Database>,
      purpose: string,
      generated: Awaited<ReturnType<GenerateKey>>,
      schedule: { activatesAt: Date; retiresAt: Date },
    ): Promise<{ next: DeploymentKeyRow; previous: DeploymentKeyRow[] } | undefined> {
      await lockDeploymentKeyPurpose(trx, purpose);
      const now = deps.clock();
      const current = await listPublishedDeploymentKeys(trx, purpose, now);
      if (current.some((row) => row.activates_at !== null && row.activates_at > now)) return undefined;
      const next = await insertGenerated(trx, purpose, generated, schedule.activatesAt);
      const previous = await scheduleRetirement(
        trx,
        current.map((row) => row.id),
        schedule.retiresAt,
      );
      return { next, previous };
    },

    /** Drops the cached rows, so the next use reads them again (after this instance rotated). */
    forget(): void {
      rows.clear();
    },
  };
}

export type DeploymentKeys = ReturnType<typeof createDeploymentKeys>;
