import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Who holds a data directory: written into its lock file. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** What the holder is, in words: `the running server`, `lanyard migrate`. */
  readonly owner: string;
  readonly since: string;
}

/** The embedded database's directory is held by another live process. */
export class DataDirectoryLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const where = holder.hostname === hostname() ? '' : ` on ${holder.hostname}`;
    super(`the embedded database in ${dataDir} is in use by ${holder.owner} (pid ${holder.pid}${where})`);
    this.name = 'DataDirectoryLockedError';
  }
}

export interface DataDirectoryLock {
  release(): Promise<void>;
}

const LOCK_FILE = 'lanyard.lock';
/** The holder touches its lock this often, so that a process that cannot see the holder's pid can still tell it is alive. */
const HEARTBEAT_MS = 10_000;
/** A lock of another host (another container, say) untouched this long is left by a process that died. */
const STALE_AFTER_MS = 60_000;

/**
 * The lock files this process holds, with their content: a second open in the same process is
 * refused, and a lock naming our pid that is not held here is stale.
 */
const heldHere = new Map<string, string>();
let exitHookInstalled = false;

/**
 * Takes the data directory for this process, or throws DataDirectoryLockedError naming the live
 * holder. PGlite is one PostgreSQL backend over plain files, with no lock of its own: two
 * processes opening one directory each keep their own view and overwrite the other's writes.
 *
 * The lock file is created whole and atomically (written aside, then `link`ed into place, which
 * fails when it exists). A lock is stale, and taken over, when its holder is gone: on this host,
 * when its pid is not alive (or is ours, left by an earlier process of a restarted container); on
 * another host, whose pids cannot be seen (containers sharing a volume), when its holder stopped
 * touching it for a minute. Released by release(), and at process exit if release() did not run.
 */
export async function lockDataDirectory(dataDir: string, owner: string, now: () => number = Date.now): Promise<DataDirectoryLock> {
  const path = join(dataDir, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, hostname: hostname(), owner, since: new Date(now()).toISOString() };
  const content = `${JSON.stringify(mine)}\n`;
  if (heldHere.has(path)) throw new DataDirectoryLockedError(dataDir, mine);
  for (let attempt = 0; ; attempt++) {
    if (await createExclusively(path, content)) break;
    const found = await readLock(path);
    if (found === undefined) continue; // released meanwhile
    if (isAlive(found.holder, found.touchedAt, now()) || attempt >= 2) throw new DataDirectoryLockedError(dataDir, found.holder);
    await removeStale(path, found.raw);
  }
  heldHere.set(path, content);
  installExitHook();
  const heartbeat = setInterval(() => {
    const at = new Date(now());
    utimes(path, at, at).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    async release() {
      clearInterval(heartbeat);
      if (!heldHere.delete(path)) return;
      if ((await readLock(path))?.raw === content) await unlink(path).catch(() => undefined);
    },
  };
}

async function createExclusively(path: string, content: string): Promise<boolean> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, content, { mode: 0o600 });
  try {
    await link(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

async function readLock(path: string): Promise<{ raw: string; holder: LockHolder; touchedAt: number } | undefined> {
  try {
    const [raw, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { raw, holder: parseHolder(raw), touchedAt: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(raw: string): LockHolder {
  try {
    const parsed = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number' && typeof parsed.hostname === 'string' && typeof parsed.owner === 'string')
      return { pid: parsed.pid, hostname: parsed.hostname, owner: parsed.owner, since: String(parsed.since) };
  } catch {
    // not ours, or damaged: judged by its age alone, below
  }
  return { pid: 0, hostname: '(unknown)', owner: 'an unknown process', since: '' };
}

function isAlive(holder: LockHolder, touchedAt: number, now: number): boolean {
  if (holder.hostname !== hostname() || holder.pid <= 0) return now - touchedAt < STALE_AFTER_MS;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Moves the stale lock aside (atomic), then checks that what was moved is the stale lock that was
 * judged: if another process took the stale lock over in between, its fresh lock is put back
 * (`link` again, never overwriting) and the caller tries again, and then finds that live lock.
 */
async function removeStale(path: string, staleContent: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if ((await readFile(aside, 'utf8')) !== staleContent) await link(aside, path).catch(() => undefined);
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [path, content] of heldHere) {
      try {
        if (readFileSync(path, 'utf8') === content) unlinkSync(path);
      } catch {
        // already gone
      }
    }
  });
}
