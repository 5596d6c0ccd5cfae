// The query a login will use to find its directory user (issue 14, "Linked to login"): within the
// organization, by externalId or userName equal to the subject (NameID), else by email; one query.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findDirectoryUserForLogin } from '../../src/storage/directory-users.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

for (const backend of testBackends()) {
  describe(`finding the directory user of a login on ${backend}`, () => {
    let t: TestApp;
    let directory: TestDirectory;
    let other: TestDirectory;
    const ids: Record<string, string> = {};
    before(async () => {
      t = await createTestApp({ backend });
      directory = await createDirectory(t);
      other = await createDirectory(t);
      const users = [
        ['byExternal', { userName: 'ext@corp.example', externalId: '00u1abc' }],
        ['byName', { userName: 'Name@Corp.example', emails: [{ value: 'someone.else@corp.example', primary: true }] }],
        ['byEmail', { userName: 'emp-42', emails: [{ value: 'Mail@Corp.example', primary: true }] }],
      ] as const;
      for (const [key, body] of users)
        ids[key] = (await scim(t, directory, { method: 'POST', path: '/Users', body: { schemas: [USER_SCHEMA], ...body } })).json().id;
      await scim(t, other, { method: 'POST', path: '/Users', body: { userName: 'outsider@corp.example', externalId: 'outsider' } });
    });
    after(async () => t.close());

    const find = (subject: string, email: string | null, organizationId = directory.organizationId) =>
      findDirectoryUserForLogin(t.db, { organizationId, subject, email }).then((row) => row?.id);

    test('by externalId, by userName case-insensitively, else by email; never another organization’s', async () => {
      assert.equal(await find('00u1abc', null), ids.byExternal);
      assert.equal(await find('name@corp.EXAMPLE', null), ids.byName);
      assert.equal(await find('unknown-subject', 'mail@corp.example'), ids.byEmail);
      // A subject match wins over an email match of another user.
      assert.equal(await find('ext@corp.example', 'mail@corp.example'), ids.byExternal);
      assert.equal(await find('outsider', null), undefined);
      assert.equal((await find('outsider', null, other.organizationId)) !== undefined, true);
      assert.equal(await find('nobody', 'nobody@corp.example'), undefined);
    });
  });
}
