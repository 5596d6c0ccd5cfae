import type { Connection } from '../domain/connections/view.ts';
import type { OrganizationDomain } from '../http/schemas/domains.ts';
import type { DayOutcome, LoginTrace } from '../domain/console/reads.ts';
import { LOGIN_FAILURE_CATALOGUE } from '../domain/login/failures.ts';
import { SAML_ERROR_CATALOGUE } from '../domain/saml/errors.ts';
import type { Application } from '../http/schemas/applications.ts';
import type { Event } from '../http/schemas/events.ts';
import type { Organization } from '../http/schemas/organizations.ts';
import type { Ticket } from '../http/schemas/tickets.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../http/schemas/webhooks.ts';
import type { DirectoryView } from '../domain/scim/views.ts';
import { RENEWAL_TICKET, TICKET_DOMAIN_VERIFICATIONS, TICKET_TYPES } from '../domain/tickets/view.ts';
import { html, page, type SafeHtml } from './html.ts';
import { CONSOLE_SCRIPT_PATH } from './console-script.ts';
import { SETUP_SCRIPT_PATH } from './setup-page.ts';

type Cell = Parameters<typeof html>[1];

/** One column of a table: adding a field to a page is adding one of these. */
export interface Column<T> {
  readonly label: string;
  readonly cell: (row: T) => Cell;
}

/** Where a page sits in the navigation, and the CSRF token its forms (sign-out included) post. */
interface Frame {
  readonly csrf: string;
  readonly section: 'organizations' | 'events' | 'webhooks';
}

