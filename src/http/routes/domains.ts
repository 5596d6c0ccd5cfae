import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DomainService } from '../../domain/domains/domains.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, IdParams, PageOf } from '../schemas/common.ts';
import { CreateOrganizationDomainBody, DomainParams, OrganizationDomain } from '../schemas/domains.ts';

const tags = ['domains'];

/** `/v1/organizations/{id}/domains`: an organization's email domains and their DNS verification. */
export function domainRoutes(domains: DomainService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/organizations/:id/domains',
      {
        schema: {
          tags,
          operationId: 'listOrganizationDomains',
          summary: "List an organization's domains in every state",
          params: IdParams('org'),
          response: { 200: PageOf(OrganizationDomain), ...errorResponses },
        },
      },
      async (request) => domains.list(actorOf(request), request.params.id),
    );
    app.post(
      '/organizations/:id/domains',
      {
        schema: {
          tags,
          operationId: 'createOrganizationDomain',
          summary: 'Claim a domain: pending until its TXT record is found (dns), or verified at once (manual, admin keys)',
          params: IdParams('org'),
          body: CreateOrganizationDomainBody,
          response: { 201: OrganizationDomain, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await domains.create(actorOf(request), request.params.id, request.body)),
    );
    app.get(
      '/organizations/:id/domains/:domain',
      {
        schema: {
          tags,
          operationId: 'getOrganizationDomain',
          summary: 'Read a domain, its TXT record and its last check',
          params: DomainParams,
          response: { 200: OrganizationDomain, ...errorResponses },
        },
      },
      async (request) => domains.get(actorOf(request), request.params.id, request.params.domain),
    );
    app.delete(
      '/organizations/:id/domains/:domain',
      {
        schema: {
          tags,
          operationId: 'deleteOrganizationDomain',
          summary: 'Delete a domain claim; a verified domain stops routing logins',
          params: DomainParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await domains.delete(actorOf(request), request.params.id, request.params.domain);
        return reply.code(204).send(null);
      },
    );
    app.post(
      '/organizations/:id/domains/:domain/verify',
      {
        schema: {
          tags,
          operationId: 'verifyOrganizationDomain',
          summary: 'Check the TXT record now; the answer shows the result',
          params: DomainParams,
          response: { 200: OrganizationDomain, ...errorResponses },
        },
      },
      async (request) => domains.verify(actorOf(request), request.params.id, request.params.domain),
    );
  };
}
