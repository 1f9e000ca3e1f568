// The admin panel in Debian's Chromium, driven by playwright-core (no downloaded browser).
// Started by admin_panel_test.cpp against a real hecs-control with one real agent online:
//   node admin_panel.mjs URL ADMIN_USER ADMIN_PASSWORD VIEWER_USER VIEWER_PASSWORD [AGENT_PID]
// (with AGENT_PID, the agent is stopped with SIGTERM while the Fleet page is open, and its row
// must turn offline without a reload: the device event stream),
// or, with HECS_E2E_FLOW=https-empty, against an HTTPS control plane without devices:
//   node admin_panel.mjs URL ADMIN_USER ADMIN_PASSWORD
// Environment: HECS_WEB_NODE_MODULES (playwright-core, axe-core), HECS_E2E_SCREENSHOTS (a
// directory), HECS_CHROMIUM (default /usr/bin/chromium). Exit 0 when every check passed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, adminUser, adminPassword, viewerUser, viewerPassword, agentPid] = process.argv.slice(2);
const flow = process.env.HECS_E2E_FLOW ?? 'fleet';
if (flow === 'fleet' ? !viewerPassword : !adminPassword) {
  console.error('usage: node admin_panel.mjs URL ADMIN_USER ADMIN_PASSWORD VIEWER_USER VIEWER_PASSWORD');
  process.exit(2);
}
const modules = process.env.HECS_WEB_NODE_MODULES;
const shots = process.env.HECS_E2E_SCREENSHOTS ?? 'e2e-screenshots';
const require = createRequire(join(modules, '..', 'e2e.cjs'));
const { chromium } = require('playwright-core');
const axeSource = require('axe-core').source;

// DESIGN §11.
const kFlags = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const kStepMs = 15000;

function check(ok, what) {
  if (!ok) throw new Error('check failed: ' + what);
  console.log('ok: ' + what);
}

async function axe(page, name) {
  // Runtime.evaluate is not subject to the page's CSP, so axe runs without weakening it.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  console.log(`axe ${name}: ${result.violations.length} violation(s)`);
  for (const v of result.violations) {
    console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  }
  check(bad.length === 0, `axe finds no serious or critical violation on ${name}`);
}

async function signIn(page, user, password) {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor({ timeout: kStepMs });
}

