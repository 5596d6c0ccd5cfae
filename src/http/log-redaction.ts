import type { FastifyRequest } from 'fastify';

/**
 * A setup URL's path carries the ticket's bearer token (`/setup/<token>/…`); logs keep the rest
 * of the path and never the token. Test result pages (`/setup/tests/<flow id>`) carry no secret.
 */
function redactUrl(url: string): string {
  return url.replace(/^\/setup\/(?!tests\/)[^/?#]+/, '/setup/[redacted]');
}

/** Fastify's `req` log serializer with the URL redacted; the same fields as Fastify's own. */
export function requestLogSerializer(
  // Pino may hand serializers a request that is not fully formed (no headers or socket yet).
  request: Pick<FastifyRequest, 'method' | 'url' | 'host' | 'ip'> & Partial<Pick<FastifyRequest, 'headers' | 'socket'>>,
): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
