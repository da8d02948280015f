'use strict';
// The holes a red-team pass found on the worker's port (docs/security.md),
// each with the attack that worked before the fix: revocation reaching open
// sockets, a long Origin, DNS rebinding through a foreign Host.  A
// legitimate client's round trip is measured during each attack.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startCluster, waitFor } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');
const { api, rawRequest } = require('../lib/http');
const { roundTrip } = require('../lib/durable-client');

let cluster;

test.before(async () => {
  cluster = await startCluster({ conf: { 'codesight.http_rate_limit': 0 } });
});

test.after(async () => { if (cluster) await cluster.destroy(); });

async function register(name) {
  const r = await api(cluster.httpUrl, 'POST', '/api/workers', { body: { displayName: name } });
  assert.equal(r.status, 201);
  return r.json;
}

const stored = async (sessionId) => Number((await cluster.query(
  'SELECT count(*) FROM codesight.events WHERE session_id = $1', [sessionId])).rows[0].count);

for (const how of ['revoke_token', 'disable the worker', 'delete the worker']) {
  test(`revocation reaches open sockets within seconds (${how}); nothing sent after is stored`, async () => {
    const w = await register(`Revoked ${how}`);
    const sessionId = `cs_revoked_${how.replace(/\W/g, '_')}`;
    const ws = await connect(cluster.wsUrl);
    ws.send({ type: 'hello', token: w.token });
    await ws.next('hello_ok');
    ws.send({ type: 'session_start', sessionId });
    await ws.next('session_started');
    ws.send({ type: 'events', sessionId, events: [{ seq: 1, type: 'click', data: {} }] });
    await ws.next((m) => m.type === 'ack' && m.seq === 1);

    const t0 = Date.now();
    if (how === 'revoke_token') {
      const tokenId = w.token.split('_')[2];
      assert.equal((await cluster.query('SELECT codesight.revoke_token($1) AS ok', [tokenId])).rows[0].ok, true);
    } else if (how === 'disable the worker') {
      await cluster.query('UPDATE codesight.workers SET disabled_at = now() WHERE worker_id = $1', [w.workerId]);
    } else {
      await cluster.query('DELETE FROM codesight.workers WHERE worker_id = $1', [w.workerId]);
    }
    // Keeps sending, as a client would that has not noticed.
    let seq = 1;
    const pump = setInterval(() => {
      if (!ws.closed) ws.send({ type: 'events', sessionId, events: [{ seq: ++seq, type: 'click', data: {} }] });
    }, 20);
    try {
      const closed = await ws.waitClose(5000);
      assert.equal(closed.code, 1008);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      clearInterval(pump);
    }
    const err = ws.messages.find((m) => m.type === 'error' && m.code === 'unauthorized');
    assert.ok(err, `an unauthorized error before the close: ${JSON.stringify(ws.messages.slice(-3))}`);
    assert.match(err.message, /revoked|disabled/);
    // What came after the revocation committed was not stored: only seq 1
    // (sent and acked before) is, plus at most the batch already committing.
    if (how !== 'delete the worker') assert.ok(await stored(sessionId) <= 2, `${await stored(sessionId)} rows stored`);
    // And the token no longer opens a socket.
    const again = await connect(cluster.wsUrl);
    again.send({ type: 'hello', token: w.token });
    assert.equal((await again.next('error')).code, 'unauthorized');
    again.close();
  });
}

test('an Origin too long to copy is refused, never waved through', async () => {
  const long = `http://${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)}.example`;
  assert.ok(long.length > 256);
  for (const origin of [long, `http://${'x'.repeat(5000)}.example`]) {
    const r = await rawRequest(cluster.port, `GET /extension-ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`).catch((e) => ({ status: 0, error: e.message }));
    assert.notEqual(r.status, 101, `upgrade accepted for an origin of ${origin.length} bytes`);
  }
  assert.ok(await roundTrip(cluster.wsUrl) < 3000);
});

