import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthorizeQuery, RevokeBody, TokenBody } from '../schemas/oauth.ts';
import type { AuthorizeOutcome } from '../../domain/login/authorize.ts';
import { OAuthError } from '../../domain/oauth/errors.ts';
import type { ClientCredentials, TokenService } from '../../domain/oauth/tokens.ts';
import { PAGE_HEADERS, pageCsp } from '../../web/html.ts';
import { chooserPage, postFormPage } from '../../web/pages.ts';
import { oauthErrorHandler, sendFailurePage } from '../errors.ts';
import { ErrorRef, FailurePageResponse, OAuthErrorResponse, RedirectResponse, SpecifiedJson } from '../schemas/common.ts';

export interface OAuthRouteDeps {
  readonly issuer: string;
  readonly authorize: (query: AuthorizeQuery) => Promise<AuthorizeOutcome>;
  readonly tokens: TokenService;
  readonly onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

const tags = ['oauth'];
/** What the OpenAPI document says of each endpoint (no API key: the transform makes these public). */
const openApi = {
  discovery: {
    tags,
    operationId: 'getOpenIdConfiguration',
    summary: 'OpenID Connect discovery',
    response: { 200: SpecifiedJson('OpenID Provider Metadata (OpenID Connect Discovery 1.0 §3)'), 429: ErrorRef },
  },
  jwks: {
    tags,
    operationId: 'getJwks',
    summary: "Lanyard's id_token signing keys (JWKS)",
    response: { 200: SpecifiedJson('A JWK Set (RFC 7517 §5)'), 429: ErrorRef },
  },
  authorize: {
    tags,
    operationId: 'authorize',
    summary: 'Start a sign-in (OAuth 2.0 authorization endpoint)',
    response: {
      200: { ...FailurePageResponse, description: 'A page: the connection chooser, or the form that posts the request to the IdP' },
      302: RedirectResponse("To the IdP, or back to the app's redirect_uri with an error"),
      400: { ...FailurePageResponse, content: { ...FailurePageResponse.content, 'application/json': { schema: OAuthErrorResponse } } },
      429: ErrorRef,
    },
  },
  // RFC 6749 §4.1.3: the token request is a form.
  token: {
    tags,
    operationId: 'token',
    summary: 'Exchange an authorization code for tokens',
    consumes: ['application/x-www-form-urlencoded'],
    response: {
      200: SpecifiedJson('The tokens (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3)'),
      400: OAuthErrorResponse,
      401: OAuthErrorResponse,
      429: ErrorRef,
    },
  },
  userinfo: {
    tags,
    operationId: 'getUserinfo',
    summary: "The signed-in user's claims (UserInfo)",
    response: { 200: SpecifiedJson("The user's claims (OpenID Connect Core §5.3.2)"), 401: OAuthErrorResponse, 429: ErrorRef },
  },
  postUserinfo: {
    tags,
    operationId: 'postUserinfo',
    summary: "The signed-in user's claims (UserInfo, by POST)",
    response: { 200: SpecifiedJson("The user's claims (OpenID Connect Core §5.3.2)"), 401: OAuthErrorResponse, 429: ErrorRef },
  },
};

/** Lanyard as an OpenID provider to the SaaS app: discovery, JWKS, authorize, token, revocation, userinfo. */
export function oauthRoutes(deps: OAuthRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    // RFC 6749 §4.1.3 and RFC 7009 §2.1: requests are application/x-www-form-urlencoded, and only
    // that: without the JSON parser here, any other body is refused as invalid_request (errors.ts).
    app.removeAllContentTypeParsers();
    await app.register(formbody, { bodyLimit: 64 * 1024 });
    app.addHook('onRequest', deps.onRequest);
    // RFC 6749 §5.2 for every failure here; a page instead where a person is at the browser.
    app.setErrorHandler(oauthErrorHandler);

    app.get('/.well-known/openid-configuration', { schema: openApi.discovery }, async () => ({
      issuer: deps.issuer,
      authorization_endpoint: `${deps.issuer}/oauth/authorize`,
      token_endpoint: `${deps.issuer}/oauth/token`,
      userinfo_endpoint: `${deps.issuer}/oauth/userinfo`,
      jwks_uri: `${deps.issuer}/oauth/jwks`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      // RFC 9207 §3: every authorization response carries iss.
      authorization_response_iss_parameter_supported: true,
      revocation_endpoint: `${deps.issuer}/oauth/revoke`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      // Logout (issue 17): RP-Initiated Logout 1.0 §2.1 and Back-Channel Logout 1.0 §2.1.
      end_session_endpoint: `${deps.issuer}/oauth/logout`,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      scopes_supported: ['openid', 'email', 'profile'],
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'nonce',
        'sid',
        'email',
        'email_verified',
        'given_name',
        'family_name',
        'groups',
        'organization_id',
        'connection_id',
        'connection_type',
        'idp_id',
        'raw_attributes',
      ],
    }));

