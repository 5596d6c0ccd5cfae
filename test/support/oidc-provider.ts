// Starts a real OpenID Connect provider (panva/oidc-provider) from ../shared/idp/oidc-provider on loopback.
// ../shared is read-only, so its start script cannot `npm install` next to itself: start.mjs and
// package.json are copied into node_modules/.cache/lanyard-oidc-provider/<content hash>/, installed
// there once, and run from there.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { freePort } from './environment.ts';
import { startLanyard, type ListeningLanyard } from './lanyard-server.ts';
import { repoRoot, sharedDir } from './repo.ts';
import { followRedirects, parseForms, submitForm, type CookieJar } from './saml-idp-driver.ts';

/** The shared provider's folder (read-only). */
export const oidcProviderSource: string = join(sharedDir, 'idp', 'oidc-provider');

/** Where installed copies of the provider are cached, one folder per content hash of its two files. */
export const oidcProviderCacheRoot: string = join(repoRoot, 'node_modules', '.cache', 'lanyard-oidc-provider');

export interface OidcProviderOptions {
  /** Loopback port; a free one is picked when omitted. */
  port?: number;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** How long to wait for the provider's ready line (default 20 s; the npm install, if due, is not counted). */
  timeoutMs?: number;
}

export interface OidcProvider {
  /** `http://127.0.0.1:<port>` */
  issuer: string;
  discoveryUrl: string;
  clientId: string;
  clientSecret: string;
  /** Stops the provider (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

/** Whether startOidcProvider can work here, and if not, why (for requireOrSkip). */
export function oidcProviderAvailability(): { available: boolean; reason: string } {
  const missing = ['start.mjs', 'package.json'].filter((file) => !existsSync(join(oidcProviderSource, file)));
  return missing.length === 0
    ? { available: true, reason: '' }
    : { available: false, reason: `${missing.join(', ')} missing in ${oidcProviderSource} (../shared is not beside the repository)` };
}

let preparing: Promise<string> | undefined;

/**
 * Installs the provider into the cache unless an install of the same start.mjs and package.json is
 * already there; returns the folder to run it from. Safe to call concurrently, also across processes.
 */
export function prepareOidcProvider(): Promise<string> {
  preparing ??= installIntoCache().catch((error: unknown) => {
    preparing = undefined;
    throw error;
  });
  return preparing;
}

async function installIntoCache(): Promise<string> {
  const files = {
    'start.mjs': await readFile(join(oidcProviderSource, 'start.mjs')),
    'package.json': await readFile(join(oidcProviderSource, 'package.json')),
  };
  const hash = createHash('sha256').update(files['start.mjs']).update('\0').update(files['package.json']).digest('hex').slice(0, 16);
  const dir = join(oidcProviderCacheRoot, hash);
  if (existsSync(join(dir, 'node_modules', 'oidc-provider', 'package.json'))) return dir;
  // Install into a private folder and rename it into place, so that parallel test processes never
  // see (or run from) a half-done install; the first rename wins and the others are dropped.
  const staging = join(oidcProviderCacheRoot, `.staging-${hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(staging, name), content);
    await npmInstall(staging);
    try {
      await rename(staging, dir);
    } catch (error) {
      if (!existsSync(join(dir, 'node_modules', 'oidc-provider', 'package.json'))) throw error;
    }
    return dir;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function npmInstall(dir: string): Promise<void> {
  // Under `npm test`, npm exports its own settings (prefix, package, lifecycle) to the environment;
  // drop those so this install stays in `dir` and does not touch the repository.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^npm_(package_|lifecycle_|config_(local_prefix|prefix|global|location|workspaces?|include_workspace_root)$)/i.test(key),
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`npm install of the test OpenID provider could not start: ${String(error)}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`npm install of the test OpenID provider in ${dir} failed (${signal ?? code}):\n${output}`));
    });
  });
}

