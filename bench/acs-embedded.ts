/**
 * Part 6 (`acs-embedded`, issue 19): ACS posts per second on the default a new user gets (`npm
 * start` with no LANYARD_DATABASE_URL: the embedded PGlite database, one process), against
 * `@node-saml/node-saml` validating the same small response in-process on one core. Each ACS post
 * needs a login flow of its own (the ACS consumes it), so every post is a whole login batch by
 * batch as part 2 runs it; the ACS rate counts only the ACS requests' wall time, and the full
 * login rate of the same batches is given beside it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BoxRequest, PeerMessage } from './acs-peer-child.ts';
import { serverCpuMeter } from './cpu.ts';
import { httpClient, type HttpClient } from './http.ts';
import { lanyardStack, runLoginBatch, setUpLanyard, type BatchResult, type LoginStack } from './login.ts';
import { moduleOf, type CpuProfile } from './profile-summary.ts';
import { startServer, type ServerProcess } from './server.ts';
import { fmt, latency, median, table, type Latency } from './stats.ts';

export interface AcsEmbeddedConfig {
  readonly rounds: number;
  /** Logins per batch, i.e. ACS posts per round. */
  readonly posts: number;
  readonly warmup: number;
  readonly concurrency: number;
  /** node-saml's time box per round, and its warm-up. */
  readonly peerMs: number;
  readonly peerWarmupMs: number;
  /** Profile a second server (--cpu-prof) to tell how much of an ACS post is PGlite. */
  readonly profile: boolean;
}

interface Environment {
  readonly repoRoot: string;
  readonly benchDir: string;
  readonly entry: string | undefined;
  readonly logLevel: string;
  readonly log: (line: string) => void;
}

/** Where the server's busy time went during the ACS phase of the profiled run. */
export interface PgliteShare {
  readonly busyMs: number;
  /** PGlite's JavaScript and its WebAssembly (Postgres itself), as a share of the busy samples. */
  readonly pglite: number;
  readonly modules: readonly { module: string; share: number }[];
}

export interface AcsEmbeddedReport {
  readonly config: AcsEmbeddedConfig;
  readonly how: string;
  readonly pinned: string;
  readonly nodeSamlVersion: string;
  readonly responseBytes: number;
  readonly lanyard: readonly BatchResult[];
  readonly peer: readonly { perSec: number; perCpuSec: number }[];
  readonly peerLatency: Latency;
  readonly pglite: PgliteShare | string;
}

interface Peer {
  readonly pinned: string;
  readonly version: string;
  readonly responseBytes: number;
  box(ms: number): Promise<Extract<PeerMessage, { kind: 'box' }>>;
  stop(): void;
}

