import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/repo.ts';

function lanyard(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('the CLI migrates, creates API keys and console sign-in links on the configured database', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lanyard-cli-'));
  const env = { LANYARD_DATA_DIR: dataDir, LANYARD_LOG_LEVEL: 'silent' };
  try {
    assert.equal(lanyard(['migrate'], env).code, 0);
    const created = lanyard(['api-keys', 'create', '--name', 'deploy-bot'], env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout.trim(), /^key_[0-9A-Z]{26}\.[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /created admin key key_/);
    const link = lanyard(['console-link'], env);
    assert.equal(link.code, 0, link.stderr);
    assert.match(link.stdout.trim(), /^https?:\/\/[^/]+\/console\/sign-in\?token=[A-Za-z0-9_-]{43}$/);
    assert.match(link.stderr, /console sign-in link clk_[0-9A-Z]{26}: works once, until /);
    const scoped = lanyard(['api-keys', 'create', '--organization', 'org_missing'], env);
    assert.equal(scoped.code, 1);
    assert.match(scoped.stderr, /organizationId names no organization/);
    const unknown = lanyard(['frobnicate'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const badConfig = lanyard(['migrate'], { ...env, LANYARD_LOG_LEVEL: 'chatty' });
    assert.equal(badConfig.code, 2);
    assert.match(badConfig.stderr, /LANYARD_LOG_LEVEL/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('lanyard keys rotate publishes the next keys once, and refuses a second rotation while they wait to sign', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lanyard-cli-'));
  const env = { LANYARD_DATA_DIR: dataDir, LANYARD_LOG_LEVEL: 'silent', LANYARD_KEY_ROLLOVER_SECONDS: '3600' };
  try {
    const rotated = lanyard(['keys', 'rotate'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /^saml-sp key_\S+ next signs from \S+Z$/m);
    assert.match(rotated.stdout, /^oidc-token-signing key_\S+ current retires at \S+Z$/m);
    const again = lanyard(['keys', 'rotate', '--purpose', 'saml-sp'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /rotation of the saml-sp key is under way/);
    assert.equal(lanyard(['keys', 'rotate', '--purpose', 'everything'], env).code, 2);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
