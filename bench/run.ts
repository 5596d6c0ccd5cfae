/**
 * `npm run bench`: every part in one run, printing medians, p50/p99, ratios and whether each target
 * holds. See bench/README.md for what each part measures and how; the environment variables below
 * set the round counts (BENCH_QUICK=1 for a short run).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Db } from '../src/storage/database.ts';
import { acsEmbeddedSection, runAcsEmbedded, type AcsEmbeddedConfig } from './acs-embedded.ts';
import { childPids, serverCpuMeter } from './cpu.ts';
import { commitLatency, measurePhaseCosts, sampleWaits } from './db-stats.ts';
import { ensureConnections, openBenchDatabase, runGrowth, type GrowthEnvironment, type GrowthLevel } from './growth.ts';
import type { HttpClient } from './http.ts';
import { httpClient } from './http.ts';
import { startJackson } from './jackson.ts';
import {
  lanyardStack,
  NotMeasurable,
  phaseLatencies,
  PHASES,
  runLoginBatch,
  setUpLanyard,
  type BatchResult,
  type LanyardSetup,
  type LoginStack,
} from './login.ts';
import { runManagement, type ApiResult } from './management.ts';
import { formatSummary, summarise } from './profile-summary.ts';
import { buildServer, createScratchDatabase, startServer, type ScratchDatabase, type ServerProcess, type StartOptions } from './server.ts';
import { envInt, fmt, median, table } from './stats.ts';
import type { ValidationConfig, ValidationReport } from './validation.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(benchDir);
const quick = process.env.BENCH_QUICK === '1';
const only = new Set((process.env.BENCH_ONLY ?? 'validation,login,growth,api,acs-embedded').split(',').map((s) => s.trim()));
const profile = process.env.BENCH_PROFILE === '1';

const config = {
  validation: {
    rounds: envInt('BENCH_VALIDATION_ROUNDS', 12, 3),
    roundMs: envInt('BENCH_VALIDATION_ROUND_MS', 500, 200),
    warmupMs: envInt('BENCH_VALIDATION_WARMUP_MS', 2000, 500),
    poolSize: 8,
  } satisfies ValidationConfig,
  login: {
    rounds: envInt('BENCH_LOGIN_ROUNDS', 4, 2),
    logins: envInt('BENCH_LOGINS', 128, 48),
    warmup: envInt('BENCH_LOGIN_WARMUP', 64, 16),
    concurrencies: (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number),
  },
  growth: {
    levels: (process.env.BENCH_GROWTH_LEVELS ?? '10,10000,100000')
      .split(',')
      .map(Number)
      .sort((a, b) => a - b),
    rounds: envInt('BENCH_GROWTH_ROUNDS', 5, 2),
    loginsPerRound: envInt('BENCH_GROWTH_LOGINS', 40, 20),
    warmup: envInt('BENCH_GROWTH_WARMUP', 20, 8),
  },
  api: {
    rounds: envInt('BENCH_API_ROUNDS', 3, 1),
    seconds: envInt('BENCH_API_SECONDS', 5, 2),
    connections: envInt('BENCH_API_CONNECTIONS', 8, 8),
  },
  /** LANYARD_WORKERS of part 2's cluster stack; 0 or 1 leaves the stack out. */
  workers: benchWorkers(process.env.BENCH_WORKERS),
  acsEmbedded: {
    rounds: envInt('BENCH_ACS_ROUNDS', 5, 2),
    posts: envInt('BENCH_ACS_POSTS', 256, 64),
    warmup: envInt('BENCH_ACS_WARMUP', 64, 16),
    concurrency: envInt('BENCH_ACS_CONCURRENCY', 8, 8),
    peerMs: envInt('BENCH_ACS_PEER_MS', 2000, 500),
    peerWarmupMs: envInt('BENCH_ACS_PEER_WARMUP_MS', 2000, 500),
    profile: process.env.BENCH_ACS_PROFILE !== '0',
  } satisfies AcsEmbeddedConfig,
  diagnosticLogins: envInt('BENCH_DIAGNOSTIC_LOGINS', 20, 10),
  asyncCommit: process.env.BENCH_ASYNC_COMMIT !== '0',
  pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
};

const log = (line: string) => process.stdout.write(`${line}\n`);

