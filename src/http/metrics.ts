import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { metricsRenderer } from '../cluster.ts';
import type { LoginMetrics } from '../domain/login/ports.ts';
import { ATTEMPT_LATENCY_BUCKETS, type WebhookMetricsSink } from '../domain/webhooks/metrics.ts';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The process's metrics in a registry of its own (not prom-client's global one, so that every app
 * a test builds counts for itself), served by `GET /metrics` in the Prometheus text format:
 *
 * - `lanyard_http_requests_total` and `lanyard_http_request_duration_seconds` by route template
 *   (`unmatched` for unknown routes, so that a scan cannot grow the series), method and status;
 * - `lanyard_logins_started_total`, `…_succeeded_total` by `connection_type`, and
 *   `lanyard_logins_failed_total` by `connection_type` and the catalogued failure `code`, counted
 *   by the login path through `metrics.logins`;
 * - `lanyard_scim_requests_total` by `resource` (Users, Groups, the discovery documents), method
 *   and status, counted by the SCIM pipeline through `metrics.scim`;
 * - `lanyard_webhook_attempts_total` and `lanyard_webhook_attempt_duration_seconds` by `outcome`,
 *   `lanyard_webhook_deliveries_total` by `outcome`, counted by the webhook worker through
 *   `metrics.webhooks`; `lanyard_webhook_oldest_waiting_seconds` by `stage` (pending,
 *   undispatched), read from the database (every instance's backlog) when scraped;
 * - prom-client's default process and Node.js metrics (`process_cpu_seconds_total`,
 *   `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, `nodejs_heap_size_used_bytes`, …)
 *   under their standard names, which the usual dashboards expect.
 *
 * Extension point: a new concern declares its metrics here, as the ones above, as a member of the
 * returned object with `registers: [registry]`, named `lanyard_<concern>_<what>_<unit>` with
 * bounded labels, and the service that does the work receives that member through deps, never the
 * registry itself.
 */
export function createMetrics(sources: { webhookBacklog: () => Promise<WebhookBacklog> }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const httpRequests = new Counter({
    name: 'lanyard_http_requests_total',
    help: 'HTTP requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'lanyard_http_request_duration_seconds',
    help: 'Time to answer an HTTP request.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const started = new Counter({
    name: 'lanyard_logins_started_total',
    help: 'Logins sent to an identity provider, by connection type.',
    labelNames: ['connection_type'] as const,
    registers,
  });
  const succeeded = new Counter({
    name: 'lanyard_logins_succeeded_total',
    help: 'Logins that ended with a code for the application, by connection type.',
    labelNames: ['connection_type'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'lanyard_logins_failed_total',
    help: 'Logins that failed, by connection type and failure code.',
    labelNames: ['connection_type', 'code'] as const,
    registers,
  });
  const scimRequests = new Counter({
    name: 'lanyard_scim_requests_total',
    help: 'SCIM requests answered, by resource, method and status.',
    labelNames: ['resource', 'method', 'status'] as const,
    registers,
  });
  const webhookAttempts = new Counter({
    name: 'lanyard_webhook_attempts_total',
    help: 'Webhook delivery attempts, by outcome (success, http_error, timeout, network_error, refused).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const webhookAttemptDuration = new Histogram({
    name: 'lanyard_webhook_attempt_duration_seconds',
    help: 'Time a webhook delivery attempt took, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: ATTEMPT_LATENCY_BUCKETS,
    registers,
  });
  const webhookDeliveries = new Counter({
    name: 'lanyard_webhook_deliveries_total',
    help: 'Webhook deliveries after an attempt, by outcome (delivered, retry_scheduled, failed).',
    labelNames: ['outcome'] as const,
    registers,
  });
  new Gauge({
    name: 'lanyard_webhook_oldest_waiting_seconds',
    help: 'Age of the oldest event waiting: for a pending delivery (stage pending) or to be dispatched (stage undispatched); 0 when none waits.',
    labelNames: ['stage'] as const,
    registers,
    // Every worker of a cluster reads the same database: their sum would count it once per worker.
    aggregator: 'max',
    // Read at each scrape; a database that cannot answer leaves the last values.
    async collect() {
      const backlog = await sources.webhookBacklog().catch(() => undefined);
      if (backlog === undefined) return;
      this.set({ stage: 'pending' }, backlog.oldestPendingSeconds);
      this.set({ stage: 'undispatched' }, backlog.oldestUndispatchedSeconds);
    },
  });
  const logins: LoginMetrics = {
    started: (connectionType) => started.inc({ connection_type: connectionType }),
    succeeded: (connectionType) => succeeded.inc({ connection_type: connectionType }),
    failed: (connectionType, code) => failed.inc({ connection_type: connectionType, code }),
  };
  const webhooks: WebhookMetricsSink = {
    attempt(outcome, seconds) {
      webhookAttempts.inc({ outcome });
      webhookAttemptDuration.observe({ outcome }, seconds);
    },
    delivery(outcome) {
      webhookDeliveries.inc({ outcome });
    },
  };
  return {
    /** Counts one answered request; `route` is the route template, never the raw URL. */
    observe(route: string, method: string, status: number, seconds: number): void {
      const labels = { route, method, status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    logins,
    scim: {
      /** `resource` is the route's resource segment (bounded by the routes), never the raw path. */
      request: (resource: string, method: string, status: number): void => scimRequests.inc({ resource, method, status: String(status) }),
    },
    webhooks,
    /** The `Content-Type` of render()'s text (Prometheus text format 0.0.4). */
    contentType: registry.contentType,
    render: metricsRenderer(registry),
  };
}

/** The age of the webhook backlog, from the webhook service's `lag()`. */
export interface WebhookBacklog {
  oldestPendingSeconds: number;
  oldestUndispatchedSeconds: number;
}

export type Metrics = ReturnType<typeof createMetrics>;
/** The SCIM counter, as the SCIM pipeline receives it. */
export type ScimMetrics = Metrics['scim'];
