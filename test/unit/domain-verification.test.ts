// The pure pieces of DNS domain verification: record name and value, matching, and the
// pending → verified / failed state machine with its schedule, driven by an injected clock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  applyCheck,
  displayRecords,
  isCheckDue,
  matchVerificationRecord,
  newVerificationValue,
  nextCheckAfter,
  startVerification,
  VERIFICATION_WINDOW_MS,
  verificationDeadline,
  verificationRecordName,
  type CheckResult,
  type VerificationState,
} from '../../src/domain/domains/verification.ts';
import { err, ok } from '../../src/domain/result.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const start = new Date('2026-03-02T09:00:00.000Z');
const at = (ms: number): Date => new Date(start.getTime() + ms);
const missing: CheckResult = { matched: false, code: 'dns_name_not_found', found: [] };
const matched: CheckResult = { matched: true };

test('the record name and a per-claim random value', () => {
  assert.equal(verificationRecordName('acme.com'), '_lanyard-verification.acme.com');
  const value = newVerificationValue(() => Buffer.alloc(32, 0xff));
  assert.equal(value, `lanyard-verification=${'_'.repeat(42)}8`);
  assert.match(newVerificationValue(randomBytes), /^lanyard-verification=[A-Za-z0-9_-]{43}$/);
  assert.notEqual(newVerificationValue(randomBytes), newVerificationValue(randomBytes));
  // The value comes from the random source it is given, all 32 bytes of it.
  let asked = 0;
  newVerificationValue((size) => ((asked = size), Buffer.alloc(size)));
  assert.equal(asked, 32);
});

test('matching: exact, case-sensitive, any one of several records; failures keep their DNS code', () => {
  const expected = 'lanyard-verification=AbC';
  const records = (...list: string[]) => ok({ records: list });
  assert.deepEqual(matchVerificationRecord(records('v=spf1 -all', expected), expected), { matched: true });
  for (const near of ['lanyard-verification=abc', ` ${expected}`, `${expected} `, `"${expected}"`, `${expected}x`, 'AbC']) {
    assert.deepEqual(matchVerificationRecord(records(near), expected), {
      matched: false,
      code: 'verification_record_mismatch',
      found: [near],
    });
  }
  assert.deepEqual(matchVerificationRecord(err({ code: 'dns_timeout', cause: 'ETIMEOUT' }), expected), {
    matched: false,
    code: 'dns_timeout',
    found: [],
  });
});

test('found records are made safe to show and store: no control characters, bounded', () => {
  assert.deepEqual(displayRecords(['a\u0000b\u001bc\u0085d']), ['a\ufffdb\ufffdc\ufffdd']);
  assert.deepEqual(displayRecords(['x'.repeat(10_000)]), ['x'.repeat(255)]);
  assert.equal(displayRecords(Array.from({ length: 50 }, (_, i) => `r${i}`)).length, 5);
  const hostile = matchVerificationRecord(ok({ records: ['\u0000'.repeat(300), 'b', 'c', 'd', 'e', 'f'] }), 'v');
  assert.ok(!hostile.matched && hostile.found.length === 5 && !hostile.found.some((r) => r.includes('\u0000') || r.length > 255));
});

test('the schedule: every minute, then 5 min, 15 min, hourly; 202 checks ending at the 7-day deadline', () => {
  const slots: number[] = [];
  for (let next = nextCheckAfter(start, start); next !== undefined; next = nextCheckAfter(start, next)) {
    slots.push(next.getTime() - start.getTime());
  }
  assert.equal(slots.length, 202);
  assert.deepEqual(
    slots.slice(0, 12),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20].map((m) => m * MINUTE),
  );
  assert.deepEqual(slots.slice(19, 22), [60 * MINUTE, 75 * MINUTE, 90 * MINUTE]);
  assert.deepEqual(slots.slice(39, 42), [6 * HOUR, 7 * HOUR, 8 * HOUR]);
  assert.equal(slots.at(-1), VERIFICATION_WINDOW_MS);
  assert.equal(verificationDeadline(start).getTime(), start.getTime() + 7 * 24 * HOUR);
  // Slots are offsets from the start: a check run late is followed by the next slot, not by a full interval.
  assert.equal(nextCheckAfter(start, at(3 * MINUTE + 50_000))?.getTime(), at(4 * MINUTE).getTime());
  assert.equal(nextCheckAfter(start, at(30 * HOUR + 59 * MINUTE))?.getTime(), at(31 * HOUR).getTime());
  // A clock behind the one that started the claim counts from the start; at or past the deadline there is no next check.
  assert.equal(nextCheckAfter(start, at(-5 * MINUTE))?.getTime(), at(MINUTE).getTime());
  assert.equal(nextCheckAfter(start, at(VERIFICATION_WINDOW_MS)), undefined);
});

