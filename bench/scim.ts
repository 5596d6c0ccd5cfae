/**
 * Directory sync benchmark (issue 14): a SCIM client provisioning 10,000 users and 500 groups (POST
 * each group, then PATCH its members in, as Entra and Okta do), then filter lookups (`userName eq`,
 * `externalId eq`, groups by `displayName eq` with `excludedAttributes=members`) and a deactivation
 * wave (`PATCH active false`, Okta's unassignment), against Lanyard (built as `npm start` does, over
 * a scratch PostgreSQL database) and a peer SCIM server from npm (SCIMMY, bench/scim-peer.ts) in the
 * same run; then the lookup at 1,000 and at 100,000 users stored. See bench/README.md.
 *
 *   npm run bench:scim          BENCH_QUICK=1 npm run bench:scim
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { openBenchDatabase } from './growth.ts';
import { httpClient, type HttpClient } from './http.ts';
import { buildServer, createScratchDatabase, startServer, type ServerProcess } from './server.ts';
import { envInt, fmt, latency, median, pool, table } from './stats.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const USERS = envInt('BENCH_SCIM_USERS', 10_000, 1_000);
const GROUPS = envInt('BENCH_SCIM_GROUPS', 500, 50);
const MEMBERS = envInt('BENCH_SCIM_MEMBERS', 20, 20);
const LOOKUPS = envInt('BENCH_SCIM_LOOKUPS', 200, 50);
const DEACTIVATIONS = envInt('BENCH_SCIM_DEACTIVATIONS', 1_000, 100);
const CONCURRENCY = envInt('BENCH_SCIM_CONCURRENCY', 8, 8);
const SMALL = envInt('BENCH_SCIM_GROWTH_FROM', 1_000, 1_000);
const LARGE = envInt('BENCH_SCIM_GROWTH_TO', 100_000, 20_000);
const ROUNDS = envInt('BENCH_SCIM_ROUNDS', 3, 1);
const GROWTH_LOOKUPS = envInt('BENCH_SCIM_GROWTH_LOOKUPS', 100, 30);
// The peer scans every stored user per lookup (seconds each at 100,000 users): fewer samples there.
const PEER_LARGE_LOOKUPS = envInt('BENCH_SCIM_PEER_LARGE_LOOKUPS', 10, 5);
const SCIM = 'application/scim+json';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const log = (line: string) => process.stderr.write(`${line}\n`);

/** One SCIM service provider as the client sees it: where its base path is and the bearer token. */
interface Stack {
  readonly name: string;
  http: HttpClient;
  base: string;
  token: string;
}

