import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config, SecretKey } from './config.ts';
import { createSealer, type Sealer } from './crypto/seal.ts';
import { pooledRandomBytes, type Clock, type RandomBytes } from './crypto/tokens.ts';
import { createApiKeyService } from './domain/api-keys/api-keys.ts';
import { createApplicationService } from './domain/applications/applications.ts';
import { createConnectionService } from './domain/connections/connections.ts';
import { createConsoleReads } from './domain/console/reads.ts';
import { createConsoleService } from './domain/console/sessions.ts';
import { createSpMetadataService, generateSpKey, samlSpKey, samlSpKeys } from './domain/connections/sp.ts';
import { createKeyRollover } from './domain/keys/rollover.ts';
import { createMetadataRefresh } from './domain/connections/metadata-refresh.ts';
import { createExpiryWatch } from './domain/connections/expiry-watch.ts';
import { createDeploymentKeys } from './domain/keys/deployment-keys.ts';
import { createAuthorize } from './domain/login/authorize.ts';
import { createDirectoryLink } from './domain/login/directory-link.ts';
import { createLoginFinish } from './domain/login/finish.ts';
import type { LoginMetrics } from './domain/login/ports.ts';
import { createOidcLogin } from './domain/login/oidc.ts';
import { createSamlLogin } from './domain/login/saml.ts';
import { createTokenService, generateTokenSigningKey } from './domain/oauth/tokens.ts';
import { createLogout } from './domain/sessions/logout.ts';
import { createSessionExpiryWorker } from './domain/sessions/ended.ts';
import { BACKCHANNEL_ATTEMPT_TIMEOUT_MS, createBackchannelLogout, createBackchannelWorker } from './domain/sessions/backchannel.ts';
import { createGuardedFetch } from './net/guarded-request.ts';
import { createOrganizationService } from './domain/organizations/organizations.ts';
import { createDirectoryService } from './domain/scim/directories.ts';
import { createDirectoryAuth } from './domain/scim/directory-auth.ts';
import { createDirectoryReads } from './domain/scim/directory-reads.ts';
import { createScimGroups } from './domain/scim/scim-groups.ts';
import { createScimUsers } from './domain/scim/scim-users.ts';
import { createDirectorySetup } from './domain/tickets/directory-setup.ts';
import { createRenewalService } from './domain/tickets/renewal.ts';
import { createSetupService } from './domain/tickets/setup.ts';
import { createTestSignInResults } from './domain/tickets/test-results.ts';
import { createTicketService } from './domain/tickets/tickets.ts';
import { createDraftCleanupWorker } from './domain/tickets/draft-cleanup.ts';
import { createWebhookService } from './domain/webhooks/endpoints.ts';
import { createNudge } from './domain/jobs/nudge.ts';
import { createDomainService } from './domain/domains/domains.ts';
import { createDomainCheckWorker } from './domain/domains/worker.ts';
import { createTxtLookup } from './net/dns-txt.ts';
import { createWebhookWorker } from './domain/webhooks/worker.ts';
import type { BackgroundWorker } from './domain/jobs/loop.ts';
import type { AppDeps } from './app.ts';
import { createMetrics } from './http/metrics.ts';
import { memoryRateLimitStore, redisRateLimitStore } from './http/rate-limit.ts';
import { systemLookup } from './net/guarded-fetch.ts';
import { isDatabaseReachable, type Db } from './storage/database.ts';

