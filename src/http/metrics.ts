const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  count: number;
  sum: number;
  buckets: number[];
}

/**
 * Request counts and latency histograms by route template, method and status, rendered in the
 * Prometheus text format (version 0.0.4). Small enough that a metrics library would not earn its place.
 */
export function createHttpMetrics() {
  const series = new Map<string, Series>();
  return {
    observe(route: string, method: string, status: number, seconds: number): void {
      const key = `route="${escapeLabel(route)}",method="${method}",status="${status}"`;
      let s = series.get(key);
      if (s === undefined) series.set(key, (s = { count: 0, sum: 0, buckets: BUCKETS.map(() => 0) }));
      s.count++;
      s.sum += seconds;
      s.buckets = s.buckets.map((count, i) => (seconds <= (BUCKETS[i] ?? Infinity) ? count + 1 : count));
    },
    render(): string {
      const lines = [
        '# HELP lanyard_http_requests_total HTTP requests answered, by route, method and status.',
        '# TYPE lanyard_http_requests_total counter',
      ];
      for (const [key, s] of series) lines.push(`lanyard_http_requests_total{${key}} ${s.count}`);
      lines.push(
        '# HELP lanyard_http_request_duration_seconds Time to answer an HTTP request.',
        '# TYPE lanyard_http_request_duration_seconds histogram',
      );
      for (const [key, s] of series) {
        BUCKETS.forEach((le, i) => lines.push(`lanyard_http_request_duration_seconds_bucket{${key},le="${le}"} ${s.buckets[i]}`));
        lines.push(`lanyard_http_request_duration_seconds_bucket{${key},le="+Inf"} ${s.count}`);
        lines.push(`lanyard_http_request_duration_seconds_sum{${key}} ${s.sum}`);
        lines.push(`lanyard_http_request_duration_seconds_count{${key}} ${s.count}`);
      }
      return `${lines.join('\n')}\n`;
    },
  };
}

export type HttpMetrics = ReturnType<typeof createHttpMetrics>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
