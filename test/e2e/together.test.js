'use strict';
// The web page and the real extension together, in one Chromium: the page
// creates the session, records the (fake) screen and narration and tells the
// extension to track with the same session id; the worker shops on the
// fixture shop in another tab; Stop uploads the video to s3rver and the
// extension ends the session itself once its last events are acknowledged.
// Then the database, S3, the admin page and the training data must all agree.

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('../lib/cluster');
const { serveShop } = require('../lib/shop');
const { launchWithExtension, EXTENSION_ID } = require('./lib/extension');
const { startStack, watchPageErrors, assertNoPageErrors, screenshot } = require('./lib/stack');

let stack;
let s3;
let cluster;
let shop;
let browser;
let adminToken;
const pages = [];

before(async () => {
  stack = await startStack();
  ({ s3, cluster, adminToken } = stack);
  shop = await serveShop();
  browser = await launchWithExtension({
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
  });
  // Every page the tests open: the web page, the popup, the shop, the admin.
  browser.context.on('page', (p) => pages.push(watchPageErrors(p)));
});

after(async () => {
  if (browser) await browser.close();
  if (shop) await shop.close();
  if (stack) await stack.stop();
});

afterEach(() => assertNoPageErrors(...pages));

// What the extension's service worker keeps in chrome.storage.local: the
// session it records ({sessionId, paused} or null) and its last status.
function extensionState() {
  return browser.serviceWorkerNow().evaluate(() => chrome.storage.local.get(['recording', 'status']));
}

