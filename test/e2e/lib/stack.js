'use strict';
// The server side of the web page's end-to-end tests: a real worker serving
// the built page (frontend/dist), its S3 settings pointing at a real s3rver
// on loopback, and an admin token.  Also the screenshots of docs/screenshots/,
// written only when CODESIGHT_SCREENSHOTS=1 (`make screenshots`), so that a
// test run leaves the checkout as it was.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startCluster } = require('../../lib/cluster');
const { startS3Server } = require('../../lib/s3server');

const ROOT = path.resolve(__dirname, '../../..');
const DIST = path.join(ROOT, 'frontend/dist');
const SHOTS = path.join(ROOT, 'docs/screenshots');
const SCREENSHOTS = process.env.CODESIGHT_SCREENSHOTS === '1';

// Saves a full-page screenshot of page as docs/screenshots/<name>.png when
// screenshots are asked for; otherwise does nothing.
async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// Collects the page's uncaught errors (an exception or unhandled rejection
// in the web page) in page.errors, and logs them as they happen.
function watchPageErrors(page) {
  page.errors = [];
  page.on('pageerror', (e) => {
    console.log('page error:', e.message);
    page.errors.push(`${e.message}\n${e.stack || ''}`.trim());
  });
  return page;
}

// Fails the test that was running when a page threw: an uncaught error is
// a bug of the page even when the screen looks right.  Clears the lists, so
// each test answers for its own errors (use it in afterEach).
function assertNoPageErrors(...pages) {
  const errors = pages.flatMap((page) => page.errors.splice(0).map((e) => `${page.url()}: ${e}`));
  assert.deepEqual(errors, [], `a page threw:\n${errors.join('\n\n')}`);
}

// Chromium with a fake screen and microphone that need no prompt, and a
// 1280x800 page in it whose errors are collected (watchPageErrors);
// resolves to {browser, page}.
async function launchPage() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required'],
  });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })).newPage();
  page.setDefaultTimeout(15000);
  watchPageErrors(page);
  return { browser, page };
}

// Starts s3rver and the cluster (conf: more settings); stop() takes both
// down.  s3Down() stops the S3 server and s3Up() starts it again on the
// same port, as an outage.
async function startStack({ conf = {} } = {}) {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), 'build the page first: cd frontend && npm run build');
  const s3 = await startS3Server();
  const cluster = await startCluster({
    conf: {
      'codesight.static_dir': `'${DIST}'`,
      'codesight.s3_endpoint': `'${s3.endpoint}'`,
      'codesight.s3_url_style': "'path'",
      'codesight.s3_bucket': `'${s3.bucket}'`,
      'codesight.s3_access_key_id': `'${s3.accessKeyId}'`,
      'codesight.s3_secret_access_key': `'${s3.secretAccessKey}'`,
      ...conf,
    },
  });
  const adminToken = (await cluster.query("SELECT codesight.issue_admin_token('e2e') AS t")).rows[0].t.token;
  return {
    s3,
    cluster,
    adminToken,
    async s3Down() {
      await this.s3.stop();
    },
    async s3Up() {
      this.s3 = await startS3Server({ port: s3.port, bucket: s3.bucket });
    },
    async stop() {
      try { await cluster.destroy(); } finally { await this.s3.stop(); }
    },
  };
}

module.exports = { startStack, launchPage, watchPageErrors, assertNoPageErrors, screenshot, DIST };
