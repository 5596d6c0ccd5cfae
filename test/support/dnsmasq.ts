// A real DNS server on loopback for the domain-verification tests: Debian's dnsmasq (package
// dnsmasq-base, which installs the binary and no service), run in the foreground as a child of the
// test on a free port, answering only from the records given here.
//
// The fixed options are on the command line; the records go into a configuration file, the one place
// where dnsmasq reads quoted strings (on its command line a comma always splits). dnsmasq re-reads
// its hosts files on SIGHUP but not --txt-record or --cname (tried: after SIGHUP the old TXT value
// stays), so `setRecords` rewrites the file and restarts dnsmasq on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, hasCommand } from './environment.ts';

/** What the server answers. Names are without a trailing dot. */
export interface DnsRecords {
  /** TXT records by name; a record is one string, or several character-strings of one record. */
  readonly txt?: Readonly<Record<string, readonly (string | readonly string[])[]>>;
  /** CNAMEs, alias → target; the target must be a name dnsmasq itself answers (another record here). */
  readonly cname?: Readonly<Record<string, string>>;
  /** A records by name (a name that exists with no TXT record: NOERROR, no data). */
  readonly a?: Readonly<Record<string, string>>;
  /**
   * Zones answered only from these records (dnsmasq --local): an unknown name under one is NXDOMAIN.
   * Outside every zone, with no upstream server, dnsmasq answers REFUSED.
   */
  readonly zones?: readonly string[];
}

export interface Dnsmasq {
  readonly port: number;
  /** `127.0.0.1:<port>`, as node:dns setServers and LANYARD_DNS_SERVERS take it. */
  readonly server: string;
  /** Replaces every record: restarts dnsmasq on the same port and resolves once it listens again. */
  setRecords(records: DnsRecords): Promise<void>;
  /** What dnsmasq logged (each query included), for failure messages. */
  log(): string;
  /** Stops dnsmasq. Safe to call twice. */
  stop(): Promise<void>;
}

const DEBIAN_PATH = '/usr/sbin/dnsmasq';

/** Why the dnsmasq tests skip (or fail in CI): the reason shown by requireOrSkip. */
export const DNSMASQ_MISSING = 'dnsmasq is not installed (Debian package dnsmasq-base; .ci/run installs it)';

/** The binary: Debian's path (not on a non-root PATH), else whatever PATH has. */
function dnsmasqBinary(): string | undefined {
  if (existsSync(DEBIAN_PATH)) return DEBIAN_PATH;
  return hasCommand('dnsmasq') ? 'dnsmasq' : undefined;
}

/** True when dnsmasq can be started here. */
export function hasDnsmasq(): boolean {
  return dnsmasqBinary() !== undefined;
}

/** A string in dnsmasq's configuration file: quoted, so commas and spaces stay inside; dnsmasq unescapes \\" and \\\\. */
function quoted(text: string): string {
  if (/[\0\n\r]/.test(text)) throw new Error('dnsmasq: a record string may not hold NUL or line breaks');
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A name in the configuration file: nothing that could end the line or split the option. */
function checkedName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`dnsmasq: "${name}" is not a plain DNS name`);
  return name;
}

/** The configuration file's lines: the records, and the zones answered locally. */
export function dnsmasqConfiguration(records: DnsRecords): string {
  const lines: string[] = [];
  for (const zone of records.zones ?? []) lines.push(`local=/${checkedName(zone)}/`);
  for (const [name, list] of Object.entries(records.txt ?? {})) {
    for (const record of list) {
      const strings = typeof record === 'string' ? [record] : record;
      lines.push(`txt-record=${[checkedName(name), ...strings.map(quoted)].join(',')}`);
    }
  }
  for (const [alias, target] of Object.entries(records.cname ?? {})) lines.push(`cname=${checkedName(alias)},${checkedName(target)}`);
  for (const [name, address] of Object.entries(records.a ?? {})) lines.push(`host-record=${checkedName(name)},${checkedName(address)}`);
  return `${lines.join('\n')}\n`;
}

/** The command line: nothing from the system (no resolv.conf, hosts or /etc/dnsmasq.conf), only `confFile`. */
export function dnsmasqArguments(port: number, confFile: string): string[] {
  return [
    '--keep-in-foreground',
    `--conf-file=${confFile}`,
    '--no-resolv',
    '--no-hosts',
    '--pid-file=', // empty: no pid file (the default is under /run, which needs root)
    '--log-facility=-', // log to stderr: the readiness line and each query
    '--log-queries',
    '--cache-size=0',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
  ];
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

/** Spawns dnsmasq and waits for its "started" line (it binds its sockets before logging it). */
async function spawnDnsmasq(
  binary: string,
  port: number,
  confFile: string,
  records: DnsRecords,
  append: (text: string) => void,
): Promise<Running> {
  await writeFile(confFile, dnsmasqConfiguration(records), 'utf8');
  const child = spawn(binary, dnsmasqArguments(port, confFile), { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dnsmasq did not start within 10 s: ${output}`));
    }, 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      append(chunk.toString());
      if (/started, version/.test(output)) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dnsmasq exited with ${code}: ${output}`));
    });
  });
}

async function stopRunning(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill('SIGTERM');
  const killed = setTimeout(() => running.child.kill('SIGKILL'), 5_000);
  await running.exited;
  clearTimeout(killed);
}

/** Starts dnsmasq on a free loopback port (UDP and TCP) serving `records`. */
export async function startDnsmasq(records: DnsRecords): Promise<Dnsmasq> {
  const binary = dnsmasqBinary();
  if (binary === undefined) throw new Error(DNSMASQ_MISSING);
  const dir = await mkdtemp(join(tmpdir(), 'lanyard-dnsmasq-'));
  const confFile = join(dir, 'records.conf');
  let log = '';
  const append = (text: string): void => void (log += text);
  let running: Running | undefined;
  let port = 0;
  for (let attempt = 1; running === undefined; attempt++) {
    // freePort checks TCP only, and another process may take the port before dnsmasq binds it: retry.
    port = await freePort();
    try {
      running = await spawnDnsmasq(binary, port, confFile, records, append);
    } catch (error) {
      if (attempt >= 5 || !/Address already in use/.test(String(error))) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  let current: Running = running;
  // A test process that dies without calling stop() must not leave dnsmasq behind.
  const onExit = (): void => void current.child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    port,
    server: `127.0.0.1:${port}`,
    async setRecords(next) {
      await stopRunning(current);
      for (let attempt = 1; ; attempt++) {
        try {
          current = await spawnDnsmasq(binary, port, confFile, next, append);
          return;
        } catch (error) {
          // The port we just released is ours in practice; a moment of TIME_WAIT-like delay is retried.
          if (attempt >= 10 || !/Address already in use/.test(String(error))) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    log: () => log,
    async stop() {
      process.removeListener('exit', onExit);
      await stopRunning(current);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
