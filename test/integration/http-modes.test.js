'use strict';
// The HTTP API under other settings than http-api.test.js: the default
// loopback setup (require_auth = auto, so off; the default rate limits), a
// worker listening on every address (auth required, /metrics only with an
// admin token from outside), closed registration and a reload opening it,
// S3 failures (502) and a cancelled request (503).

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startCluster, waitFor, freePort } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');
const { api } = require('../lib/http');
const { outsideAddress } = require('../lib/outside-address');

function assertError(r, status, code) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.equal(r.json.error.code, code, r.text);
}

// Requests `path` as fast as `concurrency` keep-alive connections per
// client address allow, for `seconds`.  Resolves the statuses, the 429
// messages seen, the requests made per address and the seconds it took
// from the first request sent to the last answer.
async function hammer(port, { path, token, addresses = ['127.0.0.1'], concurrency = 8, seconds = 5 }) {
  const statuses = {};
  const messages = new Set();
  const perAddress = {};
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  const one = (agent) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
  await Promise.all(addresses.map(async (localAddress) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, localAddress });
    perAddress[localAddress] = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const r = await one(agent);
        perAddress[localAddress]++;
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        if (r.status === 429) messages.add(JSON.parse(r.body).error.message);
      }
    }));
    agent.destroy();
  }));
  return { statuses, messages: [...messages], perAddress, seconds: (Date.now() - t0) / 1000 };
}

// Fixed one-second windows: over T seconds of saturating demand, at least
// the windows wholly inside them pass `limit` each, at most every window
// touched does (one more for the spread of network delays).  Over 5 s that
// is 400 to 700 at 100/s: 50/s (350 at most) and 200/s (800 at least) fail.
function assertRate(ok, limit, seconds, what) {
  const low = limit * (Math.floor(seconds) - 1);
  const high = limit * (Math.floor(seconds) + 2);
  assert.ok(ok >= low && ok <= high, `${what}: ${ok} requests passed in ${seconds.toFixed(2)} s; ${limit}/s allows ${low} to ${high}`);
}

test('loopback default (require_auth auto = off)', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.destroy());
  const U = cluster.httpUrl;
  const reg = await api(U, 'POST', '/api/workers', { body: { displayName: 'Owner' } });
  assert.equal(reg.status, 201);
  const owner = reg.json;

  await t.test('anonymous callers reach worker routes', async () => {
    const me = await api(U, 'GET', '/api/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.json, { kind: 'anonymous', workerId: null });
    const s = await api(U, 'POST', '/api/sessions', { body: { sessionId: 'anon_1' } });
    assert.equal(s.status, 201);
    assert.equal(s.json.workerId, null);
    assert.equal((await api(U, 'POST', '/api/sessions', { token: owner.token, body: { sessionId: 'owned_1' } })).status, 201);

    // Without auth, an anonymous caller sees every session; a token still
    // narrows the listing to its worker.
    const all = await api(U, 'GET', '/api/sessions');
    assert.deepEqual(all.json.sessions.map((x) => x.sessionId).sort(), ['anon_1', 'owned_1']);
    const own = await api(U, 'GET', '/api/sessions', { token: owner.token });
    assert.deepEqual(own.json.sessions.map((x) => x.sessionId), ['owned_1']);
    // Admin routes still need an admin token.
    assertError(await api(U, 'GET', '/api/debug/counts'), 401, 'unauthorized');
    // A token that is sent must be valid.
    assertError(await api(U, 'GET', '/api/sessions', { token: 'cs_w_000000000000_00000000000000000000000000000000' }), 401, 'unauthorized');
  });

  await t.test('the WebSocket needs no hello', async () => {
    const ws = await connect(cluster.wsUrl);
    assert.equal(ws.messages[0].authRequired, false);
    ws.send({ type: 'session_start', sessionId: 'anon_ws', timestamp: Date.now() });
    const started = await ws.next((m) => m.type !== 'connected');
    assert.equal(started.type, 'session_started');
    ws.close();
  });

  await t.test('static_dir unset: GET / is 404, the API still answers', async () => {
    const r = await api(U, 'GET', '/');
    assert.equal(r.status, 404);
    assert.equal((await api(U, 'GET', '/health')).status, 200);
  });

  await t.test('codesight.http_rate_limit: 100 requests a second per client address by default', async () => {
    const r = await hammer(cluster.port, { path: '/health', concurrency: 16 });
    const made = r.perAddress['127.0.0.1'];
    assert.ok(made / r.seconds > 300, `the client made only ${made} requests in ${r.seconds} s: not enough to test a limit of 100/s`);
    assert.deepEqual(Object.keys(r.statuses).sort(), ['200', '429'], JSON.stringify(r.statuses));
    console.log(`# one address: ${r.statuses[200]} of ${made} requests passed in ${r.seconds.toFixed(2)} s`);
    assertRate(r.statuses[200], 100, r.seconds, 'one address');
    assert.deepEqual(r.messages, ['too many requests from this address; slow down and retry in a second']);
  });

  await t.test('a token is limited to 100 requests a second across client addresses', async () => {
    // Two loopback addresses, each held to 100/s on its own: were only
    // addresses counted, 200 a second would pass.
    const r = await hammer(cluster.port, { path: '/api/me', token: owner.token, addresses: ['127.0.0.1', '127.0.0.2'], concurrency: 8 });
    for (const [address, made] of Object.entries(r.perAddress)) {
      assert.ok(made / r.seconds > 150, `${address} made only ${made} requests in ${r.seconds} s: not enough to test the limit`);
    }
    assert.deepEqual(Object.keys(r.statuses).sort(), ['200', '429'], JSON.stringify(r.statuses));
    console.log(`# one token from two addresses: ${r.statuses[200]} of ${JSON.stringify(r.perAddress)} requests passed in ${r.seconds.toFixed(2)} s`);
    assertRate(r.statuses[200], 100, r.seconds, 'one token from two addresses');
    assert.ok(r.messages.includes('too many requests with this token; slow down and retry in a second'), JSON.stringify(r.messages));
  });
});

