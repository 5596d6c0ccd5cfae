import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { actorOf } from '../auth.ts';
import { listEvents } from '../../domain/events/events.ts';
import type { Database } from '../../storage/schema.ts';
import { errorResponses, PageOf } from '../schemas/common.ts';
import { Event, ListEventsQuery } from '../schemas/events.ts';

/** `/v1/events`: the audit and login event log, oldest first. */
export function eventRoutes(db: Kysely<Database>): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/events',
      {
        schema: {
          tags: ['events'],
          operationId: 'listEvents',
          summary: 'List audit and login events',
          querystring: ListEventsQuery,
          response: { 200: PageOf(Event), ...errorResponses },
        },
      },
      async (request) => listEvents(db, actorOf(request), request.query),
    );
  };
}
