#!/usr/bin/env node
'use strict';
// Runs the codesight benchmarks against a throwaway cluster and prints a
// table; writes bench/out/results.json and bench/out/results.md.
// Start it through bench/run.sh (raises the fd limit, builds the tools).
//
//   node bench/run.js [--quick] [--full] [--only ingest,copy,node,latency,conns,exports,growth,isolation,scaling]
//                     [--out NAME]            results in bench/out/NAME.json and NAME.md
//   node bench/run.js --report-ab A.json B.json ...   the isolation rows of several runs side by side

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');

const ROOT = path.resolve(__dirname, '..');
const { startCluster, freePort } = require(path.join(ROOT, 'test/lib/cluster.js'));
const LOADGEN = path.join(__dirname, 'loadgen/loadgen');
const OUT = path.join(__dirname, 'out');
const PSQL = '/usr/lib/postgresql/15/bin/psql';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const FULL = argv.includes('--full');
const onlyArg = argv.indexOf('--only');
const ONLY = onlyArg >= 0 ? new Set(argv[onlyArg + 1].split(',')) : null;
const want = (s) => !ONLY || ONLY.has(s);

const DUR = QUICK ? 4 : 10;              // seconds of sending per throughput run
const LAT_DUR = QUICK ? 5 : 10;
const CONNS = [1, 50, 500];
const V1_WINDOW = 32;                     // unacked frames (= events) per v1 connection
// The original extension never waits for event_received; with one
// connection a window of 32 measures the round trip, not the server, so
// one connection is also run with this window (both servers).
const V1_WIDE_WINDOW = 256;
const V2_WINDOW = 8;                      // unacked frames of 50 events per v2 connection
const IDLE_CONNS = 10000;
const ACTIVE_CONNS = 1000;
const GROWTH_STEPS = FULL ? [0, 1e6, 5e6, 10e6] : [0, 1e6];
const outArg = argv.indexOf('--out');
const OUT_NAME = outArg >= 0 ? argv[outArg + 1] : 'results';
// The isolation issue's stream: 2,000 events/s from 20 connections in frames of 10.
const ISO_RATE = 2000;
const ISO_CONNS = 20;
const ISO_DUR = QUICK ? 6 : 10;

const results = { started_at: new Date().toISOString(), mode: QUICK ? 'quick' : FULL ? 'full' : 'default', machine: {}, runs: {} };
let cluster;
let workerPid;

function log(...a) { console.error('[bench]', ...a); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1];
  return {
    nproc: os.cpus().length,
    cpu_model: cpu,
    mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    loadavg: fs.readFileSync('/proc/loadavg', 'utf8').trim(),
    fd_limit: spawnSync('sh', ['-c', 'ulimit -n']).stdout.toString().trim(),
  };
}

// utime+stime of a process, in seconds.
function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return NaN; }
}

// The pids of the server's own processes: the network process and the
// ingest workers (the HTTP workers answer the API, not the stream).  An
// older build has one "codesight worker" that does everything.
function streamPids() {
  const pm = Number(fs.readFileSync(path.join(cluster.datadir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(stat[1]) !== pm) continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (/codesight (network|ingest|worker)/.test(cmd)) pids.push(Number(d));
    } catch { /* exited */ }
  }
  return pids;
}

const cpuOf = (pids) => pids.reduce((s, p) => s + (cpuSeconds(p) || 0), 0);

// CPU seconds used by the whole cluster: the postmaster, its live children
// (backends, the worker, WAL writer, checkpointer...) and reaped children.
function clusterCpu() {
  let total = 0;
  const pm = Number(fs.readFileSync(path.join(cluster.datadir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(d) === pm) total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      else if (Number(f[1]) === pm) total += Number(f[11]) + Number(f[12]);
    } catch { /* exited */ }
  }
  return total / 100;
}

function status(pid) {
  const out = {};
  try {
    for (const l of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const m = l.match(/^(VmRSS|RssAnon|RssShmem|VmHWM):\s+(\d+)/);
      if (m) out[m[1]] = +(Number(m[2]) / 1024).toFixed(1);
    }
  } catch { /* gone */ }
  return out;
}

// Every HTTP request of the harness opens its own connection (agent: false):
// Node's global agent keeps sockets alive, and one the worker closed while
// this process sat in spawnSync would be handed out again and fail with
// "socket hang up" (it did, on the first export request after the ingest).
function metrics(port) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        const m = {};
        for (const l of body.split('\n')) {
          const r = l.match(/^(codesight_[a-z_]+(?:\{[^}]*\})?) ([0-9.eE+-]+)$/);
          if (r) m[r[1]] = Number(r[2]);
        }
        resolve(m);
      });
    }).on('error', () => resolve({}));
  });
}

// Vacuums and analyzes what the runs before wrote, then checkpoints, so
// that a run measures its own load, not autovacuum's and the
// checkpointer's work on the rows of the run before it (the worker reports
// its statistics, so autovacuum does start on them).
function settle() {
  psql('VACUUM (ANALYZE) codesight.events, codesight.sessions');
  psql('CHECKPOINT');
}

// Runs the load generator; adds the worker's CPU use and batch figures.
async function loadgen(args, { port = cluster.port, pid = workerPid, tag }) {
  settle();
  const own = pid === workerPid;
  const pids = own ? streamPids() : [pid];
  const m0 = own ? await metrics(cluster.port) : {};
  const c0 = cpuOf(pids);
  const k0 = clusterCpu();
  const t0 = Date.now();
  const full = ['--port', String(port), '--tag', tag, ...args.map(String)];
  const r = await new Promise((resolve, reject) => {
    const p = spawn(LOADGEN, full, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch { reject(new Error(`loadgen ${full.join(' ')} exited ${code}: ${out}`)); }
    });
  });
  const wall = (Date.now() - t0) / 1000;
  r.server_cpu_s = +(cpuOf(pids) - c0).toFixed(2);
  r.server_cpu_share = +(r.server_cpu_s / wall).toFixed(3);
  r.cluster_cpu_s = +(clusterCpu() - k0).toFixed(2);
  // total CPU on the server side: the cluster, plus the Node process for the reference
  r.total_server_cpu_s = +(r.cluster_cpu_s + (pid === workerPid ? 0 : r.server_cpu_s)).toFixed(2);
  r.events_per_server_cpu_s = r.total_server_cpu_s > 0 ? Math.round(r.events_acked / r.total_server_cpu_s) : null;
  if (own) {
    const m1 = await metrics(cluster.port);
    const d = (k) => (m1[k] || 0) - (m0[k] || 0);
    const batches = d('codesight_batch_size_count');
    r.batches = batches;
    r.mean_batch_events = batches ? +(d('codesight_batch_size_sum') / batches).toFixed(1) : 0;
    r.mean_commit_ms = batches ? +(1000 * d('codesight_commit_seconds_sum') / batches).toFixed(2) : 0;
    r.worker_rss = status(pid);
  }
  log(tag, `${r.events_per_s} ev/s`, `p99 ${r.lat_p99_ms} ms`, `loadgen cpu ${r.loadgen_cpu_share}`, `server cpu ${r.server_cpu_share}`,
    r.mean_batch_events !== undefined ? `batch ${r.mean_batch_events} ev / ${r.mean_commit_ms} ms` : '', r.errors ? `errors ${r.errors}: ${r.first_error}` : '');
  return r;
}

