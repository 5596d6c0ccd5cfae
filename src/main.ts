import { buildApp } from './app.ts';
import { createLogger, openMigratedDatabase, resolveSecretKey } from './boot.ts';
import { ConfigError, loadConfig, redactConfig, type Config } from './config.ts';
import { createDeps } from './deps.ts';

/** Process entry: config → database → app → listen; the only place that exits. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`lanyard: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config);
  logger.info({ config: redactConfig(config) }, 'starting lanyard');
  const secretKey = await resolveSecretKey(config);
  const database = await openMigratedDatabase(config, logger);
  const deps = createDeps(config, { db: database.db, logger, secretKey });

  const bootstrap = await deps.services.apiKeys.bootstrap(config.bootstrapApiKey);
  if (bootstrap !== null && config.bootstrapApiKey === undefined) {
    process.stdout.write(
      `\nLanyard created the first admin API key. It is shown only this once; keep it somewhere safe:\n\n    ${bootstrap.token}\n\n` +
        `Try it:  curl -H 'Authorization: Bearer ${bootstrap.token}' ${config.publicUrl}/v1/organizations\n\n`,
    );
  } else if (bootstrap !== null) {
    logger.info({ keyId: bootstrap.id }, 'installed LANYARD_BOOTSTRAP_API_KEY as the first admin key');
  }

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

  await app.listen({ port: config.port, host: config.host });
  logger.info({ url: config.publicUrl, docs: `${config.publicUrl}/docs` }, 'lanyard is ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`lanyard: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
