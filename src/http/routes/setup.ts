import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../domain/errors.ts';
import { directoryProviderFor } from '../../domain/tickets/directory-guides.ts';
import type { DirectorySetup } from '../../domain/tickets/directory-setup.ts';
import { isRenewalTicket, type RenewalForm, type RenewalService } from '../../domain/tickets/renewal.ts';
import type { IdpForm, SetupService } from '../../domain/tickets/setup.ts';
import type { SetupView } from '../../domain/tickets/setup-view.ts';
import { csrfMatches, setupCookieName, type SetupSession } from '../../domain/tickets/setup-session.ts';
import type { SsoTicketRow } from '../../storage/schema.ts';
import { PAGE_HEADERS, pageCsp } from '../../web/html.ts';
import { postFormPage } from '../../web/pages.ts';
import { pageErrorHandler } from '../errors.ts';
import { SAVED, SETUP_SCRIPT_PATH, setupPage } from '../../web/setup-page.ts';
import { invalidLinkPage, refusedFormPage, sessionNeededPage, setupSummaryPage, testResultPage } from '../../web/setup-pages.ts';
import { SETUP_SCRIPT } from '../../web/setup-script.ts';
import { directoryStatusText, directoryStep, type DirectoryStepInput } from '../../web/setup-directory.ts';
import { renewalPage, renewalSummaryPage } from '../../web/setup-renewal.ts';
import type { FormState } from '../../web/setup-forms.ts';

