'use strict';
// The web page end to end: real worker serving frontend/dist, real s3rver,
// real Chromium with fake camera/microphone/screen.  A worker registers,
// records ~3 s of screen and narration, uploads it to S3 through presigned
// URLs, reviews the steps; an admin then plays the video with its events.
// With CODESIGHT_SCREENSHOTS=1 the main screens go to docs/screenshots/.

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { waitFor } = require('../lib/cluster');
const { WsClient } = require('../lib/wsclient');
const { startStack, launchPage, assertNoPageErrors, screenshot } = require('./lib/stack');

let stack;
let cluster;
let browser;
let page;
let adminToken;
const state = {};

const shot = (name) => screenshot(page, name);

before(async () => {
  stack = await startStack();
  ({ cluster, adminToken } = stack);
  ({ browser, page } = await launchPage());
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

afterEach(() => assertNoPageErrors(page));

test('a worker registers and gets a token shown once', async () => {
  await page.goto(`${cluster.httpUrl}/`);
  await page.getByLabel('Your name').fill('Erin E2E');
  await page.getByRole('button', { name: 'Register' }).click();
  state.token = (await page.getByTestId('worker-token').textContent()).trim();
  assert.match(state.token, /^cs_w_/);
  assert.equal(await page.evaluate(() => localStorage.getItem('codesight.workerToken')), state.token);
  await shot('onboarding');
});

test('a worker records screen and narration, then it uploads to S3', async () => {
  await page.goto(`${cluster.httpUrl}/record`);
  // No extension in this browser: the page says so before anything starts,
  // and records media only when the worker chooses to.
  await page.getByText(/The CodeSight extension is not installed in this browser/).first().waitFor();
  await page.getByLabel(/Record without the extension/).check();
  await page.getByRole('button', { name: 'Start recording' }).click();
  const sessionIdEl = page.getByTestId('session-id');
  await sessionIdEl.waitFor({ timeout: 15000 });
  state.sessionId = (await sessionIdEl.textContent()).trim();

  // Stand in for the extension: stream two events for this session.
  const ws = new WsClient(cluster.wsUrl);
  await ws.opened();
  ws.send({ type: 'hello', token: state.token, protocol: 2 });
  await ws.next('hello_ok');
  ws.send({ type: 'session_start', sessionId: state.sessionId, timestamp: Date.now(), userAgent: 'e2e', extension: { name: 'e2e', version: '0' } });
  await ws.next('session_started');
  const t0 = Date.now();
  ws.send({ type: 'events', sessionId: state.sessionId, events: [
    { seq: 1, type: 'navigation', timestamp: t0, data: { url: 'http://shop.test/', transitionType: 'typed' } },
    { seq: 2, type: 'click', timestamp: t0 + 1000, data: { url: 'http://shop.test/', selector: '#buy', element: { tag: 'button', text: 'Buy now' }, coordinates: { x: 640, y: 360 }, viewport: { width: 1280, height: 720 } } },
  ] });
  await ws.next((m) => m.type === 'ack' && m.seq === 2);
  ws.ws.close();

  await waitFor(async () => (await page.getByTestId('timer').textContent()) >= '00:03', { timeoutMs: 15000, what: '3 s of recording' });
  await shot('recording');
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await page.getByText('Upload complete.').waitFor({ timeout: 30000 });
  await page.getByTestId('session-uploads').waitFor();
  await shot('upload');

  const row = (await cluster.query('SELECT * FROM codesight.uploads WHERE session_id = $1', [state.sessionId])).rows;
  assert.equal(row.length, 1);
  assert.equal(row[0].status, 'complete');
  assert.equal(row[0].kind, 'video');
  assert.match(row[0].content_type, /^video\/webm/);
  assert.ok(row[0].recording_started_at, 'recordingStartedAt was sent');
  const size = Number(row[0].size_bytes);
  assert.ok(size > 20000, `a 3 s recording is tens of KB, got ${size}`);

  // The object in S3 has exactly the bytes the page recorded.
  const url = (await cluster.query("SELECT codesight.s3_presign('GET', $1) AS u", [row[0].object_key])).rows[0].u;
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(body.length, size);
  assert.equal(body.subarray(0, 4).toString('hex'), '1a45dfa3', 'a WebM (EBML) file');
  // The browser freed its copy once the upload completed.
  assert.equal(await page.evaluate(async () => new Promise((resolve) => {
    const r = indexedDB.open('codesight-recordings');
    r.onsuccess = () => { const g = r.result.transaction('recordings').objectStore('recordings').count(); g.onsuccess = () => resolve(g.result); };
  })), 0);
});

test('the worker reviews the steps and deletes one', async () => {
  await page.getByRole('link', { name: 'Review this session' }).click();
  await waitFor(async () => (await page.getByTestId('step').count()) === 2, { what: 'two steps' });
  await shot('review');
  await page.getByRole('checkbox', { name: 'Select step: Opened shop.test' }).check();
  await page.getByRole('button', { name: /Delete 1 selected step/ }).click();
  await page.getByText('Deleted 1 step.').waitFor();
  await waitFor(async () => (await page.getByTestId('step').count()) === 1, { what: 'one step left' });
  const seqs = (await cluster.query('SELECT seq FROM codesight.events WHERE session_id = $1 ORDER BY seq', [state.sessionId])).rows;
  assert.deepEqual(seqs.map((r) => Number(r.seq)), [2]);
});

test('an admin plays the session with its events', async () => {
  await page.goto(`${cluster.httpUrl}/settings`);
  await page.getByLabel('Admin token').fill(adminToken);
  await page.getByRole('button', { name: 'Save admin token' }).click();
  await page.getByText(/^Saved\./).waitFor();

  await page.getByRole('link', { name: 'All sessions' }).click();
  const link = page.getByRole('link', { name: state.sessionId });
  await link.waitFor();
  await shot('admin-sessions');
  await link.click();

  const video = page.getByTestId('session-video');
  await video.waitFor();
  await waitFor(() => video.evaluate((v) => v.readyState >= 2 && v.videoWidth > 0), { timeoutMs: 20000, what: 'video decodable' });

  // The click happened ~1 s after the navigation; clicking it seeks there and
  // draws the marker at the middle of the picture. The step is clicked as
  // soon as the picture shows, while the page may still be looking for the
  // end of the WebM (MediaRecorder writes no duration): the seek must win.
  const event = page.getByRole('button', { name: 'Clicked “Buy now”' });
  await event.click();
  const [, min, sec] = (await page.getByTestId('step').first().textContent()).match(/(\d+):(\d+\.\d)/);
  const offset = Number(min) * 60 + Number(sec);
  assert.ok(offset > 0.5 && offset < 5, `the click is ${offset} s into the video`);
  await waitFor(() => video.evaluate((v, o) => Number.isFinite(v.duration) && Math.abs(v.currentTime - o) < 0.1, offset),
    { timeoutMs: 20000, what: `the video at the click (${offset} s) with its duration known` });
  await page.locator('li[aria-current="step"]', { hasText: 'Buy now' }).waitFor();
  const marker = page.getByTestId('click-marker');
  await marker.waitFor();
  const [mb, vb] = [await marker.boundingBox(), await video.boundingBox()];
  const cx = mb.x + mb.width / 2 - vb.x;
  assert.ok(Math.abs(cx - vb.width / 2) < vb.width * 0.1, `marker at ${cx} of ${vb.width}`);
  await page.getByTestId('summary').waitFor();
  await shot('admin-session');
  await video.evaluate((v) => v.play());
  await waitFor(() => video.evaluate((v, o) => v.currentTime > o + 0.3, offset), { timeoutMs: 20000, what: 'video playing on' });
  await video.evaluate((v) => v.pause());

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download Training data JSON' }).click();
  const file = await (await download).path();
  // The file is the session's training data as the server exports it, whole.
  const expected = (await cluster.query('SELECT codesight.training_data($1) AS t', [state.sessionId])).rows[0].t;
  assert.ok(expected.annotations.some((a) => a.action_type === 'click' && a.element_text === 'Buy now'), JSON.stringify(expected.annotations));
  assert.match(expected.video_path, /^s3:\/\//);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), expected);
});

test('the health page shows the server state and counts', async () => {
  await page.getByRole('link', { name: 'Health' }).click();
  await page.getByTestId('health').waitFor();
  await page.getByTestId('counts').waitFor();
  assert.match(await page.getByTestId('counts').textContent(), /Sessions/);
  await shot('health');
});

test('a recording cut off by a reload is uploaded from IndexedDB', async () => {
  await page.goto(`${cluster.httpUrl}/record`);
  await page.getByLabel(/Record without the extension/).check();
  await page.getByRole('button', { name: 'Start recording' }).click();
  const sessionId = (await page.getByTestId('session-id').textContent()).trim();
  await waitFor(async () => (await page.getByTestId('timer').textContent()) >= '00:02', { what: '2 s of recording' });
  // The page asks before leaving mid-recording; say yes.
  const confirm = (d) => d.accept();
  page.on('dialog', confirm);
  await page.reload();
  page.off('dialog', confirm);
  const item = page.getByRole('listitem').filter({ hasText: sessionId });
  await item.getByText(/interrupted/).waitFor();
  await shot('pending-upload');
  await item.getByRole('button', { name: 'Upload' }).click();
  await page.getByText('Upload complete.').waitFor({ timeout: 30000 });
  const rows = (await cluster.query('SELECT status, size_bytes FROM codesight.uploads WHERE session_id = $1', [sessionId])).rows;
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 'complete');
  assert.ok(Number(rows[0].size_bytes) > 5000, `kept ${rows[0].size_bytes} bytes`);
});

test('a rejected admin token is explained', async () => {
  await page.evaluate(() => localStorage.setItem('codesight.adminToken', 'cs_a_bogus_token'));
  await page.goto(`${cluster.httpUrl}/admin/sessions`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /Paste a valid token in Settings/);
});
