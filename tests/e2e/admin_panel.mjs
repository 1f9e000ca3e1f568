// The admin panel in Debian's Chromium, driven by playwright-core (no downloaded browser).
// Started by admin_panel_test.cpp against a real hecs-control (HTTPS) with three real agents
// online:
//   node admin_panel.mjs URL ADMIN_USER ADMIN_PASSWORD VIEWER_USER VIEWER_PASSWORD [AGENT_PID]
// An operator's day: sign in, three devices online, `uname -a` on all three with each result
// streaming in, a schedule with its next fire times, a token made in the panel enrolling a fourth
// agent (HECS_E2E_AGENT started here with the install command the panel shows, state in
// HECS_E2E_AGENT_DIR), an API key made and revoked in the panel and refused by the API after,
// the audit chain verified; then the agent AGENT_PID stopped with SIGTERM while the Fleet page is
// open, its row turning offline without a reload (the device event stream); a viewer without
// mutating controls whose crafted requests are refused; sign-out and an expired session.
// With HECS_E2E_FLOW=https-empty, against an HTTPS control plane without devices:
//   node admin_panel.mjs URL ADMIN_USER ADMIN_PASSWORD
// Environment: HECS_WEB_NODE_MODULES (playwright-core, axe-core), HECS_E2E_SCREENSHOTS (a
// directory, screenshots of the main pages), HECS_CHROMIUM (default /usr/bin/chromium). Exit 0
// when every check passed.
import { spawn } from 'node:child_process';
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
const { chromium, request } = require('playwright-core');
let fourth = null; // the agent adminFlow enrols, stopped at the end
let fourthLog = '';
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

