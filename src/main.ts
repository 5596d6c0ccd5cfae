import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { checkListenAddress, createLogger, listenProblem, openMigratedDatabase, resolveSecretKey } from './boot.ts';
import { superviseWorkers } from './cluster.ts';
import { ConfigError, loadConfig, redactConfig, type Config } from './config.ts';
import { createDeps } from './deps.ts';
import { DataDirectoryLockedError } from './storage/data-dir-lock.ts';
import type { DatabaseHandle } from './storage/database.ts';

/** Stops the process with one line on stderr and no stack trace: a problem the operator can fix. */
function refuse(message: string, code: number): never {
  process.stderr.write(`lanyard: ${message}\n`);
  process.exit(code);
}

/**
 * Process entry: config → port check → database → app → listen; the only place that exits. With
 * LANYARD_WORKERS > 1 the primary checks, migrates and creates the first key once, then forks the
 * workers (src/cluster.ts), which skip straight to serving.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) refuse(`configuration error: ${error.message}`, 2);
    throw error;
  }
  if (cluster.isWorker) return serve(config, createLogger(config), 'worker');
  // Before anything is created or printed. Exit code 1, not 2: the configuration is valid, and
  // starts as it is once the other process lets the port go.
  const address = await checkListenAddress(config);
  if (!address.ok) refuse(address.error.message, 1);

  const logger = createLogger(config);
  logger.info({ config: redactConfig(config) }, 'starting lanyard');
  if (config.workers === 1) return serve(config, logger, 'single');

  if (config.redisUrl === undefined) {
    logger.warn({ workers: config.workers }, 'without LANYARD_REDIS_URL each worker keeps its own rate limit counters');
  }
  const database = await openDatabaseOrRefuse(config, logger);
  const deps = createDeps(config, { db: database.db, logger, secretKey: await resolveSecretKey(config) });
  await bootstrapAdminKey(config, deps);
  await deps.close();
  await database.close();
  const workers = superviseWorkers(config.workers, logger);
  const stop = async (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping the workers');
    process.exit(await workers.stop(signal));
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  try {
    await workers.ready;
  } catch (error) {
    await workers.stop('SIGTERM');
    refuse(`${(error as Error).message}; its log above says why`, 1);
  }
  logger.info({ url: config.publicUrl, docs: `${config.publicUrl}/docs`, workers: config.workers }, 'lanyard is ready');
}

/** The server itself: in a single process (`single`), or as one worker of a cluster (`worker`). */
async function serve(config: Config, logger: Logger, mode: 'single' | 'worker'): Promise<void> {
  const database = await openDatabaseOrRefuse(config, logger);
  const secretKey = await resolveSecretKey(config);
  const deps = createDeps(config, { db: database.db, logger, secretKey });
  if (mode === 'single') await bootstrapAdminKey(config, deps);

  const app = await buildApp(deps);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new connections; finishing requests in flight');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'requests still in flight after the shutdown timeout; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    await app.close();
    await deps.close();
    await database.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // The port was taken between the check above and now.
    const problem = listenProblem(error, config);
    if (problem === undefined) throw error;
    await database.close();
    refuse(problem.message, 1);
  }
  if (mode === 'single') logger.info({ url: config.publicUrl, docs: `${config.publicUrl}/docs` }, 'lanyard is ready');
}

async function openDatabaseOrRefuse(config: Config, logger: Logger): Promise<DatabaseHandle> {
  try {
    // The database first: on the embedded one it locks the data directory, which the sealing key shares.
    return await openMigratedDatabase(config, logger, 'the running server');
  } catch (error) {
    if (error instanceof DataDirectoryLockedError)
      refuse(
        `${error.message}: stop it first, or give this server a LANYARD_DATA_DIR of its own (or PostgreSQL, where instances share a database)`,
        1,
      );
    throw error;
  }
}

/** Creates the first admin key on a database that has none, or installs LANYARD_BOOTSTRAP_API_KEY. */
async function bootstrapAdminKey(config: Config, deps: ReturnType<typeof createDeps>): Promise<void> {
  const bootstrap = await deps.services.apiKeys.bootstrap(config.bootstrapApiKey);
  if (bootstrap !== null && config.bootstrapApiKey === undefined) {
    // For the person at the terminal, on stderr: stdout is the JSON log stream, which log shippers keep.
    process.stderr.write(
      `\nLanyard created the first admin API key. It is shown only this once; keep it somewhere safe:\n\n    ${bootstrap.token}\n\n` +
        `Try it:  curl -H 'Authorization: Bearer ${bootstrap.token}' ${config.publicUrl}/v1/organizations\n\n`,
    );
  } else if (bootstrap !== null) {
    deps.logger.info({ keyId: bootstrap.id }, 'installed LANYARD_BOOTSTRAP_API_KEY as the first admin key');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`lanyard: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
