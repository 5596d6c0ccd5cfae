import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import type { ApiKeyService } from '../../domain/api-keys/api-keys.ts';
import { ApiKey, CreateApiKeyBody, CreatedApiKey } from '../schemas/api-keys.ts';
import { errorResponses, IdParams, PageOf, PageQuery } from '../schemas/common.ts';

const tags = ['api-keys'];
/** `/v1/api-keys`: management API credentials. */
export function apiKeyRoutes(apiKeys: ApiKeyService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api-keys',
      {
        config: { secretInResponse: true },
        schema: {
          tags,
          operationId: 'createApiKey',
          summary: 'Create an API key (its token is in this answer only)',
          body: CreateApiKeyBody,
          response: { 201: CreatedApiKey, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await apiKeys.create(actorOf(request), request.body)),
    );
    app.get(
      '/api-keys',
      {
        schema: {
          tags,
          operationId: 'listApiKeys',
          summary: 'List API keys',
          querystring: Type.Object(PageQuery),
          response: { 200: PageOf(ApiKey), ...errorResponses },
        },
      },
      async (request) => apiKeys.list(actorOf(request), request.query),
    );
    app.get(
      '/api-keys/:id',
      {
        schema: {
          tags,
          operationId: 'getApiKey',
          summary: 'Read an API key',
          params: IdParams('key'),
          response: { 200: ApiKey, ...errorResponses },
        },
      },
      async (request) => apiKeys.get(actorOf(request), request.params.id),
    );
    app.delete(
      '/api-keys/:id',
      {
        schema: {
          tags,
          operationId: 'revokeApiKey',
          summary: 'Revoke an API key',
          params: IdParams('key'),
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await apiKeys.revoke(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
