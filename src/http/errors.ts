import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { randomToken, type RandomBytes } from '../crypto/tokens.ts';
import { AppError, ERROR_CATALOGUE, type ErrorCode, type FieldProblem } from '../domain/errors.ts';
import type { LoginOutcome } from '../domain/login/outcome.ts';
import { OAuthError } from '../domain/oauth/errors.ts';
import { PAGE_HEADERS } from '../web/html.ts';
import { errorPage } from '../web/pages.ts';
import { UnstorableInputError } from './input-guard.ts';
import { sendScimError } from './scim-pipeline.ts';

// The one place errors meet the wire (ARCHITECTURE.md habit 5): the management API's JSON, the
// OAuth endpoints' JSON (RFC 6749 §5.2), and the HTML failure page for a person at the browser.
// Statuses come from the catalogues; the log level is decided here, in logAnswer.

/** The management API's error body (../shared/API.md, "Errors"). */
interface ApiErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  requestId: string;
  details?: readonly FieldProblem[];
}

/**
 * Logs an error answer: a 5xx as an error with its cause (unexpected: someone must look), an
 * expected refusal at info, or at warn when a cause explains it (a remote document that failed).
 */
function logAnswer(request: FastifyRequest, answer: { status: number; code: string; message: string; cause?: unknown }): void {
  const { status, code, cause } = answer;
  if (status >= 500) request.log.error({ err: cause, code, status }, answer.message);
  else if (cause !== undefined) request.log.warn({ err: cause, code, status }, answer.message);
  else request.log.info({ code, status }, answer.message);
}

/** Builds the contract's error body for a catalogued code. */
function errorBody(requestId: string, code: ErrorCode, message: string, details?: readonly FieldProblem[]): ApiErrorBody {
  const statusCode = ERROR_CATALOGUE[code].status;
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    code,
    message,
    requestId,
    ...(details && details.length > 0 ? { details } : {}),
  };
}

/** Sends a catalogued management API error. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  details?: readonly FieldProblem[],
  cause?: unknown,
): FastifyReply {
  const body = errorBody(request.id, code, message, details);
  logAnswer(request, { status: body.statusCode, code, message, cause });
  return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
}

type ValidationEntry = { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> };

/** Ajv's findings as the contract's `details`: dotted field paths and short messages. */
function validationDetails(entries: readonly ValidationEntry[]): FieldProblem[] {
  return entries.map((entry) => {
    const path = (entry.instancePath ?? '').split('/').filter((p) => p !== '');
    const params = entry.params ?? {};
    if (entry.keyword === 'required' && typeof params.missingProperty === 'string')
      return { field: [...path, params.missingProperty].join('.'), message: 'is required' };
    if (entry.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      return { field: [...path, params.additionalProperty].join('.'), message: 'is not a known field' };
    }
    return { field: path.join('.') || '(root)', message: entry.message ?? 'is invalid' };
  });
}

/** Maps any error to a catalogued code; unexpected ones become internal_error, with no detail. */
function classifyError(error: FastifyError | AppError | Error): { code: ErrorCode; message: string; details?: FieldProblem[] } {
  if (error instanceof AppError)
    return { code: error.code, message: error.message, ...(error.details ? { details: [...error.details] } : {}) };
  if (error instanceof UnstorableInputError) {
    if (error.part === 'params') return { code: 'not_found', message: 'no such resource' };
    return { code: 'validation_failed', message: error.message, details: [{ field: error.field, message: error.problem }] };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const details = validationDetails(fastifyError.validation);
    const context = fastifyError.validationContext ?? 'request';
    return { code: 'validation_failed', message: `${context}/${details[0]?.field ?? ''} ${details[0]?.message ?? 'is invalid'}`, details };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large', message: 'the request body is larger than 1 MiB' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', message: 'send the body as application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'malformed_json', message: 'the body is not valid JSON' };
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400)
    return { code: 'malformed_json', message: 'the body is not valid JSON' };
  if (fastifyError.statusCode === 413) return { code: 'payload_too_large', message: 'the request body is too large' };
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { code: 'validation_failed', message: fastifyError.message };
  }
  return { code: 'internal_error', message: 'an unexpected error occurred; quote the request id when reporting it' };
}