function psql(sql, { file, env = {}, quiet = true } = {}) {
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', cluster.sockdir, '-p', String(cluster.pgPort), '-U', 'postgres', '-d', 'postgres', '-At'];
  if (file) args.push('-f', file); else args.push('-c', sql);
  const r = spawnSync(PSQL, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return quiet ? r.stdout.toString().trim() : r;
}

// ------------------------------------------------------------------ payloads
// The same four event shapes the load generator sends (docs/events.md).
function eventData(i) {
  const url = ['https://shop.example.com/product/4711?ref=home', 'https://shop.example.com/', 'https://shop.example.com/category/shoes?page=2', 'https://shop.example.com/cart'][i % 4];
  switch (i % 4) {
    case 0: return { type: 'click', data: { selector: '[data-testid="add-to-cart"]', selectors: { testId: { attribute: 'data-testid', value: 'add-to-cart' }, role: { role: 'button', name: 'Add to Cart' }, text: 'Add to Cart', css: '#product > div.actions > button:nth-of-type(2)' }, element: { tag: 'button', role: 'button', name: 'Add to Cart', text: 'Add to Cart', attributes: { type: 'button', id: 'add' }, boundingBox: { x: 610, y: 412, width: 180, height: 44 } }, coordinates: { x: 700, y: 430 }, pageCoordinates: { x: 700, y: 1230 }, viewport: { width: 1280, height: 800 }, scroll: { x: 0, y: 800 }, button: 0, url, framePath: [], tabId: 7 } };
    case 1: return { type: 'input', data: { selector: '#search', selectors: { placeholder: 'Search products', css: '#search' }, element: { tag: 'input', role: 'searchbox', name: 'Search products', text: '', attributes: { type: 'search', placeholder: 'Search products', id: 'search' }, boundingBox: { x: 300, y: 20, width: 400, height: 36 } }, value: 'running shoes size 42', masked: null, inputType: 'search', url, framePath: [], tabId: 7 } };
    case 2: return { type: 'scroll', data: { scroll: { x: 0, y: 1600 }, direction: 'down', viewport: { width: 1280, height: 800 }, documentHeight: 5400, url, framePath: [], tabId: 7 } };
    default: return { type: 'navigation', data: { url, transitionType: 'link', transitionQualifiers: [], tabId: 7, frameId: 0 } };
  }
}

// A COPY text-format file of n event rows over `sessions` sessions.
function writeCopyFile(file, n, sessions, prefix) {
  const fd = fs.openSync(file, 'w');
  const t0 = Date.now();
  const shapes = [0, 1, 2, 3].map((i) => eventData(i));
  let buf = [];
  for (let k = 0; k < n; k++) {
    const s = k % sessions;
    const seq = Math.floor(k / sessions) + 1;
    const e = shapes[seq % 4];
    const ts = t0 + k;
    const payload = JSON.stringify({ type: e.type, timestamp: ts, data: e.data }).replace(/\\/g, '\\\\');
    buf.push(`${prefix}_${s}\t${seq}\t${e.type}\t${new Date(ts).toISOString()}\t${e.data.url || '\\N'}\t${e.data.selector || '\\N'}\t${payload}\n`);
    if (buf.length >= 10000) { fs.writeSync(fd, buf.join('')); buf = []; }
  }
  fs.writeSync(fd, buf.join(''));
  fs.closeSync(fd);
}

// ------------------------------------------------------------------ sections
async function ingest() {
  for (const mode of ['v1', 'v2']) {
    for (const n of CONNS) {
      const args = ['--mode', mode, '--conns', n, '--duration', DUR, '--window', mode === 'v1' ? V1_WINDOW : V2_WINDOW, '--batch', 50];
      results.runs[`ingest_${mode}_${n}`] = await loadgen(args, { tag: `ingest_${mode}_${n}` });
    }
  }
  results.runs.ingest_v1_1_wide = await loadgen(['--mode', 'v1', '--conns', 1, '--duration', DUR, '--window', V1_WIDE_WINDOW], { tag: 'ingest_v1_1_wide' });
}

async function copy() {
  const v2 = results.runs.ingest_v2_50;
  const n = Math.max(200000, Math.min(QUICK ? 300000 : 1000000, Math.round(v2 ? v2.events_acked : 300000)));
  const file = path.join(os.tmpdir(), `codesight-bench-copy-${process.pid}.tsv`);
  writeCopyFile(file, n, 50, `copy${Date.now().toString(36)}`);
  fs.chmodSync(file, 0o644);
  const k0 = clusterCpu();
  const t0 = process.hrtime.bigint();
  psql(`\\copy codesight.events (session_id, seq, type, client_ts, page_url, selector, payload) FROM '${file}'`);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = clusterCpu() - k0;
  const bytes = fs.statSync(file).size;
  fs.unlinkSync(file);
  results.runs.copy = { rows: n, seconds: +s.toFixed(3), events_per_s: +(n / s).toFixed(1), file_mb: +(bytes / 2 ** 20).toFixed(1), cluster_cpu_s: +cpu.toFixed(2), events_per_server_cpu_s: Math.round(n / cpu), note: 'psql \\copy of the same row shapes into codesight.events, one transaction, synchronous_commit=on' };
  log('copy', results.runs.copy);
}

async function nodeReference() {
  const dir = path.join(__dirname, 'node-reference');
  const port = await freePort();
  const srv = spawn(process.execPath, [path.join(dir, 'server.js'), '--port', String(port)], {
    env: { ...process.env, PGHOST: cluster.sockdir, PGPORT: String(cluster.pgPort), PGDATABASE: 'postgres', PGUSER: 'postgres' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('node reference did not start')), 30000);
    srv.stdout.on('data', (d) => { if (/listening/.test(d)) { clearTimeout(t); resolve(); } });
    srv.on('exit', (c) => reject(new Error('node reference exited ' + c)));
  });
  try {
    for (const n of CONNS) {
      const args = ['--mode', 'v1', '--conns', n, '--duration', DUR, '--window', V1_WINDOW];
      const r = await loadgen(args, { port, pid: srv.pid, tag: `node_v1_${n}` });
      // the Node process does the work of the worker plus the backends' in PG
      results.runs[`node_v1_${n}`] = r;
    }
    results.runs.node_v1_1_wide = await loadgen(['--mode', 'v1', '--conns', 1, '--duration', DUR, '--window', V1_WIDE_WINDOW], { port, pid: srv.pid, tag: 'node_v1_1_wide' });
  } finally {
    srv.kill('SIGTERM');
  }
}

