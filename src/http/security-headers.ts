import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's answer carries a secret shown once (an API key token, a client secret, a ticket
     * URL, a SCIM token, a webhook signing secret): every answer of the route is sent with
     * `Cache-Control: no-store` and `Pragma: no-cache`, so no browser, proxy or CDN keeps a copy
     * (RFC 9111 §5.2.2.5; RFC 6749 §5.1 asks the same of token responses). Declare it in the route's
     * options: `app.post('/scim-tokens', { config: { secretInResponse: true }, schema }, handler)`.
     */
    secretInResponse?: boolean;
  }
}

/** One year, and every subdomain: what the HSTS preload list asks for (RFC 6797 §6.1). */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * The API documentation page (Swagger UI, served by @fastify/swagger-ui): its scripts and styles
 * come from Lanyard, it fetches the OpenAPI document and "try it out" calls from the same origin,
 * React sets inline style attributes (hence 'unsafe-inline' for styles only) and the logo is a
 * data: image. No page may frame it (CSP Level 3 frame-ancestors; X-Frame-Options for older
 * browsers, RFC 7034).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Response headers decided in one place rather than per route: HSTS on every answer when Lanyard is
 * served over https (never over http, where a browser ignores it and it would only mislead),
 * `no-store` on routes that declare `config.secretInResponse`, and the CSP and frame protection of
 * `/docs`. An onSend hook, so that error answers (including Fastify's own, such as a malformed URL)
 * carry them too.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: { publicUrl: string }): void {
  const https = new URL(options.publicUrl).protocol === 'https:';
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (https) reply.header('strict-transport-security', HSTS);
    if (request.routeOptions.config.secretInResponse === true) reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    if (isDocsRoute(request.routeOptions.url)) {
      reply.header('content-security-policy', DOCS_CSP).header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff');
    }
    return payload;
  });
}

function isDocsRoute(url: string | undefined): boolean {
  return url !== undefined && (url === '/docs' || url.startsWith('/docs/'));
}