/** BENCH_WORKERS: a count (default 2; 0 or 1 for no cluster stack) or `auto`, one per CPU as LANYARD_WORKERS=auto. */
function benchWorkers(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 2;
  if (raw === 'auto') return availableParallelism();
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 64) throw new Error(`BENCH_WORKERS must be 0 to 64 or auto, not "${raw}"`);
  return value;
}
/** Issue 19's targets (the login's ratio and CPU at concurrency 8 and above), and issue 7's kept ones. */
const TARGETS = {
  validation: 50,
  login: 5,
  loginFromConcurrency: 8,
  serverCpuMs: 2,
  postgresCpuMs: 1.2,
  growth: 1.3,
  rssMiB: 250,
  acsEmbedded: 3,
};

interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly status: 'holds' | 'MISSED' | 'not measurable yet' | 'not run';
}

// ---------------------------------------------------------------------------------------------

function machine(): Record<string, string> {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  return {
    date: new Date().toISOString().slice(0, 10),
    nproc: String(availableParallelism()),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
  };
}

/** Part 1 runs in a child pinned to one CPU (taskset), with --expose-gc, and --cpu-prof when BENCH_PROFILE=1. */
async function runValidationPart(): Promise<{ report: ValidationReport; pinned: string; profileFile?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lanyard-bench-'));
  const out = join(dir, 'validation.json');
  const cpu = String(availableParallelism() - 1);
  const canPin = process.env.BENCH_PIN !== '0' && spawnSync('taskset', ['-c', cpu, 'true']).status === 0;
  const nodeArgs = [
    '--expose-gc',
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []),
    '--import',
    'tsx',
    join(benchDir, 'validation-child.ts'),
    out,
    JSON.stringify(config.validation),
  ];
  const [command, args] = canPin ? ['taskset', ['-c', cpu, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const code = await new Promise<number | null>((resolve) =>
    spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] }).once('exit', resolve),
  );
  if (code !== 0) throw new Error(`the validation part failed (exit ${code}); see above`);
  const report = JSON.parse(readFileSync(out, 'utf8')) as ValidationReport;
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  const profileFile = profiles.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (profileFile === undefined) rmSync(dir, { recursive: true, force: true });
  return { report, pinned: canPin ? `pinned to CPU ${cpu} with taskset` : 'not pinned', ...(profileFile ? { profileFile } : {}) };
}

/** BENCH_PROFILE=1: Lanyard's verifier alone under --cpu-prof, pinned like part 1, summarised. */
async function profileVerifierAlone(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lanyard-bench-verify-'));
  const cpu = String(availableParallelism() - 1);
  const canPin = process.env.BENCH_PIN !== '0' && spawnSync('taskset', ['-c', cpu, 'true']).status === 0;
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', join(benchDir, 'profile-verify.ts'), '8'];
  const child = spawnSync(canPin ? 'taskset' : process.execPath, canPin ? ['-c', cpu, process.execPath, ...nodeArgs] : nodeArgs, {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (child.status !== 0 || file === undefined) return `(profiling the verifier alone failed: ${child.stderr.slice(0, 300)})`;
  const names = [
    'verifySamlResponse',
    'openResponse',
    'parseXml',
    'parseFromString',
    'indexDocument',
    'readOwnSignature',
    'verifySignature',
    'canonicalize',
    'rsaVerifies',
    'checkResponseFields',
    'readVerifiedAssertion',
    'decodeBase64',
  ];
  return `### CPU profile of Lanyard's verifier alone (${file})\n\n${child.stdout.trim()}\n\n${formatSummary(summarise(JSON.parse(readFileSync(file, 'utf8')), 25, names))}`;
}

function validationSection(v: ValidationReport, pinned: string): { text: string; verdict: Verdict } {
  const rows: string[][] = [];
  for (const variant of ['assertion', 'response'] as const) {
    for (const stack of ['lanyard', 'node-saml', 'saml20'] as const) {
      const r = v.results[variant][stack];
      const ratio = stack === 'lanyard' ? `${fmt(v.ratios[variant].ratio, 1)}× (CPU-time ${fmt(v.ratios[variant].cpuRatio, 1)}×)` : '';
      rows.push([
        `${variant}-signed`,
        stack,
        fmt(r.opsPerSecMedian),
        fmt(r.opsPerCpuSecMedian),
        fmt(r.latencyMs.p50, 3),
        fmt(r.latencyMs.p99, 3),
        ratio,
      ]);
    }
  }
  const worst = Math.min(v.ratios.assertion.ratio, v.ratios.response.ratio);
  const text = [
    `## 1. SAML Response validation, one core (${pinned}; ${v.config.rounds} interleaved rounds of ${v.config.roundMs} ms per stack)`,
    `responses: ${v.responseBytes.assertion} B (assertion-signed), ${v.responseBytes.response} B (response-signed); RSA-2048, rsa-sha256, sha256, 8 attributes`,
    `peers: @node-saml/node-saml ${v.versions['@node-saml/node-saml']}, @boxyhq/saml20 ${v.versions['@boxyhq/saml20']}`,
    '',
    table(['response', 'stack', 'validations/s (median)', 'per CPU-second', 'p50 ms', 'p99 ms', 'Lanyard ÷ faster peer'], rows),
  ].join('\n');
  return {
    text,
    verdict: {
      target: `validation ≥ ${TARGETS.validation}× the faster peer`,
      measured: `${fmt(v.ratios.assertion.ratio, 1)}× (assertion-signed), ${fmt(v.ratios.response.ratio, 1)}× (response-signed); CPU-time ${fmt(v.ratios.assertion.cpuRatio, 1)}× and ${fmt(v.ratios.response.cpuRatio, 1)}×`,
      status: worst >= TARGETS.validation ? 'holds' : 'MISSED',
    },
  };
}

interface LoginOutcome {
  readonly batches: Map<string, Map<number, BatchResult[]>>;
  readonly stacks: string[];
  readonly rounds: number;
}

/** A stack's name in the progress lines. */
function shortName(name: string): string {
  if (name.includes('synchronous_commit=off')) return 'lanyard-async';
  if (name.includes('LANYARD_WORKERS')) return 'lanyard-workers';
  return name.split(' ')[0]!;
}

async function runLoginRounds(stacks: LoginStack[], rounds: number, label: string): Promise<LoginOutcome> {
  const batches = new Map(stacks.map((s) => [s.name, new Map(config.login.concurrencies.map((c) => [c, [] as BatchResult[]]))]));
  for (const stack of stacks) await runLoginBatch(stack, config.login.warmup, 8);
  for (let round = 0; round < rounds; round++) {
    const parts: string[] = [];
    for (const concurrency of config.login.concurrencies) {
      // Rotate which stack goes first, round by round.
      const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]!);
      for (const stack of order) {
        const batch = await runLoginBatch(stack, config.login.logins, concurrency);
        batches.get(stack.name)!.get(concurrency)!.push(batch);
        parts.push(`${shortName(stack.name)}@${concurrency} ${Math.round(batch.loginsPerSec)}/s`);
      }
    }
    log(`${label}: round ${round + 1}/${rounds}  ${parts.join(', ')}`);
  }
  return { batches, stacks: stacks.map((s) => s.name), rounds };
}

