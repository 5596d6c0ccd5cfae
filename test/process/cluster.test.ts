// LANYARD_WORKERS: several server processes on one machine (src/cluster.ts), as an operator runs them.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { requireOrSkip } from '../support/environment.ts';
import { createServerDatabase, runServerToExit, startServer, type ServerProcess } from '../support/server-process.ts';

/** A GET on a connection of its own, so that the cluster can hand each request to another worker. */
function get(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const workerPids = (server: ServerProcess, msg = 'worker started'): number[] =>
  server
    .stdout()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { msg?: string; workerPid?: number })
    .filter((entry) => entry.msg === msg)
    .map((entry) => entry.workerPid!);

async function until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('LANYARD_WORKERS', () => {
  test('more than one worker on the embedded database is refused in one line', async () => {
    const { code, stderr } = await runServerToExit({ LANYARD_WORKERS: '2', LANYARD_DATABASE_URL: '' });
    assert.equal(code, 2);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /LANYARD_WORKERS is 2, but the embedded database allows one process/);
  });

  test('two workers on PostgreSQL share the port and the metrics, survive a dead worker and stop together', async (t) => {
    const base = process.env.LANYARD_TEST_DATABASE_URL;
    if (!requireOrSkip(t, base !== undefined, 'LANYARD_TEST_DATABASE_URL (PostgreSQL)')) return;
    const database = await createServerDatabase(base!, 'lanyard_cluster');
    const { token } = database;
    try {
      const server = await startServer({ LANYARD_WORKERS: '2', ...database.env });
      try {
        await until('both workers', () => server.stdout().includes('"msg":"lanyard is ready"'));
        const [first, second] = workerPids(server);
        assert.ok(first !== undefined && second !== undefined && first !== second, 'two worker processes');

        for (let i = 0; i < 30; i++) assert.equal((await get(`${server.url}/v1/organizations`, token)).status, 200);
        // Whichever worker answers, /metrics is the sum over both.
        const metrics = (await get(`${server.url}/metrics`, token)).body;
        assert.match(metrics, /^lanyard_http_requests_total\{route="\/v1\/organizations",method="GET",status="200"\} 30$/m);

        process.kill(first, 'SIGKILL');
        await until('a replacement worker', () => workerPids(server, 'worker listening').length === 3);
        for (let i = 0; i < 10; i++) assert.equal((await get(`${server.url}/v1/organizations`, token)).status, 200);
        assert.match(server.stdout(), /"msg":"worker died; starting a replacement"/);
      } finally {
        assert.equal(await server.stop(), 0, 'the primary exits 0 once every worker stopped cleanly');
      }
      for (const pid of workerPids(server)) assert.throws(() => process.kill(pid, 0), 'no worker outlives the primary');
    } finally {
      await database.drop();
    }
  });
});