// Waits until `locator` matches exactly `n` elements.
async function waitCount(locator, n, timeout = kStepMs) {
  const until = Date.now() + timeout;
  while ((await locator.count()) !== n) {
    if (Date.now() > until) throw new Error(`expected ${n} of ${locator}, found ${await locator.count()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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

// A schedule: the cron field shows the next five fire times as it is typed; then pause, delete.
async function schedulesFlow(page) {
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Schedules' }).click();
  await page.getByRole('heading', { name: 'Schedules', exact: true }).waitFor();
  const form = page.getByRole('form', { name: 'New schedule' });
  await form.getByLabel('Name').fill('e2e-nightly');
  await form.getByLabel('Cron expression').fill('15 3 * * *');
  const times = form.getByRole('list', { name: 'Next fire times' }).locator('time');
  await waitCount(times, 5);
  const first = await times.first().getAttribute('datetime');
  check(/T\d\d:15:00/.test(first ?? ''), `the cron field previews five fire times (first ${first})`);
  await form.getByLabel('Cron expression').fill('61 * * * *');
  await form.getByText(/out of range/).waitFor();
  check(true, 'a bad cron shows the server\'s message');
  await form.getByLabel('Cron expression').fill('15 3 * * *');
  await form.getByLabel('Selector').check();
  await form.getByLabel('Tag selector').fill('!e2e-none');
  await form.getByLabel('Command', { exact: true }).fill('uname -a');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await page.getByRole('cell', { name: 'e2e-nightly', exact: true }).waitFor();
  await page.screenshot({ path: join(shots, 'schedules.png'), fullPage: true });
  await axe(page, 'schedules');
  await page.getByRole('button', { name: 'Pause e2e-nightly' }).click();
  await page.getByRole('button', { name: 'Resume e2e-nightly' }).waitFor();
  check(true, 'the schedule is paused');
  await page.getByRole('button', { name: 'Delete e2e-nightly' }).click();
  await page.getByRole('group', { name: 'Confirm deleting e2e-nightly' }).getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByRole('cell', { name: 'e2e-nightly', exact: true }).waitFor({ state: 'detached' });
  check(true, 'the schedule is deleted');
}

// Administration: a token made in the panel enrols a fourth agent (this hecs-agent, started here
// with the install command the panel shows); an API key made in the panel works until revoked
// there; the audit chain verifies.
async function adminFlow(page) {
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Administration' }).click();
  await page.getByRole('heading', { name: 'Enrolment tokens' }).waitFor();
  const tokenForm = page.getByRole('form', { name: 'Create an enrolment token' });
  await tokenForm.getByLabel('Description').fill('e2e fourth agent');
  await tokenForm.getByLabel('Max uses').fill('1');
  await tokenForm.getByLabel('Accept devices at once (auto-approve)').check();
  await tokenForm.getByRole('button', { name: 'Create token' }).click();
  await page.getByRole('heading', { name: 'Token created: copy it now' }).waitFor();
  const install = await page.getByRole('textbox', { name: 'Install command' }).inputValue();
  const words = install.trim().split(/\s+/);
  check(words[0] === 'hecs-agent' && words.includes('--enroll-token') && words.includes('--control-ca-sha256'),
    `the panel shows the install command (${install.replace(/--enroll-token \S+/, '--enroll-token …')})`);
  await page.screenshot({ path: join(shots, 'admin-token.png'), fullPage: true });
  await axe(page, 'admin-token');
  await page.getByRole('button', { name: 'Done' }).click();
  fourth = spawn(process.env.HECS_E2E_AGENT, [...words.slice(1), '--state-dir', process.env.HECS_E2E_AGENT_DIR,
    '--enroll-file', '', '--telemetry-interval', '1', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  fourth.stderr.on('data', (d) => { fourthLog += d; });
  await nav.getByRole('link', { name: 'Fleet' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="count-online"]')?.textContent) === 4, null, { timeout: 30000 })
    .catch((e) => { throw new Error(`${e.message}\nfourth agent's log:\n${fourthLog}`); });
  check(true, 'the fourth agent, installed with the command the panel showed, is online');

  // An API key made in the panel works until it is revoked there.
  await nav.getByRole('link', { name: 'Administration' }).click();
  await page.getByRole('navigation', { name: 'Administration sections' }).getByRole('link', { name: 'API keys' }).click();
  const keyForm = page.getByRole('form', { name: 'Create an API key' });
  await keyForm.getByLabel('Key name').fill('e2e-key');
  await keyForm.getByLabel('Key role').selectOption('viewer');
  await keyForm.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('heading', { name: 'Key created: copy it now' }).waitFor();
  const key = await page.getByRole('textbox', { name: 'API key' }).inputValue();
  await page.getByRole('button', { name: 'Done' }).click();
  const api = await request.newContext({ ignoreHTTPSErrors: true });
  const withKey = async () => (await api.get(url + '/api/v1/devices?limit=1', { headers: { Authorization: 'Bearer ' + key } })).status();
  check((await withKey()) === 200, 'the new key is accepted by the API');
  await page.getByRole('button', { name: /^Revoke key e2e-key / }).click();
  await page.getByRole('button', { name: 'Yes, revoke' }).click();
  await page.getByText(/The key e2e-key .* is revoked/).waitFor();
  check((await withKey()) === 401, 'once revoked in the panel, the key is refused by the API');
  await api.dispose();
  await page.screenshot({ path: join(shots, 'admin-keys.png'), fullPage: true });
  await axe(page, 'admin-keys');

  // The audit chain, with a signed checkpoint of its head, verifies.
  const signed = await page.evaluate(async () => (await fetch('/api/v1/audit/checkpoints', {
    method: 'POST', headers: { 'X-CSRF-Token': sessionStorage.getItem('hecs.csrf') ?? '' } })).status);
  check(signed === 201 || signed === 200, `a checkpoint is signed (${signed})`);
  await page.getByRole('navigation', { name: 'Administration sections' }).getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('button', { name: 'Verify chain' }).click();
  const verdict = page.getByTestId('verify-result');
  await verdict.filter({ hasText: /Chain/ }).waitFor();
  const text = await verdict.textContent();
  check(/^Chain OK: \d+ records and [1-9]\d* signed checkpoints? verified\./.test(text ?? ''), `audit verify shows OK (${text})`);
  await page.screenshot({ path: join(shots, 'admin-audit.png'), fullPage: true });
  await axe(page, 'admin-audit');
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

  // The superadmin signs in and sees the three agents online.
  await signIn(page, adminUser, adminPassword);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="count-online"]')?.textContent) === 3);
  await page.locator('.badge.online').nth(2).waitFor();
  check(true, 'the Fleet page counts 3 devices online and lists them online');
  // The virtual list's arithmetic counts on rows of one height (kRowHeight, 40 px): no cell wraps.
  const heights = await page.evaluate(() => [...document.querySelectorAll('tr[data-device]')].map((r) => r.getBoundingClientRect().height));
  check(heights.length === 3 && heights.every((h) => Math.abs(h - 40) < 0.5), `every device row is 40 px high (${heights.join(', ')})`);
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

  // Filters go to the server: no device is pending, then the filter is cleared.
  await page.getByRole('group', { name: 'State' }).getByLabel('pending').check();
  await page.getByText('No device matches these filters.').waitFor();
  check((await page.locator('tr[data-device]').count()) === 0, 'the pending filter lists no device');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await waitCount(page.locator('tr[data-device]'), 3);

  // A device's page: its inventory and live charts of the last hour.
  await page.locator('tr[data-device] a').first().click();
  await page.getByRole('heading', { name: 'Telemetry' }).waitFor();
  await page.getByRole('img', { name: /^CPU, last hour; latest / }).waitFor({ timeout: 20000 });
  check((await page.getByTestId('device-online').textContent()) === 'online', 'the device page shows the device online');
  await page.getByRole('button', { name: 'Last day' }).click();
  await page.getByRole('img', { name: /^CPU, last day; latest / }).waitFor({ timeout: 20000 });
  check(true, 'the device page charts the last hour and the last day');
  await page.screenshot({ path: join(shots, 'device.png'), fullPage: true });
  await axe(page, 'device');
  await page.goBack();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();

  await tasksFlow(page);
  await schedulesFlow(page);
  await adminFlow(page);

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
  await page.locator('tr[data-device]').first().waitFor();
  check((await page.getByRole('button', { name: /^(Accept|Reject|Revoke|Edit tags of) / }).count()) === 0,
    'a viewer sees the devices but no Accept, Reject, Revoke or Tags button');
  const users = await page.evaluate(async () => (await fetch('/api/v1/users')).status);
  check(users === 403, 'the API refuses the viewer the user list');
  // A mutating request crafted from the viewer's own session (cookie and CSRF token both right)
  // is refused by the API, and nothing is made.
  const crafted = await page.evaluate(async () => {
    const count = async () => (await (await fetch('/api/v1/tasks?limit=100')).json()).items.length;
    const before = await count();
    const headers = { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('hecs.csrf') ?? '' };
    const task = await fetch('/api/v1/tasks', { method: 'POST', headers, body: JSON.stringify({ target: { selector: 'x' }, command: { argv: ['true'] } }) });
    const key = await fetch('/api/v1/keys', { method: 'POST', headers, body: JSON.stringify({ name: 'viewer-made', role: 'owner' }) });
    return { task: task.status, key: key.status, made: (await count()) - before };
  });
  check(crafted.task === 403 && crafted.key === 403 && crafted.made === 0,
    `the viewer's crafted POST /tasks and /keys are refused (${crafted.task}, ${crafted.key}) and no task is made`);
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
  console.error('e2e: over 140 s, giving up');
  process.exitCode = 3;
  void context?.close().finally(() => process.exit(3));
}, 140000);

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
    // The refusals the script asks for (a bad cron 400, the expired session 401, the viewer 403)
    // are logged by Chromium as failed loads; anything else is a problem.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[013]/.test(m.text())) problems.push('console: ' + m.text());
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
  fourth?.kill('SIGTERM');
  rmSync(userDataDir, { recursive: true, force: true });
}
