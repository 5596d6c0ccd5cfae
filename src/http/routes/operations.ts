import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Metrics } from '../metrics.ts';
import { sendError } from '../errors.ts';

/** Liveness, readiness and metrics: unauthenticated, not rate limited, kept out of the API docs. */
export function operationRoutes(deps: { isReady: () => Promise<boolean>; metrics: Metrics }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const hide = { hide: true };
    app.get('/healthz', { schema: { ...hide, response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
      status: 'ok' as const,
    }));
    app.get('/readyz', { schema: hide }, async (request, reply) => {
      if (await deps.isReady()) return { status: 'ready' };
      return sendError(request, reply, 'service_unavailable', 'the database is not reachable');
    });
    app.get('/metrics', { schema: hide }, async (_request, reply) =>
      reply.type(deps.metrics.contentType).send(await deps.metrics.render()),
    );
  };
}
