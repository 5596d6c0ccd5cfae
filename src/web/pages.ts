import { PRESETS, type Provider } from '../domain/connections/presets.ts';
import { html, page, type SafeHtml } from './html.ts';

/** A page that explains a failure in plain words, with the request id to quote to support. */
export function errorPage(input: {
  title: string;
  message: string;
  requestId: string;
  facts?: readonly (readonly [string, string])[];
  back?: { href: string; label: string };
}): string {
  return page({
    title: input.title,
    body: html`<div class="card" role="alert">
      <h1 class="bad">${input.title}</h1>
      <p>${input.message}</p>
      ${
        input.facts && input.facts.length > 0
          ? html`<table>${input.facts.map(([k, v]) => html`<tr><th scope="row">${k}</th><td><code>${v}</code></td></tr>`)}</table>`
          : ''
      }
      ${input.back ? html`<p><a class="button secondary" href="${input.back.href}">${input.back.label}</a></p>` : ''}
      <p class="muted">
        Request id: <code>${input.requestId}</code>. Quote it to whoever runs this service: it finds this attempt in their logs.
      </p>
    </div>`,
  });
}

/** The human name of a known identity provider; undefined for `generic` or an unknown value. */
function providerLabel(provider: string): string | undefined {
  return provider !== 'generic' && Object.hasOwn(PRESETS, provider) ? PRESETS[provider as Provider].label : undefined;
}

/** Lets the user pick one of several connections that fit the sign-in request. */
export function chooserPage(input: {
  applicationName: string;
  choices: readonly { href: string; name: string; provider: string }[];
}): string {
  const items: SafeHtml[] = input.choices.map((c) => {
    const label = providerLabel(c.provider);
    // The IdP's own name where it adds something: not "generic", nor a repeat of the connection's name.
    const shown =
      label === undefined || c.name.toLowerCase().includes(label.toLowerCase()) ? '' : html` <span class="muted">(${label})</span>`;
    return html`<li>
      <a href="${c.href}">${c.name}${shown}</a>
    </li>`;
  });
  return page({
    title: 'Choose how to sign in',
    body: html`<div class="card">
      <h1>Choose how to sign in</h1>
      <p>${input.applicationName} offers several ways for your organization to sign in:</p>
      <ul class="choices">
        ${items}
      </ul>
    </div>`,
  });
}

/**
 * Sends the browser on with a POST (SAML HTTP-POST binding): a form that a script served by
 * Lanyard submits at once, with a button for browsers without scripts.
 */
export function postFormPage(input: { action: string; fields: Record<string, string> }): string {
  return page({
    title: 'Signing you in',
    scripts: ['/assets/auto-submit.js'],
    body: html`<div class="card">
      <h1>Signing you in…</h1>
      <form method="post" action="${input.action}" data-auto-submit>
        ${Object.entries(input.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}<noscript
          ><p>Scripts are off: press the button to continue.</p></noscript
        ><button type="submit">Continue to your identity provider</button>
      </form>
    </div>`,
  });
}
