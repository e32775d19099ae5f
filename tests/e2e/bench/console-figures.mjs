// The console's figures (issue 20), measured in one run against a lockerd of its own on a
// simulated 200-compartment wall: the page's weight (bytes of HTML, CSS and JS served), the
// time until the wall's 200 tiles are painted in headless Chromium, and the daemon's RSS with
// three consoles and two kiosks open (each holding its live feed), against its RSS idle.
//
//   node bench/console-figures.mjs [path/to/lockerd]     (from tests/e2e, after `npm ci`)
//
// The binary defaults to target/release/lockerd, else target/debug/lockerd. Figures print as
// one table; nothing here is a test and nothing asserts a time.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const BINARY = process.argv[2]
  ?? ['release', 'debug'].map((p) => path.join(ROOT, 'target', p, 'lockerd')).find((p) => fs.existsSync(p));
const PAINTS = 10;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** 200 compartments: columns A-J, rows 1-20; sizes by row. */
function config(dir, port) {
  let text = `[locker]\nname = "bench-console"\nstate_dir = "${dir}/state"\n\n[api]\nlisten = "127.0.0.1:${port}"\n
[[bus]]\nname = "sim"\ndriver = "sim"\npoll = "250ms"\n`;
  const sizes = ['S', 'S', 'S', 'S', 'S', 'M', 'M', 'M', 'M', 'M', 'M', 'L', 'L', 'L', 'L', 'L', 'XL', 'XL', 'XL', 'XL'];
  for (const col of 'ABCDEFGHIJ') {
    for (let row = 1; row <= 20; row += 1) {
      text += `\n[[compartment]]\nid = "${col}${row}"\nsize = "${sizes[row - 1]}"\naccessible = ${row <= 4}\nlatch = { bus = "sim" }\ndoor = { bus = "sim" }\n`;
    }
  }
  return text;
}

const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const file = path.join(dir, 'lockerd.toml');
  fs.writeFileSync(file, config(dir, port));
  const daemon = spawn(BINARY, ['run', '--config', file], { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    for (let i = 0; ; i += 1) {
      try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
      if (i > 300) throw new Error('lockerd did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const token = execFileSync(BINARY, ['token', 'create', '--config', file, '--role', 'operator', '--name', 'bench']).toString().trim();
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    // Page weight: the sign-in page, the console and every file they load; the kiosk's alike.
    const weigh = async (paths) => {
      let total = 0;
      for (const p of paths) total += (await (await fetch(base + p)).arrayBuffer()).byteLength;
      return total;
    };
    const files = (dir) => fs.readdirSync(path.join(ROOT, dir), { recursive: true })
      .filter((f) => /\.(js|css)$/.test(f)).map((f) => `/${dir}/${f}`);
    const consoleBytes = await weigh(['/console/', ...files('console')]);
    const consoleFiles = files('console').length + 1;
    const kioskBytes = await weigh(['/kiosk/', ...files('kiosk')]);

    const browser = await chromium.launch({ executablePath: process.env.KIOSK_CHROMIUM ?? '/usr/bin/chromium', args: ARGS });
    const consoleScreen = async () => {
      const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 800 } });
      const r = await context.request.post('/console/session', { headers: { 'X-Lockerd-Csrf': '1' }, data: { token } });
      if (r.status() !== 204) throw new Error(`sign-in: ${r.status()}`);
      return { context, page: await context.newPage() };
    };

    // First paint of the 200-tile wall: from the navigation's start to the frame after the
    // 200th tile exists, timed inside the page (a MutationObserver installed before the page's
    // own scripts), so no round trip to this script is counted. Every load is a new document:
    // going from /console/#wall to itself would only move within the page, and its clock would
    // go on from the first load. The first load warms nothing: every file is revalidated.
    const paints = [];
    const fcps = [];
    const { page } = await consoleScreen();
    await page.addInitScript(() => {
      window.wallPainted = new Promise((resolve) => {
        const seen = new MutationObserver(() => {
          if (document.querySelectorAll('.tile').length < 200) return;
          seen.disconnect();
          requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
        });
        seen.observe(document, { childList: true, subtree: true });
      });
    });
    for (let i = 0; i < PAINTS; i += 1) {
      await page.goto('about:blank');
      await page.goto('/console/#wall');
      paints.push(await page.evaluate(() => window.wallPainted));
      fcps.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN));
    }
    await page.context().close();

    // RSS: idle, then three consoles on the wall and two paired kiosks, all following the feed.
    await new Promise((r) => setTimeout(r, 2000));
    const idle = rss(daemon.pid);
    const open = [];
    for (let i = 0; i < 3; i += 1) {
      const s = await consoleScreen();
      await s.page.goto('/console/#wall');
      await s.page.waitForFunction(() => document.querySelectorAll('.tile').length === 200);
      open.push(s);
    }
    for (let i = 0; i < 2; i += 1) {
      const pairing = await (await fetch(`${base}/api/v1/kiosk/pairings`, { method: 'POST', headers: auth, body: JSON.stringify({ name: `kiosk-${i}` }) })).json();
      const context = await browser.newContext({ baseURL: base, viewport: { width: 800, height: 480 } });
      const p = await context.newPage();
      await p.goto(pairing.url);
      await p.getByRole('group', { name: 'Keypad' }).waitFor();
      open.push({ context, page: p });
    }
    await new Promise((r) => setTimeout(r, 3000));
    const loaded = rss(daemon.pid);
    await browser.close();

    const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
    console.log(`| measurement | figure | conditions |\n|---|---|---|`);
    console.log(`| console page weight | ${kib(consoleBytes)} (${consoleBytes} bytes) in ${consoleFiles} files; the kiosk's ${kib(kioskBytes)} (× ${(consoleBytes / kioskBytes).toFixed(2)}) | uncompressed, as served: HTML, CSS, every module |`);
    console.log(`| wall with 200 compartments painted | median ${median(paints).toFixed(0)} ms · max ${Math.max(...paints).toFixed(0)} ms (first contentful paint median ${median(fcps).toFixed(0)} ms) | ${PAINTS} loads, headless Chromium, from navigation start to the frame after the 200th tile |`);
    console.log(`| daemon RSS, 3 consoles + 2 kiosks | ${loaded.toFixed(1)} MiB, against ${idle.toFixed(1)} MiB idle (+${(loaded - idle).toFixed(1)} MiB, × ${(loaded / idle).toFixed(2)}) | each page open with its live feed; ${path.relative(ROOT, BINARY)} |`);
  } finally {
    daemon.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
