'use strict';
// Hostile HTTP against the worker's port: request smuggling, pipelining,
// path traversal on the static route, oversized headers.  Every case gets a
// clear answer or a closed connection, and the worker keeps serving with the
// same pid.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startCluster } = require('../lib/cluster');
const { roundTrip } = require('../lib/durable-client');

let cluster;
let pid;
let staticDir;
const INDEX = '<!doctype html><title>codesight static index</title>';

before(async () => {
  staticDir = fs.mkdtempSync(path.join(os.tmpdir(), 'codesight-static-'));
  fs.writeFileSync(path.join(staticDir, 'index.html'), INDEX);
  fs.chmodSync(staticDir, 0o755);
  if (process.getuid() === 0) execFileSync('chown', ['-R', 'postgres:postgres', staticDir]);
  cluster = await startCluster({ conf: { 'codesight.static_dir': `'${staticDir}'`, 'codesight.http_rate_limit': 0 } });
  pid = await cluster.workerPid();
});

after(async () => {
  if (cluster) await cluster.destroy();
  fs.rmSync(staticDir, { recursive: true, force: true });
});

// Sends raw bytes, collects everything until the server closes or goes quiet.
function rawHttp(bytes, { quietMs = 1500, timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(cluster.port, '127.0.0.1');
    const chunks = [];
    let quiet;
    const finish = (how) => { clearTimeout(quiet); clearTimeout(total); s.destroy(); resolve({ text: Buffer.concat(chunks).toString('latin1'), how }); };
    const total = setTimeout(() => finish('timeout'), timeoutMs);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => { chunks.push(d); clearTimeout(quiet); quiet = setTimeout(() => finish('quiet'), quietMs); });
    s.on('end', () => finish('closed'));
    s.on('error', () => finish('error'));
  });
}

function statuses(text) {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}

