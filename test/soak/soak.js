'use strict';
// Soak: steady load against a throwaway cluster, sampling every codesight
// process (the network process and the ingest and HTTP workers: VmRSS,
// RssAnon, open fds) and a control round trip every 10 s.  Fails if a
// process's own memory grows more than 20 % after warm-up, if fds or
// sockets grow, if a process is replaced (a crash the postmaster repaired),
// if a control round trip fails, or if an acknowledged event is missing.
//
//   node test/soak/soak.js [--minutes 30] [--clients 20] [--rate 200]
//   (run from test/ so node_modules resolve; CODESIGHT_LONG=1 make test runs it)

const path = require('node:path');
const { startCluster } = require(path.join(__dirname, '../lib/cluster'));
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

// The codesight processes, as {name: 'codesight ingest 1234', pid}.
async function processes(cluster) {
  const r = await cluster.query("SELECT pid, backend_type FROM pg_stat_activity WHERE backend_type LIKE 'codesight%' ORDER BY backend_type, pid");
  return r.rows.map((x) => ({ name: `${x.backend_type} ${x.pid}`, pid: x.pid }));
}

// What went wrong with one process between its warm-up sample and the end.
function growth(name, first, samples) {
  const maxAnon = Math.max(...samples.map((s) => s.anonKb));
  const last = samples[samples.length - 1];
  const anonGrowth = (maxAnon - first.anonKb) / first.anonKb;
  console.log(`${name}: after warm-up RssAnon ${first.anonKb} -> max ${maxAnon} kB (${(anonGrowth * 100).toFixed(1)} %), VmRSS ${first.rssKb} -> ${last.rssKb} kB, fds ${first.fds} -> ${last.fds}, sockets ${first.sockets} -> ${last.sockets}`);
  // A process's own memory (RssAnon) is what must stay flat: VmRSS also
  // counts shared buffers it touches, which fill up to shared_buffers.  A
  // few MB of allocator noise on an ~8 MB heap is not a leak: the limit is
  // 20 % and at least 4 MB.
  if (anonGrowth > 0.2 && maxAnon - first.anonKb > 4096) return `${name}: heap (RssAnon) grew ${(anonGrowth * 100).toFixed(1)} % after warm-up`;
  // Sockets must not leak (the clients' connections vary by a few at
  // sampling time); files may grow a little as PostgreSQL opens relation
  // segments, but not without bound.
  if (last.sockets > first.sockets + 5) return `${name}: sockets grew ${first.sockets} -> ${last.sockets}`;
  if (last.fds > first.fds + 40) return `${name}: fds grew ${first.fds} -> ${last.fds}`;
  return null;
}

async function main() {
  const cluster = await startCluster({ conf: { 'codesight.disconnect_grace': 3600 } });
  const procs = await processes(cluster);
  const names = procs.map((p) => p.name).join(', ');
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
  const samples = new Map(procs.map((p) => [p.name, []]));
  let warm = null; // index of the first sample after warm-up
  let fail = null;
  const perTick = Math.max(1, Math.round(RATE / 10));
  const ticker = setInterval(() => {
    active = active.map((c) => {
      if (c.pushed >= SESSION_EVENTS && c.drainedNow) { c.stop(); return newClient(); }
      if (c.pushed < SESSION_EVENTS) c.push(perTick);
      return c;
    });
  }, 100);
  while (Date.now() < end && !fail) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const now = (await processes(cluster)).map((p) => p.name).join(', ');
    if (now !== names) { fail = `codesight processes changed: ${names} -> ${now}`; break; }
    const t = Math.round((Date.now() - t0) / 1000);
    let rt;
    try {
      rt = await roundTrip(cluster.wsUrl, { timeoutMs: 5000 });
    } catch (e) {
      fail = `control round trip failed at t=${t}s: ${e.message}`;
      break;
    }
    for (const p of procs) samples.get(p.name).push(procStats(p.pid));
    const acked = all.reduce((s, c) => s + c.ackedUpTo, 0);
    const net = samples.get(procs.find((p) => p.name.startsWith('codesight network')).name).at(-1);
    const maxWorkerAnon = Math.max(...procs.filter((p) => !p.name.startsWith('codesight network')).map((p) => samples.get(p.name).at(-1).anonKb));
    console.log(`t=${String(t).padStart(5)}s  network rss=${String(net.rssKb).padStart(7)} kB (anon ${String(net.anonKb).padStart(6)})  fds=${String(net.fds).padStart(4)} (sockets ${String(net.sockets).padStart(3)})  workers' max anon ${String(maxWorkerAnon).padStart(6)} kB  acked=${String(acked).padStart(9)}  sessions=${String(all.length).padStart(5)}  control=${rt} ms`);
    if (warm === null && Date.now() - t0 >= WARMUP_MS) warm = samples.get(procs[0].name).length - 1;
  }
  clearInterval(ticker);
  await Promise.all(active.map((c) => c.drained(60000).catch((e) => { fail = fail || e.message; })));
  for (const c of all) c.stop();
  try {
    const res = await checkStored(cluster, all, { allPushed: false });
    console.log(`stored ${res.stored} events in ${res.sessions} sessions; acked ${res.acked}`);
  } catch (e) { fail = fail || e.message; }
  if (!fail && warm === null) fail = `the run ended before warm-up (${WARMUP_MS / 1000} s): nothing to compare`;
  if (!fail) {
    const problems = procs.map((p) => {
      const s = samples.get(p.name).slice(warm);
      return growth(p.name, s[0], s);
    }).filter(Boolean);
    if (problems.length) fail = problems.join('; ');
  }
  try { await cluster.destroy(); } catch (e) { fail = fail || e.message; }
  if (fail) { console.log(`SOAK FAILED: ${fail}`); process.exit(1); }
  console.log('soak ok');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
