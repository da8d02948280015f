'use strict';
// The HTTP API (docs/http-api.md) against the real worker, with
// codesight.require_auth = on: every route, every status the routes can
// answer, token checks, CORS, request bodies, /metrics, the static web page,
// and the WebSocket's authentication.
// that are reported and not fixed yet.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startCluster } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');
const { api, rawRequest, rawGet } = require('../lib/http');

const TOKEN_RE = /^cs_w_[0-9a-f]{12}_[0-9a-f]{32}$/;
const APP_ORIGIN = 'http://app.example';
const BODY_LIMIT = 4096;
const INDEX_HTML = '<!doctype html><title>CodeSight</title><div id="root"></div>';
const APP_JS = 'console.log("codesight app");';
const SECRET = 'secret-outside-static-dir';

let cluster;
let U; // base URL
let staticRoot; // the parent of static_dir, holding a file that must stay unreachable
let admin; // admin token
let ann; // {workerId, token}
let bob;

// Writes the static folder: <root>/www/{index.html, assets/app.js, ...} and
// <root>/secret.txt next to it, plus a symlink inside pointing out.
function makeStaticDir() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codesight-static-'));
  const www = path.join(root, 'www');
  fs.mkdirSync(path.join(www, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(www, 'index.html'), INDEX_HTML);
  fs.writeFileSync(path.join(www, 'assets', 'app.js'), APP_JS);
  fs.writeFileSync(path.join(www, 'assets', 'app.css'), 'body{margin:0}');
  fs.writeFileSync(path.join(www, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(www, 'manifest.json'), '{"name":"CodeSight"}');
  fs.writeFileSync(path.join(root, 'secret.txt'), SECRET);
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(www, 'assets', 'link.txt'));
  for (const d of [root, www, path.join(www, 'assets')]) fs.chmodSync(d, 0o755);
  return root;
}