/** Installs (once) and starts the provider; resolves when it prints its ready line. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  if (options.redirectUris.length === 0) throw new Error('startOidcProvider: at least one redirect URI is required');
  const dir = await prepareOidcProvider();
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnce(dir, port, options);
    } catch (error) {
      // A port picked by freePort can be taken by someone else before the provider binds it.
      if (attempt >= attempts || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

/**
 * The start script's arguments, each as one `--name=value` word: with `--name value`, util.parseArgs
 * refuses a value that begins with `-` (a random client secret does, one time in 32) as a missing
 * argument, and the provider never starts.
 */
export function providerArguments(
  port: number,
  options: Pick<OidcProviderOptions, 'clientId' | 'clientSecret' | 'redirectUris'>,
): string[] {
  return [
    `--port=${port}`,
    `--client-id=${options.clientId}`,
    `--client-secret=${options.clientSecret}`,
    ...options.redirectUris.map((uri) => `--redirect-uri=${uri}`),
  ];
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A child is not ended with its parent: kill leftovers if the test process exits without stop().
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  });
}

function startOnce(dir: string, port: number, options: OidcProviderOptions): Promise<OidcProvider> {
  const args = [join(dir, 'start.mjs'), ...providerArguments(port, options)];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise<OidcProvider>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`oidc-provider ${why}\n--- stderr ---\n${stderr}`)));
    };
    const timer = setTimeout(() => fail(`printed no ready line within ${timeoutMs} ms`), timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (settled) return;
      let ready: { issuer?: unknown; discoveryUrl?: unknown } | undefined;
      try {
        ready = JSON.parse(line) as typeof ready;
      } catch {
        return; // not the ready line
      }
      if (typeof ready?.issuer !== 'string' || typeof ready.discoveryUrl !== 'string') return;
      settled = true;
      clearTimeout(timer);
      resolve({
        issuer: ready.issuer,
        discoveryUrl: ready.discoveryUrl,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        stop,
      });
    });
    child.once('error', (error) => fail(`could not start: ${String(error)}`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
  });
}

/**
 * The browser from `url` (an authorization URL) through oidc-provider's login and consent pages,
 * signing in as `user` with any password, until a redirect goes to the app's `appRedirectUri`: that URL.
 * Fails when a page is not one of the provider's interactions, or after five pages.
 */
export async function passOidcProviderPages(
  jar: CookieJar,
  url: string | URL,
  idp: Pick<OidcProvider, 'issuer'>,
  user: string,
  appRedirectUri: string,
): Promise<string> {
  const stopAt = (target: URL) => target.href.startsWith(appRedirectUri);
  let step = await followRedirects(jar, url, {}, { stopAt });
  for (let pages = 0; step.stoppedAt === undefined; pages++) {
    assert.ok(
      pages < 5 && step.url.startsWith(`${idp.issuer}/interaction/`),
      `stuck at ${step.url} (HTTP ${step.response.status}):\n${step.body.slice(0, 2000)}`,
    );
    const form = parseForms(step.body, step.url)[0]!;
    step = await submitForm(jar, form, 'login' in form.fields ? { login: user, password: 'any' } : {}, { stopAt });
  }
  return step.stoppedAt;
}

/** What {@link lanyardAndOidcProvider} gives a suite. */
export interface LanyardAndOidcProvider {
  /** The listening Lanyard, there once the suite's `before` hook has run. */
  readonly lanyard: ListeningLanyard;
  /** Starts oidc-provider (once a test knows it can run here); it is stopped after the suite. */
  startIdp(options: OidcProviderOptions): Promise<OidcProvider>;
}

/** For a suite against oidc-provider: a Lanyard started before it; it and the provider a test started are stopped after it. */
export function lanyardAndOidcProvider(): LanyardAndOidcProvider {
  let lanyard: ListeningLanyard | undefined;
  let idp: OidcProvider | undefined;
  before(async () => {
    lanyard = await startLanyard();
  });
  after(async () => {
    await idp?.stop();
    await lanyard?.close();
  });
  return {
    get lanyard() {
      assert.ok(lanyard, 'Lanyard is there only in tests, after the suite started it');
      return lanyard;
    },
    startIdp: async (options) => (idp = await startOidcProvider(options)),
  };
}
