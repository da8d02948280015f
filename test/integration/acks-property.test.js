'use strict';
// Property test of the ack invariant (docs/reliability.md): random batches
// with gaps, resends, out-of-order seqs and rejected events, interleaved
// with deletes of whole sessions, deletes of events, reuse of session ids
// and worker restarts.  After every step, for every session: each seq the
// server acknowledged (ack or session_started.lastSeq) since the session id
// was last (re)created is in the table exactly once, stored or rejected,
// unless it was deleted on purpose; and the session row's last_seq claims
// nothing the table does not hold.
//
// Runs for CODESIGHT_PROPERTY_SECONDS (20 s by default, 300 s with
// CODESIGHT_LONG=1); the seed is printed so a failure can be replayed with
// CODESIGHT_PROPERTY_SEED.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, waitFor, canConnect } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');
const { api } = require('../lib/http');

const SECONDS = Number(process.env.CODESIGHT_PROPERTY_SECONDS || (process.env.CODESIGHT_LONG ? 300 : 20));
const SEED = Number(process.env.CODESIGHT_PROPERTY_SEED || Date.now() % 1e9);

// A small deterministic generator (mulberry32), so a seed replays a run.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let cluster;
test.before(async () => { cluster = await startCluster(); });
test.after(async () => { if (cluster) await cluster.destroy(); });

