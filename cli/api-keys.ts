import { randomBytes } from 'node:crypto';
import { createLogger, openMigratedDatabase } from '../src/boot.ts';
import type { Config } from '../src/config.ts';
import { createApiKeyService } from '../src/domain/api-keys/api-keys.ts';

/** `lanyard api-keys create`: a new admin key, or one scoped to `--organization`; prints the token once. */
export async function createApiKey(config: Config, input: { name: string; organizationId: string | undefined }): Promise<number> {
  const database = await openMigratedDatabase(config, createLogger({ logLevel: 'warn' }), 'lanyard api-keys create');
  try {
    const apiKeys = createApiKeyService({ db: database.db, clock: () => new Date(), random: randomBytes });
    const key = await apiKeys.create(
      { id: 'cli', organizationId: null, requestId: null },
      { name: input.name, organizationId: input.organizationId ?? null },
    );
    process.stdout.write(`${key.token}\n`);
    process.stderr.write(
      `created ${key.scope} key ${key.id}${key.organizationId ? ` for ${key.organizationId}` : ''}; the token above is shown only once\n`,
    );
    return 0;
  } finally {
    await database.close();
  }
}
