import { randomBytes } from 'node:crypto';
import { createLogger, openMigratedDatabase } from '../src/boot.ts';
import type { Config } from '../src/config.ts';
import { createConsoleService } from '../src/domain/console/sessions.ts';

/** `lanyard console-link`: prints a single-use link that signs a browser in to the operator console. */
export async function createConsoleLink(config: Config): Promise<number> {
  const database = await openMigratedDatabase(config, createLogger({ logLevel: 'warn' }), 'lanyard console-link');
  try {
    const consoleService = createConsoleService({ db: database.db, clock: () => new Date(), random: randomBytes, config });
    const link = await consoleService.createLink({ id: 'cli', organizationId: null, requestId: null });
    process.stdout.write(`${link.url}\n`);
    process.stderr.write(`console sign-in link ${link.id}: works once, until ${link.expiresAt}\n`);
    return 0;
  } finally {
    await database.close();
  }
}
