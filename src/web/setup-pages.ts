import { subjectFor } from '../domain/profile.ts';
import type { SetupView } from '../domain/tickets/setup-view.ts';
import type { TestSignInResult } from '../storage/schema.ts';
import { html, page, type SafeHtml } from './html.ts';
import { SETUP_SCRIPT_PATH } from './setup-page.ts';

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const when = (date: Date | string) => `${new Date(date).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** A table of label and value rows, each value as code. */
export function rows(entries: readonly (readonly [string, string])[]): SafeHtml {
  return html`<table>${entries.map(([k, v]) => html`<tr><th scope="row">${k}</th><td><code>${v}</code></td></tr>`)}</table>`;
}

function show(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The page of a link that cannot be used. The same for an unknown, a mistyped and a tampered
 * token (404), and it names nothing (no organization, no ticket) for any of them.
 */
export function invalidLinkPage(status: 404 | 410, requestId: string): string {
  const [title, message] =
    status === 404
      ? [
          'This setup link is not valid',
          'The link may be incomplete or mistyped. Copy it again from the message you received, or ask the person who sent it for a new one.',
        ]
      : ['This setup link can no longer be used', 'It has expired or was withdrawn. Ask the person who sent it to you for a new link.'];
  return page({
    title,
    body: html`<div class="card" role="alert"><h1>${title}</h1><p>${message}</p><p class="muted">Request id: <code>${requestId}</code></p></div>`,
  });
}

/** A form post that lacks this page's session or CSRF token: nothing was changed. */
export function refusedFormPage(token: string, requestId: string): string {
  return page({
    title: 'This form could not be accepted',
    body: html`<div class="card" role="alert"><h1 class="bad">This form could not be accepted</h1><p>Your session on this page has ended, or the form was not sent from the setup page. Nothing was changed.</p>
<p><a class="button" href="/setup/${token}">Reload the setup page</a></p><p class="muted">Request id: <code>${requestId}</code></p></div>`,
  });
}

/** A test result opened in a browser without the setup page's session (only that browser may see it). */
export function sessionNeededPage(requestId: string): string {
  return page({
    title: 'Open your setup link again',
    body: html`<div class="card" role="alert"><h1>Open your setup link again</h1><p>A test sign-in's result is shown only in the browser that is working on the setup, and its session on the setup page has ended (or this is another browser). Open the setup link you received, then run the test again.</p><p class="muted">Request id: <code>${requestId}</code></p></div>`,
  });
}

/** What a test sign-in brought back: the profile and every attribute, or the diagnosed failure. */
export function testResultPage(input: { token: string; result: TestSignInResult | undefined; view: SetupView; requestId: string }): string {
  const { result, view } = input;
  const back = html`<p><a class="button" href="/setup/${input.token}#step-test">Back to the setup</a></p>`;
  let body: SafeHtml;
  if (result === undefined) {
    body = html`<div class="card"><h1>The test sign-in has not come back yet</h1><p>Finish signing in at your identity provider, or start the test again from the setup page.</p>${back}</div>`;
  } else if (!result.ok) {
    body = html`<div class="card" role="alert"><h1 class="bad">Test sign-in failed</h1><p>${result.message}</p>${rows([...result.facts, ['Error code', result.code], ['When', when(result.at)]])}
<p>Correct it at ${view.choice.name} or in step 3 of the setup, then test again.</p>${back}</div>`;
  } else {
    const p = result.profile;
    const email = view.attributes.find((a) => a.key === 'email')?.name ?? 'email';
    const facts: [string, string][] = [
      ['Email', p.email ?? '(none)'],
      ['First name', p.firstName ?? '(none)'],
      ['Last name', p.lastName ?? '(none)'],
      // Without group sync the groups an IdP sends are not read: say so, not "(none)", while the raw attributes list them.
      ['Groups', p.groups.length > 0 ? p.groups.join(', ') : view.connection.groupSync ? '(none)' : 'Not read: group sync is off'],
      ['Subject at your IdP', p.idpId],
      ['User ID the app receives', subjectFor(p)],
    ];
    const raw = Object.entries(p.rawAttributes);
    body = html`<div class="card"><h1 class="ok">Test sign-in succeeded</h1><p>${capitalized(view.choice.name)} signed you in at ${when(result.at)}. This is what the app will receive:</p>${rows(facts)}
${p.email === null ? html`<p class="notice bad">No email address arrived: Lanyard looked for the ${view.connection.type === 'saml' ? 'attribute' : 'claim'} <code>${email}</code>. Send it (step 2), or change the name it is read from (step 3), and test again.</p>` : ''}
<h2>Everything ${view.choice.name} sent</h2>${raw.length > 0 ? rows(raw.map(([k, v]) => [k, show(v)])) : html`<p class="muted">No attributes.</p>`}
<p>If this looks right, go back and activate single sign-on.</p>${back}</div>`;
  }
  return page({ title: 'Test sign-in result', scripts: [SETUP_SCRIPT_PATH], body });
}

/** What a completed ticket's link shows from then on: the setup as activated, read-only. */
export function setupSummaryPage(input: { view: SetupView; notice?: string | undefined; directory?: SafeHtml | undefined }): string {
  const { view } = input;
  const c = view.connection;
  const facts: [string, string][] = [
    ['Identity provider', view.choice.label],
    ['Connection', `${c.name} (${c.id})`],
    ['Status', c.enabled ? 'active' : 'disabled by the service provider'],
  ];
  if (c.saml !== null && c.sp !== null) {
    facts.push(['IdP entity ID', c.saml.idpEntityId ?? ''], ['ACS URL', c.sp.acsUrl], ['SP entity ID', c.sp.entityId]);
    for (const cert of c.saml.certificates)
      facts.push([`Certificate ${cert.subject}`, `SHA-256 ${cert.fingerprintSha256}, valid until ${cert.notAfter}`]);
  } else if (c.oidc !== null) {
    facts.push(['Issuer', c.oidc.issuer ?? ''], ['Client ID', c.oidc.clientId ?? ''], ['Redirect URI', c.oidc.redirectUri]);
  }
  for (const a of view.attributes) facts.push([`${a.label} from`, a.name]);
  const domains = view.domains.filter((d) => d.state === 'yours').map((d) => d.domain);
  // Domains entered on the page (DNS policies): each with its state, as a pending one may verify later.
  for (const d of view.enteredDomains)
    if (d.claim !== null) domains.push(d.claim.state === 'verified' ? d.domain : `${d.domain} (${d.claim.state} DNS verification)`);
  if (domains.length > 0) facts.push(['Email domains', domains.join(', ')]);
  facts.push(['Activated', view.completedAt ? when(view.completedAt) : '']);
  return page({
    title: `Single sign-on for ${view.organizationName}`,
    body: html`<div class="card"><p class="muted">Single sign-on setup for</p><h1>${view.organizationName}</h1>${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''}
<p class="ok"><strong>Single sign-on is set up.</strong> ${
      input.directory === undefined
        ? 'Nothing can be changed through this link any more: to change the setup, ask for a new link.'
        : 'Its settings cannot be changed through this link any more (ask for a new link to change them); directory sync below still can.'
    }</p>${rows(facts)}</div>${input.directory ?? ''}`,
    ...(input.directory !== undefined ? { scripts: [SETUP_SCRIPT_PATH] } : {}),
  });
}
