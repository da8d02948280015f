'use strict';
// Acks that never lie and never stall (docs/reliability.md, "The ack is the
// truth"): an ack or a resume lastSeq never covers a seq that is not in the
// table, whatever happened to the session's rows meanwhile; one rejected
// event never holds back the ones after it; timestamps are taken in the
// whole range the protocol promises; store_failed says why and how long to
// wait; a session written by a worker is written only with its token.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');
const { api } = require('../lib/http');

let cluster;

test.before(async () => {
  cluster = await startCluster();
});

test.after(async () => { if (cluster) await cluster.destroy(); });

async function storedSeqs(sessionId) {
  const r = await cluster.query('SELECT seq::int FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId]);
  return r.rows.map((x) => x.seq);
}

const ev = (seq, extra = {}) => ({ seq, type: 'click', timestamp: Date.now(), data: { n: seq }, ...extra });
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// Sends one events batch and resolves to the seq of the ack that answers
// it: a batch is one commit, answered by one ack per session.
async function sendBatch(ws, sessionId, events) {
  const from = ws.messages.length;
  ws.send({ type: 'events', sessionId, events });
  return (await ws.next((m) => m.type === 'ack' && m.sessionId === sessionId, { from })).seq;
}

test('a deleted session reused by id is acked only for what the new one stores', async () => {
  const sessionId = 'cs_reuse_ack';
  let ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  assert.equal((await ws.next('session_started')).lastSeq, 0);
  // seqs 2..10 without 1: stored, but nothing can be acked yet.
  assert.equal(await sendBatch(ws, sessionId, range(2, 10).map((s) => ev(s))), 0);
  assert.deepEqual(await storedSeqs(sessionId), range(2, 10));

  const del = await api(cluster.httpUrl, 'DELETE', `/api/sessions/${sessionId}`);
  assert.equal(del.status, 200);
  assert.equal(del.json.deleted, true);
  assert.deepEqual(await storedSeqs(sessionId), []);

  const from = ws.messages.length;
  ws.send({ type: 'session_start', sessionId });
  assert.equal((await ws.next((m) => m.type === 'session_started', { from })).lastSeq, 0);
  assert.equal(await sendBatch(ws, sessionId, range(1, 10).map((s) => ev(s))), 10);
  // Every acked seq is in the table, exactly once.
  assert.deepEqual(await storedSeqs(sessionId), range(1, 10));
  const row = (await cluster.query('SELECT last_seq::int, max_seq::int, event_count::int FROM codesight.sessions WHERE session_id = $1', [sessionId])).rows[0];
  assert.deepEqual(row, { last_seq: 10, max_seq: 10, event_count: 10 });
  ws.close();

  // A resuming client is told the truth too.
  ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  assert.equal((await ws.next('session_started')).lastSeq, 10);
  ws.close();
});

test('a gap filled later is acked through the seqs stored above it', async () => {
  const sessionId = 'cs_gap_fill';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  assert.equal(await sendBatch(ws, sessionId, range(3, 1002).map((s) => ev(s))), 0);
  assert.equal(await sendBatch(ws, sessionId, range(1003, 2002).map((s) => ev(s))), 0);
  // seq 1 and 2 arrive: the mark runs through the 2,000 stored above them,
  // read from the table in windows.
  assert.equal(await sendBatch(ws, sessionId, [ev(1), ev(2)]), 2002);
  assert.deepEqual(await storedSeqs(sessionId), range(1, 2002));
  ws.close();
});

test('one rejected event never stalls the acks of the ones after it', async () => {
  const sessionId = 'cs_reject_stall';
  let ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  ws.send({ type: 'events', sessionId, events: [ev(1)] });
  await ws.next((m) => m.type === 'ack' && m.seq === 1);
  ws.send({ type: 'events', sessionId, events: [ev(2, { timestamp: 'not a time' })] });
  const err = await ws.next('error');
  assert.equal(err.code, 'invalid_timestamp');
  assert.equal(err.seq, 2);
  assert.equal(err.dropped, true);
  assert.equal((await ws.next((m) => m.type === 'ack' && m.seq >= 2)).seq, 2);
  ws.send({ type: 'events', sessionId, events: [ev(3)] });
  assert.equal((await ws.next((m) => m.type === 'ack' && m.seq >= 3)).seq, 3);
  ws.close();
  // The resume point passes the rejected seq too, and a resend of it is
  // simply acknowledged (the client drops it), never stored.
  ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  assert.equal((await ws.next('session_started')).lastSeq, 3);
  ws.send({ type: 'events', sessionId, events: [ev(2, { timestamp: 'not a time' }), ev(4)] });
  assert.equal((await ws.next((m) => m.type === 'ack' && m.seq >= 4)).seq, 4);
  assert.ok(!ws.messages.some((m) => m.type === 'error'), 'a resend of a rejected seq is not an error again');
  assert.deepEqual(await storedSeqs(sessionId), [1, 3, 4]);
  ws.close();
});

test('events sent to a completed session are dropped, not left to be resent forever', async () => {
  const sessionId = 'cs_after_stop';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  ws.send({ type: 'events', sessionId, events: [ev(1)] });
  await ws.next((m) => m.type === 'ack' && m.seq === 1);
  ws.send({ type: 'session_stop', sessionId });
  await ws.next('session_stopped');
  ws.send({ type: 'events', sessionId, events: [ev(2), ev(3)] });
  const err = await ws.next('error');
  assert.equal(err.code, 'session_not_active');
  assert.equal(err.dropped, true);
  assert.equal((await ws.next((m) => m.type === 'ack' && m.seq >= 3)).seq, 3);
  assert.deepEqual(await storedSeqs(sessionId), [1]);
  ws.close();
});

test('timestamps: the whole JavaScript Date range is accepted, beyond it refused', async () => {
  const sessionId = 'cs_ts_edges';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId, timestamp: -1 });
  await ws.next('session_started');
  const good = [-1, 0, 8.64e15, -8.64e15, 1e14 + 1, '1969-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'];
  const bad = [8.64e15 + 1, -8.64e15 - 1, 1e300, 'yesterday'];
  ws.send({ type: 'events', sessionId, events: [...good, ...bad].map((t, i) => ({ seq: i + 1, type: 'scroll', timestamp: t, data: {} })) });
  await ws.next((m) => m.type === 'ack' && m.seq === good.length + bad.length);
  const errors = ws.messages.filter((m) => m.type === 'error');
  assert.deepEqual(errors.map((e) => [e.seq, e.code]), bad.map((_, i) => [good.length + i + 1, 'invalid_timestamp']));
  const r = await cluster.query(`SELECT seq::int, payload->'timestamp' AS ts, client_ts IS NULL AS no_ts,
      extract(epoch FROM client_ts) * 1000 AS ms FROM codesight.events WHERE session_id = $1 ORDER BY seq`, [sessionId]);
  assert.equal(r.rows.length, good.length);
  assert.equal(Number(r.rows[0].ms), -1);
  assert.equal(Number(r.rows[2].ms), 8.64e15);
  // Before 4713 BC timestamptz has no value: the column is NULL, the payload keeps the number.
  assert.equal(r.rows[3].no_ts, true);
  assert.equal(Number(r.rows[3].ts), -8.64e15);
  assert.equal(Number(r.rows[5].ms), -1);
  ws.close();
});

