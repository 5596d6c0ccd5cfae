import type { SwaggerOptions } from '@fastify/swagger';
import { EVENT_CATALOGUE } from '../domain/events/catalogue.ts';

// The OpenAPI 3.1 document's frame: what every route's own schema (operationId, summary, tags,
// TypeBox request and answer schemas) does not say. Generators (redocly lint in the tests) read it.

/** The security of a route that declares none, by where it is: only /v1 takes an API key. */
function securityOf(url: string): readonly Record<string, string[]>[] {
  if (url.startsWith('/v1/')) return [{ bearer: [] }, { basic: [] }];
  if (url.startsWith('/scim/')) return [{ directoryToken: [] }];
  // OAuth, discovery, the SSO endpoints and the pages: the browser or the app, with no API key.
  return [];
}

/** `organization.created` → `onOrganizationCreated`: the operationId of an event's webhook. */
function webhookOperationId(type: string): string {
  return `on${type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')}`;
}

const webhookHeaders = [
  ['webhook-id', 'The event id: the same on every retry, for deduplication'],
  ['webhook-timestamp', 'Seconds since the Unix epoch when this attempt was signed'],
  ['webhook-signature', 'Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per secret in force'],
].map(([name, description]) => ({ name, in: 'header', required: true, description, schema: { type: 'string' } }));

/**
 * The 3.1 `webhooks` section: one POST per event type of the catalogue, its body the delivery
 * (Standard Webhooks) with the type's declared summary schema as `data`.
 */
function webhooksFromCatalogue(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(EVENT_CATALOGUE).map(([type, { description, summary }]) => [
      type,
      {
        post: {
          operationId: webhookOperationId(type),
          summary: description,
          tags: ['webhooks'],
          security: [],
          parameters: webhookHeaders,
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['id', 'type', 'createdAt', 'organizationId', 'data'],
                  properties: {
                    id: { type: 'string', description: 'The event id (`evt_…`)' },
                    type: { const: type },
                    createdAt: { type: 'string', format: 'date-time' },
                    organizationId: { type: ['string', 'null'] },
                    // TypeBox schemas are JSON Schema; the round trip drops TypeBox's own symbol keys.
                    data: JSON.parse(JSON.stringify(summary)) as unknown,
                  },
                },
              },
            },
          },
          responses: {
            '200': { description: 'Any 2xx within 10 s: delivered' },
            '410': { description: 'Gone: Lanyard disables the endpoint at once' },
          },
        },
      },
    ]),
  );
}

/** The options of @fastify/swagger for the app served at `publicUrl`. */
export function openApiOptions(publicUrl: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lanyard API',
        version: '1',
        description: 'Enterprise SSO: organizations, connections, setup tickets, applications and the OAuth 2.0 / OpenID Connect login.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer <token>`' },
          basic: { type: 'http', scheme: 'basic', description: 'An API key as `<keyId>:<secret>`' },
          directoryToken: { type: 'http', scheme: 'bearer', description: "The directory's SCIM token (POST /v1/directories)" },
        },
      },
      webhooks: webhooksFromCatalogue() as never,
    },
    // Components are named by their $id (Organization, Error…) instead of def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url }) => ({ schema: { security: securityOf(url), ...schema }, url }),
  };
}
