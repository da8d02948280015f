'use strict';
// Soak: steady load against a throwaway cluster, sampling the worker's RSS
// (/proc/PID/status VmRSS) and open fds (/proc/PID/fd) every 10 s.  Fails if
// RSS grows more than 20 % after warm-up, if the fd count grows, if the worker
// restarts, or if an acknowledged event is missing.
//
//   node test/soak/soak.js [--minutes 30] [--clients 20] [--rate 200]
//   (run from test/ so node_modules resolve; CODESIGHT_LONG=1 make test runs it)

const path = require('node:path');
const { startCluster, waitFor } = require(path.join(__dirname, '../lib/cluster'));
const { DurableClient, checkStored, procStats, roundTrip } = require(path.join(__dirname, '../lib/durable-client'));

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const MINUTES = arg('minutes', 30);
const CLIENTS = arg('clients', 20);
const RATE = arg('rate', 200); // events per second per client
const SAMPLE_MS = 10000;
const WARMUP_MS = Math.min(60000, MINUTES * 60000 / 4);
const SESSION_EVENTS = 2000; // a client starts a new session after this many

async function main() {
  const cluster = await startCluster({ conf: { 'codesight.disconnect_grace': 3600 } });
  const pid = await cluster.workerPid();
  const all = [];
  let active = [];
  const newClient = () => {
    const c = new DurableClient(cluster.wsUrl, { batchSize: 50 }).start();
    all.push(c);
    return c;
  };
  for (let i = 0; i < CLIENTS; i++) active.push(newClient());
  const t0 = Date.now();
  const end = t0 + MINUTES * 60000;
  const rows = [];
  let fail = null;
  const perTick = Math.max(1, Math.round(RATE / 10));
  const ticker = setInterval(() => {
    active = active.map((c) => {
      if (c.pushed >= SESSION_EVENTS && c.drainedNow) { c.stop(); return newClient(); }
      if (c.pushed < SESSION_EVENTS) c.push(perTick);
      return c;
    });
  }, 100);
  let baseline = null;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const nowPid = await cluster.workerPid();
    if (nowPid !== pid) { fail = `worker restarted: ${pid} -> ${nowPid}`; break; }
    const st = procStats(pid);
    let rt;
    try { rt = await roundTrip(cluster.wsUrl, { timeoutMs: 5000 }); } catch (e) { rt = `ERR ${e.message.slice(0, 60)}`; }
    const acked = all.reduce((s, c) => s + c.ackedUpTo, 0);
    const row = { t: Math.round((Date.now() - t0) / 1000), rssKb: st.rssKb, anonKb: st.anonKb, shmemKb: st.shmemKb, fds: st.fds, sockets: st.sockets, acked, sessions: all.length, rtMs: rt };
    rows.push(row);
    console.log(`t=${String(row.t).padStart(5)}s  rss=${String(row.rssKb).padStart(7)} kB (anon ${String(row.anonKb).padStart(6)}, shmem ${String(row.shmemKb).padStart(6)})  fds=${String(row.fds).padStart(4)} (sockets ${String(row.sockets).padStart(3)})  acked=${String(acked).padStart(9)}  sessions=${String(all.length).padStart(5)}  control=${rt}${typeof rt === 'number' ? ' ms' : ''}`);
    if (baseline === null && Date.now() - t0 >= WARMUP_MS) baseline = row;
  }
  clearInterval(ticker);
  await Promise.all(active.map((c) => c.drained(60000).catch((e) => { fail = fail || e.message; })));
  for (const c of all) c.stop();
  try {
    const res = await checkStored(cluster, all, { allPushed: false });
    console.log(`stored ${res.stored} events in ${res.sessions} sessions; acked ${res.acked}`);
  } catch (e) { fail = fail || e.message; }
  if (baseline && !fail) {
    const after = rows.filter((r) => r.t >= baseline.t);
    const maxRss = Math.max(...after.map((r) => r.rssKb));
    const maxAnon = Math.max(...after.map((r) => r.anonKb));
    const last = rows[rows.length - 1];
    const growth = (maxRss - baseline.rssKb) / baseline.rssKb;
    const anonGrowth = (maxAnon - baseline.anonKb) / baseline.anonKb;
    console.log(`after warm-up (t=${baseline.t}s): VmRSS ${baseline.rssKb} -> max ${maxRss} kB (${(growth * 100).toFixed(1)} %), RssAnon ${baseline.anonKb} -> max ${maxAnon} kB (${(anonGrowth * 100).toFixed(1)} %), fds ${baseline.fds} -> ${last.fds}, sockets ${baseline.sockets} -> ${last.sockets}`);
    // The worker's own memory (RssAnon) is what must stay flat: VmRSS also
    // counts shared buffers it touches, which fill up to shared_buffers.
    // A few MB of allocator noise on an ~8 MB heap is not a leak: the limit
    // is 20 % and at least 4 MB.
    if (anonGrowth > 0.2 && maxAnon - baseline.anonKb > 4096) fail = `worker heap (RssAnon) grew ${(anonGrowth * 100).toFixed(1)} % after warm-up`;
    // Sockets must not leak (the clients' connections vary by a few at
    // sampling time); files may grow a little as PostgreSQL opens relation
    // segments, but not without bound.
    if (last.sockets > baseline.sockets + 5) fail = fail || `sockets grew ${baseline.sockets} -> ${last.sockets}`;
    if (last.fds > baseline.fds + 40) fail = fail || `fds grew ${baseline.fds} -> ${last.fds}`;
  }
  await waitFor(async () => true);
  try { await cluster.destroy(); } catch (e) { fail = fail || e.message; }
  if (fail) { console.log(`SOAK FAILED: ${fail}`); process.exit(1); }
  console.log('soak ok');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
