import type { LastTest, SetupView } from '../domain/tickets/setup-view.ts';
import { html, page, type SafeHtml } from './html.ts';
import { directoryStep, type DirectoryStepInput } from './setup-directory.ts';
import { domainsStep } from './setup-domains.ts';
import {
  copyable,
  formErrors,
  mappingForm,
  oidcDetailsForm,
  samlDetailsForms,
  setupForm,
  type FormContext,
  type FormState,
} from './setup-forms.ts';

/** The script of the setup pages: copy buttons, the metadata file reader, focus on errors. */
export const SETUP_SCRIPT_PATH = '/assets/setup.js';

/** After each save: the step the page opens at, and what it says there (a fixed text, never echoed from the URL). */
export const SAVED: Readonly<Record<string, { step: string; text: string }>> = {
  provider: { step: 'step-configure', text: 'Saved: the identity provider. The values and instructions below are for it.' },
  idp: { step: 'step-test', text: "Saved: Lanyard read your identity provider's details. Run a test sign-in next." },
  mapping: { step: 'step-details', text: 'Saved: the attribute names. Test again to see them applied.' },
  candidate: { step: 'step-test', text: 'Saved: the new certificate. Nothing changed yet for sign-ins: test a sign-in with it next.' },
  'domain-added': { step: 'step-domains', text: 'Added: publish its TXT record below, then press Check now.' },
  'domain-checked': { step: 'step-domains', text: 'Checked just now: the result is shown with the domain below.' },
  'domain-removed': { step: 'step-domains', text: 'Removed.' },
};

/** True when the page has the Email domains step: the ticket offers domains and verifies them by DNS. */
const hasDomainsStep = (view: SetupView): boolean => view.domainPolicy.step;

/** A time as the setup pages show it: to the minute, in UTC. */
export const when = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The notice of a save that leads to `step`, if the page was opened after one. */
export function savedNotice(saved: string | undefined, step: string): SafeHtml {
  const notice = saved === undefined ? undefined : SAVED[saved];
  return notice?.step === step ? html`<p class="notice ok" role="status">${notice.text}</p>` : html``;
}

function header(view: SetupView, withDirectory: boolean): SafeHtml {
  const withDomains = hasDomainsStep(view);
  const live = view.connection.enabled;
  return html`<header class="card">
    <p class="muted">Single sign-on setup for</p>
    <h1>${view.organizationName}</h1>
    <p>
      Connect your identity provider so that your people sign in with their work account. This link works until
      <strong>${when(view.expiresAt)}</strong>; anyone who has it can change this setup, so do not forward it.
    </p>
    ${live ? html`<p class="notice bad"><strong>This connection is live.</strong> Changes you save take effect at once for everyone signing in through it.</p>` : ''}
    <nav aria-label="Steps">
      <ol class="steps">
        <li><a href="#step-idp">Identity provider</a></li>
        <li><a href="#step-configure">Configure it</a></li>
        <li><a href="#step-details">Its details</a></li>
        <li><a href="#step-test">Test</a></li>
        ${withDomains ? html`<li><a href="#step-domains">Email domains</a></li>` : ''}
        <li><a href="#step-activate">Activate</a></li>
        ${withDirectory ? html`<li><a href="#step-directory">Directory sync</a></li>` : ''}
      </ol>
    </nav>
  </header>`;
}

function chooseStep(ctx: FormContext, view: SetupView): SafeHtml {
  const canChoose = view.features.has('provider-choice') && view.choices.length > 1;
  const body = canChoose
    ? setupForm(
        ctx,
        'provider',
        html`${formErrors(ctx, 'choice', ['choice'])}
          <div class="field">
            <label for="f-choice">Identity provider</label
            ><select id="f-choice" name="choice">
              ${(['saml', 'oidc'] as const).map((protocol) => {
                const options = view.choices.filter((c) => c.protocol === protocol);
                return options.length === 0
                  ? ''
                  : html`<optgroup label="${protocol === 'saml' ? 'SAML 2.0' : 'OpenID Connect'}">
                      ${options.map((c) => html`<option value="${c.id}" ${c.id === view.choice.id ? html`selected` : ''}>${c.label}</option>`)}
                    </optgroup>`;
              })}
            </select>
          </div>
          <button type="submit" class="secondary">Use this identity provider</button>${
            view.connection.type === 'saml'
              ? html`<p class="hint">Switching between SAML and OpenID Connect gives you new values for step 2.</p>`
              : ''
          }`,
      )
    : html``;
  return html`<section class="card" id="step-idp" aria-labelledby="h-idp">
    <h2 id="h-idp">1. Your identity provider</h2>
    <p>You are setting up <strong>${view.choice.label}</strong>.</p>
    ${body}
  </section>`;
}

