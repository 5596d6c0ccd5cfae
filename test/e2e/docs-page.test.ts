// /docs under its CSP in a real browser: Swagger UI renders the API, "try it out" reaches the API,
// the browser reports no CSP violation, and another origin cannot frame the page.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { launchChromium, screenshot } from '../support/chromium.ts';
import { startLanyard } from '../support/lanyard-server.ts';

test('the API docs page works in Chromium under its CSP, and cannot be framed', { timeout: 120_000 }, async (t) => {
  const browser = await launchChromium(t);
  if (browser === undefined) return;
  const lanyard = await startLanyard();
  // A page on another origin that frames /docs (clickjacking).
  const framer = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<iframe id="docs" src="${lanyard.url}/docs/"></iframe>`),
  );
  await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve));
  try {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${lanyard.url}/docs/`);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'Lanyard API' }).waitFor({ timeout: 30_000 });
    await page.locator('.opblock-summary-path', { hasText: '/v1/organizations' }).first().waitFor();

    // "Try it out" on GET /healthz is not documented; GET /.well-known/openid-configuration needs no key.
    const discovery = page.locator('.opblock-get', { hasText: '/.well-known/openid-configuration' }).first();
    await discovery.locator('.opblock-summary').click();
    await discovery.getByRole('button', { name: 'Try it out' }).click();
    await discovery.getByRole('button', { name: 'Execute' }).click();
    await discovery.locator('.responses-table .response-col_status', { hasText: '200' }).first().waitFor({ timeout: 15_000 });
    await screenshot(page, 'docs-page');
    assert.deepEqual(violations, [], 'no CSP violation');

    const framing = await browser.newPage();
    const refused: string[] = [];
    framing.on('console', (message) => refused.push(message.text()));
    await framing.goto(`http://127.0.0.1:${(framer.address() as AddressInfo).port}/`);
    await framing.waitForTimeout(1000);
    const framed = framing.frames().find((frame) => frame.url().includes('/docs'));
    const framedTitle = framed ? await framed.locator('.swagger-ui .info .title').count() : 0;
    assert.equal(framedTitle, 0, 'the framed page shows nothing');
  } finally {
    await browser.close();
    framer.close();
    await lanyard.close();
  }
});
