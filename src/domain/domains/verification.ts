// DNS proof that an organization controls a domain, as pure functions of their inputs and `now`:
// the TXT record to publish, whether a lookup shows it, and the pending → verified / failed state
// machine with its re-check schedule. The lookup itself is src/net/dns-txt.ts; storage and the
// background job that claims due domains call these.
import type { RandomBytes } from '../../crypto/tokens.ts';
import type { DnsTxtError, DnsTxtErrorCode, TxtRecords } from '../../net/dns-txt.ts';
import type { Catalogue } from '../catalogue.ts';
import type { Result } from '../result.ts';

/** The label under the domain where the record goes (an underscored label, RFC 8552 §2, like `_dmarc`). */
export const VERIFICATION_LABEL = '_lanyard-verification';

/** The start of every verification value, so a record says what it is for in a zone listing. */
export const VERIFICATION_VALUE_PREFIX = 'lanyard-verification=';

/** Where the TXT record must be published: `_lanyard-verification.<domain>`. `domain` is a normalized (ASCII) domain. */
export function verificationRecordName(domain: string): string {
  return `${VERIFICATION_LABEL}.${domain}`;
}

/**
 * A new per-domain value: the prefix and 32 random bytes in base64url (43 characters, 64 in all:
 * one TXT string, under the 255-byte limit of RFC 1035 §3.3). Unguessable, so nobody can publish it
 * before it is issued, and distinct per claim, so one organization's record proves nothing for another's.
 */
export function newVerificationValue(random: RandomBytes): string {
  return `${VERIFICATION_VALUE_PREFIX}${random(32).toString('base64url')}`;
}

/** Why a check did not verify: a DNS condition, or records that hold another value. */
export const VERIFICATION_CHECK_CATALOGUE = {
  verification_record_mismatch: { description: 'TXT records exist at the name, but none is exactly the expected value.' },
  domain_verified_elsewhere: {
    description: 'The record is there, but another organization holds the domain verified: one of the two claims must go first.',
  },
} as const satisfies Catalogue;

/** A code from {@link VERIFICATION_CHECK_CATALOGUE} or from the DNS lookup's catalogue. */
export type VerificationCheckCode = keyof typeof VERIFICATION_CHECK_CATALOGUE | DnsTxtErrorCode;

/** What one check found. `found` lists what was there instead (shown to the admin), made safe to show and store. */
export type CheckResult =
  { readonly matched: true } | { readonly matched: false; readonly code: VerificationCheckCode; readonly found: readonly string[] };

/** At most this many found records, of at most this many characters each, are kept for display. */
export const FOUND_LIMITS = { records: 5, characters: 255 } as const;

/**
 * Whether a lookup shows the expected value: some record equal to it, exactly (case-sensitive, no
 * trimming: base64url is case-sensitive, and a value with stray quotes or spaces is not the value).
 * Other records at the name (another vendor's, an old value) do not matter. A record of several
 * strings was joined by the lookup (RFC 7208 §3.3), so a value split in two still matches.
 */
export function matchVerificationRecord(lookup: Result<TxtRecords, DnsTxtError>, expected: string): CheckResult {
  if (!lookup.ok) return { matched: false, code: lookup.error.code, found: [] };
  if (lookup.value.records.some((record) => record === expected)) return { matched: true };
  return { matched: false, code: 'verification_record_mismatch', found: displayRecords(lookup.value.records) };
}

/**
 * Found records as they may be shown and stored: a hostile zone can publish any byte, so control
 * characters (Unicode's Cc: U+0000-U+001F, NUL included, and U+007F-U+009F) become U+FFFD, and the
 * list and each record are cut to {@link FOUND_LIMITS}.
 */
