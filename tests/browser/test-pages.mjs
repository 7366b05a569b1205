// test-pages.mjs - tock's web UI in a real browser (Debian's chromium driven
// by playwright-core).
//
// Replays the 2025 seed page (../shared/seeds/000_*.txt) as
// tests/e2e/test-seeds.sh does: a real `tock serve` schedules the seed's
// build on the Buildbucket emulator, which plays it to SUCCESS.  Then, in
// headless chromium, the invocation page must show the seed's Status,
// Incoming properties, Incoming tags and debug-log messages (expected text
// taken from the seed file), and /, the project page and the job page must
// render with no console error and no CSP violation.  Screenshots go to
// build/browser-screenshots/.
//
// Exit 0 = pass, 1 = fail, 77 = skipped (no chromium, no playwright-core).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const TOCK = process.env.TOCK || join(here, '../../build/tock');
const seedsDir = join(here, '../../../shared/seeds');
const SKIP = 77;

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(SKIP);
}

if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} is not installed (scripts/install-deps installs it)`);
if (!existsSync(TOCK)) skip(`no tock binary at ${TOCK}`);
if (!existsSync(seedsDir)) skip(`no seeds at ${seedsDir}`);
if (!existsSync(join(here, 'node_modules/playwright-core'))) {
  console.log('installing playwright-core (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit', timeout: 180000 });
  if (r.status !== 0) skip('npm ci failed: cannot install playwright-core');
}
const { chromium } = await import('playwright-core');

const seedFile = join(seedsDir, readdirSync(seedsDir).find((f) => f.startsWith('000_')));
const seed = readFileSync(seedFile, 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'tock-browser-'));
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

// --- what the seed page shows --------------------------------------------------
function seedSection(title, next) {
  const start = seed.indexOf(`\n${title}\n`);
  const end = seed.indexOf(`\n${next}\n`, start + 1);
  return seed.slice(start + title.length + 2, end).trim();
}
const want = {
  status: seed.split('\n')[0], // "Status: SUCCEEDED"
  properties: seedSection('Incoming properties', 'Incoming tags'),
  tags: seedSection('Incoming tags', 'Debug log (UTC)').split('\n').map((l) => l.replace(/^\s*•\s*/, '')),
  // Every debug-log message of the seed without numbers that vary from run to
  // run (ids, times, durations), as tests/e2e/seedlog.py finds the same kinds.
  log: [...new Set(seed.split('\n')
    .map((l) => /^\[\d\d:\d\d:\d\d\.\d\d\d\] (.*)$/.exec(l))
    .filter((m) => m && !/\d\d/.test(m[1].replace(/[0-9a-f]{40}/g, '')))
    .map((m) => m[1]))],
  finalStatus: / with status (\w+)$/.exec(seed.trim().split('\n').pop())[1],
  // "buildbucket: <" ... ">" between "Definition (rev ...)" and "Incoming triggers".
  definition: /\nDefinition \(rev [^)]*\)\n\n([\s\S]*?)\n\nIncoming triggers\n/.exec(seed)[1].trim(),
};

// --- servers ----------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

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
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await r.text();
  if (r.headers.get('x-prpc-grpc-code') !== '0') throw new Error(`${method}: ${text}`);
  return JSON.parse(text.replace(/^\)\]\}'\n/, ''));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const project = 'pigweed', job = 'pigweed.dev.ci-pigweed-linux-zephyr';
const sha = '59e0a8f4a6f6185007a20e61c81962b6198f62d4';
const repo = 'https://pigweed.googlesource.com/pigweed/pigweed';

async function replaySeed() {
  mkdirSync(join(tmp, 'cfg', project), { recursive: true });
  writeFileSync(join(tmp, 'cfg', project, 'luci-scheduler.cfg'), `job {
  id: "${job}"
  realm: "dev.ci"
  schedule: "triggered"
  buildbucket: {
    server: "cr-buildbucket.appspot.com"
    bucket: "pigweed.dev.ci"
    builder: "pigweed-linux-zephyr"
  }
}
`);
  // Anonymous may see and trigger the job (pages are opened without a token).
  writeFileSync(join(tmp, 'cfg', project, 'realms.cfg'),
    'realms { name: "@root"\n  bindings { role: "role/scheduler.triggerer" principals: "anonymous:anonymous" } }\n');
  writeFileSync(join(tmp, 'builders.json'), JSON.stringify({
    builders: [{ project, bucket: 'pigweed.dev.ci', builder: 'pigweed-linux-zephyr', queue: '7s', run: '2s', outcome: 'SUCCESS' }],
  }));
  const port = await freePort();
  const emu = await start(['buildbucket-emulator', '--builders', join(tmp, 'builders.json'), '--listen', '127.0.0.1:0',
    '--push', `http://127.0.0.1:${port}/pubsub?kind=buildbucket`], 'the emulator');
  const server = await start(['serve', '--config', join(tmp, 'cfg'), '--db', `sqlite:${join(tmp, 'tock.db')}`,
    '--listen', `127.0.0.1:${port}`, '--triage-throttle', '200ms', '--launch-delay', '100ms',
    '--host-map', `cr-buildbucket.appspot.com=${emu}`,
    '--pubsub-topic', 'projects/luci-scheduler/topics/scheduler.buildbucket',
    '--hostname', 'luci-scheduler.appspot.com', '--app-id', 'luci-scheduler', '--buildbucket-poll', '3s,4s'], 'tock serve');
  await rpc(server, 'EmitTriggers', {
    batches: [{
      trigger: {
        id: `${repo}/+/refs/heads/main@${sha}`, title: sha, url: `${repo}/+/${sha}`,
        gitiles: { repo, ref: 'refs/heads/main', revision: sha },
      },
      jobs: [{ project, job }],
    }],
  });
  for (let i = 0; i < 300; i++) { // 60 s at most
    const r = await rpc(server, 'GetInvocations', { jobRef: { project, job }, pageSize: 1 });
    const inv = (r.invocations || [])[0];
    if (inv && inv.final) return { server, id: inv.invocationRef.invocationId };
    await sleep(200);
  }
  throw new Error('the replayed invocation did not finish within 60 s');
}

