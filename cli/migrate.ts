import { createLogger, openMigratedDatabase } from '../src/boot.ts';
import type { Config } from '../src/config.ts';

/** `lanyard migrate`: applies pending migrations (under the migrator's advisory lock) and exits. */
export async function migrate(config: Config): Promise<number> {
  const database = await openMigratedDatabase(config, createLogger(config), 'lanyard migrate');
  await database.close();
  return 0;
}
