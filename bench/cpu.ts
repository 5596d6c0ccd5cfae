/** CPU time consumed by processes, from /proc (Linux): to tell work from waiting in the login benchmark. */
import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ is 100 on every Linux that Node supports (sysconf(_SC_CLK_TCK)).
const TICK_MS = 10;

/** utime and stime of a process in milliseconds (10 ms resolution), zero when it is gone. */
export function processCpu(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) * TICK_MS, system: Number(fields[12]) * TICK_MS };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** utime + stime of a process in milliseconds. */
export function processCpuMs(pid: number): number {
  const { user, system } = processCpu(pid);
  return user + system;
}

/** The PostgreSQL backends serving `database` (their title reads "postgres: [<cluster name>: ]<user> <database> <client> …"). */
export function postgresBackends(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (/^postgres: (?:\S+: )?\S+ (\S+) /.exec(title)?.[1] === database) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** The pids whose parent is `pid` (a cluster supervisor's workers), from the ppid field of /proc/<pid>/stat. */
export function childPids(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Starts measuring; the returned function gives the CPU milliseconds used since, per component. */
export type CpuMeter = () => () => Record<string, number>;

/** The server process and its children (a cluster's workers; none in a single process), each pid's utime and stime. */
function serverTree(serverPid: number): Map<number, { user: number; system: number }> {
  return new Map([serverPid, ...childPids(serverPid)].map((pid) => [pid, processCpu(pid)]));
}

/**
 * The server process with its children (LANYARD_WORKERS: the supervisor and every worker), and
 * the PostgreSQL backends serving its database (none for the embedded database, `database`
 * undefined). Processes are compared pid by pid, since the pool may open connections and a
 * supervisor may replace a worker during the interval (one that exits loses its share).
 */
export function serverCpuMeter(serverPid: () => number, database?: string): CpuMeter {
  const backends = () => new Map((database === undefined ? [] : postgresBackends(database)).map((pid) => [pid, processCpuMs(pid)]));
  return () => {
    const server0 = serverTree(serverPid());
    const db0 = backends();
    return () => {
      let postgres = 0;
      for (const [pid, ms] of backends()) postgres += ms - (db0.get(pid) ?? 0);
      let user = 0;
      let system = 0;
      for (const [pid, cpu] of serverTree(serverPid())) {
        user += cpu.user - (server0.get(pid)?.user ?? 0);
        system += cpu.system - (server0.get(pid)?.system ?? 0);
      }
      // The server's system time is mostly the loopback TCP sends of its queries and responses.
      return {
        'server user': user,
        'server sys': system,
        ...(database === undefined ? {} : { postgres }),
      };
    };
  };
}

/** This process (an in-process peer): user + system time of all its threads. */
export const ownCpuMeter: CpuMeter = () => {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return { 'in-process': (used.user + used.system) / 1000 };
  };
};
