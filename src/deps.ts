import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Clock, RandomBytes } from './crypto/tokens.ts';
import { createApiKeyService } from './domain/api-keys/api-keys.ts';
import { createOrganizationService } from './domain/organizations/organizations.ts';
import type { AppDeps } from './app.ts';
import { createHttpMetrics } from './http/metrics.ts';
import { memoryRateLimitStore, redisRateLimitStore } from './http/rate-limit.ts';
import { isDatabaseReachable, type Db } from './storage/database.ts';

/** The domain services, each given only what it uses. */
export function createServices(deps: { db: Db; clock: Clock; random: RandomBytes }) {
  return {
    db: deps.db,
    organizations: createOrganizationService(deps),
    apiKeys: createApiKeyService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;

/** Composition root: the real clock, randomness and stores unless the caller passes its own. */
export function createDeps(
  config: Config,
  io: { db: Db; logger: Logger; clock?: Clock; random?: RandomBytes },
): AppDeps & { close(): Promise<void> } {
  const clock = io.clock ?? (() => new Date());
  const random = io.random ?? randomBytes;
  const rateLimitStore = config.redisUrl
    ? redisRateLimitStore(new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }))
    : memoryRateLimitStore(() => clock().getTime());
  return {
    config,
    logger: io.logger,
    random,
    services: createServices({ db: io.db, clock, random }),
    rateLimitStore,
    metrics: createHttpMetrics(),
    isReady: () => isDatabaseReachable(io.db),
    close: () => rateLimitStore.close(),
  };
}
