import { createLogger, openMigratedDatabase, resolveSecretKey } from '../src/boot.ts';
import type { Config } from '../src/config.ts';
import { createDeps } from '../src/deps.ts';
import type { KeyPurpose } from '../src/http/schemas/keys.ts';
import { KEY_PURPOSES } from '../src/domain/keys/rollover.ts';

/**
 * `lanyard keys rotate [--purpose saml-sp|oidc-token-signing]…`: publishes the next key of each
 * purpose (default both), as `POST /v1/keys/rotate` does; prints every published key and when the
 * next ones sign. Exit code 2 for an unknown purpose, 1 while a rotation still waits to sign.
 */
export async function rotateKeys(config: Config, purposes: readonly string[]): Promise<number> {
  const unknown = purposes.find((p) => !(KEY_PURPOSES as readonly string[]).includes(p));
  if (unknown !== undefined) {
    process.stderr.write(`lanyard: unknown key purpose "${unknown}" (${KEY_PURPOSES.join(' or ')})\n`);
    return 2;
  }
  const logger = createLogger({ logLevel: 'warn' });
  const database = await openMigratedDatabase(config, logger, 'lanyard keys rotate');
  const deps = createDeps(config, { db: database.db, logger, secretKey: await resolveSecretKey(config) });
  try {
    const keys = await deps.services.keyRollover.rotate(
      { id: 'cli', organizationId: null, requestId: null },
      purposes.length === 0 ? KEY_PURPOSES : (purposes as KeyPurpose[]),
    );
    for (const key of keys) {
      const when = key.state === 'next' ? ` signs from ${key.activatesAt}` : key.retiresAt ? ` retires at ${key.retiresAt}` : '';
      process.stdout.write(`${key.purpose} ${key.id} ${key.state}${when}\n`);
    }
    return 0;
  } finally {
    await deps.close();
    await database.close();
  }
}
