import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import type { ConnectionService } from '../../domain/connections/connections.ts';
import type { MetadataRefresh } from '../../domain/connections/metadata-refresh.ts';
import { ErrorRef, errorResponses, IdParams, PageOf } from '../schemas/common.ts';
import { Connection, CreateConnectionBody, ListConnectionsQuery, UpdateConnectionBody } from '../schemas/connections.ts';

const tags = ['connections'];
const Params = IdParams('conn');
// A metadata URL or OIDC discovery that cannot be used answers 422.
const writeErrors = { ...errorResponses, 422: ErrorRef };

/** `/v1/connections`: each organization's SAML and OIDC identity providers. */
export function connectionRoutes(connections: ConnectionService, refresh: MetadataRefresh): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/connections',
      {
        schema: {
          tags,
          operationId: 'createConnection',
          summary: 'Create a SAML or OIDC connection',
          body: CreateConnectionBody,
          response: { 201: Connection, ...writeErrors },
        },
      },
      async (request, reply) => reply.code(201).send(await connections.create(actorOf(request), request.body)),
    );
    app.get(
      '/connections',
      {
        schema: {
          tags,
          operationId: 'listConnections',
          summary: 'List connections',
          querystring: ListConnectionsQuery,
          response: { 200: PageOf(Connection), ...errorResponses },
        },
      },
      async (request) => connections.list(actorOf(request), request.query),
    );
    app.get(
      '/connections/:id',
      {
        schema: {
          tags,
          operationId: 'getConnection',
          summary: 'Read a connection',
          params: Params,
          response: { 200: Connection, ...errorResponses },
        },
      },
      async (request) => connections.get(actorOf(request), request.params.id),
    );
    app.patch(
      '/connections/:id',
      {
        schema: {
          tags,
          operationId: 'updateConnection',
          summary: 'Change a connection',
          params: Params,
          body: UpdateConnectionBody,
          response: { 200: Connection, ...writeErrors },
        },
      },
      async (request) => connections.update(actorOf(request), request.params.id, request.body),
    );
    app.post(
      '/connections/:id/refresh',
      {
        schema: {
          operationId: 'refreshConnectionMetadata',
          summary: "Fetch the connection's metadata URL now",
          description:
            'Fetches saml.metadataUrl now, as the background refresh does, and answers the connection with its lastRefresh. ' +
            'A fetch or metadata that cannot be used leaves the connection as it was, is recorded, and answers 422.',
          tags,
          params: Params,
          response: { 200: Connection, ...writeErrors },
        },
      },
      async (request) => {
        await refresh.refreshNow(actorOf(request), request.params.id);
        return connections.get(actorOf(request), request.params.id);
      },
    );
    app.delete(
      '/connections/:id',
      {
        schema: {
          tags,
          operationId: 'deleteConnection',
          summary: 'Delete a connection',
          params: Params,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await connections.delete(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
