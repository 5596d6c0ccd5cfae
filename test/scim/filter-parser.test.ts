// The SCIM filter grammar (RFC 7644 §3.4.2.2) as an AST: precedence, grouping, value paths, literals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFilter, type Filter } from '../../src/domain/scim/filter-parser.ts';

function parsed(text: string): Filter {
  const result = parseFilter(text);
  assert.ok(result.ok, `${text}: ${result.ok ? '' : result.error.detail}`);
  return result.value;
}

/** A compact rendering of the AST, so expectations read like the grammar. */
function show(filter: Filter): string {
  switch (filter.type) {
    case 'and':
    case 'or':
      return `(${show(filter.left)} ${filter.type} ${show(filter.right)})`;
    case 'not':
      return `not(${show(filter.filter)})`;
    case 'valuePath':
      return `${filter.path}[${show(filter.filter)}]`;
    case 'present':
      return `${filter.path} pr`;
    case 'compare':
      return `${filter.path} ${filter.op} ${filter.value.kind === 'null' ? 'null' : JSON.stringify(filter.value.value)}`;
  }
}

test('and binds tighter than or, parentheses and not group', () => {
  assert.equal(show(parsed('a eq "1" or b eq "2" and c eq "3"')), '(a eq "1" or (b eq "2" and c eq "3"))');
  assert.equal(show(parsed('(a eq "1" or b eq "2") and c eq "3"')), '((a eq "1" or b eq "2") and c eq "3")');
  assert.equal(show(parsed('a eq "1" and b eq "2" and c eq "3"')), '((a eq "1" and b eq "2") and c eq "3")');
  assert.equal(show(parsed('not (a pr) or b pr')), '(not(a pr) or b pr)');
  assert.equal(show(parsed('NOT(a pr)')), 'not(a pr)');
});

test('operators and literals are case-insensitive (ABNF), attribute paths are kept as written', () => {
  assert.equal(show(parsed('UserName EQ "X"')), 'UserName eq "X"');
  assert.equal(show(parsed('active Eq TRUE')), 'active eq true');
  assert.equal(show(parsed('title eq Null')), 'title eq null');
  assert.equal(show(parsed('meta.lastModified gt "2011-05-13T04:42:34Z"')), 'meta.lastModified gt "2011-05-13T04:42:34Z"');
  assert.equal(
    show(parsed('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"')),
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"',
  );
});

test('value paths, numbers and JSON string escapes', () => {
  assert.equal(show(parsed('emails[type eq "work" and value co "@acme.com"]')), 'emails[(type eq "work" and value co "@acme.com")]');
  assert.equal(
    show(parsed('userType eq "Employee" and emails[type eq "work" or value ew ".org"]')),
    '(userType eq "Employee" and emails[(type eq "work" or value ew ".org")])',
  );
  assert.equal(show(parsed('x eq -1.5e3')), 'x eq -1500');
  assert.equal(show(parsed('x eq "a\\"b\\\\c\\u00e9\\n"')), 'x eq "a\\"b\\\\cé\\n"');
});

test('malformed and hostile filters are errors, never a guess', () => {
  const cases: [string, string][] = [
    ['', 'scim_invalid_filter'],
    ['userName', 'scim_invalid_filter'],
    ['userName eq', 'scim_invalid_filter'],
    ['userName xx "a"', 'scim_invalid_filter'],
    ['userName eq "unterminated', 'scim_invalid_filter'],
    ["userName eq 'single'", 'scim_invalid_filter'],
    ['userName eq "a" and', 'scim_invalid_filter'],
    ['(userName eq "a"', 'scim_invalid_filter'],
    ['userName eq "a")', 'scim_invalid_filter'],
    ['emails[type eq "work"', 'scim_invalid_filter'],
    ['emails[addresses[type eq "x"]]', 'scim_invalid_filter'],
    ['not userName eq "a"', 'scim_invalid_filter'],
    ['userName eq "\\ud800"', 'scim_invalid_filter'],
    ['userName eq "\\u0000"', 'scim_invalid_filter'],
    ['userName eq "a" # comment', 'scim_invalid_filter'],
    ['x eq 01', 'scim_invalid_filter'],
    ['x eq 1abc', 'scim_invalid_filter'],
    [`${'('.repeat(40)}a pr${')'.repeat(40)}`, 'scim_too_many'],
    [Array.from({ length: 70 }, (_, i) => `a${i} pr`).join(' or '), 'scim_too_many'],
    [`a eq "${'x'.repeat(3000)}"`, 'scim_invalid_filter'],
  ];
  for (const [text, code] of cases) {
    const result = parseFilter(text);
    assert.equal(result.ok, false, `${text.slice(0, 60)} should not parse`);
    if (!result.ok) assert.equal(result.error.code, code, text.slice(0, 60));
  }
});