test('DNS rebinding: a foreign Host reads nothing, with or without an Origin', async () => {
  const paths = ['/api/sessions', '/api/health', '/metrics', '/api/extension/sessions/cs_any/data', '/', '/health'];
  for (const host of ['evil.example', 'evil.example:8787', 'localhost.evil.example', '127.0.0.1.evil.example']) {
    for (const path of paths) {
      const r = await rawRequest(cluster.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 403, `${host} ${path} -> ${r.status}`);
    }
    const ws = await rawRequest(cluster.port, `GET /extension-ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`).catch(() => ({ status: 0 }));
    assert.notEqual(ws.status, 101, `${host} opened the WebSocket`);
  }
  // Names that are this server still work: loopback names, IPs, the listen address.
  for (const host of ['127.0.0.1', `127.0.0.1:${cluster.port}`, 'localhost', `localhost:${cluster.port}`, 'app.localhost', '[::1]']) {
    const r = await rawRequest(cluster.port, `GET /api/health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200, `${host} -> ${r.status}`);
  }
  // A missing Host fails closed.
  const none = await rawRequest(cluster.port, 'GET /api/health HTTP/1.0\r\n\r\n');
  assert.notEqual(none.status, 200);
  // codesight.allowed_hosts names more.
  cluster.reload({ 'codesight.allowed_hosts': "'codesight.example, .lab.example'" });
  await waitFor(async () => (await rawRequest(cluster.port, 'GET /api/health HTTP/1.1\r\nHost: codesight.example\r\nConnection: close\r\n\r\n')).status === 200,
    { what: 'allowed_hosts applied' });
  assert.equal((await rawRequest(cluster.port, 'GET /api/health HTTP/1.1\r\nHost: rec.lab.example\r\nConnection: close\r\n\r\n')).status, 200);
  assert.equal((await rawRequest(cluster.port, 'GET /api/health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n')).status, 403);
  cluster.reload({ 'codesight.allowed_hosts': "''" });
});

test('slowloris: 1,200 sockets with unfinished headers from one address delay no one else, and past the limit are refused', async () => {
  const held = [];
  let closed = 0;
  for (let i = 0; i < 1200; i++) {
    const s = net.connect(cluster.port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => { closed++; });
    s.on('connect', () => s.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
    held.push(s);
  }
  try {
    // Past 1,024 unfinished handshakes in all, an address holding 64 gets no more.
    await waitFor(() => closed >= 1200 - 1024, { timeoutMs: 5000, what: 'the sockets past the limit closed' });
    const { WsClient } = require('../lib/wsclient');
    for (let k = 0; k < 3; k++) {
      const t0 = Date.now();
      const c = new WsClient(cluster.wsUrl, { localAddress: '127.0.0.2' });
      await c.opened(5000);
      await c.next('connected');
      c.send({ type: 'session_start', sessionId: `cs_slowloris_${k}` });
      await c.next('session_started');
      c.close();
      const ms = Date.now() - t0;
      console.log(`# slowloris: ${closed} of 1200 refused; round trip from 127.0.0.2 in ${ms} ms`);
      assert.ok(ms < 1000, `${ms} ms`);
    }
    const t1 = Date.now();
    const r = await rawRequest(cluster.port, 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { localAddress: '127.0.0.2' });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t1 < 1000);
    // The server drops idle header buffers by itself after 5 s.
    await waitFor(() => closed === 1200, { timeoutMs: 15000, what: 'the held sockets timed out by the server' });
  } finally {
    for (const s of held) s.destroy();
  }
});

test('with authentication required: registration is closed by default, and ownerless sessions are admins\' only', async () => {
  const { Cluster } = require('../lib/cluster');
  const c = new Cluster({ conf: { 'codesight.require_auth': "'on'", 'codesight.http_rate_limit': 0 } });
  await c.init();
  c.start();
  try {
    await c.createExtension();
    const anon = await api(c.httpUrl, 'POST', '/api/workers', { body: { displayName: 'Mallory' } });
    assert.equal(anon.status, 403);
    assert.match(anon.json.error.message, /registration is closed/);
    const adminToken = (await c.query("SELECT codesight.issue_admin_token('sec') AS t")).rows[0].t.token;
    const reg = await api(c.httpUrl, 'POST', '/api/workers', { token: adminToken, body: { displayName: 'Wendy' } });
    assert.equal(reg.status, 201);
    await c.query("INSERT INTO codesight.sessions (session_id) VALUES ('cs_ownerless')");
    for (const path of ['/api/extension/sessions/cs_ownerless/data', '/api/extension/sessions/cs_ownerless/summary', '/api/sessions/cs_ownerless/media']) {
      const w = await api(c.httpUrl, 'GET', path, { token: reg.json.token });
      assert.equal(w.status, 403, `${path}: ${w.text}`);
      assert.match(w.json.error.message, /no owner/);
      const a = await api(c.httpUrl, 'GET', path, { token: adminToken });
      assert.notEqual(a.status, 403, `${path} for an admin: ${a.text}`);
    }
    assert.equal((await api(c.httpUrl, 'DELETE', '/api/sessions/cs_ownerless', { token: reg.json.token })).status, 403);
    // Opened on purpose, it is open.
    c.reload({ 'codesight.open_registration': "'on'" });
    await waitFor(async () => (await api(c.httpUrl, 'POST', '/api/workers', { body: { displayName: 'Open' } })).status === 201,
      { what: 'open_registration = on applied' });
  } finally {
    await c.destroy();
  }
});
