import type { FastifyPluginAsync } from 'fastify';

// Submits the one form marked data-auto-submit (SAML HTTP-POST binding); served from Lanyard so the
// page CSP can stay `script-src 'self'` with no inline script.
const AUTO_SUBMIT = "document.querySelector('form[data-auto-submit]')?.submit();\n";

// Lanyard's icon, which browsers ask for at /favicon.ico on every page: a white L on a blue rounded
// square, 32×32, as an ICO file holding one PNG image (an ICO entry may be a PNG since Windows Vista;
// every browser reads it).
const FAVICON = Buffer.from(
  'AAABAAEAICAAAAEAIACMAAAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAgAAAAIAgGAAAAc3p69AAAAFNJREFUeNrt17sNACAMQ8EswkrsxdTQUfBvgkF6ltIh+Ups1iTElD3PZvEuXkJul3cIKUBVXhEATh+OAgAAAAAAAMgBuwAAwJ/wDwDL6IlxqpznBbnUlqsKwRqNAAAAAElFTkSuQmCC',
  'base64',
);

/** Static scripts of the server-rendered pages, and the icon. */
export const assetRoutes: FastifyPluginAsync = async (app) => {
  app.get('/assets/auto-submit.js', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .send(AUTO_SUBMIT),
  );
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('image/x-icon').header('cache-control', 'public, max-age=86400').header('x-content-type-options', 'nosniff').send(FAVICON),
  );
};
