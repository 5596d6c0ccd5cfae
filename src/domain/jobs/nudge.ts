/**
 * A wake-up call for one waiting loop: `notify()` ends the current (or next) `wait()` at once,
 * so the worker reacts to work this instance created without polling faster.
 */
export interface Nudge {
  /** A function, not a method: it is handed around on its own (`wake: nudge.notify`). */
  readonly notify: () => void;
  /** Resolves after `ms`, or sooner when notified (also by a notification that came before). */
  readonly wait: (ms: number) => Promise<void>;
}

/** A nudge for one loop. */
export function createNudge(): Nudge {
  let pending = false;
  let wakeUp: (() => void) | undefined;
  return {
    notify() {
      pending = true;
      wakeUp?.();
    },
    wait(ms) {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          wakeUp = undefined;
          pending = false;
          resolve();
        };
        const timer = setTimeout(done, ms);
        wakeUp = done;
      });
    },
  };
}
