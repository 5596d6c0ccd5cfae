import type { CertificateSummary, RenewalView } from '../domain/tickets/renewal.ts';
import { html, page, type SafeHtml } from './html.ts';
import { field, formErrors, setupForm, type FormContext, type FormState } from './setup-forms.ts';
import { lastTestLine, savedNotice, SETUP_SCRIPT_PATH, when } from './setup-page.ts';
import { rows } from './setup-pages.ts';

const RENEWAL_FORMS: ReadonlySet<string> = new Set(['certificate', 'metadataXml', 'metadataUrl', 'renewal', 'test', 'renew']);

/** The certificates as rows: subject, SHA-256 fingerprint and expiry. */
function certificateRows(certificates: readonly CertificateSummary[]): SafeHtml {
  return rows(
    certificates.map((c) => [
      `Certificate ${c.subject}`,
      `SHA-256 ${c.fingerprintSha256}, valid until ${c.notAfter}${c.expired ? ' (EXPIRED)' : ''}`,
    ]),
  );
}

function header(view: RenewalView): SafeHtml {
  const { connection } = view;
  const days = connection.certificateDaysLeft ?? 0;
  const statusLine =
    connection.certificateStatus === 'expired'
      ? html`<p class="notice bad"><strong>Its certificate has expired:</strong> sign-ins fail until it is renewed.</p>`
      : connection.certificateStatus === 'expiring'
        ? html`<p class="notice bad"><strong>Its certificate expires in ${days} ${days === 1 ? 'day' : 'days'}.</strong></p>`
        : '';
  return html`<header class="card">
    <p class="muted">Certificate renewal for</p>
    <h1>${view.organizationName}</h1>
    <p>
      Your identity provider <strong>${connection.name}</strong> (<code>${connection.saml?.idpEntityId ?? ''}</code>) signs your
      people's sign-ins. Give Lanyard its new signing certificate, test a sign-in with it, then renew. Nothing else about single
      sign-on changes, and nothing changes for anyone until you renew. This link works until <strong>${when(view.expiresAt)}</strong>;
      do not forward it.
    </p>
    ${statusLine}
    <h2>Trusted now</h2>
    ${certificateRows(view.current)}
  </header>`;
}

/** The choice every form of step 1 carries: keep the current certificate (a rollover) or replace it. */
function keepChoice(view: RenewalView, form: string): SafeHtml {
  const keep = view.candidate === null ? true : view.candidate.keepCurrent;
  const id = `f-keep-${form}`;
  return html`<div class="check">
    <input type="checkbox" id="${id}" name="keepCurrent" value="yes" ${keep ? html`checked` : ''} /><label for="${id}"
      >Keep trusting the current certificate too, while the identity provider switches keys</label
    >
  </div>`;
}

function candidateStep(ctx: FormContext, view: RenewalView): SafeHtml {
  const candidate = view.candidate;
  const chosen = candidate
    ? html`<p class="ok"><strong>New certificate saved</strong> (${when(new Date(candidate.savedAt))}, from ${
        candidate.source === 'certificate'
          ? 'a pasted certificate'
          : candidate.source === 'metadataXml'
            ? 'metadata XML'
            : candidate.metadataUrl
      }):</p>
      ${certificateRows(candidate.certificates)}
      <p>Once renewed, Lanyard trusts ${candidate.keepCurrent ? 'these and the current certificates' : 'only these'}:</p>
      ${certificateRows(view.after)}`
    : '';
  const urlNote =
    view.connection.saml?.metadataUrl != null
      ? html`<p class="hint">
          This connection reads its values from <code>${view.connection.saml.metadataUrl}</code>. A certificate or metadata XML given
          here replaces that: Lanyard stops refreshing from the URL. A metadata URL given here is refreshed from from then on.
        </p>`
      : '';
  const form = (source: string, name: string, body: SafeHtml, button: string) =>
    setupForm(
      ctx,
      'candidate',
      html`${formErrors(ctx, source, [name])}${body}${keepChoice(view, source)}<button type="submit">${button}</button>`,
      { hiddenFields: { source } },
    );
  return html`<section class="card" id="step-candidate" aria-labelledby="h-candidate">
    <h2 id="h-candidate">1. The new certificate</h2>
    ${formErrors(ctx, 'renewal', [], 'Not saved.')}${chosen}${urlNote}
    <h3>Paste the certificate</h3>
    ${form(
      'certificate',
      'renewal.certificate',
      field(ctx, {
        form: 'certificate',
        name: 'renewal.certificate',
        label: 'New signing certificate',
        textarea: true,
        hint: 'PEM (-----BEGIN CERTIFICATE-----) or base64, as your identity provider shows it.',
      }),
      'Use this certificate',
    )}
    <h3>Or give the new metadata</h3>
    ${form(
      'metadataUrl',
      'renewal.metadataUrl',
      field(ctx, {
        form: 'metadataUrl',
        name: 'renewal.metadataUrl',
        label: 'IdP metadata URL',
        type: 'url',
        placeholder: 'https://',
        value: view.connection.saml?.metadataUrl,
      }),
      'Read the metadata URL',
    )}
    ${form(
      'metadataXml',
      'renewal.metadataXml',
      field(ctx, { form: 'metadataXml', name: 'renewal.metadataXml', label: 'Metadata XML', textarea: true }),
      'Use this metadata',
    )}
  </section>`;
}