/** Median over batches of the CPU each component spent per login, e.g. "server 4.1 + postgres 2.0". */
function cpuPerLogin(batches: readonly BatchResult[]): string {
  const components = [...new Set(batches.flatMap((b) => Object.keys(b.cpuMsPerLogin)))];
  return components.map((c) => `${c} ${fmt(median(batches.map((b) => b.cpuMsPerLogin[c] ?? 0)), 1)}`).join(' + ') || '—';
}

function loginSection(
  outcome: LoginOutcome,
  lanyardName: string | undefined,
  jacksonName: string,
  reason: string | undefined,
): { text: string; verdicts: Verdict[] } {
  const rows: string[][] = [];
  const ratios: number[] = [];
  const cpu: { concurrency: number; server: number; postgres: number }[] = [];
  for (const concurrency of config.login.concurrencies) {
    const jacksonRate = median(
      outcome.batches
        .get(jacksonName)
        ?.get(concurrency)
        ?.map((b) => b.loginsPerSec) ?? [],
    );
    for (const name of outcome.stacks) {
      const batches = outcome.batches.get(name)!.get(concurrency)!;
      const rate = median(batches.map((b) => b.loginsPerSec));
      const lat = phaseLatencies(batches);
      const ratio = name.startsWith('lanyard') ? rate / jacksonRate : Number.NaN;
      if (name === lanyardName) {
        ratios.push(ratio);
        const of = (key: string) => median(batches.map((b) => b.cpuMsPerLogin[key] ?? 0));
        cpu.push({ concurrency, server: of('server user') + of('server sys'), postgres: of('postgres') });
      }
      const ratioText = name === lanyardName ? `${fmt(ratio, 1)}×` : name.startsWith('lanyard') ? `(${fmt(ratio, 1)}×)` : '';
      rows.push([
        String(concurrency),
        name,
        fmt(rate),
        ...PHASES.map((p) => `${fmt(lat[p].p50, 2)} / ${fmt(lat[p].p99, 2)}`),
        cpuPerLogin(batches),
        ratioText,
      ]);
    }
  }
  const header = `## 2. Full login (authorize → ACS → token → userinfo; ${outcome.rounds} interleaved rounds of ${config.login.logins} logins per stack and concurrency)`;
  const note = [
    'logins/s = logins ÷ summed wall time of the four phases; the IdP signs each response between the authorize and ACS phases, off the clock (its InResponseTo is the random AuthnRequest ID).',
    'CPU ms per login: Lanyard = its server process (user and system time) + the PostgreSQL backends serving it (/proc), during the timed phases; Jackson = the benchmark process during its phases.',
  ].join('\n');
  const lines = [header, note];
  if (reason !== undefined) lines.push('', `full login: not measurable yet: ${reason}`, '(Jackson alone, for reference:)');
  lines.push(
    '',
    table(
      ['concurrency', 'stack', 'logins/s (median)', ...PHASES.map((p) => `${p} p50 / p99 ms`), 'CPU ms per login', 'Lanyard ÷ Jackson'],
      rows,
    ),
  );
  const from = TARGETS.loginFromConcurrency;
  const target = `full login ≥ ${TARGETS.login}× Jackson at concurrency ${from} and above`;
  const cpuTarget = `server CPU ≤ ${TARGETS.serverCpuMs} ms and PostgreSQL CPU ≤ ${TARGETS.postgresCpuMs} ms per login, concurrency ${from} and above`;
  if (reason !== undefined || ratios.length === 0) {
    const status = reason !== undefined ? 'not measurable yet' : 'not run';
    return { text: lines.join('\n'), verdicts: [target, cpuTarget].map((t) => ({ target: t, measured: reason ?? 'not run', status })) };
  }
  const judged = config.login.concurrencies.map((c, i) => ({ c, ratio: ratios[i]!, ...cpu[i]! })).filter((r) => r.c >= from);
  return {
    text: lines.join('\n'),
    verdicts: [
      {
        target,
        measured: config.login.concurrencies.map((c, i) => `${fmt(ratios[i]!, 1)}× at ${c}`).join(', '),
        status: judged.length > 0 && judged.every((r) => r.ratio >= TARGETS.login) ? 'holds' : 'MISSED',
      },
      {
        target: cpuTarget,
        measured: judged.map((r) => `${fmt(r.server, 1)} / ${fmt(r.postgres, 1)} ms at ${r.c}`).join(', '),
        status:
          judged.length > 0 && judged.every((r) => r.server <= TARGETS.serverCpuMs && r.postgres <= TARGETS.postgresCpuMs)
            ? 'holds'
            : 'MISSED',
      },
    ],
  };
}

