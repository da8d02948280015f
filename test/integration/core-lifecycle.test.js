'use strict';
// The worker's life inside the server: reload, cancel, terminate, fast
// shutdown with clients connected, DROP/CREATE EXTENSION, and the
// application_name/activity it shows in pg_stat_activity.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, waitFor, canConnect } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');

let cluster;

test.before(async () => {
  cluster = await startCluster();
});

test.after(async () => { if (cluster) await cluster.destroy(); });

async function storedSeqs(sessionId) {
  const r = await cluster.query('SELECT seq::int FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId]);
  return r.rows.map((x) => x.seq);
}

// Streams batches of 10 events and returns the highest seq acked.
async function stream(ws, sessionId, fromSeq, batches) {
  let seq = fromSeq;
  for (let b = 0; b < batches; b++) {
    ws.send({ type: 'events', sessionId, events: Array.from({ length: 10 }, () => ({ seq: ++seq, type: 'scroll', data: { y: seq } })) });
  }
  await ws.next((m) => m.type === 'ack' && m.seq === seq);
  return seq;
}

test('pg_stat_activity shows the network process and its workers, and what they do', async () => {
  const r = await cluster.query("SELECT application_name, backend_type, query FROM pg_stat_activity WHERE backend_type LIKE 'codesight %' ORDER BY backend_type");
  const types = r.rows.map((x) => x.backend_type);
  const status = (await cluster.query('SELECT codesight.worker_status() AS s')).rows[0].s;
  assert.ok(status.ingestWorkers >= 1 && status.httpWorkers >= 1, JSON.stringify(status));
  assert.deepEqual(types, [
    ...Array(status.httpWorkers).fill('codesight http'),
    ...Array(status.ingestWorkers).fill('codesight ingest'),
    'codesight network']);
  for (const row of r.rows) {
    assert.equal(row.application_name, row.backend_type);
    assert.match(row.query, /^codesight: /);
  }
});

test('SIGHUP: a lower max_message_bytes applies without a restart', async () => {
  const pid = await cluster.workerPid();
  cluster.reload({ 'codesight.max_message_bytes': 2048 });
  await waitFor(async () => {
    const ws = await connect(cluster.wsUrl);
    ws.send(JSON.stringify({ type: 'pong', pad: 'x'.repeat(4000) }));
    const closed = await ws.waitClose();
    return closed.code === 1009;
  }, { what: 'the reloaded limit to apply' });
  assert.equal(await cluster.workerPid(), pid);
  cluster.reload({ 'codesight.max_message_bytes': 1048576 });
  await waitFor(async () => {
    const ws = await connect(cluster.wsUrl);
    ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(4000) }));
    await ws.next('pong');
    ws.close();
    return true;
  }, { what: 'the limit to be raised again' });
});

test('pg_cancel_backend does not kill the worker', async () => {
  const pid = await cluster.workerPid();
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId: 'cs_cancel' });
  await ws.next('session_started');
  let seq = await stream(ws, 'cs_cancel', 0, 5);
  for (let i = 0; i < 5; i++) {
    await cluster.query('SELECT pg_cancel_backend($1)', [pid]);
    seq = await stream(ws, 'cs_cancel', seq, 2);
  }
  assert.equal(await cluster.workerPid(), pid);
  assert.equal(ws.closed, null);
  assert.deepEqual(await storedSeqs('cs_cancel'), Array.from({ length: seq }, (_, i) => i + 1));
  ws.close();
});

test('pg_terminate_backend: the worker restarts and clients resume', async () => {
  const pid = await cluster.workerPid();
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId: 'cs_terminate' });
  await ws.next('session_started');
  const seq = await stream(ws, 'cs_terminate', 0, 3);
  cluster.expectRestarts();
  await cluster.query('SELECT pg_terminate_backend($1)', [pid]);
  const closed = await ws.waitClose();
  assert.equal(closed.code, 1001);
  await waitFor(async () => {
    const p = await cluster.workerPid();
    return p && p !== pid && canConnect(cluster.port);
  }, { what: 'a new worker' });
  const again = await connect(cluster.wsUrl);
  again.send({ type: 'session_start', sessionId: 'cs_terminate' });
  const resumed = await again.next('session_started');
  assert.equal(resumed.lastSeq, seq);
  again.close();
});

test('pg_ctl stop -m fast: what was received is committed and acked, clients get 1001', async () => {
  const clients = await Promise.all(Array.from({ length: 5 }, () => connect(cluster.wsUrl)));
  const acked = new Map();
  await Promise.all(clients.map(async (ws, i) => {
    const sessionId = `cs_fast_${i}`;
    ws.send({ type: 'session_start', sessionId });
    await ws.next('session_started');
    ws.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'ack') acked.set(sessionId, Math.max(acked.get(sessionId) || 0, m.seq));
    });
    // The first batch is acknowledged before the stop, so the stop
    // always has something to keep; the rest races it.
    await stream(ws, sessionId, 0, 1);
    for (let b = 1; b < 20; b++) {
      ws.send({ type: 'events', sessionId, events: Array.from({ length: 10 }, (_, j) => ({ seq: b * 10 + j + 1, type: 'scroll', data: {} })) });
    }
  }));
  cluster.stop('fast');
  const codes = await Promise.all(clients.map((ws) => ws.waitClose(15000)));
  for (const c of codes) assert.equal(c.code, 1001);
  cluster.start();
  await cluster.waitListening();
  for (let i = 0; i < clients.length; i++) {
    const sessionId = `cs_fast_${i}`;
    const seqs = await storedSeqs(sessionId);
    const a = acked.get(sessionId) || 0;
    assert.ok(a >= 10, `${sessionId}: acked ${a}`);
    // What arrived before the stop is stored without gaps, exactly once,
    // and every stored event was acknowledged before the close.
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, k) => k + 1), `${sessionId}: stored ${seqs.join(',')}`);
    assert.equal(seqs.length, a, `${sessionId}: stored ${seqs.length}, acked ${a}`);
  }
});