async function register(displayName, email) {
  const r = await api(U, 'POST', '/api/workers', { body: email ? { displayName, email } : { displayName } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

function assertError(r, status, code) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 0);
}

// Streams `n` click events into a session over the WebSocket as `token`'s
// worker and waits for the ack covering all of them.
async function stream(token, sessionId, n, { url = 'https://shop.example/p/1' } = {}) {
  const ws = await connect(cluster.wsUrl);
  try {
    ws.send({ type: 'hello', token, protocol: 2 });
    await ws.next('hello_ok');
    ws.send({ type: 'session_start', sessionId, timestamp: Date.now(), userAgent: 'test-agent' });
    await ws.next('session_started');
    const t0 = Date.now();
    ws.send({
      type: 'events',
      sessionId,
      events: Array.from({ length: n }, (_, i) => ({
        seq: i + 1, type: i % 2 ? 'input' : 'click', timestamp: t0 + i,
        data: { selector: `#el${i + 1}`, url, value: i % 2 ? `v${i + 1}` : undefined },
      })),
    });
    await ws.next((m) => m.type === 'ack' && m.sessionId === sessionId && m.seq === n);
  } finally {
    ws.close();
  }
}

test.before(async () => {
  staticRoot = makeStaticDir();
  cluster = await startCluster({
    conf: {
      'codesight.require_auth': 'on',
      // Open on purpose: with auth required it defaults to off (security.test.js).
      'codesight.open_registration': 'on',
      'codesight.allowed_origins': `'${APP_ORIGIN}'`,
      'codesight.max_http_body_bytes': BODY_LIMIT,
      'codesight.static_dir': `'${path.join(staticRoot, 'www')}'`,
      'codesight.http_rate_limit': 0,
    },
  });
  U = cluster.httpUrl;
  admin = (await cluster.query("SELECT codesight.issue_admin_token('test') AS t")).rows[0].t.token;
  ann = await register('Ann', 'ann@example.com');
  bob = await register('Bob');
});

test.after(async () => {
  if (cluster) await cluster.destroy();
  if (staticRoot) fs.rmSync(staticRoot, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Public routes
// ---------------------------------------------------------------------------

test('GET /health is public and says ok; HEAD gets the headers only', async () => {
  const r = await api(U, 'GET', '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ok' });
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');

  const h = await api(U, 'HEAD', '/health');
  assert.equal(h.status, 200);
  assert.equal(h.text, '');
});

test('GET /api/health is public and returns the health document', async () => {
  const r = await api(U, 'GET', '/api/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.database, 'postgres');
  assert.equal(r.json.extensionVersion, '1.0');
  assert.match(r.json.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(r.json.worker.running, true);
  assert.equal(r.json.worker.listening, true);
  assert.equal(r.json.worker.port, cluster.port);
});

// ---------------------------------------------------------------------------
// Registration and request bodies
// ---------------------------------------------------------------------------

test('POST /api/workers registers a worker: 201 with a worker token shown once', async () => {
  const r = await api(U, 'POST', '/api/workers', { body: { displayName: '  Cleo  ', email: 'Cleo@Example.com' } });
  assert.equal(r.status, 201);
  assert.equal(r.json.displayName, 'Cleo');
  assert.equal(typeof r.json.workerId, 'number');
  assert.match(r.json.token, TOKEN_RE);
  const me = await api(U, 'GET', '/api/me', { token: r.json.token });
  assert.equal(me.status, 200);
  assert.deepEqual(me.json, { kind: 'worker', workerId: r.json.workerId, displayName: 'Cleo' });
  // Only a hash of the secret is stored.
  const row = await cluster.query('SELECT secret_hash FROM codesight.tokens WHERE worker_id = $1', [r.json.workerId]);
  assert.equal(row.rows.length, 1);
  assert.ok(!row.rows[0].secret_hash.toString('hex').includes(r.json.token.slice(18)));
  // The email an older page still sends is kept nowhere, not even hashed:
  // every row of every CodeSight table, as text, is free of it.
  const email = 'cleo@example.com';
  const needles = [email, ...['sha256', 'sha1', 'md5'].flatMap((h) => [email, 'Cleo@Example.com']
    .map((e) => crypto.createHash(h).update(e).digest('hex')))];
  const tables = await cluster.query("SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = 'codesight'");
  assert.ok(tables.rows.length > 5);
  for (const { t } of tables.rows) {
    const found = await cluster.query(`SELECT x::text AS row FROM ${t} x WHERE lower(x::text) LIKE ANY ($1)`,
      [needles.map((n) => `%${n}%`)]);
    assert.deepEqual(found.rows, [], `${t} keeps the email`);
  }
});

test('bad bodies: invalid JSON, non-objects, missing and mistyped fields get 400', async () => {
  for (const body of ['{nope', '[1,2]', '"text"', '42', 'null', '{"displayName": "x",}']) {
    const r = await api(U, 'POST', '/api/workers', { body });
    assertError(r, 400, 'invalid_json');
  }
  assertError(await api(U, 'POST', '/api/workers', { body: {} }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/workers'), 400, 'bad_request');
  for (const displayName of [5, true, ['Ann'], { n: 'Ann' }]) {
    const r = await api(U, 'POST', '/api/workers', { body: { displayName } });
    assertError(r, 400, 'bad_request');
    assert.equal(r.json.error.message, 'displayName must be a string');
  }
  assertError(await api(U, 'POST', '/api/workers', { body: { displayName: '   ' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/workers', { body: { displayName: 'x'.repeat(201) } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 5 } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/sessions', { token: ann.token, body: '[]' }), 400, 'invalid_json');
});

test('a body over codesight.max_http_body_bytes gets 413; the worker keeps serving', async () => {
  const under = await api(U, 'POST', '/api/workers', { body: { displayName: 'Under', pad: 'x'.repeat(BODY_LIMIT - 100) } });
  assert.equal(under.status, 201, under.text);
  const over = await api(U, 'POST', '/api/workers', { body: { displayName: 'Over', pad: 'x'.repeat(BODY_LIMIT) } });
  assertError(over, 413, 'payload_too_large');
  const big = await api(U, 'POST', '/api/sessions', { token: ann.token, body: { pad: 'y'.repeat(10 * BODY_LIMIT) } });
  assertError(big, 413, 'payload_too_large');
  const n = await cluster.query("SELECT count(*)::int AS n FROM codesight.workers WHERE display_name = 'Over'");
  assert.equal(n.rows[0].n, 0);
  assert.equal((await api(U, 'GET', '/health')).status, 200);
});

// ---------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------

test('worker routes need a token: none, a non-Bearer scheme or a malformed token get 401', async () => {
  assertError(await api(U, 'GET', '/api/me'), 401, 'unauthorized');
  assertError(await api(U, 'POST', '/api/sessions', { body: {} }), 401, 'unauthorized');
  assertError(await api(U, 'GET', '/api/sessions'), 401, 'unauthorized');
  const basic = await api(U, 'GET', '/api/me', { headers: { Authorization: 'Basic YTpi' } });
  assertError(basic, 401, 'unauthorized');
  for (const bad of ['cs_w_nothex', 'garbage', ann.token.slice(0, -1), ann.token + '0',
    ann.token.slice(0, -1) + (ann.token.endsWith('0') ? '1' : '0'), // wrong secret
    'cs_a_' + ann.token.slice(5), // right id and secret, wrong kind letter
    ann.token.toUpperCase()]) {
    const r = await api(U, 'GET', '/api/me', { token: bad });
    assertError(r, 401, 'unauthorized');
  }
  // A token that is sent is checked even on public API routes ...
  assertError(await api(U, 'GET', '/api/health', { token: 'cs_w_nothex' }), 401, 'unauthorized');
  // ... but /health is liveness only: answered without the database.
  assert.equal((await api(U, 'GET', '/health', { token: 'cs_w_nothex' })).status, 200);
  // The scheme is case-insensitive.
  const lower = await api(U, 'GET', '/api/me', { headers: { Authorization: `bearer ${ann.token}` } });
  assert.equal(lower.status, 200);
});

test('a revoked token gets 401 on every route it used to reach', async () => {
  const w = await register('Revokee');
  const s = await api(U, 'POST', '/api/sessions', { token: w.token, body: {} });
  assert.equal(s.status, 201);
  assert.equal((await api(U, 'GET', '/api/sessions', { token: w.token })).status, 200);
  const tokenId = w.token.slice(5, 17);
  const rv = await cluster.query('SELECT codesight.revoke_token($1) AS ok', [tokenId]);
  assert.equal(rv.rows[0].ok, true);
  assertError(await api(U, 'GET', '/api/me', { token: w.token }), 401, 'unauthorized');
  assertError(await api(U, 'GET', '/api/sessions', { token: w.token }), 401, 'unauthorized');
  assertError(await api(U, 'POST', '/api/sessions', { token: w.token, body: {} }), 401, 'unauthorized');
  assertError(await api(U, 'GET', `/api/extension/sessions/${s.json.sessionId}/data`, { token: w.token }), 401, 'unauthorized');
  // A revoked admin token too.
  const a2 = (await cluster.query("SELECT codesight.issue_admin_token('short-lived') AS t")).rows[0].t;
  assert.equal((await api(U, 'GET', '/api/debug/counts', { token: a2.token })).status, 200);
  await cluster.query('SELECT codesight.revoke_token($1)', [a2.tokenId]);
  assertError(await api(U, 'GET', '/api/debug/counts', { token: a2.token }), 401, 'unauthorized');
});

test('a disabled worker\'s token gets 401', async () => {
  const w = await register('Disabled');
  await cluster.query('UPDATE codesight.workers SET disabled_at = now() WHERE worker_id = $1', [w.workerId]);
  assertError(await api(U, 'GET', '/api/me', { token: w.token }), 401, 'unauthorized');
});

test('admin routes: no token 401, a worker token 403, an admin token 200', async () => {
  const routes = ['/api/debug/counts', '/api/admin/recent', '/api/extension/sessions', '/api/export/dataset.jsonl'];
  for (const r of routes) {
    assertError(await api(U, 'GET', r), 401, 'unauthorized');
    assertError(await api(U, 'GET', r, { token: ann.token }), 403, 'forbidden');
    const ok = await api(U, 'GET', r, { token: admin });
    assert.equal(ok.status, 200, `${r}: ${ok.text}`);
  }
  const counts = await api(U, 'GET', '/api/debug/counts', { token: admin });
  for (const k of ['workers', 'tokens', 'sessions', 'events', 'uploads', 'activeSessions', 'sessionsByStatus', 'liveConnections']) {
    assert.ok(k in counts.json, `counts has ${k}`);
  }
  const recent = await api(U, 'GET', '/api/admin/recent', { token: admin });
  assert.ok(Array.isArray(recent.json.sessions));
  assert.ok(Array.isArray(recent.json.events));
});

test('an admin token is accepted on worker routes, but does not create sessions', async () => {
  const me = await api(U, 'GET', '/api/me', { token: admin });
  assert.equal(me.status, 200);
  assert.deepEqual(me.json, { kind: 'admin', workerId: null });
  const s = await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 'adm_view_1' } });
  assert.equal(s.status, 201);
  for (const p of ['/api/extension/sessions/adm_view_1/data', '/api/extension/sessions/adm_view_1/summary',
    '/api/extension/sessions/adm_view_1/events', '/api/sessions/adm_view_1/media']) {
    const r = await api(U, 'GET', p, { token: admin });
    assert.equal(r.status, 200, `${p}: ${r.text}`);
  }
  const list = await api(U, 'GET', '/api/sessions', { token: admin });
  assert.ok(list.json.sessions.some((x) => x.sessionId === 'adm_view_1'));
  assertError(await api(U, 'POST', '/api/sessions', { token: admin, body: {} }), 403, 'forbidden');
});

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

test('POST /api/sessions: 201, generated or chosen ids, retry-safe, 409 for another worker\'s id', async () => {
  const gen = await api(U, 'POST', '/api/sessions', { token: ann.token, body: {} });
  assert.equal(gen.status, 201);
  assert.match(gen.json.sessionId, /^cs_[0-9a-z]+_[0-9a-z]{5}$/);
  assert.equal(gen.json.status, 'active');
  assert.equal(gen.json.workerId, ann.workerId);
  assert.match(gen.json.startTime, /Z$/);

  const noBody = await api(U, 'POST', '/api/sessions', { token: ann.token });
  assert.equal(noBody.status, 201);

  const chosen = await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 'ann_retry-1', userAgent: 'UA/1' } });
  assert.equal(chosen.status, 201);
  const again = await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 'ann_retry-1' } });
  assert.equal(again.status, 201);
  assert.equal(again.json.startTime, chosen.json.startTime);

  assertError(await api(U, 'POST', '/api/sessions', { token: bob.token, body: { sessionId: 'ann_retry-1' } }), 409, 'conflict');
  assertError(await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 'bad id!' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 'x'.repeat(65) } }), 400, 'bad_request');
  const row = await cluster.query('SELECT worker_id::int, user_agent FROM codesight.sessions WHERE session_id = $1', ['ann_retry-1']);
  assert.deepEqual(row.rows[0], { worker_id: ann.workerId, user_agent: 'UA/1' });
});

