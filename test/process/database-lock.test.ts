// Two processes must never open one embedded database directory (PGlite has no lock of its own,
// and the second one's writes are lost): the server holds a lock on its data directory, and the
// CLI, a second server, or a port already in use are refused in one line, before anything is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DataDirectoryLockedError, lockDataDirectory } from '../../src/storage/data-dir-lock.ts';
import { runEntryToExit, startServer } from '../support/server-process.ts';

/** The CLI or the server, at the log level warn unless `env` says otherwise. */
const run = (entry: string, args: string[], env: Record<string, string>) =>
  runEntryToExit(entry, args, { LANYARD_LOG_LEVEL: 'warn', ...env });
const cli = (args: string[], env: Record<string, string>) => run('cli/main.ts', args, env);

async function withDataDir(body: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lanyard-lock-'));
  try {
    await body(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('the embedded database is opened by one process at a time', () => {
  test('while the server runs, the CLI and a second server refuse in one line and write nothing; after it stops, the CLI works', async () => {
    await withDataDir(async (dataDir) => {
      const server = await startServer({ LANYARD_DATA_DIR: dataDir });
      try {
        const pid = server.child.pid;
        const inUse = new RegExp(`^lanyard: the embedded database in ${dataDir} is in use by the running server \\(pid ${pid}\\): `);
        for (const args of [['api-keys', 'create', '--name', 'lost'], ['migrate'], ['secrets', 'rotate'], ['console-link']]) {
          const refused = await cli(args, { LANYARD_DATA_DIR: dataDir });
          assert.equal(refused.code, 1, `${args.join(' ')}: ${refused.stderr}`);
          assert.match(refused.stderr, inUse, args.join(' '));
          assert.match(refused.stderr, /LANYARD_DATABASE_URL/);
          assert.equal(refused.stderr.trim().split('\n').length, 1, `one line: ${refused.stderr}`);
          assert.equal(refused.stdout, '', 'no token is printed');
        }
        const second = await run('src/main.ts', [], { LANYARD_DATA_DIR: dataDir, LANYARD_PORT: '0' });
        assert.equal(second.code, 1);
        assert.match(second.stderr, inUse);
        assert.equal(second.stderr.trim().split('\n').length, 1, `one line: ${second.stderr}`);
        assert.doesNotMatch(second.stderr, /first admin API key/);
      } finally {
        assert.equal(await server.stop(), 0);
      }
      assert.equal(existsSync(join(dataDir, 'lanyard.lock')), false, 'the server released its lock');
      const created = await cli(['api-keys', 'create', '--name', 'kept'], { LANYARD_DATA_DIR: dataDir });
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /^key_/);
    });
  });

  test('a lock left by a process that is gone is taken over', async () => {
    await withDataDir(async (dataDir) => {
      const lock = join(dataDir, 'lanyard.lock');
      await writeFile(lock, JSON.stringify({ pid: deadPid(), hostname: hostname(), owner: 'the running server', since: '' }));
      const migrated = await cli(['migrate'], { LANYARD_DATA_DIR: dataDir });
      assert.equal(migrated.code, 0, migrated.stderr);
      // From another host (a container sharing the volume): alive while it is touched, stale a minute after.
      const otherHost = JSON.stringify({ pid: 1, hostname: 'another-host', owner: 'the running server', since: '' });
      await writeFile(lock, otherHost);
      const refused = await cli(['migrate'], { LANYARD_DATA_DIR: dataDir });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /in use by the running server \(pid 1 on another-host\)/);
      const old = new Date(Date.now() - 120_000);
      await utimes(lock, old, old);
      assert.equal((await cli(['migrate'], { LANYARD_DATA_DIR: dataDir })).code, 0);
      assert.deepEqual(await readdir(dataDir).then((names) => names.filter((n) => n.startsWith('lanyard.lock'))), []);
    });
  });

  test('in one process: a second lock is refused until the first is released; a lock naming our pid but not held here is stale', async () => {
    await withDataDir(async (dataDir) => {
      const first = await lockDataDirectory(dataDir, 'the first');
      await assert.rejects(lockDataDirectory(dataDir, 'the second'), (error: unknown) => {
        assert.ok(error instanceof DataDirectoryLockedError);
        assert.equal(error.holder.pid, process.pid);
        return true;
      });
      await first.release();
      const second = await lockDataDirectory(dataDir, 'the second');
      await second.release();
      // A restarted container's process often has the pid of the one before it.
      await writeFile(join(dataDir, 'lanyard.lock'), JSON.stringify({ pid: process.pid, hostname: hostname(), owner: 'x', since: '' }));
      const third = await lockDataDirectory(dataDir, 'the third');
      await third.release();
    });
  });
});

describe('the server start', () => {
  test('on a port already in use: one line, exit code 1, and nothing created or printed', async () => {
    await withDataDir(async (dataDir) => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as AddressInfo).port;
      try {
        const result = await run('src/main.ts', [], { LANYARD_DATA_DIR: dataDir, LANYARD_PORT: String(port), LANYARD_LOG_LEVEL: 'info' });
        assert.equal(result.code, 1);
        assert.equal(result.stderr, `lanyard: port ${port} on 127.0.0.1 is already in use: stop what listens there, or set LANYARD_PORT\n`);
        assert.equal(result.stdout, '', 'not even a log line');
        assert.deepEqual(await readdir(dataDir), [], 'no sealing key, no database, no admin key');
      } finally {
        taken.close();
      }
    });
  });
});