// --- the browser ------------------------------------------------------------------
// Desktop (1280 px) and phone (390 px) screenshots; at phone width the page
// must not scroll sideways (long text wraps, wide tables scroll in place).
async function screenshots(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, `${name}-phone.png`), fullPage: true });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `${name}: no sideways scroll at phone width (${wide} px)`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

// A second build, opened while it runs: the invocation page's status and
// debug log and the job page's table must change without a reload.
async function liveCheck(browser, server, firstId) {
  const sha2 = '0123456789abcdef0123456789abcdef01234567';
  await rpc(server, 'EmitTriggers', {
    batches: [{
      trigger: { id: `${repo}/+/refs/heads/main@${sha2}`, title: sha2, url: `${repo}/+/${sha2}`,
        gitiles: { repo, ref: 'refs/heads/main', revision: sha2 } },
      jobs: [{ project, job }],
    }],
  });
  let id2 = null;
  for (let i = 0; i < 100 && !id2; i++) { // 10 s at most
    const r = await rpc(server, 'GetInvocations', { jobRef: { project, job }, pageSize: 1 });
    const inv = (r.invocations || [])[0];
    if (inv && inv.invocationRef.invocationId !== firstId) id2 = inv.invocationRef.invocationId;
    else await sleep(100);
  }
  if (!id2) throw new Error('the second invocation did not start within 10 s');
  const jobPage = await openPage(browser, `${server}/jobs/${project}/${job}`, 'job-live');
  const inv = await openPage(browser, `${server}/jobs/${project}/${job}/${id2}`, 'invocation-live');
  let navigations = 0;
  inv.page.on('framenavigated', () => navigations++);
  jobPage.page.on('framenavigated', () => navigations++);
  const before = (await inv.page.locator('#status').innerText()).trim();
  const logBefore = await inv.page.locator('#debug-log').innerText();
  check(!/SUCCEEDED|FAILED|ABORTED/.test(before), `invocation-live: opened while active (${before})`);
  check(await jobPage.page.locator('#invocations[data-active="1"] tr.sep').count() === 1,
    'job-live: active invocations above a separator');
  await inv.page.waitForFunction(() => /SUCCEEDED|FAILED|ABORTED/.test(document.getElementById('status').innerText),
    null, { timeout: 60000, polling: 250 });
  const after = (await inv.page.locator('#status').innerText()).trim();
  const logAfter = await inv.page.locator('#debug-log').innerText();
  check(after === want.status.replace(/^Status: /, ''), `invocation-live: status became ${after} without reload`);
  check(logAfter.length > logBefore.length && logAfter.startsWith(logBefore.trimEnd()),
    'invocation-live: the debug log grew in place');
  check(logAfter.includes(`with status ${want.finalStatus}`), 'invocation-live: the final log line arrived');
  check(await inv.page.evaluate(() => document.body.getAttribute('data-live')) === 'final',
    'invocation-live: polling stopped at the final state');
  await jobPage.page.waitForFunction(() => !document.querySelector('#invocations[data-active]'),
    null, { timeout: 30000, polling: 250 });
  const row = await jobPage.page.locator(`#invocations tr:has(a:text-is("${id2}"))`).innerText();
  check(/SUCCEEDED/.test(row), `job-live: the table shows ${id2} SUCCEEDED without reload`);
  const state = (await jobPage.page.locator('#state').innerText()).trim();
  check(state === 'WAITING', `job-live: the state became ${state} (a triggered job, spec 3.2) without reload`);
  check(navigations === 0, 'live pages: no reload');
  await screenshots(inv.page, 'invocation-live-final');
  await screenshots(jobPage.page, 'job-live-final');
  check(inv.errors.length === 0 && jobPage.errors.length === 0,
    `live pages: no console errors or CSP violations ${JSON.stringify([...inv.errors, ...jobPage.errors])}`);
}

