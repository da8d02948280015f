'use strict';
// End to end: the real extension in Chromium, the real worker in PostgreSQL,
// the fixture shop. A worker's shopping session must arrive in
// codesight.events complete, in order, with selectors that find the clicked
// element again and without any personal data; and it must survive the
// service worker being stopped, the database restarting and the connection
// dropping, every event stored exactly once.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { startCluster, waitFor } = require('../lib/cluster');
const { serveShop } = require('../lib/shop');
const { launchWithExtension, EXTENSION_ID } = require('./lib/extension');

const SECRETS = {
  email: 'ann.buyer@example.com',
  newsletter: 'news.reader@example.org',
  card: '4242 4242 4242 4242',
  cardDigits: '4242424242424242',
  password: 'S3cret-pass!word',
  cvc: '737',
  expiry: '12 / 31',
};

let cluster;
let shop;
let browser;

before(async () => {
  cluster = await startCluster();
  shop = await serveShop();
  browser = await launchWithExtension();
  await connectTo(cluster.wsUrl);
  controlPage = await browser.context.newPage();
  await controlPage.goto(`chrome-extension://${EXTENSION_ID}/popup/popup.html`);
});

after(async () => {
  if (browser) await browser.close();
  if (shop) await shop.close();
  if (cluster) await cluster.destroy();
});

// Drives the extension from one of its own pages, as the popup does (web
// pages other than the server's own CodeSight page may not).
// (Opened before the tests' pages, so that theirs are the active tabs.)
let controlPage;
function tell(_page, message) {
  return controlPage.evaluate((msg) => chrome.runtime.sendMessage(msg), message);
}

// Points the extension at the test's worker, typed in the popup as a worker would.
async function connectTo(url) {
  const popup = await browser.context.newPage();
  await popup.goto(`chrome-extension://${EXTENSION_ID}/popup/popup.html`);
  await popup.locator('#serverUrl').fill(url);
  await popup.locator('#connect').click();
  await waitFor(async () => (await popup.locator('#connection').textContent()) === 'connected', { what: 'popup connected' });
  await popup.close();
}

