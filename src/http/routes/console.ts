import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { constantTimeEqual } from '../../crypto/tokens.ts';
import type { ConsoleSession } from '../../domain/console/sessions.ts';
import { EVENT_CATALOGUE } from '../../domain/events/catalogue.ts';
import { listEvents } from '../../domain/events/events.ts';
import { TICKET_DOMAIN_VERIFICATIONS, TICKET_TYPES } from '../../domain/tickets/view.ts';
import type { Services } from '../../deps.ts';
import { PAGE_HEADERS } from '../../web/html.ts';
import {
  connectionPage,
  consoleErrorPage,
  eventsPage,
  type OrganizationSection,
  organizationPage,
  organizationsPage,
  refusedFormPage,
  signInNeededPage,
  signInPage,
  webhookPage,
  webhooksPage,
} from '../../web/console-pages.ts';
import { CONSOLE_SCRIPT, CONSOLE_SCRIPT_PATH } from '../../web/console-script.ts';
import { consoleErrorHandler } from '../errors.ts';
import { NO_NUL } from '../schemas/common.ts';
import { AppError } from '../../domain/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The operator session on /console pages; null elsewhere. */
    consoleSession: ConsoleSession | null;
  }
}

export interface ConsoleRouteDeps {
  readonly services: Pick<
    Services,
    | 'console'
    | 'consoleReads'
    | 'organizations'
    | 'connections'
    | 'directories'
    | 'tickets'
    | 'applications'
    | 'domains'
    | 'webhooks'
    | 'db'
  >;
  /** The cookie is marked Secure when Lanyard is reached over https. */
  readonly publicUrl: string;
  readonly onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

const COOKIE = 'lanyard_console';
const PAGE_SIZE = 25;
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100, pattern: NO_NUL }) });
const Text = (maxLength: number) => Type.Optional(Type.String({ maxLength, pattern: NO_NUL }));
const Form = Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 2000, pattern: NO_NUL }));
const CursorQuery = Type.Object({ cursor: Text(200) });
type OrganizationCursors = Partial<Record<OrganizationSection, string>>;

/**
 * The operator console at `/console`: server-rendered pages over the same services as the API,
 * acting as the signed-in operator session (an admin actor). Signing in spends a single-use link;
 * every post carries the session's CSRF token.
 */
