'use strict';
// The extension when things go wrong, in real Chromium:
//   - events captured while the server is down survive the service worker
//     being stopped (IndexedDB) and reach the server when it is back, woken
//     by the alarm alone;
//   - store_failed with a reason and retryAfterMs: reconnects back off and
//     never come sooner than the hint, the popup says why;
//   - a refused token stops the reconnecting and the popup says so;
//   - a page on another local port can neither drive the extension nor read
//     its sessions; it can only ask, and the worker answers in the popup;
//   - a 20,000-event session downloads whole.
// The store_failed and token-refusal tests talk to a small WebSocket server
// that answers as docs/protocol.md says the worker does, so the timing of
// each reconnect can be measured; the rest use the real worker.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { startCluster, waitFor, freePort } = require('../lib/cluster');
const { serveShop } = require('../lib/shop');
const { launchWithExtension, EXTENSION_ID } = require('./lib/extension');

let cluster;
let shop;
let browser;
let control; // an extension page the tests drive the extension from

before(async () => {
  cluster = await startCluster();
  shop = await serveShop();
  browser = await launchWithExtension();
  control = await browser.context.newPage();
  await control.goto(`chrome-extension://${EXTENSION_ID}/popup/popup.html`);
});

after(async () => {
  if (browser) await browser.close();
  if (shop) await shop.close();
  if (cluster) await cluster.destroy();
});

const tell = (message) => control.evaluate((msg) => chrome.runtime.sendMessage(msg), message);
const status = () => tell({ type: 'status' });

async function connectTo(url, token = '') {
  await control.locator('#serverUrl').fill(url);
  await control.locator('#token').fill(token);
  await control.locator('#connect').click();
}

async function storedCount(sessionId) {
  return (await cluster.query('SELECT count(*)::int AS n FROM codesight.events WHERE session_id = $1', [sessionId])).rows[0].n;
}

// A stand-in worker: speaks enough of the protocol for one behaviour and
// records when each connection opened.
async function fakeWorker(onMessage) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  const opened = [];
  wss.on('connection', (ws) => {
    opened.push(Date.now());
    ws.send(JSON.stringify({ type: 'connected', protocol: 2, maxMessageBytes: 1048576, authRequired: false }));
    ws.on('message', (data) => onMessage(ws, JSON.parse(String(data))));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${server.address().port}/extension-ws`,
    opened,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => server.close(r));
    },
  };
}

async function clickTimes(page, n) {
  const button = page.getByRole('button', { name: 'Add to wishlist' });
  for (let i = 0; i < n; i++) await button.click();
}

test('events queued while the server is down survive a stopped service worker and arrive by the alarm alone', { timeout: 180000 }, async () => {
  await connectTo(cluster.wsUrl);
  await waitFor(async () => (await status()).connection === 'connected', { what: 'connected' });
  const sessionId = `cs_${Date.now().toString(36)}_alarm`;
  const page = await browser.context.newPage();
  await page.goto(new URL('product.html?id=p1', shop.url).href);
  assert.equal((await tell({ type: 'start_tracking', sessionId })).ok, true);
  await clickTimes(page, 3);
  await waitFor(async () => (await storedCount(sessionId)) >= 3, { what: 'first clicks stored' });

  cluster.stop('fast');
  await clickTimes(page, 10);
  const offline = await waitFor(async () => { const x = await status(); return x.problem && x.problem.code === 'refused' ? x : null; },
    { what: 'the extension says the server is not reachable' });
  assert.match(offline.problem.message, /server at 127\.0\.0\.1:\d+ is not reachable/);
  assert.ok(offline.counters.queued >= 10, `queued while the server is down: ${JSON.stringify(offline.counters)}`);
  assert.ok(offline.queuedTotal >= 10);
  // The worker leaves the shop and the popup; tab events still wake the
  // service worker, so it is stopped only after the last tab change, from a
  // tab that stays open.
  const helper = await browser.context.newPage();
  await helper.goto(`chrome-extension://${EXTENSION_ID}/manifest.json`);
  await page.close();
  await control.close();
  await browser.stopServiceWorker({ keepPage: helper });

  cluster.start();
  await cluster.waitListening();
  // Nothing happens in the browser now: Chrome fires the 30 s alarm, the new
  // service worker reads the outbox from IndexedDB and sends it.
  const restartedAt = Date.now();
  const final = async () => (await cluster.query('SELECT count(*)::int AS n, max(seq)::int AS top FROM codesight.events WHERE session_id = $1', [sessionId])).rows[0];
  try {
    await waitFor(async () => (await final()).n >= offline.counters.captured, { timeoutMs: 90000, intervalMs: 500, what: `the ${offline.counters.captured} events stored` });
  } finally {
    control = await browser.context.newPage();
    await control.goto(`chrome-extension://${EXTENSION_ID}/popup/popup.html`);
    await helper.close();
  }
  // The service worker that sent them started after the server came back,
  // with nothing happening in the browser: the alarm started it.
  const startedAt = await browser.serviceWorkerNow().evaluate(() => performance.timeOrigin);
  assert.ok(startedAt > restartedAt && startedAt - restartedAt < 40000,
    `service worker started ${Math.round(startedAt - restartedAt)} ms after the server came back`);
  await waitFor(async () => (await status()).counters.queued === 0, { what: 'outbox empty' });
  assert.equal((await status()).problem, null, 'no stale problem once the server is back');
  const { captured } = (await status()).counters;
  const rows = (await cluster.query('SELECT seq::int FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId])).rows;
  assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: captured }, (_, i) => i + 1), 'every seq once');
  await waitFor(async () => (await status()).counters.queued === 0, { what: 'outbox empty' });
  assert.equal((await tell({ type: 'stop_tracking' })).ok, true);
});

