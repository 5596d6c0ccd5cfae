import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SecretKey } from '../config.ts';
import type { RandomBytes } from './tokens.ts';

/**
 * Seals secrets that must be read back (OIDC client secrets, private keys) with AES-256-GCM.
 * A sealed value is `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts), so a value sealed
 * under an older key still opens while `lanyard secrets rotate` re-seals everything under the
 * current one. `context` (e.g. the row id and column) is bound as associated data, so a sealed
 * value copied into another row or column does not open there.
 */
export interface Sealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
  /** True when `sealed` is under the current key. */
  isCurrent(sealed: string): boolean;
  readonly currentKeyId: string;
}

/** A sealed value that cannot be opened: unknown key, tampered, or moved to another context. */
export class SealError extends Error {
  override name = 'SealError';
}

/** Builds a sealer over the current key and older ones kept for reading. */
export function createSealer(current: SecretKey, previous: readonly SecretKey[], random: RandomBytes): Sealer {
  const keys = new Map<string, Buffer>([...previous, current].map((k) => [k.id, k.key]));
  return {
    currentKeyId: current.id,
    seal(plaintext, context) {
      const iv = random(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join(
        '.',
      );
    },
    open(sealed, context) {
      const [version, keyId, iv, tag, ciphertext] = sealed.split('.');
      if (version !== 'v1' || keyId === undefined || iv === undefined || tag === undefined || ciphertext === undefined)
        throw new SealError('not a sealed value');
      const key = keys.get(keyId);
      if (key === undefined)
        throw new SealError(`sealed under key ${keyId}, which is neither LANYARD_SECRET_KEY nor in LANYARD_PREVIOUS_SECRET_KEYS`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new SealError('sealed value failed authentication (tampered, or moved to another record)', { cause: error });
      }
    },
    isCurrent(sealed) {
      return sealed.split('.')[1] === current.id;
    },
  };
}
