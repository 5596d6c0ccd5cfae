// SCIM list semantics (RFC 7644 §3.4.2): group filters, paging, sorting, projections; and the
// lookups IdPs make compile to SQL that the indexes serve (EXPLAIN with sequential scans off).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { compileFilter } from '../../src/storage/scim-filter-sql.ts';
import { parseFilter } from '../../src/domain/scim/filter-parser.ts';
import { GROUP_KIND, USER_KIND, type ResourceKind } from '../../src/domain/scim/schema.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createFilterFixture, withIds, type FilterFixture } from '../support/scim-fixtures.ts';
import { filter, scim } from '../support/scim.ts';

for (const backend of testBackends()) {
  describe(`SCIM lists on ${backend}`, () => {
    let t: TestApp;
    let fixture: FilterFixture;
    before(async () => {
      t = await createTestApp({ backend });
      fixture = await createFilterFixture(t);
    });
    after(async () => t.close());

    const list = async (path: string) => {
      const res = await scim(t, fixture.directory, { method: 'GET', path });
      assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
      return res.json();
    };
    const userNames = (body: { Resources: { userName: string }[] }) => body.Resources.map((r) => r.userName.toLowerCase());

    test('group filters: displayName case-insensitively, members by value, presence', async () => {
      const cases: [string, string[]][] = [
        ['displayName eq "engineering"', ['Engineering']],
        ['displayName co "ale"', ['Sales']],
        ['members[value eq "$bob"]', ['Sales']],
        ['members.value eq "$alice"', ['Engineering']],
        ['members eq "$carol"', ['Engineering']],
        ['members[display eq "CAROL@contoso.org"]', ['Engineering']],
        ['members pr', ['Engineering', 'Sales']],
        ['externalId eq "g-sales"', ['Sales']],
        ['not (members[value eq "$bob"])', ['Engineering']],
      ];
      for (const [text, expected] of cases) {
        const body = await list(`/Groups${filter(withIds(fixture, text))}`);
        assert.deepEqual(body.Resources.map((g: { displayName: string }) => g.displayName).sort(), expected, text);
      }
      const invalid = await scim(t, fixture.directory, { method: 'GET', path: `/Groups${filter('userName eq "x"')}` });
      assert.equal(invalid.json().scimType, 'invalidFilter');
    });

    test('startIndex and count page with totalResults; count 0 only counts; bad numbers are refused', async () => {
      const all = await list('/Users?sortBy=userName');
      assert.deepEqual(userNames(all), ['alice@acme.com', 'bob@acme.com', 'carol@contoso.org', 'dave@acme.com']);
      const page = await list('/Users?sortBy=userName&startIndex=2&count=2');
      assert.deepEqual(userNames(page), ['bob@acme.com', 'carol@contoso.org']);
      assert.equal(page.totalResults, 4);
      assert.equal(page.startIndex, 2);
      assert.equal(page.itemsPerPage, 2);
      const counted = await list('/Users?count=0');
      assert.equal(counted.totalResults, 4);
      assert.deepEqual(counted.Resources, []);
      assert.equal((await list('/Users?startIndex=-5&count=1')).startIndex, 1);
      assert.equal((await list('/Users?count=100000')).itemsPerPage, 4);
      for (const bad of ['count=abc', 'count=1.5', 'startIndex=2e3', 'sortOrder=sideways', 'sortBy=emails.type', 'sortBy=nosuch']) {
        const res = await scim(t, fixture.directory, { method: 'GET', path: `/Users?${bad}` });
        assert.equal(res.statusCode, 400, bad);
        assert.equal(res.json().scimType, 'invalidValue', bad);
      }
    });

    test('sortBy and sortOrder, with multi-valued emails sorted by the primary value', async () => {
      assert.deepEqual(userNames(await list('/Users?sortBy=userName&sortOrder=descending')), [
        'dave@acme.com',
        'carol@contoso.org',
        'bob@acme.com',
        'alice@acme.com',
      ]);
      const byTitle = userNames(await list('/Users?sortBy=title'));
      assert.deepEqual(byTitle.slice(0, 2), ['alice@acme.com', 'bob@acme.com']);
      const byEmail = userNames(await list(`/Users?sortBy=emails&${filter('emails pr').slice(1)}`));
      assert.deepEqual(byEmail, ['alice@acme.com', 'bob@acme.com', 'carol@contoso.org']);
    });

    test('attributes and excludedAttributes; id and schemas always come back', async () => {
      const only = await list(`/Users${filter('userName eq "alice@acme.com"', '&attributes=userName,name.givenName,emails.value')}`);
      assert.deepEqual(only.Resources[0], {
        schemas: only.Resources[0].schemas,
        id: fixture.users.alice,
        userName: 'alice@acme.com',
        name: { givenName: 'Alice' },
        emails: [{ value: 'alice@acme.com' }, { value: 'a.archer@home.example' }],
      });
      const without = await list(`/Users${filter('userName eq "alice@acme.com"', '&excludedAttributes=emails,meta,id')}`);
      assert.equal(without.Resources[0].emails, undefined);
      assert.equal(without.Resources[0].meta, undefined);
      assert.equal(without.Resources[0].id, fixture.users.alice);
      const group = await list(`/Groups${filter('displayName eq "Engineering"', '&excludedAttributes=members')}`);
      assert.equal(group.Resources[0].members, undefined);
      assert.equal(group.Resources[0].displayName, 'Engineering');
      const single = await scim(t, fixture.directory, {
        method: 'GET',
        path: `/Groups/${fixture.groups.engineering}?excludedAttributes=members`,
      });
      assert.equal(single.json().members, undefined);
      const full = await scim(t, fixture.directory, { method: 'GET', path: `/Groups/${fixture.groups.engineering}` });
      assert.equal(full.json().members.length, 2);
    });

    test('the lookups IdPs make are served by indexes', async () => {
      // A directory of realistic size, so the planner weighs the indexes as it would in production.
      for (const [table, columns, values] of [
        [
          'directory_users',
          'id, directory_id, organization_id, external_id, user_name, active, email, email_values, display_name, resource, version, created_at, updated_at',
          `'dusr_' || lpad(n::text, 26, '0'), '${fixture.directory.id}', '${fixture.directory.organizationId}', 'x' || n, 'user' || n || '@bulk.example', true,
           'user' || n || '@bulk.example', jsonb_build_array('user' || n || '@bulk.example'), 'User ' || n, '{}'::jsonb, 1, now(), now()`,
        ],
        [
          'directory_groups',
          'id, directory_id, organization_id, external_id, display_name, resource, version, created_at, updated_at',
          `'dgrp_' || lpad(n::text, 26, '0'), '${fixture.directory.id}', '${fixture.directory.organizationId}', 'g' || n, 'Group ' || n, '{}'::jsonb, 1, now(), now()`,
        ],
      ] as const) {
        await sql.raw(`insert into ${table} (${columns}) select ${values} from generate_series(1, 3000) as n`).execute(t.db);
        await sql.raw(`analyze ${table}`).execute(t.db);
      }
      const lookups: [ResourceKind, string, RegExp][] = [
        [USER_KIND, 'userName eq "alice@acme.com"', /Index Cond: .*lower\(user_name\) = /],
        [USER_KIND, 'externalId eq "ext-A"', /Index Cond: .*external_id = /],
        [USER_KIND, 'id eq "dusr_00000000000000000000000000"', /Index Cond: .*[( ]id = /],
        [USER_KIND, 'displayName eq "Alice Archer"', /Index Cond: .*lower\(display_name\) = /],
        [USER_KIND, 'emails.value eq "alice@acme.com"', /Index Cond: .*email_values @> /],
        [GROUP_KIND, 'displayName eq "Engineering"', /Index Cond: .*lower\(display_name\) = /],
        [GROUP_KIND, 'externalId eq "g-sales"', /Index Cond: .*external_id = /],
      ];
      // The lookup's own comparison must be an index condition (not a filter over the directory's rows).
      for (const [kind, text, condition] of lookups) {
        const parsed = parseFilter(text);
        assert.ok(parsed.ok);
        const where = compileFilter(kind, parsed.value);
        assert.ok(where.ok);
        const table = kind.name === 'User' ? 'directory_users' : 'directory_groups';
        const plan = await t.db.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          const query = trx.selectFrom(table).selectAll().where('directory_id', '=', fixture.directory.id).where(where.value).compile();
          const explained = await trx.executeQuery<{ 'QUERY PLAN': string }>({ ...query, sql: `explain ${query.sql}` });
          return explained.rows.map((r) => r['QUERY PLAN']).join('\n');
        });
        assert.match(plan, condition, `${text}:\n${plan}`);
        assert.doesNotMatch(plan, /Seq Scan on directory_(users|groups)\b/, `${text}:\n${plan}`);
      }
    });
  });
}
