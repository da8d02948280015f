'use strict';
// Runs a Playwright script exported by codesight.export_playwright() with
// @playwright/test against a fresh fixture shop and reports the end state
// the replay left: cart lines and quantities, orders, coupon, newsletter.
//
// Recorded scripts goto absolute URLs of the shop as it was served when
// recording, on a port that is gone now; the harness rewrites that origin
// (recordedOrigin) to the fresh shop's origin in the script text.
//
//   node test/replay/replay.js SCRIPT.js --origin http://127.0.0.1:8080
//   (prints {"ok":true,"state":{...}} or {"ok":false,"error":...})

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { serveShop } = require('../lib/shop');

const HERE = __dirname;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

// Reads the shop's state from the page; appended to every replayed script
// so that it runs in the test's own page after the last step.
const STATE_HOOK = `
// --- added by test/replay/replay.js: report the shop's end state ---
{
  const { test: replayTest } = require('@playwright/test');
  replayTest.afterEach(async ({ page }) => {
    const state = await page.evaluate(() => {
      const read = (k) => { try { return JSON.parse(localStorage.getItem(k)); } catch { return localStorage.getItem(k); } };
      return {
        url: location.href,
        cart: read('shop.cart') || [],
        orders: read('shop.orders') || [],
        coupon: localStorage.getItem('shop.coupon'),
        newsletter: localStorage.getItem('shop.newsletter'),
      };
    });
    require('node:fs').writeFileSync(process.env.CS_REPLAY_STATE, JSON.stringify(state));
  });
}
`;

// Escapes a string for use inside a RegExp.
function reEscape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Replaces the recorded origin with the fresh one wherever it starts a URL.
function rewriteOrigin(script, recordedOrigin, origin) {
  if (!recordedOrigin || recordedOrigin === origin) return script;
  return script.replace(new RegExp(reEscape(recordedOrigin) + '(?=[/"?#]|$)', 'g'), origin);
}

