import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, SecretKey } from './config.ts';
import { createSealer, type Sealer } from './crypto/seal.ts';
import type { Clock, RandomBytes } from './crypto/tokens.ts';
import { createApiKeyService } from './domain/api-keys/api-keys.ts';
import { createApplicationService } from './domain/applications/applications.ts';
import { createConnectionService } from './domain/connections/connections.ts';
import { createSpMetadataService, samlSpKey } from './domain/connections/sp.ts';
import { createDeploymentKeys } from './domain/keys/deployment-keys.ts';
import { createAuthorize } from './domain/login/authorize.ts';
import { createLoginFinish } from './domain/login/finish.ts';
import type { LoginMetrics } from './domain/login/ports.ts';
import { createOidcLogin } from './domain/login/oidc.ts';
import { createSamlLogin } from './domain/login/saml.ts';
import { createTokenService } from './domain/oauth/tokens.ts';
import { createOrganizationService } from './domain/organizations/organizations.ts';
import { createDirectoryService } from './domain/scim/directories.ts';
import { createDirectoryAuth } from './domain/scim/directory-auth.ts';
import { createDirectoryReads } from './domain/scim/directory-reads.ts';
import { createScimGroups } from './domain/scim/scim-groups.ts';
import { createScimUsers } from './domain/scim/scim-users.ts';
import { createSetupService } from './domain/tickets/setup.ts';
import { createTestSignInResults } from './domain/tickets/test-results.ts';
import { createTicketService } from './domain/tickets/tickets.ts';
import { createDraftCleanupWorker } from './domain/tickets/draft-cleanup.ts';
import { createWebhookService } from './domain/webhooks/endpoints.ts';
import { createNudge } from './domain/jobs/nudge.ts';
import { createWebhookWorker } from './domain/webhooks/worker.ts';
import type { BackgroundWorker } from './domain/jobs/loop.ts';
import type { AppDeps } from './app.ts';
import { createMetrics } from './http/metrics.ts';
import { memoryRateLimitStore, redisRateLimitStore } from './http/rate-limit.ts';
import { systemLookup } from './net/guarded-fetch.ts';
import { isDatabaseReachable, type Db } from './storage/database.ts';

/** The domain services, each given only what it uses. */
function createServices(deps: { config: Config; db: Db; clock: Clock; random: RandomBytes; sealer: Sealer; loginMetrics: LoginMetrics }) {
  const deploymentKeys = createDeploymentKeys(deps);
  const applications = createApplicationService(deps);
  const connections = createConnectionService({ ...deps, lookup: systemLookup });
  // A test sign-in's result reaches its setup ticket through this port: login knows nothing of tickets.
  const finish = createLoginFinish({ ...deps, applications, testSignIns: createTestSignInResults(deps) });
  const samlLogin = createSamlLogin({
    ...deps,
    connections,
    finish,
    spKey: () => samlSpKey({ ...deps, deploymentKeys, publicUrl: deps.config.publicUrl }),
  });
  const oidcLogin = createOidcLogin({ ...deps, connections, finish, lookup: systemLookup });
  const upstream = { saml: samlLogin.upstream, oidc: oidcLogin.upstream };
  // Wakes this instance's webhook worker when a request created work for it.
  const webhookNudge = createNudge();
  const directories = createDirectoryService(deps);
  return {
    db: deps.db,
    deploymentKeys,
    applications,
    tokens: createTokenService({ ...deps, issuer: deps.config.publicUrl, applications, deploymentKeys }),
    organizations: createOrganizationService(deps),
    apiKeys: createApiKeyService(deps),
    connections,
    samlLogin,
    oidcLogin,
    authorize: createAuthorize({ ...deps, applications, connections, upstream }),
    samlSp: createSpMetadataService({ ...deps, deploymentKeys }),
    tickets: createTicketService({ ...deps, connections }),
    setup: createSetupService({ ...deps, connections, upstream }),
    webhooks: createWebhookService({ ...deps, lookup: systemLookup, wake: webhookNudge.notify }),
    webhookNudge,
    directories,
    directoryReads: createDirectoryReads({ db: deps.db, visible: directories.visible }),
    directoryAuth: createDirectoryAuth(deps),
    scimUsers: createScimUsers(deps),
    scimGroups: createScimGroups(deps),
  };
}

export type Services = ReturnType<typeof createServices>;

/** Composition root: the real clock, randomness and stores unless the caller passes its own. */
export function createDeps(
  config: Config,
  io: { db: Db; logger: Logger; secretKey?: SecretKey; clock?: Clock; random?: RandomBytes },
): AppDeps & {
  sealer: Sealer;
  webhookWorker: BackgroundWorker;
  draftCleanupWorker: BackgroundWorker;
  workers: readonly BackgroundWorker[];
  close(): Promise<void>;
} {
  const secretKey = io.secretKey ?? config.secretKey;
  if (secretKey === undefined) throw new Error('no sealing key: resolveSecretKey(config) first');
  const clock = io.clock ?? (() => new Date());
  const random = io.random ?? randomBytes;
  const rateLimitStore = config.redisUrl
    ? redisRateLimitStore(new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }))
    : memoryRateLimitStore(() => clock().getTime());
  const sealer = createSealer(secretKey, config.previousSecretKeys, random);
  // The backlog gauge reads the webhook service when scraped, after both exist.
  const metrics = createMetrics({ webhookBacklog: () => services.webhooks.lag() });
  const services = createServices({ config, db: io.db, clock, random, sealer, loginMetrics: metrics.logins });
  const webhookWorker = createWebhookWorker({
    db: io.db,
    clock,
    random,
    sealer,
    lookup: systemLookup,
    logger: io.logger,
    config,
    nudge: services.webhookNudge,
    metrics: metrics.webhooks,
  });
  const draftCleanupWorker = createDraftCleanupWorker({
    db: io.db,
    clock,
    logger: io.logger,
    connections: services.connections,
  });
  // Started when the app listens and stopped when it closes (app.ts); not running under app.inject.
  const workers = [webhookWorker, draftCleanupWorker];
  return {
    config,
    logger: io.logger,
    random,
    services,
    rateLimitStore,
    metrics,
    isReady: () => isDatabaseReachable(io.db),
    sealer,
    webhookWorker,
    draftCleanupWorker,
    workers,
    close: async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await rateLimitStore.close();
    },
  };
}
