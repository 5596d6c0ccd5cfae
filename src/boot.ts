import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { parseSecretKey, type Config, type SecretKey } from './config.ts';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './storage/database.ts';

/** The process logger: JSON lines on stdout, secrets never among the logged fields. */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie', '*.clientSecret', '*.token'] });
}

/**
 * The sealing key. With PostgreSQL it must be configured (config.ts enforces it); on the embedded
 * database it is generated once into the data directory, readable by the owner only, so a fresh
 * clone starts with no setup and a restart can still open what it sealed.
 */
export async function resolveSecretKey(config: Config): Promise<SecretKey> {
  if (config.secretKey !== undefined) return config.secretKey;
  const file = join(config.dataDir, 'secret.key');
  try {
    return parseSecretKey(`the key file ${file}`, (await readFile(file, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(config.dataDir, { recursive: true });
  const encoded = randomBytes(32).toString('base64');
  await writeFile(file, `${encoded}\n`, { mode: 0o600, flag: 'wx' });
  return parseSecretKey(file, encoded);
}

/** Opens the configured database and brings its schema up to date. */
export async function openMigratedDatabase(config: Config, logger: Logger): Promise<DatabaseHandle> {
  const handle = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const applied = await migrateToLatest(handle.db);
  logger.info(
    { database: handle.kind, applied },
    applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
  );
  return handle;
}