/** The domain services, each given only what it uses. */
function createServices(deps: {
  config: Config;
  db: Db;
  clock: Clock;
  random: RandomBytes;
  sealer: Sealer;
  logger: Logger;
  loginMetrics: LoginMetrics;
}) {
  const deploymentKeys = createDeploymentKeys(deps);
  const applications = createApplicationService(deps);
  const connections = createConnectionService({ ...deps, lookup: systemLookup });
  // A test sign-in's result reaches its setup ticket through this port: login knows nothing of tickets.
  const finish = createLoginFinish({ ...deps, applications, testSignIns: createTestSignInResults(deps) });
  const linkDirectoryUser = createDirectoryLink(deps);
  const spKeyDeps = { ...deps, deploymentKeys, publicUrl: deps.config.publicUrl };
  const spKey = () => samlSpKey(spKeyDeps);
  const samlLogin = createSamlLogin({
    ...deps,
    linkDirectoryUser,
    connections,
    finish,
    spKey,
    spDecryptionKeys: async () => (await samlSpKeys(spKeyDeps)).published.map((key) => key.privateKey),
  });
  const oidcLogin = createOidcLogin({ ...deps, connections, finish, linkDirectoryUser, lookup: systemLookup });
  const upstream = { saml: samlLogin.upstream, oidc: oidcLogin.upstream };
  // Wakes this instance's webhook worker when a request created work for it.
  const webhookNudge = createNudge();
  const directories = createDirectoryService(deps);
  const domains = createDomainService({ ...deps, txtLookup: createTxtLookup({ servers: deps.config.dnsServers }) });
  // logout_tokens go out through the same outbound guard as webhooks (Back-Channel Logout 1.0 §2.5).
  const backchannel = createBackchannelLogout({
    ...deps,
    publicUrl: deps.config.publicUrl,
    deploymentKeys,
    applications,
    fetch: createGuardedFetch(
      { allowPrivateAddresses: deps.config.allowPrivateNetwork, timeoutMs: BACKCHANNEL_ATTEMPT_TIMEOUT_MS, maxBytes: 1024, truncate: true },
      { lookup: systemLookup },
    ),
  });
  return {
    db: deps.db,
    deploymentKeys,
    applications,
    tokens: createTokenService({ ...deps, issuer: deps.config.publicUrl, applications, deploymentKeys }),
    organizations: createOrganizationService(deps),
    apiKeys: createApiKeyService(deps),
    connections,
    metadataRefresh: createMetadataRefresh({ ...deps, lookup: systemLookup }),
    expiryWatch: createExpiryWatch(deps),
    keyRollover: createKeyRollover({
      ...deps,
      deploymentKeys,
      generators: { 'saml-sp': generateSpKey(spKeyDeps), 'oidc-token-signing': generateTokenSigningKey },
    }),
    samlLogin,
    oidcLogin,
    backchannel,
    logout: createLogout({
      ...deps,
      publicUrl: deps.config.publicUrl,
      deploymentKeys,
      spKey,
      connections,
      applications,
      finish,
      backchannel,
    }),
    authorize: createAuthorize({ ...deps, applications, connections, upstream }),
    samlSp: createSpMetadataService({ ...deps, deploymentKeys }),
    tickets: createTicketService({ ...deps, connections }),
    setup: createSetupService({ ...deps, connections, domains, upstream }),
    renewal: createRenewalService({ ...deps, connections, upstream, lookup: systemLookup }),
    webhooks: createWebhookService({ ...deps, lookup: systemLookup, wake: webhookNudge.notify }),
    webhookNudge,
    directories,
    directoryReads: createDirectoryReads({ db: deps.db, visible: directories.visible }),
    directoryAuth: createDirectoryAuth(deps),
    directorySetup: createDirectorySetup({ ...deps, directories }),
    scimUsers: createScimUsers(deps),
    scimGroups: createScimGroups(deps),
    domains,
    console: createConsoleService(deps),
    consoleReads: createConsoleReads({ ...deps, connections }),
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
  domainCheckWorker: BackgroundWorker;
  workers: readonly BackgroundWorker[];
  close(): Promise<void>;
} {
  const secretKey = io.secretKey ?? config.secretKey;
  if (secretKey === undefined) throw new Error('no sealing key: resolveSecretKey(config) first');
  const clock = io.clock ?? (() => new Date());
  const random = io.random ?? pooledRandomBytes();
  const rateLimitStore = config.redisUrl
    ? redisRateLimitStore(new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }))
    : memoryRateLimitStore(() => clock().getTime());
  const sealer = createSealer(secretKey, config.previousSecretKeys, random);
  // The backlog gauge reads the webhook service when scraped, after both exist.
  const metrics = createMetrics({ webhookBacklog: () => services.webhooks.lag() });
  const services = createServices({ config, db: io.db, clock, random, sealer, logger: io.logger, loginMetrics: metrics.logins });
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
  const domainCheckWorker = createDomainCheckWorker({ domains: services.domains, logger: io.logger });
  const workers = [
    webhookWorker,
    domainCheckWorker,
    draftCleanupWorker,
    services.metadataRefresh.worker,
    services.expiryWatch.worker,
    services.keyRollover.worker,
    createBackchannelWorker(services.backchannel, io.logger),
    createSessionExpiryWorker({ db: io.db, clock, random, logger: io.logger }),
  ];
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
    domainCheckWorker,
    workers,
    close: async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await rateLimitStore.close();
    },
  };
}