/** A timed SCIM request that must answer one of `expect`; its latency in ms and its JSON body. */
async function call(stack: Stack, method: string, path: string, body: unknown, ...expect: number[]) {
  const started = performance.now();
  const res = await stack.http.request(method, `${stack.base}${path}`, {
    headers: { authorization: `Bearer ${stack.token}`, accept: SCIM, ...(body === undefined ? {} : { 'content-type': SCIM }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const ms = performance.now() - started;
  if (!expect.includes(res.status)) throw new Error(`${stack.name} ${method} ${path}: ${res.status} ${res.body.slice(0, 300)}`);
  return { ms, json: (res.body === '' ? {} : JSON.parse(res.body)) as Record<string, unknown> };
}

function userBody(n: number) {
  const userName = `user${n}@bench.example`;
  return {
    schemas: [USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    userName,
    externalId: `ext-${n}`,
    active: true,
    displayName: `Bench User ${n}`,
    name: { givenName: 'Bench', familyName: `User ${n}` },
    emails: [{ value: userName, type: 'work', primary: true }],
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: `Dept ${n % 50}`, employeeNumber: String(n) },
  };
}

interface Phase {
  stack: string;
  phase: string;
  samples: number[];
  seconds: number;
}

async function timed(stack: Stack, phase: string, count: number, task: (i: number) => Promise<number>): Promise<Phase> {
  const started = performance.now();
  const samples = await pool(
    Array.from({ length: count }, (_, i) => i),
    CONCURRENCY,
    (i) => task(i),
  );
  return { stack: stack.name, phase, samples, seconds: (performance.now() - started) / 1000 };
}

/** Provisions users `from`..`to`-1 over HTTP; returns their ids by number. */
async function provision(stack: Stack, from: number, to: number, ids: string[], phase = 'POST /Users'): Promise<Phase> {
  return timed(stack, phase, to - from, async (i) => {
    const { ms, json } = await call(stack, 'POST', '/Users', userBody(from + i), 201);
    ids[from + i] = String(json.id);
    return ms;
  });
}

/** A fixed pseudo-random sequence, the same for every stack. */
function picks(count: number, range: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % range;
  });
}

/** `count` lookups of users among the first `range` by `userName eq` or `externalId eq`; each must find exactly one. */
async function lookups(stack: Stack, by: 'userName' | 'externalId', range: number, count: number, seed: number): Promise<Phase> {
  const numbers = picks(count, range, seed);
  const filterOf = (n: number) => (by === 'userName' ? `userName eq "user${n}@bench.example"` : `externalId eq "ext-${n}"`);
  return timed(stack, `GET ${by} eq`, count, async (i) => {
    const filter = filterOf(numbers[i] ?? 0);
    const { ms, json } = await call(stack, 'GET', `/Users?filter=${encodeURIComponent(filter)}`, undefined, 200);
    if (json.totalResults !== 1) throw new Error(`${stack.name}: ${filter} found ${String(json.totalResults)}, not 1`);
    return ms;
  });
}

async function runMain(stack: Stack): Promise<Phase[]> {
  const ids: string[] = [];
  const phases: Phase[] = [await provision(stack, 0, USERS, ids)];
  log(`${stack.name}: ${USERS} users provisioned in ${fmt(phases[0]!.seconds, 1)} s`);
  const groupIds: string[] = [];
  phases.push(
    await timed(stack, 'POST /Groups', GROUPS, async (g) => {
      const { ms, json } = await call(stack, 'POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: `Group ${g}` }, 201);
      groupIds[g] = String(json.id);
      return ms;
    }),
  );
  phases.push(
    await timed(stack, `PATCH /Groups add ${MEMBERS} members`, GROUPS, async (g) => {
      const members = Array.from({ length: MEMBERS }, (_, m) => ({ value: ids[(g * MEMBERS + m) % USERS] }));
      const patch = { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: members }] };
      // Either answer is RFC 7644 §3.5.2: 204 without a body, or 200 with the group.
      return (await call(stack, 'PATCH', `/Groups/${groupIds[g] ?? ''}`, patch, 200, 204)).ms;
    }),
  );
  log(`${stack.name}: ${GROUPS} groups with ${MEMBERS} members each`);
  phases.push(await lookups(stack, 'userName', USERS, LOOKUPS, 7), await lookups(stack, 'externalId', USERS, LOOKUPS, 8));
  const groupPicks = picks(LOOKUPS, GROUPS, 11);
  phases.push(
    await timed(stack, 'GET Groups displayName eq, excl. members', LOOKUPS, async (i) => {
      const filter = encodeURIComponent(`displayName eq "Group ${groupPicks[i] ?? 0}"`);
      const { ms, json } = await call(stack, 'GET', `/Groups?filter=${filter}&excludedAttributes=members`, undefined, 200);
      if (json.totalResults !== 1) throw new Error(`${stack.name}: group lookup found ${String(json.totalResults)}`);
      return ms;
    }),
  );
  const deactivate = picks(DEACTIVATIONS, USERS, 13);
  phases.push(
    await timed(stack, 'PATCH active false', DEACTIVATIONS, async (i) => {
      const patch = { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] };
      return (await call(stack, 'PATCH', `/Users/${ids[deactivate[i] ?? 0] ?? ''}`, patch, 200, 204)).ms;
    }),
  );
  return phases;
}