/** A route's path as a pattern that matches the paths it serves (`:id` one segment, `*` the rest). */
function routePattern(url: string): RegExp {
  const parts = url
    .split(/(:[^/]+|\*)/)
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('')}$`);
}

/**
 * Installs the contract's error shape for every error and unknown route of `app`'s scope (register
 * it before the routes: it learns their paths to answer a known path with the wrong method 405).
 */
export function registerApiErrorHandling(app: FastifyInstance): void {
  const routes: { method: string; pattern: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const pattern = routePattern(route.url);
    for (const method of [route.method].flat()) routes.push({ method, pattern });
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { code, message, details } = classifyError(error);
    // An unexpected error is logged with itself as the cause; an expected one with its own cause, if any.
    const cause = code === 'internal_error' ? error : error instanceof AppError ? error.cause : undefined;
    return sendError(request, reply, code, message, details, cause);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method))].sort();
    if (allowed.length === 0) return sendError(request, reply, 'route_not_found', `no route ${request.method} ${path}`);
    reply.header('allow', allowed.join(', '));
    return sendError(request, reply, 'method_not_allowed', `${path} answers ${allowed.join(', ')}, not ${request.method}`);
  });
}

/** Which shape a path's errors take: the API's, OAuth's (RFC 6749 §5.2), SCIM's (RFC 7644 §3.12), or a page for a person. */
function surfaceOf(url: string): 'api' | 'oauth' | 'scim' | 'page' {
  if (url.startsWith('/scim/')) return 'scim';
  if (url.startsWith('/sso/') || url.startsWith('/setup/')) return 'page';
  if (url.startsWith('/oauth/') || url.startsWith('/.well-known/')) return 'oauth';
  return 'api';
}

/**
 * Fastify's `frameworkErrors`: a URL the router refuses before any route is known (a percent-encoding
 * that is not UTF-8, a path segment over the router's 100 characters), answered in the shape of the
 * surface the path belongs to.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { code, message }: { code: ErrorCode; message: string } =
    error.code === 'FST_ERR_BAD_URL'
      ? { code: 'invalid_url', message: 'the URL holds a percent-encoding that is not UTF-8' }
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? { code: 'uri_too_long', message: 'a path segment is longer than 100 characters' }
        : { code: 'internal_error', message: 'an unexpected error occurred; quote the request id when reporting it' };
  const status = ERROR_CATALOGUE[code].status;
  // No onRequest hook ran for a URL the router refused: the request id header is set here.
  reply.header('x-request-id', request.id);
  switch (surfaceOf(request.url)) {
    case 'scim':
      void sendScimError(request, reply, { code: status < 500 ? 'scim_invalid_value' : 'scim_internal_error', detail: message });
      break;
    case 'oauth':
      void sendOAuthError(
        request,
        reply,
        new OAuthError(status < 500 ? 'invalid_request' : 'server_error', message),
        status >= 500 ? error : undefined,
      );
      break;
    case 'page':
      void sendFailurePage(request, reply, {
        status,
        code,
        title: 'This address is not valid',
        message: `The link is damaged: ${message}.`,
      });
      break;
    case 'api':
      void sendError(request, reply, code, message, undefined, status >= 500 ? error : undefined);
      break;
  }
}

/**
 * Fastify's `clientErrorHandler`: a request node's HTTP parser refused (headers over its 16 KiB,
 * a malformed request line, a timeout) has no route yet, so it is answered on the socket in the
 * API's shape, with a request id of its own that the log line carries too.
 */
export function clientErrorHandler(deps: { random: RandomBytes; logger: Logger }) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has nobody left to answer (node's own clientError handling does the same).
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [code, message]: [ErrorCode, string] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? ['request_header_fields_too_large', 'the request line and headers are larger than 16 KiB']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['request_timeout', 'the request was not received in time']
          : ['malformed_request', 'the HTTP request could not be parsed'];
    const body = errorBody(`req_${randomToken(deps.random, 12)}`, code, message);
    deps.logger.info({ reqId: body.requestId, code, status: body.statusCode, parserCode: error.code }, message);
    if (socket.writable) {
      const text = JSON.stringify(body);
      socket.write(
        `HTTP/1.1 ${body.statusCode} ${body.error}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\nx-request-id: ${body.requestId}\r\nConnection: close\r\n\r\n${text}`,
      );
    }
    socket.destroy();
  };
}

/** Answers an OAuth endpoint's error as RFC 6749 §5.2 (and RFC 6750 §3 for userinfo) wants it. */
function sendOAuthError(request: FastifyRequest, reply: FastifyReply, error: OAuthError, cause?: unknown): FastifyReply {
  logAnswer(request, { status: error.status, code: error.error, message: error.description, cause });
  if (error.status === 401) {
    reply.header(
      'www-authenticate',
      error.error === 'invalid_token' ? `Bearer error="invalid_token", error_description="${error.description}"` : 'Basic realm="lanyard"',
    );
  }
  return reply
    .code(error.status)
    .headers({ 'cache-control': 'no-store' })
    .send({ error: error.error, error_description: error.description });
}

/** The error handler of the OAuth endpoints: every failure in RFC 6749 §5.2 form. */
export function oauthErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof OAuthError) return sendOAuthError(request, reply, error);
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const refused = new OAuthError('invalid_request', 'send the parameters as application/x-www-form-urlencoded (RFC 6749 §4.1.3)');
    return sendOAuthError(request, reply, refused);
  }
  if (error.validation || (error.statusCode !== undefined && error.statusCode < 500))
    return sendOAuthError(request, reply, new OAuthError('invalid_request', error.message));
  return sendOAuthError(request, reply, new OAuthError('server_error', `an unexpected error occurred (request id ${request.id})`), error);
}

/** A failure page to send: what a person at the browser (or their IT admin) reads. */
export interface FailurePage {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly message: string;
  readonly facts?: readonly (readonly [string, string])[];
  readonly back?: string;
  readonly cause?: unknown;
}

/** Sends the HTML failure page, with the request id to quote; `headers` may widen the page CSP. */
export function sendFailurePage(request: FastifyRequest, reply: FastifyReply, page: FailurePage, headers = PAGE_HEADERS): FastifyReply {
  logAnswer(request, page);
  const body = errorPage({
    title: page.title,
    message: page.message,
    requestId: request.id,
    ...(page.facts ? { facts: page.facts } : {}),
    ...(page.back !== undefined ? { back: { href: page.back, label: 'Return to the application' } } : {}),
  });
  return reply.code(page.status).headers(headers).send(body);
}

/** Where the ACS or the OIDC callback sends the browser: a 302, or the failure page with the catalogue's status. */
export function sendLoginOutcome(request: FastifyRequest, reply: FastifyReply, outcome: LoginOutcome): FastifyReply {
  if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 302);
  return sendFailurePage(request, reply, outcome);
}

/**
 * An error handler for routes a person reaches with a browser: a failure page whose status is the
 * error's (4xx) or 500, in the words `describe` picks for that status.
 */
export function pageErrorHandler(describe: (status: number) => { title: string; message: string }) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status >= 500 ? 'internal_error' : error.code;
    void sendFailurePage(request, reply, { status, code, ...describe(status), cause: error });
  };
}

/**
 * An error handler for the operator console: the console calls the same services as the API, so an
 * error is answered with the API's status and message, on the page `render` draws for it.
 */
export function consoleErrorHandler(render: (request: FastifyRequest, status: number, message: string) => string) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { code, message } = classifyError(error);
    const status = ERROR_CATALOGUE[code].status;
    logAnswer(request, { status, code, message, cause: code === 'internal_error' ? error : undefined });
    const shown = status >= 500 ? 'An unexpected error occurred; nothing may have been changed. Try again.' : message;
    return reply
      .code(status)
      .headers(PAGE_HEADERS)
      .send(render(request, status, shown));
  };
}