/** The cluster stack against the single process and Jackson, per concurrency, with the CPU of both per login. */
function workersSection(outcome: LoginOutcome, singleName: string, workersName: string, jacksonName: string): string {
  const rate = (name: string, c: number) =>
    median(
      outcome.batches
        .get(name)
        ?.get(c)
        ?.map((b) => b.loginsPerSec) ?? [],
    );
  const cpu = (name: string, c: number, component: string) =>
    median(
      outcome.batches
        .get(name)
        ?.get(c)
        ?.map((b) => b.cpuMsPerLogin[component] ?? 0) ?? [],
    );
  const serverCpu = (name: string, c: number) => cpu(name, c, 'server user') + cpu(name, c, 'server sys');
  const rows = config.login.concurrencies.map((c) => [
    String(c),
    fmt(rate(singleName, c)),
    fmt(rate(workersName, c)),
    `${fmt(rate(workersName, c) / rate(singleName, c), 2)}×`,
    `${fmt(rate(workersName, c) / rate(jacksonName, c), 1)}×`,
    `${fmt(serverCpu(singleName, c), 1)} → ${fmt(serverCpu(workersName, c), 1)}`,
    `${fmt(cpu(singleName, c, 'postgres'), 1)} → ${fmt(cpu(workersName, c, 'postgres'), 1)}`,
  ]);
  return [
    `### LANYARD_WORKERS=${config.workers} against the single process (same rounds as the table above)`,
    `The machine has ${availableParallelism()} CPUs, shared by the server (supervisor + ${config.workers} workers), PostgreSQL and the load generator (this process, which also runs Jackson's rounds): more workers than free CPUs cannot scale, and the benchmark's own client takes CPU from them.`,
    'Server CPU is summed over the supervisor and all its children (/proc/<pid>/stat of each), pid by pid; at concurrency 1 the keep-alive client reuses one connection, so mostly one worker serves.',
    '',
    table(
      [
        'concurrency',
        'single logins/s',
        `${config.workers} workers logins/s`,
        'workers ÷ single',
        'workers ÷ Jackson',
        'server CPU ms per login (single → workers)',
        'PostgreSQL CPU ms per login (single → workers)',
      ],
      rows,
    ),
  ].join('\n');
}

