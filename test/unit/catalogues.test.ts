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
  const recorded = used(
    /type: '([a-z_]+\.[a-z_]+)'|recordUse\([^,]+, [^,]+, '([a-z_]+\.[a-z_]+)'|\? '([a-z_]+\.[a-z_]+)' : '([a-z_]+\.[a-z_]+)'/g,
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