export function consoleRoutes(deps: ConsoleRouteDeps): FastifyPluginAsyncTypebox {
  const { services } = deps;
  const secure = deps.publicUrl.startsWith('https:');
  const send = (reply: FastifyReply, status: number, body: string) => reply.code(status).headers(PAGE_HEADERS).send(body);
  const session = (request: FastifyRequest): ConsoleSession => {
    if (request.consoleSession === null) throw new AppError('unauthenticated', 'no console session');
    return request.consoleSession;
  };
  const frame = (request: FastifyRequest, section: 'organizations' | 'events' | 'webhooks') => ({
    csrf: session(request).csrfToken,
    section,
  });

  /** Sign-in: the link's page, and its one button. */
  const publicRoutes: FastifyPluginAsyncTypebox = async (pages) => {
    pages.get('/sign-in', { schema: { hide: true, querystring: Type.Object({ token: Text(200) }) } }, async (request, reply) =>
      request.query.token ? send(reply, 200, signInPage(request.query.token)) : send(reply, 403, signInNeededPage('link_refused')),
    );
    pages.post('/sign-in', { schema: { hide: true, body: Form } }, async (request, reply) => {
      const opened = await services.console.redeem(request.body.token ?? '', request.id);
      if (opened === undefined) return send(reply, 403, signInNeededPage('link_refused'));
      reply.setCookie(COOKIE, opened.cookieValue, {
        path: '/console',
        httpOnly: true,
        sameSite: 'lax',
        secure,
        maxAge: opened.maxAgeSeconds,
      });
      return reply.redirect('/console', 303);
    });
  };

  /** Everything else needs a live session; posts need its CSRF token too. */
  const signedInRoutes: FastifyPluginAsyncTypebox = async (pages) => {
    pages.addHook('preHandler', async (request, reply) => {
      request.consoleSession = (await services.console.session(request.cookies[COOKIE], request.id)) ?? null;
      if (request.consoleSession === null) return send(reply, 401, signInNeededPage('no_session'));
      if (request.method !== 'POST') return undefined;
      const submitted = (request.body as Record<string, string> | undefined)?._csrf;
      if (submitted === undefined || !constantTimeEqual(submitted, request.consoleSession.csrfToken)) {
        request.log.info({ sessionId: request.consoleSession.id }, 'console form refused: missing or wrong CSRF token');
        return send(reply, 403, refusedFormPage(frame(request, 'organizations'), request.id));
      }
      return undefined;
    });

    pages.get(
      '/',
      {
        schema: { hide: true, querystring: Type.Object({ name: Text(200), externalId: Text(200), domain: Text(253), cursor: Text(200) }) },
      },
      async (request, reply) => {
        const q = request.query;
        const search = { name: q.name || undefined, externalId: q.externalId || undefined, domain: q.domain || undefined };
        const found = await services.organizations.list(session(request).actor, {
          ...search,
          cursor: q.cursor || undefined,
          limit: PAGE_SIZE,
        });
        return send(
          reply,
          200,
          organizationsPage({
            frame: frame(request, 'organizations'),
            search,
            organizations: found.data,
            cursor: q.cursor,
            nextCursor: found.nextCursor,
          }),
        );
      },
    );

    async function renderOrganization(
      request: FastifyRequest,
      reply: FastifyReply,
      id: string,
      extra: { notice?: string; createdTicket?: Awaited<ReturnType<typeof services.tickets.create>> },
      cursors: OrganizationCursors = {},
    ) {
      const { actor } = session(request);
      const organization = await services.organizations.get(actor, id);
      const page = (section: OrganizationSection) => ({ limit: PAGE_SIZE, cursor: cursors[section] || undefined });
      const [connections, directories, tickets, applications, domains] = await Promise.all([
        services.connections.list(actor, { organizationId: id, ...page('connections') }),
        services.directories.list(actor, { organizationId: id, ...page('directories') }),
        // Newest first: the one just created is at the top.
        services.tickets.list(actor, id, page('tickets'), { newestFirst: true }),
        services.applications.list(actor, { organizationId: id, ...page('applications') }),
        services.domains.list(actor, id),
      ]);
      const outcomes = await services.consoleReads.outcomesByDay(connections.data.map((c) => c.id));
      const withCounts = await Promise.all(directories.data.map((d) => services.directories.get(actor, d.id)));
      return send(
        reply,
        extra.createdTicket ? 201 : 200,
        organizationPage({
          frame: frame(request, 'organizations'),
          now: services.consoleReads.now(),
          cursors,
          nextCursors: {
            connections: connections.nextCursor,
            directories: directories.nextCursor,
            tickets: tickets.nextCursor,
            applications: applications.nextCursor,
          },
          organization,
          connections: connections.data.map((c) => ({ ...c, outcomes: outcomes.get(c.id) ?? [] })),
          directories: withCounts,
          tickets: tickets.data,
          applications: applications.data,
          domains: domains.data,
          ...extra,
        }),
      );
    }

    pages.get(
      '/organizations/:id',
      {
        schema: {
          hide: true,
          params: Id,
          querystring: Type.Object({
            notice: Type.Optional(Type.Literal('revoked')),
            // Where each list starts, the cursor of its "Next page" link.
            connections: Text(200),
            tickets: Text(200),
            directories: Text(200),
            applications: Text(200),
          }),
        },
      },
      async (request, reply) => {
        const { notice, ...cursors } = request.query;
        return renderOrganization(
          request,
          reply,
          request.params.id,
          notice === 'revoked' ? { notice: 'The setup link was revoked; it no longer opens.' } : {},
          cursors,
        );
      },
    );

    pages.post('/organizations/:id/tickets', { schema: { hide: true, params: Id, body: Form } }, async (request, reply) => {
      const { body } = request;
      const type = TICKET_TYPES.find((t) => t === body.type);
      if (type === undefined) throw new AppError('validation_failed', `type is not one of ${TICKET_TYPES.join(', ')}`);
      // Absent fields keep the API's defaults (required, routing sign-ins).
      const domainVerification = TICKET_DOMAIN_VERIFICATIONS.find((v) => v === (body.domainVerification ?? 'required'));
      if (domainVerification === undefined)
        throw new AppError('validation_failed', `domainVerification is not one of ${TICKET_DOMAIN_VERIFICATIONS.join(', ')}`);
      const discovery = body.useForDiscovery ?? 'yes';
      if (discovery !== 'yes' && discovery !== 'no') throw new AppError('validation_failed', 'useForDiscovery is not yes or no');
      const createdTicket = await services.tickets.create(session(request).actor, request.params.id, {
        type,
        domainVerification,
        useForDiscovery: discovery === 'yes',
      });
      // The link is shown once, on this answer (no-store): a redirect would have to carry it in a URL.
      return renderOrganization(request, reply, request.params.id, { createdTicket });
    });

    pages.post('/tickets/:id/revoke', { schema: { hide: true, params: Id, body: Form } }, async (request, reply) => {
      const { actor } = session(request);
      const ticket = await services.tickets.get(actor, request.params.id);
      await services.tickets.revoke(actor, ticket.id);
      return reply.redirect(`/console/organizations/${ticket.organizationId}?notice=revoked`, 303);
    });

    pages.get(
      '/connections/:id',
      { schema: { hide: true, params: Id, querystring: Type.Object({ before: Text(100) }) } },
      async (request, reply) => {
        const { actor } = session(request);
        const before = request.query.before || undefined;
        const found = await services.consoleReads.traces(actor, request.params.id, { before, limit: PAGE_SIZE });
        const organization = await services.organizations.get(actor, found.connection.organizationId);
        return send(
          reply,
          200,
          connectionPage({
            frame: frame(request, 'organizations'),
            connection: found.connection,
            organization,
            traces: found.data,
            before,
            nextBefore: found.nextBefore,
          }),
        );
      },
    );

    pages.get(
      '/events',
      { schema: { hide: true, querystring: Type.Object({ type: Text(100), organizationId: Text(100), cursor: Text(200) }) } },
      async (request, reply) => {
        const q = request.query;
        const filter = { type: q.type || undefined, organizationId: q.organizationId || undefined };
        const found = await listEvents(services.db, session(request).actor, { ...filter, cursor: q.cursor || undefined, limit: PAGE_SIZE });
        return send(
          reply,
          200,
          eventsPage({
            frame: frame(request, 'events'),
            types: Object.keys(EVENT_CATALOGUE),
            filter,
            events: found.data,
            cursor: q.cursor,
            nextCursor: found.nextCursor,
          }),
        );
      },
    );

    pages.get('/webhooks', { schema: { hide: true, querystring: CursorQuery } }, async (request, reply) => {
      const found = await services.webhooks.list(session(request).actor, { cursor: request.query.cursor || undefined, limit: PAGE_SIZE });
      return send(
        reply,
        200,
        webhooksPage({
          frame: frame(request, 'webhooks'),
          endpoints: found.data,
          cursor: request.query.cursor,
          nextCursor: found.nextCursor,
        }),
      );
    });

    pages.get(
      '/webhooks/:id',
      {
        schema: { hide: true, params: Id, querystring: Type.Object({ cursor: Text(200), notice: Type.Optional(Type.Literal('retried')) }) },
      },
      async (request, reply) => {
        const { actor } = session(request);
        const endpoint = await services.webhooks.get(actor, request.params.id);
        const found = await services.webhooks.listDeliveries(actor, endpoint.id, {
          cursor: request.query.cursor || undefined,
          limit: PAGE_SIZE,
        });
        return send(
          reply,
          200,
          webhookPage({
            frame: frame(request, 'webhooks'),
            endpoint,
            deliveries: found.data,
            cursor: request.query.cursor,
            nextCursor: found.nextCursor,
            notice: request.query.notice === 'retried' ? 'The delivery is queued to be sent again now.' : undefined,
          }),
        );
      },
    );

    pages.post('/webhook-deliveries/:id/retry', { schema: { hide: true, params: Id, body: Form } }, async (request, reply) => {
      const delivery = await services.webhooks.retryDelivery(session(request).actor, request.params.id);
      return reply.redirect(`/console/webhooks/${delivery.endpointId}?notice=retried`, 303);
    });

    pages.post('/sign-out', { schema: { hide: true, body: Form } }, async (request, reply) => {
      await services.console.signOut(session(request));
      reply.clearCookie(COOKIE, { path: '/console' });
      return send(reply, 200, signInNeededPage('signed_out'));
    });
  };

  return async (app) => {
    app.get(CONSOLE_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .header('x-content-type-options', 'nosniff')
        .send(CONSOLE_SCRIPT),
    );
    await app.register(
      async (pages) => {
        await pages.register(cookie);
        await pages.register(formbody, { bodyLimit: 64 * 1024 });
        pages.decorateRequest('consoleSession', null);
        pages.addHook('onRequest', deps.onRequest);
        pages.setNotFoundHandler((request, reply) =>
          send(reply, 404, consoleErrorPage(undefined, 'Page not found', 'There is no console page here.', request.id)),
        );
        pages.setErrorHandler(
          consoleErrorHandler((request, status, message) =>
            consoleErrorPage(
              request.consoleSession ? frame(request, 'organizations') : undefined,
              status === 404 ? 'Not found' : status < 500 ? 'That did not work' : 'Something went wrong',
              message,
              request.id,
            ),
          ),
        );
        await pages.register(publicRoutes);
        await pages.register(signedInRoutes);
      },
      { prefix: '/console' },
    );
  };
}
