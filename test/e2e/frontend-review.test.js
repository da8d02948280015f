'use strict';
// Tasks, the review and the health dashboard end to end: the real worker
// serving frontend/dist, a real s3rver, real Chromium with fake screen and
// microphone, driven with the mouse and keyboard.  An admin writes a task;
// a worker picks it, records, reviews the steps in words next to the video,
// deletes and undoes, and submits with the task corrected; a session the
// extension started alone gets its task on the review page; the admin
// scores and exports the dataset with its filters, and every export
// carries the task; the health dashboard turns red and green with S3.
// With CODESIGHT_SCREENSHOTS=1 each state goes to docs/screenshots/.

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { waitFor } = require('../lib/cluster');
const { WsClient } = require('../lib/wsclient');
const { startStack, launchPage, assertNoPageErrors, screenshot } = require('./lib/stack');

const TASK = 'Buy a pair of trail shoes in size 42';
const SHOP = 'http://shop.test';

let stack;
let cluster;
let browser;
let page;
const state = {};

const shot = (name) => screenshot(page, name);
const db = async (sql, params) => (await cluster.query(sql, params)).rows;

// Streams a small shopping demonstration for sessionId as the extension
// would: the product page loads, a size is picked, the cart opened, the
// checkout form filled in and sent.
async function streamDemonstration(token, sessionId, t0 = Date.now()) {
  const ws = new WsClient(cluster.wsUrl);
  await ws.opened();
  ws.send({ type: 'hello', token, protocol: 2 });
  await ws.next('hello_ok');
  ws.send({ type: 'session_start', sessionId, timestamp: t0, userAgent: 'e2e', extension: { name: 'e2e', version: '0' } });
  await ws.next('session_started');
  const product = `${SHOP}/product.html?id=p4`;
  const checkout = `${SHOP}/checkout.html`;
  const field = (label, value, url = checkout) => ({ url, selector: `#${label.replace(/\W/g, '')}`, value, element: { tag: 'input', name: label } });
  const events = [
    ['navigation', { url: product, frameId: 0, transitionType: 'typed' }],
    ['page', { url: product, action: 'load', title: 'Trail Runner - Fixture Shop', framePath: [] }],
    ['select', { url: product, selector: '#size', value: '42', optionText: '42', element: { tag: 'select', name: 'Size' } }],
    ['click', { url: product, selector: '[data-testid="add-to-cart"]', element: { tag: 'button', name: 'Add to Cart' },
      coordinates: { x: 640, y: 360 }, viewport: { width: 1280, height: 720 } }],
    ['navigation', { url: checkout, frameId: 0, transitionType: 'link' }],
    ['page', { url: checkout, action: 'load', title: 'Checkout - Fixture Shop', framePath: [] }],
    ['input', field('Email address', '<EMAIL>')],
    ['input', field('Full name', 'Ann')],
    ['input', field('Full name', 'Ann Smith')],
    ['submit', { url: checkout, formSelector: 'form', element: { tag: 'form', text: 'Email address Full name Place order '.repeat(10) } }],
  ].map(([type, data], i) => ({ seq: i + 1, type, timestamp: t0 + 300 * i, data }));
  ws.send({ type: 'events', sessionId, events });
  await ws.next((m) => m.type === 'ack' && m.seq === events.length);
  ws.ws.close();
}

async function saveAdminToken() {
  await page.goto(`${cluster.httpUrl}/settings`);
  await page.getByLabel('Admin token').fill(stack.adminToken);
  await page.getByRole('button', { name: 'Save admin token' }).click();
  await page.getByText(/^Saved\./).waitFor();
}

