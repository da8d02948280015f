'use strict';
// Launches Chromium with the CodeSight extension loaded unpacked, in a fresh
// profile. Reusable by any e2e test:
//   const { context, serviceWorker, extensionId, downloadsDir, close } = await launchWithExtension();

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const EXTENSION_DIR = path.resolve(__dirname, '../../../extension-chrome');
const { extensionId: EXTENSION_ID } = require(path.join(EXTENSION_DIR, 'extension-id.json'));

async function launchWithExtension({ args = [], executablePath = process.env.CHROMIUM || '/usr/bin/chromium' } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'codesight-chromium-'));
  const downloadsDir = path.join(userDataDir, 'Downloads');
  fs.mkdirSync(path.join(userDataDir, 'Default'), { recursive: true });
  // Downloads land in a folder the test can read, without a prompt.
  fs.writeFileSync(path.join(userDataDir, 'Default', 'Preferences'), JSON.stringify({
    download: { default_directory: downloadsDir, prompt_for_download: false },
  }));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    acceptDownloads: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run',
      `--disable-extensions-except=${EXTENSION_DIR}`, `--load-extension=${EXTENSION_DIR}`,
      ...args,
    ],
  });
  const serviceWorker = await currentServiceWorker(context);
  const extensionId = new URL(serviceWorker.url()).host;
  let latest = serviceWorker;
  context.on('serviceworker', (w) => { if (isOurs(w)) latest = w; });
  return {
    context,
    serviceWorker,
    extensionId,
    downloadsDir,
    userDataDir,
    // The extension's service worker as last started (a new one after Chrome stopped it).
    serviceWorkerNow: () => latest,
    stopServiceWorker: (opts) => stopServiceWorker(context, extensionId, opts),
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

function isOurs(worker) { return worker.url().startsWith(`chrome-extension://${EXTENSION_ID}/`); }

async function currentServiceWorker(context, timeoutMs = 15000) {
  return context.serviceWorkers().find(isOurs) || context.waitForEvent('serviceworker', { predicate: isOurs, timeout: timeoutMs });
}

// Stops the extension's service worker as Chrome does when it idles, and
// resolves once it is stopped. The CDP ServiceWorker domain only sees the
// workers of its page's origin, hence a page of the extension: its manifest,
// which sends the service worker no message that would wake it again. Pass
// such a page (keepPage) to leave it open: closing a tab is a tabs event,
// which wakes the service worker again.
async function stopServiceWorker(context, extensionId, { keepPage = null, timeoutMs = 15000 } = {}) {
  const page = keepPage || await context.newPage();
  try {
    if (!keepPage) await page.goto(`chrome-extension://${extensionId}/manifest.json`);
    const cdp = await context.newCDPSession(page);
    const stopped = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('service worker did not stop')), timeoutMs);
      cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
        if (versions.some((v) => v.scriptURL.startsWith(`chrome-extension://${extensionId}/`) && v.runningStatus === 'stopped')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    await stopped;
    await cdp.detach();
  } finally {
    if (!keepPage) await page.close();
  }
}

module.exports = { launchWithExtension, currentServiceWorker, EXTENSION_DIR, EXTENSION_ID };
