// A small directory with users and groups whose attributes exercise every filter operator.
import assert from 'node:assert/strict';
import type { TestApp } from './app.ts';
import { createDirectory, ENTERPRISE, GROUP_SCHEMA, scim, USER_SCHEMA, type TestDirectory } from './scim.ts';

export interface FilterFixture {
  readonly directory: TestDirectory;
  /** userName (lower-cased) → id. */
  readonly users: Record<'alice' | 'bob' | 'carol' | 'dave', string>;
  readonly groups: Record<'engineering' | 'sales', string>;
}

const USERS = {
  alice: {
    userName: 'alice@acme.com',
    externalId: 'ext-A',
    displayName: 'Alice Archer',
    name: { givenName: 'Alice', familyName: 'Archer' },
    emails: [
      { value: 'alice@acme.com', type: 'work', primary: true },
      { value: 'a.archer@home.example', type: 'home' },
    ],
    title: 'Engineer',
    active: true,
    [ENTERPRISE]: { department: 'R&D', employeeNumber: '100', manager: { value: 'mgr-1' } },
  },
  bob: {
    userName: 'Bob@Acme.com',
    externalId: 'ext-B',
    displayName: 'Bob Baker',
    emails: [{ value: 'bob@acme.com', type: 'work' }],
    title: 'Manager',
    active: false,
    [ENTERPRISE]: { department: 'Sales' },
  },
  carol: {
    userName: 'carol@contoso.org',
    displayName: 'Carol',
    emails: [{ value: 'carol@contoso.org', type: 'home', primary: true }],
    userType: 'Contractor',
    phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }],
    active: true,
  },
  dave: { userName: 'dave@acme.com', externalId: 'ext-D', name: { givenName: 'Dave' }, title: '', active: true },
} as const;

/** Creates the fixture directory through the SCIM API. */
export async function createFilterFixture(t: TestApp): Promise<FilterFixture> {
  const directory = await createDirectory(t, { provider: 'generic' });
  const users: Record<string, string> = {};
  for (const [key, user] of Object.entries(USERS)) {
    const res = await scim(t, directory, { method: 'POST', path: '/Users', body: { schemas: [USER_SCHEMA, ENTERPRISE], ...user } });
    assert.equal(res.statusCode, 201, res.body);
    users[key] = res.json().id;
  }
  const groups: Record<string, string> = {};
  for (const [key, displayName, members] of [
    ['engineering', 'Engineering', [users.alice, users.carol]],
    ['sales', 'Sales', [users.bob]],
  ] as const) {
    const body = { schemas: [GROUP_SCHEMA], displayName, externalId: `g-${key}`, members: members.map((value) => ({ value })) };
    const res = await scim(t, directory, { method: 'POST', path: '/Groups', body });
    assert.equal(res.statusCode, 201, res.body);
    groups[key] = res.json().id;
  }
  return { directory, users, groups };
}

/** Replaces `$alice`, `$engineering`, … in a filter by the fixture's ids. */
export function withIds(fixture: FilterFixture, text: string): string {
  return text.replace(/\$(\w+)/g, (_, name: string) => ({ ...fixture.users, ...fixture.groups })[name as 'alice'] ?? `$${name}`);
}