function configureStep(view: SetupView, saved: string | undefined): SafeHtml {
  const connection = view.connection;
  const what = connection.type === 'saml' ? 'Attribute' : 'Claim';
  const values =
    connection.sp !== null
      ? html`${copyable('v-acs', 'ACS URL (reply URL)', connection.sp.acsUrl)}${copyable('v-entity', 'SP entity ID (audience)', connection.sp.entityId)}${copyable(
          'v-metadata',
          'SP metadata URL',
          connection.sp.metadataUrl,
          html` <a class="button secondary" href="${connection.sp.metadataUrl}" download="lanyard-sp-metadata-${connection.id}.xml"
              >Download SP metadata</a
            >`,
        )}
          <tr>
            <th scope="row">NameID</th>
            <td>the user's email address (format emailAddress), or a persistent ID</td>
          </tr>`
      : connection.oidc !== null
        ? html`${copyable('v-redirect', 'Redirect URI', connection.oidc.redirectUri)}${copyable('v-scopes', 'Scopes', connection.oidc.scopes.join(' '))}`
        : html``;
  return html`<section class="card" id="step-configure" aria-labelledby="h-configure">
    <h2 id="h-configure">2. Configure ${view.choice.name}</h2>
    ${savedNotice(saved, 'step-configure')}
    <ol class="guide">
      ${view.guide.steps.map((step) => html`<li>${step}</li>`)}
    </ol>
    <h3>Values to enter at your identity provider</h3>
    <table class="values">
      ${values}
    </table>
    <h3>${what}s to send</h3>
    <table class="values">
      <tr>
        <th scope="col">User property</th>
        <th scope="col">${what} name</th>
      </tr>
      ${view.attributes.map(
        (a) =>
          html`<tr>
            <td>${a.label}${a.required ? html` <span class="muted">(required)</span>` : ''}</td>
            <td>
              <code id="v-attr-${a.key}">${a.name}</code>
              <button
                type="button"
                class="copy secondary"
                data-copy="v-attr-${a.key}"
                aria-label="Copy the ${a.label} ${what.toLowerCase()} name"
                hidden
              >
                Copy
              </button>
            </td>
          </tr>`,
      )}
    </table>
    <p class="sr-only" role="status" id="copy-status"></p>
  </section>`;
}

function currentValues(view: SetupView): SafeHtml {
  const { saml, oidc, warnings } = view.connection;
  const rows: [string, string][] = [];
  if (saml?.idpEntityId)
    rows.push(['IdP entity ID', saml.idpEntityId], ['Single sign-on URL', `${saml.ssoUrl ?? ''} (${saml.ssoBinding ?? 'redirect'})`]);
  if (saml?.metadataUrl) rows.push(['Read from', saml.metadataUrl]);
  for (const c of saml?.certificates ?? [])
    rows.push([`Certificate ${c.subject}`, `SHA-256 ${c.fingerprintSha256}, valid until ${c.notAfter}${c.expired ? ' (EXPIRED)' : ''}`]);
  if (oidc?.issuer)
    rows.push(['Issuer', oidc.issuer], ['Client ID', oidc.clientId ?? ''], ['Client secret', oidc.clientSecretSet ? 'stored' : 'missing']);
  // The "values are missing" warning speaks the API's language; the page says it in its own words.
  const notes = warnings
    .filter((w) => !w.startsWith('the IdP values are missing') && !w.startsWith('the OIDC values are missing'))
    .map(inPlainWords);
  if (rows.length === 0) return html`<p class="notice">Nothing yet: give Lanyard your identity provider's details below.</p>`;
  return html`<p class="ok"><strong>Saved.</strong> Lanyard has these values:</p>
    <table>
      ${rows.map(
        ([k, v]) =>
          html`<tr>
            <th scope="row">${k}</th>
            <td><code>${v}</code></td>
          </tr>`,
      )}
    </table>
    ${
      notes.length > 0
        ? html`<ul class="warnings">
            ${notes.map((w) => html`<li>${w}</li>`)}
          </ul>`
        : ''
    }`;
}

const FIELD_WORDS: [RegExp, string][] = [
  [/^saml\.ssoUrl/, 'The single sign-on URL'],
  [/^saml\.certificates\.\d+/, 'The certificate'],
  [/^saml\.allowSha1 is on/, 'This connection accepts SHA-1 signatures'],
  [/^saml\.allowUnsignedLogout is on/, 'This connection accepts unsigned logout messages'],
  [/^oidc\.issuer/, 'The issuer'],
];

/** A connection warning with the API's field names in the page's words. */
function inPlainWords(warning: string): string {
  const match = FIELD_WORDS.find(([pattern]) => pattern.test(warning));
  return match ? warning.replace(match[0], match[1]) : warning;
}

function detailsStep(ctx: FormContext, view: SetupView, saved: string | undefined): SafeHtml {
  const { saml, oidc } = view.connection;
  const forms = saml !== null ? samlDetailsForms(ctx, view, saml) : oidc !== null ? oidcDetailsForm(ctx, view, oidc) : html``;
  return html`<section class="card" id="step-details" aria-labelledby="h-details">
    <h2 id="h-details">3. Give Lanyard ${view.choice.name}'s details</h2>
    ${savedNotice(saved, 'step-details')}
    <p>${view.guide.giveBack}</p>
    ${currentValues(view)}${forms}${view.features.has('attribute-mapping') ? mappingForm(ctx, view) : ''}
  </section>`;
}

