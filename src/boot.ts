import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { parseSecretKey, type Config, type SecretKey } from './config.ts';
import { err, ok, type Result } from './domain/result.ts';
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

/**
 * Opens the configured database and brings its schema up to date. `owner` says who opens it (`the
 * running server`, `lanyard migrate`), for the message another process gets while the embedded
 * database is held (storage/data-dir-lock.ts).
 */
export async function openMigratedDatabase(config: Config, logger: Logger, owner: string): Promise<DatabaseHandle> {
  const handle = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.databasePreparedStatements,
    owner,
  });
  const applied = await migrateToLatest(handle.db);
  logger.info(
    { database: handle.kind, applied },
    applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
  );
  return handle;
}

/** Why the server cannot listen where it is told to, in one line. */
export interface ListenProblem {
  readonly code: 'port_in_use' | 'port_not_permitted' | 'address_unavailable';
  readonly message: string;
}

/**
 * Binds the configured address once and lets it go, so that a port in use is found before the
 * first start creates anything (a sealing key, an admin key printed for a server that will not
 * run). Another process can still take the port before the server binds it: listen() failing
 * with the same error is answered by listenProblem() too.
 */
export function checkListenAddress(config: Pick<Config, 'port' | 'host'>): Promise<Result<void, ListenProblem>> {
  if (config.port === 0) return Promise.resolve(ok(undefined));
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => {
      const problem = listenProblem(error, config);
      if (problem === undefined) reject(error);
      else resolve(err(problem));
    });
    probe.listen({ port: config.port, host: config.host, exclusive: true }, () => probe.close(() => resolve(ok(undefined))));
  });
}

/** The one-line explanation of a listen error, or undefined when it is not one of the expected kinds. */
export function listenProblem(error: unknown, config: Pick<Config, 'port' | 'host'>): ListenProblem | undefined {
  const where = `${config.host}:${config.port}`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return {
        code: 'port_in_use',
        message: `port ${config.port} on ${config.host} is already in use: stop what listens there, or set LANYARD_PORT`,
      };
    case 'EACCES':
      return {
        code: 'port_not_permitted',
        message: `this user may not listen on ${where} (ports below 1024 need privileges): set LANYARD_PORT`,
      };
    case 'EADDRNOTAVAIL':
      return { code: 'address_unavailable', message: `${config.host} is not an address of this machine: set LANYARD_HOST` };
    default:
      return undefined;
  }
}