async function healthy() {
  assert.strictEqual(await cluster.workerPid(), pid, 'same worker pid');
  assert.ok(await roundTrip(cluster.wsUrl) < 3000);
  const r = await rawHttp('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.deepStrictEqual(statuses(r.text), [200]);
}

test('the static route serves index.html', async () => {
  const r = await rawHttp('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.deepStrictEqual(statuses(r.text), [200]);
  assert.ok(r.text.includes('codesight static index'));
});

const TRAVERSALS = [
  '/../../etc/passwd', '/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/static/../../../etc/passwd', '/..\\..\\etc\\passwd', '/index.html%00.png', '/%00', '/etc/passwd%00',
  '//etc/passwd', '/.%2e/.%2e/etc/passwd', '/%252e%252e/etc/passwd', '/..;/etc/passwd', '/assets/%c0%ae%c0%ae/etc/passwd',
];
test('path traversal on the static route never leaves static_dir', async () => {
  for (const p of TRAVERSALS) {
    const r = await rawHttp(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    assert.ok(!/root:.*:0:0:/.test(r.text), `${p} leaked /etc/passwd`);
    const st = statuses(r.text);
    // Either refused (4xx), the SPA index (200 with index.html), or dropped.
    if (st.length) {
      assert.ok(st[0] >= 400 || r.text.includes('codesight static index'), `${p} -> ${r.text.slice(0, 200)}`);
    }
  }
  await healthy();
});

// Workers registered under a name (a public request with an effect: the
// registration route is open on loopback).
async function registered(prefix) {
  const r = await cluster.query("SELECT count(*)::int AS n FROM codesight.workers WHERE display_name LIKE $1 || '%'", [prefix]);
  return r.rows[0].n;
}

// A POST /api/workers with its framing headers and body as given: the
// public request with an effect that the smuggling cases hide.
function registration(framing, body) {
  return `POST /api/workers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}\r\n\r\n${body}`;
}

test('request smuggling: ambiguous body framing gets one 400, a closed connection, and no request runs', async () => {
  // The hidden request: complete, public, and with an effect if it ran.
  const hiddenBody = '{"displayName":"Smuggled"}';
  const hidden = registration(`Content-Length: ${hiddenBody.length}`, hiddenBody);
  const outer = '{"displayName":"Outer"}';
  const chunked = (data) => `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;
  const cases = {
    'CL.TE': registration(`Content-Length: ${outer.length}\r\nTransfer-Encoding: chunked`, `0\r\n\r\n${hidden}`),
    'TE.CL': registration(`Transfer-Encoding: chunked\r\nContent-Length: 4`, chunked(outer + hidden)),
    'two Content-Lengths': registration(`Content-Length: ${outer.length}\r\nContent-Length: ${outer.length + hidden.length}`, outer + hidden),
    'Content-Length not a number': registration(`Content-Length: +${outer.length}`, outer + hidden),
    'Transfer-Encoding : (space before the colon)': registration(`Content-Length: ${outer.length}\r\nTransfer-Encoding : chunked`, outer + hidden),
    'Transfer-Encoding\\t: (tab before the colon)': registration(`Content-Length: ${outer.length}\r\nTransfer-Encoding\t: chunked`, outer + hidden),
    'Transfer-Encoding on a folded line': registration(`Content-Length: ${outer.length}\r\nX-Pad: 1\r\n Transfer-Encoding: chunked`, outer + hidden),
    'Transfer-Encoding:\\tchunked': registration(`Content-Length: ${outer.length}\r\nTransfer-Encoding:\tchunked`, outer + hidden),
    'Transfer-Encoding: identity': registration(`Content-Length: ${outer.length}\r\nTransfer-Encoding: identity`, outer + hidden),
    'Content-Length : (space before the colon)': registration(`Content-Length: ${outer.length}\r\nContent-Length : ${outer.length + hidden.length}`, outer + hidden),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const r = await rawHttp(bytes, { quietMs: 3000 });
    // docs/http-api.md: refused (400, connection closed).
    assert.deepStrictEqual(statuses(r.text), [400], `${name}: ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.strictEqual(r.how, 'closed', `${name}: the server did not close the connection`);
  }
  assert.strictEqual(await registered('Smuggled'), 0, 'a hidden request ran');
  assert.strictEqual(await registered('Outer'), 0, 'a refused request ran');
  await healthy();
});

test('a GET with a body: the body is read as its body, never as a request', async () => {
  const hiddenBody = '{"displayName":"InGetBody"}';
  const hidden = registration(`Content-Length: ${hiddenBody.length}`, hiddenBody);
  const r = await rawHttp(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`);
  assert.deepStrictEqual(statuses(r.text), [200], JSON.stringify(r.text.slice(0, 300)));
  assert.strictEqual(await registered('InGetBody'), 0);
  await healthy();
});

// lws 4.1 read a request with a body that arrived behind another one in
// the same packet from the wrong offset and then looped on it: one such
// write froze the network process at 100 % CPU (every client, the stream
// too).  Bytes behind a body before its answer made it spin until the
// answer was out.  Both now close the connection.
test('a request with a body pipelined behind another: the first is answered, the connection closed, the misread one never runs', async () => {
  const body = '{"displayName":"Pipelined"}';
  const second = registration(`Content-Length: ${body.length}`, body);
  const t0 = Date.now();
  const r = await rawHttp(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${second}`, { quietMs: 3000 });
  assert.deepStrictEqual(statuses(r.text), [200], JSON.stringify(r.text.slice(0, 400)));
  assert.strictEqual(r.how, 'closed');
  assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`);
  await healthy();
  assert.strictEqual(await registered('Pipelined'), 0, 'the pipelined request ran with a misread body');
});

test('bytes behind a request body before its answer close the connection at once', async () => {
  const body = '{"displayName":"Followed"}';
  const t0 = Date.now();
  const r = await rawHttp(`${registration(`Content-Length: ${body.length}`, body)}GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { quietMs: 3000 });
  assert.strictEqual(r.how, 'closed');
  assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`);
  assert.ok(statuses(r.text).length <= 1, r.text.slice(0, 400));
  await healthy();
  // Bodiless requests pipelined on a keep-alive connection are all answered.
  const three = await rawHttp('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(3));
  assert.deepStrictEqual(statuses(three.text), [200, 200, 200]);
  await healthy();
});

test('oversized headers are refused without harm', async () => {
  const big = 'a'.repeat(16 * 1024);
  const cases = [
    `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big}\r\nConnection: close\r\n\r\n`,
    `GET /${'p'.repeat(20000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    `GET /extension-ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${big}\r\n\r\n`,
  ];
  const seen = [];
  for (const c of cases) {
    const r = await rawHttp(c);
    const st = statuses(r.text);
    seen.push(st.length ? st[0] : r.how);
    assert.ok(!st.includes(200) && !st.includes(101), `oversized request accepted: ${r.text.slice(0, 120)}`);
  }
  console.log(`# oversized headers: ${JSON.stringify(seen)}`);
  await healthy();
});

test('garbage and half requests do not hurt the worker', async () => {
  for (const c of ['\x00\x01\x02\x03\r\n\r\n', 'NOTAMETHOD / HTTP/1.1\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET\r\n\r\n', '\r\n\r\n\r\n', 'POST /api/workers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n{}', 'POST /api/workers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999999999999\r\n\r\n{}']) {
    const r = await rawHttp(c, { quietMs: 800, timeoutMs: 4000 });
    assert.ok(!statuses(r.text).includes(500), `500 for ${JSON.stringify(c)}`);
  }
  await healthy();
});

// A keep-alive request whose client closes the socket after reading the
// answer: the connection's record must go with it.  Left behind, records
// filled codesight.max_connections (every WebSocket upgrade then went
// unanswered) and stopping the worker touched their freed sockets and
// crashed it (issue: "HTTP connections leave records behind").
async function keepAliveThenClose(port, reqPath) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer to ${reqPath}`)); }, 10000);
    s.on('connect', () => s.write(`GET ${reqPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    s.on('data', (d) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      const m = /content-length: *(\d+)/i.exec(got);
      if (end >= 0 && m && got.length - end - 4 >= Number(m[1])) {
        clearTimeout(timer);
        s.end();
        resolve(statuses(got)[0]);
      }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

test('keep-alive HTTP connections closed by the client leave no records, and a stop after them is clean', async () => {
  const { Cluster } = require('../lib/cluster');
  const c = new Cluster({ conf: { 'codesight.static_dir': `'${staticDir}'`, 'codesight.http_rate_limit': 0, 'codesight.max_connections': 50 } });
  await c.init();
  c.start();
  try {
    await c.createExtension();
    const seen = new Set();
    for (let i = 0; i < 120; i++) seen.add(await keepAliveThenClose(c.port, ['/health', '/', '/api/nothing-here'][i % 3]));
    assert.deepStrictEqual([...seen].sort(), [200, 404]);
    // 120 requests on their own connections, with max_connections 50: a
    // WebSocket still opens once the clients have gone.
    assert.ok(await roundTrip(c.wsUrl) < 3000);
    const { waitFor } = require('../lib/cluster');
    await waitFor(async () => (await c.query("SELECT (codesight.worker_status()->>'connections')::int AS n")).rows[0].n === 0,
      { what: 'no connection records left' });
  } finally {
    await c.destroy();
  }
  // destroy() stopped the server with -m fast and found no crashed process
  // in its log (it throws if it does).
});
