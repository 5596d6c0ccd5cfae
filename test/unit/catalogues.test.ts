// The one walk over every catalogue: each code is documented in the README (with its status where
// it has one), and src uses no code, and records no event type, that its catalogue lacks.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import { ERROR_CATALOGUE } from '../../src/domain/errors.ts';
import { EVENT_CATALOGUE } from '../../src/domain/events/catalogue.ts';
import { LOGIN_FAILURE_CATALOGUE } from '../../src/domain/login/failures.ts';
import { OAUTH_ERROR_CATALOGUE } from '../../src/domain/oauth/errors.ts';
import { OIDC_DISCOVERY_ERROR_CATALOGUE } from '../../src/domain/connections/oidc-discovery.ts';
import { SAML_ERROR_CATALOGUE } from '../../src/domain/saml/errors.ts';
import { SCIM_ERROR_CATALOGUE } from '../../src/domain/scim/errors.ts';
import { VERIFICATION_CHECK_CATALOGUE } from '../../src/domain/domains/verification.ts';
import { WEBHOOK_ATTEMPT_ERROR_CATALOGUE } from '../../src/domain/webhooks/send.ts';
import { DNS_TXT_ERROR_CATALOGUE } from '../../src/net/dns-txt.ts';
import { GUARDED_FETCH_ERROR_CATALOGUE } from '../../src/net/guarded-fetch.ts';
import { repoRoot } from '../support/repo.ts';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const sources = (readdirSync(join(repoRoot, 'src'), { recursive: true }) as string[])
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({ file, text: readFileSync(join(repoRoot, 'src', file), 'utf8') }));

/** Every capture of `pattern` in the src files whose path starts with `under`. */
function used(pattern: RegExp, under = ''): Set<string> {
  const found = new Set<string>();
  for (const { text } of sources.filter((s) => s.file.startsWith(under)))
    for (const match of text.matchAll(pattern)) for (const group of match.slice(1)) if (group !== undefined) found.add(group);
  return found;
}

/** The README documents every code of `catalogue` in a `| code | status | meaning |` row. */
function assertDocumented(name: string, catalogue: Catalogue, defaultStatus?: number): void {
  for (const [code, entry] of Object.entries(catalogue)) {
    const status = entry.status ?? defaultStatus;
    const row = status === undefined ? `| \`${code}\` |` : `| \`${code}\` | ${status} |`;
    assert.ok(readme.includes(row), `README documents ${name} code ${code} as "${row}"`);
    assert.ok(entry.description.length > 10, `${code} has a description`);
  }
}

function assertCatalogued(name: string, codes: Set<string>, catalogue: object, atLeast: number): void {
  assert.ok(codes.size >= atLeast, `found ${codes.size} ${name} codes in src`);
  for (const code of codes) assert.ok(Object.hasOwn(catalogue, code), `${code} is used but not in the ${name} catalogue`);
}

