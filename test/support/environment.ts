// Lets a suite that needs something absent (../shared, chromium, php, PostgreSQL, Redis) say so loudly:
// in CI (CI=true) the test fails with the reason; elsewhere it is skipped with a line on stderr.
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { TestContext } from 'node:test';

/** True when running under CI (`CI=true`), where every dependency must be present. */
export function isCi(): boolean {
  return process.env.CI === 'true';
}

/**
 * Returns true when `available`. Otherwise fails the test in CI (throws) or, elsewhere, prints
 * `SKIPPED (not available here): reason` to stderr, marks the test skipped and returns false,
 * so the caller can `if (!requireOrSkip(t, ok, why)) return;`.
 */
export function requireOrSkip(t: TestContext, available: boolean, reason: string): boolean {
  if (available) return true;
  if (isCi()) throw new Error(`required in CI but not available: ${reason}`);
  process.stderr.write(`SKIPPED (not available here): ${t.name}: ${reason}\n`);
  t.skip(`not available here: ${reason}`);
  return false;
}

/** True when `command` is found on PATH (or is an executable path). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; another process may still take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a listening socket'));
      });
    });
  });
}
