import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EndSessionRequest as EndSessionParams, Logout, LogoutOutcome } from '../../domain/sessions/logout.ts';
import { PAGE_HEADERS } from '../../web/html.ts';
import { signedOutPage } from '../../web/logout-pages.ts';
import { EndSessionRequest, OidcLogoutCallbackQuery, SloBody, SloParams, SloQuery } from '../schemas/logout.ts';
import { FailurePageResponse, RedirectResponse } from '../schemas/common.ts';
import { pageErrorHandler, sendLoginOutcome } from '../errors.ts';

/** A malformed request to a logout URL still gets a page, never JSON or a 500. */
const errorHandler = pageErrorHandler((status) => ({
  title: 'Sign-out failed',
  message: status < 500 ? 'The sign-out request is malformed.' : 'An unexpected error occurred.',
}));

/**
 * Logout for browsers: `/oauth/logout` (OpenID Connect RP-Initiated Logout 1.0, GET and POST) and
 * the SAML SLO URL `/sso/saml/{id}/slo` (HTTP-Redirect and HTTP-POST bindings), and the way back
 * from an OIDC provider's end_session_endpoint, `/sso/oidc/logout-callback`. No credentials:
 * the id_token_hint and the SAML signatures are what is checked.
 */
export function logoutRoutes(deps: {
  logout: Logout;
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Large enough for the verifier's 64 KiB logout messages once base64-encoded and form-escaped.
    await app.register(formbody, { bodyLimit: 256 * 1024 });
    app.addHook('onRequest', deps.onRequest);

    const send = (request: FastifyRequest, reply: FastifyReply, outcome: LogoutOutcome) =>
      outcome.kind === 'signed_out' ? reply.headers(PAGE_HEADERS).send(signedOutPage()) : sendLoginOutcome(request, reply, outcome);
    const endSession = async (request: FastifyRequest, reply: FastifyReply, params: EndSessionParams) =>
      send(request, reply, await deps.logout.endSessionAtApp(params, request.id));
    const endSessionSchema = {
      tags: ['oauth'],
      summary: 'End the session the id_token_hint names (RP-Initiated Logout 1.0), at the IdP too, and return to the application',
      security: [],
      response: {
        200: { ...FailurePageResponse, description: 'The signed-out page, when no post_logout_redirect_uri was given' },
        302: RedirectResponse('To the IdP, or back to the post_logout_redirect_uri with state'),
        400: FailurePageResponse,
      },
    };

    app.get(
      '/oauth/logout',
      { schema: { ...endSessionSchema, operationId: 'endSession', querystring: EndSessionRequest }, errorHandler },
      async (request, reply) => endSession(request, reply, request.query),
    );
    app.post(
      '/oauth/logout',
      { schema: { ...endSessionSchema, operationId: 'endSessionPost', body: EndSessionRequest }, errorHandler },
      async (request, reply) => endSession(request, reply, request.body),
    );

    app.get(
      '/sso/oidc/logout-callback',
      {
        schema: {
          tags: ['sso'],
          operationId: 'oidcLogoutCallback',
          summary: "Post-logout redirect URI of upstream OIDC connections (back from the provider's end_session_endpoint)",
          security: [],
          querystring: OidcLogoutCallbackQuery,
          response: {
            200: { ...FailurePageResponse, description: 'The signed-out page, when the application gave no post_logout_redirect_uri' },
            302: RedirectResponse('Back to the post_logout_redirect_uri with state'),
            400: FailurePageResponse,
            403: FailurePageResponse,
          },
        },
        errorHandler,
      },
      async (request, reply) =>
        send(request, reply, await deps.logout.oidcLogoutCallback({ state: request.query.state, requestId: request.id })),
    );

    const sloSchema = {
      tags: ['sso'],
      security: [],
      params: SloParams,
      response: {
        302: RedirectResponse('Back to the application, or to the IdP with a signed LogoutResponse'),
        200: { ...FailurePageResponse, description: 'A page: the signed-out page, or the form that posts the LogoutResponse to the IdP' },
        400: FailurePageResponse,
        403: FailurePageResponse,
      },
    };
    app.get(
      '/sso/saml/:id/slo',
      {
        schema: {
          ...sloSchema,
          operationId: 'samlSloRedirect',
          summary: "The IdP's LogoutRequest or LogoutResponse with the HTTP-Redirect binding (signature over the query string)",
          querystring: SloQuery,
        },
        errorHandler,
      },
      async (request, reply) => {
        // The signature covers the query exactly as it was URL-encoded on the wire (bindings §3.4.4.1).
        const rawQuery = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
        const { SAMLRequest, SAMLResponse, RelayState } = request.query;
        const outcome = await deps.logout.slo({
          connectionId: request.params.id,
          received: { binding: 'redirect', rawQuery },
          kind: kindOf(SAMLRequest, SAMLResponse),
          relayState: RelayState ?? null,
          requestId: request.id,
        });
        return send(request, reply, outcome);
      },
    );
    app.post(
      '/sso/saml/:id/slo',
      {
        schema: {
          ...sloSchema,
          operationId: 'samlSloPost',
          summary: "The IdP's LogoutRequest or LogoutResponse with the HTTP-POST binding (enveloped signature)",
          body: SloBody,
        },
        errorHandler,
      },
      async (request, reply) => {
        const { SAMLRequest, SAMLResponse, RelayState } = request.body;
        const message = SAMLRequest ?? SAMLResponse ?? '';
        const outcome = await deps.logout.slo({
          connectionId: request.params.id,
          received: { binding: 'post', message, relayState: RelayState ?? null },
          kind: kindOf(SAMLRequest, SAMLResponse),
          relayState: RelayState ?? null,
          requestId: request.id,
        });
        return send(request, reply, outcome);
      },
    );
  };
}

/** Which message arrived; undefined for none or both (the verifier would refuse either). */
function kindOf(request: string | undefined, response: string | undefined): 'request' | 'response' | undefined {
  if ((request === undefined) === (response === undefined)) return undefined;
  return request !== undefined ? 'request' : 'response';
}
