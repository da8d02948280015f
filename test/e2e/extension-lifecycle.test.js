'use strict';
// Navigation lifecycles with the real extension and worker: a page
// prerendered by speculation rules is no part of the session until the
// worker goes to it (then it is the tab's page: frame 0, no frame path, its
// load when it was shown), and a page restored from the back/forward cache
// records again, under the recording state of the moment (it was frozen
// while the worker paused). Driven over raw CDP (lib/cdp.js): Playwright
// would disable both prerendering and the back/forward cache.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startCluster, waitFor } = require('../lib/cluster');
const { launchRaw } = require('./lib/cdp');
const { EXTENSION_ID } = require('./lib/extension');

let cluster;
let site;
let chrome;
let go = false; // a.html goes to b.html once this is set

const BUTTON = 'position:fixed;left:20px;top:20px;width:200px;height:60px';
const PAGES = {
  '/a.html': `<!doctype html><title>Page A</title>
    <script type="speculationrules">{"prerender":[{"source":"list","urls":["/b.html"]}]}</script>
    <script>setInterval(async () => { if ((await (await fetch('/go')).text()) === 'yes') location.href = '/b.html'; }, 100);</script>
    <p>A</p>`,
  '/b.html': `<!doctype html><title>Page B</title>
    <script>addEventListener('pageshow', (e) => { if (e.persisted) window.restored = (window.restored || 0) + 1; });</script>
    <button id="buy" style="${BUTTON}">Buy B</button>
    <a id="next" href="/c.html" style="position:fixed;left:20px;top:120px;width:200px;height:40px;display:block">to C</a>`,
  '/c.html': '<!doctype html><title>Page C</title><p>C</p>',
};

