import { DIRECTORY_GUIDES } from '../domain/tickets/directory-guides.ts';
import type { SetupDirectory } from '../domain/tickets/directory-setup.ts';
import type { DirectoryProvider } from '../domain/scim/views.ts';
import { html, type SafeHtml } from './html.ts';
import { copyable, formErrors, setupForm, type FormContext } from './setup-forms.ts';

/** What the Directory sync step shows: the ticket's directory (null before the first token) and a token just issued. */
export interface DirectoryStepInput {
  readonly directory: SetupDirectory | null;
  /** The IdP whose instructions open first (the SSO connection's). */
  readonly provider: DirectoryProvider;
  /** Only in the answer to the post that generated it, never again. */
  readonly token?: string | undefined;
}

const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** The status line, the same words the status script writes (setup-script.ts) so the page reads the same with or without it. */
export function directoryStatusText(directory: SetupDirectory | null): string {
  if (directory === null) return 'Not set up yet: generate a token to get the SCIM base URL.';
  if (directory.state === 'pending') return 'Waiting for the first request from your identity provider.';
  const last = directory.lastRequestAt === null ? '' : ` Last request ${when(directory.lastRequestAt)}.`;
  return `Connected: ${directory.users} ${directory.users === 1 ? 'user' : 'users'} and ${directory.groups} ${
    directory.groups === 1 ? 'group' : 'groups'
  } received.${last}`;
}

/**
 * The Directory sync step (issue 14, "Setup"): the SCIM base URL, a token generated here and shown
 * once, a live status (setup.js polls `directory-status`), and each IdP's instructions.
 */
export function directoryStep(ctx: FormContext, input: DirectoryStepInput): SafeHtml {
  const { directory, token } = input;
  const tokenNotice =
    token === undefined
      ? html``
      : html`<div class="notice ok" role="status">
          <p><strong>Your SCIM token.</strong> It is shown only this once: copy it into your identity provider now.</p>
          <table class="values">
            ${copyable('v-scim-token', 'SCIM token', token)}
          </table>
        </div>`;
  const values =
    directory === null
      ? html``
      : html`<table class="values">
          ${copyable('v-scim-base', 'SCIM base URL', directory.baseUrl)}
        </table>`;
  const button = directory === null ? 'Generate the SCIM token' : 'Generate a new SCIM token';
  const hint =
    directory === null
      ? ''
      : html`<p class="hint">A new token replaces the current one, which keeps working for one day so that provisioning does not stop while you paste it.</p>`;
  return html`<section class="card" id="step-directory" aria-labelledby="h-directory">
    <h2 id="h-directory">Directory sync (SCIM)</h2>
    <p>
      Your identity provider can also create, update and deactivate your people's accounts here (SCIM 2.0 provisioning). This is
      independent of single sign-on: you can activate single sign-on before or after it.
    </p>
    ${tokenNotice}${values}
    <p id="directory-status" role="status" data-status-url="/setup/${ctx.token}/directory-status">${directoryStatusText(directory)}</p>
    ${setupForm(ctx, 'directory', html`${formErrors(ctx, 'directory', [], 'No token generated.')}<button type="submit" class="secondary">${button}</button>`)}${hint}
    <h3>Instructions</h3>
    ${DIRECTORY_GUIDES.map(
      (guide) =>
        html`<details ${guide.provider === input.provider ? html`open` : ''}>
          <summary>${guide.label}</summary>
          <ol class="guide">
            ${guide.steps.map((step) => html`<li>${step}</li>`)}
          </ol>
        </details>`,
    )}
  </section>`;
}
