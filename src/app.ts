import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { randomToken } from './crypto/tokens.ts';
import type { Actor } from './domain/actor.ts';
import type { BackgroundWorker } from './domain/jobs/loop.ts';
import type { Services } from './deps.ts';
import { rateLimitSubject, tokenFromAuthorization } from './http/auth.ts';
import { clientErrorHandler, frameworkErrorHandler, registerApiErrorHandling, sendError } from './http/errors.ts';
import { registerInputGuard } from './http/input-guard.ts';
import { openApiOptions } from './http/openapi.ts';
import { schemaController } from './http/validation.ts';
import type { Metrics } from './http/metrics.ts';
import type { RateLimitStore } from './http/rate-limit.ts';
import { apiKeyRoutes } from './http/routes/api-keys.ts';
import { applicationRoutes } from './http/routes/applications.ts';
import { connectionRoutes } from './http/routes/connections.ts';
import { consoleLinkRoutes } from './http/routes/console-links.ts';
import { consoleRoutes } from './http/routes/console.ts';
import { eventRoutes } from './http/routes/events.ts';
import { operationRoutes } from './http/routes/operations.ts';
import { organizationRoutes } from './http/routes/organizations.ts';
import { samlSpRoutes } from './http/routes/saml-sp.ts';
import { assetRoutes } from './http/routes/assets.ts';
import { oauthRoutes } from './http/routes/oauth.ts';
import { samlAcsRoutes } from './http/routes/sso-saml.ts';
import { oidcCallbackRoutes } from './http/routes/sso-oidc.ts';
import { logoutRoutes } from './http/routes/logout.ts';
import { setupRoutes } from './http/routes/setup.ts';
import { ticketRoutes } from './http/routes/tickets.ts';
import { webhookRoutes } from './http/routes/webhooks.ts';
import { domainRoutes } from './http/routes/domains.ts';
import { directoryRoutes } from './http/routes/directories.ts';
import { keyRoutes } from './http/routes/keys.ts';
import { scimRoutes } from './http/routes/scim.ts';
import { requestLogSerializer } from './http/log-redaction.ts';
import { ErrorResponse } from './http/schemas/common.ts';
import { registerSecurityHeaders } from './http/security-headers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated API key on /v1 routes; null elsewhere. */
    actor: Actor | null;
  }
}

/** What buildApp needs; deps.ts assembles it. */
export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: Services;
  readonly rateLimitStore: RateLimitStore;
  readonly metrics: Metrics;
  readonly isReady: () => Promise<boolean>;
  readonly random: (size: number) => Buffer;
  /** Background work this instance does while it listens (webhook delivery, re-checks, refreshes). */
  readonly workers?: readonly BackgroundWorker[];
}

const BODY_LIMIT = 1024 * 1024;