function growthSection(levels: GrowthLevel[]): { text: string; verdict: Verdict } {
  const base = levels[0]!;
  const largest = levels.at(-1)!;
  const rows = levels.map((l) => [
    l.connections.toLocaleString('en-US'),
    `${fmt(l.acs.p50, 2)} / ${fmt(l.acs.p99, 2)}`,
    `${fmt(l.login.p50, 2)} / ${fmt(l.login.p99, 2)}`,
    `${fmt(l.acs.p50 / base.acs.p50, 2)}× / ${fmt(l.login.p50 / base.login.p50, 2)}×`,
    l.fillMs > 0 ? `${fmt(l.fillMs / 1000, 1)} s` : '',
  ]);
  const acsRatio = largest.acs.p50 / base.acs.p50;
  const loginRatio = largest.login.p50 / base.login.p50;
  return {
    text: [
      `## 4. Cost growth (concurrency 1; one server and database per level; ${config.growth.rounds} interleaved rounds of ${config.growth.loginsPerRound} logins per level)`,
      '',
      table(
        [
          'connections stored',
          'ACS p50 / p99 ms',
          'login p50 / p99 ms',
          `p50 ÷ at ${base.connections} (ACS / login)`,
          'bulk insert + vacuum',
        ],
        rows,
      ),
    ].join('\n'),
    verdict: {
      target: `latency at ${largest.connections.toLocaleString('en-US')} connections ≤ ${TARGETS.growth}× at ${base.connections}`,
      measured: `${fmt(acsRatio, 2)}× (ACS), ${fmt(loginRatio, 2)}× (login)`,
      status: Math.max(acsRatio, loginRatio) <= TARGETS.growth ? 'holds' : 'MISSED',
    },
  };
}

