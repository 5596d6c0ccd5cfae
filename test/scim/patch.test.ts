// PATCH (RFC 7644 §3.5.2) as pure functions: operations on a stored user, the IdP quirks' rewrites,
// and the membership plan of a group PATCH.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planGroupPatch } from '../../src/domain/scim/group-patch.ts';
import { applyPatch, parsePatchRequest } from '../../src/domain/scim/patch.ts';
import { normalizeOperations } from '../../src/domain/scim/quirks.ts';
import { normalizeResource } from '../../src/domain/scim/resource-input.ts';
import { GROUP_KIND, USER_KIND } from '../../src/domain/scim/schema.ts';
import { ENTERPRISE } from '../support/scim.ts';

const ID = 'dusr_01ARZ3NDEKTSV4RRFFQ69G5FAV';
const OTHER = 'dusr_01ARZ3NDEKTSV4RRFFQ69G5FAW';
const THIRD = 'dusr_01ARZ3NDEKTSV4RRFFQ69G5FAX';

function base() {
  const stored = normalizeResource(USER_KIND, {
    userName: 'ann@example.com',
    name: { givenName: 'Ann', familyName: 'Lee' },
    emails: [{ value: 'ann@example.com', type: 'work', primary: true }],
    active: true,
  });
  assert.ok(stored.ok);
  return stored.value;
}

/** Parses a PatchOp body, applies the quirks, then the operations, to the base user. */
function patch(...operations: Record<string, unknown>[]) {
  const parsed = parsePatchRequest({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations });
  if (!parsed.ok) return parsed;
  return applyPatch(USER_KIND, base(), normalizeOperations(USER_KIND, ID, parsed.value));
}

function patched(...operations: Record<string, unknown>[]) {
  const result = patch(...operations);
  assert.ok(result.ok, result.ok ? '' : result.error.detail);
  return result.value;
}

function refused(code: string, ...operations: Record<string, unknown>[]) {
  const result = patch(...operations);
  assert.equal(result.ok, false, JSON.stringify(operations));
  if (!result.ok) assert.equal(result.error.code, code, result.error.detail);
}