test('register, create, stream, read back: a worker sees its own sessions only', async () => {
  const w = await register('Flow');
  const other = await register('Other');
  const s = await api(U, 'POST', '/api/sessions', { token: w.token, body: {} });
  assert.equal(s.status, 201);
  const sid = s.json.sessionId;
  assert.equal((await api(U, 'POST', '/api/sessions', { token: other.token, body: { sessionId: 'other_s1' } })).status, 201);

  await stream(w.token, sid, 5);

  const list = await api(U, 'GET', '/api/sessions', { token: w.token });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.sessions.map((x) => x.sessionId), [sid]);
  assert.equal(list.json.total, 1);
  assert.equal(list.json.sessions[0].eventCount, 5);
  assert.equal(list.json.sessions[0].workerName, 'Flow');
  assert.equal(list.json.sessions[0].pagesVisited, 1);
  const otherList = await api(U, 'GET', '/api/sessions', { token: other.token });
  assert.deepEqual(otherList.json.sessions.map((x) => x.sessionId), ['other_s1']);

  const data = await api(U, 'GET', `/api/extension/sessions/${sid}/data`, { token: w.token });
  assert.equal(data.status, 200);
  assert.equal(data.json.sessionId, sid);
  assert.equal(data.json.totalEvents, 5);
  assert.deepEqual(data.json.events.map((e) => e.type), ['click', 'input', 'click', 'input', 'click']);
  assert.equal(data.json.events[0].data.selector, '#el1');
  assert.deepEqual(data.json.summary, { clicks: 3, inputs: 2, scrolls: 0, navigations: 0, pagesVisited: ['shop.example'] });

  const sum = await api(U, 'GET', `/api/extension/sessions/${sid}/summary`, { token: w.token });
  assert.equal(sum.status, 200);
  assert.equal(sum.json.totalEvents, 5);
  assert.equal(sum.json.lastSeq, 5);
  assert.deepEqual(sum.json.countsByType, { click: 3, input: 2 });
  assert.equal(sum.json.userAgent, 'test-agent');

  // Two query parameters (a single one has its own test below).
  const page1 = await api(U, 'GET', `/api/extension/sessions/${sid}/events?after=0&limit=2`, { token: w.token });
  assert.equal(page1.status, 200);
  assert.deepEqual(page1.json.events.map((e) => e.seq), [1, 2]);
  assert.equal(page1.json.nextAfter, 2);
  assert.equal(page1.json.events[0].selector, '#el1');
  assert.equal(page1.json.events[0].url, 'https://shop.example/p/1');
  const page3 = await api(U, 'GET', `/api/extension/sessions/${sid}/events?after=4&limit=2`, { token: w.token });
  assert.deepEqual(page3.json.events.map((e) => e.seq), [5]);
  assert.equal(page3.json.nextAfter, null);
  assertError(await api(U, 'GET', `/api/extension/sessions/${sid}/events?after=0&limit=0`, { token: w.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', `/api/extension/sessions/${sid}/events?after=-1&limit=5`, { token: w.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', `/api/extension/sessions/${sid}/events?after=x&limit=5`, { token: w.token }), 400, 'bad_request');

  const td = await api(U, 'GET', `/api/extension/sessions/${sid}/training-data`, { token: w.token });
  assert.equal(td.status, 200);
  assert.ok(Array.isArray(td.json.annotations));
  assert.ok(td.json.annotations.length > 0);

  const pw = await api(U, 'GET', `/api/extension/sessions/${sid}/playwright`, { token: w.token });
  assert.equal(pw.status, 200);
  assert.equal(pw.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(pw.text, /@playwright\/test/);
  assert.ok(pw.text.includes(sid));

  const media = await api(U, 'GET', `/api/sessions/${sid}/media`, { token: w.token });
  assert.equal(media.status, 200);
  assert.deepEqual(media.json, { uploads: [] });
});

// The worker writes jsonb answers as JSON itself (src/jsonb_text.c), not
// with jsonb_out: every kind of value must read back as the SQL function's
// value, compared by PostgreSQL, numerics to the last digit.
test('JSON answers are the SQL value exactly: escapes, numbers, nesting, long containers', async () => {
  const w = await register('Json');
  const sid = 'json_exact';
  assert.equal((await api(U, 'POST', '/api/sessions', { token: w.token, body: { sessionId: sid } })).status, 201);
  const tricky = 'quote " backslash \\ slash / tab \t newline \n cr \r bs \b ff \f ctl \u0001\u001f del \u007f é 漢字 😀 \u2028\u2029';
  const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`.repeat(1 + (i % 3)), i % 2 ? `v${i}` : i]));
  const data = {
    selector: `#a[title="${tricky}"]`,
    element: { tag: 'button', text: tricky, name: 'x', boundingBox: { x: -12.25, y: 1.50, width: 1e-7, height: 0 } },
    coordinates: { x: 123456789012345678901234567890, y: -0.5 },
    url: 'https://shop.test/a?q="x"&r=\\',
    framePath: [],
    numbers: [0, -1, 1.5, 1e300, -1e-300, 3.14159265358979323846],
    nested: [[[[1, [], {}]]], { 'k"ey': true, '': false, 'a\nb': null }],
    wide,
    long: Array.from({ length: 70 }, (_, i) => (i % 3 ? { i } : i % 2 ? `s${i}` : [i])),
  };
  for (let seq = 1; seq <= 3; seq++) {
    await cluster.query(`INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
                         VALUES ($1, $2, 'click', now(), $3, $4, $5::jsonb)`,
    [sid, seq, data.url, data.selector, JSON.stringify({ type: 'click', timestamp: 1700000000000 + seq, data })]);
  }
  const routes = [['data', 'session_data'], ['training-data', 'training_data'], ['summary', 'session_summary']];
  for (const [route, fn] of routes) {
    const r = await api(U, 'GET', `/api/extension/sessions/${sid}/${route}`, { token: w.token });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const same = await cluster.query(`SELECT $1::jsonb = codesight.${fn}($2) AS same`, [r.text, sid]);
    assert.equal(same.rows[0].same, true, `${route}: ${r.text.slice(0, 300)}`);
  }
  const td = await api(U, 'GET', `/api/extension/sessions/${sid}/training-data`, { token: w.token });
  assert.deepEqual(td.json.annotations.map((a) => a.action_type), ['navigate', 'click', 'click', 'click']);
  assert.equal(td.json.annotations[1].element_text, tricky);
  assert.equal(td.json.annotations[1].target_selector, data.selector);
});

