import type { FastifyRequest } from 'fastify';

/**
 * A setup URL's path carries the ticket's bearer token (`/setup/<token>/…`); logs keep the rest
 * of the path and never the token. Test result pages (`/setup/tests/<flow id>`) carry no secret.
 */
export function redactUrl(url: string): string {
  return url.replace(/^\/setup\/(?!tests\/)[^/?#]+/, '/setup/[redacted]');
}

/** Fastify's `req` log serializer with the URL redacted; the same fields as Fastify's own. */
export function requestLogSerializer(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
