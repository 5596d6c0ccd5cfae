// Where the repository and the shared read-only material (../shared) are, wherever the tests run from.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walks up from `start` (a folder, or a file's `import.meta.url`) to the nearest folder holding a package.json. */
export function findRepoRoot(start: string): string {
  let dir = start.startsWith('file:') ? dirname(fileURLToPath(start)) : resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

/** The repository's root folder (the one with package.json). */
export const repoRoot: string = findRepoRoot(import.meta.url);

/**
 * The shared read-only material, checked out beside the repository as `../shared`; a git worktree
 * kept elsewhere names it with LANYARD_TEST_SHARED_DIR.
 */
export const sharedDir: string = resolve(process.env.LANYARD_TEST_SHARED_DIR ?? join(repoRoot, '..', 'shared'));