/** Builds the HTTP application: routes, schemas, errors, auth, limits. Never listens or exits. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Setup URLs carry a bearer token in their path: the request log must not print it.
  const requestLogger: FastifyBaseLogger = deps.logger.child({}, { serializers: { req: requestLogSerializer } });
  const app = Fastify({
    loggerInstance: requestLogger,
    bodyLimit: BODY_LIMIT,
    genReqId: () => `req_${randomToken(deps.random, 12)}`,
    requestIdHeader: false,
    trustProxy: false,
    schemaController,
    // Refusals that come before any route (the router's, node's HTTP parser's) in the contract's shape too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: clientErrorHandler({ random: deps.random, logger: deps.logger }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.observe(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  registerApiErrorHandling(app);
  registerInputGuard(app);
  registerSecurityHeaders(app, { publicUrl: deps.config.publicUrl });
  app.addSchema(ErrorResponse);
  // Every listening instance runs the background workers; close() stops claiming and finishes or releases what they hold.
  app.addHook('onListen', async () => {
    for (const worker of deps.workers ?? []) worker.start();
  });
  app.addHook('onClose', async () => {
    await Promise.all((deps.workers ?? []).map((worker) => worker.stop()));
  });

  await app.register(swagger, openApiOptions(deps.config.publicUrl));
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(operationRoutes({ isReady: deps.isReady, metrics: deps.metrics }));
  await app.register(samlSpRoutes(deps.services.samlSp));
  await app.register(assetRoutes);
  // Browser- and app-facing routes are limited per client address.
  const limitByAddress = async (request: FastifyRequest, reply: FastifyReply) =>
    (await withinRateLimit(deps, request, reply)) ? undefined : reply;
  await app.register(
    oauthRoutes({
      issuer: deps.config.publicUrl,
      authorize: deps.services.authorize,
      tokens: deps.services.tokens,
      onRequest: limitByAddress,
    }),
  );
  await app.register(samlAcsRoutes({ saml: deps.services.samlLogin, onRequest: limitByAddress }));
  await app.register(oidcCallbackRoutes({ oidc: deps.services.oidcLogin, onRequest: limitByAddress }));
  await app.register(logoutRoutes({ logout: deps.services.logout, onRequest: limitByAddress }));
  await app.register(
    setupRoutes({
      setup: deps.services.setup,
      directorySetup: deps.services.directorySetup,
      renewal: deps.services.renewal,
      publicUrl: deps.config.publicUrl,
      onRequest: limitByAddress,
    }),
  );
  await app.register(consoleRoutes({ services: deps.services, publicUrl: deps.config.publicUrl, onRequest: limitByAddress }));
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', async (request, reply) => authenticate(deps, request, reply));
      // The management API reads JSON only: a text/plain body is a 415, not a string that fails the schema.
      v1.removeContentTypeParser('text/plain');
      await v1.register(organizationRoutes(deps.services.organizations));
      await v1.register(apiKeyRoutes(deps.services.apiKeys));
      await v1.register(connectionRoutes(deps.services.connections, deps.services.metadataRefresh));
      await v1.register(applicationRoutes(deps.services.applications));
      await v1.register(eventRoutes(deps.services.db));
      await v1.register(ticketRoutes(deps.services.tickets));
      await v1.register(webhookRoutes(deps.services.webhooks));
      await v1.register(directoryRoutes(deps.services.directories, deps.services.directoryReads));
      await v1.register(domainRoutes(deps.services.domains));
      await v1.register(keyRoutes(deps.services.keyRollover));
      await v1.register(consoleLinkRoutes(deps.services.console));
    },
    { prefix: '/v1' },
  );
  // SCIM 2.0 for each directory, with its own token, errors and rate limit (src/http/scim-pipeline.ts).
  await app.register(
    scimRoutes({
      users: deps.services.scimUsers,
      groups: deps.services.scimGroups,
      auth: deps.services.directoryAuth,
      publicUrl: deps.config.publicUrl,
      rateLimitStore: deps.rateLimitStore,
      config: deps.config,
      metrics: deps.metrics.scim,
    }),
    { prefix: '/scim/v2/:directoryId' },
  );
  return app;
}

/** Resolves the API key, counts the request against its limit, and refuses what is not allowed. */
async function authenticate(deps: AppDeps, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const token = tokenFromAuthorization(request.headers.authorization);
  request.actor = token === undefined ? null : await deps.services.apiKeys.authenticate(token, request.id);
  if (!(await withinRateLimit(deps, request, reply))) return reply;
  if (request.actor === null) {
    reply.header('www-authenticate', 'Bearer realm="lanyard"');
    return sendError(
      request,
      reply,
      'unauthenticated',
      token === undefined ? 'send an API key: Authorization: Bearer <token>' : 'the API key is unknown or revoked',
    );
  }
  return undefined;
}

/**
 * Fixed-window limit per API key (per client address when unauthenticated) and route. A store
 * failure lets the request through: an outage of Redis must not take the API down with it.
 */
async function withinRateLimit(
  deps: Pick<AppDeps, 'config' | 'rateLimitStore'>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const { max, windowSeconds } = deps.config.rateLimit;
  const key = `${rateLimitSubject(request)}:${request.method}:${request.routeOptions.url ?? request.url}`;
  let hit: { count: number; resetInMs: number };
  try {
    hit = await deps.rateLimitStore.hit(key, windowSeconds * 1000);
  } catch (error) {
    request.log.warn({ err: error }, 'rate limit store unavailable; request not counted');
    return true;
  }
  const resetSeconds = Math.max(1, Math.ceil(hit.resetInMs / 1000));
  reply
    .header('x-ratelimit-limit', max)
    .header('x-ratelimit-remaining', Math.max(0, max - hit.count))
    .header('x-ratelimit-reset', resetSeconds);
  if (hit.count <= max) return true;
  reply.header('retry-after', resetSeconds);
  sendError(request, reply, 'rate_limited', `rate limit of ${max} requests per ${windowSeconds} s exceeded; retry in ${resetSeconds} s`);
  return false;
}