before(async () => {
  cluster = await startCluster();
  site = http.createServer((req, res) => {
    if (req.url === '/go') { res.end(go ? 'yes' : 'no'); return; }
    const body = PAGES[req.url];
    res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html' });
    res.end(body || '');
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  chrome = await launchRaw();
});

after(async () => {
  try {
    if (chrome) await chrome.close();
  } finally {
    if (site) site.close();
    if (cluster) await cluster.destroy();
  }
});

async function events(sessionId) {
  return (await cluster.query('SELECT seq::int, type, page_url, payload FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId])).rows;
}

test('a prerendered page joins the session when shown; a page back from the cache records under the current state', { timeout: 120000 }, async () => {
  const origin = `http://127.0.0.1:${site.address().port}`;
  // The extension's popup, attached: the controls and chrome.* for the test.
  const { targetId: popupId } = await chrome.send('Target.createTarget', { url: `chrome-extension://${EXTENSION_ID}/popup/popup.html` });
  const popup = await chrome.attach(popupId);
  await waitFor(() => chrome.evaluate(popup, 'document.readyState === "complete" && !!chrome.runtime'), { what: 'popup loaded' });
  const tell = (msg) => chrome.evaluate(popup, `chrome.runtime.sendMessage(${JSON.stringify(msg)})`);
  await tell({ type: 'connect', serverUrl: cluster.wsUrl, token: '' });
  await waitFor(async () => (await tell({ type: 'status' })).connection === 'connected', { what: 'connected' });
  const sessionId = `cs_${Date.now().toString(36)}_life1`;
  assert.equal((await tell({ type: 'start_tracking', sessionId })).ok, true);

  // The worker's tab, which DevTools never attaches to while it prerenders.
  const tabId = await chrome.evaluate(popup, `chrome.tabs.create({ url: '${origin}/a.html', active: true }).then((t) => t.id)`);
  const frames = () => chrome.evaluate(popup, `chrome.webNavigation.getAllFrames({ tabId: ${tabId} })`);
  const prerendering = await waitFor(async () => (await frames()).find((f) => f.documentLifecycle === 'prerender' && f.url.endsWith('/b.html')),
    { timeoutMs: 20000, what: 'b.html prerendering' });
  assert.notEqual(prerendering.frameId, 0, 'a prerendered page is not frame 0');
  // Its content script has run (it loaded while prerendering) before the worker goes there.
  await waitFor(async () => (await events(sessionId)).some((e) => e.type === 'page' && /a\.html/.test(e.page_url)), { what: 'a.html loaded' });

  const shownAt = Date.now();
  go = true;
  await waitFor(async () => (await events(sessionId)).some((e) => e.type === 'page' && /b\.html/.test(e.page_url)),
    { timeoutMs: 20000, what: 'b.html load recorded' });
  const [b] = (await frames()).filter((f) => f.url.endsWith('/b.html'));
  assert.equal(b.documentId, prerendering.documentId, 'the prerendered document was shown, not loaded again');

  // Now the tab is b.html: attach to click as the worker would.
  const tab = (await chrome.targets()).find((t) => t.type === 'page' && t.url.endsWith('/b.html'));
  const page = await chrome.attach(tab.targetId);
  await chrome.click(page, 100, 50);
  await waitFor(async () => (await events(sessionId)).some((e) => e.type === 'click'), { what: 'click on b stored' });

  let list = await events(sessionId);
  const d = (e) => e.payload.data;
  const onB = list.filter((e) => /b\.html/.test(e.page_url || d(e).url || ''));
  const loads = onB.filter((e) => e.type === 'page' && d(e).action === 'load');
  assert.equal(loads.length, 1, `one load of b.html: ${JSON.stringify(onB.map((e) => e.payload))}`);
  assert.ok(loads[0].payload.timestamp >= shownAt,
    `recorded when the worker saw it, not when it prerendered (${shownAt - loads[0].payload.timestamp} ms before)`);
  assert.equal(d(loads[0]).prerendered, true);
  const nav = onB.find((e) => e.type === 'navigation');
  assert.ok(nav, 'the navigation to b.html is recorded');
  assert.equal(d(nav).frameId, 0);
  for (const e of onB) {
    assert.equal(e.payload.frameId ?? 0, 0, `${e.type} on b.html comes from the tab's page: ${JSON.stringify(e.payload)}`);
    assert.equal(d(e).topUrl, undefined, `${e.type} on b.html is no frame event`);
  }
  const click = onB.find((e) => e.type === 'click');
  assert.deepEqual(d(click).framePath, []);
  assert.equal(d(click).element.text, 'Buy B');

  // To c.html and back: b.html comes back from the back/forward cache, and
  // its return is on the timeline.
  await chrome.send('Page.enable', {}, page);
  const backToB = async (n) => {
    await chrome.click(page, 100, 140);
    await waitFor(async () => (await chrome.evaluate(page, 'location.pathname').catch(() => null)) === '/c.html', { what: 'on c.html' });
    return n;
  };
  const goBack = async (n) => {
    const history = await chrome.send('Page.getNavigationHistory', {}, page);
    await chrome.send('Page.navigateToHistoryEntry', { entryId: history.entries[history.currentIndex - 1].id }, page);
    await waitFor(async () => (await chrome.evaluate(page, 'window.restored || 0').catch(() => 0)) === n, { what: `b.html restored from the cache (${n})` });
  };
  await goBack(await backToB(1));
  await waitFor(async () => (await events(sessionId)).some((e) => e.type === 'page' && d(e).action === 'restored'), { what: 'the restore recorded' });
  list = await events(sessionId);
  const restored = list.find((e) => e.type === 'page' && d(e).action === 'restored');
  assert.match(restored.page_url, /b\.html/);
  const back = list.filter((e) => e.type === 'navigation' && /b\.html/.test(d(e).url));
  assert.ok(back.length === 2 && d(back[1]).transitionQualifiers.includes('forward_back'), `the back navigation: ${JSON.stringify(back.map((e) => d(e)))}`);

  // The worker pauses while b.html sits in the cache: the page, frozen
  // meanwhile, must not record once it is back, until the worker resumes.
  await backToB(2);
  await tell({ type: 'pause_tracking' });
  await goBack(2);
  const pausedClickAt = Date.now();
  await chrome.click(page, 100, 50);
  await tell({ type: 'resume_tracking' });
  const resumedAt = Date.now();
  // The page learns of the resume a moment later: click until one is recorded.
  await waitFor(async () => {
    await chrome.click(page, 100, 50);
    return (await events(sessionId)).some((e) => e.type === 'click' && e.payload.timestamp >= resumedAt);
  }, { intervalMs: 200, what: 'a click recorded after resume' });
  const duringPause = (await events(sessionId)).filter((e) => e.type === 'click' && e.payload.timestamp >= pausedClickAt && e.payload.timestamp < resumedAt);
  assert.deepEqual(duringPause, [], 'the click while paused is not recorded');
  assert.equal((await tell({ type: 'stop_tracking' })).ok, true);
});