async function openPage(browser, url, name) {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  const resp = await page.goto(url, { waitUntil: 'load', timeout: 15000 });
  check(resp.status() === 200, `${name}: HTTP 200 (got ${resp.status()})`);
  const csp = resp.headers()['content-security-policy'] || '';
  check(/default-src 'none'/.test(csp) && /script-src 'self'/.test(csp), `${name}: strict Content-Security-Policy`);
  check(resp.headers()['x-content-type-options'] === 'nosniff', `${name}: nosniff`);
  // The embedded style sheet is allowed by the CSP and applied.
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.navbar')).backgroundColor);
  check(bg === 'rgb(34, 34, 34)', `${name}: /static/style.css applied (navbar ${bg})`);
  // The only script allowed is the embedded same-origin live-update script.
  check(await page.locator('script:not([src="/static/live.js"]), style, [style]').count() === 0,
    `${name}: no inline script or style`);
  await screenshots(page, name);
  return { page, errors };
}

async function main() {
  const { server, id } = await replaySeed();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const inv = await openPage(browser, `${server}/jobs/${project}/${job}/${id}`, 'invocation');
    const text = await inv.page.locator('main').innerText();
    check(text.split('\n').includes(want.status), `invocation: "${want.status}"`);
    check(text.includes('Definition (rev '), 'invocation: Definition (rev ...)');
    const task = (await inv.page.locator('#task').innerText()).trim();
    check(task === want.definition, 'invocation: the task text is the seed\'s Definition');
    if (task !== want.definition) console.log(`got:\n${task}\nwant:\n${want.definition}`);
    check(text.includes('Incoming triggers'), 'invocation: Incoming triggers');
    const props = (await inv.page.locator('#properties').innerText()).trim();
    check(props === want.properties, 'invocation: Incoming properties as the seed shows them');
    if (props !== want.properties) console.log(`got:\n${props}\nwant:\n${want.properties}`);
    const tags = (await inv.page.locator('#tags li').allInnerTexts()).map((t) => t.trim());
    check(JSON.stringify(tags) === JSON.stringify(want.tags), `invocation: Incoming tags ${JSON.stringify(want.tags)}`);
    const log = await inv.page.locator('#debug-log').innerText();
    for (const m of want.log) check(log.includes(m), `invocation: debug log has "${m}"`);
    check(log.includes(`with status ${want.finalStatus}`), `invocation: debug log ends "with status ${want.finalStatus}"`);
    check(inv.errors.length === 0, `invocation: no console errors ${JSON.stringify(inv.errors)}`);

    for (const [name, path, needle] of [['index', '/', project], ['project', `/jobs/${project}`, job],
      ['job', `/jobs/${project}/${job}`, id]]) {
      const p = await openPage(browser, `${server}${path}`, name);
      check((await p.page.locator('main').innerText()).includes(needle), `${name}: shows ${needle}`);
      check(p.errors.length === 0, `${name}: no console errors or CSP violations ${JSON.stringify(p.errors)}`);
    }
    // The job page links to the invocation page.
    const jp = await browser.newPage();
    await jp.goto(`${server}/jobs/${project}/${job}`, { timeout: 15000 });
    await jp.click(`a:text-is("${id}")`, { timeout: 5000 });
    check(jp.url().endsWith(`/${id}`), 'job page: the invocation link opens the invocation page');
    await liveCheck(browser, server, id);
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
