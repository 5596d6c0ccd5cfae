import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CATALOGUE, type ErrorCode, type FieldProblem } from '../domain/errors.ts';

/** The management API's error body (../shared/API.md, "Errors"). */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  requestId: string;
  details?: readonly FieldProblem[];
}

/** Builds the contract's error body for a catalogued code. */
export function errorBody(request: FastifyRequest, code: ErrorCode, message: string, details?: readonly FieldProblem[]): ApiErrorBody {
  const statusCode = ERROR_CATALOGUE[code].status;
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    code,
    message,
    requestId: request.id,
    ...(details && details.length > 0 ? { details } : {}),
  };
}

/** Sends a catalogued error. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  details?: readonly FieldProblem[],
): FastifyReply {
  const body = errorBody(request, code, message, details);
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

/** Maps any error to a catalogued code; unexpected ones become a logged 500 with no detail. */
export function classifyError(error: FastifyError | AppError | Error): { code: ErrorCode; message: string; details?: FieldProblem[] } {
  if (error instanceof AppError)
    return { code: error.code, message: error.message, ...(error.details ? { details: [...error.details] } : {}) };
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

/** Installs the contract's error shape for every error and unknown route of `app`'s scope. */
export function registerApiErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { code, message, details } = classifyError(error);
    if (code === 'internal_error') request.log.error({ err: error }, 'unexpected error');
    else if (error instanceof AppError && error.cause !== undefined) request.log.warn({ err: error.cause, code }, error.message);
    return sendError(request, reply, code, message, details);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 'route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
