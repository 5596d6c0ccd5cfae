import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import { listEvents } from '../../domain/events/events.ts';
import type { Database } from '../../storage/schema.ts';
import { errorResponses, Nullable, PageOf, PageQuery, Timestamp } from '../schemas/common.ts';

const Event = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    organizationId: Nullable(Type.String()),
    actor: Nullable(Type.String()),
    requestId: Nullable(Type.String()),
    summary: Type.Record(Type.String(), Type.Unknown()),
    createdAt: Timestamp,
  },
  { $id: 'Event' },
);
const Query = Type.Object({
  ...PageQuery,
  organizationId: Type.Optional(Type.String({ maxLength: 100 })),
  type: Type.Optional(Type.String({ maxLength: 100 })),
  after: Type.Optional(Type.String({ maxLength: 100, description: 'Only events after this event id' })),
});

/** `/v1/events`: the audit and login event log, oldest first. */
export function eventRoutes(db: Kysely<Database>): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/events',
      { schema: { tags: ['events'], querystring: Query, response: { 200: PageOf(Event), ...errorResponses } } },
      async (request) => listEvents(db, actorOf(request), request.query),
    );
  };
}
