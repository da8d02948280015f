'use strict';
// The record page when things go wrong, in real Chromium with fake media,
// the real worker and s3rver (no extension in this browser):
//   - the extension missing is said before recording can start;
//   - server down and a refused token are shown and go away when fixed;
//   - S3 down: the recording waits in the browser, said in the worker's
//     words, and uploads by itself once S3 is back;
//   - a multipart upload cut by a reload resumes with the parts S3 holds,
//     and the object has exactly the recorded bytes (issue 17.4);
//   - the recorder stops and releases the microphone and screen at once:
//     leaving by an in-app link, the microphone ending in audio-only mode,
//     browser storage failing.

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { chromium } = require('playwright-core');
const { waitFor } = require('../lib/cluster');
const { startS3Server } = require('../lib/s3server');
const { startStack, watchPageErrors, assertNoPageErrors } = require('./lib/stack');

const MiB = 1024 * 1024;
let stack;
let cluster;
let browser;
let page;
let token;
let restartedS3 = null;

before(async () => {
  // Multipart from 5 MB on, in 5 MB parts, so a test recording has several.
  stack = await startStack({ conf: { 'codesight.s3_multipart_threshold': "'5MB'", 'codesight.s3_part_size': "'5MB'" } });
  ({ cluster } = stack);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15000);
  // Keeps every media stream the page opens, to see whether it released them.
  await page.addInitScript(() => {
    window.__streams = [];
    const keep = (fn) => async (...args) => { const s = await fn(...args); window.__streams.push(s); return s; };
    navigator.mediaDevices.getUserMedia = keep(navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices));
    navigator.mediaDevices.getDisplayMedia = keep(navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices));
  });
  watchPageErrors(page);
  await page.goto(`${cluster.httpUrl}/`);
  await page.getByLabel('Your name').fill('Rita Recorder');
  await page.getByRole('button', { name: 'Register' }).click();
  token = (await page.getByTestId('worker-token').textContent()).trim();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
  if (restartedS3) await restartedS3.stop();
});

afterEach(() => assertNoPageErrors(page));

const liveTracks = () => page.evaluate(() => window.__streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length);

// Starts a recording without the extension (the worker ticks the box).
async function startWithoutExtension(mode = 'Screen and narration') {
  await page.goto(`${cluster.httpUrl}/record`);
  await page.getByLabel(mode, { exact: true }).check();
  await page.getByLabel(/Record without the extension/).check();
  await page.getByRole('button', { name: 'Start recording' }).click();
  const sessionId = (await page.getByTestId('session-id').textContent()).trim();
  await waitFor(async () => (await page.getByTestId('timer').textContent()) >= '00:02', { what: '2 s of recording' });
  return sessionId;
}

async function uploadsOf(sessionId) {
  return (await cluster.query('SELECT * FROM codesight.uploads WHERE session_id = $1 ORDER BY created_at', [sessionId])).rows;
}

test('without the extension the page says so before recording, with how to install it', async () => {
  await page.goto(`${cluster.httpUrl}/record`);
  const panel = page.getByTestId('extension-status');
  await waitFor(async () => (await panel.getAttribute('data-kind')) === 'missing', { what: 'extension missing shown' });
  assert.match(await panel.textContent(), /not installed in this browser/);
  assert.match(await panel.textContent(), /Load unpacked/);
  assert.doesNotMatch(await page.locator('body').textContent(), /Receiving end does not exist/);
  const start = page.getByRole('button', { name: 'Start recording' });
  assert.equal(await start.isDisabled(), true, 'no recording without the extension unless the worker chooses it');
  await page.getByLabel(/Record without the extension/).check();
  assert.equal(await start.isDisabled(), false);
});

test('server down and back: the page says so, then stops saying so', async () => {
  await page.goto(`${cluster.httpUrl}/record`);
  await page.getByTestId('extension-status').waitFor();
  assert.equal(await page.getByTestId('server-problem').count(), 0);
  cluster.stop('fast');
  try {
    const problem = page.getByTestId('server-problem');
    await problem.waitFor({ timeout: 15000 });
    assert.match(await problem.textContent(), /server is not reachable/);
    assert.match(await problem.textContent(), /Technical details/);
  } finally {
    cluster.start();
    await cluster.waitListening();
  }
  await page.getByTestId('server-problem').waitFor({ state: 'detached', timeout: 15000 });
});

