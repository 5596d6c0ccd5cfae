import { performance } from 'node:perf_hooks';
import { GuardedRequestError, type GuardedFetch } from '../../net/guarded-request.ts';
import type { Catalogue } from '../catalogue.ts';
import type { AttemptOutcome } from './metrics.ts';
import { parseRetryAfter, type AttemptResult } from './schedule.ts';
import { webhookHeaders } from './signing.ts';

/** How much of an answer is kept, for the deliveries API. */
export const RESPONSE_BODY_BYTES = 1024;

/**
 * Why an attempt got no answer: the code that starts its `error` in the deliveries API
 * (`unreachable: …`), followed by what happened. The guarded fetch's codes, and plain http refused
 * before any connection. The README's webhook table is checked against it by a test.
 */
export const WEBHOOK_ATTEMPT_ERROR_CATALOGUE = {
  insecure_url: {
    description: 'The endpoint URL is plain http, which is sent to only with LANYARD_ALLOW_PRIVATE_NETWORK (the switch may have changed).',
  },
  bad_scheme: { description: 'The endpoint URL is neither http nor https.' },
  forbidden_address: {
    description: 'The host resolved, when connecting, to an address Lanyard does not call (private, loopback, link-local, …).',
  },
  timeout: { description: 'No complete answer within the 10 seconds an attempt may take.' },
  unreachable: { description: 'The connection failed or broke (refused, reset, no route, DNS or TLS failure).' },
  too_large: { description: 'The answer was larger than the guarded fetch allows (not expected: webhook answers are cut at 1 KiB).' },
} as const satisfies Catalogue;

/** A code from {@link WEBHOOK_ATTEMPT_ERROR_CATALOGUE}. */
type AttemptErrorCode = keyof typeof WEBHOOK_ATTEMPT_ERROR_CATALOGUE;

/** One attempt as it is recorded. */
export interface SentAttempt {
  readonly result: AttemptResult;
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | null;
  /** Why there was no answer: `timeout`, `unreachable: ECONNREFUSED`, `forbidden_address: …`. */
  readonly error: string | null;
  readonly latencyMs: number;
  /** The first 1 KiB of the answer, as text. */
  readonly responseBody: string | null;
}

/** What one attempt sends. */
export interface AttemptInput {
  readonly url: string;
  readonly eventId: string;
  readonly body: string;
  readonly secrets: readonly string[];
  readonly now: Date;
  /** Plain http is refused unless private networks are allowed (checked again here: the switch may have changed). */
  readonly allowHttp: boolean;
}

/**
 * POSTs one signed delivery through the guarded fetch (address policy at connect time, no
 * redirects followed, time limit, the answer read up to 1 KiB). Resolves with the attempt, or
 * with `aborted` when `signal` (shutdown) ended it: that attempt is released, not recorded.
 */
export async function sendAttempt(fetch: GuardedFetch, input: AttemptInput, signal: AbortSignal): Promise<SentAttempt | 'aborted'> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  if (new URL(input.url).protocol !== 'https:' && !input.allowHttp) {
    return noAnswer('refused', attemptError('insecure_url', 'plain http is not allowed without LANYARD_ALLOW_PRIVATE_NETWORK'), 0);
  }
  const headers = webhookHeaders({ id: input.eventId, now: input.now, body: input.body, secrets: input.secrets });
  try {
    const response = await fetch(input.url, { method: 'POST', headers, body: input.body, signal });
    const bytes = new Uint8Array(await response.arrayBuffer());
    // PostgreSQL text cannot hold NUL; anything else the receiver sent is kept as decoded.
    const text = new TextDecoder('utf-8').decode(bytes.subarray(0, RESPONSE_BODY_BYTES)).replaceAll('\u0000', '\uFFFD');
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), input.now);
    return {
      result: { kind: 'response', status: response.status, retryAfterMs },
      outcome: response.status >= 200 && response.status <= 299 ? 'success' : 'http_error',
      statusCode: response.status,
      error: null,
      latencyMs: elapsed(),
      responseBody: text,
    };
  } catch (error) {
    if (signal.aborted) return 'aborted';
    if (!(error instanceof GuardedRequestError)) throw error;
    const outcome: AttemptOutcome =
      error.code === 'timeout'
        ? 'timeout'
        : error.code === 'forbidden_address' || error.code === 'bad_scheme'
          ? 'refused'
          : 'network_error';
    return noAnswer(outcome, attemptError(error.code, error.message), elapsed());
  }
}

function attemptError(code: AttemptErrorCode, message: string): string {
  return `${code}: ${message}`;
}

function noAnswer(outcome: AttemptOutcome, error: string, latencyMs: number): SentAttempt {
  return { result: { kind: 'error', code: outcome }, outcome, statusCode: null, error, latencyMs, responseBody: null };
}
