'use strict';
// The roles and accessible names the extension records (content/
// accessibility.js: dom-accessibility-api) must be the ones Playwright's
// getByRole resolves, or a recorded getByRole locator misses its element on
// replay. On every page of the fixture corpus and the fixture shop, in every
// frame, for every interactive element that is not hidden: the element's
// recorded (role, name) must find it with getByRole(role, {name, exact:
// true}); an element whose name is empty must be found with the name /^$/.
//
//   node --test test/e2e/accessibility.test.js

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test, before, after } = require('node:test');
const { chromium } = require('playwright-core');

const { serveShop, SHOP_ROOT } = require('../lib/shop');
const { serveCorpus, CORPUS_ROOT } = require('../replay/corpus');
const { CHROMIUM_ARGS } = require('../replay/replay');

const EXT = path.join(__dirname, '..', '..', 'extension-chrome');
const INTERACTIVE = 'a[href], area[href], button, input:not([type=hidden]), select, textarea, summary, [role], [contenteditable], [tabindex]';

let browser;
let bundle;

before(async () => {
  const { bundle: build } = await import(path.join(EXT, 'build.mjs'));
  const out = await build('content/accessibility.js', { globalName: '__codesightA11y' });
  bundle = out.outputFiles[0].text;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => { if (browser) await browser.close(); });

// Marks the frame's interactive elements that are not hidden and returns
// their recorded role and name, by index in window.__codesightElements.
function describeFrame(frame) {
  return frame.evaluate((css) => {
    const { roleOf, nameOf, hiddenForAria } = window.__codesightA11y;
    const all = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.matches(css)) all.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    window.__codesightElements = all;
    return all.map((el, i) => ({ i, tag: el.localName, role: roleOf(el), name: nameOf(el), hidden: hiddenForAria(el) }));
  }, INTERACTIVE);
}

async function checkPage(page, url, counts, mismatches) {
  await page.goto(url);
  await page.waitForLoadState('load');
  for (const frame of page.frames()) {
    await frame.addScriptTag({ content: bundle });
    for (const el of await describeFrame(frame)) {
      if (el.hidden || !el.role || ['presentation', 'none', 'generic'].includes(el.role)) { counts.skipped++; continue; }
      const loc = frame.getByRole(el.role, el.name ? { name: el.name, exact: true } : { name: /^$/ });
      const found = await loc.evaluateAll((els) => els.map((e) => window.__codesightElements.indexOf(e)));
      counts.checked++;
      if (!found.includes(el.i)) mismatches.push(`${url} (${frame.url()}): <${el.tag}> recorded as ${el.role} "${el.name}", getByRole finds ${JSON.stringify(found)}`);
    }
  }
}

test('recorded roles and names are the ones getByRole resolves, on every fixture page', { timeout: 240000 }, async () => {
  const corpus = await serveCorpus();
  const shop = await serveShop();
  const page = await browser.newPage();
  const counts = { pages: 0, checked: 0, skipped: 0 };
  const mismatches = [];
  try {
    for (const f of fs.readdirSync(CORPUS_ROOT).filter((n) => n.endsWith('.html')).sort()) {
      await checkPage(page, corpus.url + f, counts, mismatches);
      counts.pages++;
    }
    for (const f of fs.readdirSync(SHOP_ROOT).filter((n) => n.endsWith('.html')).sort()) {
      await checkPage(page, shop.url + f, counts, mismatches);
      counts.pages++;
    }
  } finally {
    await page.close();
    await corpus.close();
    await shop.close();
  }
  console.log(`# accessibility: ${counts.checked - mismatches.length}/${counts.checked} interactive elements on ${counts.pages} pages ` +
    `found by getByRole with their recorded role and name (${counts.skipped} hidden or without a role)`);
  assert.deepEqual(mismatches, []);
});