test('session-scoped routes: another worker\'s session 403, unknown session 404', async () => {
  const s = await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 'ann_private' } });
  assert.equal(s.status, 201);
  const scoped = [
    ['GET', '/api/extension/sessions/{id}/data'],
    ['GET', '/api/extension/sessions/{id}/summary'],
    ['GET', '/api/extension/sessions/{id}/events'],
    ['GET', '/api/extension/sessions/{id}/training-data'],
    ['GET', '/api/extension/sessions/{id}/playwright'],
    ['GET', '/api/sessions/{id}/media'],
    ['DELETE', '/api/sessions/{id}'],
    ['POST', '/api/sessions/{id}/events/delete', { seqs: [1] }],
  ];
  for (const [method, p, body] of scoped) {
    const forbidden = await api(U, method, p.replace('{id}', 'ann_private'), { token: bob.token, body });
    assertError(forbidden, 403, 'forbidden');
    const missing = await api(U, method, p.replace('{id}', 'no_such_session'), { token: bob.token, body });
    assertError(missing, 404, 'not_found');
    assertError(await api(U, method, p.replace('{id}', 'ann_private'), { body }), 401, 'unauthorized');
  }
  // Nothing was deleted by those attempts.
  assert.equal((await api(U, 'GET', '/api/extension/sessions/ann_private/data', { token: ann.token })).status, 200);
});

