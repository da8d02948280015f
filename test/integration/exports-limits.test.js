'use strict';
// Exports never end silently short, and never take unbounded memory or time
// (docs/http-api.md, docs/exports.md): a whole-session document is refused
// above codesight.max_export_events with a clear error that points to the
// paged and streamed routes, in time; a streamed dataset export that fails
// after its first bytes ends with an error line and without the last chunk,
// so every client sees it broken, and resumes from the line's resumeAfter.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startCluster, waitFor } = require('../lib/cluster');
const { api } = require('../lib/http');

let cluster;
let admin;
const BIG = 'cs_big_session';
const BIG_EVENTS = 250000;

test.before(async () => {
  cluster = await startCluster({ conf: { 'codesight.http_rate_limit': 0, 'codesight.http_workers': 2 } });
  admin = (await cluster.query("SELECT codesight.issue_admin_token('exports') AS t")).rows[0].t.token;
  // Small completed sessions around one large one, in started_at order.
  for (let i = 0; i < 120; i++) {
    const id = `cs_small_${String(i).padStart(3, '0')}`;
    const started = new Date(Date.UTC(2030, 0, 1, 0, i)).toISOString();
    await cluster.query("INSERT INTO codesight.sessions (session_id, status, started_at, event_count, last_seq, max_seq) VALUES ($1, 'completed', $2, 3, 3, 3)", [id, started]);
    await cluster.query(`INSERT INTO codesight.events (session_id, seq, type, payload)
      SELECT $1, g, 'click', jsonb_build_object('type', 'click', 'data', jsonb_build_object('selector', '#b' || g, 'url', 'https://shop.example/p'))
        FROM generate_series(1, 3) g`, [id]);
  }
  await cluster.query(`INSERT INTO codesight.sessions (session_id, status, started_at, event_count, last_seq, max_seq)
    VALUES ($1, 'completed', '2030-01-01T01:00:30Z', $2, $2, $2)`, [BIG, BIG_EVENTS]);
  await cluster.query(`INSERT INTO codesight.events (session_id, seq, type, payload)
    SELECT $1, g, CASE WHEN g % 3 = 0 THEN 'click' ELSE 'scroll' END,
           jsonb_build_object('type', CASE WHEN g % 3 = 0 THEN 'click' ELSE 'scroll' END,
                              'data', jsonb_build_object('selector', '#b' || (g % 50), 'url', 'https://shop.example/p/' || (g / 1000), 'y', g))
      FROM generate_series(1, $2) g`, [BIG, BIG_EVENTS]);
  await cluster.query('ANALYZE codesight.events');
});

test.after(async () => { if (cluster) await cluster.destroy(); });

test('a session above codesight.max_export_events is refused at once, pointing to the paged and streamed routes', async () => {
  for (const route of ['data', 'training-data', 'playwright']) {
    const t0 = Date.now();
    const r = await api(cluster.httpUrl, 'GET', `/api/extension/sessions/${BIG}/${route}`, { token: admin });
    const ms = Date.now() - t0;
    assert.equal(r.status, 413, `${route}: ${r.text.slice(0, 200)}`);
    assert.equal(r.json.error.code, 'session_too_large');
    assert.match(r.json.error.message, /has 250000 events, more than a whole-session export builds \(codesight\.max_export_events = 200000\)/);
    assert.ok(ms < 2000, `${route} refused after ${ms} ms`);
  }
  await assert.rejects(cluster.query('SELECT codesight.training_data($1)', [BIG]), (e) => {
    assert.equal(e.code, '54000');
    assert.match(e.hint, /events\?after=.*dataset\.jsonl/);
    return true;
  });
  // The paged route reads it, page by page.
  const page = await api(cluster.httpUrl, 'GET', `/api/extension/sessions/${BIG}/events?after=249990&limit=100`, { token: admin });
  assert.equal(page.status, 200);
  assert.equal(page.json.events.length, 10);
  // A one-off export can raise the limit for its own SQL session.
  const c = await cluster.pool.connect();
  try {
    await c.query("SET codesight.max_export_events = 300000");
    await c.query("SET statement_timeout = '60s'");
    const r = await c.query('SELECT jsonb_array_length(codesight.training_data($1)->\'annotations\') AS n', [BIG]);
    assert.ok(r.rows[0].n > 0);
  } finally {
    c.release();
  }
});

