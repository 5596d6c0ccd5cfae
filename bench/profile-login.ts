/**
 * The server under login load alone, under `--cpu-prof`: where its CPU goes per login.
 *
 *   node --import tsx bench/profile-login.ts [logins=600] [concurrency=8]
 *
 * Builds dist/ like `npm start`, starts the server over a scratch PostgreSQL database
 * (BENCH_PG_URL), sets it up through the API, runs the logins, stops the server (which writes
 * the profile) and prints a summary without the idle time.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverCpuMeter } from './cpu.ts';
import { ensureConnections, openBenchDatabase } from './growth.ts';
import { httpClient } from './http.ts';
import { lanyardStack, runLoginBatch, setUpLanyard } from './login.ts';
import { formatSummary, summarise } from './profile-summary.ts';
import { buildServer, createScratchDatabase, startServer } from './server.ts';

const [logins = 600, concurrency = 8] = process.argv.slice(2).map(Number);
const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'lanyard-bench-login-profile-'));
const scratch = await createScratchDatabase(process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const bench = await openBenchDatabase(scratch.url);
let server: Awaited<ReturnType<typeof startServer>> | undefined;
try {
  server = await startServer({
    repoRoot,
    entry: buildServer(repoRoot, console.log),
    databaseUrl: scratch.url,
    logLevel: 'warn',
    cpuProfileDir: dir,
  });
  const client = httpClient(server.url);
  const setup = await setUpLanyard(client, server.apiToken);
  await ensureConnections(bench.db, 10, setup.connection.id);
  const pid = server.pid;
  const stack = lanyardStack(
    client,
    setup,
    serverCpuMeter(() => pid, scratch.name),
  );
  await runLoginBatch(stack, 64, concurrency);
  const batch = await runLoginBatch(stack, logins!, concurrency!);
  console.log(
    `${logins} logins at concurrency ${concurrency}: ${batch.loginsPerSec.toFixed(1)} logins/s; CPU ms per login: ${JSON.stringify(batch.cpuMsPerLogin)}`,
  );
  client.close();
} finally {
  await server?.stop();
  await bench.close();
  await scratch.drop();
}
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(dir, f))[0];
if (file === undefined) throw new Error('the server wrote no profile');
const names = [
  'acs',
  'authorize',
  'exchange',
  'userinfo',
  'verifySamlResponse',
  'encodeRedirectBinding',
  'sign',
  'query',
  'execute',
  'compileQuery',
  'onRequest',
  'withinRateLimit',
  'recordEvent',
];
console.log(`${file}\n\n${formatSummary(summarise(JSON.parse(readFileSync(file, 'utf8')), 40, names))}`);
