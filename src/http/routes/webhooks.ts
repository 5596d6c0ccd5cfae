import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebhookService } from '../../domain/webhooks/endpoints.ts';
import { actorOf } from '../auth.ts';
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

/** `/v1/webhook-endpoints` and `/v1/webhook-deliveries`: where events are pushed, and how it went. */
export function webhookRoutes(webhooks: WebhookService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/webhook-endpoints',
      {
        config: { secretInResponse: true },
        schema: {
          tags,
          operationId: 'createWebhookEndpoint',
          summary: 'Create a webhook endpoint; its signing secret is in this answer only',
          body: CreateWebhookEndpointBody,
          response: { 201: WebhookEndpointWithSecret, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(201).send(await webhooks.create(actorOf(request), request.body)),
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
      async (request) => webhooks.list(actorOf(request), request.query),
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
      async (request) => webhooks.get(actorOf(request), request.params.id),
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
      async (request) => webhooks.update(actorOf(request), request.params.id, request.body),
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
        await webhooks.delete(actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
    app.post(
      '/webhook-endpoints/:id/rotate-secret',
      {
        config: { secretInResponse: true },
        schema: {
          tags,
          operationId: 'rotateWebhookEndpointSecret',
          summary: 'Replace the signing secret; for 24 h deliveries are signed with both',
          params: Params,
          response: { 200: WebhookEndpointWithSecret, ...errorResponses },
        },
      },
      async (request) => webhooks.rotateSecret(actorOf(request), request.params.id),
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
      async (request, reply) => reply.code(202).send(await webhooks.sendTest(actorOf(request), request.params.id)),
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
      async (request) => webhooks.listDeliveries(actorOf(request), request.params.id, request.query),
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
      async (request, reply) => reply.code(202).send(await webhooks.retryDelivery(actorOf(request), request.params.id)),
    );
  };
}
