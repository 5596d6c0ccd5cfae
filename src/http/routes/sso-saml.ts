import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { SamlLogin } from '../../domain/login/saml.ts';
import { pageErrorHandler, sendLoginOutcome } from '../errors.ts';
import { ErrorRef, FailurePageResponse, RedirectResponse } from '../schemas/common.ts';

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
          operationId: 'samlAcs',
          summary: "SAML assertion consumer service (the IdP's HTTP-POST response)",
          security: [],
          response: {
            302: RedirectResponse('Back to the app with a code (or, IdP-initiated, to its default redirect URI)'),
            400: FailurePageResponse,
            429: ErrorRef,
          },
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
          body: Type.Object({ SAMLResponse: Type.Optional(Type.String()), RelayState: Type.Optional(Type.String({ maxLength: 1024 })) }),
        },
        errorHandler: pageErrorHandler((status) => ({
          title: 'Sign-in failed',
          message:
            status < 500
              ? 'The request to the ACS URL is malformed: post a SAMLResponse form field as the HTTP-POST binding requires.'
              : 'An unexpected error occurred.',
        })),
      },
      async (request, reply) => {
        const outcome = await deps.saml.acs({
          connectionId: request.params.id,
          samlResponse: request.body.SAMLResponse,
          relayState: request.body.RelayState,
          requestId: request.id,
        });
        return sendLoginOutcome(request, reply, outcome);
      },
    );
  };
}