    app.get('/oauth/jwks', { schema: openApi.jwks }, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=300').send(await deps.tokens.jwks()),
    );

    app.get('/oauth/authorize', { schema: { ...openApi.authorize, querystring: AuthorizeQuery } }, async (request, reply) => {
      const outcome = await deps.authorize(request.query);
      if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 302);
      if (outcome.kind === 'post') {
        return reply
          .headers({ ...PAGE_HEADERS, 'content-security-policy': pageCsp([new URL(outcome.action).origin]) })
          .send(postFormPage(outcome));
      }
      if (outcome.kind === 'choose') {
        const choices = outcome.connections.map((c) => {
          const params = new URLSearchParams(request.query as Record<string, string>);
          // The connection chosen routes the login now; login_hint goes on to an OIDC IdP.
          params.delete('organization');
          params.set('connection', c.id);
          return { href: `/oauth/authorize?${params.toString()}`, name: c.name, provider: c.provider };
        });
        return reply.headers(PAGE_HEADERS).send(chooserPage({ applicationName: outcome.application.name, choices }));
      }
      return sendFailurePage(request, reply, { status: 400, code: 'invalid_request', title: outcome.title, message: outcome.message });
    });

    app.post('/oauth/token', { schema: { ...openApi.token, body: TokenBody } }, async (request, reply) => {
      const body = request.body;
      const response = await deps.tokens.exchange({ ...body, ...clientCredentials(request.headers.authorization, body) });
      return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(response);
    });

    app.post(
      '/oauth/revoke',
      {
        schema: {
          operationId: 'revokeToken',
          summary: 'Revoke an access token (RFC 7009)',
          description:
            'Client authentication as at the token endpoint (client_secret_basic or client_secret_post). Answers 200 with an ' +
            'empty body for a revoked token and for one Lanyard does not know.',
          tags: ['oauth'],
          security: [],
          consumes: ['application/x-www-form-urlencoded'],
          body: RevokeBody,
          response: {
            200: RedirectResponse('Revoked, or not known: an empty body either way (RFC 7009 §2.2)'),
            400: OAuthErrorResponse,
            401: OAuthErrorResponse,
          },
        },
      },
      async (request, reply) => {
        await deps.tokens.revoke({ token: request.body.token, ...clientCredentials(request.headers.authorization, request.body) });
        return reply.code(200).send();
      },
    );

    const userinfo = async (request: FastifyRequest, reply: FastifyReply) => {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      return reply.header('cache-control', 'no-store').send(await deps.tokens.userinfo(match?.[1]));
    };
    app.get('/oauth/userinfo', { schema: openApi.userinfo }, userinfo);
    app.post('/oauth/userinfo', { schema: openApi.postUserinfo }, userinfo);
  };
}

/** The client's credentials from the Authorization header or the body; both at once is invalid_request (RFC 6749 §2.3). */
function clientCredentials(
  authorization: string | undefined,
  body: { client_id?: string | undefined; client_secret?: string | undefined },
): ClientCredentials {
  const basic = clientFromBasic(authorization);
  if (basic === undefined) return { clientId: body.client_id, clientSecret: body.client_secret };
  if ((body.client_id !== undefined && body.client_id !== basic.clientId) || body.client_secret !== undefined)
    throw new OAuthError('invalid_request', 'use one client authentication method, not two');
  return basic;
}

/** client_secret_basic (RFC 6749 §2.3.1): both parts are form-urlencoded before base64. */
function clientFromBasic(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const [, credentials] = /^Basic\s+(\S+)$/i.exec(header ?? '') ?? [];
  if (credentials === undefined) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials');
  const unescape = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { clientId: unescape(decoded.slice(0, colon)), clientSecret: unescape(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'malformed Basic credentials');
  }
}
