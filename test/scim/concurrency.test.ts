// Entra ID sends provisioning requests in parallel: concurrent creates of one userName make one
// user, concurrent membership changes to one group lose none, concurrent PATCHes of one user lose
// no attribute. Meaningful on PostgreSQL (real concurrent transactions); run on PGlite as well.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, GROUP_SCHEMA, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

for (const backend of testBackends()) {
  describe(`SCIM under concurrent requests on ${backend}`, () => {
    let t: TestApp;
    let directory: TestDirectory;
    before(async () => {
      t = await createTestApp({ backend });
      directory = await createDirectory(t, { provider: 'entra' });
    });
    after(async () => t.close());

    const createUser = (userName: string) =>
      scim(t, directory, { method: 'POST', path: '/Users', body: { schemas: [USER_SCHEMA], userName, active: true } });

    test('parallel creates of one userName (in any case) make exactly one user; the rest are 409', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => createUser(i % 2 === 0 ? 'race@contoso.com' : 'RACE@contoso.com')),
      );
      const statuses = results.map((r) => r.statusCode).sort();
      assert.deepEqual(
        statuses,
        [201, ...Array(19).fill(409)],
        results
          .map((r) => r.body)
          .join('\n')
          .slice(0, 500),
      );
      const rows = await t.db.selectFrom('directory_users').select('id').where('directory_id', '=', directory.id).execute();
      assert.equal(rows.length, 1);
    });

    test('parallel PATCHes adding and removing members of one group lose none', async () => {
      const users: string[] = [];
      for (let i = 0; i < 40; i++) users.push((await createUser(`member${i}@contoso.com`)).json().id);
      const initial = users.slice(20).map((value) => ({ value }));
      const group = (
        await scim(t, directory, {
          method: 'POST',
          path: '/Groups',
          body: { schemas: [GROUP_SCHEMA], displayName: 'Parallel', members: initial },
        })
      ).json().id;
      const adds = users.slice(0, 20).map((value) => patchOp({ op: 'add', path: 'members', value: [{ value }] }));
      const removes = users.slice(20, 30).map((value) => patchOp({ op: 'remove', path: `members[value eq "${value}"]` }));
      const results = await Promise.all(
        [...adds, ...removes].map((body) => scim(t, directory, { method: 'PATCH', path: `/Groups/${group}`, body })),
      );
      assert.deepEqual(
        results.map((r) => r.statusCode),
        Array(30).fill(200),
      );
      const members = (await scim(t, directory, { method: 'GET', path: `/Groups/${group}` }))
        .json()
        .members.map((m: { value: string }) => m.value);
      assert.deepEqual(members.sort(), [...users.slice(0, 20), ...users.slice(30)].sort());
      const version = (await scim(t, directory, { method: 'GET', path: `/Groups/${group}` })).json().meta.version;
      assert.equal(version, `W/"${1 + 30}"`, 'each change is one version');
      const added = (
        await t.request({
          method: 'GET',
          url: `/v1/events?organizationId=${directory.organizationId}&type=dsync.group.user_added&limit=100`,
        })
      ).json();
      assert.equal(added.data.length, 40, 'one event per membership added (20 at creation, 20 by PATCH)');
    });

    test('parallel PATCHes of different attributes of one user all take effect', async () => {
      const id = (await createUser('busy@contoso.com')).json().id;
      const attributes = ['title', 'displayName', 'nickName', 'userType', 'locale', 'timezone', 'preferredLanguage', 'profileUrl'];
      const results = await Promise.all(
        attributes.map((path) =>
          scim(t, directory, { method: 'PATCH', path: `/Users/${id}`, body: patchOp({ op: 'Replace', path, value: `${path}-value` }) }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.statusCode),
        attributes.map(() => 200),
      );
      const user = (await scim(t, directory, { method: 'GET', path: `/Users/${id}` })).json();
      for (const path of attributes) assert.equal(user[path], `${path}-value`, path);
      assert.equal(user.meta.version, `W/"${1 + attributes.length}"`);
    });

    test('a member deleted while being added: the request fails cleanly or the membership goes with the user', async () => {
      const group = (
        await scim(t, directory, { method: 'POST', path: '/Groups', body: { schemas: [GROUP_SCHEMA], displayName: 'Racing' } })
      ).json().id;
      for (let round = 0; round < 5; round++) {
        const user = (await createUser(`fleeting${round}@contoso.com`)).json().id;
        const [added, deleted] = await Promise.all([
          scim(t, directory, {
            method: 'PATCH',
            path: `/Groups/${group}`,
            body: patchOp({ op: 'add', path: 'members', value: [{ value: user }] }),
          }),
          scim(t, directory, { method: 'DELETE', path: `/Users/${user}` }),
        ]);
        assert.ok([200, 400].includes(added.statusCode), added.body);
        assert.equal(deleted.statusCode, 204);
        const members = (await scim(t, directory, { method: 'GET', path: `/Groups/${group}` })).json().members ?? [];
        assert.deepEqual(members, []);
      }
    });
  });
}
