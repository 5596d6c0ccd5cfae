import type { FieldProblem } from '../domain/errors.ts';
import type { SetupView } from '../domain/tickets/setup-view.ts';
import { html, type SafeHtml } from './html.ts';

/** Which form of the setup page was posted and refused, with what was typed and what is wrong. */
export interface FormState {
  form: string;
  values: Readonly<Record<string, string | undefined>>;
  errors: readonly FieldProblem[];
  message: string;
}

/** Everything a setup page section needs to render its forms. */
export interface FormContext {
  token: string;
  csrf: string;
  state: FormState | undefined;
}

/** The id of a form control: dotted API field names become `f-saml-metadataUrl`. */
function fieldId(name: string): string {
  return `f-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** The problems of one field: `saml.certificates.0` belongs to the `saml.certificates` control. */
function problemsOf(state: FormState | undefined, form: string, name: string): FieldProblem[] {
  if (state?.form !== form) return [];
  return state.errors.filter((e) => e.field === name || e.field.startsWith(`${name}.`));
}

/** A form posting to `/setup/{token}/{action}` with the session's CSRF token. */
export function setupForm(
  ctx: FormContext,
  action: string,
  body: SafeHtml,
  extra: { id?: string; hiddenFields?: Record<string, string> } = {},
): SafeHtml {
  const hidden = Object.entries(extra.hiddenFields ?? {}).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`,
  );
  return html`<form method="post" action="/setup/${ctx.token}/${action}" ${extra.id ? html`id="${extra.id}"` : ''}>
    <input type="hidden" name="_csrf" value="${ctx.csrf}" />${hidden}${body}
  </form>`;
}

/** A value to enter at the IdP, with a copy button (shown by setup.js; without scripts the text is selectable). */
export function copyable(id: string, label: string, value: string, extra: SafeHtml = html``): SafeHtml {
  return html`<tr>
    <th scope="row">${label}</th>
    <td>
      <code id="${id}">${value}</code>
      <button type="button" class="copy secondary" data-copy="${id}" aria-label="Copy ${label}" hidden>Copy</button>${extra}
    </td>
  </tr>`;
}

// The page's names for the connection API's fields; the pseudo-fields of whole forms (`test`, `activate`) need none.
const LABELS: Record<string, string> = {
  'saml.metadataUrl': 'The IdP metadata URL',
  'saml.metadataXml': 'The metadata XML',
  'saml.idpEntityId': 'The IdP entity ID',
  'saml.ssoUrl': 'The single sign-on URL',
  'saml.certificates': 'The signing certificate',
  'oidc.issuer': 'The issuer URL',
  'oidc.clientId': 'The client ID',
  'oidc.clientSecret': 'The client secret',
  'renewal.certificate': 'The new certificate',
  'renewal.metadataXml': 'The metadata XML',
  'renewal.metadataUrl': 'The metadata URL',
  domains: 'Email domains:',
  domain: 'The domain',
};
const WHOLE_FORM = new Set(['test', 'activate', 'choice', 'attributeMapping', 'source', 'renewal', 'renew']);

function sentence(problem: FieldProblem): string {
  const base = problem.field.replace(/\.\d+$/, '');
  if (WHOLE_FORM.has(base)) return problem.message.charAt(0).toUpperCase() + problem.message.slice(1);
  return `${LABELS[base] ?? problem.field} ${problem.message}`;
}

/**
 * The refusal of `form`, at the top of it: what is wrong in the page's words (problems of a
 * control are also shown at it). Focused on load (setup.js) so keyboard and screen-reader users land on it.
 */
export function formErrors(ctx: FormContext, form: string, controls: readonly string[], lead = 'Not saved.'): SafeHtml {
  if (ctx.state?.form !== form) return html``;
  const { errors, message } = ctx.state;
  const loose = errors.filter((e) => !controls.some((name) => e.field === name || e.field.startsWith(`${name}.`)));
  const marked = errors.length - loose.length;
  const lines = [
    ...loose.map(sentence),
    ...(marked > 0 ? [marked === 1 ? 'Correct the field marked below.' : 'Correct the fields marked below.'] : []),
  ];
  return html`<div class="error-list" role="alert" tabindex="-1" data-focus>
    <p><strong>${lead}</strong> ${lines.length > 0 ? lines.join(' ') : message}</p>
  </div>`;
}