test('store_failed names its reason and the least wait before a retry', async () => {
  const sessionId = 'cs_store_failed';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  await cluster.query('ALTER SYSTEM SET default_transaction_read_only = on');
  await cluster.query('SELECT pg_reload_conf()');
  try {
    // The reload reaches the worker at its next wakeup; poll until a batch fails.
    let err;
    for (let seq = 1; !err && seq < 200; seq++) {
      const from = ws.messages.length;
      ws.send({ type: 'events', sessionId, events: [ev(seq)] });
      err = await ws.next((m) => (m.type === 'error' && m.code === 'store_failed') || (m.type === 'ack' && m.seq === seq), { from })
        .then((m) => (m.type === 'error' ? m : null));
    }
    assert.ok(err, 'a batch failed once the server was read-only');
    assert.equal(err.reason, 'read_only');
    assert.ok(err.retryAfterMs >= 1000, `retryAfterMs ${err.retryAfterMs}`);
    assert.equal((await ws.waitClose()).code, 1011);
  } finally {
    await cluster.query('ALTER SYSTEM RESET default_transaction_read_only');
    await cluster.query('SELECT pg_reload_conf()');
  }
});

test('stop completes a disconnected session, as the docs say', async () => {
  const sessionId = 'cs_stop_disconnected';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  ws.close();
  await cluster.query("UPDATE codesight.sessions SET status = 'disconnected', ended_at = now() WHERE session_id = $1", [sessionId]);
  const r = await api(cluster.httpUrl, 'POST', `/api/sessions/${sessionId}/stop`);
  assert.equal(r.status, 200);
  const s = (await cluster.query('SELECT status FROM codesight.sessions WHERE session_id = $1', [sessionId])).rows[0];
  assert.equal(s.status, 'completed');
});

test('a session owned by a worker is written only with that worker\'s token', async () => {
  const reg = await api(cluster.httpUrl, 'POST', '/api/workers', { body: { displayName: 'Owner' } });
  assert.equal(reg.status, 201);
  const token = reg.json.token;
  const sessionId = 'cs_owned_ws';
  const owner = await connect(cluster.wsUrl);
  owner.send({ type: 'hello', token });
  await owner.next('hello_ok');
  owner.send({ type: 'session_start', sessionId });
  await owner.next('session_started');
  owner.send({ type: 'events', sessionId, events: [ev(1)] });
  await owner.next((m) => m.type === 'ack' && m.seq === 1);

  // No token (auth is off on loopback by default): refused for this session.
  const anon = await connect(cluster.wsUrl);
  for (const msg of [
    { type: 'session_start', sessionId },
    { type: 'events', sessionId, events: [ev(2)] },
    { type: 'session_complete', sessionId, events: [], summary: { clicks: 99 } },
  ]) {
    const from = anon.messages.length;
    anon.send(msg);
    const err = await anon.next('error', { from });
    assert.equal(err.code, 'forbidden', JSON.stringify(msg));
  }
  // Another worker's token: refused too.
  const other = (await api(cluster.httpUrl, 'POST', '/api/workers', { body: { displayName: 'Other' } })).json.token;
  const ws2 = await connect(cluster.wsUrl);
  ws2.send({ type: 'hello', token: other });
  await ws2.next('hello_ok');
  ws2.send({ type: 'events', sessionId, events: [ev(3)] });
  assert.equal((await ws2.next('error')).code, 'forbidden');

  assert.deepEqual(await storedSeqs(sessionId), [1]);
  const s = (await cluster.query('SELECT status, client_report FROM codesight.sessions WHERE session_id = $1', [sessionId])).rows[0];
  assert.equal(s.status, 'active');
  assert.equal(s.client_report, null);
  for (const c of [owner, anon, ws2]) c.close();
});
