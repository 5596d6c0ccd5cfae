import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ALL_KINDS, ALL_SCHEMAS, listOf, resourceType, schemaDocument, serviceProviderConfig } from '../../domain/scim/discovery.ts';
import type { DirectoryAuth } from '../../domain/scim/directory-auth.ts';
import type { ScimError } from '../../domain/scim/errors.ts';
import type { ScimGroups } from '../../domain/scim/scim-groups.ts';
import type { ScimContext, ScimOutcome } from '../../domain/scim/scim-support.ts';
import type { ScimUsers } from '../../domain/scim/scim-users.ts';
import { scimBaseUrl } from '../../domain/scim/views.ts';
import type { Result } from '../../domain/result.ts';
import { installScimPipeline, SCIM_CONTENT_TYPE, sendScimError, type ScimPipelineDeps } from '../scim-pipeline.ts';
import {
  ScimBody,
  ScimDirectoryParams,
  ScimListQuery,
  ScimListResponse,
  ScimResource,
  ScimResourceParams,
  scimErrorResponses,
} from '../schemas/scim.ts';

const tags = ['scim'];

export interface ScimRouteDeps extends Omit<ScimPipelineDeps, 'auth'> {
  readonly users: ScimUsers;
  readonly groups: ScimGroups;
  readonly auth: DirectoryAuth;
  readonly publicUrl: string;
}

/**
 * The SCIM 2.0 API of each directory (RFC 7644) under `/scim/v2/{directoryId}`: /Users, /Groups
 * and the discovery endpoints, with the directory's bearer token. Register with that prefix.
 */
