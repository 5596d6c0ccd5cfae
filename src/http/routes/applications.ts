import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import type { ApplicationService } from '../../domain/applications/applications.ts';
import { errorResponses, IdParams, Nullable, PageOf, PageQuery, Timestamp } from '../schemas/common.ts';

const tags = ['applications'];
const Application = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    clientId: Type.String(),
    redirectUris: Type.Array(Type.String()),
    defaultRedirectUri: Nullable(Type.String()),
    organizationIds: Nullable(Type.Array(Type.String())),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Application' },
);
const CreatedApplication = Type.Intersect([Application, Type.Object({ clientSecret: Type.String({ description: 'Shown once' }) })]);
const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  redirectUris: Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
    minItems: 1,
    maxItems: 20,
    description: 'Exact-match redirect URIs: https, or http on localhost/127.0.0.1',
  }),
  defaultRedirectUri: Type.Optional(
    Nullable(Type.String({ maxLength: 2000, description: 'Where IdP-initiated logins land; one of redirectUris' })),
  ),
  organizationIds: Type.Optional(
    Nullable(
      Type.Array(Type.String({ maxLength: 100 }), { maxItems: 1000, description: 'Only these organizations may sign in; null for all' }),
    ),
  ),
};
const CreateBody = Type.Object(fields, { additionalProperties: false });
const UpdateBody = Type.Object(
  {
    name: Type.Optional(fields.name),
    redirectUris: Type.Optional(fields.redirectUris),
    defaultRedirectUri: fields.defaultRedirectUri,
    organizationIds: fields.organizationIds,
  },
  { additionalProperties: false, minProperties: 1 },
);
const Params = IdParams('app');

/** `/v1/applications`: OAuth clients (admin API keys only). */
export function applicationRoutes(applications: ApplicationService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/applications',
      { schema: { tags, body: CreateBody, response: { 201: CreatedApplication, ...errorResponses } } },
      async (request, reply) => reply.code(201).send(await applications.create(actorOf(request), request.body)),
    );
    app.get(
      '/applications',
      { schema: { tags, querystring: Type.Object(PageQuery), response: { 200: PageOf(Application), ...errorResponses } } },
      async (request) => applications.list(actorOf(request), request.query),
    );
    app.get('/applications/:id', { schema: { tags, params: Params, response: { 200: Application, ...errorResponses } } }, async (request) =>
      applications.get(actorOf(request), request.params.id),
    );
    app.patch(
      '/applications/:id',
      { schema: { tags, params: Params, body: UpdateBody, response: { 200: Application, ...errorResponses } } },
      async (request) => applications.update(actorOf(request), request.params.id, request.body),
    );
    app.delete(
      '/applications/:id',
      { schema: { tags, params: Params, response: { 204: Type.Null(), ...errorResponses } } },
      async (request, reply) => {
        await applications.delete(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
