// Starts a real SAML 2.0 IdP (SimpleSAMLphp, Debian's package) through ../shared/idp/simplesamlphp/start.sh,
// one per call, each in a fresh temporary folder on its own loopback port.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './environment.ts';
import { sharedDir } from './repo.ts';

/** The start script of the shared SimpleSAMLphp IdP. */
export const simpleSamlPhpScript: string = join(sharedDir, 'idp', 'simplesamlphp', 'start.sh');

export interface SimpleSamlPhpOptions {
  /** Entity ID of the SP the IdP trusts. */
  spEntityId: string;
  /** The SP's AssertionConsumerService URL (HTTP-POST binding). */
  acsUrl: string;
  /** Loopback port; a free one is picked when omitted. */
  port?: number;
  /** Sign the whole samlp:Response (default false). */
  signResponse?: boolean;
  /** Sign the saml:Assertion (default true). */
  signAssertion?: boolean;
  /** Path of the SP's certificate (PEM): assertions are encrypted to it. */
  encryptWith?: string;
  nameIdFormat?: 'email' | 'persistent' | 'transient';
  /** The SP's SingleLogoutService URL (HTTP-Redirect binding). */
  sloUrl?: string;
  /** Path of the SP's signing certificate (PEM): with signLogout, the IdP checks the SP's logout messages against it. */
  spSigningCert?: string;
  /** Sign the IdP's LogoutRequests/Responses and require signed ones from the SP (default false). */
  signLogout?: boolean;
  /** Refuse AuthnRequests not signed by spSigningCert's key (start.sh --require-signed-requests). */
  requireSignedRequests?: boolean;
  /**
   * A step of the IdP's signing-key rollover, for {@link SimpleSamlPhpIdp.restart}: `new-key` signs with a
   * fresh key at once; `publish-next-key` adds a next certificate to the metadata; `promote-next-key`
   * then signs with it and drops the old one. Without it a restart keeps the current key (and drops a next one).
   */
  keyRollover?: 'new-key' | 'publish-next-key' | 'promote-next-key';
  /** How long the start script may take; default 30 s, or 5 min when it must first install Debian packages. */
  timeoutMs?: number;
}

export interface SimpleSamlPhpUser {
  username: string;
  password: string;
  email: string;
}

/** The parsed idp.json written by the start script, plus the port and a way to stop the IdP. */
export interface SimpleSamlPhpIdp {
  entityId: string;
  metadataUrl: string;
  metadataFile: string;
  ssoUrl: string;
  sloUrl: string;
  /** Starts IdP-initiated Single Logout of every SP of the session, then returns to the IdP's /logged-out. */
  idpLogoutUrl: string;
  idpInitiatedUrl: string;
  certFile: string;
  /** The next signing certificate the metadata publishes (after `publish-next-key`), or null. */
  nextCertFile: string | null;
  pidFile: string;
  dir: string;
  users: SimpleSamlPhpUser[];
  port: number;
  /** Stops the PHP server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the PHP server but keeps its folder (keys included), so that {@link restart} brings the same IdP back. */
  pause(): Promise<void>;
  /**
   * Runs start.sh again with the same folder and port and the first start's options with `changes`
   * laid over them: the metadata URL then serves the new state (start.sh, "Key rollover").
   */
  restart(changes?: Partial<SimpleSamlPhpOptions>): Promise<SimpleSamlPhpIdp>;
}

const phpPath = '/usr/bin/php';

/** True when Debian's simplesamlphp and php-cli are installed (so start.sh need not install them). */
export function simpleSamlPhpInstalled(): boolean {
  return existsSync('/usr/share/simplesamlphp') && existsSync(phpPath);
}

/** Whether startSimpleSamlPhp can work here, and if not, why (for requireOrSkip). */
export function simpleSamlPhpAvailability(): { available: boolean; reason: string } {
  if (!existsSync(simpleSamlPhpScript)) {
    return { available: false, reason: `${simpleSamlPhpScript} is missing (../shared is not beside the repository)` };
  }
  if (!simpleSamlPhpInstalled() && process.getuid?.() !== 0) {
    return { available: false, reason: 'Debian packages simplesamlphp and php-cli are not installed, and installing them needs root' };
  }
  return { available: true, reason: '' };
}