/** The installed version of a bench dependency (read from its package.json, which its exports may not expose). */
function benchVersion(name: string): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'bench', 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The peer: bench/scim-peer.ts in its own process, as Lanyard runs in its own. */
async function startPeer(token: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 'scim-peer.ts'), token], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the peer exited with ${String(code)}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** A fresh Lanyard directory of a fresh organization: its base path and token. */
async function newDirectory(
  server: ServerProcess,
  http: HttpClient,
): Promise<{ base: string; token: string; id: string; organizationId: string }> {
  const admin = { authorization: `Bearer ${server.apiToken}` };
  const org = await http.json<{ id: string }>('POST', '/v1/organizations', { name: `Bench ${randomBytes(3).toString('hex')}` }, admin);
  const dir = await http.json<{ id: string; scim: { baseUrl: string; token: string } }>(
    'POST',
    '/v1/directories',
    { organizationId: org.body.id, provider: 'entra' },
    admin,
  );
  if (dir.status !== 201) throw new Error(`directory: ${dir.status}`);
  return { base: new URL(dir.body.scim.baseUrl).pathname, token: dir.body.scim.token, id: dir.body.id, organizationId: org.body.id };
}

/** Grows a Lanyard directory to `to` users with SQL (rows as the SCIM API writes them), then ANALYZE. */
async function growLanyard(databaseUrl: string, directory: { id: string; organizationId: string }, from: number, to: number) {
  const { db, close } = await openBenchDatabase(databaseUrl);
  try {
    const name = sql`'user' || n || '@bench.example'`;
    await sql`insert into directory_users (id, directory_id, organization_id, external_id, user_name, active, email, email_values,
        given_name, family_name, display_name, resource, version, created_at, updated_at)
      select 'dusr_' || lpad(n::text, 26, '0'), ${directory.id}, ${directory.organizationId}, 'ext-' || n, ${name}, true, ${name},
        jsonb_build_array(${name}), 'Bench', 'User ' || n, 'Bench User ' || n,
        jsonb_build_object('schemas', jsonb_build_array(${USER_SCHEMA}::text), 'userName', ${name}, 'externalId', 'ext-' || n,
          'active', true, 'displayName', 'Bench User ' || n, 'name', jsonb_build_object('givenName', 'Bench', 'familyName', 'User ' || n),
          'emails', jsonb_build_array(jsonb_build_object('value', ${name}, 'type', 'work', 'primary', true))),
        1, now(), now()
      from generate_series(${from}::int, ${to - 1}::int) as n`.execute(db);
    await sql`analyze directory_users`.execute(db);
  } finally {
    await close();
  }
}

