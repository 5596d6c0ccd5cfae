// Tenant isolation: a directory's token reads and changes only that directory (a matrix over tokens,
// directories, resources and methods); organization keys see only their directories; tokens stop
// working when rotated out (after the grace period), expired, or their directory is deleted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { createDirectory, GROUP_SCHEMA, patchOp, scim, USER_SCHEMA, type TestDirectory } from '../support/scim.ts';

interface Seeded extends TestDirectory {
  user: string;
  group: string;
}

for (const backend of testBackends()) {
  describe(`SCIM tenant isolation on ${backend}`, () => {
    let t: TestApp;
    let now = new Date('2030-01-01T00:00:00Z');
    const dirs: Seeded[] = [];
    before(async () => {
      t = await createTestApp({ backend, clock: () => now });
      for (const name of ['a', 'b']) {
        const directory = await createDirectory(t);
        const user = (
          await scim(t, directory, { method: 'POST', path: '/Users', body: { schemas: [USER_SCHEMA], userName: `${name}@same.example` } })
        ).json().id;
        const group = (
          await scim(t, directory, {
            method: 'POST',
            path: '/Groups',
            body: { schemas: [GROUP_SCHEMA], displayName: 'Same', members: [{ value: user }] },
          })
        ).json().id;
        dirs.push({ ...directory, user, group });
      }
      // A second directory of the first organization: same organization, still another directory.
      const sibling = await t.request({ method: 'POST', url: '/v1/directories', payload: { organizationId: dirs[0]?.organizationId } });
      const s = sibling.json();
      const siblingDir = { id: s.id, token: s.scim.token, organizationId: s.organizationId, baseUrl: s.scim.baseUrl };
      const user = (await scim(t, siblingDir, { method: 'POST', path: '/Users', body: { userName: 'a@same.example' } })).json().id;
      const group = (await scim(t, siblingDir, { method: 'POST', path: '/Groups', body: { displayName: 'Same' } })).json().id;
      dirs.push({ ...siblingDir, user, group });
    });
    after(async () => t.close());

    test('every token × directory × resource × method: another directory’s ids are 404, another directory’s path 401', async () => {
      const methods = ['GET', 'PUT', 'PATCH', 'DELETE'] as const;
      for (const caller of dirs) {
        for (const owner of dirs) {
          if (owner === caller) continue;
          for (const [kind, id] of [
            ['Users', owner.user],
            ['Groups', owner.group],
          ] as const) {
            for (const method of methods) {
              const body =
                method === 'PUT'
                  ? kind === 'Users'
                    ? { userName: 'x@x.example' }
                    : { displayName: 'X' }
                  : method === 'PATCH'
                    ? patchOp({ op: 'replace', path: 'displayName', value: 'X' })
                    : undefined;
              const inOwn = await scim(t, caller, { method, path: `/${kind}/${id}`, body });
              assert.equal(inOwn.statusCode, 404, `${caller.id} ${method} ${kind} of ${owner.id} through its own path`);
              const inTheirs = await scim(t, { id: owner.id, token: caller.token }, { method, path: `/${kind}/${id}`, body });
              assert.equal(inTheirs.statusCode, 401, `${caller.id}'s token on ${owner.id}'s path`);
            }
            const byFilter = await scim(t, caller, { method: 'GET', path: `/${kind}?filter=${encodeURIComponent(`id eq "${id}"`)}` });
            assert.equal(byFilter.json().totalResults, 0);
          }
          const foreignMember = await scim(t, caller, {
            method: 'PATCH',
            path: `/Groups/${caller.group}`,
            body: patchOp({ op: 'add', path: 'members', value: [{ value: owner.user }] }),
          });
          assert.equal(foreignMember.statusCode, 400);
          assert.equal(foreignMember.json().scimType, 'invalidValue');
        }
        for (const token of [null, 'garbage', `${caller.token}x`]) {
          const res = await scim(t, { id: caller.id, token: token ?? '' }, { method: 'GET', path: '/Users', token });
          assert.equal(res.statusCode, 401);
          assert.equal(res.json().schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
          assert.equal(res.headers['www-authenticate'], 'Bearer realm="scim"');
        }
      }
      // Nothing of any directory changed.
      for (const owner of dirs) {
        const user = (await scim(t, owner, { method: 'GET', path: `/Users/${owner.user}` })).json();
        assert.equal(user.meta.version, 'W/"1"');
        const group = (await scim(t, owner, { method: 'GET', path: `/Groups/${owner.group}` })).json();
        assert.equal(group.displayName, 'Same');
        assert.deepEqual(
          (group.members ?? []).map((m: { value: string }) => m.value),
          owner === dirs[2] ? [] : [owner.user],
        );
      }
      const unknown = await scim(
        t,
        { id: 'dir_00000000000000000000000000', token: dirs[0]?.token ?? '' },
        { method: 'GET', path: '/Users' },
      );
      assert.equal(unknown.statusCode, 401);
    });

    test('an organization key sees only its organization’s directories, users and groups', async () => {
      const [a, b] = dirs as [Seeded, Seeded];
      const key = (
        await t.request({ method: 'POST', url: '/v1/api-keys', payload: { name: 'org a', organizationId: a.organizationId } })
      ).json().token;
      const as = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
        t.request({ method, url, token: key, ...(payload ? { payload } : {}) });
      const listed = (await as('GET', '/v1/directories')).json();
      assert.deepEqual(listed.data.map((d: { id: string }) => d.id).sort(), [a.id, dirs[2]?.id].sort());
      assert.deepEqual((await as('GET', `/v1/directories?organizationId=${b.organizationId}`)).json().data, []);
      for (const [method, url, payload] of [
        ['GET', `/v1/directories/${b.id}`],
        ['PATCH', `/v1/directories/${b.id}`, { name: 'mine' }],
        ['DELETE', `/v1/directories/${b.id}`],
        ['POST', `/v1/directories/${b.id}/rotate-token`, {}],
        ['GET', `/v1/directories/${b.id}/users`],
        ['GET', `/v1/directories/${b.id}/groups`],
        ['GET', `/v1/directories/${b.id}/requests`],
        ['GET', `/v1/directory-users/${b.user}`],
        ['GET', `/v1/directory-groups/${b.group}`],
        ['POST', '/v1/directories', { organizationId: b.organizationId }],
      ] as const) {
        assert.equal((await as(method, url, payload)).statusCode, 404, `${method} ${url}`);
      }
      assert.equal((await as('GET', `/v1/directory-users/${a.user}`)).statusCode, 200);
      assert.equal((await as('GET', `/v1/directories/${b.id}`)).statusCode, 404);
      assert.equal((await t.request({ method: 'GET', url: `/v1/directories/${b.id}` })).json().name, 'SCIM directory', 'untouched');
    });

    test('rotation: the old token works through the grace period only; expiry; deletion', async () => {
      const directory = await createDirectory(t, { tokenLifetimeSeconds: 7200 });
      const ok = async (token: string) =>
        (await scim(t, { id: directory.id, token }, { method: 'GET', path: '/ServiceProviderConfig' })).statusCode;
      const rotated = await t.request({
        method: 'POST',
        url: `/v1/directories/${directory.id}/rotate-token`,
        payload: { gracePeriodSeconds: 600 },
      });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const second = rotated.json().scim.token as string;
      assert.notEqual(second, directory.token);
      assert.equal(rotated.json().previousTokenValidUntil, new Date(now.getTime() + 600_000).toISOString());
      assert.equal(await ok(directory.token), 200);
      assert.equal(await ok(second), 200);
      now = new Date(now.getTime() + 601_000);
      assert.equal(await ok(directory.token), 401, 'the grace period is over');
      assert.equal(await ok(second), 200);
      // A rotation without grace ends the old token at once.
      const third = (
        await t.request({ method: 'POST', url: `/v1/directories/${directory.id}/rotate-token`, payload: { gracePeriodSeconds: 0 } })
      ).json().scim.token;
      assert.equal(await ok(second), 401);
      assert.equal(await ok(third), 200);
      // The token lifetime (2 h) runs from the rotation.
      now = new Date(now.getTime() + 7_201_000);
      assert.equal(await ok(third), 401, 'expired');
      const fourth = (await t.request({ method: 'POST', url: `/v1/directories/${directory.id}/rotate-token` })).json().scim.token;
      assert.equal(await ok(fourth), 200);
      assert.equal(await ok(third), 401, 'an expired token gets no grace period');
      assert.equal((await t.request({ method: 'DELETE', url: `/v1/directories/${directory.id}` })).statusCode, 204);
      assert.equal(await ok(fourth), 401);
      const types = (await t.request({ method: 'GET', url: `/v1/events?organizationId=${directory.organizationId}` }))
        .json()
        .data.map((e: { type: string }) => e.type);
      // The clock stands still between steps, so events of one instant are compared as a set.
      assert.deepEqual(types.filter((type: string) => type.startsWith('directory.')).sort(), [
        'directory.created',
        'directory.deleted',
        'directory.token_rotated',
        'directory.token_rotated',
        'directory.token_rotated',
      ]);
    });
  });
}
