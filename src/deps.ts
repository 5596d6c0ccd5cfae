import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, SecretKey } from './config.ts';
import { createSealer, type Sealer } from './crypto/seal.ts';
import type { Clock, RandomBytes } from './crypto/tokens.ts';
import { createApiKeyService } from './domain/api-keys/api-keys.ts';
import { createConnectionService } from './domain/connections/connections.ts';
import { createSpMetadataService, samlSpKey } from './domain/connections/sp.ts';
import { createAuthorize } from './domain/oauth/authorize.ts';
import { createLoginCompletion } from './domain/oauth/complete.ts';
import { createSamlLogin } from './domain/sso/saml-login.ts';
import { createOidcLogin } from './domain/sso/oidc-login.ts';
import { createApplicationService } from './domain/applications/applications.ts';
import { createTokenService } from './domain/oauth/tokens.ts';
import { createDeploymentKeys } from './domain/keys/deployment-keys.ts';
import { createOrganizationService } from './domain/organizations/organizations.ts';
import { createSetupService } from './domain/tickets/setup.ts';
import { createTicketService } from './domain/tickets/tickets.ts';
import { createWebhookService } from './domain/webhooks/endpoints.ts';
import { createWebhookMetrics } from './domain/webhooks/metrics.ts';
import { createNudge } from './domain/webhooks/nudge.ts';
import { createWebhookWorker, type WebhookWorker } from './domain/webhooks/worker.ts';
import { createDirectoryService } from './domain/scim/directories.ts';
import { createDirectoryAuth } from './domain/scim/directory-auth.ts';
import { createDirectoryReads } from './domain/scim/directory-reads.ts';
import { createScimGroups } from './domain/scim/scim-groups.ts';
import { createScimUsers } from './domain/scim/scim-users.ts';
import type { AppDeps } from './app.ts';
import { createMetrics } from './http/metrics.ts';
import { memoryRateLimitStore, redisRateLimitStore } from './http/rate-limit.ts';
import { systemLookup } from './net/guarded-fetch.ts';
import { isDatabaseReachable, type Db } from './storage/database.ts';

/** The domain services, each given only what it uses. */
export function createServices(deps: { config: Config; db: Db; clock: Clock; random: RandomBytes; sealer: Sealer }) {
  const deploymentKeys = createDeploymentKeys(deps);
  const applications = createApplicationService(deps);
  const connections = createConnectionService({ ...deps, lookup: systemLookup });
  const completion = createLoginCompletion({ ...deps, applications });
  const samlLogin = createSamlLogin({
    ...deps,
    connections,
    completion,
    spKey: () => samlSpKey({ ...deps, deploymentKeys, publicUrl: deps.config.publicUrl }),
  });
  const oidcLogin = createOidcLogin({ ...deps, connections, completion, lookup: systemLookup });
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
    authorize: createAuthorize({ ...deps, applications, connections, upstream: { saml: samlLogin.upstream, oidc: oidcLogin.upstream } }),
    samlSp: createSpMetadataService({ ...deps, deploymentKeys }),
    tickets: createTicketService({ ...deps, connections }),
    setup: createSetupService({ ...deps, connections, upstream: { saml: samlLogin.upstream, oidc: oidcLogin.upstream } }),
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
  webhookWorker: WebhookWorker;
  webhookMetrics: ReturnType<typeof createWebhookMetrics>;
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
  const services = createServices({ config, db: io.db, clock, random, sealer });
  const webhookMetrics = createWebhookMetrics();
  // Started when the app listens and stopped when it closes (app.ts); not running under app.inject.
  const webhookWorker = createWebhookWorker({
    db: io.db,
    clock,
    random,
    sealer,
    lookup: systemLookup,
    logger: io.logger,
    config,
    nudge: services.webhookNudge,
    metrics: webhookMetrics,
  });
  return {
    config,
    logger: io.logger,
    random,
    services,
    rateLimitStore,
    metrics: createMetrics(),
    isReady: () => isDatabaseReachable(io.db),
    sealer,
    webhookWorker,
    webhookMetrics,
    close: async () => {
      await webhookWorker.stop();
      await rateLimitStore.close();
    },
  };
}
