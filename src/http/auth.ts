import type { FastifyRequest } from 'fastify';

/**
 * The API key token in an Authorization header: `Bearer <token>`, or `Basic base64(<keyId>:<secret>)`
 * (tokens are `<keyId>.<secret>`, so both spell the same key). Undefined when absent or malformed.
 */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header);
  if (match === null) return undefined;
  if (match[1]!.toLowerCase() === 'bearer') return match[2];
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return `${decoded.slice(0, colon)}.${decoded.slice(colon + 1)}`;
}

/** Key used to count requests: the API key when authenticated, else the client address. */
export function rateLimitSubject(request: FastifyRequest): string {
  return request.actor ? `key:${request.actor.id}` : `ip:${request.ip}`;
}
