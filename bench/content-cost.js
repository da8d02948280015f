'use strict';
// Main-thread cost of the extension's content script per user event, on a
// shop page of 10,000 elements, before and after a change (issue 18 item 2;
// goal: p95 < 4 ms while recording).
//
//   node bench/content-cost.js [--before REV] [--events N]
//
// Variants, each in a fresh Chromium profile: no extension (the page and
// the browser's own work per event), the extension at REV (default
// c41e0fc, before issue 18) recording, the extension of this checkout
// (extension-chrome/, built) idle and recording. Recording sends events to
// a server that is not there: they queue in the service worker, which runs
// in another process and is not measured.
//
// The same sequence of trusted input runs in each: per 20 events 12 mouse
// moves over product titles (mouseover), a click on an "Add to cart"
// button or a product image (920 of each on the page: the costliest
// targets to tell apart), 3 keys, 4 wheel turns. Events are 60 ms apart. A
// Chrome trace of the page's renderer main thread gives, per event, the
// time the extension's script ran from that event until the next (its
// listeners, and the timers, observers and idle callbacks they started,
// with the style and layout they forced), and all the main thread's work
// in that time for context. Times are the thread's CPU time (the trace's
// tdur), so that other processes on a loaded machine do not count. Figures per variant: p50, p95 and max per
// event, and per kind of event.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const { chromium } = require(path.join(ROOT, 'test', 'node_modules', 'playwright-core'));

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const BEFORE = opt('--before', 'c41e0fc');
const N = Number(opt('--events', '600'));
const GAP_MS = 60;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// A product listing of over 10,000 elements: 920 cards of 11 elements,
// shadow hosts among them, a search field, a header and a footer.
const CARDS = 920;
function shopPage() {
  const cards = [];
  for (let i = 0; i < CARDS; i++) {
    cards.push(`<li class="card c${i % 7}"><a href="#p${i}" class="thumb"><img alt="Product ${i}" width="60" height="40"></a>` +
      `<h3><a href="#p${i}">Product ${i} <span class="tag">new</span></a></h3><p class="price">$${10 + (i % 90)}.99</p>` +
      `<div class="actions"><button class="add">Add to cart</button><button aria-label="Save for later">♡</button>` +
      `${i % 20 === 0 ? '<rating-stars></rating-stars>' : '<span class="stock">in stock</span>'}</div></li>`);
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>Bench shop</title>
<style>body{font:14px sans-serif;margin:0}.grid{display:grid;grid-template-columns:repeat(5,1fr);gap:6px;list-style:none;padding:6px}
.card{border:1px solid #ddd;padding:4px}.card:hover .actions{outline:1px solid #f80}input{margin:6px}</style></head><body>
<header><nav><a href="#home">Home</a> <a href="#cart">Cart (<b>0</b>)</a></nav><input id="q" placeholder="Search products"></header>
<ul class="grid">${cards.join('')}</ul><footer><p>© Bench</p></footer>
<script>
customElements.define('rating-stars', class extends HTMLElement {
  connectedCallback() { this.attachShadow({ mode: 'open' }).innerHTML = '<button>★</button><button>★★</button>'; }
});
document.addEventListener('click', (e) => { if (e.target.closest('a')) e.preventDefault(); });
</script></body></html>`;
}

function serve(body) {
  const server = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(body); });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() })));
}

// The extension as it was at rev, in a temporary folder.
function extensionAt(rev) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ext-before-'));
  execFileSync('bash', ['-c', `git -C "${ROOT}" archive "${rev}" extension-chrome | tar -x -C "${dir}"`]);
  const ext = path.join(dir, 'extension-chrome');
  if (fs.existsSync(path.join(ext, 'build.mjs'))) {
    execFileSync('bash', ['-c', `cd "${ext}" && npm ci --no-audit --no-fund --loglevel=error && npm run -s build`]);
  }
  return ext;
}

// The trusted input of the benchmark, the same for every variant: [kind,
// action]. Raw mouse and keyboard input at coordinates found before the
// measurement: Playwright's own element lookups run on the page's main
// thread and would be measured too. Wheel turns come in pairs (down, then
// up), so the coordinates stay right.
async function sequence(page) {
  const points = await page.evaluate(() => {
    const centre = (el) => { const r = el.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; };
    const visible = (el) => { const r = el.getBoundingClientRect(); return r.top > 40 && r.bottom < innerHeight - 10; };
    return {
      titles: [...document.querySelectorAll('h3 a')].filter(visible).map(centre),
      adds: [...document.querySelectorAll('button.add')].filter(visible).map(centre),
      thumbs: [...document.querySelectorAll('a.thumb')].filter(visible).map(centre),
    };
  });
  const at = (list, i) => list[i % list.length];
  // Per 20 events, as a person shopping a listing makes them: 12 mouse
  // moves to another product, one click (on "Add to cart" or a product
  // image, in turn), 3 keys, 4 wheel turns (two down, two up).
  const steps = [];
  for (let i = 0; i < N; i++) {
    const k = i % 20;
    if (k < 12) { const p = at(points.titles, i * 7); steps.push(['mousemove', () => page.mouse.move(p.x, p.y, { steps: 2 })]); }
    else if (k === 12) { const p = at(i % 40 === 12 ? points.adds : points.thumbs, i * 3); steps.push(['click', () => page.mouse.click(p.x, p.y)]); }
    else if (k < 16) steps.push(['key', () => page.keyboard.press(['ArrowDown', 'Tab', 'a'][k - 13])]);
    else steps.push(['wheel', () => page.mouse.wheel(0, k < 18 ? 300 : -300)]);
  }
  return steps;
}

async function readTrace(cdp, stream) {
  let text = '';
  for (;;) {
    const { data, eof, base64Encoded } = await cdp.send('IO.read', { handle: stream });
    text += base64Encoded ? Buffer.from(data, 'base64').toString() : data;
    if (eof) break;
  }
  await cdp.send('IO.close', { handle: stream });
  return JSON.parse(text).traceEvents;
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] : 0; };

async function measure(name, extDir, recording) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-bench-profile-'));
  const extArgs = extDir ? [`--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`] : [];
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', ...extArgs],
  });
  const site = await serve(shopPage());
  try {
    if (extDir && recording) {
      const sw = ctx.serviceWorkers()[0] || await ctx.waitForEvent('serviceworker');
      const control = await ctx.newPage();
      await control.goto(`chrome-extension://${new URL(sw.url()).host}/popup/popup.html`);
      const r = await control.evaluate(() => chrome.runtime.sendMessage({ type: 'start_tracking', sessionId: 'cs_bench_' + Date.now().toString(36), serverUrl: 'ws://127.0.0.1:9/extension-ws' }));
      if (!r || !r.ok) throw new Error('start_tracking: ' + JSON.stringify(r));
      await control.close();
    }
    const page = await ctx.newPage();
    await page.goto(site.url);
    await page.click('#q');
    await page.waitForTimeout(1000); // let load-time work settle before measuring
    const count = await page.evaluate(() => document.getElementsByTagName('*').length);
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Tracing.start', {
      transferMode: 'ReturnAsStream',
      traceConfig: { includedCategories: ['toplevel', 'devtools.timeline', 'blink.user_timing', 'disabled-by-default-devtools.timeline'] },
    });
    const steps = await sequence(page);
    const kinds = [];
    for (const [i, [kind, act]] of steps.entries()) {
      await page.evaluate((n) => performance.mark('bench-' + n), i);
      kinds.push(kind);
      await act();
      await page.waitForTimeout(GAP_MS); // spacing between a person's events, not synchronisation
    }
    await page.evaluate((n) => performance.mark('bench-' + n), kinds.length);
    const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.end');
    const events = await readTrace(cdp, (await done).stream);

    // The page's renderer main thread: where the marks are.
    const marks = events.filter((e) => e.cat && e.cat.includes('blink.user_timing') && /^bench-\d+$/.test(e.name));
    const pid = marks[0].pid;
    const tid = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.args.name === 'CrRendererMain').tid;
    const at = new Map();
    for (const m of marks) if (!at.has(m.name)) at.set(m.name, m.ts);
    const onMain = (e) => e.pid === pid && e.tid === tid && e.ph === 'X';
    const tasks = events.filter((e) => onMain(e) && e.name === 'ThreadControllerImpl::RunTask');
    // The extension's own script: calls into it (listeners, timers,
    // observers, idle callbacks), the outermost ones, with what they forced.
    const calls = events.filter((e) => onMain(e) && e.name === 'FunctionCall' && e.args && e.args.data &&
      String(e.args.data.url || '').startsWith('chrome-extension://')).sort((a, b) => a.ts - b.ts);
    const outer = [];
    for (const c of calls) if (!outer.length || c.ts >= outer[outer.length - 1].ts + outer[outer.length - 1].dur) outer.push(c);
    const perEvent = kinds.map((kind, i) => {
      const from = at.get('bench-' + i);
      const to = at.get('bench-' + (i + 1));
      const inWindow = (e) => e.ts >= from && e.ts < to;
      return {
        kind,
        busy: tasks.filter(inWindow).reduce((s, e) => s + (e.tdur ?? e.dur), 0) / 1000,
        script: outer.filter(inWindow).reduce((s, e) => s + (e.tdur ?? e.dur), 0) / 1000,
      };
    });
    return { name, elements: count, perEvent };
  } finally {
    site.close();
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function report(r) {
  const row = (label, xs) => `${label.padEnd(10)} ${String(xs.length).padStart(4)}  p50 ${pct(xs, 50).toFixed(2).padStart(6)}  p95 ${pct(xs, 95).toFixed(2).padStart(6)}  max ${Math.max(...xs).toFixed(2).padStart(7)}`;
  console.log(`\n${r.name} (page of ${r.elements} elements), ms per event:`);
  console.log('  the extension\'s script on the main thread, from the event to the next:');
  console.log('    ' + row('all', r.perEvent.map((e) => e.script)));
  for (const k of ['mousemove', 'click', 'key', 'wheel']) console.log('    ' + row(k, r.perEvent.filter((e) => e.kind === k).map((e) => e.script)));
  console.log('  all main-thread work (the page, rendering, the extension):');
  console.log('    ' + row('all', r.perEvent.map((e) => e.busy)));
  const of = (kind, f) => pct(r.perEvent.filter((e) => !kind || e.kind === kind).map(f), 95);
  return {
    name: r.name, elements: r.elements,
    p50: pct(r.perEvent.map((e) => e.script), 50), p95: of(null, (e) => e.script), max: Math.max(...r.perEvent.map((e) => e.script)),
    clickP95: of('click', (e) => e.script), busyP95: of(null, (e) => e.busy),
  };
}

module.exports = { shopPage };

if (require.main === module) (async () => {
  execFileSync('bash', [path.join(ROOT, 'scripts', 'build-extension.sh')], { stdio: 'inherit' });
  const before = extensionAt(BEFORE);
  const after = path.join(ROOT, 'extension-chrome');
  const results = [];
  try {
    results.push(report(await measure('no extension', null, false)));
    results.push(report(await measure(`before (${BEFORE}), recording`, before, true)));
    results.push(report(await measure('after (this checkout), idle', after, false)));
    results.push(report(await measure('after (this checkout), recording', after, true)));
  } finally {
    fs.rmSync(path.dirname(before), { recursive: true, force: true });
  }
  console.log('\nThe extension\'s main-thread time per event:\n');
  console.log('| variant | p50 | p95 | max | clicks p95 | all main-thread work p95 |\n|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.name} | ${r.p50.toFixed(2)} ms | ${r.p95.toFixed(2)} ms | ${r.max.toFixed(2)} ms | ${r.clickP95.toFixed(2)} ms | ${r.busyP95.toFixed(1)} ms |`);
  const out = path.join(__dirname, 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'content-cost.json'), JSON.stringify(results, null, 2));
})().catch((e) => { console.error(e); process.exit(1); });