/** Starts a SimpleSAMLphp IdP trusting one SP; resolves once its metadata is served. */
export async function startSimpleSamlPhp(options: SimpleSamlPhpOptions): Promise<SimpleSamlPhpIdp> {
  for (const [name, value] of [
    ['spEntityId', options.spEntityId],
    ['acsUrl', options.acsUrl],
    ['sloUrl', options.sloUrl],
  ]) {
    // The script pastes these into PHP and JSON literals unescaped.
    if (value !== undefined && /['"\\\n]/.test(value))
      throw new Error(`startSimpleSamlPhp: ${name} must not contain quotes, backslashes or newlines`);
  }
  if (!existsSync(simpleSamlPhpScript)) throw new Error(`startSimpleSamlPhp: ${simpleSamlPhpScript} is missing`);
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnce(options, port);
    } catch (error) {
      // A port picked by freePort can be taken by someone else before PHP binds it: pick another.
      if (attempt >= attempts || !String(error).includes('Address already in use')) throw error;
    }
  }
}

function scriptArguments(options: SimpleSamlPhpOptions, port: number, dir: string): string[] {
  const args = ['--sp-entity-id', options.spEntityId, '--acs-url', options.acsUrl, '--port', String(port), '--dir', dir];
  if (options.sloUrl !== undefined) args.push('--slo-url', options.sloUrl);
  if (options.signResponse === true) args.push('--sign-response');
  if (options.signAssertion === false) args.push('--no-sign-assertion');
  if (options.encryptWith !== undefined) args.push('--encrypt-with', options.encryptWith);
  if (options.nameIdFormat !== undefined) args.push('--nameid-format', options.nameIdFormat);
  if (options.spSigningCert !== undefined) args.push('--sp-signing-cert', options.spSigningCert);
  if (options.signLogout === true) args.push('--sign-logout');
  if (options.requireSignedRequests === true) args.push('--require-signed-requests');
  if (options.keyRollover !== undefined) args.push(`--${options.keyRollover}`);
  return args;
}

async function startOnce(options: SimpleSamlPhpOptions, port: number, existingDir?: string): Promise<SimpleSamlPhpIdp> {
  const dir = existingDir ?? (await mkdtemp(join(tmpdir(), 'lanyard-simplesamlphp-')));
  const timeoutMs = options.timeoutMs ?? (simpleSamlPhpInstalled() ? 30_000 : 300_000);
  const stop = async (): Promise<void> => {
    await stopPidFile(join(dir, 'pid'));
    await rm(dir, { recursive: true, force: true });
  };
  const env = simpleSamlPhpInstalled() ? await withPhpShim(dir) : process.env;
  const run = await runScript(scriptArguments(options, port, dir), dir, env, timeoutMs);
  if (run.code !== 0) {
    const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(
      `SimpleSAMLphp start.sh ${run.timedOut ? `timed out after ${timeoutMs} ms` : `ended (${run.code ?? run.signal})`}\n` +
        `--- stderr ---\n${run.stderr}${log ? `--- server.log ---\n${log.slice(-4000)}` : ''}`,
    );
  }
  trackPidFile(join(dir, 'pid'));
  const jsonPath = run.stdout.trim().split('\n').at(-1) ?? '';
  try {
    const description = JSON.parse(await readFile(jsonPath, 'utf8')) as Omit<SimpleSamlPhpIdp, 'port' | 'stop' | 'pause' | 'restart'>;
    const pause = () => stopPidFile(join(dir, 'pid'));
    // A rollover step applies once: later restarts keep the state it left (start.sh reads the folder's keys).
    const { keyRollover: _step, ...kept } = options;
    const restart = (changes: Partial<SimpleSamlPhpOptions> = {}) => startOnce({ ...kept, ...changes }, port, dir);
    return { ...description, port, stop, pause, restart };
  } catch (error) {
    await stop();
    throw new Error(`SimpleSAMLphp start.sh printed ${JSON.stringify(run.stdout)}, not a readable idp.json\n${run.stderr}`, {
      cause: error,
    });
  }
}

