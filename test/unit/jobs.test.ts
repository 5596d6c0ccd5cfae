import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createPeriodicWorker } from '../../src/domain/jobs/loop.ts';
import { createNudge } from '../../src/domain/jobs/nudge.ts';

const logger = pino({ level: 'silent' });

describe('background workers', () => {
  it('drain runs the step until it finds nothing', async () => {
    let left = 3;
    const worker = createPeriodicWorker({
      name: 't',
      step: async () => (left > 0 ? left-- : 0),
      pollIntervalMs: 10_000,
      logger,
      nudge: createNudge(),
    });
    await worker.drain();
    assert.equal(left, 0);
  });

  it('a started worker survives a failing step, wakes on a nudge, and stops', async () => {
    const calls: string[] = [];
    let failNext = true;
    let found = 0;
    const nudge = createNudge();
    const worker = createPeriodicWorker({
      name: 't',
      step: async () => {
        if (failNext) {
          failNext = false;
          calls.push('failed');
          throw new Error('database away');
        }
        calls.push('ran');
        return found > 0 ? found-- : 0;
      },
      pollIntervalMs: 60_000,
      logger,
      nudge,
    });
    worker.start();
    worker.start(); // a second start does nothing
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A failure counts as finding nothing: the worker waits the poll interval…
    assert.deepEqual(calls, ['failed']);
    // …unless nudged, and then it keeps going while it finds work.
    worker.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(calls, ['failed', 'ran']);
    found = 1;
    worker.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(calls, ['failed', 'ran', 'ran', 'ran']);
    await worker.stop();
    await worker.stop();
    worker.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls.length, 4, 'a stopped worker runs no step');
  });
});
