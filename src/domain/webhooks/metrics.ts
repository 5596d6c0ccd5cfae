/** How one attempt ended, for metrics: a 2xx, another HTTP status, or no answer. */
export type AttemptOutcome = 'success' | 'http_error' | 'timeout' | 'network_error' | 'refused';

/** What became of a delivery after an attempt. */
export type DeliveryOutcome = 'delivered' | 'retry_scheduled' | 'failed';

/**
 * Where the worker reports what it does. A plain interface so that the worker knows nothing of
 * prom-client: src/http/metrics.ts implements it with a Counter per method and a Histogram for
 * the latency. The backlog's age is read from the database, where every instance's backlog is
 * (the webhook service's `lag()`).
 */
export interface WebhookMetricsSink {
  attempt(outcome: AttemptOutcome, seconds: number): void;
  delivery(outcome: DeliveryOutcome): void;
}

/** Upper bounds of the attempt latency histogram, in seconds (the timeout is 10 s). */
export const ATTEMPT_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