// Runs one exported script.  Resolves to {ok, state, output, script}:
// ok is the Playwright exit status, state what the page held at the end
// (null when the test failed before the hook ran).
async function replay(script, { recordedOrigin, env = {}, timeoutMs = 120000 } = {}) {
  const shop = await serveShop();
  const runsDir = path.join(HERE, '.runs');
  fs.mkdirSync(runsDir, { recursive: true });
  // Inside test/replay so that require('@playwright/test') resolves.
  const dir = fs.mkdtempSync(path.join(runsDir, 'run-'));
  try {
    const rewritten = rewriteOrigin(script, recordedOrigin, shop.origin);
    fs.writeFileSync(path.join(dir, 'session.spec.js'), rewritten + STATE_HOOK);
    writeConfig(dir);
    const stateFile = path.join(dir, 'state.json');
    const cli = path.join(HERE, 'node_modules', '@playwright', 'test', 'cli.js');
    const { code, output } = await run(process.execPath, [cli, 'test', '--config', path.join(dir, 'playwright.config.js')], {
      cwd: dir,
      env: { ...process.env, ...env, CS_REPLAY_STATE: stateFile, PLAYWRIGHT_BROWSERS_PATH: '0', CI: '1' },
      timeoutMs,
    });
    const state = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : null;
    return { ok: code === 0, state, output, script: rewritten };
  } finally {
    await shop.close();
    if (!process.env.KEEP_REPLAY) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The Playwright configuration of a replay run in dir.
function writeConfig(dir, { workers = 1, reporter = "'line'" } = {}) {
  fs.writeFileSync(path.join(dir, 'playwright.config.js'), `
module.exports = {
  testDir: __dirname,
  timeout: 60000,
  workers: ${workers},
  retries: 0,
  reporter: ${reporter},
  outputDir: require('node:path').join(__dirname, 'out'),
  use: {
    headless: true,
    actionTimeout: 10000,
    navigationTimeout: 15000,
    launchOptions: { executablePath: ${JSON.stringify(CHROMIUM)}, args: ${JSON.stringify(CHROMIUM_ARGS)} },
  },
};
`);
}

// Replays many scripts in one Playwright run, two at a time, each in its
// own browser context. specs: [{name, script, rewrite: [[from, to]], env,
// stateHook, expected}]: each script gets its origins rewritten, `env` set
// before its test runs (its masked values' parameters), and stateHook (a
// function's source, run in the page after the last step) reporting the end
// state, once it equals `expected` or after 5 s: the last step's effects
// (a message from a frame, a timer) may still be on their way.
// Resolves to {name: {ok, state, error}}.
async function replayMany(specs, { timeoutMs = 600000 } = {}) {
  const runsDir = path.join(HERE, '.runs');
  fs.mkdirSync(runsDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(runsDir, 'batch-'));
  try {
    for (const spec of specs) {
      let script = spec.script;
      for (const [from, to] of spec.rewrite || []) script = rewriteOrigin(script, from, to);
      const stateFile = path.join(dir, spec.name + '.state.json');
      fs.writeFileSync(path.join(dir, spec.name + '.spec.js'), script + `
// --- added by test/replay/replay.js: test data for the parameters, and the end state ---
{
  const { test: replayTest } = require('@playwright/test');
  replayTest.beforeAll(() => { Object.assign(process.env, ${JSON.stringify(spec.env || {})}); });
  replayTest.afterEach(async ({ page }) => {
    const settled = ${JSON.stringify(`JSON.stringify((${spec.stateHook})()) === ${JSON.stringify(JSON.stringify(spec.expected))}`)};
    await page.waitForFunction(settled, null, { timeout: 5000 }).catch(() => {});
    const state = await page.evaluate(${spec.stateHook});
    require('node:fs').writeFileSync(${JSON.stringify(stateFile)}, JSON.stringify(state));
  });
}
`);
    }
    const report = path.join(dir, 'report.json');
    writeConfig(dir, { workers: 2, reporter: `[['json', { outputFile: ${JSON.stringify(report)} }]]` });
    const cli = path.join(HERE, 'node_modules', '@playwright', 'test', 'cli.js');
    const { output } = await run(process.execPath, [cli, 'test', '--config', path.join(dir, 'playwright.config.js')], {
      cwd: dir, env: { ...process.env, PLAYWRIGHT_BROWSERS_PATH: '0', CI: '1' }, timeoutMs,
    });
    const results = {};
    const parsed = fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : { suites: [] };
    for (const suite of parsed.suites || []) {
      const name = suite.file.replace(/\.spec\.js$/, '');
      const tests = (suite.specs || []).flatMap((sp) => sp.tests || []);
      const last = tests.flatMap((t) => t.results || []).pop();
      const stateFile = path.join(dir, name + '.state.json');
      results[name] = {
        ok: !!last && last.status === 'passed',
        state: fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : null,
        error: last && last.error ? String(last.error.message || '').slice(0, 3000) : null,
      };
    }
    for (const spec of specs) if (!results[spec.name]) results[spec.name] = { ok: false, state: null, error: output.slice(-3000) };
    return results;
  } finally {
    if (!process.env.KEEP_REPLAY) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Runs a child process, collecting its output, killing it past the deadline.
function run(cmd, args, { cwd, env, timeoutMs }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { output += '\n[replay: killed after timeout]'; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

// The comparable part of an end state: cart lines and quantities, orders
// (lines, country, account, card's last 4 digits), coupon, newsletter.
function summarize(state) {
  if (!state) return null;
  const line = (l) => ({ id: l.id, size: l.size, color: l.color, qty: l.qty });
  return {
    cart: (state.cart || []).map(line),
    orders: (state.orders || []).map((o) => ({
      lines: o.lines.map(line), name: o.name, city: o.city, country: o.country,
      email: o.email, account: o.account, cardLast4: o.cardLast4,
    })),
    coupon: state.coupon ?? null,
    newsletter: state.newsletter ?? null,
  };
}

module.exports = { replay, replayMany, rewriteOrigin, summarize, CHROMIUM_ARGS };

if (require.main === module) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const oi = args.indexOf('--origin');
  if (!file) {
    console.error('usage: node test/replay/replay.js SCRIPT.js [--origin RECORDED_ORIGIN]');
    process.exit(2);
  }
  replay(fs.readFileSync(file, 'utf8'), { recordedOrigin: oi >= 0 ? args[oi + 1] : undefined }).then((r) => {
    if (!r.ok) process.stderr.write(r.output);
    process.stdout.write(JSON.stringify({ ok: r.ok, state: r.state }, null, 2) + '\n');
    process.exit(r.ok ? 0 : 1);
  });
}
