import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { requireOrSkip } from '../support/environment.ts';
import { createServerDatabase, runServerToExit, startServer } from '../support/server-process.ts';

const api = (url: string, token: string, path: string, init: RequestInit = {}) =>
  fetch(`${url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(init.headers as Record<string, string> | undefined),
    },
  });

describe('the server process', () => {
  test('starts on an empty data dir, prints an admin key once, stops on SIGTERM and keeps its data', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lanyard-process-'));
    try {
      const first = await startServer({ LANYARD_DATA_DIR: dataDir });
      // The banner is for the person at the terminal (stderr); stdout stays a stream of JSON log lines.
      const token = /^\s+(key_[0-9A-Z]{26}\.\S+)$/m.exec(first.stderr())?.[1];
      assert.ok(token, `an admin key is printed: ${first.stderr()}`);
      assert.match(first.stderr(), /first admin API key/);
      for (const line of first.stdout().trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), `a JSON log line: ${line}`);
      assert.ok(!first.stdout().includes(token), 'the token is not in the log stream');
      assert.equal((await stat(join(dataDir, 'secret.key'))).mode & 0o777, 0o600);
      const created = await api(first.url, token, '/v1/organizations', {
        method: 'POST',
        body: JSON.stringify({ name: 'Persisted', domains: ['persisted.example'] }),
      });
      assert.equal(created.status, 201);
      const org = (await created.json()) as { id: string };
      assert.equal(await first.stop(), 0);
      assert.match(first.stdout(), /"msg":"stopped"/);

      const second = await startServer({ LANYARD_DATA_DIR: dataDir });
      try {
        assert.doesNotMatch(second.stderr(), /first admin API key/, 'the key is printed only on an empty database');
        const read = await api(second.url, token, `/v1/organizations/${org.id}`);
        assert.equal(read.status, 200);
        assert.equal(((await read.json()) as { name: string }).name, 'Persisted');
      } finally {
        assert.equal(await second.stop(), 0);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a bad setting stops the process with one line naming the variable', async () => {
    const { code, stderr } = await runServerToExit({ LANYARD_PORT: 'http' });
    assert.equal(code, 2);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /LANYARD_PORT must be a whole number/);
  });

  test('two instances starting together on one PostgreSQL both migrate, bootstrap once and serve', async (t) => {
    const base = process.env.LANYARD_TEST_DATABASE_URL;
    if (!requireOrSkip(t, base !== undefined, 'LANYARD_TEST_DATABASE_URL (PostgreSQL)')) return;
    const database = await createServerDatabase(base!, 'lanyard_process');
    const { env, token } = database;
    try {
      const [a, b] = await Promise.all([startServer(env), startServer(env)]);
      try {
        const created = await api(a.url, token, '/v1/organizations', { method: 'POST', body: JSON.stringify({ name: 'Shared' }) });
        assert.equal(created.status, 201);
        const org = (await created.json()) as { id: string };
        const read = await api(b.url, token, `/v1/organizations/${org.id}`);
        assert.equal(read.status, 200);
        const keys = (await (await api(b.url, token, '/v1/api-keys')).json()) as { data: unknown[] };
        assert.equal(keys.data.length, 1, 'exactly one bootstrap key');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    } finally {
      await database.drop();
    }
  });
});