async function events(sessionId) {
  const r = await cluster.query(
    'SELECT seq::int, type, selector, page_url, payload FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId]);
  return r.rows;
}

// Waits until the worker stored `count` events of `type`, returns the last.
async function stored(sessionId, type, count) {
  return waitFor(async () => {
    const rows = (await events(sessionId)).filter((e) => e.type === type);
    return rows.length >= count ? rows[count - 1] : null;
  }, { timeoutMs: 15000, what: `${count} ${type} events stored` });
}

function locate(page, data) {
  let scope = page;
  for (const frame of data.framePath || []) scope = scope.frameLocator(frame);
  return scope.locator(data.selector);
}

// The recorded selector of the last click finds exactly the element clicked.
async function assertClickFinds(page, sessionId, clickCount, expected) {
  const ev = await stored(sessionId, 'click', clickCount);
  const data = ev.payload.data;
  assert.ok(data.selector, `click ${clickCount} has a selector`);
  assert.equal(ev.selector, data.selector);
  const found = locate(page, data);
  assert.equal(await found.count(), 1, `${data.selector} matches one element`);
  const same = await (await found.elementHandle()).evaluate((el, want) => el === want, await expected.elementHandle());
  assert.ok(same, `${data.selector} finds the clicked element`);
  return data;
}

// events holds, in this order, one event matching each predicate.
function assertInOrder(list, predicates) {
  let i = 0;
  for (const [name, pred] of predicates) {
    while (i < list.length && !pred(list[i])) i++;
    assert.ok(i < list.length, `expected ${name} after the previous step; types: ${list.map((e) => e.type).join(',')}`);
    i++;
  }
}

test('a shopping session arrives complete, in order, replayable and masked', { timeout: 240000 }, async () => {
  const sessionId = `cs_${Date.now().toString(36)}_flow1`;
  const page = await browser.context.newPage();
  await page.goto(shop.url);
  const started = await tell(page, { type: 'start_tracking', sessionId });
  assert.equal(started.ok, true, JSON.stringify(started));
  assert.equal(started.state, 'recording');
  await waitFor(async () => (await cluster.query('SELECT 1 FROM codesight.sessions WHERE session_id = $1', [sessionId])).rowCount,
    { what: 'session row' });
  let clicks = 0;

  // Coupon in the <promo-banner> shadow root.
  const coupon = page.getByPlaceholder('Coupon code');
  await coupon.pressSequentially('spring10', { delay: 20 });
  const apply = page.getByRole('button', { name: 'Apply coupon' });
  await apply.click();
  await assertClickFinds(page, sessionId, ++clicks, apply);

  // Search, submitted with Enter.
  await page.getByPlaceholder('Search products').pressSequentially('trail', { delay: 20 });
  await page.keyboard.press('Enter');
  await page.waitForURL(/search\.html/);
  await page.getByRole('link', { name: 'Trail Runner' }).click();
  clicks++;
  await page.waitForURL(/product\.html/);

  // Variant, quantity, two buttons that stay on the page.
  // Typing on a focused <select> picks an option as a user does (trusted
  // events; Playwright's selectOption dispatches untrusted ones).
  await page.locator('#size').focus();
  await page.keyboard.type('42');
  await page.locator('#color').focus();
  await page.keyboard.type('N');
  await page.locator('#qty').fill('2');
  const wishlist = page.getByRole('button', { name: 'Add to wishlist' });
  await wishlist.click();
  await assertClickFinds(page, sessionId, ++clicks, wishlist);
  const addToCart = page.getByTestId('add-to-cart');
  await addToCart.click();
  const addData = await assertClickFinds(page, sessionId, ++clicks, addToCart);
  assert.equal(addData.selector, '[data-testid="add-to-cart"]');

  // Mega menu revealed by hovering (CSS :hover), then a category.
  await page.locator('.mega-trigger').hover();
  await page.waitForTimeout(1200); // the worker's dwell time is what a hover event records
  await page.getByRole('link', { name: 'Shoes' }).click();
  clicks++;
  await page.waitForURL(/category\.html/);
  for (let i = 0; i < 2; i++) {
    const before = await page.evaluate(() => window.scrollY);
    await page.mouse.wheel(0, 400);
    await waitFor(() => page.evaluate((y) => window.scrollY > y, before), { what: 'scrolled' });
  }

  // Cart and checkout.
  await page.getByTestId('cart-link').click();
  clicks++;
  await page.waitForURL(/cart\.html/);
  await page.getByRole('link', { name: 'Proceed to checkout' }).click();
  clicks++;
  await page.waitForURL(/checkout\.html/);

  const newsletter = page.frameLocator('#newsletter-frame');
  await newsletter.getByPlaceholder('you@example.com').pressSequentially(SECRETS.newsletter, { delay: 10 });
  const subscribe = newsletter.getByRole('button', { name: 'Subscribe' });
  await subscribe.click();
  const subData = await assertClickFinds(page, sessionId, ++clicks, subscribe);
  assert.deepEqual(subData.framePath, ['iframe[title="Newsletter"]']);

  const type = (locator, text) => locator.pressSequentially(text, { delay: 10 });
  await type(page.getByLabel('Email address'), SECRETS.email);
  await type(page.getByLabel('Full name'), 'Ann Buyer');
  await type(page.getByLabel('Street'), '1 Main St');
  await type(page.getByLabel('City'), 'Springfield');
  await type(page.getByLabel('ZIP code'), '12345');
  await page.getByLabel('Country').focus();
  await page.keyboard.type('G');
  await type(page.getByPlaceholder('Card number'), SECRETS.card);
  await type(page.getByPlaceholder('MM / YY'), SECRETS.expiry);
  await type(page.getByTestId('cvc'), SECRETS.cvc);
  await type(page.getByLabel('Password'), SECRETS.password);
  await page.getByTestId('place-order').click();
  clicks++;
  await page.waitForURL(/thank-you\.html/);

  const stopped = await tell(page, { type: 'stop_tracking', sessionId });
  assert.equal(stopped.ok, true, JSON.stringify(stopped));
  const captured = stopped.counters.captured;
  await waitFor(async () => {
    const s = await cluster.query('SELECT status, event_count FROM codesight.sessions WHERE session_id = $1', [sessionId]);
    return s.rows[0].status !== 'active' && Number(s.rows[0].event_count) === captured;
  }, { timeoutMs: 20000, what: 'session stopped with every event' });

  const list = await events(sessionId);
  assert.deepEqual(list.map((e) => e.seq), Array.from({ length: captured }, (_, i) => i + 1), 'seqs 1..captured, once each');
  assert.equal(list.filter((e) => e.type === 'click').length, clicks,
    'one click event per click: ' + list.map((e) => e.type + (e.type === 'click' ? `(${e.selector})` : '')).join(' '));
  const d = (e) => e.payload.data;
  const isInput = (pred) => (e) => e.type === 'input' && pred(d(e));
  assertInOrder(list, [
    ['coupon input', isInput((x) => x.value === 'spring10')],
    ['search input', isInput((x) => x.value === 'trail')],
    ['Enter', (e) => e.type === 'keypress' && d(e).key === 'Enter'],
    ['search submit', (e) => e.type === 'submit'],
    ['search navigation', (e) => e.type === 'navigation' && /search\.html\?q=trail/.test(d(e).url) && d(e).transitionType === 'form_submit'],
    ['product click', (e) => e.type === 'click' && d(e).element.text === 'Trail Runner'],
    ['product navigation', (e) => e.type === 'navigation' && /product\.html/.test(d(e).url)],
    ['size', (e) => e.type === 'select' && d(e).value === '42'],
    ['color', (e) => e.type === 'select' && d(e).value === 'navy' && d(e).optionText === 'Navy'],
    ['quantity', isInput((x) => x.value === '2' && x.masked === null)],
    ['add to cart', (e) => e.type === 'click' && d(e).selectors.testId && d(e).selectors.testId.value === 'add-to-cart'],
    ['hover revealing the menu', (e) => e.type === 'hover' && d(e).revealed === true && d(e).durationMs >= 1000],
    ['category click', (e) => e.type === 'click' && d(e).element.text === 'Shoes'],
    ['category navigation', (e) => e.type === 'navigation' && /category\.html\?c=Shoes/.test(d(e).url)],
    ['scroll down', (e) => e.type === 'scroll' && d(e).direction === 'down'],
    ['checkout navigation', (e) => e.type === 'navigation' && /checkout\.html/.test(d(e).url)],
    ['newsletter email', isInput((x) => x.value === '<EMAIL>' && x.framePath.length === 1)],
    ['email', isInput((x) => x.value === '<EMAIL>' && x.masked === 'EMAIL')],
    ['city', isInput((x) => x.value === 'Springfield')],
    ['country', (e) => e.type === 'select' && d(e).value === 'de'],
    ['card number', isInput((x) => x.value === '<CARD_NUMBER>' && x.masked === 'CARD_NUMBER')],
    ['expiry', isInput((x) => x.value === '<CARD_EXPIRY>')],
    ['cvc', isInput((x) => x.value === '<CVC>')],
    ['password', isInput((x) => x.value === '<PASSWORD>' && x.masked === 'PASSWORD')],
    ['place order', (e) => e.type === 'click' && d(e).selector === '[data-testid="place-order"]'],
    ['thank-you navigation', (e) => e.type === 'navigation' && /thank-you\.html/.test(d(e).url)],
  ]);
  // Typing is one event per field edit, not one per key.
  assert.equal(list.filter(isInput((x) => x.value === '<CARD_NUMBER>')).length, 1);

  // Clicks that left their page: the selector still finds one element of the
  // same kind when the page is loaded again.
  for (const [i, e] of list.entries()) {
    if (e.type !== 'click') continue;
    const p = await browser.context.newPage();
    await p.goto(d(e).topUrl || d(e).url);
    // A menu item is reached as the worker reached it: by hovering first.
    const prev = list[i - 1];
    if (prev.type === 'hover' && d(prev).revealed) await locate(p, d(prev)).hover();
    const found = locate(p, d(e));
    await found.first().waitFor({ state: 'attached', timeout: 5000 }).catch(() => {});
    assert.equal(await found.count(), 1, `${d(e).selector} on ${d(e).url}`);
    assert.equal(await found.evaluate((el) => el.localName), d(e).element.tag);
    await p.close();
  }

  // No personal data in any text column of any table.
  const cols = await cluster.query(`SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'codesight' AND data_type IN ('text', 'jsonb', 'json', 'character varying')`);
  for (const { table_name: t, column_name: c } of cols.rows) {
    for (const [what, secret] of Object.entries(SECRETS)) {
      if (what === 'cvc' || what === 'expiry') continue; // too short to search as text; checked per event below
      const r = await cluster.query(`SELECT count(*)::int AS n FROM codesight.${t} WHERE ${c}::text LIKE $1`, [`%${secret}%`]);
      assert.equal(r.rows[0].n, 0, `${what} found in codesight.${t}.${c}`);
    }
  }
  for (const e of list.filter((x) => x.type === 'input')) {
    assert.notEqual(d(e).value, SECRETS.cvc);
    assert.notEqual(d(e).value, SECRETS.expiry);
  }

  // The JSON downloaded on Stop. Under Playwright the file gets a GUID name
  // in Playwright's folder, so it is recognised by its content.
  const sw = browser.serviceWorkerNow();
  const { text, doc } = await waitFor(async () => {
    const items = await sw.evaluate(() => chrome.downloads.search({ state: 'complete' }));
    for (const item of items) {
      const body = fs.readFileSync(item.filename, 'utf8');
      if (body.includes(`"sessionId": "${sessionId}"`)) return { text: body, doc: JSON.parse(body) };
    }
    return null;
  }, { what: 'session download' });
  assert.equal(doc.sessionId, sessionId);
  assert.equal(doc.totalEvents, captured);
  assert.equal(doc.summary.clicks, clicks);
  assert.ok(doc.summary.inputs >= 10 && doc.summary.navigations >= 5 && doc.summary.scrolls >= 1, JSON.stringify(doc.summary));
  assert.deepEqual(doc.summary.pagesVisited, [new URL(shop.url).host]);
  assert.ok(doc.duration > 0 && doc.startTime && doc.endTime);
  for (const secret of Object.values(SECRETS).slice(0, 4)) assert.ok(!text.includes(secret), 'download holds no personal data');
  await page.close();
});

test('every event arrives exactly once across service worker stops, database restarts and dropped connections', { timeout: 240000 }, async () => {
  const sessionId = `cs_${Date.now().toString(36)}_loss1`;
  const page = await browser.context.newPage();
  await page.goto(new URL('product.html?id=p1', shop.url).href);
  const started = await tell(page, { type: 'start_tracking', sessionId });
  assert.equal(started.ok, true, JSON.stringify(started));
  const button = page.getByRole('button', { name: 'Add to wishlist' });
  let clicks = 0;
  const clickTimes = async (n) => { for (let i = 0; i < n; i++) { await button.click(); clicks++; } };
  const storedCount = async () => (await cluster.query('SELECT count(*)::int AS n FROM codesight.events WHERE session_id = $1', [sessionId])).rows[0].n;

  await clickTimes(10);
  await waitFor(async () => (await storedCount()) >= 10, { what: 'first clicks stored' });

  // Chrome stops the service worker; the next click's message wakes it.
  await browser.stopServiceWorker();
  await clickTimes(10);

  // The database (and the worker with it) goes away while the worker clicks on.
  cluster.stop('fast');
  await clickTimes(10);
  const offline = await tell(page, { type: 'status' });
  assert.ok(offline.counters.queued > 0, `events queue while offline: ${JSON.stringify(offline.counters)}`);
  cluster.start();
  await cluster.waitListening();
  await clickTimes(5);

  // The connection drops: the worker process is terminated and restarts.
  await waitFor(async () => (await storedCount()) >= 20, { timeoutMs: 30000, what: 'reconnected after the restart' });
  const pid = await waitFor(() => cluster.workerPid(), { what: 'worker pid' });
  cluster.expectRestarts();
  await cluster.query('SELECT pg_terminate_backend($1)', [pid]);
  await clickTimes(10);

  const stopped = await tell(page, { type: 'stop_tracking', sessionId });
  assert.equal(stopped.ok, true, JSON.stringify(stopped));
  const captured = stopped.counters.captured;
  await waitFor(async () => {
    const s = await cluster.query('SELECT status FROM codesight.sessions WHERE session_id = $1', [sessionId]);
    return s.rows[0].status !== 'active';
  }, { timeoutMs: 60000, what: 'session stopped on the server' });

  const list = await events(sessionId);
  assert.deepEqual(list.map((e) => e.seq), Array.from({ length: captured }, (_, i) => i + 1), 'every captured seq stored once');
  assert.equal(list.filter((e) => e.type === 'click').length, clicks, 'every click stored once');
  const done = await tell(page, { type: 'status' });
  assert.equal(done.counters.acknowledged, captured);
  assert.equal(done.counters.queued, 0);
  await page.close();
});

test('the popup connects, starts, pauses, resumes and stops, with the badge showing it', { timeout: 120000 }, async () => {
  const shopPage = await browser.context.newPage();
  await shopPage.goto(new URL('product.html?id=p2', shop.url).href);
  const popup = await browser.context.newPage();
  await popup.goto(`chrome-extension://${browser.extensionId}/popup/popup.html`);
  await popup.locator('#serverUrl').fill(cluster.wsUrl);
  await popup.locator('#connect').click();
  await waitFor(async () => (await popup.locator('#connection').textContent()) === 'connected', { what: 'popup connected' });
  const sessionId = await popup.locator('#sessionId').inputValue();
  assert.match(sessionId, /^cs_[0-9a-z]+_[a-z0-9]{5}$/);
  await popup.locator('#start').click();
  const badge = () => browser.serviceWorkerNow().evaluate(() => chrome.action.getBadgeText({}));
  await waitFor(async () => (await badge()) === 'REC', { what: 'REC badge' });

  const wishlist = shopPage.getByRole('button', { name: 'Add to wishlist' });
  await wishlist.click();
  await stored(sessionId, 'click', 1);
  await popup.locator('#pause').click();
  await waitFor(async () => (await badge()) === 'PAU', { what: 'PAU badge' });
  await wishlist.click(); // not recorded while paused
  await popup.locator('#resume').click();
  await waitFor(async () => (await badge()) === 'REC', { what: 'REC badge again' });
  await wishlist.click();
  await stored(sessionId, 'click', 2);
  await waitFor(async () => Number(await popup.locator('#acknowledged').textContent()) >= 5, { what: 'popup counters' });
  await popup.locator('#stop').click();
  await waitFor(async () => (await badge()) === '', { what: 'badge cleared' });

  await waitFor(async () => {
    const s = await cluster.query('SELECT status FROM codesight.sessions WHERE session_id = $1', [sessionId]);
    return s.rows[0].status !== 'active';
  }, { timeoutMs: 20000, what: 'session stopped' });
  const types = (await events(sessionId)).map((e) => e.type);
  assert.equal(types.filter((t) => t === 'click').length, 2, types.join(','));
  assert.ok(types.indexOf('pause') < types.indexOf('resume') && types.indexOf('pause') > types.indexOf('click'), types.join(','));
  assert.ok(await popup.locator('#activity li').count() > 0);
  await popup.close();
  await shopPage.close();
});