// The floor under an ack after COMMIT: the disk's fdatasync, timed on the
// cluster's own file system at the cadence of the 5,000 events/s run
// (one 8 KB write and fdatasync every 2 ms, as a WAL flush per batch).
async function fsyncProbe(seconds) {
  const file = path.join(cluster.dir, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const page = Buffer.alloc(8192, 1);
  const t = [];
  const end = Date.now() + seconds * 1000;
  for (let i = 0; Date.now() < end; i++) {
    fs.writeSync(fd, page, 0, page.length, (i % 2048) * 8192);
    const t0 = process.hrtime.bigint();
    fs.fdatasyncSync(fd);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await sleep(2);
  }
  fs.closeSync(fd);
  fs.unlinkSync(file);
  t.sort((a, b) => a - b);
  const q = (f) => +t[Math.min(t.length - 1, Math.floor(f * t.length))].toFixed(2);
  return { count: t.length, p50_ms: q(0.5), p99_ms: q(0.99), p999_ms: q(0.999), max_ms: q(1) };
}

async function latency() {
  results.runs.fsync_probe = await fsyncProbe(QUICK ? 5 : 10);
  log('fsync probe', results.runs.fsync_probe);
  for (const rate of [1000, 5000, 20000]) {
    const args = ['--mode', 'v2', '--conns', 100, '--batch', 10, '--window', 64, '--rate', rate, '--duration', LAT_DUR];
    results.runs[`latency_${rate}`] = await loadgen(args, { tag: `latency_${rate}` });
  }
}

async function conns() {
  const limits = fs.readFileSync(`/proc/${workerPid}/limits`, 'utf8').match(/Max open files\s+(\d+)/);
  const r = await loadgen(['--mode', 'idle', '--conns', IDLE_CONNS, '--active', ACTIVE_CONNS, '--rate', 5000,
    '--hold', QUICK ? 5 : 10, '--watch-pid', workerPid, '--window', 64, '--max-connecting', 200], { tag: 'conns_idle' });
  r.worker_fd_limit = limits ? Number(limits[1]) : null;
  r.per_conn_kb = r.served_first ? +((r.rss_idle_mb - r.rss_base_mb) * 1024 / r.served_first).toFixed(1) : null;
  r.per_conn_anon_kb = r.served_first ? +((r.anon_idle_mb - r.anon_base_mb) * 1024 / r.served_first).toFixed(1) : null;
  results.runs.conns = r;
  log('conns', { served_first: r.served_first, served_final: r.served_final, rss_idle_mb: r.rss_idle_mb, per_conn_kb: r.per_conn_kb });
  await sleep(2000);
}

const EXPORT_SID = 'bench_export_100k';

function makeExportSession(sid, n) {
  // A realistic shopping session: navigations, page loads, clicks, inputs,
  // changes, hovers and scrolls, shaped as docs/events.md describes.
  psql(`
DELETE FROM codesight.events WHERE session_id = '${sid}';
DELETE FROM codesight.sessions WHERE session_id = '${sid}';
INSERT INTO codesight.sessions (session_id, status, started_at, ended_at, user_agent, extension, last_seq, max_seq, event_count)
VALUES ('${sid}', 'completed', now() - interval '3 hours', now(), 'Mozilla/5.0 bench', '{"name":"CodeSight","version":"1.0.0"}', ${n}, ${n}, ${n});
INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
SELECT '${sid}', g, t.type, ts, url, sel, jsonb_build_object('type', t.type, 'timestamp', (extract(epoch FROM ts) * 1000)::bigint, 'data', t.data)
FROM generate_series(1, ${n}) g
CROSS JOIN LATERAL (SELECT now() - interval '3 hours' + g * interval '100 ms' AS ts,
                           'https://shop.example.com/product/' || (g / 40) AS url,
                           '[data-testid="btn-' || (g % 17) || '"]' AS sel) v
CROSS JOIN LATERAL (SELECT * FROM (VALUES
   (0, 'navigation', jsonb_build_object('url', url, 'transitionType', 'link', 'transitionQualifiers', '[]'::jsonb, 'tabId', 7, 'frameId', 0)),
   (1, 'page', jsonb_build_object('action', 'load', 'title', 'Product ' || (g / 40), 'url', url, 'viewport', '{"width":1280,"height":800}'::jsonb, 'framePath', '[]'::jsonb, 'tabId', 7)),
   (2, 'click', jsonb_build_object('selector', sel, 'selectors', jsonb_build_object('testId', jsonb_build_object('attribute', 'data-testid', 'value', 'btn-' || (g % 17)), 'role', jsonb_build_object('role', 'button', 'name', 'Button ' || (g % 17)), 'css', '#main > button:nth-of-type(' || (g % 17 + 1) || ')'),
        'element', jsonb_build_object('tag', 'button', 'role', 'button', 'name', 'Button ' || (g % 17), 'text', 'Button ' || (g % 17), 'attributes', jsonb_build_object('type', 'button'), 'boundingBox', '{"x":10,"y":20,"width":100,"height":30}'::jsonb),
        'coordinates', '{"x":60,"y":35}'::jsonb, 'button', 0, 'url', url, 'framePath', '[]'::jsonb, 'tabId', 7)),
   (3, 'input', jsonb_build_object('selector', '#search', 'selectors', '{"placeholder":"Search products","css":"#search"}'::jsonb,
        'element', '{"tag":"input","role":"searchbox","name":"Search products","attributes":{"type":"search","placeholder":"Search products"}}'::jsonb,
        'value', 'running shoes ' || (g % 50), 'masked', null, 'inputType', 'search', 'url', url, 'framePath', '[]'::jsonb, 'tabId', 7)),
   (4, 'change', jsonb_build_object('selector', '#email', 'selectors', '{"label":"Email address","css":"#email"}'::jsonb,
        'element', '{"tag":"input","name":"Email address","attributes":{"type":"email"}}'::jsonb,
        'value', '<EMAIL>', 'masked', 'email', 'inputType', 'email', 'url', url, 'framePath', '[]'::jsonb, 'tabId', 7)),
   (5, 'hover', jsonb_build_object('selector', '#menu', 'element', '{"tag":"nav","text":"Menu"}'::jsonb, 'durationMs', 800, 'revealed', (g % 2 = 0), 'revealedCount', 3, 'url', url, 'framePath', '[]'::jsonb, 'tabId', 7)),
   (6, 'scroll', jsonb_build_object('scroll', jsonb_build_object('x', 0, 'y', (g % 30) * 100), 'direction', 'down', 'viewport', '{"width":1280,"height":800}'::jsonb, 'documentHeight', 5400, 'url', url, 'framePath', '[]'::jsonb, 'tabId', 7)),
   (7, 'keypress', jsonb_build_object('selector', '#search', 'key', 'Enter', 'url', url, 'framePath', '[]'::jsonb, 'tabId', 7))
 ) AS x(k, type, data) WHERE x.k = (CASE WHEN g % 40 = 1 THEN 0 WHEN g % 40 = 2 THEN 1 ELSE 2 + (g % 6) END)) t;
ANALYZE codesight.events;`);
}

// Times one statement `reps` times with psql's \timing: from sending it to
// having the whole result in psql (written to /dev/null), so the figure is
// the server's work plus the transfer, not this harness's buffering.
function timeQuery(sql, { reps = 5, sizeOf } = {}) {
  const args = ['-X', '-q', '-At', '-o', '/dev/null', '-h', cluster.sockdir, '-p', String(cluster.pgPort), '-U', 'postgres', '-d', 'postgres', '-c', '\\timing on'];
  for (let i = 0; i < reps; i++) args.push('-c', sql);
  const r = spawnSync(PSQL, args, { maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  const times = [...r.stdout.toString().matchAll(/^Time: ([0-9.]+) ms/gm)].map((m) => Number(m[1]) / 1000);
  if (times.length !== reps) throw new Error(`timing: expected ${reps} figures, got: ${r.stdout}`);
  const bytes = sizeOf ? Number(psql(`SELECT octet_length((${sizeOf})::text)`)) : null;
  // The first call runs in a new backend, whose memory is not yet faulted in.
  const first = times[0];
  times.sort((a, b) => a - b);
  return { median_s: +times[Math.floor(reps / 2)].toFixed(3), min_s: +times[0].toFixed(3), max_s: +times[reps - 1].toFixed(3), first_s: +first.toFixed(3), output_bytes: bytes };
}

// Times GET path from the worker `reps` times, from the request to the last
// byte of the body: the route the web page uses for a session's exports.
async function timeGet(urlPath, token, reps = 5) {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    bytes = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: cluster.port, path: urlPath, agent: false, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        let n = 0;
        res.on('data', (d) => { n += d.length; });
        res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`GET ${urlPath}: ${res.statusCode}`))));
      }).on('error', reject);
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return { median_s: +times[Math.floor(reps / 2)].toFixed(3), min_s: +times[0].toFixed(3), max_s: +times[reps - 1].toFixed(3), output_bytes: bytes };
}