export function scimRoutes(deps: ScimRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    installScimPipeline(app, deps);

    const contextOf = (request: FastifyRequest): ScimContext => {
      const directory = request.scimDirectory;
      // The onRequest hook answers 401 before any handler unless a directory was authenticated.
      if (directory === null) throw new Error('a SCIM handler ran without an authenticated directory');
      return { directory, baseUrl: scimBaseUrl(deps.publicUrl, directory.id), requestId: request.id };
    };
    const baseUrl = (request: FastifyRequest) => contextOf(request).baseUrl;
    const document = (reply: FastifyReply, body: Record<string, unknown>) => reply.type(SCIM_CONTENT_TYPE).send(body);

    /** Sends a SCIM outcome: ETag and Location headers, 304 for a matching If-None-Match. */
    const answer = (request: FastifyRequest, reply: FastifyReply, result: Result<ScimOutcome, ScimError>) => {
      if (!result.ok) return sendScimError(request, reply, result.error);
      const { status, body, etag } = result.value;
      if (etag !== undefined) reply.header('etag', etag);
      if (status === 201 && typeof body?.meta === 'object') reply.header('location', (body.meta as { location?: string }).location);
      if (status === 204) return reply.code(204).send();
      if (request.method === 'GET' && etag !== undefined && request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.code(status).type(SCIM_CONTENT_TYPE).send(body);
    };

    app.get(
      '/ServiceProviderConfig',
      {
        schema: {
          tags,
          operationId: 'scimServiceProviderConfig',
          summary: 'What this SCIM server supports',
          params: ScimDirectoryParams,
          response: { 200: ScimResource, ...scimErrorResponses },
        },
      },
      async (request, reply) => document(reply, serviceProviderConfig(baseUrl(request))),
    );
    app.get(
      '/ResourceTypes',
      {
        schema: {
          tags,
          operationId: 'scimListResourceTypes',
          summary: 'The User and Group resource types',
          params: ScimDirectoryParams,
          response: { 200: ScimListResponse, ...scimErrorResponses },
        },
      },
      async (request, reply) => document(reply, listOf(ALL_KINDS.map((k) => resourceType(k, baseUrl(request))))),
    );
    app.get(
      '/ResourceTypes/:id',
      {
        schema: {
          tags,
          operationId: 'scimGetResourceType',
          summary: 'One resource type',
          params: ScimResourceParams,
          response: { 200: ScimResource, ...scimErrorResponses },
        },
      },
      async (request, reply) => {
        const kind = ALL_KINDS.find((k) => k.name === request.params.id);
        if (kind === undefined)
          return sendScimError(request, reply, { code: 'scim_not_found', detail: `no resource type ${request.params.id}` });
        return document(reply, resourceType(kind, baseUrl(request)));
      },
    );
    app.get(
      '/Schemas',
      {
        schema: {
          tags,
          operationId: 'scimListSchemas',
          summary: 'The schemas this server implements',
          params: ScimDirectoryParams,
          response: { 200: ScimListResponse, ...scimErrorResponses },
        },
      },
      async (request, reply) => document(reply, listOf(ALL_SCHEMAS.map((s) => schemaDocument(s, baseUrl(request))))),
    );
    app.get(
      '/Schemas/:id',
      {
        schema: {
          tags,
          operationId: 'scimGetSchema',
          summary: 'One schema, by URN',
          params: ScimResourceParams,
          response: { 200: ScimResource, ...scimErrorResponses },
        },
      },
      async (request, reply) => {
        const schema = ALL_SCHEMAS.find((s) => s.id === request.params.id);
        if (schema === undefined)
          return sendScimError(request, reply, { code: 'scim_not_found', detail: `no schema ${request.params.id}` });
        return document(reply, schemaDocument(schema, baseUrl(request)));
      },
    );

    for (const [endpoint, service, noun] of [
      ['/Users', deps.users, 'User'],
      ['/Groups', deps.groups, 'Group'],
    ] as const) {
      app.post(
        endpoint,
        {
          schema: {
            tags,
            operationId: `scimCreate${noun}`,
            summary: `Create a ${noun}`,
            params: ScimDirectoryParams,
            body: ScimBody,
            response: { 201: ScimResource, ...scimErrorResponses },
          },
        },
        async (request, reply) => answer(request, reply, await service.create(contextOf(request), request.body)),
      );
      app.get(
        endpoint,
        {
          schema: {
            tags,
            operationId: `scimList${noun}s`,
            summary: `List or filter ${noun}s`,
            params: ScimDirectoryParams,
            querystring: ScimListQuery,
            response: { 200: ScimListResponse, ...scimErrorResponses },
          },
        },
        async (request, reply) => answer(request, reply, await service.list(contextOf(request), request.query)),
      );
      app.get(
        `${endpoint}/:id`,
        {
          schema: {
            tags,
            operationId: `scimGet${noun}`,
            summary: `Read a ${noun}`,
            params: ScimResourceParams,
            querystring: ScimListQuery,
            response: { 200: ScimResource, 304: Type.Null(), ...scimErrorResponses },
          },
        },
        async (request, reply) => answer(request, reply, await service.get(contextOf(request), request.params.id, request.query)),
      );
      app.put(
        `${endpoint}/:id`,
        {
          schema: {
            tags,
            operationId: `scimReplace${noun}`,
            summary: `Replace a ${noun}`,
            params: ScimResourceParams,
            body: ScimBody,
            response: { 200: ScimResource, ...scimErrorResponses },
          },
        },
        async (request, reply) =>
          answer(request, reply, await service.replace(contextOf(request), request.params.id, request.body, ifMatch(request))),
      );
      app.patch(
        `${endpoint}/:id`,
        {
          schema: {
            tags,
            operationId: `scimPatch${noun}`,
            summary: `Change a ${noun} (PatchOp)`,
            params: ScimResourceParams,
            body: ScimBody,
            response: { 200: ScimResource, ...scimErrorResponses },
          },
        },
        async (request, reply) =>
          answer(request, reply, await service.patch(contextOf(request), request.params.id, request.body, ifMatch(request))),
      );
      app.delete(
        `${endpoint}/:id`,
        {
          schema: {
            tags,
            operationId: `scimDelete${noun}`,
            summary: `Delete a ${noun}`,
            params: ScimResourceParams,
            response: { 204: Type.Null(), ...scimErrorResponses },
          },
        },
        async (request, reply) => answer(request, reply, await service.delete(contextOf(request), request.params.id, ifMatch(request))),
      );
    }

    // Everything else under the directory: the SCIM features not offered answer 501, unknown endpoints 404, both in SCIM's shape.
    app.all(
      '/*',
      {
        schema: {
          tags,
          operationId: 'scimOther',
          summary: 'Endpoints this server does not offer',
          hide: true,
          response: scimErrorResponses,
        },
      },
      async (request, reply) => {
        const rest = (request.params as { '*'?: string })['*'] ?? '';
        const unsupported = /^(Bulk|Me)(\/|$)/.test(rest) || rest.endsWith('.search');
        return unsupported
          ? sendScimError(request, reply, {
              code: 'scim_not_implemented',
              detail: `/${rest.split('/')[0] ?? ''} is not supported (see /ServiceProviderConfig)`,
            })
          : sendScimError(request, reply, { code: 'scim_route_not_found', detail: `no SCIM endpoint ${request.method} /${rest}` });
      },
    );
  };
}

function ifMatch(request: FastifyRequest): string | undefined {
  const value = request.headers['if-match'];
  return typeof value === 'string' ? value : undefined;
}
