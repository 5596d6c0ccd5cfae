import { randomBytes } from 'node:crypto';
import { createLogger, openMigratedDatabase, resolveSecretKey } from '../src/boot.ts';
import type { Config } from '../src/config.ts';
import { createSealer } from '../src/crypto/seal.ts';
import { rotateSealedSecrets } from '../src/domain/keys/secret-rotation.ts';

/**
 * `lanyard secrets rotate`: re-seals every sealed value under LANYARD_SECRET_KEY, opening the old
 * ones with LANYARD_PREVIOUS_SECRET_KEYS; prints what it did per column. Safe to run again.
 * Exit code 1 when a value could be opened by none of the keys.
 */
export async function rotateSecrets(config: Config): Promise<number> {
  const database = await openMigratedDatabase(config, createLogger({ logLevel: 'warn' }), 'lanyard secrets rotate');
  try {
    const secretKey = await resolveSecretKey(config);
    const sealer = createSealer(secretKey, config.previousSecretKeys, randomBytes);
    const report = await rotateSealedSecrets(database.db, sealer);
    for (const column of report) {
      const failed =
        column.failed.length > 0 ? `, ${column.failed.length} could not be opened (${column.failed.slice(0, 5).join(', ')})` : '';
      process.stdout.write(
        `${column.table}.${column.column}: ${column.resealed} re-sealed, ${column.current} already under key ${sealer.currentKeyId}${failed}\n`,
      );
    }
    const total = (pick: (c: (typeof report)[number]) => number): number => report.reduce((sum, c) => sum + pick(c), 0);
    const failed = total((c) => c.failed.length);
    process.stdout.write(
      `re-sealed ${total((c) => c.resealed)} value(s) under key ${sealer.currentKeyId}; ${total((c) => c.current)} already ` +
        `current; ${failed} failed\n`,
    );
    if (failed > 0)
      process.stderr.write('some values are sealed under a key that is neither LANYARD_SECRET_KEY nor in LANYARD_PREVIOUS_SECRET_KEYS\n');
    return failed > 0 ? 1 : 0;
  } finally {
    await database.close();
  }
}
