import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import type { OrganizationService } from '../../domain/organizations/organizations.ts';
import { errorResponses, IdParams, PageOf } from '../schemas/common.ts';
import { CreateOrganizationBody, ListOrganizationsQuery, Organization, UpdateOrganizationBody } from '../schemas/organizations.ts';

const tags = ['organizations'];
const Params = IdParams('org');

/** `/v1/organizations`: the SaaS company's customers. */
export function organizationRoutes(organizations: OrganizationService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/organizations',
      {
        schema: {
          tags,
          operationId: 'createOrganization',
          summary: 'Create an organization',
          body: CreateOrganizationBody,
          response: { 201: Organization, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await organizations.create(actorOf(request), request.body)),
    );
    app.get(
      '/organizations',
      {
        schema: {
          tags,
          operationId: 'listOrganizations',
          summary: 'List organizations',
          querystring: ListOrganizationsQuery,
          response: { 200: PageOf(Organization), ...errorResponses },
        },
      },
      async (request) => organizations.list(actorOf(request), request.query),
    );
    app.get(
      '/organizations/:id',
      {
        schema: {
          tags,
          operationId: 'getOrganization',
          summary: 'Read an organization',
          params: Params,
          response: { 200: Organization, ...errorResponses },
        },
      },
      async (request) => organizations.get(actorOf(request), request.params.id),
    );
    app.patch(
      '/organizations/:id',
      {
        schema: {
          tags,
          operationId: 'updateOrganization',
          summary: 'Change an organization',
          params: Params,
          body: UpdateOrganizationBody,
          response: { 200: Organization, ...errorResponses },
        },
      },
      async (request) => organizations.update(actorOf(request), request.params.id, request.body),
    );
    app.delete(
      '/organizations/:id',
      {
        schema: {
          tags,
          operationId: 'deleteOrganization',
          summary: 'Delete an organization with everything it owns',
          params: Params,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await organizations.delete(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