function managementSection(results: ApiResult[]): string {
  return [
    `## 3. Management API (autocannon, ${config.api.connections} connections, ${config.api.rounds} interleaved rounds of ${config.api.seconds} s)`,
    '',
    table(
      ['operation', 'requests/s (median, 2xx only)', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'],
      results.map((r) => [
        r.operation === 'create' ? 'POST /v1/connections' : 'GET /v1/connections/{id}',
        fmt(r.requestsPerSecMedian),
        fmt(r.p50Ms, 1),
        fmt(r.p99Ms, 1),
        String(r.non2xx),
        String(r.errors),
      ]),
    ),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const m = machine();
  const sections: string[] = [];
  const verdicts: Verdict[] = [];
  log(`Lanyard benchmark ${quick ? '(quick mode) ' : ''}· ${m.date} · ${m.nproc} CPUs, ${m.cpu}, ${m.memory}, Node ${m.node}`);

  if (only.has('validation')) {
    const { report, pinned, profileFile } = await runValidationPart();
    const section = validationSection(report, pinned);
    sections.push(section.text);
    verdicts.push(section.verdict);
    if (profileFile !== undefined) {
      const names = [
        'verifySamlResponse',
        'parseXml',
        'validatePostResponseAsync',
        'validate',
        'getVerifiedXml',
        'checkSignature',
        'parseFromString',
        'parseStringPromise',
        'select',
      ];
      const summary = formatSummary(summarise(JSON.parse(readFileSync(profileFile, 'utf8')), 20, names));
      sections.push(`### CPU profile of part 1, all three stacks in turn (${profileFile})\n\n${summary}`);
      sections.push(await profileVerifierAlone());
    }
  } else verdicts.push({ target: `validation ≥ ${TARGETS.validation}× the faster peer`, measured: '', status: 'not run' });

  // Part 6 runs before the PostgreSQL parts; its section is printed after theirs, in the order of the numbers.
  let built: { entry: string | undefined } | undefined;
  const build = () => (built ??= { entry: buildServer(repoRoot, log) }).entry;
  const tail: string[] = [];
  if (only.has('acs-embedded')) {
    const result = await runAcsEmbedded({ repoRoot, benchDir, entry: build(), logLevel: config.logLevel, log }, config.acsEmbedded);
    const section = acsEmbeddedSection(result, TARGETS.acsEmbedded);
    tail.push(section.text);
    verdicts.push({
      target: `ACS posts/s on the embedded default ≥ ${TARGETS.acsEmbedded}× node-saml validations/s in-process`,
      measured: `${fmt(section.ratio, 2)}×`,
      status: section.ratio >= TARGETS.acsEmbedded ? 'holds' : 'MISSED',
    });
  }

  if (!(only.has('login') || only.has('growth') || only.has('api'))) return report(m, [...sections, ...tail], verdicts);

  let scratch: ScratchDatabase | undefined;
  let server: ServerProcess | undefined;
  let bench: { db: Db; close(): Promise<void> } | undefined;
  let serverProfileDir: string | undefined;
  const extras: ExtraLevel[] = [];
  const cleanUp = async () => {
    for (const extra of extras.splice(0)) await extra.close().catch(() => {});
    await server?.stop().catch(() => {});
    await bench?.close().catch(() => {});
    await scratch?.drop().catch((error: Error) => log(`could not drop the scratch database: ${error.message}`));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the server and dropping the scratch database`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    scratch = await createScratchDatabase(config.pgUrl);
    log(`server: scratch database ${scratch.name}`);
    bench = await openBenchDatabase(scratch.url);
    const entry = build();
    serverProfileDir = profile ? mkdtempSync(join(tmpdir(), 'lanyard-bench-server-')) : undefined;
    const startOptions: StartOptions = {
      repoRoot,
      entry,
      databaseUrl: scratch.url,
      logLevel: config.logLevel,
      ...(serverProfileDir ? { cpuProfileDir: serverProfileDir } : {}),
    };
    server = await startServer(startOptions);
    const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(bench.db)).rows[0]?.v ?? '?';
    log(`server: pid ${server.pid}, ${server.how}, PostgreSQL ${pgVersion}, log level ${config.logLevel}`);
    m.postgres = pgVersion;
    const client = httpClient(server.url);

    // Setup through the API; what is missing decides what can be measured.
    let setup: LanyardSetup | undefined;
    let setupReason: string | undefined;
    try {
      setup = await setUpLanyard(client, server.apiToken);
    } catch (error) {
      // A route still missing, or a contract that changed under the benchmark: report it, measure the rest.
      setupReason =
        error instanceof NotMeasurable ? error.message : `setting up through the API failed: ${(error as Error).message.split('\n')[0]}`;
    }
    let loginReason = setupReason;
    let lanyard: LoginStack | undefined;
    if (setup !== undefined) {
      await ensureConnections(bench.db, Math.min(...config.growth.levels), setup.connection.id);
      const serverPid = server.pid;
      lanyard = lanyardStack(
        client,
        setup,
        serverCpuMeter(() => server?.pid ?? serverPid, scratch.name),
      );
      try {
        await runLoginBatch(lanyard, 2, 1);
      } catch (error) {
        loginReason = error instanceof NotMeasurable ? error.message : `the login fails: ${(error as Error).message.split('\n')[0]}`;
        lanyard = undefined;
      }
    }

    if (only.has('login')) {
      const jackson = await startJackson();
      // Diagnostic beside them: the same server over a database with synchronous_commit = off.
      let asyncCommit: LoginStack | undefined;
      if (lanyard && config.asyncCommit) {
        const env = await startExtraLevel(Math.min(...config.growth.levels), startOptions, extras, { asyncCommit: true });
        asyncCommit = env.stack;
      }
      // The same server as a supervisor with LANYARD_WORKERS workers, over a database of its own.
      let workers: LoginStack | undefined;
      if (lanyard && config.workers > 1) {
        const env = await startExtraLevel(Math.min(...config.growth.levels), startOptions, extras, { workers: config.workers });
        log(`server: LANYARD_WORKERS=${config.workers}, supervisor pid ${env.serverPid}, workers ${childPids(env.serverPid).join(', ')}`);
        workers = env.stack;
      }
      const stacks = lanyard ? [lanyard, ...(asyncCommit ? [asyncCommit] : []), ...(workers ? [workers] : []), jackson] : [jackson];
      const peakBefore = server.memory();
      const reset = server.resetPeak();
      const outcome = await runLoginRounds(stacks, config.login.rounds, 'login');
      const section = loginSection(outcome, lanyard?.name, jackson.name, loginReason);
      sections.push(`${section.text}\n\npeer: @boxyhq/saml-jackson ${jackson.version} (engine: mem, in the benchmark process)`);
      if (lanyard && workers) sections.push(workersSection(outcome, lanyard.name, workers.name, jackson.name));
      verdicts.push(...section.verdicts);
      const memory = server.memory();
      if (lanyard && memory) {
        sections.push(
          [
            '## 5. Server memory',
            '',
            `peak RSS (VmHWM of pid ${server.pid}) during the login load: ${fmt(memory.peakMiB, 1)} MiB${reset ? ' (peak reset just before the load)' : ' (could not reset the peak: it includes start-up)'}; peak before the load: ${fmt(peakBefore?.peakMiB ?? Number.NaN, 1)} MiB; RSS after: ${fmt(memory.rssMiB, 1)} MiB`,
          ].join('\n'),
        );
        verdicts.push({
          target: `peak RSS under login load ≤ ${TARGETS.rssMiB} MB`,
          measured: `${fmt(memory.peakMiB, 1)} MiB`,
          status: memory.peakMiB <= TARGETS.rssMiB ? 'holds' : 'MISSED',
        });
      } else
        verdicts.push({
          target: `peak RSS under login load ≤ ${TARGETS.rssMiB} MB`,
          measured: loginReason ?? '',
          status: 'not measurable yet',
        });
      if (lanyard) {
        sections.push(await databaseDiagnostics(bench.db, scratch.url, lanyard, 'with 10 connections stored'));
        const waits = await sampleWaits(config.pgUrl, scratch.name, () => runLoginBatch(lanyard!, config.login.logins, 32));
        sections.push(
          [
            `### What the server's PostgreSQL sessions were doing during ${config.login.logins} logins at concurrency 32 (pg_stat_activity sampled every ~5 ms, ${waits.samples} session samples)`,
            '',
            table(
              ['session state', 'share'],
              waits.shares.map((w) => [w.state, `${fmt(w.share * 100, 1)}%`]),
            ),
          ].join('\n'),
        );
      }
      for (const extra of extras.splice(0)) await extra.close();
    }

    if (only.has('growth')) {
      if (lanyard && setup) {
        // Every level gets a fresh database and server of its own, so they differ only in the connections stored.
        const environments: GrowthEnvironment[] = [];
        let largestDiagnostics: (() => Promise<string>) | undefined;
        for (const level of config.growth.levels) {
          const env = await startExtraLevel(level, startOptions, extras);
          environments.push(env);
          log(`growth: ${level.toLocaleString('en-US')} connections stored in ${env.scratch.name} in ${fmt(env.fillMs / 1000, 1)} s`);
          largestDiagnostics = () =>
            databaseDiagnostics(env.db, env.scratch.url, env.stack, `with ${level.toLocaleString('en-US')} connections stored`);
        }
        const levels = await runGrowth({ environments, ...config.growth, log });
        const section = growthSection(levels);
        sections.push(section.text);
        if (largestDiagnostics) sections.push(await largestDiagnostics());
        verdicts.push(section.verdict);
        for (const extra of extras.splice(0)) await extra.close();
      } else {
        sections.push(`## 4. Cost growth\n\ncost growth: not measurable yet: ${loginReason}`);
        verdicts.push({
          target: `latency at 100,000 connections ≤ ${TARGETS.growth}× at 10`,
          measured: loginReason ?? '',
          status: 'not measurable yet',
        });
      }
    }

    if (only.has('api')) {
      if (setup) {
        const results = await runManagement({
          url: server.url,
          apiToken: server.apiToken,
          organizationId: setup.organizationId,
          connectionId: setup.connection.id,
          ...config.api,
          log,
        });
        sections.push(managementSection(results));
      } else sections.push(`## 3. Management API\n\nmanagement API: not measurable yet: ${setupReason}`);
    }

    const finalMemory = server.memory();
    if (finalMemory && lanyard && only.has('login'))
      sections.push(
        `server peak RSS from the login load to the end of the measured parts (growth and management API included): ${fmt(finalMemory.peakMiB, 1)} MiB`,
      );

    client.close();
  } finally {
    await cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (serverProfileDir !== undefined) {
    const files = readdirSync(serverProfileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(serverProfileDir!, f));
    const names = [
      'verifySamlResponse',
      'parseXml',
      'verifySignature',
      'acs',
      'authorize',
      'exchange',
      'userinfo',
      'succeed',
      'sign',
      'query',
      'processTicksAndRejections',
    ];
    for (const file of files)
      sections.push(
        `### CPU profile of a server process (${file})\n\n${formatSummary(summarise(JSON.parse(readFileSync(file, 'utf8')), 25, names))}`,
      );
    if (files.length === 0) sections.push(`(the server wrote no CPU profile into ${serverProfileDir})`);
  }
  return report(m, [...sections, ...tail], verdicts);
}

