// Headless Debian Chromium driven by playwright-core, paired contexts, and the screenshots
// every step leaves in $KIOSK_E2E_ARTIFACTS.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { BASE, pairingLink, PATIENCE } from './api.js';

/** Without the background-networking flags Chromium keeps calling out and stalls on a closed
 * network; the browser is the system's (`npx playwright install` downloads are not used). */
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const ARTIFACTS = process.env.KIOSK_E2E_ARTIFACTS
  ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'artifacts');

export function launch() {
  return chromium.launch({ executablePath: process.env.KIOSK_CHROMIUM ?? '/usr/bin/chromium', args: ARGS });
}

/** A browser context (one "screen"), with the page's errors collected for `assertClean`. */
export async function newScreen(browser, { viewport = { width: 800, height: 480 } } = {}) {
  const context = await browser.newContext({ viewport, baseURL: BASE, locale: 'en-US' });
  context.setDefaultTimeout(PATIENCE);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Uncaught|SyntaxError/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { context, page, problems };
}

/** No script error and no CSP violation on the page. */
export function assertClean(screen) {
  assert.deepEqual(screen.problems, [], 'the page ran without errors');
}

/** Screenshots named `<prefix>-NN-<step>.png`, numbered in the order taken. */
export function camera(prefix) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  let n = 0;
  return async (page, step) => {
    n += 1;
    const file = path.join(ARTIFACTS, `${prefix}-${String(n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file });
    return file;
  };
}

/** One browser per test file. */
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A test that opens screens through `kit`: `kit.paired(name, options)` (a paired screen at
 * its start screen), `kit.blank(options)` (never paired), `kit.defer(fn)` (clean-up). Every
 * screen must end without script errors; on a failure each one's last state is saved as
 * `FAILED-<title>-N.png`; screens close whatever happens. */
export function scenario(title, body, { timeout = 240_000 } = {}) {
  test(title, { timeout }, async () => {
    const screens = [];
    const cleanups = [];
    const kit = {
      paired: async (name, options) => {
        const screen = await newScreen(browser, options);
        screens.push(screen);
        await screen.page.goto(await pairingLink(name));
        assert.equal(new URL(screen.page.url()).pathname, '/kiosk/', 'the pairing link lands on /kiosk/');
        await screen.page.getByRole('button', { name: 'Courier' }).waitFor();
        return screen;
      },
      blank: async (options) => {
        const screen = await newScreen(browser, options);
        screens.push(screen);
        return screen;
      },
      defer: (fn) => cleanups.push(fn),
    };
    try {
      await body(kit);
      for (const screen of screens) assertClean(screen);
    } catch (e) {
      const slug = title.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      for (const [i, screen] of screens.entries()) {
        await screen.page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${slug}-${i + 1}.png`) }).catch(() => {});
      }
      throw e;
    } finally {
      for (const fn of cleanups.reverse()) await fn();
      for (const screen of screens) await screen.context.close().catch(() => {});
    }
  });
}