async function events(sessionId) {
  return (await cluster.query(
    'SELECT seq::int, type, page_url, selector, payload FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId])).rows;
}

test('the page records, the extension tracks the same session, both arrive', { timeout: 150000 }, async () => {
  const { context } = browser;
  assert.equal(browser.extensionId, EXTENSION_ID, 'the manifest key pins the id the page is built with');
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  page.setDefaultTimeout(15000);
  // The page must leave ending the session to the extension when it tracks.
  const stopCalls = [];
  page.on('request', (r) => { if (/\/api\/sessions\/[^/]+\/stop$/.test(new URL(r.url()).pathname)) stopCalls.push(r.url()); });

  // 1. Register: the page hands the extension its server and the token; the
  // worker types neither, and only allows the connection in the popup.
  await page.goto(`${cluster.httpUrl}/`);
  await page.getByLabel('Your name').fill('Tess Together');
  await page.getByRole('button', { name: 'Register' }).click();
  const token = (await page.getByTestId('worker-token').textContent()).trim();
  assert.match(token, /^cs_w_/);
  const workerId = Number((await cluster.query(
    "SELECT worker_id FROM codesight.workers WHERE display_name = 'Tess Together'")).rows[0].worker_id);
  await page.getByText(/press Allow/).waitFor();
  const popup = await context.newPage();
  await popup.goto(`chrome-extension://${EXTENSION_ID}/popup/popup.html`);
  await popup.locator('#pairing').waitFor();
  assert.equal(await popup.locator('#pairingOrigin').textContent(), cluster.httpUrl);
  assert.equal(await popup.locator('#pairingServer').textContent(), cluster.wsUrl);
  await popup.locator('#allow').click();
  await waitFor(async () => (await popup.locator('#connection').textContent()) === 'connected', { what: 'the popup connected' });
  assert.equal(await popup.locator('#serverUrl').inputValue(), cluster.wsUrl);
  assert.equal(await popup.locator('#token').inputValue(), token, 'the page handed over the token');
  assert.equal(await popup.locator('#problem').isVisible(), false);
  await popup.close();
  await page.bringToFront();
  await page.getByTestId('extension-ready').waitFor();

  // 2. Record: the page creates the session and the extension joins it.
  await page.goto(`${cluster.httpUrl}/record`);
  await waitFor(async () => (await page.getByTestId('extension-status').getAttribute('data-kind')) === 'paired', { what: 'the extension on the page' });
  const clickedAt = Date.now();
  await page.getByRole('button', { name: 'Start recording' }).click();
  const sessionId = (await page.getByTestId('session-id').textContent()).trim();
  assert.match(sessionId, /^[A-Za-z0-9_-]{1,64}$/);
  // The page shows what the extension does, from the extension itself.
  await waitFor(async () => (await page.getByTestId('extension-state').textContent()) === `recording session ${sessionId}`,
    { what: 'the page shows the extension recording this session' });

  const tracking = await waitFor(async () => {
    const s = await extensionState();
    return s.recording && s.status && s.status.connection === 'connected' ? s : null;
  }, { what: 'the extension connected and recording' });
  const { startedAt, ...recording } = tracking.recording;
  assert.deepEqual(recording, { sessionId, paused: false, startedBy: 'page' });
  assert.ok(startedAt >= clickedAt && startedAt <= Date.now(), `started at ${startedAt}, Start clicked at ${clickedAt}`);
  assert.equal(tracking.status.state, 'recording');
  assert.equal(tracking.status.sessionId, sessionId);
  assert.equal(tracking.status.serverUrl, cluster.wsUrl, 'the page gave the extension its own worker');
  assert.equal(tracking.status.hasToken, true);
  // The extension's session_start reached the session the page created, as the same worker.
  await waitFor(async () => (await cluster.query(
    "SELECT 1 FROM codesight.sessions WHERE session_id = $1 AND extension ->> 'name' = 'CodeSight Recorder'", [sessionId])).rowCount,
  { what: 'session_start from the extension' });
  const row0 = (await cluster.query('SELECT worker_id, status FROM codesight.sessions WHERE session_id = $1', [sessionId])).rows[0];
  assert.equal(Number(row0.worker_id), workerId);
  assert.equal(row0.status, 'active');

  // 3. Shop in another tab.
  const tab = await context.newPage();
  tab.setDefaultTimeout(15000);
  await tab.goto(shop.url);
  await tab.bringToFront();
  await tab.getByPlaceholder('Search products').pressSequentially('trail', { delay: 20 });
  await tab.keyboard.press('Enter');
  await tab.waitForURL(/search\.html/);
  await tab.getByRole('link', { name: 'Trail Runner' }).click();
  await tab.waitForURL(/product\.html/);
  await tab.getByRole('button', { name: 'Add to wishlist' }).click();
  await tab.getByTestId('add-to-cart').click();
  // Both clicks on the product page are stored while the session is active.
  await waitFor(async () => (await events(sessionId)).filter((e) => e.type === 'click' && /product\.html/.test(e.page_url)).length >= 2,
    { what: 'the product page clicks stored' });
  await waitFor(async () => (await page.getByTestId('timer').textContent()) >= '00:03', { what: '3 s of recording' });

  // 4. Back on the page: Stop. The upload runs; the extension stops and ends the session.
  await page.bringToFront();
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await page.getByText('Upload complete.').waitFor({ timeout: 30000 });
  const done = await waitFor(async () => {
    const s = await extensionState();
    return !s.recording && s.status && s.status.pendingSessions.length === 0 && s.status.lastSessionId === sessionId ? s : null;
  }, { timeoutMs: 20000, what: 'the extension stopped, its session closed on the server' });
  assert.equal(done.status.state, 'idle');
  const captured = done.status.counters.captured;
  assert.equal(done.status.counters.acknowledged, captured, 'every captured event acknowledged');
  assert.deepEqual(stopCalls, [], 'the page left ending the session to the extension');

  // 5. The database, S3, the admin page and the training data agree.
  const session = (await cluster.query('SELECT * FROM codesight.sessions WHERE session_id = $1', [sessionId])).rows[0];
  assert.equal(session.status, 'completed');
  assert.equal(Number(session.worker_id), workerId);
  assert.ok(session.ended_at, 'ended_at set');
  assert.equal(Number(session.event_count), captured);
  assert.equal(Number(session.last_seq), captured);

  const list = await events(sessionId);
  assert.deepEqual(list.map((e) => e.seq), Array.from({ length: captured }, (_, i) => i + 1), 'seqs 1..N, each once');
  const types = list.map((e) => `${e.type}@${e.page_url}`).join('\n');
  const d = (e) => e.payload.data || {};
  const has = (what, pred) => assert.ok(list.some(pred), `${what} in:\n${types}`);
  has('the search typed', (e) => e.type === 'input' && d(e).value === 'trail');
  has('Enter in the search box', (e) => e.type === 'keypress' && d(e).key === 'Enter');
  has('the search results page', (e) => e.type === 'navigation' && /search\.html\?q=trail/.test(d(e).url));
  has('the product link click', (e) => e.type === 'click' && d(e).element && d(e).element.text === 'Trail Runner');
  has('the product page', (e) => e.type === 'navigation' && /product\.html/.test(d(e).url));
  has('the wishlist click', (e) => e.type === 'click' && /product\.html/.test(e.page_url) && /wishlist/i.test((d(e).element || {}).text));
  has('the add to cart click', (e) => e.type === 'click' && e.selector === '[data-testid="add-to-cart"]');
  // The CodeSight page itself opts out (data-codesight-ignore): its buttons
  // and the token fields are no part of the demonstration.
  const onPage = list.filter((e) => ['click', 'input', 'keypress', 'hover', 'submit'].includes(e.type) &&
    String(e.page_url).startsWith(cluster.httpUrl));
  assert.deepEqual(onPage.map((e) => `${e.type} ${e.selector}`), [], 'no interaction with the CodeSight page recorded');

  const uploads = (await cluster.query('SELECT * FROM codesight.uploads WHERE session_id = $1', [sessionId])).rows;
  assert.equal(uploads.length, 1);
  const up = uploads[0];
  assert.equal(up.status, 'complete');
  assert.equal(up.kind, 'video');
  assert.equal(up.bucket, s3.bucket);
  assert.match(up.content_type, /^video\/webm/);
  assert.ok(up.recording_started_at, 'recordingStartedAt sent');
  const size = Number(up.size_bytes);
  assert.ok(size > 20000, `a 3 s recording is tens of KB, got ${size}`);
  const url = (await cluster.query("SELECT codesight.s3_presign('GET', $1) AS u", [up.object_key])).rows[0].u;
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${up.object_key} from s3rver`);
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(body.length, size, 'the object has the size the upload declared');
  assert.equal(body.subarray(0, 4).toString('hex'), '1a45dfa3', 'a WebM (EBML) file');

  const training = (await cluster.query('SELECT codesight.training_data($1) AS t', [sessionId])).rows[0].t;
  assert.equal(training.video_path, `s3://${s3.bucket}/${up.object_key}`);
  assert.ok(training.annotations.length >= 3, `annotations: ${JSON.stringify(training.annotations)}`);
  for (const a of training.annotations) {
    assert.equal(typeof a.video_offset_ms, 'number', `video_offset_ms on ${JSON.stringify(a)}`);
  }
  const addToCart = training.annotations.find((a) => a.target_selector === '[data-testid="add-to-cart"]');
  assert.ok(addToCart, 'the add to cart click is an annotation');
  const lengthMs = new Date(session.ended_at).getTime() - new Date(up.recording_started_at).getTime(); // pg gives Dates
  assert.ok(addToCart.video_offset_ms > 0 && addToCart.video_offset_ms < lengthMs,
    `the click is ${addToCart.video_offset_ms} ms into a video of ~${lengthMs} ms`);

  // The admin page plays the video with the events and their markers.
  const admin = await context.newPage();
  await admin.setViewportSize({ width: 1280, height: 900 });
  admin.setDefaultTimeout(15000);
  await admin.goto(`${cluster.httpUrl}/settings`);
  await admin.getByLabel('Admin token').fill(adminToken);
  await admin.getByRole('button', { name: 'Save admin token' }).click();
  await admin.getByText(/^Saved\./).waitFor();
  await admin.goto(`${cluster.httpUrl}/admin/sessions/${encodeURIComponent(sessionId)}`);
  const video = admin.getByTestId('session-video');
  await video.waitFor();
  await waitFor(() => video.evaluate((v) => v.readyState >= 2 && v.videoWidth > 0), { timeoutMs: 20000, what: 'video decodable' });
  // Every event is in exactly one step, the steps in order, read in words.
  const stepSeqs = async () => (await admin.getByTestId('step').evaluateAll((els) => els.map((el) => el.dataset.seqs)))
    .map((s) => s.split(' ').map(Number));
  await waitFor(async () => (await stepSeqs()).flat().length === captured, { what: `the ${captured} events in the steps` });
  assert.deepEqual((await stepSeqs()).flat().sort((a, b) => a - b), list.map((e) => e.seq));
  const texts = await admin.getByTestId('step').allTextContents();
  assert.ok(texts.some((t) => /Opened “(Trail Runner|Product) - Fixture Shop”/.test(t)), `the product page opened in:\n${texts.join('\n')}`);
  assert.ok(!texts.some((t) => /(tab|page) (tab|page)/i.test(t)), `no raw event types in:\n${texts.join('\n')}`);
  // Clicking the add to cart step seeks the video there and draws its marker.
  const cartSeq = list.find((e) => e.selector === '[data-testid="add-to-cart"]').seq;
  const step = admin.getByTestId('step').filter({ has: admin.getByRole('button', { name: /Clicked “Add to Cart”/ }) });
  assert.ok((await step.getAttribute('data-seqs')).split(' ').map(Number).includes(cartSeq));
  await step.getByRole('button').first().click();
  await waitFor(() => video.evaluate((v, t) => Math.abs(v.currentTime * 1000 - t) < 150, addToCart.video_offset_ms),
    { what: 'video seeked to the add to cart click' });
  await admin.getByTestId('click-marker').first().waitFor();
  await admin.getByTestId('summary').waitFor();
  await screenshot(admin, 'session-with-extension');
});

test('Start in the extension, then Start on the page: one session, and Stop in the extension stops both', { timeout: 120000 }, async () => {
  const { context } = browser;
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const created = [];
  page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/sessions') created.push(r.url()); });
  await page.goto(`${cluster.httpUrl}/record`);
  await waitFor(async () => (await page.getByTestId('extension-status').getAttribute('data-kind')) === 'paired', { what: 'the extension on the page' });

  // The worker starts in the popup first.
  const popup = await context.newPage();
  await popup.goto(`chrome-extension://${EXTENSION_ID}/popup/popup.html`);
  const sessionId = await popup.locator('#sessionId').inputValue();
  await popup.locator('#start').click();
  await waitFor(async () => (await popup.locator('#stateLine').textContent()) === `Recording session ${sessionId}`, { what: 'popup recording' });

  // The page sees it and its Start joins that session.
  await page.bringToFront();
  const join = page.getByRole('button', { name: 'Start recording (join this session)' });
  await join.waitFor();
  assert.match(await page.getByTestId('extension-state').textContent(), new RegExp(`recording session ${sessionId}`));
  await join.click();
  assert.equal((await page.getByTestId('session-id').textContent()).trim(), sessionId);
  await waitFor(async () => (await page.getByTestId('timer').textContent()) >= '00:02', { what: '2 s of recording' });

  const tab = await context.newPage();
  await tab.goto(new URL('product.html?id=p2', shop.url).href);
  await tab.getByRole('button', { name: 'Add to wishlist' }).click();
  await waitFor(async () => (await events(sessionId)).some((e) => e.type === 'click'), { what: 'the click stored' });

  // Stop in the popup: the page stops by itself, says so, and uploads.
  await popup.bringToFront();
  await popup.locator('#stop').click();
  await page.bringToFront();
  await page.getByText(`Session ${sessionId} was stopped from the extension; the screen recording stopped with it`).waitFor();
  await page.getByText('Upload complete.').waitFor({ timeout: 30000 });
  assert.deepEqual(created, [], 'the page created no session of its own');

  await waitFor(async () => (await cluster.query('SELECT status FROM codesight.sessions WHERE session_id = $1', [sessionId])).rows[0].status === 'completed',
    { timeoutMs: 20000, what: 'the session completed' });
  const uploads = (await cluster.query('SELECT status, kind FROM codesight.uploads WHERE session_id = $1', [sessionId])).rows;
  assert.deepEqual(uploads, [{ status: 'complete', kind: 'video' }], 'the video belongs to the session the popup started');
  const extension = await extensionState();
  assert.equal(extension.status.state, 'idle');
  assert.deepEqual({ ...extension.status.lastStop, at: 0 }, { sessionId, by: 'popup', at: 0 });
  await Promise.all([tab.close(), popup.close(), page.close()]);
});
