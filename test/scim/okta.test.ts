// Okta's request sequences as its SCIM 2.0 guide documents them ("Okta and SCIM Version 2.0"):
// the connection test, lookups before create, PUT updates, deactivation by PATCH active false (Okta
// never deletes users), group push with renames and membership changes in one request.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, filter, GROUP_SCHEMA, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

const okta = { 'user-agent': 'Okta SCIM Client 1.0.0' };

for (const backend of testBackends()) {
  describe(`Okta provisioning on ${backend}`, () => {
    let t: TestApp;
    let directory: TestDirectory;
    before(async () => {
      t = await createTestApp({ backend });
      directory = await createDirectory(t, { provider: 'okta' });
    });
    after(async () => t.close());

    const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) =>
      scim(t, directory, { method, path, body, headers: okta });
    const state = async (id: string) => (await t.request({ method: 'GET', url: `/v1/directory-users/${id}` })).json().state;

    async function createUser(userName: string, externalId: string): Promise<string> {
      const lookup = await call('GET', `/Users${filter(`userName eq "${userName}"`, '&startIndex=1&count=100')}`);
      assert.equal(lookup.json().totalResults, 0);
      const created = await call('POST', '/Users', {
        schemas: [USER_SCHEMA],
        userName,
        name: { givenName: 'Test', familyName: 'User' },
        emails: [{ primary: true, value: userName, type: 'work' }],
        displayName: 'Test User',
        locale: 'en-US',
        externalId,
        groups: [],
        password: '1mz050nq',
        active: true,
      });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().password, undefined, 'the password is neither stored nor returned');
      return created.json().id;
    }

    test('the connection test lists with startIndex and count', async () => {
      const users = await call('GET', '/Users?startIndex=1&count=2');
      assert.equal(users.statusCode, 200);
      assert.deepEqual(users.json(), {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
        totalResults: 0,
        startIndex: 1,
        itemsPerPage: 0,
        Resources: [],
      });
      assert.equal((await call('GET', '/Groups?startIndex=1&count=100')).statusCode, 200);
    });

    test('create, read, replace by PUT, deactivate and reactivate by PATCH; never deleted', async () => {
      const id = await createUser('test.user@okta.local', '00ujl29u0le5T6Aj10h7');
      const read = await call('GET', `/Users/${id}`);
      assert.equal(read.json().userName, 'test.user@okta.local');
      assert.equal(read.headers.etag, 'W/"1"');

      const replaced = await call('PUT', `/Users/${id}`, {
        schemas: [USER_SCHEMA],
        id,
        userName: 'test.user@okta.local',
        name: { givenName: 'Another', middleName: '', familyName: 'User' },
        emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
        displayName: 'Another User',
        locale: 'en-US',
        externalId: '00ujl29u0le5T6Aj10h7',
        groups: [],
        active: true,
      });
      assert.equal(replaced.statusCode, 200, replaced.body);
      assert.deepEqual(replaced.json().name, { givenName: 'Another', familyName: 'User' }, 'an empty middleName is unassigned');
      assert.equal(replaced.json().displayName, 'Another User');

      const deactivated = await call('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }));
      assert.equal(deactivated.statusCode, 200, deactivated.body);
      assert.equal(deactivated.json().active, false);
      assert.equal(await state(id), 'inactive');
      const listed = (await t.request({ method: 'GET', url: `/v1/directories/${directory.id}/users?state=inactive` })).json();
      assert.deepEqual(
        listed.data.map((u: { id: string }) => u.id),
        [id],
      );

      await call('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { active: true } }));
      assert.equal(await state(id), 'active');
      const types = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${directory.organizationId}&limit=100` }))
        .json()
        .data.map((e: { type: string }) => e.type);
      assert.ok(types.includes('dsync.user.deactivated') && types.includes('dsync.user.reactivated'), types.join());
      // Okta's imports page through every user.
      const page = await call('GET', '/Users?startIndex=1&count=100');
      assert.equal(page.json().totalResults, 1);
    });

    test('a second create of a taken userName is 409 uniqueness, whatever its case', async () => {
      await createUser('dup@okta.local', 'dup-1');
      const again = await call('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'DUP@okta.local', active: true });
      assert.equal(again.statusCode, 409);
      assert.deepEqual(again.json(), {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '409',
        scimType: 'uniqueness',
        detail: 'userName is already taken in this directory',
      });
    });

    test('group push: lookup, create, rename and membership changes in one request, empty push, delete', async () => {
      const alice = await createUser('alice@okta.local', 'a-1');
      const bob = await createUser('bob@okta.local', 'b-1');
      assert.equal(
        (await call('GET', `/Groups${filter('displayName eq "Test SCIMv2"', '&startIndex=1&count=100')}`)).json().totalResults,
        0,
      );
      const created = await call('POST', '/Groups', {
        schemas: [GROUP_SCHEMA],
        displayName: 'Test SCIMv2',
        members: [{ value: alice, display: 'alice@okta.local' }],
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id as string;

      const pushed = await call(
        'PATCH',
        `/Groups/${id}`,
        patchOp(
          { op: 'remove', path: `members[value eq "${alice}"]` },
          { op: 'add', path: 'members', value: [{ value: bob, display: 'bob@okta.local' }] },
          { op: 'replace', value: { id, displayName: 'updated Test SCIMv2' } },
        ),
      );
      assert.equal(pushed.statusCode, 200, pushed.body);
      const group = (await call('GET', `/Groups/${id}`)).json();
      assert.equal(group.displayName, 'updated Test SCIMv2');
      assert.deepEqual(group.members, [{ value: bob, $ref: `${directory.baseUrl}/Users/${bob}`, display: 'bob@okta.local', type: 'User' }]);
      const view = (await t.request({ method: 'GET', url: `/v1/directory-groups/${id}` })).json();
      assert.equal(view.name, 'updated Test SCIMv2');
      assert.deepEqual(
        view.members.data.map((m: { id: string }) => m.id),
        [bob],
      );

      // "Push now" of a group emptied in Okta replaces members with an empty list (Captain-P-Goldfish/SCIM-SDK#757).
      const emptied = await call('PATCH', `/Groups/${id}`, patchOp({ op: 'replace', path: 'members', value: [] }));
      assert.equal(emptied.statusCode, 200, emptied.body);
      assert.equal((await call('GET', `/Groups/${id}`)).json().members, undefined);
      // Re-adding someone already there changes nothing and is not an error (RFC 7644 §3.5.2.1).
      await call('PATCH', `/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: bob }] }));
      const twice = await call('PATCH', `/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: bob }] }));
      assert.equal(twice.statusCode, 200);
      assert.equal(twice.json().members.length, 1);

      assert.equal((await call('DELETE', `/Groups/${id}`)).statusCode, 204);
      assert.equal((await call('GET', `/Groups/${id}`)).statusCode, 404);
      assert.equal(await state(bob), 'active', 'deleting a group leaves its users');
      const types = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${directory.organizationId}&limit=100` }))
        .json()
        .data.map((e: { type: string }) => e.type);
      for (const type of [
        'dsync.group.created',
        'dsync.group.updated',
        'dsync.group.user_added',
        'dsync.group.user_removed',
        'dsync.group.deleted',
      ])
        assert.ok(types.includes(type), type);
    });
  });
}
