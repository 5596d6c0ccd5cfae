import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import type { ApplicationService } from '../../domain/applications/applications.ts';
import { Application, CreateApplicationBody, CreatedApplication, UpdateApplicationBody } from '../schemas/applications.ts';
import { errorResponses, IdParams, PageOf, PageQuery } from '../schemas/common.ts';

const tags = ['applications'];
const Params = IdParams('app');

/** `/v1/applications`: OAuth clients (admin API keys only). */
export function applicationRoutes(applications: ApplicationService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/applications',
      {
        config: { secretInResponse: true },
        schema: {
          tags,
          operationId: 'createApplication',
          summary: 'Create an application (OAuth client; its secret is in this answer only)',
          body: CreateApplicationBody,
          response: { 201: CreatedApplication, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await applications.create(actorOf(request), request.body)),
    );
    app.get(
      '/applications',
      {
        schema: {
          tags,
          operationId: 'listApplications',
          summary: 'List applications',
          querystring: Type.Object(PageQuery),
          response: { 200: PageOf(Application), ...errorResponses },
        },
      },
      async (request) => applications.list(actorOf(request), request.query),
    );
    app.get(
      '/applications/:id',
      {
        schema: {
          tags,
          operationId: 'getApplication',
          summary: 'Read an application',
          params: Params,
          response: { 200: Application, ...errorResponses },
        },
      },
      async (request) => applications.get(actorOf(request), request.params.id),
    );
    app.patch(
      '/applications/:id',
      {
        schema: {
          tags,
          operationId: 'updateApplication',
          summary: 'Change an application',
          params: Params,
          body: UpdateApplicationBody,
          response: { 200: Application, ...errorResponses },
        },
      },
      async (request) => applications.update(actorOf(request), request.params.id, request.body),
    );
    app.delete(
      '/applications/:id',
      {
        schema: {
          tags,
          operationId: 'deleteApplication',
          summary: 'Delete an application',
          params: Params,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await applications.delete(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
