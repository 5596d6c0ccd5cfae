import type { RandomBytes } from '../../crypto/tokens.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Delays before the 2nd, 3rd, … attempt: Standard Webhooks 1.0.0 ("Deliverability and
 * reliability") recommends exponential backoff with jitter over a long span; this is its example
 * schedule cut at 10 hours, about 28 hours in all. A delivery whose last attempt fails is `failed`.
 */
export const RETRY_DELAYS_MS: readonly number[] = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

/** Every attempt may take this long, answer included; a 2xx later than that is a failure. */
export const ATTEMPT_TIMEOUT_MS = 10 * SECOND;

/** An endpoint whose every attempt has failed for this long is disabled. */
export const FAILING_DISABLE_AFTER_MS = 5 * 24 * HOUR;

/** Jitter spreads retries ±20%, so that receivers that failed together are not retried together. */
const JITTER = 0.2;

/** How one attempt ended, as the deliverer saw it. */
export type AttemptResult =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfterMs?: number | undefined }
  | { readonly kind: 'error'; readonly code: string };

/** What to do with the delivery and its endpoint after an attempt. */
export interface AttemptVerdict {
  readonly status: 'delivered' | 'pending' | 'failed';
  /** When the next attempt is due, for `pending`. */
  readonly nextAttemptAt: Date | null;
  /** `ok` clears the endpoint's failing streak, `failing` extends it, `disable` ends it. */
  readonly endpoint:
    { readonly kind: 'ok' } | { readonly kind: 'failing' } | { readonly kind: 'disable'; readonly reason: 'gone' | 'failing' };
}

/**
 * Judges one attempt (pure: `now` and randomness are arguments). A 2xx is success (Standard
 * Webhooks, "Delivery success and failure"); anything else is retried on the schedule, later if
 * the receiver's `Retry-After` asks for it; `410 Gone` disables the endpoint at once, and a
 * failing streak of 5 days disables it too. The delivery itself stays pending while it has
 * attempts left, so that re-enabling the endpoint sends it.
 */
export function judgeAttempt(
  result: AttemptResult,
  context: { attemptsMade: number; now: Date; failingSince: Date | null; random: RandomBytes },
): AttemptVerdict {
  if (result.kind === 'response' && result.status >= 200 && result.status <= 299) {
    return { status: 'delivered', nextAttemptAt: null, endpoint: { kind: 'ok' } };
  }
  const delay = retryDelay(context.attemptsMade, context.random, result.kind === 'response' ? result.retryAfterMs : undefined);
  const next = delay === undefined ? null : new Date(context.now.getTime() + delay);
  const status = next === null ? 'failed' : 'pending';
  if (result.kind === 'response' && result.status === 410)
    return { status, nextAttemptAt: next, endpoint: { kind: 'disable', reason: 'gone' } };
  const since = context.failingSince ?? context.now;
  if (context.now.getTime() - since.getTime() >= FAILING_DISABLE_AFTER_MS) {
    return { status, nextAttemptAt: next, endpoint: { kind: 'disable', reason: 'failing' } };
  }
  return { status, nextAttemptAt: next, endpoint: { kind: 'failing' } };
}

/**
 * The delay after the `attemptsMade`-th failed attempt, jittered, or undefined when none is left.
 * A `Retry-After` longer than the schedule's delay is honoured up to the longest delay.
 */
export function retryDelay(attemptsMade: number, random: RandomBytes, retryAfterMs?: number): number | undefined {
  const base = RETRY_DELAYS_MS[attemptsMade - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * (random(4).readUInt32BE(0) / 0x1_0000_0000)));
  const longest = RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1] ?? base;
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, longest));
}

/** `Retry-After` (RFC 9110 §10.2.3) as milliseconds from `now`: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * SECOND;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}
