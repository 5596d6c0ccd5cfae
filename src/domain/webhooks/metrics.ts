/** How one attempt ended, for metrics: a 2xx, another HTTP status, or no answer. */
export type AttemptOutcome = 'success' | 'http_error' | 'timeout' | 'network_error' | 'refused';

/** What became of a delivery after an attempt. */
export type DeliveryOutcome = 'delivered' | 'retry_scheduled' | 'failed';

/**
 * Where the worker reports what it does. A plain interface so that /metrics can feed prom-client
 * from it (a Counter per method, a Histogram for the latency) without the worker knowing.
 */
export interface WebhookMetricsSink {
  attempt(outcome: AttemptOutcome, seconds: number): void;
  delivery(outcome: DeliveryOutcome): void;
}

/** Upper bounds of the attempt latency histogram, in seconds (the timeout is 10 s). */
export const ATTEMPT_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A snapshot of the in-process counters. */
export interface WebhookMetricsSnapshot {
  attempts: Record<AttemptOutcome, number>;
  deliveries: Record<DeliveryOutcome, number>;
  latency: { buckets: { le: number; count: number }[]; count: number; sum: number };
}

/**
 * In-process counters: deliveries by outcome, attempts by outcome, and a histogram of attempt
 * latency. The lag (age of the oldest pending delivery) is read from the database, where every
 * instance's backlog is: see the webhook service's `lag()`.
 */
export function createWebhookMetrics(): WebhookMetricsSink & { snapshot(): WebhookMetricsSnapshot } {
  const attempts: Record<AttemptOutcome, number> = { success: 0, http_error: 0, timeout: 0, network_error: 0, refused: 0 };
  const deliveries: Record<DeliveryOutcome, number> = { delivered: 0, retry_scheduled: 0, failed: 0 };
  const buckets = ATTEMPT_LATENCY_BUCKETS.map(() => 0);
  let count = 0;
  let sum = 0;
  return {
    attempt(outcome, seconds) {
      attempts[outcome]++;
      count++;
      sum += seconds;
      ATTEMPT_LATENCY_BUCKETS.forEach((le, i) => {
        if (seconds <= le) buckets[i] = (buckets[i] ?? 0) + 1;
      });
    },
    delivery(outcome) {
      deliveries[outcome]++;
    },
    snapshot() {
      return {
        attempts: { ...attempts },
        deliveries: { ...deliveries },
        latency: { buckets: ATTEMPT_LATENCY_BUCKETS.map((le, i) => ({ le, count: buckets[i] ?? 0 })), count, sum },
      };
    },
  };
}
