// JumpCloud's and OneLogin's habits: JumpCloud's connection test creates and deletes a test user
// (which must not exist yet), takes over groups of the same name and removes members with a value
// array; OneLogin's JSON template sends empty strings for unmapped attributes, replaces users by PUT,
// suspends by PATCH active false and deletes when its deprovisioning action is "delete".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, ENTERPRISE, filter, GROUP_SCHEMA, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

for (const backend of testBackends()) {
  describe(`JumpCloud and OneLogin provisioning on ${backend}`, () => {
    let t: TestApp;
    let jumpcloud: TestDirectory;
    let onelogin: TestDirectory;
    before(async () => {
      t = await createTestApp({ backend });
      jumpcloud = await createDirectory(t, { provider: 'jumpcloud' });
      onelogin = await createDirectory(t, { provider: 'onelogin' });
    });
    after(async () => t.close());

    test('JumpCloud: the connection test creates and deletes its test user; an existing one is a conflict', async () => {
      const testUser = {
        schemas: [USER_SCHEMA],
        userName: 'jc-test@example.com',
        emails: [{ value: 'jc-test@example.com', primary: true }],
        active: true,
      };
      const created = await scim(t, jumpcloud, { method: 'POST', path: '/Users', body: testUser });
      assert.equal(created.statusCode, 201, created.body);
      const conflict = await scim(t, jumpcloud, { method: 'POST', path: '/Users', body: testUser });
      assert.equal(conflict.statusCode, 409);
      assert.equal(conflict.json().scimType, 'uniqueness');
      assert.equal((await scim(t, jumpcloud, { method: 'DELETE', path: `/Users/${created.json().id}` })).statusCode, 204);
      assert.equal(
        (await scim(t, jumpcloud, { method: 'POST', path: '/Users', body: testUser })).statusCode,
        201,
        'the name is free again',
      );
    });

    test('JumpCloud: a group of the same name is found and taken over; value-array removal; rename; deactivation', async () => {
      const ids: string[] = [];
      for (const name of ['ann', 'ben', 'cy']) {
        const res = await scim(t, jumpcloud, {
          method: 'POST',
          path: '/Users',
          body: { schemas: [USER_SCHEMA], userName: `${name}@jc.example`, active: true },
        });
        ids.push(res.json().id);
      }
      const existing = await scim(t, jumpcloud, {
        method: 'POST',
        path: '/Groups',
        body: { schemas: [GROUP_SCHEMA], displayName: 'Designers' },
      });
      const found = await scim(t, jumpcloud, { method: 'GET', path: `/Groups${filter('displayName eq "designers"')}` });
      assert.equal(found.json().Resources[0].id, existing.json().id);
      const id = existing.json().id as string;
      await scim(t, jumpcloud, {
        method: 'PATCH',
        path: `/Groups/${id}`,
        body: patchOp({ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }),
      });
      await scim(t, jumpcloud, {
        method: 'PATCH',
        path: `/Groups/${id}`,
        body: patchOp({ op: 'remove', path: 'members', value: [{ value: ids[1] }] }),
      });
      const members = (await scim(t, jumpcloud, { method: 'GET', path: `/Groups/${id}` }))
        .json()
        .members.map((m: { value: string }) => m.value);
      assert.deepEqual(members.sort(), [ids[0], ids[2]].sort());
      await scim(t, jumpcloud, {
        method: 'PATCH',
        path: `/Groups/${id}`,
        body: patchOp({ op: 'replace', path: 'displayName', value: 'Design' }),
      });
      assert.equal((await scim(t, jumpcloud, { method: 'GET', path: `/Groups/${id}` })).json().displayName, 'Design');

      const user = (await scim(t, jumpcloud, { method: 'GET', path: `/Users/${ids[0]}` })).json();
      const put = await scim(t, jumpcloud, { method: 'PUT', path: `/Users/${ids[0]}`, body: { ...user, active: false } });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().active, false);
      assert.equal(put.json().groups.length, 1, 'a PUT leaves group memberships, which are read-only on users');
    });

    test('OneLogin: empty template values are unassigned, PUT replaces, suspend by PATCH, delete', async () => {
      const created = await scim(t, onelogin, {
        method: 'POST',
        path: '/Users',
        body: {
          schemas: [USER_SCHEMA, ENTERPRISE],
          userName: 'olivia@onelogin.example',
          name: { familyName: 'Ng', givenName: 'Olivia' },
          emails: [{ value: 'olivia@onelogin.example' }],
          title: '',
          [ENTERPRISE]: { department: '', employeeNumber: '' },
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const user = created.json();
      assert.equal(user.title, undefined);
      assert.equal(user[ENTERPRISE], undefined);
      assert.equal(user.active, undefined, 'active was not sent…');
      const view = (await t.request({ method: 'GET', url: `/v1/directory-users/${user.id}` })).json();
      assert.equal(view.state, 'active', '…and a user is active unless told otherwise');
      assert.equal(view.email, 'olivia@onelogin.example');

      const put = await scim(t, onelogin, {
        method: 'PUT',
        path: `/Users/${user.id}`,
        body: {
          schemas: [USER_SCHEMA, ENTERPRISE],
          userName: 'olivia@onelogin.example',
          name: { givenName: 'Liv' },
          [ENTERPRISE]: { department: 'Ops' },
        },
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.deepEqual(put.json().name, { givenName: 'Liv' }, 'PUT replaces: the family name is gone');
      assert.equal(put.json().emails, undefined);
      assert.equal(put.json()[ENTERPRISE].department, 'Ops');

      await scim(t, onelogin, {
        method: 'PATCH',
        path: `/Users/${user.id}`,
        body: patchOp({ op: 'replace', path: 'active', value: false }),
      });
      // A later PUT that says nothing of active must not bring the user back.
      await scim(t, onelogin, {
        method: 'PUT',
        path: `/Users/${user.id}`,
        body: { schemas: [USER_SCHEMA], userName: 'olivia@onelogin.example' },
      });
      assert.equal((await t.request({ method: 'GET', url: `/v1/directory-users/${user.id}` })).json().state, 'inactive');
      assert.equal((await scim(t, onelogin, { method: 'DELETE', path: `/Users/${user.id}` })).statusCode, 204);
      assert.equal((await t.request({ method: 'GET', url: `/v1/directory-users/${user.id}` })).statusCode, 404);
    });
  });
}
