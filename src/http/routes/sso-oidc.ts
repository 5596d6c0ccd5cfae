import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OidcLogin } from '../../domain/login/oidc.ts';
import { pageErrorHandler, sendLoginOutcome } from '../errors.ts';
import { ErrorRef, FailurePageResponse, RedirectResponse } from '../schemas/common.ts';
import { OidcCallbackQuery } from '../schemas/oauth.ts';

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
        schema: {
          tags: ['sso'],
          operationId: 'oidcCallback',
          summary: "Redirect URI of upstream OIDC connections (the IdP's answer)",
          security: [],
          response: { 302: RedirectResponse('Back to the app with a code'), 400: FailurePageResponse, 429: ErrorRef },
          querystring: OidcCallbackQuery,
        },
        errorHandler: pageErrorHandler((status) => ({
          title: 'Sign-in failed',
          message:
            status < 500
              ? 'The request to the OIDC callback is malformed: it must carry the state and code (or error) of an authorization response, once each.'
              : 'An unexpected error occurred.',
        })),
      },
      async (request, reply) => {
        const { state, code, iss, error, error_description } = request.query;
        const outcome = await deps.oidc.callback({ params: { state, code, iss, error, error_description }, requestId: request.id });
        return sendLoginOutcome(request, reply, outcome);
      },
    );
  };
}