test('management API error codes: documented with their status, and src throws no other', () => {
  assertDocumented('API', ERROR_CATALOGUE);
  assertCatalogued('API', used(/(?:new AppError\(|sendError\([^,]+, [^,]+, )'([a-z_]+)'/g), ERROR_CATALOGUE, 5);
});

test('OAuth error codes: documented with their status, and src answers no other', () => {
  assertDocumented('OAuth', OAUTH_ERROR_CATALOGUE);
  const codes = used(/new OAuthError\('([a-z_]+)'|error: '([a-z_]+)', description/g);
  for (const code of used(/PASSED_ON = \[([^\]]+)\]/g)) for (const quoted of code.matchAll(/'([a-z_]+)'/g)) codes.add(quoted[1] ?? '');
  assertCatalogued('OAuth', codes, OAUTH_ERROR_CATALOGUE, 6);
});

test('login failure codes: documented with their status, and the login records no other', () => {
  assertDocumented('login failure', LOGIN_FAILURE_CATALOGUE);
  const codes = used(/(?:loginFailure|oidcError)\(\s*'([a-z_]+)'/g, 'domain/login');
  for (const code of used(/'(oidc_[a-z_]+)'/g, 'domain/login')) codes.add(code);
  assertCatalogued('login failure', codes, LOGIN_FAILURE_CATALOGUE, 20);
});

test('SAML verifier codes: documented (answered 403), and the verifier returns no other', () => {
  assertDocumented('SAML verifier', SAML_ERROR_CATALOGUE, 403);
  assertCatalogued('SAML verifier', used(/'(saml_[a-z0-9_]+)'/g, 'domain/saml'), SAML_ERROR_CATALOGUE, 25);
});

test('event types: documented, every recorded type declared, every declared type recorded', () => {
  // An event type is two or more dotted names (`login.failed`, `dsync.group.user_added`). It is
  // recorded where src names it as recordEvent's `type:`, as the type argument of the helpers that
  // pass one on (the setup page's recordUse, the SCIM services' record, event, groupEvent and
  // announce), or as a branch of a ternary choosing the type.
  const quoted = String.raw`'([a-z_]+(?:\.[a-z_]+)+)'`;
  const recorded = used(
    new RegExp(
      [
        `type: ${quoted}`,
        String.raw`recordUse\([^,]+, [^,]+, ${quoted}`,
        String.raw`(?:record|event|groupEvent)\(trx, context, ${quoted}`,
        String.raw`announce\(${quoted}`,
        String.raw`\? ${quoted} : ${quoted}`,
        String.raw`\?\s+${quoted}`,
        String.raw`\s:\s+${quoted};`,
        // A pure state machine names the event its transition emits (domains/verification.ts).
        `event: ${quoted}`,
      ].join('|'),
      'g',
    ),
  );
  assertCatalogued('event', recorded, EVENT_CATALOGUE, 15);
  for (const type of Object.keys(EVENT_CATALOGUE)) {
    assert.ok(readme.includes(`| \`${type}\` |`), `README documents event type ${type}`);
    assert.ok(recorded.has(type), `${type} is declared but nothing records it`);
  }
});

test('the OIDC discovery and guarded fetch catalogues hold every code their modules refuse with', () => {
  assertCatalogued(
    'OIDC discovery',
    used(/failure\(\s*'([a-z_]+)'/g, 'domain/connections/oidc-discovery'),
    OIDC_DISCOVERY_ERROR_CATALOGUE,
    4,
  );
  assertCatalogued('guarded fetch', used(/failure\(\s*'([a-z_]+)'/g, 'net/guarded-fetch'), GUARDED_FETCH_ERROR_CATALOGUE, 8);
});

test('SCIM error codes: documented with their status and scimType, and the SCIM API answers no other', () => {
  assertDocumented('SCIM', SCIM_ERROR_CATALOGUE);
  for (const [code, entry] of Object.entries(SCIM_ERROR_CATALOGUE)) {
    const scimType = 'scimType' in entry ? `\`${entry.scimType}\`` : '—';
    const row = `| \`${code}\` | ${entry.status} | ${scimType} |`;
    assert.ok(readme.includes(row), `README documents SCIM code ${code} as "${row}"`);
  }
  // Every quoted scim_ name but the trace's scim_type column.
  assertCatalogued('SCIM', used(/'(scim_(?!type')[a-z_]+)'/g), SCIM_ERROR_CATALOGUE, 10);
});

test('domain verification codes: documented, and the DNS lookup and the check return no other', () => {
  const catalogue = { ...DNS_TXT_ERROR_CATALOGUE, ...VERIFICATION_CHECK_CATALOGUE };
  assertDocumented('domain verification', catalogue);
  const codes = used(/'((?:dns|verification)_[a-z_]+)'/g, 'net/dns-txt');
  for (const code of used(/'((?:dns|verification)_[a-z_]+)'/g, 'domain/domains')) codes.add(code);
  assertCatalogued('domain verification', codes, catalogue, 6);
});

test('webhook attempt error codes: documented, and an attempt records no other', () => {
  assertDocumented('webhook attempt', WEBHOOK_ATTEMPT_ERROR_CATALOGUE);
  assertCatalogued('webhook attempt', used(/attemptError\('([a-z_]+)'/g, 'domain/webhooks'), WEBHOOK_ATTEMPT_ERROR_CATALOGUE, 1);
});
