'use strict';
// The content script in real Chromium (issue 18, items 2 and 5):
// * it costs nothing while no session records: no event listener of its
//   own on the page's window or document until recording starts, none left
//   after it stops, but pageshow (it fires on navigation, never on input)
//   (read with Chrome's DOMDebugger in the extension's world);
// * a retried delivery of one event is stored once: the content script's
//   own message, sent twice with the same eventId from its own world,
//   gives one row in codesight.events.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, waitFor } = require('../lib/cluster');
const { serveShop } = require('../lib/shop');
const { launchWithExtension } = require('./lib/extension');

let cluster;
let shop;
let browser;
let control;

before(async () => {
  cluster = await startCluster();
  shop = await serveShop();
  browser = await launchWithExtension();
  control = await browser.context.newPage();
  await control.goto(`chrome-extension://${browser.extensionId}/popup/popup.html`);
  // The popup's Connect: the extension streams to this cluster.
  await tell({ type: 'connect', serverUrl: cluster.wsUrl });
  await waitFor(async () => (await tell({ type: 'status' })).connection === 'connected', { what: 'the extension connected' });
});

after(async () => {
  if (browser) await browser.close();
  if (shop) await shop.close();
  if (cluster) await cluster.destroy();
});

const tell = (message) => control.evaluate((m) => chrome.runtime.sendMessage(m), message);

// A CDP session on the page that knows which scripts are the extension's
// and which execution context is its content script's world.
async function inspect(page) {
  const cdp = await browser.context.newCDPSession(page);
  const scripts = new Map();
  const worlds = new Map();
  cdp.on('Debugger.scriptParsed', (s) => scripts.set(s.scriptId, s.url));
  cdp.on('Runtime.executionContextCreated', ({ context }) => {
    if (context.auxData && context.auxData.type === 'isolated' && context.auxData.isDefault === false) worlds.set(context.name, context.id);
  });
  await cdp.send('Runtime.enable');
  await cdp.send('Debugger.enable');
  return {
    // The event types the extension listens to on window and document
    // (DOMDebugger lists the listeners of the world the object is read in).
    async listeners() {
      const contextId = await waitFor(() => worlds.get('CodeSight Recorder'), { what: 'the content script world' });
      const types = [];
      for (const expression of ['window', 'document']) {
        const { result } = await cdp.send('Runtime.evaluate', { expression, contextId });
        const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId });
        for (const l of listeners) if ((scripts.get(l.scriptId) || '').startsWith('chrome-extension://')) types.push(`${expression}:${l.type}`);
      }
      return types.sort();
    },
    // Evaluates an expression in the content script's world.
    async inContentScript(expression) {
      const contextId = await waitFor(() => worlds.get('CodeSight Recorder'), { what: 'the content script world' });
      const r = await cdp.send('Runtime.evaluate', { expression, contextId, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
      return r.result.value;
    },
  };
}

test('the content script listens to the page only while a session records', { timeout: 120000 }, async () => {
  const page = await browser.context.newPage();
  await page.goto(shop.url);
  const cdp = await inspect(page);
  // Only pageshow stays, for pages restored from the back/forward cache.
  const IDLE = ['window:pageshow'];
  assert.deepEqual(await cdp.listeners(), IDLE, 'no listeners of the extension while idle');

  const sessionId = `cs_${Date.now().toString(36)}_lstn1`;
  const started = await tell({ type: 'start_tracking', sessionId });
  assert.equal(started.ok, true, JSON.stringify(started));
  const recording = await waitFor(async () => {
    const l = await cdp.listeners();
    return l.includes('window:pointerdown') ? l : null;
  }, { what: 'listeners attached when recording starts' });
  for (const type of ['click', 'input', 'keydown', 'mouseover', 'scroll', 'submit', 'change']) {
    assert.ok(recording.includes(`window:${type}`), `${type} in ${recording}`);
  }
  // Pausing detaches them too.
  await tell({ type: 'pause_tracking' });
  await waitFor(async () => String(await cdp.listeners()) === String(IDLE), { what: 'listeners detached when paused' });
  await tell({ type: 'resume_tracking' });
  await waitFor(async () => (await cdp.listeners()).includes('window:click'), { what: 'listeners attached again' });

  const stopped = await tell({ type: 'stop_tracking', sessionId });
  assert.equal(stopped.ok, true, JSON.stringify(stopped));
  await waitFor(async () => String(await cdp.listeners()) === String(IDLE), { what: 'listeners detached when recording stops' });
  await page.close();
});

test('an event delivered twice by the content script is stored once', { timeout: 120000 }, async () => {
  const page = await browser.context.newPage();
  await page.goto(shop.url);
  const cdp = await inspect(page);
  const sessionId = `cs_${Date.now().toString(36)}_dupl1`;
  const started = await tell({ type: 'start_tracking', sessionId });
  assert.equal(started.ok, true, JSON.stringify(started));
  await waitFor(async () => (await cdp.listeners()).includes('window:click'), { what: 'recording' });

  // The content script's retry after a lost answer: the same event, with
  // its eventId, sent again (and once more at the same time).
  const replies = await cdp.inContentScript(`(async () => {
    const event = { type: 'click', timestamp: Date.now(), data: { url: location.href, eventId: 'retried-event-1', selector: '#x' } };
    const first = await chrome.runtime.sendMessage({ type: 'record', event });
    const again = await Promise.all([chrome.runtime.sendMessage({ type: 'record', event }), chrome.runtime.sendMessage({ type: 'record', event })]);
    return [first, ...again];
  })()`);
  assert.equal(replies[0].recorded, true, JSON.stringify(replies));
  assert.deepEqual(replies.slice(1).map((r) => r.recorded), [false, false], JSON.stringify(replies));
  await page.getByRole('button', { name: 'Apply coupon' }).click();

  const stopped = await tell({ type: 'stop_tracking', sessionId });
  assert.equal(stopped.ok, true, JSON.stringify(stopped));
  await waitFor(async () => {
    const s = await cluster.query('SELECT status FROM codesight.sessions WHERE session_id = $1', [sessionId]);
    return s.rows[0] && s.rows[0].status === 'completed';
  }, { timeoutMs: 20000, what: 'session completed' });
  const rows = (await cluster.query(
    "SELECT payload -> 'data' ->> 'eventId' AS id FROM codesight.events WHERE session_id = $1 AND type = 'click' ORDER BY seq", [sessionId])).rows;
  assert.equal(rows.filter((r) => r.id === 'retried-event-1').length, 1, JSON.stringify(rows));
  // Every event the content script captured carries an id of its own.
  const recorded = rows.filter((r) => r.id !== 'retried-event-1');
  assert.equal(recorded.length, 1);
  assert.match(recorded[0].id, /^[0-9a-f-]{36}$/);
  await page.close();
});