/** A timestamp: UTC text, which the console script rewrites in the viewer's time zone. */
export function time(iso: string | null | undefined): SafeHtml {
  if (!iso) return html`<span class="muted">—</span>`;
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

function table<T>(caption: string, columns: readonly Column<T>[], rows: readonly T[], empty: SafeHtml): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="data-wrap">
    <table class="data">
      <caption class="sr-only">
        ${caption}
      </caption>
      <thead>
        <tr>
          ${columns.map((c) => html`<th scope="col">${c.label}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map((row) => html`<tr>${columns.map((c) => html`<td>${c.cell(row)}</td>`)}</tr>`)}
      </tbody>
    </table>
  </div>`;
}

/** "Next page" (and back to the first) for cursor paging; `label` names the list when a page has several. */
function pager(first: string | null, next: string | null, label = 'Pages'): SafeHtml | '' {
  if (first === null && next === null) return '';
  return html`<nav class="pager" aria-label="${label}">
    ${first ? html`<a href="${first}">First page</a>` : ''} ${next ? html`<a href="${next}" rel="next">Next page</a>` : ''}
  </nav>`;
}

function hidden(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}" />`;
}

/** A button that posts (with the CSRF token) to `action`. */
function postButton(action: string, csrf: string, label: string, accessibleName: string = label): SafeHtml {
  return html`<form class="inline" method="post" action="${action}">
    ${hidden(csrf)}<button type="submit" class="secondary" aria-label="${accessibleName}">${label}</button>
  </form>`;
}

function consolePage(title: string, frame: Frame | undefined, body: SafeHtml): string {
  const link = (section: Frame['section'], href: string, label: string) =>
    html`<a href="${href}" ${frame?.section === section ? html`aria-current="page"` : ''}>${label}</a>`;
  const nav = frame
    ? html`<nav aria-label="Console">
        <span class="brand">Lanyard console</span>
        ${link('organizations', '/console', 'Organizations')} ${link('events', '/console/events', 'Events')}
        ${link('webhooks', '/console/webhooks', 'Webhooks')}
        <form method="post" action="/console/sign-out">${hidden(frame.csrf)}<button type="submit" class="secondary">Sign out</button></form>
      </nav>`
    : html`<nav aria-label="Console"><span class="brand">Lanyard console</span></nav>`;
  return page({
    title: `${title} · Console`,
    mainClass: 'console',
    scripts: [CONSOLE_SCRIPT_PATH, SETUP_SCRIPT_PATH],
    body: html`<header>${nav}</header>
      ${body}`,
  });
}

const HOW_TO_SIGN_IN = html`<p>
    Ask for a sign-in link on the server: <code>npm run lanyard -- console-link</code>, or with an admin API key:
    <code>curl -X POST -H "Authorization: Bearer $KEY" …/v1/console-links</code>. A link works once, within 10 minutes.
  </p>`;

/** The page a sign-in link opens: one button, so that a link scanner fetching the URL does not spend it. */
export function signInPage(token: string): string {
  return consolePage(
    'Sign in',
    undefined,
    html`<div class="card">
      <h1>Sign in to the Lanyard console</h1>
      <p>This link signs this browser in once. The session ends after 30 minutes without use, and after 12 hours in any case.</p>
      <form method="post" action="/console/sign-in">
        <input type="hidden" name="token" value="${token}" /><button type="submit" data-focus>Sign in</button>
      </form>
    </div>`,
  );
}

/** Why the console would not open: no session, an ended one, or a spent link. */
export function signInNeededPage(reason: 'no_session' | 'link_refused' | 'signed_out'): string {
  const message = {
    no_session: 'You are not signed in, or your session ended (after 30 minutes idle or 12 hours in all).',
    link_refused: 'This sign-in link was already used, has expired, or is not a Lanyard link. Each link works once, within 10 minutes.',
    signed_out: 'You are signed out.',
  }[reason];
  return consolePage(
    'Sign in needed',
    undefined,
    html`<div class="card" role="${reason === 'signed_out' ? 'status' : 'alert'}">
      <h1>${reason === 'signed_out' ? 'Signed out' : 'Sign in needed'}</h1>
      <p>${message}</p>
      ${HOW_TO_SIGN_IN}
    </div>`,
  );
}

/** A post without this session's CSRF token. */
export function refusedFormPage(frame: Frame, requestId: string): string {
  return consolePage(
    'Form refused',
    frame,
    html`<div class="card" role="alert">
      <h1 class="bad">This form was refused</h1>
      <p>It did not carry this session's security token, so nothing was changed. Go back, reload the page and try again.</p>
      <p class="muted">Request id: <code>${requestId}</code></p>
    </div>`,
  );
}

/** A failure of an action or a lookup, in the console's frame. */
export function consoleErrorPage(frame: Frame | undefined, title: string, message: string, requestId: string): string {
  return consolePage(
    title,
    frame,
    html`<div class="card" role="alert">
      <h1 class="bad">${title}</h1>
      <p>${message}</p>
      <p><a href="/console">Back to organizations</a></p>
      <p class="muted">Request id: <code>${requestId}</code></p>
    </div>`,
  );
}

const ORGANIZATION_COLUMNS: readonly Column<Organization>[] = [
  { label: 'Name', cell: (o) => html`<a href="/console/organizations/${o.id}">${o.name}</a>` },
  { label: 'External id', cell: (o) => o.externalId ?? html`<span class="muted">—</span>` },
  { label: 'Domains', cell: (o) => o.domains.join(', ') || html`<span class="muted">none</span>` },
  { label: 'Created', cell: (o) => time(o.createdAt) },
];

export interface OrganizationSearch {
  readonly name?: string | undefined;
  readonly externalId?: string | undefined;
  readonly domain?: string | undefined;
}

/** Query string of a search plus a cursor. */
function searchHref(path: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

export function organizationsPage(input: {
  frame: Frame;
  search: OrganizationSearch;
  organizations: readonly Organization[];
  cursor: string | undefined;
  nextCursor: string | null;
}): string {
  const { search } = input;
  const searching = Boolean(search.name || search.externalId || search.domain);
  const field = (name: keyof OrganizationSearch, label: string) =>
    html`<div><label for="q-${name}">${label}</label><input id="q-${name}" name="${name}" value="${search[name] ?? ''}" /></div>`;
  return consolePage(
    'Organizations',
    input.frame,
    html`<h1>Organizations</h1>
      <div class="card">
        <form class="search" method="get" action="/console" role="search">
          ${field('name', 'Name contains')} ${field('externalId', 'External id')} ${field('domain', 'Domain')}
          <button type="submit">Search</button>${searching ? html`<a href="/console">Clear</a>` : ''}
        </form>
      </div>
      <div class="card">
        ${table(
          'Organizations',
          ORGANIZATION_COLUMNS,
          input.organizations,
          searching
            ? html`No organization matches this search. Check the spelling, or search by domain or external id instead.`
            : html`No organizations yet. Create one with <code>POST /v1/organizations</code>; it appears here.`,
        )}
        ${pager(
          input.cursor ? searchHref('/console', { ...search }) : null,
          input.nextCursor ? searchHref('/console', { ...search, cursor: input.nextCursor }) : null,
        )}
      </div>`,
  );
}

/** Seven days of successes and failures as a small bar chart, with its numbers for screen readers. */
export function outcomeChart(days: readonly DayOutcome[]): SafeHtml {
  const max = Math.max(1, ...days.map((d) => d.succeeded + d.failed));
  const succeeded = days.reduce((n, d) => n + d.succeeded, 0);
  const failed = days.reduce((n, d) => n + d.failed, 0);
  const label = `Last ${days.length} days: ${succeeded} succeeded, ${failed} failed`;
  const height = 24;
  const bars = days.map((d, i) => {
    const x = i * 10;
    const ok = Math.round((d.succeeded / max) * height);
    const bad = Math.round((d.failed / max) * height);
    return html`<g>
      <title>${d.day}: ${d.succeeded} succeeded, ${d.failed} failed</title>
      <rect class="none" x="${x}" y="${height - 1}" width="8" height="1"></rect>
      <rect class="ok" x="${x}" y="${height - ok}" width="8" height="${ok}"></rect>
      <rect class="bad" x="${x}" y="${height - ok - bad}" width="8" height="${bad}"></rect>
    </g>`;
  });
  return html`<svg class="chart" role="img" aria-label="${label}" width="${days.length * 10}" height="${height}" viewBox="0 0 ${days.length * 10} ${height}">
      ${bars}</svg
    ><span class="muted"> ${succeeded} ok · ${failed} failed</span>`;
}

/** The earliest expiry among a SAML connection's certificates, flagged when past or within 30 days. */
function certificateExpiry(c: Connection, now: Date): Cell {
  const soonest = (c.saml?.certificates ?? []).map((cert) => cert.notAfter).sort()[0];
  if (soonest === undefined) return html`<span class="muted">${c.type === 'oidc' ? 'n/a (OIDC)' : 'none'}</span>`;
  const days = Math.floor((new Date(soonest).getTime() - now.getTime()) / 86_400_000);
  const flag =
    days < 0 ? html` <span class="pill bad">expired</span>` : days <= 30 ? html` <span class="pill bad">${days} days left</span>` : '';
  return html`${time(soonest)}${flag}`;
}

type ConnectionRowView = Connection & { outcomes: readonly DayOutcome[] };

function connectionColumns(now: Date): readonly Column<ConnectionRowView>[] {
  return [
    {
      label: 'Connection',
      cell: (c) => html`<a href="/console/connections/${c.id}">${c.name}</a> <span class="muted">${c.type.toUpperCase()}</span>`,
    },
    { label: 'State', cell: (c) => html`<span class="pill ${c.enabled ? 'ok' : false}">${c.enabled ? 'enabled' : c.state}</span>` },
    { label: 'Identity provider', cell: (c) => c.saml?.idpEntityId ?? c.oidc?.issuer ?? html`<span class="muted">not set up</span>` },
    { label: 'Certificate expires', cell: (c) => certificateExpiry(c, now) },
    { label: 'Last login', cell: (c) => time(c.lastUsedAt) },
    { label: 'Logins, 7 days', cell: (c) => outcomeChart(c.outcomes) },
  ];
}

/** The organization's domains in every state, as GET /v1/organizations/{id}/domains gives them. */
const DOMAIN_COLUMNS: readonly Column<OrganizationDomain>[] = [
  { label: 'Domain', cell: (d) => d.domain },
  { label: 'State', cell: (d) => d.state },
  { label: 'Verification', cell: (d) => (d.dnsRecord ? html`DNS TXT <code>${d.dnsRecord.name}</code>` : d.verification) },
  { label: 'Verified', cell: (d) => time(d.verifiedAt) },
  { label: 'Routes logins', cell: (d) => (d.state === 'verified' && d.useForDiscovery ? 'yes' : 'no') },
];

const DIRECTORY_COLUMNS: readonly Column<DirectoryView & { users: number; groups: number }>[] = [
  { label: 'Directory', cell: (d) => d.name },
  { label: 'Provider', cell: (d) => d.provider },
  { label: 'State', cell: (d) => html`<span class="pill">${d.state}</span>` },
  { label: 'Users', cell: (d) => d.users },
  { label: 'Groups', cell: (d) => d.groups },
  { label: 'Last sync', cell: (d) => time(d.lastRequestAt) },
];

/** The setup ticket's domain policy in the console's words, the API's default first. */
const TICKET_DOMAIN_POLICIES = [
  ['required', 'Proven by a DNS record before setup can finish'],
  ['optional', 'Proven by a DNS record in the background'],
  ['none', 'Trusted as entered, without DNS proof'],
] as const satisfies readonly (readonly [(typeof TICKET_DOMAIN_VERIFICATIONS)[number], string])[];

/** What the ticket does with the domains its page takes (a renewal page takes none). */
function domainPolicy(t: Ticket): string {
  if (t.type === RENEWAL_TICKET) return '–';
  const proof = t.domainVerification === 'none' ? 'not proven' : `DNS proof ${t.domainVerification}`;
  return t.useForDiscovery ? `${proof}, routes sign-ins` : proof;
}

function ticketColumns(csrf: string): readonly Column<Ticket>[] {
  return [
    { label: 'Ticket', cell: (t) => html`<code>${t.id}</code>` },
    { label: 'Type', cell: (t) => t.type },
    { label: 'Domains', cell: domainPolicy },
    { label: 'Status', cell: (t) => html`<span class="pill">${t.status}</span>` },
    { label: 'Created', cell: (t) => time(t.createdAt) },
    { label: 'Expires', cell: (t) => time(t.expiresAt) },
    {
      label: 'Action',
      cell: (t) => (t.status === 'open' ? postButton(`/console/tickets/${t.id}/revoke`, csrf, 'Revoke', `Revoke ticket ${t.id}`) : ''),
    },
  ];
}

const APPLICATION_COLUMNS: readonly Column<Application>[] = [
  { label: 'Application', cell: (a) => a.name },
  { label: 'Client id', cell: (a) => html`<code>${a.clientId}</code>` },
  { label: 'Organizations', cell: (a) => (a.organizationIds === null ? 'every organization' : `${a.organizationIds.length} listed`) },
  { label: 'Redirect URIs', cell: (a) => a.redirectUris.join(', ') },
];

/** The organization page's lists that page on their own, each by a cursor of its own in the query. */
export type OrganizationSection = 'connections' | 'tickets' | 'directories' | 'applications';

export function organizationPage(input: {
  frame: Frame;
  now: Date;
  /** Where each list starts (none: its first page) and where its next page would. */
  cursors: Partial<Record<OrganizationSection, string>>;
  nextCursors: Record<OrganizationSection, string | null>;
  organization: Organization;
  connections: readonly ConnectionRowView[];
  directories: readonly (DirectoryView & { users: number; groups: number })[];
  tickets: readonly Ticket[];
  applications: readonly Application[];
  domains: readonly OrganizationDomain[];
  notice?: string | undefined;
  createdTicket?: Ticket | undefined;
}): string {
  const o = input.organization;
  const created = input.createdTicket;
  const path = `/console/organizations/${o.id}`;
  const { cursors } = input;
  const pages = (section: OrganizationSection) => {
    const next = input.nextCursors[section];
    return pager(
      cursors[section] ? searchHref(path, { ...cursors, [section]: undefined }) : null,
      next ? searchHref(path, { ...cursors, [section]: next }) : null,
      `Pages of ${section}`,
    );
  };
  return consolePage(
    o.name,
    input.frame,
    html`<p><a href="/console">← Organizations</a></p>
      <h1>${o.name}</h1>
      <p class="muted"><code>${o.id}</code>${o.externalId ? html` · external id <code>${o.externalId}</code>` : ''} · created ${time(o.createdAt)}</p>
      ${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''}
      ${
        created?.ticketUrl
          ? html`<div class="card" role="status">
              <h2>Setup link created</h2>
              <p>Send this link to the customer's IT admin. It is shown only now; it works until ${time(created.expiresAt)}.</p>
              <p><code id="ticket-url">${created.ticketUrl}</code></p>
              <button type="button" class="copy" data-copy="ticket-url" aria-label="Copy the setup link" hidden>Copy</button>
              <p id="copy-status" class="sr-only" aria-live="polite"></p>
            </div>`
          : ''
      }
      <section class="card" aria-labelledby="h-connections">
        <h2 id="h-connections">Connections</h2>
        ${table(
          'Connections',
          connectionColumns(input.now),
          input.connections,
          html`No connection yet. Create a setup link below and send it to the customer's IT admin, who sets it up.`,
        )}
        ${pages('connections')}
      </section>
      <section class="card" aria-labelledby="h-tickets">
        <h2 id="h-tickets">Setup links</h2>
        ${table('Setup tickets', ticketColumns(input.frame.csrf), input.tickets, html`No setup link yet. Create one to let the customer's IT admin set up sign-in.`)}
        ${pages('tickets')}
        <form method="post" action="/console/organizations/${o.id}/tickets">
          ${hidden(input.frame.csrf)}
          <label for="ticket-type">Identity provider of the new setup link</label>
          <select id="ticket-type" name="type">
            ${TICKET_TYPES.map((t) => html`<option value="${t}">${t}</option>`)}
          </select>
          <label for="ticket-domain-verification">Email domains the IT admin enters</label>
          <select id="ticket-domain-verification" name="domainVerification">
            ${TICKET_DOMAIN_POLICIES.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
          </select>
          <label for="ticket-discovery">Route sign-ins by those domains</label>
          <select id="ticket-discovery" name="useForDiscovery">
            <option value="yes">Yes: users of those domains sign in through this connection</option>
            <option value="no">No: the domains are only recorded</option>
          </select>
          <button type="submit">Create setup link</button>
        </form>
      </section>
      <section class="card" aria-labelledby="h-domains">
        <h2 id="h-domains">Domains</h2>
        ${table(
          'Domains',
          DOMAIN_COLUMNS,
          input.domains,
          html`No domain yet. Claim one with <code>POST /v1/organizations/${o.id}/domains</code> or through a setup link.`,
        )}
      </section>
      <section class="card" aria-labelledby="h-directories">
        <h2 id="h-directories">Directories</h2>
        ${table(
          'Directories',
          DIRECTORY_COLUMNS,
          input.directories,
          html`No directory. Create one with <code>POST /v1/directories</code> to receive users and groups by SCIM.`,
        )}
        ${pages('directories')}
      </section>
      <section class="card" aria-labelledby="h-applications">
        <h2 id="h-applications">Applications this organization signs in to</h2>
        ${table('Applications', APPLICATION_COLUMNS, input.applications, html`No application admits this organization. Create one with <code>POST /v1/applications</code>.`)}
        ${pages('applications')}
      </section>
      <p><a href="/console/events?organizationId=${o.id}">This organization's events</a></p>`,
  );
}

/** A failure code's meaning, from the catalogue the README documents. */
function describeFailure(code: string): string | undefined {
  const catalogues: Record<string, { description: string }> = { ...LOGIN_FAILURE_CATALOGUE, ...SAML_ERROR_CATALOGUE };
  return Object.hasOwn(catalogues, code) ? catalogues[code]?.description : undefined;
}

const OUTCOME_CLASS = { succeeded: 'ok', failed: 'bad', pending: false, abandoned: false } as const;

/** How long a step took after the start, in seconds. */
function after(start: string, at: string | null): Cell {
  if (at === null) return html`<span class="muted">—</span>`;
  return `+${((new Date(at).getTime() - new Date(start).getTime()) / 1000).toFixed(1)} s`;
}

const TRACE_COLUMNS: readonly Column<LoginTrace>[] = [
  { label: 'Started', cell: (t) => html`<a href="#${t.id}">${time(t.startedAt)}</a>` },
  { label: 'Kind', cell: (t) => (t.kind === 'test' ? 'setup test' : 'app login') },
  { label: 'IdP answered', cell: (t) => after(t.startedAt, t.returnedAt) },
  { label: 'Finished', cell: (t) => after(t.startedAt, t.completedAt) },
  { label: 'Outcome', cell: (t) => html`<span class="pill ${OUTCOME_CLASS[t.outcome]}">${t.outcome}</span>` },
  { label: 'Failure', cell: (t) => (t.failure ? html`<code>${t.failure.code}</code>` : '') },
];

/** A failed login's diagnosis: the code, what it means, and the facts the failure page showed. */
function diagnosis(trace: LoginTrace & { failure: NonNullable<LoginTrace['failure']> }): SafeHtml {
  const f = trace.failure;
  const meaning = describeFailure(f.code);
  return html`<article class="card" id="${trace.id}" aria-labelledby="d-${trace.id}">
    <h3 id="d-${trace.id}">Why the login of ${time(trace.startedAt)} failed</h3>
    <p><code>${f.code}</code>${meaning ? html` — ${meaning}` : ''}</p>
    <p>${f.message}</p>
    ${
      f.facts.length > 0
        ? html`<table>
            ${f.facts.map(([k, v]) => html`<tr><th scope="row">${k}</th><td><code>${v}</code></td></tr>`)}
          </table>`
        : ''
    }
    <p class="muted">Login flow <code>${trace.id}</code></p>
  </article>`;
}

export function connectionPage(input: {
  frame: Frame;
  connection: Connection;
  organization: Organization;
  traces: readonly LoginTrace[];
  before: string | undefined;
  nextBefore: string | null;
}): string {
  const c = input.connection;
  const base = `/console/connections/${c.id}`;
  const failures = input.traces.filter((t): t is LoginTrace & { failure: NonNullable<LoginTrace['failure']> } => t.failure !== null);
  return consolePage(
    `${c.name} login traces`,
    input.frame,
    html`<p><a href="/console/organizations/${input.organization.id}">← ${input.organization.name}</a></p>
      <h1>${c.name}: login traces</h1>
      <p class="muted">
        ${c.type.toUpperCase()} · ${c.provider} · ${c.enabled ? 'enabled' : c.state} · <code>${c.id}</code>
      </p>
      <section class="card" aria-labelledby="h-traces">
        <h2 id="h-traces">Recent login flows</h2>
        ${table(
          'Login flows, newest first',
          TRACE_COLUMNS,
          input.traces,
          html`No login through this connection yet. Once someone signs in (or an IT admin runs a test from the setup page), each attempt appears here with its timing.`,
        )}
        ${pager(input.before ? base : null, input.nextBefore ? `${base}?before=${encodeURIComponent(input.nextBefore)}` : null)}
      </section>
      ${failures.length > 0 ? html`<h2>Failure diagnoses</h2>${failures.map(diagnosis)}` : ''}`,
  );
}

/** A summary value as text: names and ids as they are, lists joined. */
function summaryValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(summaryValue).join(', ');
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const EVENT_COLUMNS: readonly Column<Event>[] = [
  { label: 'When', cell: (e) => time(e.createdAt) },
  { label: 'Type', cell: (e) => html`<code>${e.type}</code>` },
  {
    label: 'Organization',
    cell: (e) => (e.organizationId ? html`<a href="/console/organizations/${e.organizationId}">${e.organizationId}</a>` : '—'),
  },
  { label: 'Actor', cell: (e) => html`<code>${e.actor}</code>` },
  {
    label: 'Summary',
    cell: (e) => Object.entries(e.summary).map(([k, v]) => html`<span class="muted">${k}</span> ${summaryValue(v)}<br />`),
  },
];

export function eventsPage(input: {
  frame: Frame;
  types: readonly string[];
  filter: { type?: string | undefined; organizationId?: string | undefined };
  events: readonly Event[];
  cursor: string | undefined;
  nextCursor: string | null;
}): string {
  const { filter } = input;
  return consolePage(
    'Events',
    input.frame,
    html`<h1>Events</h1>
      <div class="card">
        <form class="search" method="get" action="/console/events" role="search">
          <div>
            <label for="f-type">Type</label>
            <select id="f-type" name="type">
              <option value="">every type</option>
              ${input.types.map((t) => html`<option value="${t}" ${filter.type === t ? html`selected` : ''}>${t}</option>`)}
            </select>
          </div>
          <div>
            <label for="f-org">Organization id</label><input id="f-org" name="organizationId" value="${filter.organizationId ?? ''}" />
          </div>
          <button type="submit">Filter</button>
        </form>
      </div>
      <div class="card">
        ${table('Events, oldest first', EVENT_COLUMNS, input.events, html`No event matches. Clear the filters, or change something: every change is recorded here.`)}
        ${pager(
          input.cursor ? searchHref('/console/events', filter) : null,
          input.nextCursor ? searchHref('/console/events', { ...filter, cursor: input.nextCursor }) : null,
        )}
      </div>`,
  );
}

const ENDPOINT_COLUMNS: readonly Column<WebhookEndpoint>[] = [
  { label: 'Endpoint', cell: (w) => html`<a href="/console/webhooks/${w.id}">${w.url}</a>` },
  {
    label: 'State',
    cell: (w) => html`<span class="pill ${w.enabled ? 'ok' : 'bad'}">${w.enabled ? 'enabled' : `disabled (${w.disabledReason})`}</span>`,
  },
  { label: 'Events', cell: (w) => (w.eventTypes === null ? 'every type' : w.eventTypes.join(', ')) },
  { label: 'Organization', cell: (w) => w.organizationId ?? 'every organization' },
  { label: 'Failing since', cell: (w) => time(w.failingSince) },
];

export function webhooksPage(input: {
  frame: Frame;
  endpoints: readonly WebhookEndpoint[];
  cursor: string | undefined;
  nextCursor: string | null;
}): string {
  return consolePage(
    'Webhooks',
    input.frame,
    html`<h1>Webhook endpoints</h1>
      <div class="card">
        ${table(
          'Webhook endpoints',
          ENDPOINT_COLUMNS,
          input.endpoints,
          html`No webhook endpoint. Create one with <code>POST /v1/webhook-endpoints</code> to have events pushed to your app.`,
        )}
        ${pager(input.cursor ? '/console/webhooks' : null, input.nextCursor ? `/console/webhooks?cursor=${encodeURIComponent(input.nextCursor)}` : null)}
      </div>`,
  );
}

function deliveryColumns(csrf: string): readonly Column<WebhookDelivery>[] {
  return [
    { label: 'Created', cell: (d) => time(d.createdAt) },
    { label: 'Event', cell: (d) => html`<code>${d.eventType}</code>` },
    {
      label: 'Status',
      cell: (d) => html`<span class="pill ${d.status === 'delivered' ? 'ok' : d.status === 'failed' ? 'bad' : false}">${d.status}</span>`,
    },
    {
      label: 'Attempts',
      cell: (d) =>
        d.attempts.length === 0
          ? html`<span class="muted">none yet</span>`
          : d.attempts.map(
              (a) =>
                html`${time(a.attemptedAt)}: ${a.statusCode ?? a.error ?? 'no answer'} <span class="muted">(${a.latencyMs} ms)</span><br />`,
            ),
    },
    { label: 'Next attempt', cell: (d) => time(d.nextAttemptAt) },
    {
      label: 'Action',
      cell: (d) =>
        d.status === 'delivered'
          ? ''
          : postButton(`/console/webhook-deliveries/${d.id}/retry`, csrf, 'Retry now', `Retry now: delivery ${d.id}`),
    },
  ];
}

export function webhookPage(input: {
  frame: Frame;
  endpoint: WebhookEndpoint;
  deliveries: readonly WebhookDelivery[];
  cursor: string | undefined;
  nextCursor: string | null;
  notice?: string | undefined;
}): string {
  const w = input.endpoint;
  const base = `/console/webhooks/${w.id}`;
  return consolePage(
    'Webhook deliveries',
    input.frame,
    html`<p><a href="/console/webhooks">← Webhook endpoints</a></p>
      <h1>Deliveries to ${w.url}</h1>
      ${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''}
      <div class="card">
        ${table(
          'Deliveries, newest first',
          deliveryColumns(input.frame.csrf),
          input.deliveries,
          html`Nothing delivered yet. Send a test event with <code>POST /v1/webhook-endpoints/${w.id}/test</code>.`,
        )}
        ${pager(input.cursor ? base : null, input.nextCursor ? `${base}?cursor=${encodeURIComponent(input.nextCursor)}` : null)}
      </div>`,
  );
}
