import type { FastifyPluginAsync } from 'fastify';

// Submits the one form marked data-auto-submit (SAML HTTP-POST binding); served from Lanyard so the
// page CSP can stay `script-src 'self'` with no inline script.
const AUTO_SUBMIT = "document.querySelector('form[data-auto-submit]')?.submit();\n";

/** Static scripts of the server-rendered pages. */
export const assetRoutes: FastifyPluginAsync = async (app) => {
  app.get('/assets/auto-submit.js', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .send(AUTO_SUBMIT),
  );
};