test('listening on every address: auth required, /metrics needs an admin token from outside, S3 errors', async (t) => {
  // A client on another host: an address the server does not count as
  // loopback (added for the test as root; see lib/outside-address.js).
  const ext = outsideAddress(t);
  console.log(`# the outside client's address: ${ext}`);
  const fromOutside = (st) => {
    if (!ext) st.skip('no address of this machine that is not loopback, and none could be added (needs root and iproute2)');
    return !!ext;
  };
  // A port nothing listens on: S3 "down".
  const closedPort = await freePort();
  const cluster = await startCluster({
    conf: {
      'codesight.listen_address': "'0.0.0.0'",
      'codesight.open_registration': 'off',
      'codesight.s3_endpoint': `'http://127.0.0.1:${closedPort}'`,
      'codesight.s3_bucket': "'recordings'",
      'codesight.s3_access_key_id': "'test-key'",
      'codesight.s3_secret_access_key': "'test-secret'",
      'codesight.s3_url_style': "'path'",
      'codesight.s3_connect_timeout': "'500ms'",
      'codesight.http_rate_limit': 0,
    },
  });
  t.after(() => cluster.destroy());
  const LO = cluster.httpUrl;
  const EXT = `http://${ext}:${cluster.port}`;
  const admin = (await cluster.query("SELECT codesight.issue_admin_token('test') AS t")).rows[0].t.token;

  let worker;
  await t.test('open_registration = off: 403; an admin token may still register; a reload opens it', async () => {
    assertError(await api(LO, 'POST', '/api/workers', { body: { displayName: 'Walk-in' } }), 403, 'forbidden');
    const byAdmin = await api(LO, 'POST', '/api/workers', { token: admin, body: { displayName: 'Invited' } });
    assert.equal(byAdmin.status, 201, byAdmin.text);
    worker = byAdmin.json;
    cluster.reload({ 'codesight.open_registration': 'on' });
    await waitFor(async () => (await api(LO, 'POST', '/api/workers', { body: { displayName: 'Walk-in' } })).status === 201,
      { what: 'registration open after reload' });
  });

  await t.test('require_auth auto is on when not listening on loopback, for loopback clients too', async () => {
    assertError(await api(LO, 'GET', '/api/me'), 401, 'unauthorized');
    assertError(await api(LO, 'GET', '/api/sessions'), 401, 'unauthorized');
    assert.equal((await api(LO, 'GET', '/api/me', { token: worker.token })).status, 200);
    const ws = await connect(cluster.wsUrl);
    assert.equal(ws.messages[0].authRequired, true);
    ws.close();
  });

  await t.test('from outside: the API needs a token, /health does not', async (st) => {
    if (!fromOutside(st)) return;
    assertError(await api(EXT, 'GET', '/api/sessions'), 401, 'unauthorized');
    assert.equal((await api(EXT, 'GET', '/api/me', { token: worker.token })).status, 200);
    assert.equal((await api(EXT, 'GET', '/health')).status, 200);
    const ws = await connect(`ws://${ext}:${cluster.port}/extension-ws`);
    assert.equal(ws.messages[0].authRequired, true);
    ws.close();
  });

  await t.test('/metrics: loopback without a token; from outside 401 without, 403 with a worker token, 200 with an admin token', async (st) => {
    assert.equal((await api(LO, 'GET', '/metrics')).status, 200);
    if (!fromOutside(st)) return;
    assertError(await api(EXT, 'GET', '/metrics'), 401, 'unauthorized');
    assertError(await api(EXT, 'GET', '/metrics', { token: worker.token }), 403, 'forbidden');
    const ok = await api(EXT, 'GET', '/metrics', { token: admin });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^codesight_worker_up 1$/m);
  });

  await t.test('S3 unreachable: presigning a multipart upload and completing an upload get 502 s3_error', async () => {
    assert.equal((await api(LO, 'POST', '/api/sessions', { token: worker.token, body: { sessionId: 's3_down' } })).status, 201);
    const base = { sessionId: 's3_down', kind: 'video', contentType: 'video/webm' };
    // A single PUT is presigned locally, without S3.
    const single = await api(LO, 'POST', '/api/upload/url', { token: worker.token, body: { ...base, sizeBytes: 1000 } });
    assert.equal(single.status, 200, single.text);
    assert.match(single.json.uploadId, /^[0-9a-f-]{36}$/);
    // Multipart starts with CreateMultipartUpload, which needs S3.
    const multi = await api(LO, 'POST', '/api/upload/url', { token: worker.token, body: { ...base, sizeBytes: 200 * 1024 * 1024 } });
    assertError(multi, 502, 's3_error');
    const done = await api(LO, 'POST', '/api/upload/complete', { token: worker.token, body: { uploadId: single.json.uploadId } });
    assertError(done, 502, 's3_error');
    assert.match(cluster.log(), /codesight: HTTP \/api\/upload\/complete failed: the storage service could not be reached for S3 HEAD .* \(SQLSTATE 08006\)/);
    // The worker goes on serving.
    assert.equal((await api(LO, 'GET', '/health')).status, 200);
  });

  await t.test('a request cancelled while it waits (pg_cancel_backend) gets 503 unavailable', async () => {
    assert.equal((await api(LO, 'POST', '/api/sessions', { token: worker.token, body: { sessionId: 'locked_1' } })).status, 201);
    const client = await cluster.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT 1 FROM codesight.sessions WHERE session_id = 'locked_1' FOR UPDATE");
      const pending = api(LO, 'DELETE', '/api/sessions/locked_1', { token: worker.token });
      // The request runs in an HTTP worker; find the one that waits.
      const pid = await waitFor(async () => {
        const r = await cluster.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'codesight http' AND wait_event_type = 'Lock'");
        return r.rows[0] && r.rows[0].pid;
      }, { what: 'the HTTP worker waiting on the row lock' });
      await cluster.query('SELECT pg_cancel_backend($1)', [pid]);
      assertError(await pending, 503, 'unavailable');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    // Nothing was deleted, and the worker serves the next request.
    const again = await api(LO, 'GET', '/api/extension/sessions/locked_1/summary', { token: worker.token });
    assert.equal(again.status, 200);
  });
});

