// test-actions.mjs - the web UI's sign-in and actions in a real browser
// (Debian's chromium driven by playwright-core).
//
// A real `tock serve` with one long noop job (realm ci: anonymous reads,
// user:o@example.com owns) and an --auth-tokens file.  In headless
// chromium: anonymous sees the action buttons disabled and a Login link;
// signs in through /login with the token (the session cookie must be
// HttpOnly and SameSite=Strict); pauses with a reason (shown on the page,
// and paused per the pRPC API's GetJobs); Trigger on the paused job is
// LUCI's 409; resumes; triggers (an invocation appears through the API);
// aborts that invocation from its page and another one with the job's
// Abort (ABORTED through the API); logs out.  Pages must have no console
// error and no CSP violation.  Screenshots go to build/browser-screenshots/.
//
// Exit 0 = pass, 1 = fail, 77 = skipped (no chromium, no playwright-core).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const TOCK = process.env.TOCK || join(here, '../../build/tock');
const SKIP = 77;

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(SKIP);
}

if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} is not installed (scripts/install-deps installs it)`);
if (!existsSync(TOCK)) skip(`no tock binary at ${TOCK}`);
if (!existsSync(join(here, 'node_modules/playwright-core'))) {
  console.log('installing playwright-core (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit', timeout: 180000 });
  if (r.status !== 0) skip('npm ci failed: cannot install playwright-core');
}
const { chromium } = await import('playwright-core');

const tmp = mkdtempSync(join(tmpdir(), 'tock-browser-actions-'));
const shots = join(dirname(TOCK), 'browser-screenshots');
const children = [];
let failures = 0;

function check(ok, what) {
  if (ok) {
    console.log(`ok: ${what}`);
  } else {
    console.log(`FAIL: ${what}`);
    failures++;
  }
}

const project = 'demo', job = 'sleepy', token = 'tok-owner-7f3a';
const reason = 'maintenance <b>window</b> & "quotes"';

// Starts TOCK with args; resolves with the URL it prints ("listening on http://...").
function start(args, name) {
  return new Promise((resolve, reject) => {
    const p = spawn(TOCK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(p);
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err.slice(-2000)}`)), 10000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^ \n]*)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    p.stderr.on('data', (d) => { err += d; if (err.length > 65536) err = err.slice(-32768); });
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited ${code}: ${err.slice(-2000)}`)); });
  });
}

async function rpc(server, method, body) {
  const r = await fetch(`${server}/prpc/scheduler.Scheduler/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await r.text();
  if (r.headers.get('x-prpc-grpc-code') !== '0') throw new Error(`${method}: ${text}`);
  return JSON.parse(text.replace(/^\)\]\}'\n/, ''));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function jobPaused(server) {
  const r = await rpc(server, 'GetJobs', { project });
  return !!(r.jobs || []).find((j) => j.jobRef.job === job).paused;
}

async function invocations(server) {
  const r = await rpc(server, 'GetInvocations', { jobRef: { project, job }, pageSize: 10 });
  return r.invocations || [];
}

