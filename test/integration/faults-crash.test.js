'use strict';
// Process faults while 50 durable clients stream: kill -9 of the network
// process, of an ingest worker and of an HTTP worker, fast restart,
// immediate stop + start, pg_cancel_backend and pg_terminate_backend of the
// network process and of an ingest worker.  Invariant each time (docs/reliability.md): every
// event that was ever acknowledged is stored exactly once, nothing is stored
// twice, the session counters match the rows, and every client finishes.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { startCluster, waitFor, kill9, canConnect } = require('../lib/cluster');
const { DurableClient, streamEvents, checkStored, roundTrip: rt } = require('../lib/durable-client');

const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
const IS_ROOT = process.getuid && process.getuid() === 0;
const CLIENTS = 50;
const PER_CLIENT = 300;

// CODESIGHT_CORE=1 lets the restarted server write core files (pg_ctl -c)
// into the data directory; keep it with KEEP_CLUSTER=1.
const CORE = process.env.CODESIGHT_CORE ? ['-c'] : [];

let cluster;

// Worker crashes (not our kill -9) logged after a given log offset.
function crashesSince(offset) {
  return cluster.log().slice(offset).split('\n').filter((l) => /terminated by signal (11|6|7)|PANIC/.test(l));
}

// Runs a test body; a failure that coincides with a worker crash names the
// crash, which is what to look at first.
function crashAware(fn) {
  return async () => {
    const offset = cluster.log().length;
    try {
      await fn();
    } catch (e) {
      // The postmaster logs a crash a moment after it happens.
      const crashes = await waitFor(() => crashesSince(offset).length && crashesSince(offset), { timeoutMs: 3000, what: 'a crash line' }).catch(() => []);
      if (crashes.length) e.message += `\nworker crashed during this test: ${crashes[0].slice(0, 160)}`;
      throw e;
    }
  };
}

before(async () => {
  cluster = await startCluster({ conf: { 'codesight.disconnect_grace': 3600 } });
});

after(async () => { if (cluster) await cluster.destroy(); });

