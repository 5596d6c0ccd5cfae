// Several server processes on one machine (LANYARD_WORKERS > 1). node:cluster forks the workers,
// which share the listening port (the primary hands connections out round-robin); all state is in
// PostgreSQL, so each worker is one instance among several, exactly as separate machines would be:
// background jobs claim their work with row locks, replay caches and rate limits are shared. The
// primary only supervises: it forks, replaces a worker that dies, passes a stop signal on, and
// gathers every worker's metrics for whichever worker answers `GET /metrics`.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';

interface MetricsMessage {
  readonly lanyard: 'metrics';
  readonly id: number;
  /** The cluster's metrics in the Prometheus text format; absent in a request. */
  readonly text?: string;
  readonly error?: string;
}

function isMetricsMessage(message: unknown): message is MetricsMessage {
  return typeof message === 'object' && message !== null && (message as { lanyard?: unknown }).lanyard === 'metrics';
}

/**
 * What `GET /metrics` answers with: this process's registry, or in a cluster worker the sum over
 * every worker (counters and histograms added, gauges as prom-client's aggregator says), so a
 * scrape sees the machine whichever worker the connection lands on.
 */
export function metricsRenderer(registry: Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics();
  // The primary's aggregator asks every worker for these registries; constructing one is what
  // makes prom-client answer those requests in this process.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (!isMetricsMessage(message)) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.text !== undefined) waiter?.resolve(message.text);
    else waiter?.reject(new Error(message.error ?? 'the primary sent no metrics'));
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      process.send?.({ lanyard: 'metrics', id } satisfies MetricsMessage);
    });
}

export interface Supervision {
  /** Resolves once every worker listens; rejects when one exits before it does. */
  readonly ready: Promise<void>;
  /** Passes `signal` on to every worker and resolves when all have exited, with 0 when all stopped cleanly. */
  stop(signal: NodeJS.Signals): Promise<number>;
}

/**
 * In the primary: forks `count` workers (each runs main.ts's server path), replaces one that dies
 * after it was ready, and answers the workers' metrics requests. A worker that dies before it
 * listens is a configuration or database problem every replacement would hit too: `ready` rejects.
 */
export function superviseWorkers(count: number, logger: Logger): Supervision {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let listening = 0;
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const started = new Set<Worker>();

  const fork = (): void => {
    const worker = cluster.fork();
    logger.info({ workerPid: worker.process.pid }, 'worker started');
    worker.once('listening', () => {
      logger.info({ workerPid: worker.process.pid }, 'worker listening');
      started.add(worker);
      if (++listening === count) resolveReady();
    });
    worker.on('message', (message: unknown) => {
      if (!isMetricsMessage(message) || message.text !== undefined) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ lanyard: 'metrics', id: message.id, text } satisfies MetricsMessage),
        (error: unknown) => worker.send({ lanyard: 'metrics', id: message.id, error: String(error) } satisfies MetricsMessage),
      );
    });
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      if (!started.has(worker)) {
        rejectReady(new Error(`a worker exited before it was ready (${signal || `exit code ${code}`})`));
        return;
      }
      started.delete(worker);
      logger.error({ workerPid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
      fork();
    });
  };
  for (let i = 0; i < count; i++) fork();

  return {
    ready,
    async stop(signal) {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      const codes = await Promise.all(
        workers.map(
          (worker) =>
            new Promise<number>((resolve) => {
              if (worker.isDead()) {
                resolve(worker.process.exitCode ?? 1);
                return;
              }
              // A worker still starting has no handler yet, and ends by the signal itself: also a clean stop.
              worker.once('exit', (code, how) => resolve(how === signal ? 0 : code));
              worker.process.kill(signal);
            }),
        ),
      );
      return codes.every((code) => code === 0) ? 0 : 1;
    },
  };
}