/** What the setup page routes use. */
export interface SetupRouteDeps {
  readonly setup: SetupService;
  readonly directorySetup: DirectorySetup;
  /** The page of certificate-renewal tickets (`type: "certificate-renewal"`). */
  readonly renewal: RenewalService;
  /** Cookies are marked Secure when Lanyard is reached over https. */
  readonly publicUrl: string;
  readonly onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

const TokenParams = Type.Object({ token: Type.String() });
const FormBody = Type.Record(
  Type.String({ maxLength: 100 }),
  Type.Union([Type.String({ maxLength: 1_100_000 }), Type.Array(Type.String({ maxLength: 300 }), { maxItems: 200 })]),
);
type Form = Record<string, string | string[]>;
/** What the form handlers read of a request, whichever route's schema typed it. */
type PostRequest = Pick<FastifyRequest, 'id' | 'log' | 'cookies'> & { params: { token: string }; body: Form };
// Metadata XML of up to 1 MB, form-encoded (which can triple it).
const FORM_LIMIT = 4 * 1024 * 1024;

const first = (form: Form, key: string): string | undefined => {
  const value = form[key];
  return Array.isArray(value) ? value[0] : value;
};
const all = (form: Form, key: string): string[] => {
  const value = form[key];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

/**
 * The hosted setup page at `/setup/{token}` and its forms, authorized by the ticket alone: the
 * token in the URL, a short session cookie bound to the ticket, and a CSRF token on every post.
 */
export function setupRoutes(deps: SetupRouteDeps): FastifyPluginAsyncTypebox {
  const { setup, directorySetup, renewal } = deps;
  const secure = deps.publicUrl.startsWith('https:');

  const page = (reply: FastifyReply, status: number, body: string, formOrigin?: string | null) =>
    reply
      .code(status)
      .headers({ ...PAGE_HEADERS, 'content-security-policy': pageCsp(formOrigin ? [formOrigin] : []) })
      .send(body);

  function setSessionCookie(reply: FastifyReply, ticket: SsoTicketRow, session: SetupSession): void {
    reply.setCookie(setupCookieName(ticket.id), session.cookieValue, {
      path: '/setup',
      httpOnly: true,
      sameSite: 'lax',
      secure,
      maxAge: session.maxAgeSeconds,
    });
  }

  /** The Directory sync step of a ticket with `provisioning: {scim: true}` (undefined otherwise), with a token just issued. */
  async function directoryOf(ticket: SsoTicketRow, view: SetupView, scimToken?: string): Promise<DirectoryStepInput | undefined> {
    if (view.provisioning.scim !== true) return undefined;
    const directory = await directorySetup.status(ticket);
    return { directory, provider: directoryProviderFor(view.connection.provider), token: scimToken };
  }

  /** The page of an open ticket, with the notice of a save or a refused form's errors (or a SCIM token just issued). */
  async function renderOpen(
    reply: FastifyReply,
    ticket: SsoTicketRow,
    token: string,
    session: SetupSession,
    extra: { status?: number; saved?: string | undefined; state?: FormState; scimToken?: string } = {},
  ) {
    if (isRenewalTicket(ticket)) {
      const renewing = await renewal.view(ticket);
      const body = renewalPage({ view: renewing, token, csrf: session.csrfToken, saved: extra.saved, state: extra.state });
      return page(reply, extra.status ?? 200, body, renewing.idpOrigin);
    }
    const view = await setup.view(ticket);
    const directory = await directoryOf(ticket, view, extra.scimToken);
    return page(
      reply,
      extra.status ?? 200,
      setupPage({ view, token, csrf: session.csrfToken, saved: extra.saved, state: extra.state, directory }),
      view.idpOrigin,
    );
  }

  /** The summary of a completed ticket, with its Directory sync step still usable (SSO activation does not wait for it). */
  async function renderCompleted(
    reply: FastifyReply,
    ticket: SsoTicketRow,
    token: string,
    session: SetupSession,
    extra: { status?: number; notice?: string | undefined; state?: FormState; scimToken?: string } = {},
  ) {
    if (isRenewalTicket(ticket)) return page(reply, extra.status ?? 200, await summaryOf(ticket, extra.notice));
    const view = await setup.view(ticket);
    const directory = await directoryOf(ticket, view, extra.scimToken);
    const ctx = { token, csrf: session.csrfToken, state: extra.state };
    const step = directory === undefined ? undefined : directoryStep(ctx, directory);
    return page(reply, extra.status ?? 200, setupSummaryPage({ view, notice: extra.notice, directory: step }));
  }

  /** The read-only page of a completed ticket, with `notice`. */
  async function summaryOf(ticket: SsoTicketRow, notice: string | undefined): Promise<string> {
    if (isRenewalTicket(ticket)) return renewalSummaryPage({ view: await renewal.view(ticket), notice });
    return setupSummaryPage({ view: await setup.view(ticket), notice });
  }

  /**
   * Checks a post: a usable token, this ticket's session cookie, the session's CSRF token, and an
   * open ticket. Sends the page that explains a refusal and returns undefined.
   */
  async function authorizePost(request: PostRequest, reply: FastifyReply, options: { allowCompleted?: boolean } = {}) {
    const { token } = request.params;
    const access = await setup.access(token);
    if (access.kind === 'invalid') return void page(reply, access.status, invalidLinkPage(access.status, request.id));
    const session = await setup.session(access.ticket, request.cookies[setupCookieName(access.ticket.id)]);
    if (session === undefined || !csrfMatches(session, first(request.body, '_csrf'))) {
      request.log.info(
        { ticketId: access.ticket.id, session: session !== undefined },
        'setup form refused: no session or a wrong CSRF token',
      );
      return void page(reply, 403, refusedFormPage(token, request.id));
    }
    if (access.kind === 'completed' && options.allowCompleted !== true) {
      const notice = 'This setup is complete, so nothing was changed. Ask for a new link to change it.';
      return void page(reply, 409, await summaryOf(access.ticket, notice));
    }
    return { ticket: access.ticket, session, token, completed: access.kind === 'completed' };
  }

  /** Runs a form's action: back to the page on success, or the page with the form's problems. */
  function action(
    name: string,
    form: (body: Form) => string,
    run: (ticket: SsoTicketRow, body: Form, requestId: string) => Promise<unknown>,
  ) {
    return async (request: PostRequest, reply: FastifyReply) => {
      const allowed = await authorizePost(request, reply);
      if (allowed === undefined) return reply;
      let next: unknown;
      try {
        next = await run(allowed.ticket, request.body, request.id);
      } catch (error) {
        if (!(error instanceof AppError) || ['internal_error', 'service_unavailable'].includes(error.code)) throw error;
        // Revoked, completed or expired while this request ran: the page now says which.
        if (error.code === 'conflict' && error.details === undefined) return reply.redirect(`/setup/${allowed.token}`, 303);
        const values = Object.fromEntries(
          Object.entries(request.body)
            .filter(([k]) => k !== '_csrf')
            .map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
        );
        const state: FormState = { form: form(request.body), values, errors: error.details ?? [], message: error.message };
        return renderOpen(reply, allowed.ticket, allowed.token, allowed.session, {
          status: error.code === 'validation_failed' ? 400 : error.code === 'conflict' ? 409 : 422,
          state,
        });
      }
      const anchor = SAVED[name] ? `#${SAVED[name].step}` : '';
      return reply.redirect(typeof next === 'string' ? next : `/setup/${allowed.token}?saved=${name}${anchor}`, 303);
    };
  }

  /** The setup page, and a test's result page (reached from the ACS or OIDC callback, with the session cookie). */
  const pageRoutes: FastifyPluginAsyncTypebox = async (pages) => {
    pages.get(
      '/:token',
      { schema: { hide: true, params: TokenParams, querystring: Type.Object({ saved: Type.Optional(Type.String({ maxLength: 20 })) }) } },
      async (request, reply) => {
        const { token } = request.params;
        const access = await setup.access(token);
        if (access.kind === 'invalid') return page(reply, access.status, invalidLinkPage(access.status, request.id));
        let session = await setup.session(access.ticket, request.cookies[setupCookieName(access.ticket.id)]);
        if (session === undefined) {
          session = await setup.openSession(access.ticket, token, request.id);
          setSessionCookie(reply, access.ticket, session);
        }
        if (access.kind === 'completed') {
          const notice =
            request.query.saved === 'activated'
              ? 'Single sign-on is now active.'
              : request.query.saved === 'renewed'
                ? 'The new certificate is in use.'
                : undefined;
          return renderCompleted(reply, access.ticket, token, session, { notice });
        }
        return renderOpen(reply, access.ticket, token, session, { saved: request.query.saved });
      },
    );

    pages.get(
      '/tests/:flowId',
      { schema: { hide: true, params: Type.Object({ flowId: Type.String({ maxLength: 100 }) }) } },
      async (request, reply) => {
        const ticket = await setup.ticketOfTestFlow(request.params.flowId);
        const session = ticket === undefined ? undefined : await setup.session(ticket, request.cookies[setupCookieName(ticket.id)]);
        if (session === undefined) return page(reply, 403, sessionNeededPage(request.id));
        const access = await setup.access(session.token);
        if (access.kind === 'invalid') return page(reply, access.status, invalidLinkPage(access.status, request.id));
        const found = await setup.testResult(access.ticket, request.params.flowId);
        return page(
          reply,
          200,
          testResultPage({ token: session.token, result: found?.result, view: await setup.view(access.ticket), requestId: request.id }),
        );
      },
    );

    // The Directory sync step's live status, polled by setup.js; only for the browser holding the page's session.
    pages.get('/:token/directory-status', { schema: { hide: true, params: TokenParams } }, async (request, reply) => {
      const access = await setup.access(request.params.token);
      const session =
        access.kind === 'invalid' ? undefined : await setup.session(access.ticket, request.cookies[setupCookieName(access.ticket.id)]);
      reply.header('cache-control', 'no-store');
      if (access.kind === 'invalid' || session === undefined)
        return reply.code(access.kind === 'invalid' ? access.status : 403).send({ text: null });
      const directory = await directorySetup.status(access.ticket);
      return reply.send({ ...directory, text: directoryStatusText(directory) });
    });
  };

  /** The forms of the setup page; each post needs the session cookie and its CSRF token. */
  const formRoutes: FastifyPluginAsyncTypebox = async (pages) => {
    const post = { schema: { hide: true, params: TokenParams, body: FormBody } };
    const values = (body: Form) => Object.fromEntries(Object.keys(body).map((k) => [k, first(body, k)]));
    pages.post(
      '/:token/provider',
      post,
      action(
        'provider',
        () => 'choice',
        (ticket, body, requestId) => setup.choose(ticket, first(body, 'choice') ?? '', requestId),
      ),
    );
    pages.post(
      '/:token/idp',
      post,
      action(
        'idp',
        (body) => first(body, 'source') ?? 'url',
        (ticket, body, requestId) => setup.saveIdp(ticket, { source: idpSource(first(body, 'source')), values: values(body) }, requestId),
      ),
    );
    pages.post(
      '/:token/mapping',
      post,
      action(
        'mapping',
        () => 'mapping',
        (ticket, body, requestId) => setup.saveMapping(ticket, values(body), requestId),
      ),
    );
    // The Email domains step (ticket policy optional or required): add, check now, remove.
    pages.post(
      '/:token/domains',
      post,
      action(
        'domain-added',
        () => 'domain',
        (ticket, body, requestId) => setup.addDomain(ticket, first(body, 'domain') ?? '', requestId),
      ),
    );
    pages.post(
      '/:token/domains/check',
      post,
      action(
        'domain-checked',
        () => 'domain-check',
        (ticket, body, requestId) => setup.checkDomain(ticket, first(body, 'domain') ?? '', requestId),
      ),
    );
    pages.post(
      '/:token/domains/remove',
      post,
      action(
        'domain-removed',
        () => 'domain-remove',
        (ticket, body, requestId) => setup.removeDomain(ticket, first(body, 'domain') ?? '', requestId),
      ),
    );
    pages.post(
      '/:token/candidate',
      post,
      action(
        'candidate',
        (body) => renewalSourceName(first(body, 'source')),
        (ticket, body, requestId) => {
          const source = renewalSource(first(body, 'source'));
          const form: RenewalForm = {
            source,
            value: first(body, `renewal.${source}`) ?? '',
            keepCurrent: first(body, 'keepCurrent') === 'yes',
          };
          return renewal.saveCandidate(ticket, form, requestId);
        },
      ),
    );
    pages.post(
      '/:token/renew',
      post,
      action(
        'renewed',
        () => 'renew',
        (ticket, _body, requestId) => renewal.renew(ticket, requestId),
      ),
    );
    pages.post(
      '/:token/activate',
      post,
      action(
        'activated',
        () => 'activate',
        (ticket, body, requestId) => setup.activate(ticket, all(body, 'domains'), requestId),
      ),
    );

    // A SCIM token, shown in this answer only (pages are no-store); on a completed ticket too.
    pages.post('/:token/directory', post, async (request, reply) => {
      const allowed = await authorizePost(request, reply, { allowCompleted: true });
      if (allowed === undefined) return reply;
      const render = allowed.completed ? renderCompleted : renderOpen;
      try {
        const view = await setup.view(allowed.ticket);
        const issued = await directorySetup.issueToken(allowed.ticket, view.connection.provider, request.id);
        return await render(reply, issued.ticket, allowed.token, allowed.session, { scimToken: issued.token });
      } catch (error) {
        if (!(error instanceof AppError) || !['conflict', 'validation_failed'].includes(error.code)) throw error;
        const state: FormState = { form: 'directory', values: {}, errors: error.details ?? [], message: error.message };
        return render(reply, allowed.ticket, allowed.token, allowed.session, { status: error.code === 'conflict' ? 409 : 400, state });
      }
    });

    pages.post('/:token/test', post, async (request, reply) => {
      const allowed = await authorizePost(request, reply);
      if (allowed === undefined) return reply;
      let hop;
      try {
        hop = isRenewalTicket(allowed.ticket)
          ? await renewal.startTest(allowed.ticket, request.id)
          : await setup.startTest(allowed.ticket, request.id);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'validation_failed') throw error;
        return renderOpen(reply, allowed.ticket, allowed.token, allowed.session, {
          status: 400,
          state: { form: 'test', values: {}, errors: error.details ?? [], message: error.message },
        });
      }
      if ('url' in hop) return reply.redirect(hop.url, 303);
      // SAML HTTP-POST binding: the page's form posts to the IdP, so its CSP must allow that origin.
      return page(reply, 200, postFormPage(hop.post), new URL(hop.post.action).origin);
    });
  };

  return async (app) => {
    app.get(SETUP_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .header('x-content-type-options', 'nosniff')
        .send(SETUP_SCRIPT),
    );
    await app.register(
      async (pages) => {
        await pages.register(cookie);
        await pages.register(formbody, { bodyLimit: FORM_LIMIT });
        pages.addHook('onRequest', deps.onRequest);
        // Any other path under /setup gets the same page as an unknown token.
        pages.setNotFoundHandler((request, reply) => page(reply, 404, invalidLinkPage(404, request.id)));
        pages.setErrorHandler(
          pageErrorHandler((status) => ({
            title: status < 500 ? 'This request could not be handled' : 'Something went wrong',
            message:
              status === 413
                ? 'The form is larger than Lanyard accepts (4 MB).'
                : status < 500
                  ? 'The form could not be read. Reload the setup page and try again.'
                  : 'An unexpected error occurred; nothing may have been saved. Reload the setup page and try again.',
          })),
        );
        await pages.register(pageRoutes);
        await pages.register(formRoutes);
      },
      { prefix: '/setup' },
    );
  };
}

/** The IdP form a post names (a hidden field of each form). */
function idpSource(value: string | undefined): IdpForm['source'] {
  if (value === 'url' || value === 'xml' || value === 'fields' || value === 'oidc') return value;
  throw new AppError('validation_failed', 'source is not one of url, xml, fields, oidc', [
    { field: 'source', message: 'is not one of url, xml, fields, oidc' },
  ]);
}

const RENEWAL_SOURCES: readonly RenewalForm['source'][] = ['certificate', 'metadataXml', 'metadataUrl'];

/** The renewal form a post names (its hidden `source` field), or `renewal` (the step's own errors) for anything else. */
function renewalSourceName(value: string | undefined): string {
  return RENEWAL_SOURCES.find((s) => s === value) ?? 'renewal';
}

function renewalSource(value: string | undefined): RenewalForm['source'] {
  const source = RENEWAL_SOURCES.find((s) => s === value);
  if (source !== undefined) return source;
  throw new AppError('validation_failed', 'source is not one of certificate, metadataXml, metadataUrl', [
    { field: 'renewal', message: 'source is not one of certificate, metadataXml, metadataUrl' },
  ]);
}