/** node-saml in its own process, pinned to the last CPU with taskset when it can be (as part 1). */
async function startPeer(env: Environment): Promise<Peer> {
  const cpu = String(availableParallelism() - 1);
  const canPin = process.env.BENCH_PIN !== '0' && spawnSync('taskset', ['-c', cpu, 'true']).status === 0;
  const nodeArgs = ['--expose-gc', '--import', 'tsx', join(env.benchDir, 'acs-peer-child.ts')];
  const [command, args] = canPin ? ['taskset', ['-c', cpu, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child: ChildProcess = spawn(command, args, { cwd: env.repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<PeerMessage>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the node-saml process exited (${code}); see above`));
      child.once('exit', onExit);
      child.once('message', (message: PeerMessage) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const ready = await next();
  if (ready.kind !== 'ready') throw new Error('the node-saml process did not start');
  return {
    pinned: canPin ? `pinned to CPU ${cpu} with taskset` : 'not pinned',
    version: ready.version,
    responseBytes: ready.responseBytes,
    async box(ms) {
      const answer = next();
      child.send({ ms } satisfies BoxRequest);
      const message = await answer;
      if (message.kind !== 'box') throw new Error('the node-saml process answered out of turn');
      return message;
    },
    stop: () => child.kill('SIGTERM'),
  };
}

interface EmbeddedServer {
  readonly server: ServerProcess;
  readonly stack: LoginStack;
  close(): Promise<void>;
}

/**
 * Lanyard as a new user starts it: no database URL, no secret key (it makes one in its data
 * directory), a scratch LANYARD_DATA_DIR removed afterwards; one application and one SAML
 * connection created through the API, the IdP signing the builder's small response.
 */
async function startEmbedded(env: Environment, cpuProfileDir?: string): Promise<EmbeddedServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lanyard-bench-embedded-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  // Also on Ctrl-C: the process's exit handlers run after the server was killed.
  process.once('exit', removeDir);
  let server: ServerProcess | undefined;
  let client: HttpClient | undefined;
  const close = async () => {
    client?.close();
    await server?.stop().catch(() => {});
    removeDir();
    process.off('exit', removeDir);
  };
  try {
    server = await startServer({
      repoRoot: env.repoRoot,
      entry: env.entry,
      databaseUrl: undefined,
      dataDir,
      logLevel: env.logLevel,
      ...(cpuProfileDir !== undefined ? { cpuProfileDir } : {}),
    });
    client = httpClient(server.url);
    const setup = await setUpLanyard(client, server.apiToken);
    const pid = server.pid;
    const stack = lanyardStack(
      client,
      setup,
      serverCpuMeter(() => pid),
      'lanyard (HTTP, embedded PGlite)',
      'builder',
    );
    return { server, stack, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The samples of `profile` inside `window` (monotonic µs), by package, PGlite's JavaScript and WebAssembly together. */
export function pgliteShare(profile: CpuProfile, window: readonly [number, number]): PgliteShare | string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const modules = new Map<string, number>();
  let busy = 0;
  let pglite = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < window[0] || t > window[1]) return;
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return;
    busy += dt;
    // Postgres itself is the WebAssembly; V8's JS-to-Wasm wrappers have no URL.
    const isPglite = url.includes('@electric-sql/pglite') || url.startsWith('wasm://') || /Wasm/.test(functionName);
    if (isPglite) pglite += dt;
    const module = isPglite ? 'PGlite (JS + WebAssembly)' : functionName.startsWith('(') ? functionName : moduleOf(url);
    modules.set(module, (modules.get(module) ?? 0) + dt);
  });
  if (busy === 0) return 'the profile holds no samples in the ACS phase';
  return {
    busyMs: busy / 1000,
    pglite: pglite / busy,
    modules: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([module, us]) => ({ module, share: us / busy })),
  };
}

/** A second embedded server under --cpu-prof, one batch, then the share of PGlite in its ACS phase. */
async function profileAcs(env: Environment, config: AcsEmbeddedConfig): Promise<PgliteShare | string> {
  const dir = mkdtempSync(join(tmpdir(), 'lanyard-bench-embedded-prof-'));
  try {
    const embedded = await startEmbedded(env, dir);
    let batch: BatchResult;
    try {
      await runLoginBatch(embedded.stack, config.warmup, config.concurrency);
      batch = await runLoginBatch(embedded.stack, config.posts, config.concurrency);
    } finally {
      // The profile is written when the server exits.
      await embedded.close();
    }
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (file === undefined) return 'the profiled server wrote no profile';
    return pgliteShare(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, batch.phaseWindowsUs.acs);
  } catch (error) {
    return `profiling failed: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Warm-up, then rounds alternating which of the server batch and node-saml's time box goes first. */
export async function runAcsEmbedded(env: Environment, config: AcsEmbeddedConfig): Promise<AcsEmbeddedReport> {
  // Ctrl-C: exit through the exit handlers, which kill the server and remove its data directory.
  const onSignal = () => process.exit(130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const embedded = await startEmbedded(env);
  let peer: Peer | undefined;
  try {
    env.log(`acs-embedded: server pid ${embedded.server.pid}, ${embedded.server.how}`);
    peer = await startPeer(env);
    await runLoginBatch(embedded.stack, config.warmup, config.concurrency);
    await peer.box(config.peerWarmupMs);
    const lanyard: BatchResult[] = [];
    const boxes: Extract<PeerMessage, { kind: 'box' }>[] = [];
    for (let round = 0; round < config.rounds; round++) {
      const runLanyard = async () => lanyard.push(await runLoginBatch(embedded.stack, config.posts, config.concurrency));
      const runPeer = async () => boxes.push(await peer!.box(config.peerMs));
      for (const run of round % 2 === 0 ? [runLanyard, runPeer] : [runPeer, runLanyard]) await run();
      const batch = lanyard.at(-1)!;
      const box = boxes.at(-1)!;
      env.log(
        `acs-embedded: round ${round + 1}/${config.rounds}  lanyard ACS ${Math.round(acsPerSec(batch))}/s (logins ${Math.round(batch.loginsPerSec)}/s), node-saml ${fmt((box.count / box.elapsedMs) * 1000, 1)}/s`,
      );
    }
    const { how } = embedded.server;
    await embedded.close();
    const pglite = config.profile ? await profileAcs(env, config) : 'not profiled (BENCH_ACS_PROFILE=0)';
    return {
      config,
      how,
      pinned: peer.pinned,
      nodeSamlVersion: peer.version,
      responseBytes: peer.responseBytes,
      lanyard,
      peer: boxes.map((b) => ({ perSec: (b.count / b.elapsedMs) * 1000, perCpuSec: (b.count / b.cpuMs) * 1000 })),
      peerLatency: latency(boxes.flatMap((b) => b.samples)),
      pglite,
    };
  } finally {
    peer?.stop();
    await embedded.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** ACS posts per second of a batch: its logins over the ACS phase's wall time alone. */
const acsPerSec = (batch: BatchResult) => (batch.logins / batch.phaseMs.acs) * 1000;

/** The section of the report, and Lanyard's ACS rate over node-saml's validation rate. */
export function acsEmbeddedSection(r: AcsEmbeddedReport, target: number): { text: string; ratio: number } {
  const cpu = (of: (b: BatchResult) => Record<string, number>) => {
    const user = median(r.lanyard.map((b) => of(b)['server user'] ?? 0));
    const sys = median(r.lanyard.map((b) => of(b)['server sys'] ?? 0));
    return `${fmt(user, 2)} user + ${fmt(sys, 2)} sys`;
  };
  const acsRate = median(r.lanyard.map(acsPerSec));
  const peerRate = median(r.peer.map((p) => p.perSec));
  const ratio = acsRate / peerRate;
  const acsLatency = latency(r.lanyard.flatMap((b) => b.phaseSamples.acs));
  const loginLatency = latency(r.lanyard.flatMap((b) => b.loginSamples));
  const c = r.config.concurrency;
  const rows = [
    [
      'Lanyard ACS post (HTTP, embedded PGlite)',
      `ACS requests only: ${r.config.posts} posts ÷ the ACS phase's wall time, concurrency ${c}`,
      fmt(acsRate),
      `${fmt(acsLatency.p50, 2)} / ${fmt(acsLatency.p99, 2)}`,
      `${cpu((b) => b.phaseCpuMsPerLogin.acs)} per ACS post`,
    ],
    [
      'Lanyard full login (same batches)',
      `authorize + ACS + token + userinfo: ${r.config.posts} logins ÷ the four phases' wall time`,
      fmt(median(r.lanyard.map((b) => b.loginsPerSec))),
      `${fmt(loginLatency.p50, 2)} / ${fmt(loginLatency.p99, 2)} (the four requests)`,
      `${cpu((b) => b.cpuMsPerLogin)} per login`,
    ],
    [
      `node-saml ${r.nodeSamlVersion} validatePostResponseAsync`,
      `in-process, one core (${r.pinned}), back-to-back for ${r.config.peerMs} ms per round`,
      fmt(peerRate, 1),
      `${fmt(r.peerLatency.p50, 2)} / ${fmt(r.peerLatency.p99, 2)}`,
      `${fmt(1000 / median(r.peer.map((p) => p.perCpuSec)), 2)} per validation`,
    ],
  ];
  const lines = [
    `## 6. ACS posts on the embedded database (issue 19; ${r.config.rounds} interleaved rounds of ${r.config.posts} logins, against node-saml's time boxes)`,
    `server: ${r.how}, a scratch LANYARD_DATA_DIR, no LANYARD_DATABASE_URL or LANYARD_SECRET_KEY (as npm start for a new user); LANYARD_RATE_LIMIT_MAX raised as in part 2`,
    `response: the test builder's two attributes (mail, groups), ${r.responseBytes} B, assertion-signed; every post answers a login flow of its own (authorize, untimed signing, ACS; then token and userinfo)`,
    `The server and this load generator share the machine's ${availableParallelism()} CPUs; node-saml runs on one core with nothing else in that process.`,
    '',
    table(['stack', 'what is counted', 'per second (median)', 'p50 / p99 ms', 'server CPU ms (median)'], rows),
    '',
    `Lanyard ACS posts/s ÷ node-saml validations/s: **${fmt(ratio, 2)}×** (target ≥ ${target}×: ${ratio >= target ? 'held' : 'missed'})`,
  ];
  lines.push('', pgliteText(r.pglite));
  return { text: lines.join('\n'), ratio };
}

function pgliteText(share: PgliteShare | string): string {
  if (typeof share === 'string') return `How much of an ACS post is PGlite: ${share}.`;
  return [
    `How much of an ACS post is PGlite: ${fmt(share.pglite * 100, 1)}% of the server's busy samples during the ACS phase of a second, profiled server (--cpu-prof, ${fmt(share.busyMs, 0)} ms busy; garbage collection is not attributed to anyone):`,
    '',
    table(
      ['where (self time)', 'share of busy'],
      share.modules.map((m) => [m.module, `${fmt(m.share * 100, 1)}%`]),
    ),
  ].join('\n');
}