test('store_failed: reconnects never sooner than the server asks, backing off, and the popup says why', { timeout: 120000 }, async () => {
  const HINT = 1500;
  const worker = await fakeWorker((ws, msg) => {
    if (msg.type === 'session_start') ws.send(JSON.stringify({ type: 'session_started', sessionId: msg.sessionId, lastSeq: 0 }));
    if (msg.type === 'events') {
      ws.send(JSON.stringify({ type: 'error', code: 'store_failed', reason: 'disk_full', retryAfterMs: HINT, message: 'could not extend file: No space left on device' }));
      ws.close(1011);
    }
  });
  try {
    await connectTo(worker.url);
    const sessionId = `cs_${Date.now().toString(36)}_diskf`;
    const page = await browser.context.newPage();
    await page.goto(new URL('product.html?id=p1', shop.url).href);
    assert.equal((await tell({ type: 'start_tracking', sessionId })).ok, true);
    // The content script starts listening a moment after the start.
    await waitFor(async () => { await clickTimes(page, 1); return (await status()).counters.captured >= 2; },
      { what: 'clicks captured' });
    await waitFor(() => worker.opened.length >= 5, { timeoutMs: 60000, intervalMs: 100, what: '5 connections' });
    const gaps = worker.opened.slice(1).map((t, i) => t - worker.opened[i]);
    for (const g of gaps) assert.ok(g >= HINT - 50, `reconnected after ${g} ms, the server asked for ${HINT} ms: ${gaps}`);
    assert.ok(gaps.at(-1) > gaps[0], `the delays grow: ${gaps}`);

    const s = await status();
    assert.equal(s.problem.code, 'store_failed');
    assert.equal(s.problem.reason, 'disk_full');
    await control.reload();
    const shown = await control.locator('#problemMessage').textContent();
    assert.match(shown, /could not store your events: its disk is full/);
    assert.match(shown, /safe in this browser/);
    assert.match(await control.locator('#problemDetail').textContent(), /No space left on device/);
    assert.equal(await control.locator('#queuedTotal').isVisible(), true);
    await tell({ type: 'stop_tracking' });
    await page.close();
  } finally {
    await worker.close();
  }
  // Back to the real worker: the stopped session is sent and closed there.
  await connectTo(cluster.wsUrl);
  await waitFor(async () => (await status()).pendingSessions.length === 0, { timeoutMs: 30000, what: 'the session delivered' });
  assert.equal((await status()).problem, null, 'no stale problem once the server stores again');
});