// pg_ctl without blocking the event loop, so the clients see what happens.
function pgCtl(args) {
  const bin = path.join(PG_BIN, 'pg_ctl');
  const [cmd, argv] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function dropPool() {
  for (const p of cluster.pools) p.end().catch(() => {});
  cluster.pools = [];
  cluster._pool = null;
}

// The worker pid once it serves again (a new pid if `other` is given).
async function workerBack(other, timeoutMs = 60000) {
  return waitFor(async () => {
    const pid = await cluster.workerPid();
    if (!pid || pid === other) return null;
    return (await canConnect(cluster.port)) ? pid : null;
  }, { timeoutMs, intervalMs: 100, what: 'the worker serving again' });
}

const roundTrip = () => rt(cluster.wsUrl);

// Streams from CLIENTS clients, runs fault() once a third of the events are
// acknowledged, waits until every client is drained, checks the invariant.
async function underFault(fault) {
  const clients = Array.from({ length: CLIENTS }, () => new DurableClient(cluster.wsUrl, { batchSize: 20 }).start());
  try {
    await waitFor(() => clients.every((c) => c.ready), { timeoutMs: 20000, what: 'clients ready' });
    const streaming = streamEvents(clients, { total: PER_CLIENT, chunk: 5, intervalMs: 25 });
    await waitFor(() => clients.reduce((s, c) => s + c.ackedUpTo, 0) >= (CLIENTS * PER_CLIENT) / 3,
      { timeoutMs: 30000, what: 'a third of the events acknowledged' });
    const ackedBefore = clients.reduce((s, c) => s + c.ackedUpTo, 0);
    const info = await fault(clients);
    await streaming;
    await Promise.all(clients.map((c) => c.drained(60000)));
    // Retried only until the database answers (it may still be in crash
    // recovery); the invariant itself is checked once, so a violation that
    // would mend itself a moment later still fails.
    await waitFor(() => cluster.query('SELECT 1').then(() => true), { timeoutMs: 10000, what: 'database reachable' });
    const res = await checkStored(cluster, clients);
    assert.strictEqual(res.stored, CLIENTS * PER_CLIENT);
    return { clients, ackedBefore, ...res, ...info };
  } finally {
    for (const c of clients) c.stop();
  }
}

test('kill -9 of the worker mid-stream: crash restart, clients resend, nothing acked is lost or doubled', crashAware(async () => {
  const pid = await cluster.workerPid();
  assert.ok(pid);
  const r = await underFault(async (clients) => {
    cluster.expectKilled(pid);
    kill9(pid);
    dropPool();
    await waitFor(() => clients.every((c) => c.closeCodes.length > 0), { timeoutMs: 20000, what: 'every client saw the drop' });
    const npid = await workerBack(pid);
    return { npid };
  });
  assert.notStrictEqual(r.npid, pid);
  assert.ok(r.clients.every((c) => c.connects >= 2), 'every client reconnected');
  const exits = cluster.log().split('\n').filter((l) => /was terminated by signal|exited with exit code|codesight (network|ingest|http).*(ERROR|FATAL)/.test(l));
  assert.ok(exits.some((l) => l.includes(`(PID ${pid}) was terminated by signal 9`)), `postmaster saw the worker killed by us; worker exits:\n${exits.join('\n')}`);
  assert.ok(!exits.some((l) => /signal (11|6|7)/.test(l)), `no worker crash:\n${exits.join('\n')}`);
}));

test('pg_ctl restart -m fast mid-stream: nothing acked lost, clients see close 1001', crashAware(async () => {
  const pid = await cluster.workerPid();
  const r = await underFault(async (clients) => {
    dropPool();
    await pgCtl(['-D', cluster.datadir, '-l', cluster.logfile, '-w', '-t', '60', ...CORE, '-m', 'fast', 'restart']);
    const npid = await workerBack(pid);
    return { npid, codes: clients.map((c) => c.closeCodes[0]) };
  });
  assert.ok(r.clients.every((c) => c.connects >= 2), 'every client reconnected');
  const tally = {};
  for (const code of r.codes) tally[code] = (tally[code] || 0) + 1;
  test.diagnostic?.(`fast restart close codes: ${JSON.stringify(tally)}`);
  console.log(`# fast restart: first close codes ${JSON.stringify(tally)}`);
  // Close-code check is its own test below so a 1006 does not hide the data check.
  fastRestartCodes = r.codes;
}));

let fastRestartCodes = null;

test('fast shutdown closes every stream with 1001 (not 1006)', async () => {
  assert.ok(fastRestartCodes, 'the restart test ran');
  assert.deepStrictEqual([...new Set(fastRestartCodes)], [1001]);
});

test('pg_ctl stop -m immediate + start mid-stream: nothing acked lost', crashAware(async () => {
  const r = await underFault(async (clients) => {
    dropPool();
    await pgCtl(['-D', cluster.datadir, '-w', '-t', '60', '-m', 'immediate', 'stop']);
    await waitFor(() => clients.every((c) => c.closeCodes.length > 0), { timeoutMs: 20000, what: 'every client saw the drop' });
    await pgCtl(['-D', cluster.datadir, '-l', cluster.logfile, '-w', '-t', '60', ...CORE, 'start']);
    return { npid: await workerBack(null) };
  });
  assert.ok(r.clients.every((c) => c.connects >= 2), 'every client reconnected');
}));

test('pg_cancel_backend(worker) mid-stream: same worker keeps serving, nothing lost', crashAware(async () => {
  const pid = await cluster.workerPid();
  const r = await underFault(async () => {
    const res = [];
    for (let i = 0; i < 5; i++) {
      const q = await cluster.query('SELECT pg_cancel_backend($1) AS ok', [pid]);
      res.push(q.rows[0].ok);
    }
    return { cancelled: res };
  });
  assert.ok(r.cancelled.every(Boolean), 'pg_cancel_backend reached the worker');
  assert.strictEqual(await cluster.workerPid(), pid, 'the worker survived the cancels');
  assert.ok(await roundTrip() < 5000);
}));

test('pg_terminate_backend(worker) mid-stream: a new worker starts and serves, nothing lost', crashAware(async () => {
  const pid = await cluster.workerPid();
  cluster.expectRestarts();
  const r = await underFault(async (clients) => {
    const q = await cluster.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
    assert.strictEqual(q.rows[0].ok, true);
    const npid = await workerBack(pid);
    return { npid, codes: clients.map((c) => c.closeCodes[0]) };
  });
  assert.notStrictEqual(r.npid, pid);
  assert.ok(r.clients.every((c) => c.connects >= 2), 'every client reconnected');
  console.log(`# terminate: first close codes ${JSON.stringify([...new Set(r.codes)])}`);
  assert.ok(await roundTrip() < 5000);
}));

// The pid of a pool worker of a kind ('ingest' or 'http').
async function poolPid(kind) {
  const r = await cluster.query("SELECT pid FROM pg_stat_activity WHERE backend_type = $1 ORDER BY pid LIMIT 1", [`codesight ${kind}`]);
  return r.rows.length ? r.rows[0].pid : null;
}

for (const kind of ['ingest', 'http']) {
  test(`kill -9 of an ${kind} worker mid-stream: crash restart, nothing acked lost or doubled`, crashAware(async () => {
    const pid = await poolPid(kind);
    assert.ok(pid, `an ${kind} worker runs`);
    // An HTTP request in flight when it dies: the client gets an answer or a
    // closed connection, never a hang.
    const { api } = require('../lib/http');
    const inflight = kind === 'http'
      ? api(cluster.httpUrl, 'GET', '/api/health').then((r) => r.status, (e) => e.message)
      : null;
    const r = await underFault(async (clients) => {
      cluster.expectKilled(pid);
      kill9(pid);
      dropPool();
      await waitFor(() => clients.every((c) => c.closeCodes.length > 0), { timeoutMs: 20000, what: 'every client saw the crash restart' });
      await workerBack(null);
      return {};
    });
    assert.ok(r.clients.every((c) => c.connects >= 2), 'every client reconnected');
    if (inflight) console.log(`# request in flight when the http worker died: ${await inflight}`);
    const exits = cluster.log().split('\n').filter((l) => l.includes(`(PID ${pid}) was terminated by signal 9`));
    assert.equal(exits.length, 1, `postmaster saw the ${kind} worker killed by us`);
    assert.ok(await roundTrip() < 5000);
  }));
}

test('pg_terminate_backend(ingest worker) mid-stream: the network process starts another, clients resend, nothing lost', crashAware(async () => {
  const pid = await poolPid('ingest');
  const npid = await cluster.workerPid();
  cluster.expectRestarts();
  const r = await underFault(async (clients) => {
    assert.strictEqual((await cluster.query('SELECT pg_terminate_backend($1) AS ok', [pid])).rows[0].ok, true);
    await waitFor(async () => (await cluster.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'codesight ingest' AND pid <> $1", [pid])).rows[0].n >= 2,
      { timeoutMs: 20000, what: 'a new ingest worker' });
    return { codes: clients.map((c) => c.closeCodes[0]).filter(Boolean) };
  });
  // No crash cycle: the network process kept its pid and its other clients.
  assert.strictEqual(await cluster.workerPid(), npid);
  console.log(`# ingest worker terminated: close codes ${JSON.stringify([...new Set(r.codes)])}`);
  assert.ok(r.codes.every((c) => c === 1011), `clients of the stopped worker were closed with 1011: ${JSON.stringify([...new Set(r.codes)])}`);
  assert.ok(await roundTrip() < 5000);
}));

test('no worker crashed (SIGSEGV/SIGABRT) during any of these faults', () => {
  const bad = crashesSince(0);
  assert.deepStrictEqual(bad, []);
});
