// The filter grammar against a table of cases, over HTTP, on PGlite and on PostgreSQL: each valid
// filter returns exactly the expected users; each malformed or unsupported one is invalidFilter.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createFilterFixture, withIds, type FilterFixture } from '../support/scim-fixtures.ts';
import { ENTERPRISE, filter, scim } from '../support/scim.ts';

const ALL = ['alice', 'bob', 'carol', 'dave'];

/** filter → the users it selects (by fixture key). */
const USER_CASES: [string, string[]][] = [
  ['userName eq "alice@acme.com"', ['alice']],
  ['userName eq "ALICE@ACME.COM"', ['alice']],
  ['userName eq "bob@acme.com"', ['bob']],
  ['USERNAME Eq "dave@acme.com"', ['dave']],
  ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "dave@acme.com"', ['dave']],
  ['userName eq "nobody@acme.com"', []],
  ['externalId eq "ext-A"', ['alice']],
  ['externalId eq "EXT-A"', []],
  ['id eq "$alice"', ['alice']],
  ['displayName eq "alice archer"', ['alice']],
  ['emails.value eq "BOB@acme.com"', ['bob']],
  ['emails eq "carol@contoso.org"', ['carol']],
  ['emails[type eq "work" and value co "@acme.com"]', ['alice', 'bob']],
  ['emails[type eq "home"]', ['alice', 'carol']],
  ['emails.type eq "home"', ['alice', 'carol']],
  ['emails[value ew ".org" or primary eq true]', ['alice', 'carol']],
  ['not (emails[type eq "work"])', ['carol', 'dave']],
  ['emails pr', ['alice', 'bob', 'carol']],
  // Entra ID's lookup when emails[type eq "work"].value is its matching attribute (quirks.ts).
  ['emails[type eq "work"].value eq "BOB@acme.com"', ['bob']],
  ['emails[type eq "home"].value eq "bob@acme.com"', []],
  ['userName sw "a"', ['alice']],
  ['userName ew "ACME.COM"', ['alice', 'bob', 'dave']],
  ['userName co "@con"', ['carol']],
  ['userName gt "c"', ['carol', 'dave']],
  ['userName le "bob@acme.com"', ['alice', 'bob']],
  ['title pr', ['alice', 'bob']],
  ['not (title pr)', ['carol', 'dave']],
  ['title eq null', ['carol', 'dave']],
  ['title ne null', ['alice', 'bob']],
  ['title ne "Engineer"', ['bob', 'carol', 'dave']],
  ['title eq "engineer"', ['alice']],
  ['active eq true', ['alice', 'carol', 'dave']],
  ['active eq false', ['bob']],
  ['active ne true', ['bob']],
  ['name.familyName eq "archer"', ['alice']],
  ['name.givenName sw "D"', ['dave']],
  ['name pr', ['alice', 'dave']],
  [`${ENTERPRISE}:department eq "r&d"`, ['alice']],
  [`${ENTERPRISE.toLowerCase()}:DEPARTMENT eq "sales"`, ['bob']],
  [`${ENTERPRISE}:manager.value eq "mgr-1"`, ['alice']],
  ['userType eq "contractor"', ['carol']],
  ['phoneNumbers[type eq "mobile"]', ['carol']],
  ['meta.created gt "2000-01-01T00:00:00Z"', ALL],
  ['meta.lastModified lt "2000-01-01T00:00:00+02:00"', []],
  ['meta.resourceType eq "User"', ALL],
  ['groups.value eq "$engineering"', ['alice', 'carol']],
  ['groups[display eq "sales"]', ['bob']],
  ['groups pr', ['alice', 'bob', 'carol']],
  ['(userName sw "a" or userName sw "b") and active eq true', ['alice']],
  ['userName sw "a" or userName sw "b" and active eq true', ['alice']],
  ['userName sw "b" or userName sw "c" and active eq false', ['bob']],
  ['not (not (active eq false))', ['bob']],
];

/** Filters that must be refused rather than answered with a list. */
const INVALID_USER_FILTERS = [
  'nosuch eq "x"',
  'password eq "x"',
  'active gt true',
  'active eq "true"',
  'userName eq 5',
  'userName eq true',
  'userName gt null',
  'meta.created co "2020"',
  'meta.created gt "yesterday"',
  'meta.created gt "2020-01-01"',
  'meta.version eq "W/\\"1\\""',
  'name eq "x"',
  'emails[nosuch eq "x"]',
  'userName[type eq "x"]',
  'urn:example:unknown:schema:attr eq "x"',
  `${ENTERPRISE}:nosuch eq "x"`,
  'emails.value gt 3',
  'title eq -1',
  'userName eq "a" and',
  'userName eq "a" or or userName eq "b"',
  'emails[type eq "work"].nosuch eq "x"',
  'emails[type eq "work"].value',
];

for (const backend of testBackends()) {
  describe(`SCIM user filters on ${backend}`, () => {
    let t: TestApp;
    let fixture: FilterFixture;
    before(async () => {
      t = await createTestApp({ backend });
      fixture = await createFilterFixture(t);
    });
    after(async () => t.close());

    const names = (fixture: FilterFixture, resources: { id: string }[]) =>
      resources.map((r) => Object.entries(fixture.users).find(([, id]) => id === r.id)?.[0] ?? r.id).sort();

    test('each filter of the table selects exactly its users', async () => {
      for (const [text, expected] of USER_CASES) {
        const res = await scim(t, fixture.directory, { method: 'GET', path: `/Users${filter(withIds(fixture, text))}` });
        assert.equal(res.statusCode, 200, `${text}: ${res.body}`);
        const body = res.json();
        assert.deepEqual(names(fixture, body.Resources), [...expected].sort(), text);
        assert.equal(body.totalResults, expected.length, text);
      }
    });

    test('malformed and unsupported filters answer invalidFilter, never a list', async () => {
      for (const text of INVALID_USER_FILTERS) {
        const res = await scim(t, fixture.directory, { method: 'GET', path: `/Users${filter(text)}` });
        assert.equal(res.statusCode, 400, `${text}: ${res.body}`);
        const body = res.json();
        assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error'], text);
        assert.equal(body.status, '400', text);
        assert.equal(body.scimType, 'invalidFilter', text);
      }
    });

    test('a filter too complex to evaluate answers tooMany', async () => {
      const text = Array.from({ length: 80 }, (_, i) => `userName eq "u${i}"`).join(' or ');
      const res = await scim(t, fixture.directory, { method: 'GET', path: `/Users${filter(text)}` });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().scimType, 'tooMany');
    });
  });
}