test('pending → verified on the first matching check, with its event', () => {
  const pending = startVerification(start);
  assert.deepEqual(pending, { state: 'pending', startedAt: start, nextCheckAt: at(MINUTE), lastCheck: undefined });
  assert.equal(isCheckDue(pending, at(59_999)), false);
  assert.equal(isCheckDue(pending, at(MINUTE)), true);
  const first = applyCheck(pending, missing, at(MINUTE), 'scheduled');
  assert.equal(first.event, undefined);
  assert.deepEqual(first.state, {
    state: 'pending',
    startedAt: start,
    nextCheckAt: at(2 * MINUTE),
    lastCheck: { at: at(MINUTE), result: missing },
  });
  const verified = applyCheck(first.state, matched, at(2 * MINUTE), 'scheduled');
  assert.equal(verified.event, 'organization_domain.verified');
  assert.deepEqual(verified.state, { state: 'verified', verifiedAt: at(2 * MINUTE), lastCheck: { at: at(2 * MINUTE), result: matched } });
  assert.equal(isCheckDue(verified.state, at(VERIFICATION_WINDOW_MS * 2)), false);
  // Verified stays verified: a later failing check neither un-verifies nor emits.
  assert.deepEqual(applyCheck(verified.state, missing, at(HOUR), 'manual'), { state: verified.state, event: undefined });
});

test('pending → failed after the check at 7 days, once, with its event', () => {
  let state: VerificationState = startVerification(start);
  const events: (string | undefined)[] = [];
  let checks = 0;
  // The background job: check whenever due, minute by minute of an injected clock.
  for (let now = start.getTime(); now <= start.getTime() + VERIFICATION_WINDOW_MS + HOUR; now += MINUTE) {
    if (!isCheckDue(state, new Date(now))) continue;
    checks++;
    const next = applyCheck(state, missing, new Date(now), 'scheduled');
    events.push(next.event);
    state = next.state;
  }
  assert.equal(checks, 202);
  assert.deepEqual(
    events.filter((e) => e !== undefined),
    ['organization_domain.verification_failed'],
  );
  assert.equal(state.state, 'failed');
  assert.deepEqual(state, {
    state: 'failed',
    startedAt: start,
    failedAt: at(VERIFICATION_WINDOW_MS),
    lastCheck: { at: at(VERIFICATION_WINDOW_MS), result: missing },
  });
  assert.equal(isCheckDue(state, at(VERIFICATION_WINDOW_MS * 2)), false);
});

test('a manual check does not move the schedule; past the deadline it fails the claim', () => {
  const pending = applyCheck(startVerification(start), missing, at(MINUTE), 'scheduled').state;
  const manual = applyCheck(pending, missing, at(MINUTE + 20_000), 'manual');
  assert.equal(manual.state.state === 'pending' && manual.state.nextCheckAt.getTime(), at(2 * MINUTE).getTime());
  assert.deepEqual(manual.state.lastCheck, { at: at(MINUTE + 20_000), result: missing });
  // The job was down past the deadline: the first check after it (manual or not) is the last.
  const late = applyCheck(pending, missing, at(VERIFICATION_WINDOW_MS + 3 * HOUR), 'manual');
  assert.equal(late.state.state, 'failed');
  assert.equal(late.event, 'organization_domain.verification_failed');
});

test('failed: a matching check (by hand) verifies it; a failing one records itself and stays failed', () => {
  const failed: VerificationState = { state: 'failed', startedAt: start, failedAt: at(VERIFICATION_WINDOW_MS), lastCheck: undefined };
  const again = applyCheck(failed, missing, at(VERIFICATION_WINDOW_MS + HOUR), 'manual');
  assert.deepEqual(again, {
    state: { ...failed, lastCheck: { at: at(VERIFICATION_WINDOW_MS + HOUR), result: missing } },
    event: undefined,
  });
  const verified = applyCheck(failed, matched, at(VERIFICATION_WINDOW_MS + 2 * HOUR), 'manual');
  assert.equal(verified.state.state, 'verified');
  assert.equal(verified.event, 'organization_domain.verified');
  // Trying a failed claim again starts a new 7-day window.
  const restarted = startVerification(at(VERIFICATION_WINDOW_MS + 3 * HOUR));
  assert.equal(verificationDeadline(restarted.startedAt).getTime(), at(2 * VERIFICATION_WINDOW_MS + 3 * HOUR).getTime());
});