/**
 * start.sh decides whether to (re)install its Debian packages with `php -m | grep -qx dom` under
 * `set -o pipefail`. PHP prints its module list a line per write, so grep's early exit kills it with
 * SIGPIPE about half the time (46 of 100 here), and the script then runs apt-get inside the test.
 * A `php` first on PATH that prints the list in one write avoids that; anything else goes to PHP itself.
 */
async function withPhpShim(dir: string): Promise<NodeJS.ProcessEnv> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const shim = join(bin, 'php');
  await writeFile(
    shim,
    `#!/bin/sh\nif [ "$#" -eq 1 ] && [ "$1" = -m ]; then out=$(${phpPath} -m) && printf '%s\\n' "$out"; exit; fi\nexec ${phpPath} "$@"\n`,
  );
  await chmod(shim, 0o755);
  return { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
}

interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ScriptRun> {
  return new Promise((resolve) => {
    // Own process group, so a timed-out script is ended with everything it started (apt-get, curl).
    const child = spawn('bash', [simpleSamlPhpScript, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    // When PHP cannot bind the port, the script can wait long for it (its curl has no time limit if
    // something else holds the port): watch PHP's log and give up at once.
    const watch = setInterval(() => {
      if (readFileOrEmpty(join(cwd, 'server.log')).includes('Failed to listen on')) killGroup(child.pid, 'SIGKILL');
    }, 200);
    const done = (): void => {
      clearTimeout(timer);
      clearInterval(watch);
    };
    child.once('error', (error) => {
      done();
      resolve({ code: -1, signal: null, timedOut, stdout, stderr: `${stderr}${String(error)}\n` });
    });
    child.once('close', (code, signal) => {
      done();
      resolve({ code, signal, timedOut, stdout, stderr });
    });
  });
}

function readFileOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// The PHP server runs in its own session (setsid), so it would outlive a crashed test process:
// remember every started server and kill the leftovers when this process exits.
const livePidFiles = new Set<string>();
let exitHookInstalled = false;

function trackPidFile(pidFile: string): void {
  livePidFiles.add(pidFile);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const file of livePidFiles) {
      const pid = readPid(file);
      if (pid !== undefined) killPid(pid, 'SIGKILL');
    }
  });
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Alive and not a zombie (an orphan is reaped by whatever PID 1 is, which may be slow or never). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function stopPidFile(pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  livePidFiles.delete(pidFile);
  if (pid === undefined) return;
  killPid(pid, 'SIGTERM');
  for (let i = 0; i < 50 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (isRunning(pid)) killPid(pid, 'SIGKILL');
}

/**
 * Makes a running IdP check AuthnRequest signatures against every one of `certificatePems`, as an IdP
 * that read the SP's metadata during a key rollover does (both certificates listed). start.sh takes one
 * `--sp-signing-cert`; SimpleSAMLphp's remote SP metadata holds a `keys` list and tries each signing
 * key, and `php -S` reads that file per request, so the change applies at once. Needs spSigningCert.
 */
export async function trustSpSigningCertificates(idp: SimpleSamlPhpIdp, certificatePems: readonly string[]): Promise<void> {
  const file = join(idp.dir, 'metadata', 'saml20-sp-remote.php');
  const php = await readFile(file, 'utf8');
  const entry = /\['encryption' => false, 'signing' => true, 'type' => 'X509Certificate', 'X509Certificate' => '[A-Za-z0-9+/=]+'\], ?/g;
  if (!entry.test(php)) throw new Error('trustSpSigningCertificates: the IdP was started without spSigningCert');
  const entries = certificatePems.map((pem) => {
    const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/=]+$/.test(body)) throw new Error('trustSpSigningCertificates: not a PEM certificate');
    return `['encryption' => false, 'signing' => true, 'type' => 'X509Certificate', 'X509Certificate' => '${body}'],`;
  });
  // The first signing entry becomes the new list; any others (an earlier call's) go.
  let first = true;
  const replaced = php.replace(entry, () => (first ? ((first = false), `${entries.join(' ')} `) : ''));
  await writeFile(file, replaced);
}