test(`acks never cover a seq that is not in the table (seed ${SEED}, ${SECONDS} s)`, async () => {
  console.log(`# property seed ${SEED}`);
  const rand = rng(SEED);
  const pick = (n) => Math.floor(rand() * n);
  const ids = ['cs_prop_a', 'cs_prop_b', 'cs_prop_c'];
  // Per session id, the model of its current incarnation.
  const model = new Map(ids.map((id) => [id, { acked: 0, next: 1, deleted: new Set(), rejected: new Set(), exists: false }]));
  let ws = null;
  const counts = { batches: 0, deletes: 0, eventDeletes: 0, restarts: 0, rejected: 0 };

  async function ensureWs() {
    if (ws && !ws.closed) return ws;
    await waitFor(() => canConnect(cluster.port), { what: 'the worker listening' });
    ws = await connect(cluster.wsUrl);
    for (const id of ids) {
      const m = model.get(id);
      if (!m.exists) continue;
      const from = ws.messages.length;
      ws.send({ type: 'session_start', sessionId: id });
      const st = await ws.next((x) => x.type === 'session_started' && x.sessionId === id, { from });
      m.acked = Math.max(m.acked, st.lastSeq);
    }
    return ws;
  }

  // Sends events and waits for the batch's ack; a worker restart in the
  // middle closes the socket, which is fine: nothing is assumed acked.
  async function sendEvents(id, seqs) {
    const m = model.get(id);
    const c = await ensureWs();
    const events = seqs.map((seq) => {
      const bad = rand() < 0.05;
      if (bad) { m.rejected.add(seq); counts.rejected++; }
      return { seq, type: bad ? 'no_such_type' : 'scroll', timestamp: Date.now(), data: { y: seq } };
    });
    const from = c.messages.length;
    c.send({ type: 'events', sessionId: id, events });
    try {
      const ack = await c.next((x) => x.type === 'ack' && x.sessionId === id, { from, timeoutMs: 15000 });
      m.acked = Math.max(m.acked, ack.seq);
    } catch (e) {
      if (!c.closed) throw e;
    }
    counts.batches++;
  }

  async function startSession(id) {
    const c = await ensureWs();
    // Only an answer to this start counts: an earlier one may be for the
    // same id before it was deleted.
    const from = c.messages.length;
    c.send({ type: 'session_start', sessionId: id });
    const st = await c.next((x) => x.type === 'session_started' && x.sessionId === id, { from, timeoutMs: 15000 });
    const m = model.get(id);
    m.exists = true;
    m.acked = Math.max(m.acked, st.lastSeq);
  }

  async function check() {
    for (const id of ids) {
      const m = model.get(id);
      const r = await cluster.query(`
        SELECT (SELECT coalesce(array_agg(seq ORDER BY seq), '{}') FROM codesight.events WHERE session_id = $1) AS stored,
               (SELECT coalesce(array_agg(seq ORDER BY seq), '{}') FROM codesight.rejected_events WHERE session_id = $1) AS rejected,
               (SELECT last_seq FROM codesight.sessions WHERE session_id = $1) AS last_seq`, [id]);
      const stored = new Set(r.rows[0].stored.map(Number));
      const rejected = new Set(r.rows[0].rejected.map(Number));
      const lastSeq = r.rows[0].last_seq === null ? 0 : Number(r.rows[0].last_seq);
      const claimed = Math.max(m.acked, lastSeq);
      for (let seq = 1; seq <= claimed; seq++) {
        if (m.deleted.has(seq)) continue;
        assert.ok(stored.has(seq) || rejected.has(seq),
          `session ${id}: seq ${seq} acked or claimed (ack ${m.acked}, last_seq ${lastSeq}) but not in the table (seed ${SEED})`);
        if (m.rejected.has(seq) && !stored.has(seq)) assert.ok(rejected.has(seq));
      }
    }
  }

  await startSession(ids[0]);
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    const id = ids[pick(ids.length)];
    const m = model.get(id);
    const r = rand();
    if (!m.exists || r < 0.04) {
      await startSession(id);
    } else if (r < 0.62) {
      // In order from the model's next seq, sometimes skipping one (a gap).
      const n = 1 + pick(20);
      const seqs = [];
      for (let i = 0; i < n; i++) {
        if (rand() < 0.05) m.next++;
        seqs.push(m.next++);
      }
      await sendEvents(id, seqs);
    } else if (r < 0.74) {
      // Fill gaps and resend old seqs, out of order.
      const seqs = new Set();
      for (let i = 0; i < 1 + pick(10); i++) seqs.add(1 + pick(Math.max(1, m.next - 1)));
      await sendEvents(id, [...seqs]);
    } else if (r < 0.8) {
      // Resend everything not acked, as a reconnecting client does.
      const seqs = [];
      for (let s = m.acked + 1; s < m.next && seqs.length < 500; s++) seqs.push(s);
      if (seqs.length) await sendEvents(id, seqs);
    } else if (r < 0.86) {
      const res = await api(cluster.httpUrl, 'DELETE', `/api/sessions/${id}`);
      assert.equal(res.status, 200);
      model.set(id, { acked: 0, next: 1, deleted: new Set(), rejected: new Set(), exists: false });
      counts.deletes++;
    } else if (r < 0.92) {
      const seqs = [1 + pick(Math.max(1, m.next - 1)), 1 + pick(Math.max(1, m.next - 1))];
      const res = await api(cluster.httpUrl, 'POST', `/api/sessions/${id}/events/delete`, { body: { seqs } });
      assert.equal(res.status, 200, res.text);
      for (const s of seqs) m.deleted.add(s);
      counts.eventDeletes++;
    } else if (r < 0.935) {
      // Restart the worker: everything not acked is resent after.
      const pid = await cluster.workerPid();
      cluster.expectRestarts();
      await cluster.query('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(async () => { const p = await cluster.workerPid(); return p && p !== pid; }, { what: 'a new worker' });
      await waitFor(() => canConnect(cluster.port), { what: 'the new worker listening' });
      ws = null;
      counts.restarts++;
    } else {
      // A second connection resumes the session while the first one is open.
      const c2 = await connect(cluster.wsUrl);
      c2.send({ type: 'session_start', sessionId: id });
      const st = await c2.next('session_started', { timeoutMs: 15000 });
      m.acked = Math.max(m.acked, st.lastSeq);
      c2.close();
    }
    await check();
  }
  if (ws) ws.close();
  console.log(`# property: ${JSON.stringify(counts)}`);
  assert.ok(counts.batches > 50 && counts.deletes > 0, `the run exercised the operations: ${JSON.stringify(counts)}`);
});