test('a refused token is explained, and fixing it in Settings clears it', async () => {
  await page.evaluate(() => localStorage.setItem('codesight.workerToken', 'cs_w_0000_bogus'));
  await page.goto(`${cluster.httpUrl}/record`);
  const problem = page.getByTestId('server-problem');
  await problem.waitFor();
  assert.match(await problem.textContent(), /did not accept your worker token/);
  await page.getByRole('link', { name: 'Settings' }).first().click();
  await page.getByLabel('Worker token').fill(token);
  await page.getByRole('button', { name: 'Save worker token' }).click();
  await page.getByText(/^Saved\./).waitFor();
  await page.goto(`${cluster.httpUrl}/record`);
  await page.getByTestId('extension-status').waitFor();
  await waitFor(async () => (await page.getByTestId('server-problem').count()) === 0, { what: 'no token problem' });
});

test('S3 down: the recording waits in the browser and uploads by itself once S3 is back', { timeout: 120000 }, async () => {
  const sessionId = await startWithoutExtension();
  const { port, bucket } = stack.s3;
  await stack.s3.stop();
  await page.getByRole('button', { name: 'Stop recording' }).click();
  const status = page.getByTestId('upload-status').first();
  await waitFor(async () => (await status.getAttribute('data-phase')) === 'waiting', { timeoutMs: 60000, what: 'upload waiting' });
  assert.match(await status.textContent(), /The storage service is unreachable; your recording is safe in this browser and will upload when it is back\./);
  restartedS3 = await startS3Server({ port, bucket });
  await waitFor(async () => (await status.getAttribute('data-phase')) === 'done', { timeoutMs: 60000, what: 'uploaded once S3 is back' });
  const [up] = await uploadsOf(sessionId);
  assert.equal(up.status, 'complete');
});

test('a multipart upload cut by a reload resumes with the parts S3 holds, and stores exactly the recorded bytes', { timeout: 180000 }, async () => {
  const sessionId = (await (await fetch(`${cluster.httpUrl}/api/sessions`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}',
  })).json()).sessionId;
  const size = 16 * MiB + 12345; // 4 parts of 5 MB
  const chunk = MiB;
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255;
  const recordingId = `${sessionId}-video`;
  // A finished recording as the recorder leaves it in IndexedDB: 1 MB chunks.
  await page.goto(`${cluster.httpUrl}/settings`);
  await page.evaluate(async ({ recordingId: id, sessionId: sid, size: n, chunk: c }) => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('codesight-recordings', 1);
      r.onupgradeneeded = () => { r.result.createObjectStore('recordings', { keyPath: 'recordingId' }); r.result.createObjectStore('chunks'); };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const sizes = [];
    const tx = db.transaction(['recordings', 'chunks'], 'readwrite');
    for (let start = 0, i = 0; start < n; start += c, i++) {
      const len = Math.min(c, n - start);
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = ((start + j) * 31 + 7) & 255;
      tx.objectStore('chunks').put(b.buffer, [id, i]);
      sizes.push(len);
    }
    tx.objectStore('recordings').put({ recordingId: id, sessionId: sid, kind: 'video', contentType: 'video/webm', recordingStartedAt: new Date().toISOString(), chunkSizes: sizes, finished: true });
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  }, { recordingId, sessionId, size, chunk });

  // A slow uplink, so the reload lands mid-way.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * MiB });
  await page.goto(`${cluster.httpUrl}/record`);
  const row = page.getByTestId('pending-recording').and(page.locator(`[data-recording-id="${recordingId}"]`));
  await row.getByRole('button', { name: 'Upload' }).click();
  const listed = async () => {
    const [up] = await uploadsOf(sessionId);
    return up ? (await cluster.query('SELECT codesight.upload_parts($1) AS p', [up.upload_id])).rows[0].p : null;
  };
  const mid = await waitFor(async () => { const p = await listed(); return p && p.parts.length >= 1 && p.parts.length < 4 ? p : null; },
    { timeoutMs: 60000, intervalMs: 50, what: 'some parts on S3, not all' });
  await page.reload();
  const already = new Set((await listed()).parts.map((x) => x.partNumber));
  assert.ok(already.size >= mid.parts.length && already.size < 4, `S3 holds parts ${[...already]}`);

  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const sent = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (r.method() === 'PUT' && u.searchParams.has('partNumber')) sent.push(Number(u.searchParams.get('partNumber')));
  });
  await row.getByRole('button', { name: 'Resume upload' }).click();
  await waitFor(async () => (await row.getByTestId('upload-status').getAttribute('data-phase').catch(() => null)) === 'done',
    { timeoutMs: 60000, what: 'upload complete after the reload' });
  assert.deepEqual(sent.filter((n) => already.has(n)), [], `parts S3 had were not sent again: sent ${sent}, S3 had ${[...already]}`);
  assert.deepEqual([...new Set(sent)].sort(), [1, 2, 3, 4].filter((n) => !already.has(n)));

  const [up] = await uploadsOf(sessionId);
  assert.equal(up.status, 'complete');
  assert.equal(Number(up.size_bytes), size);
  assert.ok(up.s3_upload_id, 'a multipart upload');
  const url = (await cluster.query("SELECT codesight.s3_presign('GET', $1) AS u", [up.object_key])).rows[0].u;
  const stored = Buffer.from(await (await fetch(url)).arrayBuffer());
  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
  assert.equal(sha(stored), sha(bytes), 'the stored object is the recording, byte for byte');
  await cdp.detach();
});