interface ExtraLevel extends GrowthEnvironment {
  readonly scratch: ScratchDatabase;
  readonly serverPid: number;
  close(): Promise<void>;
}

/** A database with `level` connections and a server over it, set up through the API like the main one. */
async function startExtraLevel(
  level: number,
  startOptions: StartOptions,
  registry: ExtraLevel[],
  options: { asyncCommit?: boolean; workers?: number } = {},
): Promise<ExtraLevel> {
  const scratch = await createScratchDatabase(config.pgUrl);
  let server: ServerProcess | undefined;
  let handle: { db: Db; close(): Promise<void> } | undefined;
  let client: HttpClient | undefined;
  const close = async () => {
    client?.close();
    await server?.stop().catch(() => {});
    await handle?.close().catch(() => {});
    await scratch.drop();
  };
  // Registered before anything can fail, so the caller's clean-up removes whatever was started.
  const entry = { close } as ExtraLevel;
  registry.push(entry);
  handle = await openBenchDatabase(scratch.url);
  // Before the server connects: a database-level default applies to sessions opened afterwards.
  if (options.asyncCommit) await sql.raw(`alter database ${scratch.name} set synchronous_commit = off`).execute(handle.db);
  const { cpuProfileDir: _profileOnlyTheMainServer, ...serverOptions } = startOptions;
  server = await startServer({
    ...serverOptions,
    databaseUrl: scratch.url,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  });
  client = httpClient(server.url);
  const setup = await setUpLanyard(client, server.apiToken);
  const fillMs = await ensureConnections(handle.db, level, setup.connection.id);
  const pid = server.pid;
  return Object.assign(entry, {
    scratch,
    db: handle.db,
    fillMs,
    serverPid: pid,
    stack: lanyardStack(
      client,
      setup,
      serverCpuMeter(() => pid, scratch.name),
      extraStackName(options),
    ),
  });
}

