import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { WebhookService } from '../../domain/webhooks/endpoints.ts';
import { errorResponses, PageOf, PageQuery } from '../schemas/common.ts';
import {
  CreateWebhookEndpointBody,
  ListDeliveriesQuery,
  TestEventAnswer,
  UpdateWebhookEndpointBody,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookIdParams as Params,
} from '../schemas/webhooks.ts';

const tags = ['webhooks'];

/** An answer that carries a secret must not be kept by any cache (RFC 9111 §5.2.2.5). */
function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

/** `/v1/webhook-endpoints` and `/v1/webhook-deliveries`: where events are pushed, and how it went. */
export function webhookRoutes(webhooks: WebhookService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/webhook-endpoints',
      {
        schema: {
          tags,
          operationId: 'createWebhookEndpoint',
          summary: 'Create a webhook endpoint; its signing secret is in this answer only',
          body: CreateWebhookEndpointBody,
          response: { 201: WebhookEndpointWithSecret, ...errorResponses },
        },
      },
      async (request, reply) =>
        noStore(reply)
          .code(201)
          .send(await webhooks.create(request.actor!, request.body)),
    );
    app.get(
      '/webhook-endpoints',
      {
        schema: {
          tags,
          operationId: 'listWebhookEndpoints',
          summary: 'List webhook endpoints, oldest first',
          querystring: Type.Object(PageQuery),
          response: { 200: PageOf(WebhookEndpoint), ...errorResponses },
        },
      },
      async (request) => webhooks.list(request.actor!, request.query),
    );
    app.get(
      '/webhook-endpoints/:id',
      {
        schema: {
          tags,
          operationId: 'getWebhookEndpoint',
          summary: 'Read a webhook endpoint',
          params: Params,
          response: { 200: WebhookEndpoint, ...errorResponses },
        },
      },
      async (request) => webhooks.get(request.actor!, request.params.id),
    );
    app.patch(
      '/webhook-endpoints/:id',
      {
        schema: {
          tags,
          operationId: 'updateWebhookEndpoint',
          summary: 'Change a webhook endpoint; enabling it sends what is still pending',
          params: Params,
          body: UpdateWebhookEndpointBody,
          response: { 200: WebhookEndpoint, ...errorResponses },
        },
      },
      async (request) => webhooks.update(request.actor!, request.params.id, request.body),
    );
    app.delete(
      '/webhook-endpoints/:id',
      {
        schema: {
          tags,
          operationId: 'deleteWebhookEndpoint',
          summary: 'Delete a webhook endpoint and its deliveries',
          params: Params,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await webhooks.delete(request.actor!, request.params.id);
        return reply.code(204).send(null);
      },
    );
    app.post(
      '/webhook-endpoints/:id/rotate-secret',
      {
        schema: {
          tags,
          operationId: 'rotateWebhookEndpointSecret',
          summary: 'Replace the signing secret; for 24 h deliveries are signed with both',
          params: Params,
          response: { 200: WebhookEndpointWithSecret, ...errorResponses },
        },
      },
      async (request, reply) => noStore(reply).send(await webhooks.rotateSecret(request.actor!, request.params.id)),
    );
    app.post(
      '/webhook-endpoints/:id/test',
      {
        schema: {
          tags,
          operationId: 'testWebhookEndpoint',
          summary: 'Send a webhook.test event to this endpoint only',
          params: Params,
          response: { 202: TestEventAnswer, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(202).send(await webhooks.sendTest(request.actor!, request.params.id)),
    );
    app.get(
      '/webhook-endpoints/:id/deliveries',
      {
        schema: {
          tags,
          operationId: 'listWebhookDeliveries',
          summary: "List an endpoint's deliveries with their attempts, newest first",
          params: Params,
          querystring: ListDeliveriesQuery,
          response: { 200: PageOf(WebhookDelivery), ...errorResponses },
        },
      },
      async (request) => webhooks.listDeliveries(request.actor!, request.params.id, request.query),
    );
    app.post(
      '/webhook-deliveries/:id/retry',
      {
        schema: {
          tags,
          operationId: 'retryWebhookDelivery',
          summary: 'Send a delivery again now',
          params: Params,
          response: { 202: WebhookDelivery, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(202).send(await webhooks.retryDelivery(request.actor!, request.params.id)),
    );
  };
}
