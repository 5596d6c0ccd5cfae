import { createHash } from 'node:crypto';

/** HTML that is already safe: produced by `html` or `raw`, never by string concatenation. */
export interface SafeHtml {
  readonly __html: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes a value for HTML text and quoted attribute values. */
function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

type Value = SafeHtml | string | number | null | undefined | false | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'object' && '__html' in value) return value.__html;
  return escapeHtml(value);
}

/** Tagged template: every interpolated value is escaped unless it is SafeHtml (oidc-provider `html_safe.js` style). */
export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return { __html: out };
}

/** Marks trusted, constant markup as safe. Never pass it anything derived from input. */
function raw(markup: string): SafeHtml {
  return { __html: markup };
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#5b6475;--bg:#f6f7f9;--card:#fff;--accent:#3056d3;--bad:#b42318;--ok:#067647;--line:#d9dde5}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaf0;--muted:#a3abbb;--bg:#12151b;--card:#1b1f27;--accent:#7c9cff;--bad:#ff8b7f;--ok:#5fd39a;--line:#2c3240}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem 3rem}.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.25rem 1.5rem;margin:1rem 0}
h1{font-size:1.5rem;margin:.25rem 0 1rem}h2{font-size:1.15rem;margin:1.25rem 0 .5rem}p{margin:.5rem 0}.muted{color:var(--muted);font-size:.9rem}
.bad{color:var(--bad)}.ok{color:var(--ok)}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem;word-break:break-all}
pre{white-space:pre-wrap;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:.75rem}a{color:var(--accent)}
ul.choices{list-style:none;padding:0}ul.choices li{margin:.5rem 0}ul.choices a{display:block;padding:.75rem 1rem;border:1px solid var(--line);border-radius:8px;text-decoration:none}
ul.choices a:focus,ul.choices a:hover{border-color:var(--accent);outline:none}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}input,textarea,select{width:100%;font:inherit;padding:.5rem;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--fg)}
textarea{min-height:8rem;font-family:ui-monospace,monospace;font-size:.85rem}button,.button{display:inline-block;font:inherit;font-weight:600;padding:.6rem 1.1rem;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;margin:.5rem .5rem .5rem 0}
button.secondary,.button.secondary{background:transparent;color:var(--accent)}button:focus-visible,a:focus-visible,input:focus-visible,textarea:focus-visible,select:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}th{width:35%;font-weight:600}
.error-list{border-left:4px solid var(--bad);padding-left:.75rem}
[hidden]{display:none!important}.card>h2:first-child{margin-top:0}.error-list:focus{outline:2px solid var(--bad);outline-offset:2px}h3{font-size:1rem;margin:1.25rem 0 .4rem}.notice{padding:.6rem .8rem;border-radius:8px;border:1px solid var(--line);background:var(--bg)}
.hint{color:var(--muted);font-size:.9rem;margin:.1rem 0 .35rem}.field-error{color:var(--bad);font-weight:600;margin:.1rem 0 .35rem}[aria-invalid=true]{border:2px solid var(--bad)}
ol.steps{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;padding-left:1.25rem;margin:.75rem 0 0}ol.guide li{margin:.4rem 0}button.copy{padding:.15rem .6rem;margin:.15rem 0;font-size:.85rem}
details{margin:1rem 0}summary{cursor:pointer;font-weight:600;padding:.25rem 0}fieldset{border:1px solid var(--line);border-radius:8px;padding:.5rem 1rem;margin:1rem 0}
.check{display:flex;gap:.5rem;align-items:center}.check input{width:auto}.check label{margin:.25rem 0;font-weight:400}
.actions{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}.actions form{margin:0}.domain{border-top:1px solid var(--line);margin-top:1rem}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.console{max-width:80rem}.console nav{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;align-items:center;border-bottom:1px solid var(--line);padding:.25rem 0 .75rem;margin-bottom:.5rem}
.console nav .brand{font-weight:700;margin-right:auto}.console nav a[aria-current=page]{font-weight:700;text-decoration:none}.console nav form{margin:0}.console nav button{margin:0;padding:.3rem .8rem}
table.data th{width:auto;font-size:.85rem;color:var(--muted);white-space:nowrap}table.data td{font-size:.95rem}.data-wrap{overflow-x:auto}.pill{display:inline-block;padding:0 .5rem;border-radius:999px;border:1px solid currentColor;font-size:.8rem;white-space:nowrap}
form.inline{display:inline}form.inline button{margin:0;padding:.2rem .7rem;font-size:.85rem}form.search{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}form.search label{margin:0;font-weight:600}form.search div{flex:1 1 12rem}
svg.chart .ok{fill:var(--ok)}svg.chart .bad{fill:var(--bad)}svg.chart .none{fill:var(--line)}.pager{display:flex;gap:1rem;margin:.75rem 0 0}.empty{color:var(--muted);padding:.5rem 0}
@media (max-width:40rem){main{padding:.75rem .5rem 2rem}.card{padding:1rem}th,td{display:block;width:auto;border-bottom:0;padding:.2rem .25rem}tr{display:block;border-bottom:1px solid var(--line);padding:.35rem 0}}`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * The Content-Security-Policy of every page: nothing loads but the page's own inline stylesheet
 * (allowed by hash) and scripts served by Lanyard itself; forms post only back to Lanyard.
 */
const PAGE_CSP = pageCsp([]);

/** The page CSP, letting forms post to `formOrigins` too (an IdP's SSO URL for the HTTP-POST binding). */
export function pageCsp(formOrigins: readonly string[]): string {
  const formAction = ["'self'", ...formOrigins].join(' ');
  return `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

/** A complete page around `body`. */
export function page(options: { title: string; body: SafeHtml; scripts?: readonly string[]; mainClass?: string }): string {
  return `<!doctype html>${
    html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${options.title} · Lanyard</title><style>${raw(STYLE)}</style>${(options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}</head><body><main${options.mainClass ? html` class="${options.mainClass}"` : ''}>${options.body}</main></body></html>`
      .__html
  }`;
}

/** Headers every HTML page carries. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;