export interface FieldOptions {
  form: string;
  name: string;
  label: string;
  hint?: string;
  value?: string | null | undefined;
  type?: 'text' | 'url' | 'password';
  textarea?: boolean;
  required?: boolean;
  autocomplete?: string;
  placeholder?: string;
}

/** A labelled control with its hint and, after a refused post, its problem (linked through aria-describedby). */
export function field(ctx: FormContext, o: FieldOptions): SafeHtml {
  const id = fieldId(o.name);
  const problems = problemsOf(ctx.state, o.form, o.name);
  const typed = ctx.state?.form === o.form && o.type !== 'password' ? ctx.state.values[o.name] : undefined;
  const value = typed ?? o.value ?? '';
  const describedBy = [o.hint ? `${id}-hint` : '', problems.length > 0 ? `${id}-error` : ''].filter(Boolean).join(' ');
  const attrs = html`id="${id}" name="${o.name}" ${o.required ? html`required` : ''} ${problems.length > 0 ? html`aria-invalid="true"` : ''} ${describedBy ? html`aria-describedby="${describedBy}"` : ''} ${o.placeholder ? html`placeholder="${o.placeholder}"` : ''} autocomplete="${o.autocomplete ?? 'off'}" spellcheck="false"`;
  const control = o.textarea
    ? html`<textarea ${attrs}>${value}</textarea>`
    : html`<input type="${o.type ?? 'text'}" ${attrs} value="${value}" />`;
  return html`<div class="field">
    <label for="${id}">${o.label}</label>${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}${
      problems.length > 0 ? html`<p class="field-error" id="${id}-error">${problems.map((p) => p.message).join('; ')}</p>` : ''
    }${control}
  </div>`;
}

/** Step 3 for SAML: the IdP's metadata URL, its XML (uploaded or pasted), or its values by hand. */
export function samlDetailsForms(ctx: FormContext, view: SetupView, saml: NonNullable<SetupView['connection']['saml']>): SafeHtml {
  const manualOpen = ctx.state?.form === 'fields' || (saml.idpEntityId !== null && saml.metadataUrl === null);
  return html` <h3>From a metadata URL</h3>
    ${setupForm(
      ctx,
      'idp',
      html`${formErrors(ctx, 'url', ['saml.metadataUrl'])}${field(ctx, { form: 'url', name: 'saml.metadataUrl', label: 'IdP metadata URL', type: 'url', value: saml.metadataUrl, hint: 'Lanyard fetches it now; give it again later to refresh.', placeholder: 'https://' })}<button
          type="submit"
        >
          Read the metadata URL
        </button>`,
      { hiddenFields: { source: 'url' } },
    )}
    <h3>From a metadata file</h3>
    ${setupForm(
      ctx,
      'idp',
      html`${formErrors(ctx, 'xml', ['saml.metadataXml'])}
        <div class="field" data-file-upload hidden>
          <label for="f-metadata-file">Upload the metadata file</label
          ><input
            type="file"
            id="f-metadata-file"
            accept=".xml,application/xml,text/xml,application/samlmetadata+xml"
            data-fill="${fieldId('saml.metadataXml')}"
          />
        </div>
        ${field(ctx, {
          form: 'xml',
          name: 'saml.metadataXml',
          label: 'Metadata XML',
          textarea: true,
          hint: 'Paste the XML, or upload the file above (it is read into this box).',
        })}<button type="submit">Use this metadata</button>`,
      { hiddenFields: { source: 'xml' } },
    )}
    <details ${manualOpen ? html`open` : ''}>
      <summary>Enter the values by hand</summary>
      ${setupForm(
        ctx,
        'idp',
        html`${formErrors(ctx, 'fields', ['saml.idpEntityId', 'saml.ssoUrl', 'saml.ssoBinding', 'saml.certificates'])}
          ${field(ctx, { form: 'fields', name: 'saml.idpEntityId', label: 'IdP entity ID (issuer)', value: saml.idpEntityId })}
          ${field(ctx, { form: 'fields', name: 'saml.ssoUrl', label: 'IdP single sign-on URL', type: 'url', value: saml.ssoUrl, placeholder: 'https://' })}
          <div class="field">
            <label for="${fieldId('saml.ssoBinding')}">Binding of the single sign-on URL</label
            ><select id="${fieldId('saml.ssoBinding')}" name="saml.ssoBinding">
              <option value="redirect" ${saml.ssoBinding !== 'post' ? html`selected` : ''}>HTTP-Redirect (most IdPs)</option>
              <option value="post" ${saml.ssoBinding === 'post' ? html`selected` : ''}>HTTP-POST</option>
            </select>
          </div>
          ${field(ctx, { form: 'fields', name: 'saml.certificates', label: 'IdP signing certificate', textarea: true, hint: 'PEM (-----BEGIN CERTIFICATE-----) or base64; paste several for a rollover.' })}
          <button type="submit">Save these values</button>`,
        { hiddenFields: { source: 'fields' } },
      )}
    </details>`;
}