// The process that owns the port: "codesight network" since the ingest and
// HTTP workers were split off, "codesight worker" in builds before that
// (ab.sh compares against them).
async function listenerPid() {
  const r = await cluster.query("SELECT pid FROM pg_stat_activity WHERE backend_type IN ('codesight network', 'codesight worker')");
  return r.rows.length ? r.rows[0].pid : null;
}

// After a restart the bench made on purpose: waits until every codesight
// process is a new one and as many run as the network process started (a
// build before the split has one), then takes them as the processes that
// must last to the end of the run (destroy() checks).
async function notePoolPids(old) {
  for (let i = 0; i < 600; i++) {
    const now = await cluster.codesightPids();
    const st = JSON.parse(psql('SELECT codesight.worker_status()') || '{}');
    const want = 1 + (st.ingestWorkers || 0) + (st.httpWorkers || 0);
    if (now.length >= want && !now.some((p) => old.includes(p))) break;
    await sleep(100);
  }
  await cluster.notePids();
}

// Samples /proc/PID/status of the backend whose application_name is app,
// every everyMs, until the child process p exits; calls onStatus with it.
async function sampleBackend(app, p, everyMs, onStatus) {
  let finished = false;
  const done = new Promise((r) => p.on('close', () => { finished = true; r(); }));
  let pid = null;
  while (!finished) {
    if (!pid) {
      const r = await cluster.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app]);
      if (r.rows.length) pid = r.rows[0].pid;
    } else {
      onStatus(status_(pid));
    }
    await sleep(everyMs);
  }
  await done;
}

// Streams COPY (SELECT codesight.export_dataset(...)) TO STDOUT and samples
// the backend's RSS meanwhile.
async function datasetStream(status) {
  const app = `bench_export_${process.pid}_${Date.now()}`;
  const args = ['-X', '-q', '-h', cluster.sockdir, '-p', String(cluster.pgPort), '-U', 'postgres', '-d', 'postgres',
    '-c', `COPY (SELECT codesight.export_dataset(NULL, ${status ? `'${status}'` : 'NULL'})) TO STDOUT`];
  const t0 = process.hrtime.bigint();
  const p = spawn(PSQL, args, { env: { ...process.env, PGAPPNAME: app }, stdio: ['ignore', 'pipe', 'inherit'] });
  let bytes = 0;
  let lines = 0;
  p.stdout.on('data', (d) => { bytes += d.length; for (const b of d) if (b === 10) lines++; });
  const samples = [];
  await sampleBackend(app, p, 20, (st) => {
    if (st.VmRSS) samples.push({ t: Number(process.hrtime.bigint() - t0) / 1e9, rss: st.VmRSS, anon: st.RssAnon, bytes });
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const anon = samples.map((x) => x.anon);
  const q = (f) => samples.length ? samples[Math.min(samples.length - 1, Math.floor(f * samples.length))] : null;
  return {
    seconds: +s.toFixed(3), rows: lines, output_mb: +(bytes / 2 ** 20).toFixed(1), samples: samples.length,
    backend_anon_mb_min: Math.min(...anon), backend_anon_mb_max: Math.max(...anon),
    backend_rss_at: [0.1, 0.5, 0.9].map((f) => q(f)).filter(Boolean).map((x) => ({ t: +x.t.toFixed(2), rss_mb: x.rss, anon_mb: x.anon, out_mb: +(x.bytes / 2 ** 20).toFixed(1) })),
  };
}
const status_ = status;

async function exports_() {
  const have = psql("SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'codesight'::regnamespace AND proname IN ('training_data','export_playwright','export_dataset')");
  results.runs.exports = { functions_present: have };
  if (have.split(',').length < 3) {
    log('exports: missing functions; found', have);
    return;
  }
  const t0 = Date.now();
  makeExportSession(EXPORT_SID, 100000);
  results.runs.exports.generate_s = (Date.now() - t0) / 1000;
  settle();
  const r = results.runs.exports;
  r.training_data = timeQuery(`SELECT codesight.training_data('${EXPORT_SID}')`, { sizeOf: `codesight.training_data('${EXPORT_SID}')` });
  // The document built but not sent: what psql's figure spends in jsonb_out
  // (PostgreSQL's text output) and in the transfer is the difference.
  r.training_data_built = timeQuery(`SELECT codesight.training_data('${EXPORT_SID}') IS NULL`);
  r.export_playwright = timeQuery(`SELECT codesight.export_playwright('${EXPORT_SID}')`, { sizeOf: `codesight.export_playwright('${EXPORT_SID}')` });
  r.export_dataset_session = timeQuery(`SELECT count(*), sum(length(d::text)) FROM codesight.export_dataset(NULL, 'completed') d`);
  const token = JSON.parse(psql("SELECT codesight.issue_admin_token('bench')")).token;
  r.http_training_data = await timeGet(`/api/extension/sessions/${EXPORT_SID}/training-data`, token);
  r.http_playwright = await timeGet(`/api/extension/sessions/${EXPORT_SID}/playwright`, token);
  r.http_dataset = await timeGet('/api/export/dataset.jsonl?status=completed', token);
  r.dataset_stream_1 = await datasetStream('completed');
  // Constant memory: ten times the data through the same stream.
  const copies = FULL ? 10 : 5;
  psql(`INSERT INTO codesight.sessions (session_id, status, started_at, ended_at, last_seq, max_seq, event_count)
        SELECT '${EXPORT_SID}_c' || i, 'completed', started_at + i * interval '1 s', ended_at, last_seq, max_seq, event_count
        FROM codesight.sessions, generate_series(1, ${copies - 1}) i WHERE session_id = '${EXPORT_SID}';
        INSERT INTO codesight.events SELECT '${EXPORT_SID}_c' || i, seq, type, client_ts, received_at, page_url, selector, payload
        FROM codesight.events, generate_series(1, ${copies - 1}) i WHERE session_id = '${EXPORT_SID}';`);
  r.dataset_stream_n = await datasetStream('completed');
  r.dataset_stream_n.sessions = copies;
  log('exports', JSON.stringify(r));
}

// Runs one statement in a new psql backend and samples that backend's
// private memory (RssAnon) every 10 ms: the statement's time (psql's
// \timing: the server's work and the transfer), the backend's peak, and
// whether it failed (with the error).
async function peakQuery(sql, settings = '') {
  const app = `bench_peak_${process.pid}_${Date.now()}`;
  const args = ['-X', '-q', '-At', '-o', '/dev/null', '-h', cluster.sockdir, '-p', String(cluster.pgPort), '-U', 'postgres', '-d', 'postgres'];
  if (settings) args.push('-c', settings);
  // The backend idles a moment first, so that its pid is known before the statement runs.
  args.push('-c', 'SELECT pg_sleep(0.3)', '-c', '\\timing on', '-c', sql);
  const p = spawn(PSQL, args, { env: { ...process.env, PGAPPNAME: app }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { err += d; });
  let base = null;
  let peak = 0;
  await sampleBackend(app, p, 10, (st) => {
    if (st.RssAnon === undefined) return;
    if (base === null) base = st.RssAnon;
    peak = Math.max(peak, st.RssAnon);
  });
  const t = /Time: ([0-9.]+) ms/.exec(out);
  const error = (err.split('\n').find((l) => /ERROR/.test(l)) || '').replace(/^.*ERROR:\s*/, '') || null;
  return { seconds: t ? +(Number(t[1]) / 1000).toFixed(3) : null, backend_anon_mb_start: base, backend_anon_mb_peak: peak, ok: !error, error };
}

// Peak memory and time of each whole-session export, and of the streamed
// dataset, for sessions of 100,000 and 1,000,000 events (the reliability
// issue's bound): by default a session above codesight.max_export_events
// is refused at once; with the limit lifted (SET) the figures show what
// the limit protects against.
async function exportsize() {
  const token = JSON.parse(psql("SELECT codesight.issue_admin_token('bench-size')")).token;
  const out = results.runs.exportsize = {};
  for (const n of [100000, 1000000]) {
    const sid = `bench_size_${n}`;
    const t0 = Date.now();
    makeExportSession(sid, n);
    settle();
    const r = out[n] = { generate_s: (Date.now() - t0) / 1000 };
    for (const [name, sql] of [['training_data', `SELECT codesight.training_data('${sid}')`],
      ['export_playwright', `SELECT codesight.export_playwright('${sid}')`],
      ['session_data', `SELECT codesight.session_data('${sid}')`],
      ['session_data_json', `SELECT codesight.session_data_json('${sid}')`],
      ['dataset', `COPY (SELECT codesight.dataset_session('${sid}')) TO STDOUT`]]) {
      r[name] = await peakQuery(sql);
      if (!r[name].ok) r[`${name}_unlimited`] = await peakQuery(sql, 'SET codesight.max_export_events = 0');
      log('exportsize', n, name, JSON.stringify(r[name]), r[`${name}_unlimited`] ? JSON.stringify(r[`${name}_unlimited`]) : '');
    }
    for (const [name, route] of [['http_data', `/api/extension/sessions/${sid}/data`], ['http_training_data', `/api/extension/sessions/${sid}/training-data`]]) {
      const t1 = process.hrtime.bigint();
      const status = await new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: cluster.port, path: route, agent: false, headers: { Authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        }).on('error', reject);
      });
      r[name] = { status, seconds: +(Number(process.hrtime.bigint() - t1) / 1e9).toFixed(3) };
    }
    psql(`DELETE FROM codesight.sessions WHERE session_id = '${sid}'`);
  }
}

