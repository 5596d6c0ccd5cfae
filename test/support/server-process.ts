// Starts the real server (src/main.ts) as a child process, as an operator would, for process tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './environment.ts';
import { repoRoot } from './repo.ts';

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `node src/main.ts` with `env` added, and waits until /readyz answers 200. */
export async function startServer(env: Record<string, string>, timeoutMs = 90_000): Promise<ServerProcess> {
  const port = env.LANYARD_PORT ?? String(await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, LANYARD_LOG_LEVEL: 'info', ...env, LANYARD_PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${err}${out}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await server.stop();
  throw new Error(`the server was not ready within ${timeoutMs} ms: ${err}${out}`);
}

/** Runs `node src/main.ts` expecting it to exit at once (bad configuration); resolves with code and stderr. */
export function runServerToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'main.ts')], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

/** How a child process ended: its exit code and all it wrote. */
export interface ProcessOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <entry>` (a path in the repository: cli/main.ts, src/main.ts) with `args` to its exit,
 * in this process's environment less its LANYARD_ variables, plus `env`.
 */
export function runEntryToExit(entry: string, args: string[], env: Record<string, string>): Promise<ProcessOutput> {
  const withoutLanyardEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('LANYARD_')));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, entry), ...args], {
      cwd: repoRoot,
      env: { ...withoutLanyardEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A new database for server processes, made by {@link createServerDatabase}. */
export interface ServerDatabase {
  /** Its URL on the same PostgreSQL server. */
  readonly url: URL;
  /** The bootstrap API key the first server to start makes. */
  readonly token: string;
  /** What a server needs to run on it: the database URL, a new secret key, the bootstrap API key. */
  readonly env: { LANYARD_DATABASE_URL: string; LANYARD_SECRET_KEY: string; LANYARD_BOOTSTRAP_API_KEY: string };
  /** Drops the database (even while servers are connected) and closes the admin connection. */
  drop(): Promise<void>;
}

/** Creates a database named `prefix` and random hex on the PostgreSQL server of `base`, for server processes to migrate and share. */
export async function createServerDatabase(base: string, prefix: string): Promise<ServerDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const token = `bootstrap-${randomBytes(24).toString('hex')}`;
  return {
    url,
    token,
    env: { LANYARD_DATABASE_URL: url.toString(), LANYARD_SECRET_KEY: randomBytes(32).toString('base64'), LANYARD_BOOTSTRAP_API_KEY: token },
    async drop() {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
