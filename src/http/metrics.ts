import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { metricsRenderer } from '../cluster.ts';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The kinds of connection a login goes through; a label value of the login metrics. */
export type ConnectionType = 'saml' | 'oidc';

/**
 * The process's metrics in a registry of its own (not prom-client's global one, so that every app
 * a test builds counts for itself), served by `GET /metrics` in the Prometheus text format:
 *
 * - `lanyard_http_requests_total` and `lanyard_http_request_duration_seconds` by route template
 *   (`unmatched` for unknown routes, so that a scan cannot grow the series), method and status;
 * - `lanyard_logins_started_total`, `…_succeeded_total` by `connection_type`, and
 *   `lanyard_logins_failed_total` by `connection_type` and the catalogued failure `code`: to be
 *   counted by the login path through `metrics.logins`;
 * - prom-client's default process and Node.js metrics (`process_cpu_seconds_total`,
 *   `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, `nodejs_heap_size_used_bytes`, …)
 *   under their standard names, which the usual dashboards expect.
 *
 * Extension point: a new concern (SCIM requests, webhook deliveries) declares its metrics here,
 * next to the login ones, as a member of the returned object with `registers: [registry]`, named
 * `lanyard_<concern>_<what>_<unit>` with bounded labels (for instance
 * `lanyard_scim_requests_total{resource,operation,status}` and
 * `lanyard_webhook_deliveries_total{outcome}` with a `…_duration_seconds` histogram), and the service
 * that does the work receives that member through deps, never the registry itself.
 */
export function createMetrics() {
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
  return {
    /** Counts one answered request; `route` is the route template, never the raw URL. */
    observe(route: string, method: string, status: number, seconds: number): void {
      const labels = { route, method, status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    logins: {
      started: (connectionType: ConnectionType): void => started.inc({ connection_type: connectionType }),
      succeeded: (connectionType: ConnectionType): void => succeeded.inc({ connection_type: connectionType }),
      /** `code` is a catalogued failure code (bounded), never a message. */
      failed: (connectionType: ConnectionType, code: string): void => failed.inc({ connection_type: connectionType, code }),
    },
    /** The `Content-Type` of render()'s text (Prometheus text format 0.0.4). */
    contentType: registry.contentType,
    render: metricsRenderer(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