async function growth() {
  psql('TRUNCATE codesight.events');
  psql('CHECKPOINT');
  results.runs.growth = [];
  let rows = 0;
  for (const target of GROWTH_STEPS) {
    while (rows < target) {
      const n = Math.min(1e6, target - rows);
      const t0 = Date.now();
      psql(`INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
            SELECT 'prefill_' || (g / 1000), g % 1000 + 1, 'click', now(), 'https://shop.example.com/product/' || (g % 997),
                   '[data-testid="add-to-cart"]',
                   jsonb_build_object('type', 'click', 'timestamp', 1700000000000 + g, 'data',
                     jsonb_build_object('selector', '[data-testid="add-to-cart"]', 'element', jsonb_build_object('tag', 'button', 'text', 'Add to Cart', 'boundingBox', jsonb_build_object('x', 610, 'y', 412, 'width', 180, 'height', 44)),
                       'coordinates', jsonb_build_object('x', 700, 'y', 430), 'url', 'https://shop.example.com/product/' || (g % 997), 'framePath', '[]'::jsonb, 'tabId', 7))
            FROM generate_series(${rows}, ${rows + n - 1}) g`);
      rows += n;
      log(`growth: prefilled to ${rows} rows in ${(Date.now() - t0) / 1000} s`);
    }
    psql('CHECKPOINT');
    psql('VACUUM ANALYZE codesight.events');
    const count = Number(psql('SELECT count(*) FROM codesight.events'));
    const size = psql("SELECT pg_total_relation_size('codesight.events')");
    const r = await loadgen(['--mode', 'v2', '--conns', 50, '--duration', DUR, '--window', V2_WINDOW, '--batch', 50, '--watch-pid', workerPid], { tag: `growth_${rows}` });
    results.runs.growth.push({ rows_before: count, table_mb: Math.round(Number(size) / 2 ** 20), events_per_s: r.events_per_s, lat_p99_ms: r.lat_p99_ms, worker_rss_mb: r.rss_final_mb, worker_anon_mb: r.anon_final_mb, server_cpu_share: r.server_cpu_share, loadgen_cpu_share: r.loadgen_cpu_share, mean_batch_events: r.mean_batch_events, mean_commit_ms: r.mean_commit_ms, events_per_server_cpu_s: r.events_per_server_cpu_s });
  }
}

// ------------------------------------------------------------------ isolation
// Runs `load` (an async function that loops until stop() is called) beside
// the paced stream of the isolation issue, and returns the stream's figures
// and how much of the load got done.
async function beside(tag, load) {
  let stopped = false;
  const done = { n: 0, statuses: {} };
  const count = (status) => { done.n++; done.statuses[status] = (done.statuses[status] || 0) + 1; };
  const loops = load ? load(() => stopped, count) : [];
  await sleep(load ? 1000 : 0);   // the load is under way before the stream starts
  const r = await loadgen(['--mode', 'v2', '--conns', ISO_CONNS, '--batch', 10, '--window', 64, '--rate', ISO_RATE, '--duration', ISO_DUR], { tag });
  stopped = true;
  await Promise.all(loops);
  r.background = done;
  return r;
}

// One GET to the server, read to its end; resolves the status.
function getAll(urlPath, token) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port: cluster.port, path: urlPath, agent: false, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    }).on('error', () => resolve(0));
  });
}

function postJson(urlPath, token, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port: cluster.port, path: urlPath, method: 'POST', agent: false,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.end(data);
  });
}

// Loops `n` clients each repeating one request until stopped.
const repeat = (n, once) => (stopped, count) => Array.from({ length: n }, async () => {
  while (!stopped()) count(await once());
});

