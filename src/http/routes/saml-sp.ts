import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SpMetadataService } from '../../domain/connections/sp.ts';
import { ErrorRef } from '../schemas/common.ts';

/**
 * `GET /sso/saml/{id}/metadata`: a SAML connection's SP metadata, unauthenticated because IdPs
 * (and their admins' browsers) fetch it by URL; the id is the only thing it reveals.
 */
export function samlSpRoutes(spMetadata: SpMetadataService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/sso/saml/:id/metadata',
      {
        schema: {
          tags: ['sso'],
          operationId: 'getSamlSpMetadata',
          summary: "The connection's SAML SP metadata, for the customer's IdP",
          security: [],
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100, description: 'conn_… id' }) }),
          response: { 200: Type.String({ description: 'SAML 2.0 metadata (application/samlmetadata+xml)' }), 404: ErrorRef },
        },
      },
      async (request, reply) => {
        const xml = await spMetadata.render(request.params.id);
        // SAML metadata §4.1.1 registers this media type.
        return reply.type('application/samlmetadata+xml; charset=utf-8').send(xml);
      },
    );
  };
}
