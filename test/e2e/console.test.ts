// An operator uses the console in headless Chromium as a person would: signs in with a link, finds
// an organization, creates and revokes a setup link, reads why a login against SimpleSAMLphp
// failed, retries a webhook delivery; every page passes axe-core with no serious or critical
// violation, and nothing the strict CSP refuses is attempted.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshot } from '../support/chromium.ts';
import { fixtureCertificates } from '../support/connections.ts';
import { requireOrSkip } from '../support/environment.ts';
import { createApplication, relyingParty, startLanyard, type ListeningLanyard } from '../support/lanyard-server.ts';
import { signInWithSimpleSamlPhp } from '../support/saml-idp-driver.ts';
import { simpleSamlPhpAvailability, startSimpleSamlPhp, type SimpleSamlPhpIdp } from '../support/simplesamlphp.ts';
import { startReceiver, type Receiver } from '../support/webhook-receiver.ts';

const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The page's visible text, whitespace collapsed. */
async function textOf(page: Page): Promise<string> {
  return (await page.innerText('body')).replace(/\s+/g, ' ');
}

/** Runs axe-core in the page (evaluated through the DevTools protocol, which the page CSP does not govern). */
async function assertAccessible(page: Page, name: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate<string[]>(`axe.run(document).then((r) => r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`);
  assert.deepEqual(violations, [], `${name}: no serious or critical axe violation`);
}

/** Presses a button (or follows a link) by its accessible name and waits for the page it leads to. */
async function press(page: Page, role: 'button' | 'link', name: string | RegExp): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.getByRole(role, { name }).first().click()]);
}