// The isolation issue's table: p99 send->ack at 2,000 events/s from 20
// connections in frames of 10, (a) alone, (b) while an admin downloads a
// 100,000-event session's training data back to back, (c) while a worker's
// upload completion waits on an S3 endpoint that never answers, (d) while
// 20 clients stream the dataset export.  Works against a build of before
// the isolation too (CODESIGHT_BUILD), for the side-by-side comparison.
async function isolation() {
  const R = (results.runs.isolation = {});
  if (!psql(`SELECT 1 FROM codesight.sessions WHERE session_id = '${EXPORT_SID}'`)) makeExportSession(EXPORT_SID, 100000);
  const admin = JSON.parse(psql("SELECT codesight.issue_admin_token('bench-iso')")).token;
  const worker = JSON.parse(psql("SELECT codesight.register_worker('bench-iso')")).token;
  R.alone = await beside('iso_alone', null);
  R.training_data = await beside('iso_training_data', repeat(1, () => getAll(`/api/extension/sessions/${EXPORT_SID}/training-data`, admin)));

  // An S3 endpoint that accepts connections and never answers.
  const net = require('node:net');
  const held = new Set();
  const blackhole = net.createServer((sock) => { held.add(sock); sock.on('close', () => held.delete(sock)); });
  await new Promise((r) => blackhole.listen(0, '127.0.0.1', r));
  psql(`ALTER SYSTEM SET codesight.s3_endpoint = 'http://127.0.0.1:${blackhole.address().port}'`);
  psql("ALTER SYSTEM SET codesight.s3_url_style = 'path'");
  psql("ALTER SYSTEM SET codesight.s3_bucket = 'hung'");
  psql("ALTER SYSTEM SET codesight.s3_access_key_id = 'k'");
  psql("ALTER SYSTEM SET codesight.s3_secret_access_key = 's'");
  psql('SELECT pg_reload_conf()');
  await sleep(1500);
  const sid = `bench_s3_${Date.now()}`;
  psql(`INSERT INTO codesight.sessions (session_id) VALUES ('${sid}')`);
  const upload = JSON.parse(psql(`SELECT codesight.presign_upload('${sid}', 'video', 'video/webm', 1000)`));
  try {
    R.hung_s3 = await beside('iso_hung_s3', repeat(1, () => postJson('/api/upload/complete', worker, { uploadId: upload.uploadId })));
  } finally {
    for (const k of ['s3_endpoint', 's3_url_style', 's3_bucket', 's3_access_key_id', 's3_secret_access_key']) psql(`ALTER SYSTEM RESET codesight.${k}`);
    psql('SELECT pg_reload_conf()');
    for (const sock of held) sock.destroy();
    blackhole.close();
  }
  R.datasets = await beside('iso_datasets', repeat(20, () => getAll('/api/export/dataset.jsonl?status=completed', admin)));
  log('isolation', JSON.stringify(Object.fromEntries(Object.entries(R).map(([k, v]) => [k, [v.lat_p50_ms, v.lat_p99_ms, v.events_sent, v.events_acked, v.background]]))));
}

// Ingest on more than one core: v2 at 50 connections with 1 and with 2
// ingest workers, beside COPY of the same rows in 1 and in 2 concurrent
// streams, in the same run.
async function scaling() {
  const R = (results.runs.scaling = {});
  for (const n of [1, 2]) {
    psql(`ALTER SYSTEM SET codesight.ingest_workers = ${n}`);
    const before = await cluster.codesightPids();
    cluster.restart('fast');
    await cluster.waitListening(60000);
    workerPid = await listenerPid();
    await notePoolPids(before);
    const st = JSON.parse(psql('SELECT codesight.worker_status()'));
    R[`ingest_workers_${n}`] = await loadgen(['--mode', 'v2', '--conns', 50, '--duration', DUR, '--window', V2_WINDOW, '--batch', 50], { tag: `scaling_ingest_${n}` });
    R[`ingest_workers_${n}`].ingest_workers = st.ingestWorkers;
  }
  psql('ALTER SYSTEM RESET codesight.ingest_workers');
  const before = await cluster.codesightPids();
  cluster.restart('fast');
  await cluster.waitListening(60000);
  workerPid = await listenerPid();
  await notePoolPids(before);
  const n = Math.max(200000, Math.round((R.ingest_workers_2 || {}).events_acked || 300000));
  for (const streams of [1, 2]) {
    const files = [];
    for (let i = 0; i < streams; i++) {
      const file = path.join(os.tmpdir(), `codesight-bench-copy-${process.pid}-${streams}-${i}.tsv`);
      writeCopyFile(file, Math.round(n / streams), 50, `copy${streams}x${i}_${Date.now().toString(36)}`);
      fs.chmodSync(file, 0o644);
      files.push(file);
    }
    settle();
    const k0 = clusterCpu();
    const t0 = process.hrtime.bigint();
    await Promise.all(files.map((file) => new Promise((resolve, reject) => {
      const p = spawn(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', cluster.sockdir, '-p', String(cluster.pgPort), '-U', 'postgres', '-d', 'postgres',
        '-c', `\\copy codesight.events (session_id, seq, type, client_ts, page_url, selector, payload) FROM '${file}'`], { stdio: 'inherit' });
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`copy exited ${code}`))));
    })));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = clusterCpu() - k0;
    for (const f of files) fs.unlinkSync(f);
    R[`copy_${streams}`] = { rows: n, streams, seconds: +secs.toFixed(3), events_per_s: Math.round(n / secs), cluster_cpu_s: +cpu.toFixed(2), events_per_server_cpu_s: Math.round(n / cpu) };
    log(`copy ${streams} streams`, R[`copy_${streams}`]);
  }
}

