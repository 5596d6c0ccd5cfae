/**
 * The Lanyard server under test: a scratch PostgreSQL database created for the run and dropped
 * after it, and the server process built and started as `npm start` does (`tsc` then
 * `node dist/src/main.js`), always stopped, even when the benchmark fails or is interrupted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { childPids } from './cpu.ts';

export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates `lanyard_bench_<random>` on the server of `adminUrl` (a database URL whose user may CREATE DATABASE). */
export async function createScratchDatabase(adminUrl: string): Promise<ScratchDatabase> {
  const name = `lanyard_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly apiToken: string;
  /** How the server was run, for the report. */
  readonly how: string;
  /** VmHWM and VmRSS of the server process in MiB, from /proc/<pid>/status. */
  memory(): { peakMiB: number; rssMiB: number } | undefined;
  /** Resets VmHWM to the current RSS (writes 5 to /proc/<pid>/clear_refs), so a later peak belongs to what ran since. */
  resetPeak(): boolean;
  /** The last lines the server wrote. */
  tail(): string;
  stop(): Promise<void>;
}

/**
 * Compiles src/ as `npm run build` does, into dist/. Returns the entry to run, or undefined when
 * the compiler emitted nothing usable (then the server runs through tsx, as the tests run it).
 */
export function buildServer(repoRoot: string, log: (line: string) => void): string | undefined {
  const entry = join(repoRoot, 'dist', 'src', 'main.js');
  const started = Date.now();
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json')], { cwd: repoRoot, encoding: 'utf8' });
  const fresh = existsSync(entry) && statSync(entry).mtimeMs >= started - 1000;
  if (result.status !== 0) {
    const first = (result.stdout + result.stderr).split('\n').filter(Boolean).slice(0, 3).join(' / ');
    log(`server: tsc reported errors (${first})${fresh ? '; it emitted dist/ anyway, which is used' : ''}`);
  }
  log(`server: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return fresh ? entry : undefined;
}

const running = new Set<ChildProcess>();
function stopAllSync(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', stopAllSync);

export interface StartOptions {
  readonly repoRoot: string;
  readonly entry: string | undefined;
  /** PostgreSQL; undefined runs the embedded database (PGlite) as `npm start` does by default, in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** LANYARD_DATA_DIR, for the embedded database (a scratch directory the caller removes). */
  readonly dataDir?: string;
  /** LANYARD_WORKERS (PostgreSQL only): the server is then a supervisor whose children serve. */
  readonly workers?: number;
  readonly logLevel: string;
  readonly cpuProfileDir?: string;
}

/**
 * The server's environment: the benchmark's own settings over the inherited environment, from
 * which any Lanyard database, key or worker setting is removed so only the options choose them.
 * On the embedded database no secret key is given: the server generates one in its data
 * directory, as for a new user.
 */
function serverEnv(options: StartOptions, port: number, url: string, apiToken: string): NodeJS.ProcessEnv {
  const {
    LANYARD_DATABASE_URL: _url,
    LANYARD_SECRET_KEY: _key,
    LANYARD_WORKERS: _workers,
    LANYARD_DATA_DIR: _dir,
    ...inherited
  } = process.env;
  return {
    ...inherited,
    LANYARD_HOST: '127.0.0.1',
    LANYARD_PORT: String(port),
    LANYARD_PUBLIC_URL: url,
    ...(options.databaseUrl !== undefined
      ? { LANYARD_DATABASE_URL: options.databaseUrl, LANYARD_SECRET_KEY: randomBytes(32).toString('base64') }
      : {}),
    ...(options.dataDir !== undefined ? { LANYARD_DATA_DIR: options.dataDir } : {}),
    ...(options.workers !== undefined ? { LANYARD_WORKERS: String(options.workers) } : {}),
    LANYARD_BOOTSTRAP_API_KEY: apiToken,
    // The benchmark is one client hammering a few routes; the limiter itself still runs on every request.
    LANYARD_RATE_LIMIT_MAX: '1000000000',
    LANYARD_LOG_LEVEL: options.logLevel,
    LANYARD_SHUTDOWN_TIMEOUT_MS: '5000',
  };
}

/** Starts the server on a free loopback port with a bootstrap admin key; resolves once /readyz answers 200. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const apiToken = `bench_${randomBytes(24).toString('base64url')}`;
  const profiling = options.cpuProfileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const args = [
    ...profiling,
    ...(options.entry !== undefined ? [options.entry] : ['--import', 'tsx', join(options.repoRoot, 'src', 'main.ts')]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: options.repoRoot,
    env: serverEnv(options, port, url, apiToken),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  const server: ServerProcess = {
    url,
    pid,
    apiToken,
    how: `${
      options.entry !== undefined
        ? 'node dist/src/main.js (compiled as npm start does)'
        : 'node --import tsx src/main.ts (tsc emitted no dist/)'
    }${options.workers !== undefined ? `, LANYARD_WORKERS=${options.workers}` : ''}${options.databaseUrl === undefined ? ', embedded PGlite' : ''}`,
    memory() {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
        return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 };
      } catch {
        return undefined;
      }
    },
    resetPeak() {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    tail: () => lines.slice(-20).join('\n'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    },
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}:\n${server.tail()}`);
    try {
      // A supervisor answers through its first worker: wait until all are forked (the warm-up follows).
      if ((await fetch(`${url}/readyz`)).ok && childPids(pid).length >= (options.workers ?? 0)) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await server.stop();
  throw new Error(`the server was not ready within 60 s:\n${server.tail()}`);
}