// Runs `uname -a` on every accepted device from the Tasks page and watches each result arrive
// on the task's page (server-sent events, no reload), then the history lists the task.
async function tasksFlow(page) {
  const ids = await page.evaluate(async () =>
    (await (await fetch('/api/v1/devices?limit=500')).json()).items.filter((d) => d.state === 'accepted').map((d) => d.id));
  check(ids.length >= 1, `${ids.length} accepted device(s) to run on`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
  await page.getByRole('heading', { name: 'Tasks', exact: true }).waitFor();
  await page.getByLabel('Device ids').fill(ids.join(','));
  await page.getByLabel('Command', { exact: true }).fill('uname -a');
  const count = page.getByTestId('preview-count');
  await count.waitFor();
  check((await count.textContent()) === String(ids.length), `the preview counts ${ids.length} device(s)`);
  await page.screenshot({ path: join(shots, 'tasks-run-form.png'), fullPage: true });
  await page.evaluate(() => { window.hecsNoReload = true; });
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
  await page.waitForFunction((n) => {
    const states = [...document.querySelectorAll('[data-testid=run-state]')].map((e) => e.textContent);
    const outs = [...document.querySelectorAll('[data-testid=stdout]')].map((e) => e.textContent ?? '');
    return states.length === n && states.every((s) => s === 'succeeded') && outs.length === n && outs.every((o) => o.startsWith('Linux '));
  }, ids.length, { timeout: 20000 });
  check(true, `every device's run succeeded and shows its uname output (${ids.length})`);
  await page.getByTestId('task-state').filter({ hasText: 'finished' }).waitFor();
  check(await page.evaluate(() => window.hecsNoReload === true), 'the results came in without a reload');
  await page.screenshot({ path: join(shots, 'task-detail.png'), fullPage: true });
  await axe(page, 'task-detail');
  await page.getByRole('link', { name: '← All tasks' }).click();
  await page.locator('tr[data-task]').first().waitFor();
  const row = await page.locator('tr[data-task]').first().textContent();
  check(row.includes('finished') && row.includes(`${ids.length}/${ids.length}`) && row.includes('uname -a'), `the history lists the task (${row})`);
  await page.screenshot({ path: join(shots, 'tasks.png'), fullPage: true });
  await axe(page, 'tasks');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
}

async function fleetFlow(page) {
  const nav = page.getByRole('navigation', { name: 'Main' });
  // Signed out, any page leads to the sign-in page.
  const started = Date.now();
  await page.goto(url + '/fleet');
  await page.getByRole('heading', { name: 'Sign in to HECS' }).waitFor();
  console.log(`sign-in page shown after ${Date.now() - started} ms`);
  check(new URL(page.url()).pathname === '/signin', 'the app went to /signin');
  await axe(page, 'sign-in');

  // A wrong password reads as one.
  await page.getByLabel('User name').fill(adminUser);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  check((await alert.textContent()) === 'Wrong user name or password.', 'a wrong password is said so');
  await page.screenshot({ path: join(shots, 'signin-error.png') });

  // The superadmin signs in and sees the agent online.
  await signIn(page, adminUser, adminPassword);
  await page.locator('.badge.online').first().waitFor();
  const online = Number(await page.getByTestId('count-online').textContent());
  check(online >= 1, `the Fleet page counts ${online} device(s) online`);
  check((await nav.getByRole('link', { name: 'Administration' }).count()) === 1, 'the admin sees Administration');
  check((await page.getByTestId('username').textContent()) === adminUser, 'the top bar names the user');
  await page.screenshot({ path: join(shots, 'fleet.png'), fullPage: true });
  await axe(page, 'fleet');
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.screenshot({ path: join(shots, 'fleet-tablet.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });

  // Keyboard: Tab reaches the navigation, Enter follows a link.
  const reached = [];
  for (let i = 0; i < 12 && reached.at(-1) !== 'Tasks'; i++) {
    await page.keyboard.press('Tab');
    reached.push((await page.evaluate(() => document.activeElement?.textContent ?? '')).trim());
  }
  check(reached.at(-1) === 'Tasks', `Tab reaches the navigation (${reached.join(' > ')})`);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Tasks' }).waitFor();
  check(new URL(page.url()).pathname === '/tasks', 'Enter on a link opens its page');
  await page.goBack();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();

  // A reload keeps the session: the CSRF token is in the tab's sessionStorage.
  await page.reload();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  check(new URL(page.url()).pathname === '/fleet', 'a reload keeps the session');

  await tasksFlow(page);

  // Back to the Fleet page for the live state (the tasks above needed the agent running).
  await nav.getByRole('link', { name: 'Fleet' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();

  // Live state: the agent stops, and its row and the counts turn offline in place, pushed over
  // the device event stream (no reload, no Refresh, no polling).
  if (agentPid) {
    await page.getByTestId('live').getByText('Live').waitFor();
    await page.evaluate(() => { window.hecsNoReload = true; });
    const before = Number(await page.getByTestId('count-online').textContent());
    const stoppedAt = Date.now();
    process.kill(Number(agentPid), 'SIGTERM');
    await page.locator('tr[data-device] .badge.offline').first().waitFor({ timeout: kStepMs });
    console.log(`row offline ${Date.now() - stoppedAt} ms after the agent was stopped`);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="count-online"]')?.textContent) === n - 1, before);
    check(await page.evaluate(() => window.hecsNoReload === true), 'the stopped agent turns offline without a reload');
    await page.screenshot({ path: join(shots, 'fleet-agent-offline.png'), fullPage: true });
  }

  // Sign out: back to the sign-in page, and the session is dead on the server too.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to HECS' }).waitFor();
  check((await page.getByRole('status').textContent()) === 'You are signed out.', 'signing out says so');
  const after = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
  check(after === 401, 'the session no longer works after signing out');

  // A viewer sees no administration, and the API refuses it anyway.
  await signIn(page, viewerUser, viewerPassword);
  check((await nav.getByRole('link', { name: 'Administration' }).count()) === 0, 'a viewer sees no Administration');
  check((await nav.getByRole('link', { name: 'Fleet' }).count()) === 1, 'a viewer sees Fleet');
  const users = await page.evaluate(async () => (await fetch('/api/v1/users')).status);
  check(users === 403, 'the API refuses the viewer the user list');
  await page.screenshot({ path: join(shots, 'fleet-viewer.png'), fullPage: true });
  await nav.getByRole('link', { name: 'Tasks' }).click();
  await page.locator('tr[data-task]').first().waitFor();
  check((await page.getByRole('button', { name: 'Run', exact: true }).count()) === 0, 'a viewer sees the tasks but no run form');
  await nav.getByRole('link', { name: 'Fleet' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();

  // A session that ends (here: its cookie gone) leads back to the sign-in page, with the reason.
  await page.context().clearCookies();
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('heading', { name: 'Sign in to HECS' }).waitFor();
  check((await page.getByRole('status').textContent()) === 'Your session expired, sign in again.', 'an expired session is said so');
  await page.screenshot({ path: join(shots, 'session-expired.png') });

}

// HTTPS, no device yet: the empty state, and the session cookie as a browser gets it over TLS.
async function httpsEmptyFlow(page) {
  await page.goto(url + '/');
  await page.getByRole('heading', { name: 'Sign in to HECS' }).waitFor();
  await signIn(page, adminUser, adminPassword);
  await page.getByText('No devices yet.').waitFor();
  check((await page.getByTestId('count-online').textContent()) === '0', 'no device is counted');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === '__Host-hecs_session');
  check(session !== undefined && session.secure && session.httpOnly && session.sameSite === 'Strict' && session.path === '/',
    'over HTTPS the session is the __Host-hecs_session cookie: Secure, HttpOnly, SameSite=Strict');
  check(!cookies.some((c) => c.name === 'hecs_session'), 'and no plain hecs_session cookie');
  await page.screenshot({ path: join(shots, 'fleet-empty.png'), fullPage: true });
  await axe(page, 'fleet-empty');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to HECS' }).waitFor();
  check((await page.context().cookies()).every((c) => c.name !== '__Host-hecs_session' || !c.value), 'signing out clears the cookie');
}

const userDataDir = mkdtempSync(join(tmpdir(), 'hecs-e2e-chromium-'));
mkdirSync(shots, { recursive: true });
let context;
const problems = [];
const deadline = setTimeout(() => {
  console.error('e2e: over 80 s, giving up');
  process.exitCode = 3;
  void context?.close().finally(() => process.exit(3));
}, 80000);

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.HECS_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: kFlags,
    viewport: { width: 1280, height: 800 },
    ignoreHTTPSErrors: true, // the control plane's own device CA, which this profile does not trust
    timeout: 30000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(kStepMs);
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[13]/.test(m.text())) problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));

  if (flow === 'https-empty') await httpsEmptyFlow(page);
  else await fleetFlow(page);

  check(problems.length === 0, 'no script error and no CSP violation in the console' + (problems.length ? ': ' + problems.join('; ') : ''));
} catch (e) {
  console.error('e2e: ' + (e instanceof Error ? e.stack : String(e)));
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
