// Measures the Fleet page in Debian's headless Chromium (run by bench/admin_panel.sh):
//   node admin_panel.mjs URL USER PASSWORD DEVICES REPEATS
// Prints one line per load: "result first_row_ms=… total_ms=… scroll_ms=… frames=…
// max_frame_ms=… p95_frame_ms=… max_rows=… stalled=… pages=…". Environment: HECS_WEB_NODE_MODULES
// (playwright-core), HECS_CHROMIUM.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, user, password, devicesText, repeatsText] = process.argv.slice(2);
const devices = Number(devicesText);
const repeats = Number(repeatsText ?? 3);
if (!url || !password || !(devices > 0) || !(repeats > 0)) {
  console.error('usage: node admin_panel.mjs URL USER PASSWORD DEVICES REPEATS');
  process.exit(2);
}
const require = createRequire(join(process.env.HECS_WEB_NODE_MODULES, '..', 'bench.cjs'));
const { chromium } = require('playwright-core');

// Before any script of the page: note when the first device row and the fleet's total appear,
// on the page's own clock (0 = navigation start).
function observe(expected) {
  window.__bench = { firstRow: null, total: null };
  const look = () => {
    const b = window.__bench;
    if (b.firstRow === null && document.querySelector('[data-device]')) b.firstRow = performance.now();
    const list = document.querySelector('[aria-rowcount]');
    if (b.total === null && list && Number(list.getAttribute('aria-rowcount')) >= expected) b.total = performance.now();
    if (b.firstRow === null || b.total === null) requestAnimationFrame(look);
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true, attributes: true });
}

// In the page: scroll the list one client height per frame until the last row is shown.
async function scrollToEnd(expected) {
  const first = document.querySelector('[data-device]');
  let box = first?.parentElement ?? null;
  while (box && !(box.scrollHeight > box.clientHeight + 1 && getComputedStyle(box).overflowY !== 'visible')) box = box.parentElement;
  if (!box) throw new Error('no scrolling container around the device rows');
  box.scrollTop = 0;
  const frames = [];
  let maxRows = 0;
  // Frames in which rows in view were not read yet (the list's "Loading devices" placeholder):
  // the scroll outran the pages.
  let stalled = 0;
  const started = performance.now();
  let last = started;
  const lastShown = () => [...document.querySelectorAll('[data-device][aria-rowindex]')].some((r) => Number(r.getAttribute('aria-rowindex')) >= expected + 1);
  await new Promise((resolve, reject) => {
    const step = (now) => {
      frames.push(now - last);
      last = now;
      maxRows = Math.max(maxRows, document.querySelectorAll('[data-device]').length);
      if (lastShown()) return resolve();
      if (document.querySelector('tr.loading-rows')) stalled++;
      if (now - started > 300000) return reject(new Error('the last device was not shown within 300 s'));
      box.scrollTop += box.clientHeight;
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  const sorted = frames.slice(1).sort((a, b) => a - b);
  return {
    scroll_ms: Math.round(performance.now() - started),
    frames: frames.length,
    max_frame_ms: Math.round(sorted.at(-1) ?? 0),
    p95_frame_ms: Math.round(sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)] ?? 0),
    max_rows: maxRows,
    stalled,
  };
}

const userDataDir = mkdtempSync(join(tmpdir(), 'hecs-bench-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.HECS_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 800 },
    timeout: 30000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60000);
  await page.goto(url + '/signin');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  await page.addInitScript(observe, devices);
  let pages = 0;
  page.on('request', (r) => {
    if (/\/api\/v1\/devices\?/.test(r.url())) pages++;
  });
  for (let i = 0; i < repeats; i++) {
    await page.goto(url + '/fleet');
    await page.waitForFunction(() => window.__bench.firstRow !== null && window.__bench.total !== null);
    const { firstRow, total } = await page.evaluate(() => window.__bench);
    pages = 0;
    const scrolled = await page.evaluate(scrollToEnd, devices);
    const figures = { first_row_ms: Math.round(firstRow), total_ms: Math.round(total), ...scrolled, pages };
    console.log('result ' + Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(' '));
  }
} catch (e) {
  console.error('bench: ' + (e instanceof Error ? e.stack : String(e)));
  process.exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