// Reads a chunked HTTP response on a raw socket: the head, the body as the
// chunks carry it, and whether the terminating chunk came before the close.
// With whileHeld, nothing is read until it resolves: the answer backs up
// into the server.
function rawChunked(path, whileHeld) {
  return new Promise((resolve, reject) => {
    const s = net.connect(cluster.port, '127.0.0.1');
    const chunks = [];
    s.on('connect', async () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${admin}\r\n\r\n`);
      if (whileHeld) {
        try {
          await whileHeld();
        } catch (e) {
          s.destroy();
          reject(e);
          return;
        }
      }
      s.on('data', (d) => chunks.push(d));
    });
    s.on('error', reject);
    s.on('close', () => {
      const buf = Buffer.concat(chunks);
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end);
      let rest = buf.slice(end + 4);
      const body = [];
      let terminated = false;
      for (;;) {
        const eol = rest.indexOf('\r\n');
        if (eol < 0) break;
        const n = parseInt(rest.slice(0, eol).toString('latin1'), 16);
        if (Number.isNaN(n)) break;
        if (n === 0) { terminated = true; break; }
        if (rest.length < eol + 2 + n) { body.push(rest.slice(eol + 2)); break; }
        body.push(rest.slice(eol + 2, eol + 2 + n));
        rest = rest.slice(eol + 2 + n + 2);
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)[1]), head, body: Buffer.concat(body).toString('utf8'), terminated });
    });
  });
}

test('a streamed dataset export cut by the time limit ends with a verdict every client sees, and resumes', async () => {
  const whole = await rawChunked('/api/export/dataset.jsonl?since=2030-01-01T00:00:00Z');
  assert.equal(whole.status, 200);
  assert.equal(whole.terminated, true);
  const wholeLines = whole.body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const sessionsInOrder = [...new Set(wholeLines.map((l) => l.session_id || l.sessionId))];
  assert.ok(sessionsInOrder.includes(BIG));

  // The turn that reads the large session takes longer than this.  Each
  // HTTP worker applies a reload when it next waits: asked until cut.
  cluster.reload({ 'codesight.http_statement_timeout': "'300ms'" });
  let cut;
  await waitFor(async () => {
    cut = await rawChunked('/api/export/dataset.jsonl?since=2030-01-01T00:00:00Z');
    return !cut.terminated;
  }, { what: 'an export cut by the reloaded time limit', timeoutMs: 60000 });
  assert.equal(cut.status, 200, 'the head went out before the failure');
  assert.equal(cut.terminated, false, 'no terminating chunk: the transfer is broken');
  const lines = cut.body.split('\n').filter(Boolean);
  const verdict = JSON.parse(lines[lines.length - 1]);
  assert.equal(verdict.error.code, 'export_incomplete');
  assert.match(verdict.error.message, /statement timeout/);
  assert.ok(typeof verdict.error.resumeAfter === 'string', JSON.stringify(verdict));

  // Node's fetch (undici 6) takes a chunked body that a closing connection
  // cut for whole; what it read still ends with the verdict, as every cut
  // body must (curl, browsers and Python's requests report the transfer
  // broken as well, from the missing last chunk checked above).
  // One per HTTP worker at once (a third would wait longer than the time
  // limit for a worker, and get 503): the workers' queues to the network
  // process fill, so the limit strikes while a piece of the body is half
  // sent, which once lost the verdict.
  await Promise.all([0, 1].map(async () => {
    const viaFetch = await fetch(`${cluster.httpUrl}/api/export/dataset.jsonl?since=2030-01-01T00:00:00Z`,
      { headers: { Authorization: `Bearer ${admin}` } });
    assert.equal(viaFetch.status, 200);
    const text = await viaFetch.text().catch((e) => assert.fail(`read failed before its verdict: ${e.message}`));
    const fetched = text.trimEnd().split('\n');
    assert.equal(JSON.parse(fetched[fetched.length - 1]).error.code, 'export_incomplete', text.slice(-300));
  }));

  // Resume after the last session sent whole: with the time limit back, the
  // rest comes, and together they are the whole export.
  cluster.reload({ 'codesight.http_statement_timeout': "'30s'" });
  let resumed;
  await waitFor(async () => {
    resumed = await rawChunked(`/api/export/dataset.jsonl?since=2030-01-01T00:00:00Z&after=${verdict.error.resumeAfter}`);
    return resumed.terminated;
  }, { what: 'the resumed export whole under the restored time limit', timeoutMs: 60000 });
  const firstPart = lines.slice(0, -1).map((l) => JSON.parse(l));
  const sessionOf = (l) => l.session_id || l.sessionId;
  const kept = firstPart.filter((l) => sessionsInOrder.indexOf(sessionOf(l)) <= sessionsInOrder.indexOf(verdict.error.resumeAfter));
  const rest = resumed.body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(kept.length + rest.length, wholeLines.length);
  assert.deepEqual([...kept, ...rest].map(sessionOf), wholeLines.map(sessionOf));
});

test('a cancel that comes while a piece of the body is half sent waits for the piece; the stream ends with its verdict', async () => {
  const offset = cluster.log().length;
  let worker;
  const held = await rawChunked('/api/export/dataset.jsonl?since=2030-01-01T00:00:00Z', async () => {
    // The client reads nothing: the network process stops taking the
    // worker's pieces, and the worker waits in the middle of sending one.
    worker = await waitFor(async () => (await cluster.query(
      "SELECT pid FROM pg_stat_activity WHERE backend_type = 'codesight http' " +
      "AND query = 'codesight: streaming the dataset export' AND wait_event_type = 'Extension'")).rows[0],
    { what: 'the HTTP worker waiting for the network process to take its answer', timeoutMs: 60000 });
    await cluster.query('SELECT pg_cancel_backend($1)', [worker.pid]);
  });
  assert.equal(held.terminated, false);
  const lines = held.body.split('\n');
  assert.equal(lines.pop(), '', 'the body ends with a whole line');
  const verdict = JSON.parse(lines.pop());
  assert.equal(verdict.error.code, 'export_incomplete');
  assert.match(verdict.error.message, /canceling statement due to user request/);
  for (const l of lines) JSON.parse(l);
  assert.doesNotMatch(cluster.log().slice(offset), /unexpected message kind|short message|terminated by signal/);
  // The worker serves the next request as before.
  const r = await api(cluster.httpUrl, 'GET', '/api/health', { token: admin });
  assert.equal(r.status, 200);
});