function testStep(ctx: FormContext, view: RenewalView, saved: string | undefined): SafeHtml {
  const lastLine = lastTestLine(view.lastTest, 'The certificates changed since: test again.');
  const body =
    view.candidate !== null
      ? setupForm(ctx, 'test', html`${formErrors(ctx, 'test', [], 'Not started.')}<button type="submit">Test sign-in</button>`)
      : html`${formErrors(ctx, 'test', [], 'Not started.')}
          <p class="muted">Available once step 1 is done.</p>`;
  return html`<section class="card" id="step-test" aria-labelledby="h-test">
    <h2 id="h-test">2. Test sign-in</h2>
    ${savedNotice(saved, 'step-test')}
    <p>
      Sign in through your identity provider as yourself. Lanyard checks the answer against the certificates it would trust once
      renewed; everyone else keeps signing in as before.
    </p>
    ${lastLine}${body}
  </section>`;
}

function renewStep(ctx: FormContext, view: RenewalView): SafeHtml {
  const tested = view.lastTest?.ok === true && view.lastTest.current;
  const body = tested
    ? setupForm(ctx, 'renew', html`${formErrors(ctx, 'renew', [], 'Not renewed.')}<button type="submit">Renew the certificate</button>`)
    : html`${formErrors(ctx, 'renew', [], 'Not renewed.')}
        <p class="muted">Available after a successful test sign-in with the new certificate.</p>`;
  return html`<section class="card" id="step-renew" aria-labelledby="h-renew">
    <h2 id="h-renew">3. Renew</h2>
    <p>Sign-ins are then checked against the new certificates. This completes the renewal: the link then only shows a summary.</p>
    ${body}
  </section>`;
}

/** The page of an open certificate-renewal ticket: the new certificate, a test sign-in with it, and the renewal. */
export function renewalPage(input: {
  view: RenewalView;
  token: string;
  csrf: string;
  saved?: string | undefined;
  state?: FormState | undefined;
}): string {
  // A refused post of a form this page does not have (the setup page's) is told at step 1.
  const state = input.state && !RENEWAL_FORMS.has(input.state.form) ? { ...input.state, form: 'renewal' } : input.state;
  const ctx: FormContext = { token: input.token, csrf: input.csrf, state };
  const { view } = input;
  return page({
    title: `Renew the signing certificate · ${view.organizationName}`,
    scripts: [SETUP_SCRIPT_PATH],
    body: html`${header(view)}${candidateStep(ctx, view)}${testStep(ctx, view, input.saved)}${renewStep(ctx, view)}`,
  });
}

/** The summary of a completed renewal, while its link is valid. */
export function renewalSummaryPage(input: { view: RenewalView; notice?: string | undefined }): string {
  const { view } = input;
  return page({
    title: `Certificate renewed · ${view.organizationName}`,
    body: html`<div class="card"><p class="muted">Certificate renewal for</p><h1>${view.organizationName}</h1>${
      input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''
    }<p class="ok"><strong>The certificate is renewed${view.completedAt ? html` (${when(view.completedAt)})` : ''}.</strong> Nothing can be changed through this link any more.</p>
<h2>Trusted now</h2>${certificateRows(view.current)}</div>`,
  });
}