before(async () => {
  stack = await startStack();
  ({ cluster } = stack);
  ({ browser, page } = await launchPage());
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

afterEach(() => assertNoPageErrors(page));

test('an admin writes a task on the tasks page', async () => {
  await saveAdminToken();
  await page.getByRole('link', { name: 'Tasks' }).first().click();
  const form = page.getByRole('form', { name: 'New task' });
  await form.getByLabel('Instruction').fill(TASK);
  await form.getByLabel('Site (optional)').fill(`${SHOP}/`);
  await form.getByLabel('Tags (comma-separated)').fill('shoes, checkout');
  await form.getByLabel('Target count (optional)').fill('3');
  await form.getByRole('button', { name: 'Add task' }).click();
  await page.getByTestId('task-row').filter({ hasText: TASK }).getByText('0 of 3 submitted').waitFor();
  const [task] = await db('SELECT task_id, instruction, site, tags, target_count FROM codesight.tasks');
  assert.deepEqual({ ...task, task_id: undefined },
    { task_id: undefined, instruction: TASK, site: `${SHOP}/`, tags: ['shoes', 'checkout'], target_count: 3 });
  state.taskId = Number(task.task_id);
  await shot('tasks-admin');
});

test('a worker picks the task, records, and the session has it', async () => {
  await page.goto(`${cluster.httpUrl}/register`);
  await page.getByLabel('Your name').fill('Rita Review');
  await page.getByRole('button', { name: 'Register' }).click();
  state.token = (await page.getByTestId('worker-token').textContent()).trim();

  await page.goto(`${cluster.httpUrl}/record`);
  await page.getByRole('radio', { name: new RegExp(TASK) }).check();
  await shot('record-task-picker');
  // No extension in this browser: the demonstration streams from the test.
  await page.getByLabel(/Record without the extension/).check();
  await page.getByRole('button', { name: 'Start recording' }).click();
  state.sessionId = (await page.getByTestId('session-id').textContent()).trim();
  await waitFor(async () => (await db('SELECT task_id FROM codesight.sessions WHERE session_id = $1', [state.sessionId]))[0]?.task_id,
    { what: 'the task stored with the session' });
  const [row] = await db('SELECT task_id, task FROM codesight.sessions WHERE session_id = $1', [state.sessionId]);
  assert.equal(Number(row.task_id), state.taskId);
  assert.equal(row.task, TASK);

  await streamDemonstration(state.token, state.sessionId);
  await waitFor(async () => (await page.getByTestId('timer').textContent()) >= '00:03', { timeoutMs: 15000, what: '3 s of recording' });
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await page.getByText('Upload complete.').waitFor({ timeout: 30000 });
  // The page ends a session the extension does not track.
  await waitFor(async () => (await db('SELECT status FROM codesight.sessions WHERE session_id = $1', [state.sessionId]))[0].status === 'completed',
    { what: 'the session completed' });
});

test('the review reads in words beside the video, which has a duration', async () => {
  await page.goto(`${cluster.httpUrl}/sessions/${encodeURIComponent(state.sessionId)}`);
  const steps = page.getByTestId('step');
  await waitFor(async () => (await steps.count()) === 7, { what: 'seven steps' });
  const texts = await steps.allTextContents();
  const want = [
    'Opened “Trail Runner - Fixture Shop”',
    'Selected “42” in “Size”',
    'Clicked “Add to Cart”',
    'Opened “Checkout - Fixture Shop”',
    'Typed a hidden email into “Email address”',
    // A name is masked by the worker for what the field means (docs/sanitization.md).
    'Typed a hidden name into “Full name”',
    'Submitted the form with Email address and Full name',
  ];
  // Each row: the time into the video, the kind, then the sentence.
  want.forEach((w, i) => assert.ok(texts[i].endsWith(w), `step ${i + 1} reads "${texts[i]}", not "... ${w}"`));
  assert.equal(await page.getByTestId('first-page').textContent(), `Trail Runner - Fixture Shop${SHOP}/product.html?id=p4`);
  assert.equal(await page.getByTestId('last-page').textContent(), `Checkout - Fixture Shop${SHOP}/checkout.html`);
  // MediaRecorder's WebM says Infinity (a fresh <video> of the same file
  // shows it); the page has the browser find the end.
  const video = page.getByTestId('session-video');
  const raw = await video.evaluate((v) => new Promise((resolve) => {
    const probe = document.createElement('video');
    probe.muted = true;
    probe.onloadedmetadata = () => resolve(probe.duration);
    probe.src = v.currentSrc;
  }));
  assert.equal(raw, Infinity, 'the uploaded WebM has no duration of its own');
  const duration = await waitFor(() => video.evaluate((v) => (Number.isFinite(v.duration) ? v.duration : null)),
    { timeoutMs: 20000, what: 'a finite duration' });
  assert.ok(duration > 2 && duration < 15, `a ~3 s recording lasts ${duration} s`);
  assert.ok(await video.evaluate((v) => v.currentTime < 0.5), 'back at the start');
});

test('the worker deletes steps and undoes it, then submits with the task corrected', async () => {
  const seqs = async () => (await db('SELECT seq::int FROM codesight.events WHERE session_id = $1 ORDER BY seq', [state.sessionId])).map((r) => r.seq);
  await page.getByRole('checkbox', { name: 'Select step: Typed a hidden name into “Full name”' }).check();
  await page.getByRole('checkbox', { name: 'Select step: Selected “42” in “Size”' }).check();
  await page.getByRole('button', { name: 'Delete 2 selected steps' }).click();
  await page.getByText('Deleted 2 steps.').waitFor();
  await waitFor(async () => (await page.getByTestId('step').count()) === 5, { what: 'five steps left' });
  assert.deepEqual(await seqs(), [1, 2, 4, 5, 6, 7, 10]);
  await shot('review-undo');
  await page.getByRole('button', { name: 'Undo: restore 2 steps' }).click();
  await page.getByText('Restored 2 steps.').waitFor();
  await waitFor(async () => (await page.getByTestId('step').count()) === 7, { what: 'seven steps again' });
  assert.deepEqual(await seqs(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  await page.getByRole('checkbox', { name: 'Select step: Selected “42” in “Size”' }).check();
  await page.getByRole('button', { name: 'Delete 1 selected step' }).click();
  await page.getByText('Deleted 1 step.').waitFor();
  const done = page.getByLabel('What did you actually do?');
  assert.equal(await done.inputValue(), TASK);
  await done.fill('Bought trail shoes in size 43');
  await page.getByRole('button', { name: 'Submit for review' }).click();
  await page.getByText(/Submitted for review on/).waitFor();
  const [row] = await db('SELECT confirmed_task, submitted_at FROM codesight.sessions WHERE session_id = $1', [state.sessionId]);
  assert.equal(row.confirmed_task, 'Bought trail shoes in size 43');
  assert.ok(row.submitted_at);
  assert.equal((await db('SELECT count(*)::int AS n FROM codesight.deleted_events WHERE session_id = $1', [state.sessionId]))[0].n, 0,
    'the submit removed the deleted step for good');
  await waitFor(async () => (await page.getByRole('checkbox').count()) === 0, { what: 'no more deleting' });
  await shot('review-submitted');
});

test('a session the extension started alone gets its task on the review page', async () => {
  const sessionId = `cs_ext_${Date.now().toString(36)}`;
  await streamDemonstration(state.token, sessionId);
  await page.goto(`${cluster.httpUrl}/sessions`);
  await page.getByRole('link', { name: sessionId }).click();
  await page.getByText('This session has no task yet. What was it for?').waitFor();
  await page.getByRole('radio', { name: 'Something else' }).check();
  await page.getByLabel('Your own task').fill('Compare two tents');
  await page.getByRole('button', { name: 'Save the task' }).click();
  await page.getByTestId('session-task').filter({ hasText: 'Compare two tents' }).waitFor();
  const [row] = await db('SELECT task_id, task FROM codesight.sessions WHERE session_id = $1', [sessionId]);
  assert.deepEqual(row, { task_id: null, task: 'Compare two tents' });
  // Still recording (no stop came): it cannot be submitted until it ends.
  await page.getByText(/This session is still recording/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Submit for review' }).count(), 0);
  await page.getByRole('button', { name: 'End the recording' }).click();
  await page.getByRole('button', { name: 'Submit for review' }).waitFor();
  assert.equal((await db('SELECT status FROM codesight.sessions WHERE session_id = $1', [sessionId]))[0].status, 'completed');
});

test('the admin scores the session and exports the dataset with filters; every export carries the task', async () => {
  await page.goto(`${cluster.httpUrl}/admin/sessions/${encodeURIComponent(state.sessionId)}`);
  await page.getByTestId('summary').getByText('Bought trail shoes in size 43').waitFor();
  await page.getByRole('group', { name: 'Score' }).getByRole('button', { name: '4' }).click();
  await page.getByTestId('score').filter({ hasText: 'Scored 4 of 5' }).waitFor();
  assert.equal((await db('SELECT score FROM codesight.sessions WHERE session_id = $1', [state.sessionId]))[0].score, 4);

  const trainingDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download Training data JSON' }).click();
  const training = JSON.parse(fs.readFileSync(await (await trainingDownload).path(), 'utf8'));
  assert.equal(training.task, TASK);
  assert.equal(training.confirmed_task, 'Bought trail shoes in size 43');
  const scriptDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download Playwright script' }).click();
  const script = fs.readFileSync(await (await scriptDownload).path(), 'utf8');
  assert.match(script, /^\/\/ Task: Buy a pair of trail shoes in size 42$/m);
  assert.match(script, /^\/\/ Confirmed task: Bought trail shoes in size 43$/m);

  await page.getByRole('link', { name: 'All sessions' }).click();
  await page.getByLabel('Task').selectOption({ label: TASK });
  await page.getByLabel('Lowest score').selectOption('4');
  const datasetDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download dataset (JSONL)' }).click();
  const file = await (await datasetDownload).path();
  await page.getByText(/^Saved codesight-dataset-.*\.jsonl: \d+ actions/).waitFor();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual([...new Set(lines.map((l) => l.session_id))], [state.sessionId], 'only the submitted session of the task');
  assert.ok(lines.length >= 4, `${lines.length} actions`);
  for (const l of lines) {
    assert.equal(l.task_id, state.taskId);
    assert.equal(l.task, TASK);
    assert.equal(l.confirmed_task, 'Bought trail shoes in size 43');
  }
  await shot('dataset-export');
  // A lowest score above the session's leaves nothing.
  await page.getByLabel('Lowest score').selectOption('5');
  const empty = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download dataset (JSONL)' }).click();
  assert.equal(fs.readFileSync(await (await empty).path(), 'utf8'), '');
});

test('the health dashboard turns red when S3 goes down and green when it is back', async () => {
  const s3Card = page.locator('[data-testid="health-check"][data-name="s3"]');
  await page.getByRole('link', { name: 'Health' }).first().click();
  await waitFor(async () => (await s3Card.getAttribute('data-status')) === 'ok', { what: 'S3 ok' });
  const statuses = await page.getByTestId('health-check').evaluateAll((els) => els.map((e) => `${e.dataset.name}:${e.dataset.status}`));
  assert.deepEqual(statuses, ['postgres:ok', 'worker:ok', 's3:ok', 'extensions:ok']);
  assert.equal(await page.getByTestId('health-overview').textContent().then((t) => t.startsWith('Everything works.')), true);
  await shot('health-s3-ok');

  await stack.s3Down();
  // The page checks again by itself every few seconds.
  await waitFor(async () => (await s3Card.getAttribute('data-status')) === 'down', { timeoutMs: 30000, what: 'S3 down on the page' });
  assert.match(await s3Card.getByTestId('health-message').textContent(), /^unreachable: /);
  assert.match(await page.getByTestId('health-overview').textContent(), /^Not working: Storage \(S3\)\./);
  assert.equal(await s3Card.getByText('Down', { exact: true }).count(), 1);
  await shot('health-s3-down');

  await stack.s3Up();
  await waitFor(async () => (await s3Card.getAttribute('data-status')) === 'ok', { timeoutMs: 30000, what: 'S3 ok again on the page' });
  assert.match(await page.getByTestId('health-overview').textContent(), /^Everything works\./);
});
