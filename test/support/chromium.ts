// Headless Debian Chromium driven by playwright-core (which brings no browser of its own here), and
// screenshots a person can look at in test-output/screenshots/.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, LaunchOptions, Page } from 'playwright-core';
import { requireOrSkip } from './environment.ts';
import { repoRoot } from './repo.ts';

/** Debian's chromium package. */
export const chromiumPath = '/usr/bin/chromium';

/**
 * Root needs --no-sandbox; the rest keep Chromium from calling home, which this machine's closed
 * network answers with refused connections at every start.
 */
export const chromiumFlags: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshot() writes (git-ignored). */
export const screenshotDir: string = join(repoRoot, 'test-output', 'screenshots');

/** True when Debian's chromium is installed. */
export function chromiumAvailable(): boolean {
  return existsSync(chromiumPath);
}

/**
 * Launches headless Chromium, or reports it missing through requireOrSkip (fails in CI, skips
 * loudly elsewhere) and returns undefined. Close the browser in a finally.
 */
export async function launchChromium(t: TestContext, options: LaunchOptions = {}): Promise<Browser | undefined> {
  if (!requireOrSkip(t, chromiumAvailable(), `Debian's chromium at ${chromiumPath} (apt-get install chromium)`)) return undefined;
  return chromium.launch({
    timeout: 30_000,
    ...options,
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumFlags, ...(options.args ?? [])],
  });
}

/** Saves a full-page PNG as test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
