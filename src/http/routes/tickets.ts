import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../auth.ts';
import type { TicketService } from '../../domain/tickets/tickets.ts';
import { errorResponses, IdParams, PageOf } from '../schemas/common.ts';
import { CreateTicketBody, ListTicketsQuery, Ticket } from '../schemas/tickets.ts';

const tags = ['tickets'];

/** `/v1/organizations/{id}/sso/tickets` and `/v1/sso/tickets/{id}`: setup links for customers' IT admins. */
export function ticketRoutes(tickets: TicketService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/organizations/:id/sso/tickets',
      {
        config: { secretInResponse: true },
        schema: {
          tags,
          operationId: 'createTicket',
          summary: "Create a setup link for the organization's IT admin",
          params: IdParams('org'),
          body: CreateTicketBody,
          response: { 201: Ticket, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await tickets.create(actorOf(request), request.params.id, request.body)),
    );
    app.get(
      '/organizations/:id/sso/tickets',
      {
        schema: {
          tags,
          operationId: 'listTickets',
          summary: "List the organization's setup tickets",
          params: IdParams('org'),
          querystring: ListTicketsQuery,
          response: { 200: PageOf(Ticket), ...errorResponses },
        },
      },
      async (request) => tickets.list(actorOf(request), request.params.id, request.query),
    );
    app.get(
      '/sso/tickets/:id',
      {
        schema: {
          tags,
          operationId: 'getTicket',
          summary: 'Read a setup ticket',
          params: IdParams('tkt'),
          response: { 200: Ticket, ...errorResponses },
        },
      },
      async (request) => tickets.get(actorOf(request), request.params.id),
    );
    app.delete(
      '/sso/tickets/:id',
      {
        schema: {
          tags,
          operationId: 'revokeTicket',
          summary: 'Revoke a setup ticket',
          params: IdParams('tkt'),
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await tickets.revoke(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
