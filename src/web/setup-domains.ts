// The setup page's Email domains step (issue 15, item 4), for tickets whose domain policy is
// `optional` or `required`: the admin enters each domain, publishes the TXT record shown, and
// presses Check now (or waits for the background re-check). Policy `none` keeps the checkboxes of
// the Activate step instead.
import { DNS_TXT_ERROR_CATALOGUE } from '../net/dns-txt.ts';
import { VERIFICATION_CHECK_CATALOGUE } from '../domain/domains/verification.ts';
import type { OrganizationDomain } from '../http/schemas/domains.ts';
import type { EnteredDomain, SetupView } from '../domain/tickets/setup-view.ts';
import { html, type SafeHtml } from './html.ts';
import { copyable, field, formErrors, setupForm, type FormContext } from './setup-forms.ts';

const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** What a check that did not pass found, in the words of the codes' catalogues (the README's table). */
function checkText(claim: OrganizationDomain): string {
  const check = claim.lastCheck;
  if (check === null) return 'Not checked yet.';
  if (check.matched) return `Last check ${when(check.at)}: the record is there.`;
  const code = check.code as keyof typeof DNS_TXT_ERROR_CATALOGUE | keyof typeof VERIFICATION_CHECK_CATALOGUE | undefined;
  const catalogue: Record<string, { description: string }> = { ...DNS_TXT_ERROR_CATALOGUE, ...VERIFICATION_CHECK_CATALOGUE };
  const description = code === undefined ? '' : (catalogue[code]?.description ?? '');
  return `Last check ${when(check.at)}: not verified (${check.code ?? 'unknown'}). ${description}`;
}

/** A domain's state in plain words. */
function stateText(claim: OrganizationDomain | null): SafeHtml {
  if (claim === null) return html`<p class="bad">Removed meanwhile (by your service provider): add it again if you need it.</p>`;
  if (claim.state === 'verified')
    return html`<p class="ok"><strong>Verified</strong>${claim.verifiedAt ? ` ${when(claim.verifiedAt)}` : ''}: it belongs to your organization.</p>`;
  const next = claim.nextCheckAt ? ` Lanyard checks again by itself at ${when(claim.nextCheckAt)}.` : '';
  const lead =
    claim.state === 'failed'
      ? html`<strong>Not verified</strong>: no check found the record within 7 days. Publish it and press Check now.`
      : html`<strong>Pending</strong>: waiting for the TXT record below.${next}`;
  const found = claim.lastCheck?.found.length
    ? html`<br /><span class="muted">Found instead:</span> ${claim.lastCheck.found.map((r) => html`<code>${r}</code> `)}`
    : '';
  return html`<p class="${claim.state === 'failed' ? 'bad' : ''}">${lead}<br /><span class="muted">${checkText(claim)}</span>${found}</p>`;
}

function enteredDomain(ctx: FormContext, entry: EnteredDomain, index: number): SafeHtml {
  const { claim } = entry;
  const record =
    claim?.dnsRecord && claim.state !== 'verified'
      ? html`<table class="values">
          <tr>
            <th scope="row">Type</th>
            <td><code>TXT</code></td>
          </tr>
          ${copyable(`v-txt-name-${index}`, `Name of the TXT record for ${entry.domain}`, claim.dnsRecord.name)}${copyable(
            `v-txt-value-${index}`,
            `Value of the TXT record for ${entry.domain}`,
            claim.dnsRecord.value,
          )}
        </table>`
      : '';
  const hidden = { hiddenFields: { domain: entry.domain } };
  const actions =
    claim?.state === 'verified'
      ? ''
      : html`<div class="actions">
          ${claim === null ? '' : setupForm(ctx, 'domains/check', html`<button type="submit">Check now</button>`, hidden)}${setupForm(
            ctx,
            'domains/remove',
            html`<button type="submit" class="secondary">Remove ${entry.domain}</button>`,
            hidden,
          )}
        </div>`;
  return html`<div class="domain">
    <h3>${entry.domain}</h3>
    ${stateText(claim)}${record}${actions}
  </div>`;
}

/** The Email domains step: numbered `step` on the page. */
export function domainsStep(ctx: FormContext, view: SetupView, step: number, notice: SafeHtml): SafeHtml {
  const { verification, useForDiscovery } = view.domainPolicy;
  const entered = new Set(view.enteredDomains.map((d) => d.domain));
  const suggested = view.domains.filter((d) => d.state === 'claimable' && !entered.has(d.domain));
  const already = view.domains.filter((d) => d.state === 'yours' && !entered.has(d.domain)).map((d) => d.domain);
  const policy =
    verification === 'required'
      ? 'Activation waits until each domain here is verified.'
      : 'Activation does not wait: a domain starts counting as yours once its record is found (Lanyard checks every minute at first, then less often, for 7 days).';
  // What was typed is shown again after a refusal, but not more of it than a domain can be.
  const typed = ctx.state?.form === 'domain' ? ctx.state.values.domain?.slice(0, 253) : undefined;
  const addCtx: FormContext = ctx.state === undefined ? ctx : { ...ctx, state: { ...ctx.state, values: { domain: typed } } };
  return html`<section class="card" id="step-domains" aria-labelledby="h-domains">
    <h2 id="h-domains">${step}. Email domains</h2>
    ${notice}
    <p>
      Enter each email domain whose people sign in through ${view.choice.name}. Lanyard checks that your organization owns it by a DNS
      TXT record you publish at your DNS provider. ${policy}
      ${useForDiscovery ? '' : 'These domains are not used to find your sign-in page from an email address.'}
    </p>
    ${already.length > 0 ? html`<p class="ok">Already verified for your organization: ${already.join(', ')}.</p>` : ''}
    ${formErrors(ctx, 'domain-check', [], 'Not checked.')}${formErrors(ctx, 'domain-remove', [], 'Not removed.')}
    ${view.enteredDomains.map((entry, i) => enteredDomain(ctx, entry, i))}
    ${setupForm(
      ctx,
      'domains',
      html`${formErrors(ctx, 'domain', ['domain'], 'Not added.')}${field(addCtx, {
        form: 'domain',
        name: 'domain',
        label: 'Add an email domain',
        hint: 'For example example.com: the part of your email addresses after the @.',
        placeholder: 'example.com',
      })}<button type="submit">Add and show its DNS record</button>`,
    )}
    ${
      suggested.length > 0
        ? html`<p class="muted">Suggested by your service provider:</p>
            <div class="actions">
              ${suggested.map((d) =>
                setupForm(ctx, 'domains', html`<button type="submit" class="secondary">Add ${d.domain}</button>`, {
                  hiddenFields: { domain: d.domain },
                }),
              )}
            </div>`
        : ''
    }
  </section>`;
}
