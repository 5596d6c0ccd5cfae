import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import type { DirectoryAuth } from '../domain/scim/directory-auth.ts';
import { SCIM_ERROR_CATALOGUE, scimErrorBody, type ScimError, type ScimErrorCode } from '../domain/scim/errors.ts';
import { checkHostileInput } from '../domain/scim/hostile-input.ts';
import type { DirectoryRow } from '../storage/schema.ts';
import { UnstorableInputError } from './input-guard.ts';
import type { ScimMetrics } from './metrics.ts';
import type { RateLimitStore } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The directory a SCIM request's token opened; null before authentication or when it failed. */
    scimDirectory: DirectoryRow | null;
    /** The SCIM error answered, for the request trace. */
    scimError: ScimError | null;
  }
}

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** What the SCIM pipeline needs. */
export interface ScimPipelineDeps {
  readonly auth: DirectoryAuth;
  readonly rateLimitStore: RateLimitStore;
  readonly config: Pick<Config, 'rateLimit'>;
  readonly metrics: ScimMetrics;
}

/** Answers a SCIM error in SCIM's shape (RFC 7644 §3.12) and keeps it for the trace. */
export function sendScimError(request: FastifyRequest, reply: FastifyReply, error: ScimError): FastifyReply {
  request.scimError = error;
  return reply.code(SCIM_ERROR_CATALOGUE[error.code].status).type(SCIM_CONTENT_TYPE).send(scimErrorBody(error));
}

const fail = (code: ScimErrorCode, detail: string): ScimError => ({ code, detail });

/** Maps any error reaching the SCIM scope to a SCIM error; unexpected ones are logged and become a bare 500. */
function classify(error: FastifyError): ScimError {
  if (error instanceof UnstorableInputError) {
    if (error.part === 'params') return fail('scim_not_found', error.message);
    return fail(error.part === 'querystring' && error.field === 'filter' ? 'scim_invalid_filter' : 'scim_invalid_value', error.message);
  }
  if (error.validation) {
    const where = error.validationContext ?? 'request';
    const first = error.validation[0];
    const detail = `${where}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`;
    return fail(where === 'body' ? 'scim_invalid_syntax' : 'scim_invalid_value', detail);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return fail('scim_payload_too_large', 'the request body is larger than 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return fail('scim_unsupported_media_type', 'send the body as application/scim+json (or application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return fail('scim_invalid_syntax', 'the body is not valid JSON');
  }
  if (error instanceof SyntaxError || error.statusCode === 400) return fail('scim_invalid_syntax', 'the body is not valid JSON');
  if (error.statusCode === 413) return fail('scim_payload_too_large', 'the request body is too large');
  if (error.statusCode === 415) return fail('scim_unsupported_media_type', 'send the body as application/scim+json (or application/json)');
  return fail('scim_internal_error', 'an unexpected error occurred; quote the request id when reporting it');
}

/**
 * Installs the SCIM scope's own pipeline: the `application/scim+json` parser, SCIM-shaped errors,
 * the bearer token of the directory in the path, the per-directory rate limit, the hostile-input
 * check, and the request trace.
 */
export function installScimPipeline(app: FastifyInstance, deps: ScimPipelineDeps): void {
  app.decorateRequest('scimDirectory', null);
  app.decorateRequest('scimError', null);
  // RFC 7644 §3.1: SCIM messages are application/scim+json; application/json is accepted as well. Nothing else
  // (text/plain would otherwise reach the handlers as a string).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  // An empty body with a JSON content type (a DELETE from a client that always sets the header) is no body.
  app.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') {
      done(null, undefined);
      return;
    }
    return json(request, text, done);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const scimError = classify(error);
    if (scimError.code === 'scim_internal_error') request.log.error({ err: error }, 'unexpected error in the SCIM API');
    return sendScimError(request, reply, scimError);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const { directoryId } = request.params as { directoryId?: string };
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    request.scimDirectory = await deps.auth.authenticate(directoryId ?? '', token, request.id);
    // Counted per directory once authenticated, per client address before: strangers cannot use up a directory's allowance.
    const subject = request.scimDirectory === null ? `ip:${request.ip}` : `dir:${request.scimDirectory.id}`;
    if (!(await withinLimit(deps, request, reply, `scim:${subject}`))) return reply;
    if (request.scimDirectory === null) {
      reply.header('www-authenticate', 'Bearer realm="scim"');
      return sendScimError(request, reply, fail('scim_unauthorized', "send this directory's SCIM token: Authorization: Bearer <token>"));
    }
    return undefined;
  });

  app.addHook('preHandler', async (request, reply) => {
    const checked = checkHostileInput(request.body ?? null);
    if (!checked.ok) return sendScimError(request, reply, checked.error);
    // Query parameters need no such check: each is parsed to a closed form (integers, attribute names,
    // filter literals whose tokenizer refuses NUL and unpaired surrogates) before anything reads it.
    return undefined;
  });

  // Counted by the resource of the route template (/scim/v2/:directoryId/Users/:id → Users), never the raw path.
  app.addHook('onResponse', async (request, reply) => {
    const resource = request.routeOptions.url?.split('/')[4] ?? 'unmatched';
    deps.metrics.request(resource, request.method, reply.statusCode);
  });

  app.addHook('onResponse', async (request, reply) => {
    const { directoryId } = request.params as { directoryId?: string };
    const directory =
      request.scimDirectory?.id ?? (directoryId !== undefined && (await deps.auth.exists(directoryId)) ? directoryId : null);
    if (directory === null) return;
    const prefix = `/scim/v2/${directory}`;
    try {
      await deps.auth.trace({
        directoryId: directory,
        method: request.method,
        path: request.url.startsWith(prefix) ? request.url.slice(prefix.length) || '/' : request.url,
        status: reply.statusCode,
        scimType:
          request.scimError === null ? null : ((SCIM_ERROR_CATALOGUE[request.scimError.code] as { scimType?: string }).scimType ?? null),
        detail: request.scimError?.detail ?? null,
        durationMs: reply.elapsedTime,
        userAgent: request.headers['user-agent'] ?? null,
        requestId: request.id,
      });
    } catch (error) {
      request.log.warn({ err: error }, 'SCIM request not traced');
    }
  });
}

/** Fixed-window limit (the deployment's LANYARD_RATE_LIMIT_* per directory); a store outage lets requests through. */
async function withinLimit(deps: ScimPipelineDeps, request: FastifyRequest, reply: FastifyReply, key: string): Promise<boolean> {
  const { max, windowSeconds } = deps.config.rateLimit;
  let hit: { count: number; resetInMs: number };
  try {
    hit = await deps.rateLimitStore.hit(key, windowSeconds * 1000);
  } catch (error) {
    request.log.warn({ err: error }, 'rate limit store unavailable; SCIM request not counted');
    return true;
  }
  if (hit.count <= max) return true;
  const retry = Math.max(1, Math.ceil(hit.resetInMs / 1000));
  reply.header('retry-after', retry);
  sendScimError(request, reply, fail('scim_rate_limited', `more than ${max} requests in ${windowSeconds} s; retry in ${retry} s`));
  return false;
}
