// The directories management API: create (token once), list, read, change, delete, rotate; what the
// IdP provisioned (users by state, email and group; groups; members by cursor; customAttributes); the
// request trace and its bound.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordDirectoryRequest } from '../../src/storage/directories.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, ENTERPRISE, GROUP_SCHEMA, scim, USER_SCHEMA } from '../support/scim.ts';

for (const backend of testBackends()) {
  describe(`directories API on ${backend}`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(async () => t.close());

    test('creates a directory whose token is shown once and only its hash kept; reads, lists, changes, deletes', async () => {
      const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Dir Co' } })).json();
      const created = await t.request({ method: 'POST', url: '/v1/directories', payload: { organizationId: org.id, provider: 'entra' } });
      assert.equal(created.statusCode, 201, created.body);
      const directory = created.json();
      assert.match(directory.id, /^dir_[0-9A-Z]{26}$/);
      assert.equal(directory.name, 'Microsoft Entra ID directory');
      assert.equal(directory.state, 'pending');
      assert.equal(directory.scim.baseUrl, `http://127.0.0.1:8080/scim/v2/${directory.id}`);
      assert.match(directory.scim.token, /^scim_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(directory.options, { refuseInactiveUsers: true, customAttributes: {} });
      const stored = await t.db.selectFrom('directories').selectAll().where('id', '=', directory.id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(stored).includes(directory.scim.token), 'the token itself is not stored');

      const read = (await t.request({ method: 'GET', url: `/v1/directories/${directory.id}` })).json();
      assert.equal(read.scim.token, undefined);
      assert.deepEqual([read.users, read.groups], [0, 0]);
      const patched = await t.request({
        method: 'PATCH',
        url: `/v1/directories/${directory.id}`,
        payload: { name: 'HR feed', options: { refuseInactiveUsers: false } },
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().name, 'HR feed');
      assert.equal(patched.json().options.refuseInactiveUsers, false);

      const second = await createDirectory(t);
      const pageOne = (await t.request({ method: 'GET', url: '/v1/directories?limit=1' })).json();
      assert.equal(pageOne.data.length, 1);
      const pageTwo = (await t.request({ method: 'GET', url: `/v1/directories?limit=1&cursor=${pageOne.nextCursor}` })).json();
      assert.notEqual(pageTwo.data[0].id, pageOne.data[0].id);
      assert.deepEqual(
        (await t.request({ method: 'GET', url: `/v1/directories?organizationId=${second.organizationId}` }))
          .json()
          .data.map((d: { id: string }) => d.id),
        [second.id],
      );

      assert.equal((await t.request({ method: 'DELETE', url: `/v1/directories/${directory.id}` })).statusCode, 204);
      assert.equal((await t.request({ method: 'GET', url: `/v1/directories/${directory.id}` })).statusCode, 404);
    });

    test('refuses what it cannot use: unknown providers, organizations, options and hostile ids', async () => {
      const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Refusals' } })).json();
      const cases: [object, number, string][] = [
        [{ organizationId: org.id, provider: 'azure' }, 400, 'validation_failed'],
        [{ organizationId: 'org_00000000000000000000000000' }, 404, 'not_found'],
        [{ organizationId: org.id, tokenLifetimeSeconds: 60 }, 400, 'validation_failed'],
        [{ organizationId: org.id, options: { customAttributes: { department: 'emails[type eq "work"' } } }, 400, 'validation_failed'],
        [{ organizationId: org.id, options: { customAttributes: { 'bad name': 'title' } } }, 400, 'validation_failed'],
        [{ organizationId: org.id, options: { refuseInactiveUsers: 'yes' } }, 400, 'validation_failed'],
        [{ organizationId: org.id, extra: true }, 400, 'validation_failed'],
      ];
      for (const [payload, status, code] of cases) {
        const res = await t.request({ method: 'POST', url: '/v1/directories', payload });
        assert.equal(res.statusCode, status, `${JSON.stringify(payload)}: ${res.body}`);
        assert.equal(res.json().code, code);
      }
      // Text PostgreSQL cannot store (NUL, unpaired surrogates) is refused before any query.
      const hostile = [
        JSON.stringify({ organizationId: org.id, name: 'nul\u0000' }),
        `{"organizationId":"${org.id}","name":"lone \\ud800"}`,
        `{"organizationId":"${org.id}","options":{"customAttributes":{"x":"title\\udc00"}}}`,
        JSON.stringify({ organizationId: 'org_\u0000' }),
      ];
      for (const payload of hostile) {
        const res = await t.request({ method: 'POST', url: '/v1/directories', payload, headers: { 'content-type': 'application/json' } });
        assert.equal(res.statusCode, 400, `${payload}: ${res.body}`);
      }
      const valid = await createDirectory(t);
      for (const [url, status] of [
        ['/v1/directories/%00', 404],
        ['/v1/directory-users/dusr_%00', 404],
        ['/v1/directory-groups/%F0%9F%98%80', 404],
        [`/v1/directories/${valid.id}/users?email=%00`, 400],
        [`/v1/directories/${valid.id}/users?group=dgrp_%00`, 400],
        ['/v1/directories?organizationId=%00', 400],
      ] as const) {
        const res = await t.request({ method: 'GET', url });
        assert.equal(res.statusCode, status, `${url}: ${res.body}`);
      }
      const scimPath = await t.app.inject({
        method: 'GET',
        url: '/scim/v2/dir_%00/Users',
        headers: { authorization: `Bearer ${valid.token}` },
      });
      assert.equal(scimPath.statusCode, 404, 'no directory can have that id');
    });

    test('users by state, email and group, groups, members by cursor, customAttributes by mapping', async () => {
      const directory = await createDirectory(t, {
        options: {
          customAttributes: {
            department: `${ENTERPRISE}:department`,
            workEmail: 'emails[type eq "work"].value',
            badge: 'urn:example:ext:2.0:User:badge',
          },
        },
      });
      const ids: string[] = [];
      for (const [name, active] of [
        ['ada', true],
        ['bo', false],
        ['cy', true],
      ] as const) {
        const body = {
          schemas: [USER_SCHEMA, ENTERPRISE],
          userName: `${name}@corp.example`,
          active,
          name: { givenName: name.toUpperCase(), familyName: 'Corp' },
          emails: [{ value: `${name}@corp.example`, type: 'work', primary: true }],
          [ENTERPRISE]: { department: `${name}-dept` },
          'urn:example:ext:2.0:User': { badge: `${name}-badge` },
        };
        ids.push((await scim(t, directory, { method: 'POST', path: '/Users', body })).json().id);
      }
      const group = (
        await scim(t, directory, {
          method: 'POST',
          path: '/Groups',
          body: { schemas: [GROUP_SCHEMA], displayName: 'Crew', members: ids.map((value) => ({ value })) },
        })
      ).json().id;

      const list = async (query: string) =>
        (await t.request({ method: 'GET', url: `/v1/directories/${directory.id}/users${query}` })).json();
      const all = await list('');
      assert.deepEqual(
        all.data.map((u: { username: string }) => u.username),
        ['ada@corp.example', 'bo@corp.example', 'cy@corp.example'],
      );
      const ada = all.data[0];
      assert.deepEqual(
        { email: ada.email, firstName: ada.firstName, lastName: ada.lastName, state: ada.state, groups: ada.groups },
        { email: 'ada@corp.example', firstName: 'ADA', lastName: 'Corp', state: 'active', groups: [{ id: group, name: 'Crew' }] },
      );
      assert.deepEqual(ada.customAttributes, { department: 'ada-dept', workEmail: 'ada@corp.example', badge: 'ada-badge' });
      assert.equal(ada.rawAttributes.userName, 'ada@corp.example');
      assert.deepEqual(
        (await list('?state=inactive')).data.map((u: { username: string }) => u.username),
        ['bo@corp.example'],
      );
      assert.deepEqual(
        (await list('?email=CY@corp.example')).data.map((u: { username: string }) => u.username),
        ['cy@corp.example'],
      );
      assert.equal((await list(`?group=${group}`)).data.length, 3);
      assert.equal((await list('?group=dgrp_00000000000000000000000000')).data.length, 0);
      const first = await list('?limit=2');
      assert.equal(first.data.length, 2);
      assert.equal((await list(`?limit=2&cursor=${first.nextCursor}`)).data[0].username, 'cy@corp.example');

      const groups = (await t.request({ method: 'GET', url: `/v1/directories/${directory.id}/groups` })).json();
      assert.deepEqual(
        groups.data.map((g: { name: string }) => g.name),
        ['Crew'],
      );
      const members = (await t.request({ method: 'GET', url: `/v1/directory-groups/${group}?limit=2` })).json();
      assert.equal(members.memberCount, 3);
      assert.equal(members.members.data.length, 2);
      const rest = (
        await t.request({ method: 'GET', url: `/v1/directory-groups/${group}?limit=2&cursor=${members.members.nextCursor}` })
      ).json();
      assert.deepEqual(
        rest.members.data.map((m: { id: string }) => m.id),
        [ids[2]],
      );
      const counts = (await t.request({ method: 'GET', url: `/v1/directories/${directory.id}` })).json();
      assert.deepEqual([counts.users, counts.groups, counts.state], [3, 1, 'active']);
    });

    test('the request trace: newest first, no secrets, bounded per directory', async () => {
      const directory = await createDirectory(t);
      await scim(t, directory, { method: 'GET', path: '/Users?filter=userName%20eq%20%22x%22' });
      await scim(t, directory, { method: 'GET', path: '/Users?filter=bogus' });
      await scim(t, directory, { method: 'GET', path: '/Users', token: 'wrong-token' });
      // A request is traced once its answer is sent (an onResponse hook), so its row may come a moment after the answer.
      const traceOf = async () => (await t.request({ method: 'GET', url: `/v1/directories/${directory.id}/requests` })).json();
      let trace = await traceOf();
      for (const deadline = Date.now() + 5000; trace.data.length < 3 && Date.now() < deadline; trace = await traceOf())
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(
        trace.data.map((r: { status: number; scimType: string | null }) => [r.status, r.scimType]),
        [
          [401, null],
          [400, 'invalidFilter'],
          [200, null],
        ],
      );
      assert.equal(trace.data[2].path, '/Users?filter=userName%20eq%20%22x%22');
      assert.ok(!JSON.stringify(trace).includes(directory.token) && !JSON.stringify(trace).includes('wrong-token'));
      for (let i = 0; i < 8; i++) {
        await recordDirectoryRequest(
          t.db,
          {
            id: `dreq_0000000000000000000000000${i}`,
            directory_id: directory.id,
            method: 'GET',
            path: `/${i}`,
            status: 200,
            scim_type: null,
            detail: null,
            duration_ms: 1,
            user_agent: null,
            request_id: 'req_x',
            created_at: new Date(),
          },
          5,
        );
      }
      const count = await t.db.selectFrom('directory_requests').select('id').where('directory_id', '=', directory.id).execute();
      assert.equal(count.length, 5);
    });
  });
}