export function displayRecords(records: readonly string[]): string[] {
  return records.slice(0, FOUND_LIMITS.records).map((record) => record.replace(/\p{Cc}/gu, '\ufffd').slice(0, FOUND_LIMITS.characters));
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How long a claim is re-checked before it fails. */
export const VERIFICATION_WINDOW_MS = 7 * 24 * HOUR;

/**
 * The re-check schedule, in time since the claim started: often at first (the admin is publishing
 * the record now), then backing off; 202 checks in 7 days. Slots are fixed offsets from the start,
 * so a late or a manual check does not shift the ones after it, and a job that was down checks
 * once when it comes back instead of catching up on every missed slot.
 */
export const VERIFICATION_SCHEDULE: readonly { readonly untilMs: number; readonly everyMs: number }[] = [
  { untilMs: 10 * MINUTE, everyMs: MINUTE }, // 1, 2, … 10 min
  { untilMs: HOUR, everyMs: 5 * MINUTE }, // 15, 20, … 60 min
  { untilMs: 6 * HOUR, everyMs: 15 * MINUTE }, // 1 h 15, … 6 h
  { untilMs: VERIFICATION_WINDOW_MS, everyMs: HOUR }, // 7 h, … 168 h: the last check is at the deadline
];

/** When a claim started at `startedAt` fails if no check has matched. */
export function verificationDeadline(startedAt: Date): Date {
  return new Date(startedAt.getTime() + VERIFICATION_WINDOW_MS);
}

/** The first scheduled check strictly after `now`, or undefined when `now` is at or past the deadline. */
export function nextCheckAfter(startedAt: Date, now: Date): Date | undefined {
  // A clock a little behind the instance that started the claim counts from the start.
  const elapsed = Math.max(0, now.getTime() - startedAt.getTime());
  let from = 0;
  for (const phase of VERIFICATION_SCHEDULE) {
    if (elapsed < phase.untilMs) {
      const slot = from + (Math.floor((elapsed - from) / phase.everyMs) + 1) * phase.everyMs;
      return new Date(startedAt.getTime() + Math.min(slot, phase.untilMs));
    }
    from = phase.untilMs;
  }
  return undefined;
}

/** The last check's time and result, kept on the claim for the admin ("not found yet at 10:42"). */
export interface LastCheck {
  readonly at: Date;
  readonly result: CheckResult;
}

/** A claim's verification state. `failed` keeps `startedAt`; a manual check can still verify it. */
export type VerificationState =
  | { readonly state: 'pending'; readonly startedAt: Date; readonly nextCheckAt: Date; readonly lastCheck: LastCheck | undefined }
  | { readonly state: 'verified'; readonly verifiedAt: Date; readonly lastCheck: LastCheck | undefined }
  | { readonly state: 'failed'; readonly startedAt: Date; readonly failedAt: Date; readonly lastCheck: LastCheck | undefined };

/** The events a transition emits (written in the same transaction as the new state). */
export type VerificationEvent = 'organization_domain.verified' | 'organization_domain.verification_failed';

/** A new claim (or a failed one tried again): pending for 7 days from `now`, first check in a minute. */
export function startVerification(now: Date): Extract<VerificationState, { state: 'pending' }> {
  return { state: 'pending', startedAt: now, nextCheckAt: nextCheckAfter(now, now) ?? now, lastCheck: undefined };
}

/** True when the background job should check this claim now. */
export function isCheckDue(state: VerificationState, now: Date): boolean {
  return state.state === 'pending' && state.nextCheckAt.getTime() <= now.getTime();
}

/**
 * The state after a check at `now`. `scheduled`: the background job's check, which moves
 * `nextCheckAt` to the next slot; `manual`: "check now", which leaves the schedule alone.
 * - a match verifies a pending or failed claim (event `organization_domain.verified`);
 * - no match at or past the deadline fails a pending claim (event `organization_domain.verification_failed`);
 * - otherwise a pending claim stays pending, a failed one failed, with the check recorded;
 * - a verified claim is left as it is: this machine does not un-verify.
 */
export function applyCheck(
  state: VerificationState,
  result: CheckResult,
  now: Date,
  trigger: 'scheduled' | 'manual',
): { state: VerificationState; event: VerificationEvent | undefined } {
  const lastCheck: LastCheck = { at: now, result };
  if (state.state === 'verified') return { state, event: undefined };
  if (result.matched) return { state: { state: 'verified', verifiedAt: now, lastCheck }, event: 'organization_domain.verified' };
  if (state.state === 'failed') return { state: { ...state, lastCheck }, event: undefined };
  const next = nextCheckAfter(state.startedAt, now);
  if (next === undefined) {
    return {
      state: { state: 'failed', startedAt: state.startedAt, failedAt: now, lastCheck },
      event: 'organization_domain.verification_failed',
    };
  }
  return { state: { ...state, nextCheckAt: trigger === 'scheduled' ? next : state.nextCheckAt, lastCheck }, event: undefined };
}