/** The lookup at SMALL and at LARGE users stored, in rounds alternating the stacks. */
async function runGrowth(stacks: { stack: Stack & { baseUrl: string }; grow: (from: number, to: number) => Promise<void> }[]) {
  const at: Record<string, Record<number, number[]>> = {};
  for (const level of [SMALL, LARGE]) {
    for (const { grow } of stacks) await grow(level === SMALL ? 0 : SMALL, level);
    // Fresh connections: the old ones sat idle while the stores grew, past the servers' keep-alive timeouts.
    for (const { stack } of stacks) {
      stack.http.close();
      stack.http = httpClient(stack.baseUrl);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? stacks : [...stacks].reverse();
      for (const { stack } of order) {
        const count = stack.name !== 'Lanyard' && level === LARGE ? PEER_LARGE_LOOKUPS : GROWTH_LOOKUPS;
        const byName = await lookups(stack, 'userName', level, count, 100 + round);
        ((at[stack.name] ??= {})[level] ??= []).push(latency(byName.samples).p50);
      }
    }
    log(`growth: measured at ${level} users`);
  }
  return at;
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = await createScratchDatabase(adminUrl);
  const stops: (() => Promise<void> | void)[] = [() => database.drop()];
  process.once('SIGINT', () => void Promise.all(stops.map((s) => s())).finally(() => process.exit(130)));
  try {
    const entry = buildServer(repoRoot, log);
    const server = await startServer({ repoRoot, entry, databaseUrl: database.url, logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn' });
    stops.unshift(() => server.stop());
    const peerToken = randomBytes(24).toString('base64url');
    const peer = await startPeer(peerToken);
    stops.unshift(peer.stop);
    const lanyardHttp = httpClient(server.url);
    const lanyard: Stack = { name: 'Lanyard', http: lanyardHttp, ...(await newDirectory(server, lanyardHttp)) };
    const scimmy: Stack = { name: 'SCIMMY', http: httpClient(peer.url), base: '/scim/v2', token: peerToken };
    const version = benchVersion('scimmy');
    const routers = benchVersion('scimmy-routers');
    log(`Lanyard: ${server.how}; peer: scimmy ${version} + scimmy-routers ${routers}, in-memory store`);

    const phases = [...(await runMain(lanyard)), ...(await runMain(scimmy))];
    const rows = phases.map((p) => {
      const l = latency(p.samples);
      const timedPhase = p.samples.some((s) => s > 0);
      return [
        p.stack,
        p.phase,
        String(p.samples.length),
        timedPhase ? fmt(l.p50) : '—',
        timedPhase ? fmt(l.p99) : '—',
        fmt(p.samples.length / p.seconds, 0),
      ];
    });

    const header = [
      `SCIM benchmark: ${USERS} users, ${GROUPS} groups × ${MEMBERS} members, ${LOOKUPS} lookups, ${DEACTIVATIONS} deactivations, concurrency ${CONCURRENCY}`,
      `Lanyard on PostgreSQL (${server.how}); peer: scimmy ${version} + scimmy-routers ${routers} (in-memory store, filter.match)`,
      '',
      table(['stack', 'phase', 'requests', 'p50 ms', 'p99 ms', 'req/s'], rows),
    ].join('\n');
    process.stdout.write(`${header}\n\n`);

    // Growth: a second Lanyard directory grown with SQL; a fresh peer grown through its seed endpoint.
    const growthDirectory = await newDirectory(server, lanyardHttp);
    const lanyardGrowth = { ...lanyard, base: growthDirectory.base, token: growthDirectory.token, baseUrl: server.url };
    const freshPeer = await startPeer(peerToken);
    stops.unshift(freshPeer.stop);
    const peerGrowth = { ...scimmy, http: httpClient(freshPeer.url), baseUrl: freshPeer.url };
    const at = await runGrowth([
      {
        stack: lanyardGrowth,
        grow: async (from, to) =>
          from === 0 ? void (await provision(lanyardGrowth, 0, to, [])) : growLanyard(database.url, growthDirectory, from, to),
      },
      {
        stack: peerGrowth,
        grow: async (from, to) => {
          const seeded = await peerGrowth.http.json<{ users: number }>('POST', '/bench/seed', { from, to });
          if (seeded.status !== 200) throw new Error(`peer seed: ${seeded.status}`);
        },
      },
    ]);
    const growthRows = Object.entries(at).map(([name, levels]) => {
      const small = median(levels[SMALL] ?? []);
      const large = median(levels[LARGE] ?? []);
      return [name, fmt(small), fmt(large), `${fmt(large / small)}×`];
    });
    const lanyardRatio = median(at.Lanyard?.[LARGE] ?? []) / median(at.Lanyard?.[SMALL] ?? []);
    const report = [
      `userName eq lookup p50 (ms, median of ${ROUNDS} rounds) by users stored in the directory:`,
      table(['stack', `at ${SMALL}`, `at ${LARGE}`, 'ratio'], growthRows),
      '',
      `target: Lanyard's lookup at ${LARGE} ≤ 1.3× at ${SMALL}: ${lanyardRatio <= 1.3 ? 'MET' : 'NOT MET'} (${fmt(lanyardRatio)}×)`,
    ].join('\n');
    process.stdout.write(`${report}\n`);
    lanyardHttp.close();
  } finally {
    for (const stop of stops) await stop();
  }
}

await main();