test('leaving the page by an in-app link stops the recording and releases the microphone and screen at once', { timeout: 60000 }, async () => {
  const sessionId = await startWithoutExtension();
  assert.ok(await liveTracks() > 0);
  await page.getByRole('link', { name: 'My sessions' }).click();
  await waitFor(async () => (await liveTracks()) === 0, { what: 'every track released' });
  await page.getByRole('link', { name: 'Record', exact: true }).click();
  await page.getByText(`Your recording of session ${sessionId} stopped when you left this page`).waitFor();
  await waitFor(async () => { const [up] = await uploadsOf(sessionId); return up && up.status === 'complete'; }, { timeoutMs: 30000, what: 'uploaded' });
});

test('audio only: the microphone ending stops the recording and says why', { timeout: 60000 }, async () => {
  await startWithoutExtension('Narration only (audio)');
  // A microphone unplugged ends its track; Chrome's fake device cannot be
  // unplugged, so the track's ended event is fired as the browser would.
  await page.evaluate(() => window.__streams.at(-1).getAudioTracks()[0].dispatchEvent(new Event('ended')));
  const outcome = page.getByTestId('recording-outcome');
  await outcome.waitFor();
  assert.match(await outcome.textContent(), /The microphone stopped/);
  await waitFor(async () => (await liveTracks()) === 0, { what: 'every track released' });
  assert.equal(await page.getByRole('button', { name: 'Stop recording' }).count(), 0);
});

test('browser storage failing stops the recording at once and says so', { timeout: 60000 }, async () => {
  await startWithoutExtension();
  // The recordings database goes away under the page (as when the browser
  // clears site data): the next chunk cannot be stored.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('IndexedDB.deleteDatabase', { securityOrigin: new URL(cluster.httpUrl).origin, databaseName: 'codesight-recordings' });
  await cdp.detach();
  const outcome = page.getByTestId('recording-outcome');
  await outcome.waitFor({ timeout: 10000 });
  assert.match(await outcome.textContent(), /could not store the recording/);
  await waitFor(async () => (await liveTracks()) === 0, { what: 'every track released' });
  assert.equal(await page.getByRole('button', { name: 'Stop recording' }).count(), 0, 'stopped without the worker pressing Stop');
});