test('DROP EXTENSION closes connections; CREATE EXTENSION serves again', async () => {
  const ws = await connect(cluster.wsUrl);
  await cluster.query('DROP EXTENSION codesight');
  const closed = await ws.waitClose(15000);
  assert.equal(closed.code, 1011);
  await waitFor(async () => !(await canConnect(cluster.port)), { what: 'the listener to close' });
  await cluster.query('CREATE EXTENSION codesight');
  await cluster.waitListening();
  const again = await connect(cluster.wsUrl);
  again.send({ type: 'session_start', sessionId: 'cs_recreated' });
  await again.next('session_started');
  again.send({ type: 'events', sessionId: 'cs_recreated', events: [{ seq: 1, type: 'click', data: {} }] });
  await again.next((m) => m.type === 'ack' && m.seq === 1);
  assert.deepEqual(await storedSeqs('cs_recreated'), [1]);
  again.close();
});

test('health() reports the running worker', async () => {
  const { rows } = await cluster.query('SELECT codesight.health() AS h');
  const h = rows[0].h;
  assert.equal(h.status, 'ok');
  assert.equal(h.worker.running, true);
  assert.equal(h.worker.listening, true);
  assert.equal(h.worker.port, cluster.port);
  // It counts what is stored: 7 new events, and a resend of them adds none.
  const committed = async () => (await cluster.query('SELECT codesight.health() AS h')).rows[0].h.worker.eventsCommitted;
  const before = await committed();
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId: 'cs_health_count' });
  await ws.next('session_started');
  const events = Array.from({ length: 7 }, (_, k) => ({ seq: k + 1, type: 'click', data: {} }));
  for (let pass = 0; pass < 2; pass++) {
    const from = ws.messages.length;
    ws.send({ type: 'events', sessionId: 'cs_health_count', events });
    await ws.next((m) => m.type === 'ack' && m.seq === 7, { from });
  }
  ws.close();
  await waitFor(async () => (await committed()) >= before + 7, { what: 'the commit counted' });
  assert.equal(await committed(), before + 7);
});

test('an HTTP request that works too long is cut at http_statement_timeout, and ingestion goes on', async () => {
  cluster.reload({ 'codesight.http_statement_timeout': 300 });
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId: 'cs_http_slow' });
  await ws.next('session_started');
  // Another transaction holds the session's row, so deleting it would wait.
  const locker = new (require('pg').Client)(cluster.connectionConfig());
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query("SELECT 1 FROM codesight.sessions WHERE session_id = 'cs_http_slow' FOR UPDATE");
  try {
    await waitFor(async () => {
      const t0 = Date.now();
      const r = await fetch(`${cluster.httpUrl}/api/sessions/cs_http_slow`, { method: 'DELETE' });
      const body = await r.json();
      return r.status === 503 && body.error.code === 'unavailable' && Date.now() - t0 < 3000;
    }, { what: 'a 503 after the timeout' });
    // The worker serves the stream again right after (another session: the
    // locked one would wait for the lock like any writer).
    ws.send({ type: 'session_start', sessionId: 'cs_http_other' });
    ws.send({ type: 'events', sessionId: 'cs_http_other', events: [{ seq: 1, type: 'click', data: {} }] });
    await ws.next((m) => m.type === 'ack' && m.sessionId === 'cs_http_other' && m.seq === 1);
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
    cluster.reload({ 'codesight.http_statement_timeout': 5000 });
    ws.close();
  }
});

test('a session whose connection closed without a stop becomes disconnected, and comes back on session_start', async () => {
  cluster.reload({ 'codesight.disconnect_grace': 1 });
  const pid = await cluster.workerPid();
  try {
    const ws = await connect(cluster.wsUrl);
    ws.send({ type: 'session_start', sessionId: 'cs_dropped' });
    await ws.next('session_started');
    ws.send({ type: 'events', sessionId: 'cs_dropped', events: [{ seq: 1, type: 'click', data: {} }] });
    await ws.next((m) => m.type === 'ack' && m.seq === 1);
    ws.terminate();
    await waitFor(async () => {
      const r = await cluster.query("SELECT status FROM codesight.sessions WHERE session_id = 'cs_dropped'");
      return r.rows[0].status === 'disconnected';
    }, { timeoutMs: 20000, what: 'the session marked disconnected' });
    assert.equal(await cluster.workerPid(), pid);
    const again = await connect(cluster.wsUrl);
    again.send({ type: 'session_start', sessionId: 'cs_dropped' });
    const resumed = await again.next('session_started');
    assert.equal(resumed.status, 'active');
    assert.equal(resumed.lastSeq, 1);
    again.close();
  } finally {
    cluster.reload({ 'codesight.disconnect_grace': 120 });
  }
});

test('an active session with no event for session_idle_timeout is marked abandoned by the worker', async () => {
  await cluster.query("INSERT INTO codesight.sessions (session_id, started_at, last_event_at) VALUES ('cs_idle_old', now() - interval '2 hours', now() - interval '1 hour'), ('cs_idle_fresh', now(), now())");
  await waitFor(async () => {
    const r = await cluster.query("SELECT status FROM codesight.sessions WHERE session_id = 'cs_idle_old'");
    return r.rows[0].status === 'abandoned';
  }, { timeoutMs: 20000, what: 'the idle session marked abandoned' });
  const fresh = await cluster.query("SELECT status FROM codesight.sessions WHERE session_id = 'cs_idle_fresh'");
  assert.equal(fresh.rows[0].status, 'active');
});
