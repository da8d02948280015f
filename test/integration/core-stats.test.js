'use strict';
// The worker's writes are visible to autovacuum and to the planner: it
// reports its table statistics itself (a background worker is not a
// backend going idle), and its per-batch session updates are HOT.  On a
// cluster of its own, so that no other test's updates are counted.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, waitFor } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');

let cluster;

test.before(async () => {
  cluster = await startCluster();
});

test.after(async () => { if (cluster) await cluster.destroy(); });

test('the rows the worker writes reach pg_stat_user_tables, and its session updates are HOT', async () => {
  const stats = async () => (await cluster.query(
    "SELECT relname, n_tup_ins::int AS ins, n_mod_since_analyze::int AS mod, n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot " +
    "FROM pg_stat_user_tables WHERE schemaname = 'codesight'")).rows.reduce((o, r) => ({ ...o, [r.relname]: r }), {});
  const before = await stats();
  const sessionId = 'cs_md0ap0gn_stat1';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId, timestamp: Date.now() });
  await ws.next('session_started');
  // Five batches, each acked before the next: five updates of the session row.
  for (let b = 0; b < 5; b++) {
    ws.send({ type: 'events', sessionId, events: Array.from({ length: 5 }, (_, i) => ({ seq: b * 5 + i + 1, type: 'scroll', timestamp: Date.now(), data: { scrollY: i } })) });
    await ws.next((m) => m.type === 'ack' && m.seq === b * 5 + 5);
  }
  ws.close();
  // The worker reports at most once a second, and forces a report at housekeeping.
  const after = await waitFor(async () => {
    const s = await stats();
    return s.events.ins >= before.events.ins + 25 && s.events.mod >= 25 && s.sessions.upd >= before.sessions.upd + 5 && s;
  }, { what: 'the worker\'s writes in pg_stat_user_tables', timeoutMs: 20000 });
  // No index names a column the batch updates, so the updates are HOT.
  const upd = after.sessions.upd - before.sessions.upd;
  const hot = after.sessions.hot - before.sessions.hot;
  assert.ok(hot >= upd - 1, `${hot} of ${upd} session updates were HOT`);
});
