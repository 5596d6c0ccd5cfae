// The Node.js versions Lanyard says it runs on (package.json `engines`, the README) must be ones
// every installed runtime dependency says it runs on too, and the Node.js running the tests one of them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import semver from 'semver';
import { repoRoot } from '../support/repo.ts';

interface Tree {
  path?: string;
  dependencies?: Record<string, Tree>;
}

const ours = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };

/** Every package folder of the installed production tree (`npm ls --omit=dev --all`). */
function productionPackages(): string[] {
  const tree = JSON.parse(
    execFileSync('npm', ['ls', '--omit=dev', '--all', '--long', '--json'], {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    }),
  ) as Tree;
  const paths = new Set<string>();
  const walk = (node: Tree): void => {
    for (const child of Object.values(node.dependencies ?? {})) {
      if (child.path !== undefined && !paths.has(child.path)) {
        paths.add(child.path);
        walk(child);
      }
    }
  };
  walk(tree);
  return [...paths];
}

test('every runtime dependency supports the Node.js versions package.json declares', () => {
  const lowest = semver.minVersion(ours.engines.node);
  assert.ok(lowest, `package.json engines.node ${ours.engines.node} is a range`);
  const narrower: string[] = [];
  const packages = productionPackages();
  assert.ok(packages.length > 20, `found ${packages.length} packages`);
  for (const dir of packages) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      engines?: { node?: string };
    };
    const range = manifest.engines?.node;
    if (range === undefined || !semver.validRange(range)) continue;
    // Each major version we claim, at its first release and at the one testing here.
    for (const version of [lowest.version, process.versions.node])
      if (!semver.satisfies(version, range)) narrower.push(`${manifest.name}@${manifest.version} wants node ${range}, not ${version}`);
  }
  assert.deepEqual(narrower, []);
});

test('the Node.js running the tests is one package.json and the README say Lanyard supports', () => {
  assert.ok(semver.satisfies(process.versions.node, ours.engines.node), `${process.version} is outside ${ours.engines.node}`);
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const tested = /Tested on\s+Node\.js\s+([\d.x, and]+)/.exec(readme)?.[1];
  assert.ok(tested, 'the README says which Node.js versions are tested');
  assert.ok(
    tested.includes(`${semver.major(process.versions.node)}.`),
    `the README names Node.js ${semver.major(process.versions.node)} among the tested: ${tested}`,
  );
});
