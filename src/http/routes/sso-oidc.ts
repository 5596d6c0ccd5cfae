import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { OidcLogin } from '../../domain/sso/oidc-login.ts';
import { PAGE_HEADERS } from '../../web/html.ts';
import { errorPage } from '../../web/pages.ts';

const Param = Type.Optional(Type.String({ maxLength: 4096 }));
// The authorization response (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207). IdPs add their own parameters
// (session_state, Google's authuser and hd, …), which are accepted and ignored.
const CallbackQuery = Type.Object(
  { state: Param, code: Param, iss: Param, error: Param, error_description: Param },
  { additionalProperties: true },
);

/**
 * `GET /sso/oidc/callback`: the redirect URI every OIDC connection registers at its IdP. Answers
 * with a redirect to the app, or a page that tells the IT admin in plain words what went wrong.
 */
export function oidcCallbackRoutes(deps: {
  oidc: OidcLogin;
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook('onRequest', deps.onRequest);
    app.get(
      '/sso/oidc/callback',
      {
        schema: { tags: ['sso'], security: [], querystring: CallbackQuery },
        errorHandler: (error, request, reply) => {
          const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
          if (status >= 500) request.log.error({ err: error }, 'OIDC callback failed unexpectedly');
          else request.log.warn({ err: error }, 'OIDC callback refused before processing');
          const message =
            status < 500
              ? 'The request to the OIDC callback is malformed: it must carry the state and code (or error) of an authorization response, once each.'
              : 'An unexpected error occurred.';
          void reply
            .code(status)
            .headers(PAGE_HEADERS)
            .send(errorPage({ title: 'Sign-in failed', message, requestId: request.id }));
        },
      },
      async (request, reply) => {
        const { state, code, iss, error, error_description } = request.query;
        const outcome = await deps.oidc.callback({ params: { state, code, iss, error, error_description }, requestId: request.id });
        if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 302);
        if (outcome.cause !== undefined) request.log.error({ err: outcome.cause, code: outcome.code }, 'OIDC sign-in failed unexpectedly');
        else request.log.info({ code: outcome.code }, 'OIDC sign-in refused');
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