/** The outcome of the ticket's latest test sign-in, with `staleNote` when it no longer tells about what would be used. */
export function lastTestLine(last: LastTest | null, staleNote: string): SafeHtml {
  if (last === null) return html``;
  return html`<p class="${last.ok ? 'ok' : 'bad'}">
    <strong>${last.ok ? 'Last test succeeded' : 'Last test failed'}</strong> (${when(last.at)})${
      last.ok ? html`: signed in as <code>${last.email ?? 'no email address'}</code>.` : html`: ${last.message}`
    }
    <a href="/setup/tests/${last.flowId}">See the details</a
    >${last.current ? '' : html`<br /><span class="muted">${staleNote}</span>`}
  </p>`;
}

function testStep(ctx: FormContext, view: SetupView, saved: string | undefined): SafeHtml {
  const lastLine = lastTestLine(view.lastTest, 'The settings changed since: test again.');
  const body = view.readyToTest
    ? setupForm(ctx, 'test', html`${formErrors(ctx, 'test', [], 'Not started.')}<button type="submit">Test sign-in</button>`)
    : html`${formErrors(ctx, 'test', [], 'Not started.')}
        <p class="muted">Available once step 3 is done.</p>`;
  return html`<section class="card" id="step-test" aria-labelledby="h-test">
    <h2 id="h-test">4. Test sign-in</h2>
    ${savedNotice(saved, 'step-test')}
    <p>
      Sign in through ${view.choice.name} as yourself. You come back here with what it sent, or with what went wrong. Nobody else is
      affected: the connection is not used for sign-ins until you activate it.
    </p>
    ${lastLine}${body}
  </section>`;
}

/** Under policy required: the entered domains activation still waits for. */
function waitingFor(view: SetupView): SafeHtml {
  if (!hasDomainsStep(view) || view.domainPolicy.verification !== 'required') return html``;
  const waiting = view.enteredDomains.filter((d) => d.claim?.state !== 'verified').map((d) => d.domain);
  return waiting.length === 0
    ? html``
    : html`<p class="notice bad">
        Activation waits for ${waiting.join(', ')} to be verified (<a href="#step-domains">Email domains</a>), or removed.
      </p>`;
}

function activateStep(ctx: FormContext, view: SetupView): SafeHtml {
  const tested = view.lastTest?.ok === true && view.lastTest.current;
  const withDomains = hasDomainsStep(view);
  // With the Email domains step the domains are entered there; policy none offers the ticket's list here.
  const offered = view.features.has('domains') && !withDomains ? view.domains : [];
  const domainList =
    offered.length === 0
      ? ''
      : html`<fieldset>
          <legend>Email domains that sign in with ${view.choice.name}</legend>
          ${offered.map((d, i) =>
            d.state === 'claimable'
              ? html`<div class="check">
                  <input type="checkbox" id="f-domain-${i}" name="domains" value="${d.domain}" checked /><label for="f-domain-${i}"
                    >${d.domain}</label
                  >
                </div>`
              : html`<p>
                  ${d.domain} <span class="muted">(${d.state === 'yours' ? 'already yours' : 'belongs to another organization'})</span>
                </p>`,
          )}
        </fieldset>`;
  const body = tested
    ? setupForm(
        ctx,
        'activate',
        html`${formErrors(ctx, 'activate', withDomains ? [] : ['domains'], 'Not activated.')}${waitingFor(view)}${domainList}<button type="submit">
            Activate single sign-on
          </button>`,
      )
    : html`${formErrors(ctx, 'activate', [], 'Not activated.')}
        <p class="muted">Available after a successful test sign-in with the current settings.</p>`;
  return html`<section class="card" id="step-activate" aria-labelledby="h-activate">
    <h2 id="h-activate">${withDomains ? 6 : 5}. Activate</h2>
    <p>Your people can then sign in through ${view.choice.name}. This completes the setup: the link then only shows a summary.</p>
    ${body}
  </section>`;
}

/** The setup page of an open ticket: five steps on one page (six with directory sync), each form posting back to it. */
export function setupPage(input: {
  view: SetupView;
  token: string;
  csrf: string;
  saved?: string | undefined;
  state?: FormState | undefined;
  /** The Directory sync step, for tickets with `provisioning: {scim: true}`. */
  directory?: DirectoryStepInput | undefined;
}): string {
  const ctx: FormContext = { token: input.token, csrf: input.csrf, state: input.state };
  const { view } = input;
  return page({
    title: `Set up single sign-on · ${view.organizationName}`,
    scripts: [SETUP_SCRIPT_PATH],
    body: html`${header(view, input.directory !== undefined)}${chooseStep(ctx, view)}${configureStep(view, input.saved)}${detailsStep(ctx, view, input.saved)}${testStep(ctx, view, input.saved)}${
      hasDomainsStep(view) ? domainsStep(ctx, view, 5, savedNotice(input.saved, 'step-domains')) : ''
    }${activateStep(ctx, view)}${input.directory !== undefined ? directoryStep(ctx, input.directory) : ''}`,
  });
}
