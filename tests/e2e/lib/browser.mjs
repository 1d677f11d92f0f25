// Debian's Chromium (`apt-get install chromium`) driven by playwright-core, which never
// downloads a browser of its own.
//
//   const browser = await launchBrowser();
//   t.after(() => browser.close());
//   const page = await browser.newPage();
//   await page.goto(`${node.url}/healthz`);
//   await screenshot(page, 'smoke-healthz');   // target/screenshots/smoke-healthz.png

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Arguments on top of Playwright's own (it adds `--headless` and a fresh `--user-data-dir`). */
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** The repository root (tests/e2e/lib/ is three levels below it). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where `screenshot` writes. */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'target', 'screenshots');

/**
 * Launches headless Chromium from `/usr/bin/chromium` with a fresh profile (Playwright's `launch`
 * makes a temporary user-data dir and removes it on `close()`). `options` are passed on to
 * `chromium.launch` (e.g. `{ slowMo: 100 }`).
 */
export async function launchBrowser(options = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the browser tests use Debian's Chromium. Install it with ` +
        '`apt-get install -y --no-install-recommends chromium` (as root), or run the tests with ' +
        '`cargo xtask e2e`, which installs it.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: [...CHROMIUM_ARGS],
    timeout: 60_000,
    ...options,
  });
}

/** Saves a full-page PNG of `page` as `target/screenshots/<name>.png`; returns its path. */
export async function screenshot(page, name) {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`bad screenshot name ${JSON.stringify(name)}`);
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