test('what the worker types in the popup stays while the status changes under it', { timeout: 60000 }, async () => {
  // Recording with the server down: every click redraws the popup's counters.
  await connectTo(`ws://127.0.0.1:${await freePort()}/extension-ws`);
  const sessionId = `cs_${Date.now().toString(36)}_typed`;
  const page = await browser.context.newPage();
  await page.goto(new URL('product.html?id=p1', shop.url).href);
  assert.equal((await tell({ type: 'start_tracking', sessionId })).ok, true);
  const typed = cluster.wsUrl;
  await control.locator('#serverUrl').fill(typed);
  await control.locator('#token').fill('cs_w_typed');
  await control.evaluate(() => {
    window.redraws = 0;
    new MutationObserver(() => { window.redraws++; })
      .observe(document.getElementById('captured'), { childList: true, characterData: true, subtree: true });
  });
  await waitFor(async () => { await clickTimes(page, 1); return control.evaluate(() => window.redraws >= 2); },
    { what: 'the popup redrawn by new events' });
  assert.equal(await control.locator('#serverUrl').inputValue(), typed);
  assert.equal(await control.locator('#token').inputValue(), 'cs_w_typed');
  await control.locator('#token').fill('');
  await control.locator('#connect').click();
  await waitFor(async () => (await status()).connection === 'connected', { what: 'connected to the typed server' });
  assert.equal(await control.locator('#serverUrl').inputValue(), typed);
  assert.equal((await tell({ type: 'stop_tracking', sessionId })).ok, true);
  await waitFor(async () => (await status()).pendingSessions.length === 0, { what: 'the session delivered' });
  await page.close();
});

test('a refused token stops the reconnecting, says so, and a new token recovers', { timeout: 60000 }, async () => {
  const worker = await fakeWorker((ws, msg) => {
    if (msg.type === 'hello') {
      ws.send(JSON.stringify({ type: 'error', code: 'unauthorized', message: 'token revoked' }));
      ws.close(1008, 'unauthorized');
    }
  });
  try {
    await connectTo(worker.url, 'cs_w_revoked_token');
    await waitFor(async () => (await status()).tokenRejected, { what: 'token rejected' });
    const attempts = worker.opened.length;
    // The alarm and new messages must not bring the same token back: poll the
    // extension (every message wakes it) for longer than its backoff would wait.
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      const s = await status();
      assert.equal(s.connection, 'disconnected');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(worker.opened.length, attempts, 'no reconnect with a refused token');
    const s = await status();
    assert.equal(s.problem.code, 'unauthorized');
    await control.reload();
    assert.match(await control.locator('#problemMessage').textContent(), /did not accept your worker token, so the extension stopped connecting/);
  } finally {
    await worker.close();
  }
  // A valid token (registered on the real worker) clears it.
  const reg = await fetch(`${cluster.httpUrl}/api/workers`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ displayName: 'Tok' }) });
  await connectTo(cluster.wsUrl, (await reg.json()).token);
  await waitFor(async () => { const x = await status(); return x.connection === 'connected' && !x.tokenRejected && !x.problem; }, { what: 'connected again' });
});

test('a page on another local port can neither drive the extension nor read it, only ask', { timeout: 60000 }, async () => {
  await connectTo(cluster.wsUrl);
  const sessionId = `cs_${Date.now().toString(36)}_mine1`;
  assert.equal((await tell({ type: 'start_tracking', sessionId })).ok, true);
  // The shop runs on another port of 127.0.0.1, as a local dev server or tool would.
  const stranger = await browser.context.newPage();
  await stranger.goto(shop.url);
  const ask = (msg) => stranger.evaluate(([id, m]) => new Promise((r) => chrome.runtime.sendMessage(id, m, r)), [EXTENSION_ID, msg]);
  const evil = `ws://127.0.0.1:${new URL(shop.url).port}/extension-ws`;

  const seen = await ask({ type: 'status' });
  assert.deepEqual(Object.keys(seen).sort(), ['ok', 'paired', 'pairing', 'version'], 'nothing about sessions or the server');
  assert.equal(seen.paired, false);
  for (const msg of [{ type: 'stop_tracking', sessionId }, { type: 'start_tracking', sessionId: 'cs_evil_1', serverUrl: evil }, { type: 'pause_tracking' }]) {
    const r = await ask(msg);
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.equal(r.code, 'not_paired');
  }
  // It may not even ask for a server that is not its own.
  assert.equal((await ask({ type: 'connect', serverUrl: 'wss://collector.example/extension-ws', token: 'x' })).code, 'forbidden');
  const s0 = await status();
  assert.equal(s0.state, 'recording');
  assert.equal(s0.sessionId, sessionId);
  assert.equal(s0.serverUrl, cluster.wsUrl);

  // Its own server: a request the worker sees in the popup, and refuses.
  const asked = await ask({ type: 'connect', serverUrl: evil, token: 'cs_w_x' });
  assert.equal(asked.code, 'confirm_in_popup');
  assert.equal((await ask({ type: 'status' })).pairing, 'pending');
  await control.reload();
  await control.locator('#pairing').waitFor();
  assert.equal(await control.locator('#pairingOrigin').textContent(), new URL(shop.url).origin);
  assert.equal(await control.locator('#pairingServer').textContent(), evil);
  await control.locator('#deny').click();
  await waitFor(async () => (await status()).pairing === null, { what: 'request gone' });
  assert.equal((await status()).serverUrl, cluster.wsUrl, 'denied: the server stays');
  assert.equal((await tell({ type: 'stop_tracking' })).ok, true);
  await stranger.close();
});