// Polls the API (at most 30 s) until pred(invocations) gives a value.
async function waitInvocations(server, pred, what) {
  for (let i = 0; i < 150; i++) {
    const v = pred(await invocations(server));
    if (v) return v;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function serve() {
  mkdirSync(join(tmp, 'cfg', project), { recursive: true });
  writeFileSync(join(tmp, 'cfg', project, 'luci-scheduler.cfg'),
    `job { id: "${job}" realm: "ci" schedule: "triggered" noop { sleep_ms: 600000 } }\n`);
  writeFileSync(join(tmp, 'cfg', project, 'realms.cfg'), `realms { name: "ci"
  bindings { role: "role/scheduler.reader" principals: "anonymous:anonymous" }
  bindings { role: "role/scheduler.owner" principals: "user:o@example.com" } }
`);
  writeFileSync(join(tmp, 'tokens'), `${token} user:o@example.com\n`);
  return start(['serve', '--config', join(tmp, 'cfg'), '--db', `sqlite:${join(tmp, 'tock.db')}`,
    '--listen', '127.0.0.1:0', '--auth-tokens', join(tmp, 'tokens'),
    '--triage-throttle', '200ms', '--launch-delay', '100ms'], 'tock serve');
}

function watch(page) {
  const errors = [];
  page.on('console', (m) => {
    // The 401 (bad token) and 409 pages are answers we asked for; anything else is an error.
    if (/Content Security Policy/i.test(m.text()) || (m.type() === 'error' && !/status of (401|409)/.test(m.text())))
      errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

async function shot(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `actions-${name}.png`), fullPage: true });
}

async function main() {
  const server = await serve();
  const jobUrl = `${server}/jobs/${project}/${job}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watch(page);

    // Anonymous: read-only.
    await page.goto(jobUrl, { timeout: 15000 });
    check(await page.locator('form.action-pauseJob button').isDisabled(), 'anonymous: Pause disabled');
    check(await page.locator('form.action-triggerJob button').isDisabled(), 'anonymous: Trigger disabled');
    check(await page.locator('a#login').isVisible(), 'anonymous: Login link');
    await shot(page, 'anonymous');

    // Sign in through /login.
    await page.click('a#login');
    check(new URL(page.url()).pathname === '/login', 'the Login link opens /login');
    await page.fill('input[name=token]', 'wrong-token');
    await page.click('form.login button[type=submit]');
    check((await page.locator('#error').innerText()).includes('Bad or unknown token.'), 'login: a bad token is refused');
    await page.fill('input[name=token]', token);
    await page.click('form.login button[type=submit]');
    check((await page.locator('header').innerText()).includes('Signed in as o@example.com'), 'login: "Signed in as o@example.com"');
    const cookie = (await context.cookies()).find((c) => c.name === 'tock_session');
    check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/',
      `login: session cookie HttpOnly, SameSite=Strict, Path=/ (${JSON.stringify(cookie)})`);
    check(cookie && !cookie.value.includes(token), 'login: the token is not in the cookie');

    // Pause with a reason.
    await page.goto(jobUrl, { timeout: 15000 });
    check(!(await page.locator('form.action-pauseJob button').isDisabled()), 'owner: Pause enabled');
    await page.fill('form.action-pauseJob input[name=reason]', reason);
    await page.click('form.action-pauseJob button');
    check(page.url() === jobUrl, `pause: back on the job page (${page.url()})`);
    const notice = await page.locator('#paused').innerText();
    check(notice.includes('Paused by o@example.com') && notice.includes(reason), `pause: notice shows who and the reason (${notice})`);
    check(await jobPaused(server), 'pause: GetJobs says paused');
    await shot(page, 'paused');

    // Trigger on a paused job: LUCI's 409.
    await page.click('form.action-triggerJob button');
    check((await page.locator('#error').innerText()).includes('Cannot trigger a paused job. Resume it first.'),
      'trigger while paused: 409 "Cannot trigger a paused job. Resume it first."');
    await page.goto(jobUrl, { timeout: 15000 });

    // Resume.
    await page.click('form.action-resumeJob button');
    check(page.url() === jobUrl && (await page.locator('#paused').count()) === 0, 'resume: the notice is gone');
    check(!(await jobPaused(server)), 'resume: GetJobs says not paused');

    // Trigger; then abort the invocation from its page.
    await page.click('form.action-triggerJob button');
    check(page.url() === jobUrl, 'trigger: back on the job page');
    const first = await waitInvocations(server, (v) => v.find((i) => !i.final), 'a running invocation');
    check(first.triggeredBy === 'user:o@example.com', `trigger: the invocation was triggered by the signed-in user (${first.triggeredBy})`);
    const id1 = first.invocationRef.invocationId;
    await page.goto(`${jobUrl}/${id1}`, { timeout: 15000 });
    await page.click('form.action-abortInvocation button');
    check(page.url() === `${jobUrl}/${id1}`, 'abort invocation: back on the invocation page');
    const aborted = await waitInvocations(server, (v) => v.find((i) => i.invocationRef.invocationId === id1 && i.final && i),
      'the aborted invocation');
    check(aborted.status === 'ABORTED', `abort invocation: GetInvocations says ${aborted.status}`);
    await page.reload();
    check((await page.locator('#status').innerText()).includes('ABORTED'), 'abort invocation: the page shows ABORTED');
    check(await page.locator('form.action-abortInvocation button').isDisabled(), 'abort invocation: Abort now disabled');

    // Trigger again; the job's Abort ends it.
    await page.goto(jobUrl, { timeout: 15000 });
    await page.click('form.action-triggerJob button');
    const second = await waitInvocations(server, (v) => v.find((i) => !i.final && i.invocationRef.invocationId !== id1),
      'a second running invocation');
    await page.goto(jobUrl, { timeout: 15000 });
    await page.click('form.action-abortJob button');
    check(page.url() === jobUrl, 'abort job: back on the job page');
    const id2 = second.invocationRef.invocationId;
    const done = await waitInvocations(server, (v) => v.find((i) => i.invocationRef.invocationId === id2 && i.final && i),
      'the job abort');
    check(done.status === 'ABORTED', `abort job: GetInvocations says ${done.status}`);
    await shot(page, 'aborted');

    // Log out.
    await page.click('button#logout');
    check(await page.locator('a#login').isVisible(), 'logout: the Login link is back');
    await page.goto(jobUrl, { timeout: 15000 });
    check(await page.locator('form.action-pauseJob button').isDisabled(), 'logout: Pause disabled again');
    check(errors.length === 0, `no console errors or CSP violations ${JSON.stringify(errors)}`);
  } finally {
    await browser.close();
  }
}

try {
  await main();
} catch (e) {
  console.log(`FAIL: ${e.stack || e}`);
  failures++;
} finally {
  for (const c of children) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
