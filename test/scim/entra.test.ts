// Microsoft Entra ID's request sequences, as its documentation gives them ("Tutorial: develop and
// plan provisioning for a SCIM endpoint" and "Known issues … SCIM 2.0 protocol compliance"), in both
// of its PATCH behaviours, replayed over HTTP with the state read back after each step.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, ENTERPRISE, filter, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

const ENTRA_GROUP_SCHEMAS = [
  'urn:ietf:params:scim:schemas:core:2.0:Group',
  'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
];

for (const backend of testBackends()) {
  describe(`Entra ID provisioning on ${backend}`, () => {
    let t: TestApp;
    let directory: TestDirectory;
    before(async () => {
      t = await createTestApp({ backend });
      directory = await createDirectory(t, { provider: 'entra' });
    });
    after(async () => t.close());

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => scim(t, directory, { method, path, body });
    const read = async (id: string) => (await call('GET', `/Users/${id}`)).json();
    const view = async (id: string) => (await t.request({ method: 'GET', url: `/v1/directory-users/${id}` })).json();

    test('test connection, then create a user after a lookup that finds nothing', async () => {
      const probe = await call('GET', `/Users${filter('userName eq "e1f5a7ff-6c3f-4b0d-92d4-94f5c5b2a001"')}`);
      assert.equal(probe.statusCode, 200);
      assert.equal(probe.json().totalResults, 0);
      const state = (await t.request({ method: 'GET', url: `/v1/directories/${directory.id}` })).json();
      assert.equal(state.state, 'active', 'the first authenticated request activates the directory');
    });

    test('the documented user lifecycle, non-compliant PATCHes (no aadOptscim062020)', async () => {
      const userName = 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1';
      assert.equal((await call('GET', `/Users${filter(`userName eq "${userName}"`)}`)).json().totalResults, 0);
      const created = await call('POST', '/Users', {
        schemas: [USER_SCHEMA, ENTERPRISE],
        externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
        userName,
        active: true,
        emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id as string;
      assert.match(id, /^dusr_/);
      assert.equal(created.headers.location, `${directory.baseUrl}/Users/${id}`);
      assert.equal(created.json().meta.version, 'W/"1"');

      // Lookups: by userName (case-insensitively), by externalId, and one that finds nothing.
      assert.equal((await call('GET', `/Users${filter(`userName eq "${userName.toUpperCase()}"`)}`)).json().Resources[0].id, id);
      assert.equal(
        (await call('GET', `/Users${filter('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`)).json().Resources[0].id,
        id,
      );
      assert.equal((await call('GET', `/Users${filter('userName eq "nonexistent"')}`)).json().totalResults, 0);

      const multi = await call(
        'PATCH',
        `/Users/${id}`,
        patchOp(
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
          { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        ),
      );
      assert.equal(multi.statusCode, 200, multi.body);
      let user = await read(id);
      assert.deepEqual(user.emails, [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }]);
      assert.equal(user.name.familyName, 'updatedFamilyName');
      assert.equal(user.meta.version, 'W/"2"');

      await call(
        'PATCH',
        `/Users/${id}`,
        patchOp({ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }),
      );
      assert.equal((await read(id)).userName, '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');

      // A home email that does not exist yet, added through a filter; the manager as a bare id.
      await call(
        'PATCH',
        `/Users/${id}`,
        patchOp(
          { op: 'Add', path: 'emails[type eq "home"].value', value: 'home@example.com' },
          { op: 'Add', path: `${ENTERPRISE}:manager`, value: 'a-manager-id' },
        ),
      );
      user = await read(id);
      assert.deepEqual(user.emails[1], { value: 'home@example.com', type: 'home' });
      assert.deepEqual(user[ENTERPRISE].manager, { value: 'a-manager-id' });

      const disabled = await call('PATCH', `/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
      assert.equal(disabled.statusCode, 200, disabled.body);
      assert.equal((await read(id)).active, false);
      assert.equal((await view(id)).state, 'inactive');

      // Entra's periodic re-sync repeats what is already true: no new version, no event.
      const again = await call('PATCH', `/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
      assert.equal(again.json().meta.version, disabled.json().meta.version);

      assert.equal((await call('DELETE', `/Users/${id}`)).statusCode, 204);
      assert.equal((await call('GET', `/Users/${id}`)).statusCode, 404);
      const events = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${directory.organizationId}&limit=100` })).json()
        .data;
      const types = events.map((e: { type: string }) => e.type).filter((type: string) => type.startsWith('dsync.user'));
      assert.deepEqual(types, [
        'dsync.user.created',
        'dsync.user.updated',
        'dsync.user.updated',
        'dsync.user.updated',
        'dsync.user.deactivated',
        'dsync.user.deleted',
      ]);
      const deactivated = events.find((e: { type: string }) => e.type === 'dsync.user.deactivated');
      assert.deepEqual(deactivated.summary.changed, ['active']);
      assert.equal(deactivated.summary.user.state, 'inactive');
      assert.equal(deactivated.actor, directory.id);
    });

    test('the compliant PATCHes (aadOptscim062020): pathless replace with dotted keys, boolean active', async () => {
      // The flag travels in the tenant URL's query, so it arrives with every request.
      const created = await call('POST', '/Users?aadOptscim062020', {
        schemas: [USER_SCHEMA],
        userName: 'compliant@contoso.com',
        externalId: 'c-1',
        active: true,
      });
      const id = created.json().id as string;
      const found = await call('GET', '/Users?aadOptscim062020&filter=userName+eq+%22compliant%40contoso.com%22');
      assert.equal(found.json().Resources[0]?.id, id, 'a filter with + for spaces, after the flag');
      const replaced = await call(
        'PATCH',
        `/Users/${id}`,
        patchOp({
          op: 'replace',
          value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' },
        }),
      );
      assert.equal(replaced.statusCode, 200, replaced.body);
      const user = await read(id);
      assert.equal(user.displayName, 'Bjfe');
      assert.deepEqual(user.name, { givenName: 'Kkom', familyName: 'Unua' });
      assert.deepEqual(user[ENTERPRISE], { employeeNumber: 'Aklq' });
      assert.ok(user.schemas.includes(ENTERPRISE));
      await call('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false }));
      assert.equal((await view(id)).state, 'inactive');
      await call('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: true }));
      assert.equal((await view(id)).state, 'active');
    });

    test('the documented group lifecycle, with both ways of removing a member', async () => {
      const members = [];
      for (const name of ['g1', 'g2', 'g3'])
        members.push((await call('POST', '/Users', { userName: `${name}@contoso.com` })).json().id as string);
      const created = await call('POST', '/Groups', {
        schemas: ENTRA_GROUP_SCHEMAS,
        externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
        displayName: 'displayName',
        meta: { resourceType: 'Group' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id as string;
      const lookup = await call('GET', `/Groups${filter('displayName eq "displayName"', '&excludedAttributes=members')}`);
      assert.equal(lookup.json().Resources[0].id, id);
      assert.equal((await call('GET', `/Groups/${id}?excludedAttributes=members`)).json().displayName, 'displayName');

      await call('PATCH', `/Groups/${id}`, patchOp({ op: 'Replace', path: 'displayName', value: '1879db59updatedDisplayName' }));
      const added = await call(
        'PATCH',
        `/Groups/${id}`,
        patchOp({ op: 'Add', path: 'members', value: members.map((value) => ({ $ref: null, value })) }),
      );
      assert.equal(added.statusCode, 200, added.body);
      const members_ = async () =>
        ((await call('GET', `/Groups/${id}`)).json().members ?? []).map((m: { value: string }) => m.value).sort();
      assert.deepEqual(await members_(), [...members].sort());
      assert.equal((await call('GET', `/Groups/${id}`)).json().displayName, '1879db59updatedDisplayName');

      // Non-compliant removal (a value array) and compliant removal (a filter): only the named member goes.
      await call('PATCH', `/Groups/${id}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: members[0] }] }));
      assert.deepEqual(await members_(), [members[1], members[2]].sort());
      await call('PATCH', `/Groups/${id}`, patchOp({ op: 'remove', path: `members[value eq "${members[1]}"]` }));
      assert.deepEqual(await members_(), [members[2]]);
      // The user's own groups attribute follows the rows.
      assert.deepEqual(
        (await read(members[2] as string)).groups.map((g: { value: string }) => g.value),
        [id],
      );
      assert.equal((await read(members[0] as string)).groups, undefined);

      assert.equal((await call('DELETE', `/Groups/${id}`)).statusCode, 204);
      assert.equal((await call('GET', `/Groups/${id}`)).statusCode, 404);
      const types = (
        await t.request({ method: 'GET', url: `/v1/events?organizationId=${directory.organizationId}&type=dsync.group.user_removed` })
      ).json().data;
      assert.equal(types.length, 2);
    });
  });
}