test('a 20,000-event session downloads whole', { timeout: 120000 }, async () => {
  const sessionId = `cs_${Date.now().toString(36)}_big20`;
  const N = 20000;
  // The session as the outbox leaves it once every event is acknowledged.
  await control.evaluate(async ([id, n]) => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('codesight', 1);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const tx = db.transaction(['sessions', 'events'], 'readwrite');
    const t0 = Date.UTC(2026, 0, 2);
    tx.objectStore('sessions').put({ sessionId: id, startTime: t0, endTime: t0 + n * 100, nextSeq: n + 1, ackedSeq: n, sentSeq: n, stopped: true, closed: true });
    for (let seq = 1; seq <= n; seq++) {
      tx.objectStore('events').put({
        sessionId: id, seq, type: seq % 10 === 0 ? 'navigation' : 'click', timestamp: t0 + seq * 100, tabId: 7, frameId: 0,
        data: { url: `http://shop.test/p/${seq % 50}`, selector: `[data-testid="item-${seq}"]`, element: { tag: 'button', text: `Item ${seq} — ünï` }, coordinates: { x: seq % 1280, y: seq % 720 }, timestamp: t0 + seq * 100 },
      });
    }
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  }, [sessionId, N]);
  await browser.serviceWorkerNow().evaluate((id) => chrome.storage.local.set({ lastSessionId: id }), sessionId);
  // A new service worker reads lastSessionId; the popup's download asks it.
  await browser.stopServiceWorker();
  const reply = await tell({ type: 'download' });
  assert.equal(reply.ok, true, JSON.stringify(reply).slice(0, 200));
  const sw = browser.serviceWorkerNow();
  const item = await waitFor(async () => {
    // Under Playwright a download gets a GUID name: it is found by its content.
    const items = await sw.evaluate(() => chrome.downloads.search({ state: 'complete' }));
    return items.find((i) => i.fileSize > 1000000 && fs.existsSync(i.filename) && fs.readFileSync(i.filename, 'utf8').includes(`"sessionId": "${sessionId}"`));
  }, { timeoutMs: 60000, what: 'the download complete' }).catch(async (e) => {
    const all = await sw.evaluate(() => chrome.downloads.search({}));
    throw new Error(`${e.message}: ${JSON.stringify(all.map((i) => [i.filename, i.state, i.error, i.fileSize]))}`);
  });
  const doc = JSON.parse(fs.readFileSync(item.filename, 'utf8'));
  assert.equal(doc.sessionId, sessionId);
  assert.equal(doc.totalEvents, N);
  assert.equal(doc.events.length, N);
  assert.deepEqual(doc.events.map((e) => e.seq), Array.from({ length: N }, (_, i) => i + 1));
  assert.equal(doc.events[N - 1].data.element.text, `Item ${N} — ünï`);
  assert.equal(doc.summary.clicks, N - N / 10);
  assert.equal(doc.summary.navigations, N / 10);
  assert.ok(item.fileSize > 2 * 1024 * 1024, `${item.fileSize} bytes: more than the 2 MB a data: URL was said to allow`);
});
