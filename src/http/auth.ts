import type { FastifyRequest } from 'fastify';
import type { Actor } from '../domain/actor.ts';
import { AppError } from '../domain/errors.ts';

/**
 * The API key token in an Authorization header: `Bearer <token>`, or `Basic base64(<keyId>:<secret>)`
 * (tokens are `<keyId>.<secret>`, so both spell the same key). Undefined when absent or malformed.
 */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const [, scheme = '', credentials = ''] = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header) ?? [];
  if (credentials === '') return undefined;
  if (scheme.toLowerCase() === 'bearer') return credentials;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return `${decoded.slice(0, colon)}.${decoded.slice(colon + 1)}`;
}

/** Key used to count requests: the API key when authenticated, else the client address. */
export function rateLimitSubject(request: FastifyRequest): string {
  return request.actor ? `key:${request.actor.id}` : `ip:${request.ip}`;
}

/** The API key a /v1 route acts as. The authenticate hook answered 401 already when there is none; this keeps it so. */
export function actorOf(request: FastifyRequest): Actor {
  if (request.actor === null) throw new AppError('unauthenticated', 'send an API key: Authorization: Bearer <token>');
  return request.actor;
}