/** Step 3 for OIDC: issuer, client id and client secret (write-only). */
export function oidcDetailsForm(ctx: FormContext, view: SetupView, oidc: NonNullable<SetupView['connection']['oidc']>): SafeHtml {
  return setupForm(
    ctx,
    'idp',
    html`${formErrors(ctx, 'oidc', ['oidc.issuer', 'oidc.clientId', 'oidc.clientSecret'])}
      ${field(ctx, { form: 'oidc', name: 'oidc.issuer', label: 'Issuer URL', type: 'url', value: oidc.issuer, hint: 'Lanyard reads <issuer>/.well-known/openid-configuration.', placeholder: 'https://' })}
      ${field(ctx, { form: 'oidc', name: 'oidc.clientId', label: 'Client ID', value: oidc.clientId })}
      ${field(ctx, {
        form: 'oidc',
        name: 'oidc.clientSecret',
        label: 'Client secret',
        type: 'password',
        autocomplete: 'new-password',
        hint: oidc.clientSecretSet
          ? 'A secret is stored (it is never shown). Leave this empty to keep it.'
          : 'Stored encrypted; never shown again.',
      })} <button type="submit">Save and check the provider</button>`,
    { hiddenFields: { source: 'oidc' } },
  );
}

/** Overrides of the attribute names, for IdPs that send other names than the preset's. */
export function mappingForm(ctx: FormContext, view: SetupView): SafeHtml {
  const names = ['email', 'firstName', 'lastName', 'groups'] as const;
  const open = ctx.state?.form === 'mapping';
  const what = view.connection.type === 'saml' ? 'attribute' : 'claim';
  return html`<details ${open ? html`open` : ''}>
    <summary>Your identity provider sends other ${what} names?</summary>
    ${setupForm(
      ctx,
      'mapping',
      html`${formErrors(
        ctx,
        'mapping',
        names.map((n) => `attributeMapping.${n}`),
      )}
        <p class="hint">Empty a field to go back to the default of ${view.choice.label}.</p>
        ${names.map((n) =>
          field(ctx, {
            form: 'mapping',
            name: `attributeMapping.${n}`,
            label: `${view.attributes.find((a) => a.key === n)?.label ?? labelOf(n)} ${what}`,
            value: view.connection.attributeMapping[n],
          }),
        )}<button type="submit" class="secondary">Save the ${what} names</button>`,
    )}
  </details>`;
}

function labelOf(key: 'email' | 'firstName' | 'lastName' | 'groups'): string {
  return { email: 'Email address', firstName: 'First name', lastName: 'Last name', groups: 'Groups' }[key];
}
