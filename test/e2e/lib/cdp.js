'use strict';
// Chromium with the extension, driven over the raw DevTools protocol. For
// the few tests Playwright cannot serve: Playwright attaches to every page
// and disallows prerendering in it (PrerenderingDisabledByDevTools) and
// turns the back/forward cache off. Here a test attaches only to the
// targets it chooses, so a tab left alone prerenders and caches as a
// worker's Chrome does.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');
const { EXTENSION_DIR } = require('./extension');

async function launchRaw({ executablePath = '/usr/lib/chromium/chromium', args = [] } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'codesight-chromium-raw-'));
  const proc = spawn(executablePath, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync',
    '--disable-background-networking', '--disable-component-update', '--remote-debugging-port=0',
    `--user-data-dir=${userDataDir}`,
    `--disable-extensions-except=${EXTENSION_DIR}`, `--load-extension=${EXTENSION_DIR}`,
    ...args, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true }); // its own process group: close() ends its children too
  const endpoint = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${err}`)), 20000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/DevTools listening on (ws:\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  const ws = new WebSocket(endpoint);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let nextId = 0;
  const pending = new Map();
  const listeners = new Set();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id !== undefined && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${msg.error.message} ${msg.error.data || ''}`));
      else resolve(msg.result);
    } else {
      for (const l of listeners) l(msg);
    }
  });
  const send = (method, params = {}, sessionId = undefined) => new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params, sessionId }));
  });

  return {
    send,
    on(listener) { listeners.add(listener); return () => listeners.delete(listener); },
    async targets() { return (await send('Target.getTargets')).targetInfos; },
    async attach(targetId) { return (await send('Target.attachToTarget', { targetId, flatten: true })).sessionId; },
    // Evaluates expression (awaiting a promise) in an attached session.
    async evaluate(sessionId, expression) {
      const r = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception ? r.exceptionDetails.exception.description : r.exceptionDetails.text);
      return r.result.value;
    },
    // A trusted click, as a person's mouse makes it.
    async click(sessionId, x, y) {
      for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
        await send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 }, sessionId);
      }
    },
    // Chromium closes itself (its renderers and helpers go with it and
    // stop writing to the profile); killed, its children outlived it and
    // were still writing while the profile was removed (ENOTEMPTY).
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        const timer = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 10000);
        send('Browser.close').catch(() => {});
        await exited;
        clearTimeout(timer);
      }
      ws.close();
      try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* the group is gone */ }
      fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 10 });
    },
  };
}

module.exports = { launchRaw };