describe('the operator console in a browser', () => {
  let lanyard: ListeningLanyard;
  let browser: Browser | undefined;
  let receiver: Receiver;
  let idp: SimpleSamlPhpIdp | undefined;
  before(async () => {
    lanyard = await startLanyard();
    receiver = await startReceiver();
  });
  after(async () => {
    await idp?.stop();
    await browser?.close();
    await receiver.close();
    await lanyard.close();
  });

  test('sign in, find an organization, a setup link, a failed login diagnosed, a webhook retried', { timeout: 300_000 }, async (t) => {
    const idpAvailability = simpleSamlPhpAvailability();
    if (!requireOrSkip(t, idpAvailability.available, idpAvailability.reason)) return;
    browser = await launchChromium(t);
    if (browser === undefined) return;

    const org = (
      await lanyard.request({
        method: 'POST',
        url: '/v1/organizations',
        payload: { name: 'Acme Corp', externalId: 'crm-4711', domains: ['acme.example'] },
      })
    ).json<{ id: string }>();
    for (const name of ['Globex', 'Initech', 'Umbrella'])
      await lanyard.request({ method: 'POST', url: '/v1/organizations', payload: { name, domains: [`${name.toLowerCase()}.example`] } });

    // A SAML connection to SimpleSAMLphp that trusts the wrong certificate: alice's login fails.
    const draft = (
      await lanyard.request({
        method: 'POST',
        url: '/v1/connections',
        payload: { organizationId: org.id, type: 'saml', name: 'Acme SimpleSAMLphp' },
      })
    ).json<{ id: string; sp: { entityId: string; acsUrl: string } }>();
    idp = await startSimpleSamlPhp({ spEntityId: draft.sp.entityId, acsUrl: draft.sp.acsUrl });
    const configured = await lanyard.request({
      method: 'PATCH',
      url: `/v1/connections/${draft.id}`,
      payload: { enabled: true, saml: { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [fixtureCertificates.okta!.pem] } },
    });
    assert.equal(configured.statusCode, 200, configured.body);
    const application = await createApplication(lanyard);
    const rp = await relyingParty(lanyard.url, application);
    const begun = await rp.begin({ organization: org.id });
    const acs = await signInWithSimpleSamlPhp(begun.url, 'alice');
    assert.equal(acs.status, 403, 'the login failed');

    // A webhook endpoint whose first delivery fails.
    receiver.answer = () => ({ status: 503 });
    const endpoint = (
      await lanyard.request({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        payload: { url: receiver.url, eventTypes: ['organization.updated'] },
      })
    ).json<{ id: string }>();
    await lanyard.request({ method: 'POST', url: `/v1/webhook-endpoints/${endpoint.id}/test` });
    await receiver.waitFor(1, 30_000);

    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });

    const link = (await lanyard.request({ method: 'POST', url: '/v1/console-links' })).json<{ url: string }>().url;
    await page.goto(link);
    await assertAccessible(page, 'sign-in page');
    await press(page, 'button', 'Sign in');
    assert.equal(new URL(page.url()).pathname, '/console');
    await assertAccessible(page, 'organizations');
    await screenshot(page, 'console-organizations');

    // Find the organization by part of its name, by keyboard.
    await page.getByLabel('Name contains').fill('acme');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    assert.match(await textOf(page), /Acme Corp crm-4711 acme\.example/);
    assert.doesNotMatch(await textOf(page), /Globex/);
    await press(page, 'link', 'Acme Corp');
    const orgText = await textOf(page);
    assert.match(orgText, /Acme SimpleSAMLphp SAML enabled/);
    assert.match(orgText, /0 ok · 1 failed/, 'the 7-day chart counts the failed login');
    const shownTime = await page.locator('time').first().innerText();
    assert.doesNotMatch(shownTime, /UTC/, 'dates are shown in the viewer’s time zone');

    // Create a setup link, read it off the page, revoke it.
    await page.getByLabel('Identity provider of the new setup link').selectOption('okta');
    await press(page, 'button', 'Create setup link');
    const ticketUrl = await page.locator('#ticket-url').innerText();
    assert.match(ticketUrl, new RegExp(`^${lanyard.url}/setup/`));
    assert.equal((await fetch(ticketUrl)).status, 200, 'the link opens the setup page');
    await assertAccessible(page, 'organization');
    await screenshot(page, 'console-organization');
    await press(page, 'button', /^Revoke ticket/);
    assert.match(await textOf(page), /The setup link was revoked/);
    assert.equal((await fetch(ticketUrl)).status, 410, 'the revoked link no longer opens');

    // The failed login's trace and diagnosis.
    await press(page, 'link', 'Acme SimpleSAMLphp');
    const traceText = await textOf(page);
    assert.match(traceText, /app login .* failed/);
    assert.match(traceText, /Why the login of .* failed/);
    assert.match(traceText, /Identity provider/, 'the facts the failure page showed');
    assert.match(traceText, /fingerprint|certificate/i);
    await assertAccessible(page, 'login traces');
    await screenshot(page, 'console-login-traces');

    // Retry the failed webhook delivery.
    receiver.answer = () => ({ status: 204 });
    await press(page, 'link', 'Webhooks');
    await assertAccessible(page, 'webhooks');
    await press(page, 'link', receiver.url);
    assert.match(await textOf(page), /webhook\.test .* 503/);
    await assertAccessible(page, 'webhook deliveries');
    await press(page, 'button', /^Retry now: delivery/);
    assert.match(await textOf(page), /queued to be sent again/);
    await receiver.waitFor(2, 30_000);
    await screenshot(page, 'console-webhook');

    await press(page, 'link', 'Events');
    await page.getByLabel('Type').selectOption('sso_ticket.revoked');
    await press(page, 'button', 'Filter');
    assert.match(await textOf(page), /sso_ticket\.revoked .* cses_/);
    await assertAccessible(page, 'events');

    // A form without its CSRF token is refused; the link cannot be used again.
    await press(page, 'link', 'Organizations');
    await page.evaluate(`document.querySelectorAll('input[name=_csrf]').forEach((i) => i.remove())`);
    await press(page, 'button', 'Sign out');
    assert.match(await textOf(page), /This form was refused/);
    await assertAccessible(page, 'refused form');
    const other = await context.browser()!.newContext();
    const second = await other.newPage();
    await second.goto(link);
    await press(second, 'button', 'Sign in');
    assert.match(await textOf(second), /already used, has expired/);
    await other.close();

    // Signing out ends the session: the next page asks for a new link.
    await page.goto(`${lanyard.url}/console`);
    await press(page, 'button', 'Sign out');
    await page.goto(`${lanyard.url}/console`);
    assert.match(await textOf(page), /Sign in needed/);
    await assertAccessible(page, 'sign in needed');
    assert.deepEqual(refused, [], 'the pages attempt nothing their CSP refuses');
    await context.close();
  });
});