// ------------------------------------------------------------------ report
const f0 = (x) => (x === undefined || x === null || Number.isNaN(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x === undefined || x === null || Number.isNaN(x) ? '—' : (+x).toFixed(1));
const pctf = (x) => (x === undefined || x === null ? '—' : `${Math.round(x * 100)} %`);

function table() {
  const R = results.runs;
  const rows = [];
  const add = (what, value, lg, srv, target, met, eff) => rows.push([what, value, eff === undefined ? '' : f0(eff), lg, srv, target, met === undefined ? '' : met ? 'met' : 'MISSED']);
  for (const mode of ['v1', 'v2']) {
    for (const n of CONNS) {
      const r = R[`ingest_${mode}_${n}`];
      if (!r) continue;
      add(`${mode} durable ingest, ${n} conn${n > 1 ? 's' : ''} (events/s)`, f0(r.events_per_s) + (r.errors ? ` (${r.errors} errors)` : ''), pctf(r.loadgen_cpu_share), pctf(r.server_cpu_share) + ` · batch ${f1(r.mean_batch_events)} ev / ${f1(r.mean_commit_ms)} ms`,
        mode === 'v2' && n === 50 ? '≥ 100,000' : '', mode === 'v2' && n === 50 ? r.events_per_s >= 100000 : undefined, r.events_per_server_cpu_s);
    }
  }
  if (R.copy) add(`COPY of the same rows (${f0(R.copy.rows)} rows, events/s)`, f0(R.copy.events_per_s), '—', '—', '', undefined, R.copy.events_per_server_cpu_s);
  const bestV2 = Math.max(...CONNS.map((n) => (R[`ingest_v2_${n}`] || {}).events_per_s || 0));
  if (R.copy && bestV2) add('best v2 / COPY', pctf(bestV2 / R.copy.events_per_s), '', '', '≥ 50 %', bestV2 / R.copy.events_per_s >= 0.5);
  for (const n of CONNS) {
    const r = R[`node_v1_${n}`];
    if (!r) continue;
    const w = R[`ingest_v1_${n}`];
    add(`Node ws+pg reference, v1, ${n} conn${n > 1 ? 's' : ''} (events/s)`, f0(r.events_per_s) + (r.errors ? ` (${r.errors} errors)` : ''), pctf(r.loadgen_cpu_share), pctf(r.server_cpu_share) + ' (node only)', '', undefined, r.events_per_server_cpu_s);
    if (w) add(`worker v1 / Node reference, ${n} conn${n > 1 ? 's' : ''}`, `${f1(w.events_per_s / r.events_per_s)} ×`, '', '', '≥ 10 ×', w.events_per_s / r.events_per_s >= 10);
  }
  const ww = R.ingest_v1_1_wide;
  const nw = R.node_v1_1_wide;
  if (ww) add(`v1 durable ingest, 1 conn, window ${V1_WIDE_WINDOW} (events/s)`, f0(ww.events_per_s), pctf(ww.loadgen_cpu_share), pctf(ww.server_cpu_share) + ` · batch ${f1(ww.mean_batch_events)} ev / ${f1(ww.mean_commit_ms)} ms`, '', undefined, ww.events_per_server_cpu_s);
  if (nw) add(`Node ws+pg reference, v1, 1 conn, window ${V1_WIDE_WINDOW} (events/s)`, f0(nw.events_per_s), pctf(nw.loadgen_cpu_share), pctf(nw.server_cpu_share) + ' (node only)', '', undefined, nw.events_per_server_cpu_s);
  if (ww && nw) add(`worker v1 / Node reference, 1 conn, window ${V1_WIDE_WINDOW}`, `${f1(ww.events_per_s / nw.events_per_s)} ×`, '', '', '≥ 10 ×', ww.events_per_s / nw.events_per_s >= 10);
  const fp = R.fsync_probe;
  if (fp) add('disk: 8 KB write + fdatasync every 2 ms (p50 / p99 / p99.9 ms), the floor under an ack', `${fp.p50_ms} / ${fp.p99_ms} / ${fp.p999_ms} (max ${fp.max_ms}, ${f0(fp.count)} calls)`, '', '', '', undefined);
  for (const rate of [1000, 5000, 20000]) {
    const r = R[`latency_${rate}`];
    if (!r) continue;
    add(`ack latency at ${f0(rate)} ev/s offered (p50 / p95 / p99 ms)`, `${f1(r.lat_p50_ms)} / ${f1(r.lat_p95_ms)} / ${f1(r.lat_p99_ms)} (got ${f0(r.events_per_s)} ev/s)`, pctf(r.loadgen_cpu_share), pctf(r.server_cpu_share) + ` · batch ${f1(r.mean_batch_events)} ev / ${f1(r.mean_commit_ms)} ms`,
      rate === 5000 ? 'p99 < 10 ms' : '', rate === 5000 ? r.lat_p99_ms < 10 : undefined, r.events_per_server_cpu_s);
  }
  if (R.conns) {
    const r = R.conns;
    // VmRSS counts the shared_buffers pages the worker has touched (ingest
    // runs before this one touch most of them); RssAnon is its own memory.
    add(`${f0(IDLE_CONNS)} idle connections: worker private RSS (RssAnon; VmRSS incl. shared buffers), served`, `${f1(r.anon_idle_mb)} MB (VmRSS ${f1(r.rss_idle_mb)}, before connecting ${f1(r.anon_base_mb)} / ${f1(r.rss_base_mb)}), ${f0(r.served_first)} acked`, pctf(r.loadgen_cpu_share), '', '< 300 MB', r.anon_idle_mb < 300 && r.served_first === IDLE_CONNS);
    add('per idle connection (KB: RSS / anon)', `${f1(r.per_conn_kb)} / ${f1(r.per_conn_anon_kb)}`, '', '', '', undefined);
    add(`${f0(ACTIVE_CONNS)} active at 5,000 ev/s among them: worker RssAnon, p99, all still served`, `${f1(r.anon_active_mb)} MB, p99 ${f1(r.lat_p99_ms)} ms, ${f0(r.served_final)} / ${f0(IDLE_CONNS)} acked at the end`, '', '', 'all served', r.served_final === IDLE_CONNS);
  }
  const E = R.exports;
  if (E && E.training_data) {
    const sqlRow = (label, t) => add(`${label} (s, median of 5 in one session; the first call in it)`, `${t.median_s.toFixed(3)} (${t.first_s !== undefined ? t.first_s.toFixed(3) : '—'})`, '', '', '< 1 s', t.median_s < 1 && !(t.first_s >= 1));
    sqlRow('training_data, 100,000-event session, in psql', E.training_data);
    if (E.training_data_built) sqlRow('training_data built but not sent (IS NULL), in psql', E.training_data_built);
    sqlRow('export_playwright, that session, in psql', E.export_playwright);
    sqlRow('export_dataset, that session, in psql', E.export_dataset_session);
    const httpRow = (label, t) => t && add(`GET ${label} from the worker, that session (s, median of 5)`, t.median_s.toFixed(3), '', '', '< 1 s', t.median_s < 1);
    httpRow('…/training-data', E.http_training_data);
    httpRow('…/playwright', E.http_playwright);
    httpRow('/api/export/dataset.jsonl', E.http_dataset);
    const a = E.dataset_stream_1;
    const b = E.dataset_stream_n;
    add(`COPY (SELECT export_dataset()) TO STDOUT: backend anon MB, 1 vs ${b.sessions} sessions`, `${f1(a.backend_anon_mb_max)} (${f1(a.output_mb)} MB out) vs ${f1(b.backend_anon_mb_max)} (${f1(b.output_mb)} MB out)`, '', '', 'flat', b.backend_anon_mb_max <= a.backend_anon_mb_max * 1.5 + 8);
  } else if (E) add('exports', `missing functions (found: ${E.functions_present || 'none'})`, '', '', '', false);
  for (const [n, r] of Object.entries(R.exportsize || {})) {
    const cell = (x) => (x.ok ? `${x.seconds.toFixed(2)} s, peak ${f0(x.backend_anon_mb_peak)} MB` : `refused in ${x.seconds.toFixed(3)} s (${x.error.slice(0, 60)}…)`);
    for (const name of ['training_data', 'export_playwright', 'session_data', 'session_data_json', 'dataset']) {
      const x = r[name];
      if (!x) continue;
      const u = r[`${name}_unlimited`];
      add(`${name}, ${f0(Number(n))}-event session: time, backend peak RssAnon`, cell(x) + (u ? `; with the limit lifted: ${cell(u)}` : ''), '', '', '', undefined);
    }
    for (const name of ['http_data', 'http_training_data']) {
      if (r[name]) add(`GET …/${name === 'http_data' ? 'data' : 'training-data'}, ${f0(Number(n))}-event session`, `${r[name].status} in ${r[name].seconds.toFixed(3)} s`, '', '', 'answer or 413 within 5 s', r[name].seconds < 5 && (r[name].status === 200 || r[name].status === 413));
    }
  }
  for (const g of R.growth || []) {
    add(`v2 ingest, 50 conns, table at ${f0(g.rows_before)} rows (${f0(g.table_mb)} MB)`, `${f0(g.events_per_s)} ev/s, worker RssAnon ${f1(g.worker_anon_mb)} MB (VmRSS ${f1(g.worker_rss_mb)})`, pctf(g.loadgen_cpu_share), pctf(g.server_cpu_share) + ` · batch ${f1(g.mean_batch_events)} ev / ${f1(g.mean_commit_ms)} ms`, '', undefined, g.events_per_server_cpu_s);
  }
  const I = R.isolation;
  if (I && I.alone) {
    const a = I.alone;
    const bound = 2 * a.lat_p99_ms + 10;
    const isoRow = (label, r, target) => r && add(`p99 send→ack at ${f0(ISO_RATE)} ev/s, ${ISO_CONNS} conns, frames of 10: ${label} (p50 / p99 / max ms; acked of offered)`,
      `${f1(r.lat_p50_ms)} / ${f1(r.lat_p99_ms)} / ${f1(r.lat_max_ms)}; ${f0(r.events_acked)} of ${f0(r.events_sent)}${r.background ? `; beside it: ${f0(r.background.n)} requests ${JSON.stringify(r.background.statuses)}` : ''}`,
      pctf(r.loadgen_cpu_share), pctf(r.server_cpu_share), target ? `≤ ${f1(bound)} ms, all acked` : '',
      target ? r.lat_p99_ms <= bound && r.events_acked === r.events_sent : undefined, r.events_per_server_cpu_s);
    isoRow('(a) alone', a, false);
    isoRow('(b) while training data of 100,000 events is downloaded back to back', I.training_data, true);
    isoRow('(c) while an upload completion waits on an S3 that never answers', I.hung_s3, true);
    isoRow('(d) while 20 clients stream the dataset export', I.datasets, true);
  }
  const S = R.scaling;
  if (S && S.ingest_workers_1) {
    for (const n of [1, 2]) {
      const r = S[`ingest_workers_${n}`];
      if (r) add(`v2 ingest, 50 conns, ${n} ingest worker${n > 1 ? 's' : ''} (events/s)`, f0(r.events_per_s), pctf(r.loadgen_cpu_share), pctf(r.server_cpu_share) + ` · batch ${f1(r.mean_batch_events)} ev / ${f1(r.mean_commit_ms)} ms`, '', undefined, r.events_per_server_cpu_s);
    }
    for (const n of [1, 2]) {
      const c = S[`copy_${n}`];
      if (c) add(`COPY of the same rows, ${n} concurrent stream${n > 1 ? 's' : ''} (${f0(c.rows)} rows, events/s)`, f0(c.events_per_s), '—', '—', '', undefined, c.events_per_server_cpu_s);
    }
    if (S.ingest_workers_2 && S.copy_2) add('2 ingest workers / COPY in 2 streams', pctf(S.ingest_workers_2.events_per_s / S.copy_2.events_per_s), '', '', '≥ 80 %', S.ingest_workers_2.events_per_s / S.copy_2.events_per_s >= 0.8);
  }
  const head = ['figure', 'value', 'events per server CPU-s', 'loadgen CPU', 'codesight CPU (network + ingest)', 'target', ''];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  return lines.join('\n');
}

function markdown() {
  const m = results.machine;
  return `${table()}\n\nMachine: ${m.nproc} CPUs (${m.cpu_model}), ${m.mem_gb} GiB; load average at start ${m.loadavg}, at end ${m.loadavg_end}; mode ${results.mode}; library ${results.library}; ${results.started_at}.\n`;
}

async function main() {
  if (argv.includes('--report-ab')) {
    // The isolation table of several runs (A/B alternating), one column each.
    const files = argv.slice(argv.indexOf('--report-ab') + 1);
    const runs = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
    const cell = (r) => (r ? `${f1(r.lat_p50_ms)} / ${f1(r.lat_p99_ms)} (${f0(r.events_acked)} of ${f0(r.events_sent)} acked)` : '—');
    const lines = [`| p50 / p99 ms at ${f0(ISO_RATE)} ev/s, ${ISO_CONNS} conns | ${runs.map((r, i) => `${path.basename(files[i], '.json')} (${r.library})`).join(' | ')} |`,
      `|---|${runs.map(() => '---').join('|')}|`];
    for (const [k, label] of [['alone', '(a) alone'], ['training_data', '(b) training data back to back'], ['hung_s3', '(c) upload completion on a hung S3'], ['datasets', '(d) 20 dataset streams']]) {
      lines.push(`| ${label} | ${runs.map((r) => cell((r.runs.isolation || {})[k])).join(' | ')} |`);
    }
    console.log(lines.join('\n'));
    return;
  }
  if (argv.includes('--report')) {
    // Reprints the table of the last run from bench/out/results.json.
    Object.assign(results, JSON.parse(fs.readFileSync(path.join(OUT, 'results.json'), 'utf8')));
    console.log(markdown());
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  results.machine = machine();
  log('machine', JSON.stringify(results.machine));
  cluster = await startCluster({
    conf: {
      synchronous_commit: 'on',
      shared_buffers: "'1GB'",
      max_wal_size: "'8GB'",
      checkpoint_timeout: "'30min'",
      wal_buffers: "'64MB'",
      'codesight.connection_idle_timeout': 3600,
    },
  });
  try {
    workerPid = await listenerPid();
    // runuser (PAM) gives the postmaster a soft limit of 1024 descriptors
    // whatever this shell's limit is: raise the postmaster's and the
    // worker's to this process's hard limit.
    const hard = spawnSync('sh', ['-c', 'ulimit -Hn']).stdout.toString().trim();
    const pm = fs.readFileSync(path.join(cluster.datadir, 'postmaster.pid'), 'utf8').split('\n')[0];
    spawnSync('runuser', ['-u', 'postgres', '--', 'prlimit', '--pid', pm, `--nofile=${hard}:${hard}`]);
    // libwebsockets sizes its fd table from the limit when the worker starts:
    // restart the worker so that it forks from the raised postmaster.
    const old = workerPid;
    const before = await cluster.codesightPids();
    await cluster.query('SELECT pg_terminate_backend($1)', [old]);
    for (let i = 0; i < 600; i++) {
      await sleep(100);
      workerPid = await listenerPid().catch(() => null);
      if (workerPid && workerPid !== old) break;
    }
    await cluster.waitListening(60000);
    workerPid = await listenerPid();
    await notePoolPids(before);
    results.worker_fd_limit = (fs.readFileSync(`/proc/${workerPid}/limits`, 'utf8').match(/Max open files\s+(\d+)/) || [])[1];
    log('worker open-file limit', results.worker_fd_limit);
    results.library = process.env.CODESIGHT_LIB || '$libdir/codesight (make install)';
    results.cluster = { worker_pid: workerPid, settings: (await cluster.query("SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit','fsync','shared_buffers','max_wal_size','wal_buffers','codesight.batch_max_events','codesight.max_queue_events','codesight.max_connections','codesight.ingest_workers','codesight.http_workers')")).rows };
    const sections = [['ingest', ingest], ['copy', copy], ['node', nodeReference], ['latency', latency], ['conns', conns], ['exports', exports_],
      ['exportsize', exportsize], ['isolation', isolation], ['scaling', scaling], ['growth', growth]];
    for (const [name, fn] of sections) {
      if (!want(name)) continue;
      try {
        await fn();
      } catch (e) {
        log(`${name} failed:`, e.stack || e.message);
        results.runs[`${name}_error`] = String(e.message);
      }
      fs.writeFileSync(path.join(OUT, `${OUT_NAME}.json`), JSON.stringify(results, null, 2));
    }
  } finally {
    results.machine.loadavg_end = fs.readFileSync('/proc/loadavg', 'utf8').trim();
    results.finished_at = new Date().toISOString();
    await cluster.destroy().catch((e) => log('cluster:', e.message));
  }
  const md = markdown();
  fs.writeFileSync(path.join(OUT, `${OUT_NAME}.json`), JSON.stringify(results, null, 2));
  fs.writeFileSync(path.join(OUT, `${OUT_NAME}.md`), md);
  console.log(md);
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
