import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { SamlLogin } from '../../domain/sso/saml-login.ts';
import { PAGE_HEADERS } from '../../web/html.ts';
import { errorPage } from '../../web/pages.ts';

/**
 * `POST /sso/saml/{id}/acs`: the HTTP-POST binding endpoint (SAML bindings §3.5). Answers with a
 * redirect to the app, or a page that tells the IT admin in plain words what went wrong.
 */
export function samlAcsRoutes(deps: {
  saml: SamlLogin;
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Large enough for the verifier's 256 KiB response limit once base64-encoded and form-escaped.
    await app.register(formbody, { bodyLimit: 1024 * 1024 });
    app.addHook('onRequest', deps.onRequest);
    app.post(
      '/sso/saml/:id/acs',
      {
        schema: {
          tags: ['sso'],
          security: [],
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
          body: Type.Object({ SAMLResponse: Type.Optional(Type.String()), RelayState: Type.Optional(Type.String({ maxLength: 1024 })) }),
        },
        errorHandler: (error, request, reply) => {
          request.log.warn({ err: error }, 'ACS request refused before verification');
          const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
          const message =
            status < 500
              ? 'The request to the ACS URL is malformed: post a SAMLResponse form field as the HTTP-POST binding requires.'
              : 'An unexpected error occurred.';
          void reply
            .code(status)
            .headers(PAGE_HEADERS)
            .send(errorPage({ title: 'Sign-in failed', message, requestId: request.id }));
        },
      },
      async (request, reply) => {
        const outcome = await deps.saml.acs({
          connectionId: request.params.id,
          samlResponse: request.body.SAMLResponse,
          relayState: request.body.RelayState,
          requestId: request.id,
        });
        if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 302);
        request.log.info({ code: outcome.code, connectionId: request.params.id }, 'SAML sign-in refused');
        return reply
          .code(outcome.status)
          .headers(PAGE_HEADERS)
          .send(
            errorPage({
              title: outcome.title,
              message: outcome.message,
              requestId: request.id,
              facts: outcome.facts,
              ...(outcome.back ? { back: { href: outcome.back, label: 'Return to the application' } } : {}),
            }),
          );
      },
    );
  };
}
