// Issue 14 item 2's bounds on PATCH: at most 1000 operations per request, and at most 1000 member
// changes per request, counted across operations (a larger group is sent in several); over either
// is a SCIM invalidValue error and changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_MEMBER_CHANGES } from '../../src/domain/scim/group-patch.ts';
import { MAX_OPERATIONS } from '../../src/domain/scim/patch.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { createDirectory, GROUP_SCHEMA, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

describe('SCIM PATCH bounds', () => {
  let t: TestApp;
  let directory: TestDirectory;
  let group: string;
  let user: string;
  before(async () => {
    t = await createTestApp();
    directory = await createDirectory(t);
    user = (
      await scim(t, directory, { method: 'POST', path: '/Users', body: { schemas: [USER_SCHEMA], userName: 'bound@corp.example' } })
    ).json().id;
    group = (
      await scim(t, directory, { method: 'POST', path: '/Groups', body: { schemas: [GROUP_SCHEMA], displayName: 'Bounded' } })
    ).json().id;
  });
  after(async () => t.close());

  const refusedWith = async (path: string, body: unknown, detail: RegExp) => {
    const res = await scim(t, directory, { method: 'PATCH', path, body });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().scimType, 'invalidValue');
    assert.match(res.json().detail, detail);
  };

  test(`more than ${MAX_OPERATIONS} operations, or ${MAX_MEMBER_CHANGES} member changes, are refused whole`, async () => {
    const rename = { op: 'replace', path: 'displayName', value: 'Renamed' };
    await refusedWith(`/Users/${user}`, patchOp(...Array.from({ length: MAX_OPERATIONS + 1 }, () => rename)), /operations per request/);
    const members = (count: number) => Array.from({ length: count }, () => ({ value: user }));
    await refusedWith(
      `/Groups/${group}`,
      patchOp({ op: 'add', path: 'members', value: members(MAX_MEMBER_CHANGES + 1) }),
      /member changes/,
    );
    // Counted across the operations of one request.
    const half = { op: 'add', path: 'members', value: members(MAX_MEMBER_CHANGES / 2 + 1) };
    await refusedWith(`/Groups/${group}`, patchOp(half, { ...half, op: 'remove' }), /member changes/);
    const unchanged = await scim(t, directory, { method: 'GET', path: `/Groups/${group}` });
    assert.deepEqual([unchanged.json().displayName, unchanged.json().members ?? []], ['Bounded', []]);
    // At the bound it is accepted.
    const atBound = await scim(t, directory, {
      method: 'PATCH',
      path: `/Groups/${group}`,
      body: patchOp({ op: 'add', path: 'members', value: members(MAX_MEMBER_CHANGES) }),
    });
    assert.ok([200, 204].includes(atBound.statusCode), atBound.body);
  });
});
