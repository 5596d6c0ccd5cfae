import type { Logger } from 'pino';
import type { Nudge } from './nudge.ts';

/**
 * Background work an instance does while it serves (ARCHITECTURE habit 21): started when the app
 * listens, stopped when it closes. Each piece of work is a claimable row, so every instance may run
 * the same workers and a `kill -9` loses at most a lease.
 */
export interface BackgroundWorker {
  /** Starts working in the background; a second call does nothing. */
  start(): void;
  /** Stops claiming and waits for (or releases) what it holds; safe to call twice. */
  stop(): Promise<void>;
  /** Looks for work now instead of at the next poll. */
  wake(): void;
  /** Does everything due now and waits for it (the CLI, tests, benchmarks). */
  drain(): Promise<void>;
}

/**
 * Runs `step` until `running()` turns false. A step returns how much work it found; when it found
 * none the loop waits on `wake` for at most `pollIntervalMs` (work other instances or requests
 * created shows up at the next poll; this instance's own work nudges it at once). A failing step
 * is logged and retried, never fatal: the database may be away for a moment.
 */
export async function repeatUntilStopped(options: {
  readonly name: string;
  readonly step: () => Promise<number>;
  readonly wake: Nudge;
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  readonly running: () => boolean;
  /** Called after every step (e.g. to nudge the next stage). */
  readonly after?: () => void;
}): Promise<void> {
  while (options.running()) {
    let found = 0;
    try {
      found = await options.step();
    } catch (error) {
      options.logger.error({ err: error }, `${options.name} failed; retrying`);
    }
    options.after?.();
    if (options.running() && found === 0) await options.wake.wait(options.pollIntervalMs);
  }
}

/** A worker of one step run in a loop: what most background jobs are (one claim-and-do per step). */
export function createPeriodicWorker(options: {
  readonly name: string;
  readonly step: () => Promise<number>;
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  readonly nudge: Nudge;
}): BackgroundWorker {
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  return {
    start() {
      if (running) return;
      running = true;
      loop = repeatUntilStopped({ ...options, wake: options.nudge, running: () => running });
    },
    async stop() {
      running = false;
      options.nudge.notify();
      await loop;
    },
    wake() {
      options.nudge.notify();
    },
    async drain() {
      while ((await options.step()) > 0);
    },
  };
}