test('POST /api/sessions/{id}/events/delete and DELETE /api/sessions/{id}', async () => {
  const w = await register('Deleter');
  const sid = 'del_s1';
  assert.equal((await api(U, 'POST', '/api/sessions', { token: w.token, body: { sessionId: sid } })).status, 201);
  await stream(w.token, sid, 5);

  assertError(await api(U, 'POST', `/api/sessions/${sid}/events/delete`, { token: w.token, body: {} }), 400, 'bad_request');
  assertError(await api(U, 'POST', `/api/sessions/${sid}/events/delete`, { token: w.token, body: { seqs: 'x' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', `/api/sessions/${sid}/events/delete`, { token: w.token, body: { seqs: ['a'] } }), 400, 'bad_request');
  assertError(await api(U, 'POST', `/api/sessions/${sid}/events/delete`, { token: w.token, body: '{' }), 400, 'invalid_json');

  const del = await api(U, 'POST', `/api/sessions/${sid}/events/delete`, { token: w.token, body: { seqs: [2, 4, 99] } });
  assert.equal(del.status, 200);
  assert.deepEqual(del.json, { deleted: 2 });
  const ev = await api(U, 'GET', `/api/extension/sessions/${sid}/events?after=0&limit=10`, { token: w.token });
  assert.deepEqual(ev.json.events.map((e) => e.seq), [1, 3, 5]);
  const data = await api(U, 'GET', `/api/extension/sessions/${sid}/data`, { token: w.token });
  assert.equal(data.json.totalEvents, 3);

  const gone = await api(U, 'DELETE', `/api/sessions/${sid}`, { token: w.token });
  assert.equal(gone.status, 200);
  assert.deepEqual(gone.json, { deleted: true });
  assertError(await api(U, 'GET', `/api/extension/sessions/${sid}/data`, { token: w.token }), 404, 'not_found');
  assertError(await api(U, 'DELETE', `/api/sessions/${sid}`, { token: w.token }), 404, 'not_found');
  const left = await cluster.query('SELECT count(*)::int AS n FROM codesight.events WHERE session_id = $1', [sid]);
  assert.equal(left.rows[0].n, 0);

  // An admin deletes any worker's session.
  assert.equal((await api(U, 'POST', '/api/sessions', { token: w.token, body: { sessionId: 'del_s2' } })).status, 201);
  const adm = await api(U, 'DELETE', '/api/sessions/del_s2', { token: admin });
  assert.deepEqual(adm.json, { deleted: true });
});

test('listings paginate with limit and offset; a worker\'s total counts its own sessions', async () => {
  const w = await register('Pager');
  const ids = [];
  for (let i = 0; i < 7; i++) {
    const r = await api(U, 'POST', '/api/sessions', { token: w.token, body: { sessionId: `page_${i}` } });
    assert.equal(r.status, 201);
    ids.push(`page_${i}`);
  }
  // started_at decides the order; make it distinct and known.
  await cluster.query(
    "UPDATE codesight.sessions SET started_at = now() - (substr(session_id, 6)::int * interval '1 minute') WHERE session_id LIKE 'page\\_%'");
  await cluster.query("UPDATE codesight.sessions SET status = 'completed', ended_at = now() WHERE session_id IN ('page_1', 'page_4')");

  const seen = [];
  for (let off = 0; off < 10; off += 3) {
    const r = await api(U, 'GET', `/api/sessions?limit=3&offset=${off}`, { token: w.token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.limit, 3);
    assert.equal(r.json.offset, off);
    assert.equal(r.json.total, 7);
    seen.push(...r.json.sessions.map((s) => s.sessionId));
  }
  assert.deepEqual(seen, ids); // newest first, each exactly once

  const done = await api(U, 'GET', '/api/sessions?status=completed&limit=10', { token: w.token });
  assert.deepEqual(done.json.sessions.map((s) => s.sessionId), ['page_1', 'page_4']);
  assert.equal(done.json.total, 2);

  const adm = await api(U, 'GET', '/api/extension/sessions?limit=2&offset=0', { token: admin });
  assert.equal(adm.json.sessions.length, 2);
  assert.ok(adm.json.total > 7);

  assertError(await api(U, 'GET', '/api/sessions?limit=0&offset=0', { token: w.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/sessions?limit=1001&offset=0', { token: w.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/sessions?limit=5&offset=-1', { token: w.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/sessions?limit=5&offset=abc', { token: w.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/sessions?status=weird&limit=5', { token: w.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/admin/recent?limit=0&x=1', { token: admin }), 400, 'bad_request');
});

test('a query string with a single parameter is honoured', async () => {
  const r = await api(U, 'GET', '/api/extension/sessions?limit=1', { token: admin });
  assert.equal(r.json.limit, 1);
  assert.equal(r.json.sessions.length, 1);
  assertError(await api(U, 'GET', '/api/sessions?status=weird', { token: ann.token }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/admin/recent?limit=0', { token: admin }), 400, 'bad_request');
});

test('GET /api/export/dataset.jsonl streams NDJSON for an admin', async () => {
  const w = await register('Exporter');
  assert.equal((await api(U, 'POST', '/api/sessions', { token: w.token, body: { sessionId: 'export_s1' } })).status, 201);
  await stream(w.token, 'export_s1', 4);
  await cluster.query("UPDATE codesight.sessions SET status = 'completed', ended_at = now() WHERE session_id = 'export_s1'");

  const r = await api(U, 'GET', '/api/export/dataset.jsonl?status=completed&since=2000-01-01T00:00:00Z', { token: admin });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
  assert.ok(r.text.endsWith('\n'));
  const lines = r.text.trimEnd().split('\n').map((l) => JSON.parse(l));
  const mine = lines.filter((l) => l.session_id === 'export_s1');
  assert.ok(mine.length > 0, r.text.slice(0, 300));
  assert.equal(mine[0].website, 'shop.example');

  const future = await api(U, 'GET', '/api/export/dataset.jsonl?status=completed&since=2999-01-01T00:00:00Z', { token: admin });
  assert.equal(future.status, 200);
  assert.equal(future.text, '');
  assertError(await api(U, 'GET', '/api/export/dataset.jsonl?status=completed&since=garbage', { token: admin }), 400, 'bad_request');
});

test('upload routes without S3: field checks 400, ownership 403, unknown upload 404, not configured 503', async () => {
  const s = await api(U, 'POST', '/api/sessions', { token: ann.token, body: { sessionId: 'ann_upload' } });
  assert.equal(s.status, 201);
  const good = { sessionId: 'ann_upload', kind: 'video', contentType: 'video/webm', sizeBytes: 1000 };
  assertError(await api(U, 'POST', '/api/upload/url', { token: ann.token, body: { sessionId: 'ann_upload' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/upload/url', { token: ann.token, body: { ...good, sizeBytes: '1000' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/upload/url', { token: ann.token, body: { ...good, kind: 3 } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/upload/url', { token: bob.token, body: good }), 403, 'forbidden');
  assertError(await api(U, 'POST', '/api/upload/url', { token: ann.token, body: { ...good, sessionId: 'nope' } }), 404, 'not_found');
  assertError(await api(U, 'POST', '/api/upload/url', { body: good }), 401, 'unauthorized');
  const nos3 = await api(U, 'POST', '/api/upload/url', { token: ann.token, body: good });
  assertError(nos3, 503, 'unavailable');
  assert.match(nos3.json.error.message, /S3/);

  assertError(await api(U, 'POST', '/api/upload/complete', { token: ann.token, body: {} }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/upload/complete', { token: ann.token, body: { uploadId: '00000000-0000-4000-8000-000000000000' } }), 404, 'not_found');
  assertError(await api(U, 'POST', '/api/upload/complete', { token: ann.token, body: { uploadId: 'not-a-uuid' } }), 404, 'not_found');
});

// ---------------------------------------------------------------------------
// Unknown routes and methods
// ---------------------------------------------------------------------------

test('unknown API routes get 404 JSON; known paths with another method get 405', async () => {
  for (const p of ['/api/nope', '/api', '/api/', '/api/sessions/x/y/z', '/api/extension/sessions/x', '/api/extension/sessions/x/unknown']) {
    assertError(await api(U, 'GET', p, { token: admin }), 404, 'not_found');
  }
  assertError(await api(U, 'POST', '/api/nope', { token: admin, body: {} }), 404, 'not_found');
  // Non-GET requests outside /api are not static files either.
  assertError(await api(U, 'POST', '/sessions/abc', { body: {} }), 404, 'not_found');

  const cases = [
    ['POST', '/health', {}], ['GET', '/api/workers'], ['DELETE', '/api/sessions'],
    ['PUT', '/api/sessions', {}], ['PATCH', '/api/sessions/x', {}], ['GET', '/api/sessions/x'],
    ['POST', '/api/debug/counts', {}], ['DELETE', '/api/extension/sessions/x/data'],
    ['GET', '/api/upload/url'], ['POST', '/metrics', {}],
  ];
  for (const [method, p, body] of cases) {
    assertError(await api(U, method, p, { token: admin, body }), 405, 'method_not_allowed');
  }
});

test('PUT, PATCH and DELETE with Content-Length: 0 get an answer', async () => {
  const P = cluster.port;
  for (const [m, p, want] of [['PUT', '/api/sessions', 405], ['PATCH', '/api/sessions', 405], ['DELETE', '/api/sessions/no_such_session', 404]]) {
    const r = await rawRequest(P, `${m} ${p} HTTP/1.1\r\nHost: 127.0.0.1:${P}\r\nAuthorization: Bearer ${admin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, { timeoutMs: 3000 });
    assert.equal(r.status, want, `${m} ${p}`);
  }
});

// ---------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------

test('CORS: allowed and extension origins get Access-Control-Allow-Origin, on errors too', async () => {
  for (const origin of [APP_ORIGIN, 'chrome-extension://abcdefghijklmnopabcdefghijklmnop']) {
    const r = await api(U, 'GET', '/api/sessions', { token: ann.token, origin });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
    assert.equal(r.headers.get('vary'), 'Origin');
    // A browser can read the error, too.
    const e = await api(U, 'GET', '/api/debug/counts', { origin });
    assert.equal(e.status, 401);
    assert.equal(e.headers.get('access-control-allow-origin'), origin);
  }
  // No Origin: a non-browser client, no CORS headers.
  const plain = await api(U, 'GET', '/health');
  assert.equal(plain.headers.get('access-control-allow-origin'), null);
});

test('CORS: a disallowed origin gets 403 before anything runs', async () => {
  for (const origin of ['http://evil.example', 'http://app.example.evil', 'https://app.example', 'null']) {
    const r = await api(U, 'GET', '/health', { origin });
    assertError(r, 403, 'forbidden');
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  }
  const before = (await cluster.query('SELECT count(*)::int AS n FROM codesight.workers')).rows[0].n;
  const reg = await api(U, 'POST', '/api/workers', { origin: 'http://evil.example', body: { displayName: 'Evil' } });
  assertError(reg, 403, 'forbidden');
  const after = (await cluster.query('SELECT count(*)::int AS n FROM codesight.workers')).rows[0].n;
  assert.equal(after, before);
});

test('CORS: OPTIONS preflight answers 204 with methods and headers; 403 for a disallowed origin', async () => {
  const pre = await api(U, 'OPTIONS', '/api/sessions', {
    origin: APP_ORIGIN,
    headers: { 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.text, '');
  assert.equal(pre.headers.get('access-control-allow-origin'), APP_ORIGIN);
  const methods = pre.headers.get('access-control-allow-methods').split(/,\s*/);
  for (const m of ['GET', 'POST', 'DELETE', 'OPTIONS']) assert.ok(methods.includes(m), m);
  const headers = pre.headers.get('access-control-allow-headers').toLowerCase().split(/,\s*/);
  for (const h of ['authorization', 'content-type']) assert.ok(headers.includes(h), h);
  assert.equal(pre.headers.get('access-control-max-age'), '600');

  // Any path, no token needed for a preflight.
  const any = await api(U, 'OPTIONS', '/api/extension/sessions/x/data', { origin: 'chrome-extension://abc' });
  assert.equal(any.status, 204);
  assert.equal(any.headers.get('access-control-allow-origin'), 'chrome-extension://abc');

  assertError(await api(U, 'OPTIONS', '/api/sessions', { origin: 'http://evil.example' }), 403, 'forbidden');
  const noOrigin = await api(U, 'OPTIONS', '/api/sessions');
  assert.equal(noOrigin.status, 204);
  assert.equal(noOrigin.headers.get('access-control-allow-origin'), null);
});

test('CORS: the worker\'s own origin (the page it serves) is allowed', async () => {
  for (const origin of [`http://127.0.0.1:${cluster.port}`, `https://127.0.0.1:${cluster.port}`]) {
    const r = await api(U, 'GET', '/api/sessions', { token: ann.token, origin });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
  }
  const pre = await api(U, 'OPTIONS', '/api/sessions', { origin: `http://127.0.0.1:${cluster.port}` });
  assert.equal(pre.status, 204);
  // Same host, another port: another origin.
  assertError(await api(U, 'GET', '/health', { origin: `http://127.0.0.1:${cluster.port + 1}` }), 403, 'forbidden');
});

test('CORS: a Host header naming another site does not make its origin "same-origin"', async () => {
  const P = cluster.port;
  const r = await rawRequest(P, `GET /health HTTP/1.1\r\nHost: rebind.evil.example:${P}\r\nOrigin: http://rebind.evil.example:${P}\r\nConnection: close\r\n\r\n`);
  assert.equal(r.status, 403);
});

// ---------------------------------------------------------------------------
// /metrics
// ---------------------------------------------------------------------------

test('/metrics: Prometheus text for loopback clients, counting requests', async () => {
  const r1 = await api(U, 'GET', '/metrics');
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const lines = r1.text.split('\n').filter((l) => l.length);
  const samples = {};
  for (const l of lines) {
    if (l.startsWith('#')) {
      assert.match(l, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/, l);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(l);
    assert.ok(m, `not a Prometheus sample line: ${l}`);
    samples[m[1]] = Number(m[2]);
  }
  assert.equal(samples.codesight_worker_up, 1);
  const typed = lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
  for (const name of Object.keys(samples)) {
    const base = name.replace(/\{.*$/, '');
    assert.ok(typed.includes(base) || typed.includes(base.replace(/_(bucket|sum|count)$/, '')), `${name} has a # TYPE line`);
  }
  assert.ok(Object.keys(samples).some((k) => /^codesight_http_requests_total\{route="[^"]+",status="2xx"\}/.test(k)),
    `an http request counter by route and status class in ${Object.keys(samples).join(', ')}`);
  assert.ok('codesight_s3_calls_total{outcome="ok"}' in samples);
  // Counted per route: three calls of /health add three to its counter.
  const reqKey = 'codesight_http_requests_total{route="/health",status="2xx"}';
  const before = samples[reqKey] || 0;
  for (let i = 0; i < 3; i++) assert.equal((await api(U, 'GET', '/health')).status, 200);
  const r2 = await api(U, 'GET', '/metrics', { token: admin });
  const after = Number(new RegExp(`^${reqKey.replace(/[{}"/]/g, '\\$&')} (\\S+)$`, 'm').exec(r2.text)[1]);
  assert.ok(after >= before + 3, `${reqKey}: ${before} -> ${after}`);
});

// ---------------------------------------------------------------------------
// Static files
// ---------------------------------------------------------------------------

test('static files: content types, caching, and index.html for client routes', async () => {
  const cases = [
    ['/', 'text/html; charset=utf-8', INDEX_HTML, 'no-cache'],
    ['/index.html', 'text/html; charset=utf-8', INDEX_HTML, 'no-cache'],
    ['/assets/app.js', 'text/javascript; charset=utf-8', APP_JS, 'public, max-age=31536000, immutable'],
    ['/assets/app.css', 'text/css; charset=utf-8', 'body{margin:0}', null],
    ['/assets/logo.svg', 'image/svg+xml', null, null],
    ['/manifest.json', 'application/json', '{"name":"CodeSight"}', 'no-cache'],
    ['/sessions/abc', 'text/html; charset=utf-8', INDEX_HTML, 'no-cache'],
    ['/sessions/abc/replay', 'text/html; charset=utf-8', INDEX_HTML, null],
    ['/admin?tab=workers', 'text/html; charset=utf-8', INDEX_HTML, null],
  ];
  for (const [p, type, body, cache] of cases) {
    const r = await api(U, 'GET', p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-type'), type, p);
    if (body !== null) assert.equal(r.text, body, p);
    if (cache !== null) assert.equal(r.headers.get('cache-control'), cache, p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
  }
});

test('static files: a missing asset is 404, not the app', async () => {
  for (const p of ['/assets/missing.js', '/missing.png', '/sessions/abc/x.map', '/favicon.ico']) {
    const r = await api(U, 'GET', p);
    assert.equal(r.status, 404, p);
    assert.ok(!r.text.includes('<div id="root">'), p);
  }
});

test('static files: no path escapes the folder', async () => {
  const P = cluster.port;
  const attempts = [
    '/../secret.txt', '/%2e%2e/secret.txt', '/.%2e/secret.txt', '/%2E%2E/secret.txt',
    '/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt',
    '/assets/..%5c..%5csecret.txt', '/..\\secret.txt', '/assets/link.txt',
    '/../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/../../../../../../etc/passwd',
    `/${'../'.repeat(20)}etc/passwd`, '//etc/passwd', '/%2fetc%2fpasswd',
  ];
  for (const p of attempts) {
    const r = await rawGet(P, p);
    assert.ok(r.status === 404 || (r.status === 200 && r.body === INDEX_HTML) || r.status === 400 || r.status === 403,
      `${p}: ${r.status} ${r.body.slice(0, 80)}`);
    assert.ok(!r.body.includes(SECRET), `${p} leaked the file outside static_dir`);
    assert.ok(!r.body.includes('root:x:0:0'), `${p} leaked /etc/passwd`);
  }
  // The symlink pointing outside is refused outright.
  assert.equal((await rawGet(P, '/assets/link.txt')).status, 404);
});

test('static files: dotfiles and dot folders a build leaves behind are never served', async () => {
  const www = path.join(staticRoot, 'www');
  fs.writeFileSync(path.join(www, '.env'), 'DATABASE_PASSWORD=dot-secret');
  fs.mkdirSync(path.join(www, '.git'), { recursive: true });
  fs.writeFileSync(path.join(www, '.git', 'config'), '[remote] url = dot-secret');
  fs.writeFileSync(path.join(www, 'assets', '.hidden.js'), 'dot-secret');
  try {
    for (const p of ['/.env', '/.git/config', '/assets/.hidden.js', '/%2eenv', '/.git/', '/assets/%2ehidden.js']) {
      const r = await rawGet(cluster.port, p);
      assert.ok(!r.body.includes('dot-secret'), `${p} served a dotfile: ${r.status}`);
      assert.ok(r.status === 404 || r.status === 400 || (r.status === 200 && r.body === INDEX_HTML), `${p}: ${r.status}`);
    }
  } finally {
    fs.rmSync(path.join(www, '.env'));
    fs.rmSync(path.join(www, '.git'), { recursive: true });
    fs.rmSync(path.join(www, 'assets', '.hidden.js'));
  }
});

// ---------------------------------------------------------------------------
// WebSocket authentication (codesight.require_auth = on)
// ---------------------------------------------------------------------------

test('WebSocket: without hello, a message gets error unauthorized and close 1008', async () => {
  const ws = await connect(cluster.wsUrl);
  assert.equal(ws.messages[0].authRequired, true);
  ws.send({ type: 'session_start', sessionId: 'ws_noauth', timestamp: Date.now() });
  const err = await ws.next('error');
  assert.equal(err.code, 'unauthorized');
  const closed = await ws.waitClose();
  assert.equal(closed.code, 1008);
  const row = await cluster.query("SELECT count(*)::int AS n FROM codesight.sessions WHERE session_id = 'ws_noauth'");
  assert.equal(row.rows[0].n, 0);
});

test('WebSocket: hello with a worker token gets hello_ok; bad or revoked tokens close 1008', async () => {
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'hello', token: ann.token, protocol: 2 });
  const ok = await ws.next((m) => m.type !== 'connected');
  assert.deepEqual(ok, { type: 'hello_ok', workerId: ann.workerId });
  ws.close();

  const w = await register('WsRevoked');
  await cluster.query('SELECT codesight.revoke_token($1)', [w.token.slice(5, 17)]);
  for (const token of [w.token, 'cs_w_bad', admin.replace(/.$/, (c) => (c === '0' ? '1' : '0'))]) {
    const bad = await connect(cluster.wsUrl);
    bad.send({ type: 'hello', token });
    const e = await bad.next((m) => m.type !== 'connected');
    assert.equal(e.type, 'error');
    assert.equal(e.code, 'unauthorized');
    assert.equal((await bad.waitClose()).code, 1008);
  }
});

test('WebSocket: a token in the Authorization header of the upgrade authenticates', async () => {
  const ws = await connect(cluster.wsUrl, { headers: { Authorization: `Bearer ${bob.token}` } });
  const ok = await ws.next((m) => m.type !== 'connected');
  assert.deepEqual(ok, { type: 'hello_ok', workerId: bob.workerId });
  ws.send({ type: 'session_start', sessionId: 'ws_hdr_1', timestamp: Date.now() });
  const started = await ws.next('session_started');
  assert.equal(started.sessionId, 'ws_hdr_1');
  ws.close();
  const list = await api(U, 'GET', '/api/sessions', { token: bob.token });
  assert.ok(list.json.sessions.some((s) => s.sessionId === 'ws_hdr_1'));
});

test('WebSocket: a token in ?token= authenticates', async () => {
  const ws = await connect(`${cluster.wsUrl}?token=${bob.token}`);
  try {
    ws.send({ type: 'session_start', sessionId: 'ws_qs_1', timestamp: Date.now() });
    const m = await ws.next((x) => x.type !== 'connected');
    assert.equal(m.type, 'hello_ok');
    assert.equal(m.workerId, bob.workerId);
  } finally {
    ws.close();
  }
});

test('WebSocket: a disallowed Origin is refused at the upgrade', async () => {
  await assert.rejects(connect(cluster.wsUrl, { headers: { Origin: 'http://evil.example' } }));
  const ok = await connect(cluster.wsUrl, { headers: { Origin: APP_ORIGIN } });
  ok.close();
});