function extraStackName(options: { asyncCommit?: boolean; workers?: number }): string | undefined {
  if (options.asyncCommit) return 'lanyard, synchronous_commit=off (diagnostic)';
  if (options.workers !== undefined) return `lanyard, LANYARD_WORKERS=${options.workers} (HTTP, PostgreSQL)`;
  return undefined;
}

/** Table reads and writes per login phase, and the cost of one durable commit on this machine. */
async function databaseDiagnostics(db: Db, databaseUrl: string, lanyard: LoginStack, when: string): Promise<string> {
  const commit = await commitLatency(db);
  let costs: Awaited<ReturnType<typeof measurePhaseCosts>>;
  try {
    costs = await measurePhaseCosts(databaseUrl, config.pgUrl, lanyard, config.diagnosticLogins);
  } catch (error) {
    // Exact counts need every session gone; the server's background workers may keep a pooled one busy.
    return `### PostgreSQL work per login phase ${when}\n\nNot measured: ${(error as Error).message}.`;
  }
  const rows = PHASES.flatMap((phase) =>
    costs[phase].tables.map((t, i) => [
      i === 0 ? phase : '',
      i === 0 ? fmt(costs[phase].commits, 1) : '',
      t.table,
      fmt(t.reads, 1),
      fmt(t.seqScans, 1),
      [t.inserted && `${fmt(t.inserted, 1)} ins`, t.updated && `${fmt(t.updated, 1)} upd`, t.deleted && `${fmt(t.deleted, 1)} del`]
        .filter(Boolean)
        .join(', '),
    ]),
  );
  return [
    `### PostgreSQL work per login, ${when} (${config.diagnosticLogins} logins at concurrency 1, from pg_stat_user_tables and pg_stat_database of the scratch database)`,
    '',
    `one single-row INSERT committed on its own (synchronous_commit = ${commit.setting}): p50 ${fmt(commit.p50, 2)} ms, p99 ${fmt(commit.p99, 2)} ms`,
    '',
    table(['phase', 'transactions committed per login', 'table', 'scans per login', 'of which sequential', 'rows written per login'], rows),
  ].join('\n');
}

function report(m: Record<string, string>, sections: string[], verdicts: Verdict[]): number {
  const text = [
    '',
    `# Results · ${m.date} · ${m.nproc} × ${m.cpu}, ${m.memory}, Node ${m.node}${m.postgres ? `, PostgreSQL ${m.postgres}` : ''}${quick ? ' · QUICK MODE' : ''}`,
    '',
    sections.join('\n\n'),
    '',
    '## Targets',
    '',
    table(
      ['target', 'measured', 'status'],
      verdicts.map((v) => [v.target, v.measured, v.status]),
    ),
    '',
  ].join('\n');
  log(text);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, text);
  return 0;
}

const started = Date.now();
main()
  .then((code) => {
    log(`benchmark finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    // Jackson's in-process timers would keep the event loop alive.
    process.exit(code);
  })
  .catch((error: unknown) => {
    process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
