import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth.ts';
import type { ConsoleService } from '../../domain/console/sessions.ts';
import { errorResponses } from '../schemas/common.ts';
import { ConsoleLink } from '../schemas/console.ts';

/** `POST /v1/console-links`: an admin key asks for a link that signs a browser in to /console. */
export function consoleLinkRoutes(links: ConsoleService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/console-links',
      {
        config: { secretInResponse: true },
        schema: {
          operationId: 'createConsoleLink',
          summary: 'Create a single-use sign-in link to the operator console',
          description: 'Admin keys only. The link works once, within 10 minutes; the session it opens acts as an admin.',
          tags: ['console'],
          response: { 201: ConsoleLink, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await links.createLink(actorOf(request))),
    );
  };
}