test('add, replace and remove with simple, complex and multi-valued paths', () => {
  assert.equal(patched({ op: 'replace', path: 'displayName', value: 'Ann L.' }).displayName, 'Ann L.');
  assert.deepEqual(patched({ op: 'replace', path: 'name', value: { givenName: 'Annie' } }).name, { givenName: 'Annie', familyName: 'Lee' });
  assert.deepEqual(patched({ op: 'add', path: 'name.middleName', value: 'J' }).name, {
    givenName: 'Ann',
    familyName: 'Lee',
    middleName: 'J',
  });
  assert.deepEqual(patched({ op: 'remove', path: 'name.familyName' }).name, { givenName: 'Ann' });
  const emails = patched({ op: 'add', path: 'emails', value: [{ value: 'ann@home.example', type: 'home' }] }).emails as object[];
  assert.equal(emails.length, 2);
  assert.deepEqual(patched({ op: 'replace', path: 'emails', value: [{ value: 'x@y.example' }] }).emails, [{ value: 'x@y.example' }]);
  assert.equal(patched({ op: 'remove', path: 'emails' }).emails, undefined);
  assert.equal(patched({ op: 'remove', path: 'emails[type eq "work"]' }).emails, undefined);
  assert.deepEqual(patched({ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.com' }).emails, [
    { value: 'new@example.com', type: 'work', primary: true },
  ]);
  // Pathless: each key is a path; complex values merge (§3.5.2.3).
  const pathless = patched({ op: 'replace', value: { displayName: 'A', name: { familyName: 'Kim' }, title: 'CTO' } });
  assert.deepEqual([pathless.displayName, pathless.name, pathless.title], ['A', { givenName: 'Ann', familyName: 'Kim' }, 'CTO']);
  assert.equal(patched({ op: 'add', value: { [ENTERPRISE]: { department: 'Ops' } } })[ENTERPRISE] !== undefined, true);
});

test('operations apply in order and the result is type-checked', () => {
  const result = patched(
    { op: 'replace', path: 'title', value: 'A' },
    { op: 'replace', path: 'title', value: 'B' },
    { op: 'remove', path: 'nickName' },
  );
  assert.equal(result.title, 'B');
  refused('scim_invalid_value', { op: 'replace', path: 'active', value: 'maybe' });
  refused('scim_invalid_value', { op: 'replace', path: 'title', value: { nested: true } });
  refused('scim_invalid_value', { op: 'remove', path: 'userName' });
  refused('scim_invalid_value', { op: 'add', path: 'title' });
});

test('paths that cannot be applied are refused with their scimType', () => {
  refused('scim_no_target', { op: 'remove' });
  refused('scim_no_target', { op: 'replace', path: 'emails[value sw "zzz"].type', value: 'x' });
  refused('scim_invalid_path', { op: 'replace', path: 'emails.value', value: 'x' });
  refused('scim_invalid_path', { op: 'replace', path: 'name[givenName eq "x"]', value: 'x' });
  refused('scim_invalid_path', { op: 'replace', path: 'emails[type eq "work"', value: 'x' });
  refused('scim_invalid_path', { op: 'replace', path: `${ENTERPRISE}:nosuch`, value: 'x' });
  refused('scim_invalid_path', { op: 'replace', path: 'emails[nosuch eq "x"]', value: {} });
  refused('scim_mutability', { op: 'replace', path: 'id', value: OTHER });
  refused('scim_mutability', { op: 'replace', path: 'meta.created', value: 'x' });
  refused('scim_mutability', { op: 'add', path: 'groups', value: [{ value: 'dgrp_x' }] });
  refused('scim_mutability', { op: 'replace', value: { id: OTHER, displayName: 'x' } });
  refused('scim_invalid_syntax', { op: 'merge', path: 'title', value: 'x' });
});

test('the IdP quirks become their compliant forms', () => {
  // Entra (non-compliant): capitalized ops and string booleans.
  assert.equal(patched({ op: 'Replace', path: 'active', value: 'False' }).active, false);
  assert.equal(patched({ op: 'Add', path: 'active', value: 'True' }).active, true);
  // Entra: pathless replace with dotted and URN-prefixed keys.
  const dotted = patched({ op: 'replace', value: { 'name.givenName': 'Bo', [`${ENTERPRISE}:employeeNumber`]: '42', active: false } });
  assert.deepEqual(
    [dotted.name, dotted[ENTERPRISE], dotted.active],
    [{ givenName: 'Bo', familyName: 'Lee' }, { employeeNumber: '42' }, false],
  );
  // Entra: a filtered add on an element that does not exist yet creates it.
  const added = patched({ op: 'Add', path: 'emails[type eq "home"].value', value: 'ann@home.example' });
  assert.deepEqual((added.emails as object[])[1], { type: 'home', value: 'ann@home.example' });
  const phone = patched({ op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555' });
  assert.deepEqual(phone.phoneNumbers, [{ type: 'mobile', value: '+1 555' }]);
  // Entra: the manager as a bare id, and its removal.
  assert.deepEqual(patched({ op: 'Add', path: `${ENTERPRISE}:manager`, value: OTHER })[ENTERPRISE], { manager: { value: OTHER } });
  // Okta: the resource's own id repeated in a pathless replace.
  assert.equal(patched({ op: 'replace', value: { id: ID, displayName: 'Okta' } }).displayName, 'Okta');
  // The password is never stored, however it is sent.
  assert.equal(patched({ op: 'replace', path: 'password', value: 'hunter2' }).password, undefined);
  assert.equal(patched({ op: 'replace', value: { password: 'hunter2' } }).password, undefined);
});

test('attributes outside the schema are kept as sent and can be changed', () => {
  const custom = 'urn:ietf:params:scim:schemas:extension:custom:2.0:User';
  const set = patched({ op: 'add', path: `${custom}:costCode`, value: 'C-9' }, { op: 'add', path: 'badgeColour', value: 'blue' });
  assert.deepEqual(set[custom], { costCode: 'C-9' });
  assert.equal(set.badgeColour, 'blue');
  assert.equal(patched({ op: 'add', value: { [`${custom}:costCode`]: 'C-1' } })[custom] !== undefined, true);
});

test('a group PATCH: Okta pushes mixing remove, add and rename come out in request order', () => {
  const plan = planGroupPatch(
    normalizeOperations(GROUP_KIND, 'dgrp_1', [
      { op: 'remove', path: `members[value eq "${ID}"]`, value: undefined },
      { op: 'add', path: 'members', value: [{ value: OTHER, display: 'other@example.com' }] },
      { op: 'replace', path: undefined, value: { id: 'dgrp_1', displayName: 'Renamed' } },
    ]),
  );
  assert.ok(plan.ok);
  assert.deepEqual(plan.value.membership, { clear: false, add: [OTHER], remove: [ID] });
  assert.deepEqual(plan.value.resourceOperations, [{ op: 'replace', path: undefined, value: { displayName: 'Renamed' } }]);
});

test('a group PATCH: Entra’s value-array removal removes only the listed members', () => {
  const plan = planGroupPatch(
    normalizeOperations(GROUP_KIND, 'dgrp_1', [{ op: 'remove', path: 'members', value: [{ value: ID }, { value: THIRD }] }]),
  );
  assert.ok(plan.ok);
  assert.deepEqual(plan.value.membership, { clear: false, add: [], remove: [ID, THIRD] });
  const odd = planGroupPatch(normalizeOperations(GROUP_KIND, 'dgrp_1', [{ op: 'remove', path: 'members', value: [{ value: 7 }] }]));
  assert.ok(odd.ok);
  assert.equal(odd.value.membership.clear, false, 'a malformed listed value never widens into "remove all"');
});

test('a group PATCH: replace, clear, re-add, and the bounds', () => {
  const cleared = planGroupPatch([{ op: 'replace', path: 'members', value: [] }]);
  assert.ok(cleared.ok);
  assert.deepEqual(cleared.value.membership, { clear: true, add: [], remove: [] });
  const sequence = planGroupPatch([
    { op: 'add', path: 'members', value: [{ value: ID }] },
    { op: 'remove', path: 'members', value: undefined },
    { op: 'add', path: 'members', value: { value: OTHER } },
  ]);
  assert.ok(sequence.ok);
  assert.deepEqual(sequence.value.membership, { clear: true, add: [OTHER], remove: [] });
  const untouched = planGroupPatch([{ op: 'replace', path: undefined, value: { displayName: 'Only a rename' } }]);
  assert.ok(untouched.ok);
  assert.deepEqual(untouched.value.membership, { clear: false, add: [], remove: [] });
  const refusedPlans: [unknown, string][] = [
    [[{ value: 'dgrp_01ARZ3NDEKTSV4RRFFQ69G5FAV', type: 'Group' }], 'scim_invalid_value'],
    [[{ value: 'not-an-id' }], 'scim_invalid_value'],
    [[{ display: 'no value' }], 'scim_invalid_value'],
    [Array.from({ length: 1001 }, () => ({ value: ID })), 'scim_invalid_value'],
  ];
  for (const [value, code] of refusedPlans) {
    const result = planGroupPatch([{ op: 'add', path: 'members', value }]);
    assert.equal(result.ok ? 'ok' : result.error.code, code, JSON.stringify(value).slice(0, 80));
  }
  const byDisplay = planGroupPatch([{ op: 'remove', path: 'members[display eq "x"]', value: undefined }]);
  assert.equal(byDisplay.ok ? 'ok' : byDisplay.error.code, 'scim_invalid_filter');
  const addFiltered = planGroupPatch([{ op: 'add', path: `members[value eq "${ID}"]`, value: { value: ID } }]);
  assert.equal(addFiltered.ok ? 'ok' : addFiltered.error.code, 'scim_invalid_path');
});
