import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, driven by the pinned playwright-core (docs/DECISIONS.md §27): headless, nothing downloaded.
 * CHROMIUM_PATH overrides where it is.
 */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}

/** Where browser tests and benchmarks save screenshots (reports/ is an artifact directory, not committed). */
export function screenshotDir(): string {
  const dir = fileURLToPath(new URL('../../reports/screenshots/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}
