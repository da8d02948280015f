'use strict';
// Nothing slow waits in front of an ack (docs/architecture.md): the network
// process hands exports, S3 calls and every other HTTP request to the HTTP
// workers and commits through the ingest workers, so a hung S3 endpoint or
// an admin pulling exports does not stall the event stream.  Also: the
// processes serve interrupts at once, their memory stays flat over
// thousands of requests (error paths included), query strings are decoded
// exactly once, and sessions spread over the ingest workers keep their
// order and dedupe.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startCluster, waitFor } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');
const { api } = require('../lib/http');
const { procStats } = require('../lib/durable-client');

let cluster;
let blackhole;
const held = new Set();
let admin;
let worker;

before(async () => {
  // Accepts connections and never answers: a hung S3 endpoint.
  blackhole = net.createServer((sock) => { held.add(sock); sock.on('close', () => held.delete(sock)); });
  await new Promise((r) => blackhole.listen(0, '127.0.0.1', r));
  cluster = await startCluster({
    conf: {
      'codesight.ingest_workers': 2,
      'codesight.http_workers': 3,
      'codesight.http_rate_limit': 0,
      'codesight.s3_endpoint': `'http://127.0.0.1:${blackhole.address().port}'`,
      'codesight.s3_url_style': "'path'",
      'codesight.s3_bucket': "'hung'",
      'codesight.s3_access_key_id': "'k'",
      'codesight.s3_secret_access_key': "'s'",
      'codesight.s3_timeout': "'3s'",
      'codesight.http_statement_timeout': "'20s'",
    },
  });
  admin = (await cluster.query("SELECT codesight.issue_admin_token('isolation') AS t")).rows[0].t.token;
  worker = (await api(cluster.httpUrl, 'POST', '/api/workers', { body: { displayName: 'Isolated' } })).json;
});

after(async () => {
  for (const s of held) s.destroy();
  if (blackhole) blackhole.close();
  if (cluster) await cluster.destroy();
});

// Streams `rate` events/s in frames of 10 from `conns` connections for
// `ms`, each to its own session; resolves the send->ack latencies (ms) and
// how many events were offered and acknowledged.
async function pacedStream({ conns = 10, rate = 1000, ms = 4000, prefix }) {
  const clients = await Promise.all(Array.from({ length: conns }, async (_, i) => {
    const ws = await connect(cluster.wsUrl);
    const sessionId = `${prefix}_${i}`;
    ws.send({ type: 'session_start', sessionId });
    await ws.next('session_started');
    return { ws, sessionId, seq: 0, sent: new Map(), acked: 0 };
  }));
  const latencies = [];
  for (const c of clients) {
    c.ws.ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type !== 'ack') return;
      for (const [seq, t] of c.sent) {
        if (seq > m.seq) break;
        latencies.push(Date.now() - t);
        c.sent.delete(seq);
      }
      c.acked = Math.max(c.acked, m.seq);
    });
  }
  const framesPerSecond = rate / 10;
  const intervalMs = (1000 / framesPerSecond) * conns;
  const t0 = Date.now();
  let offered = 0;
  await new Promise((resolve) => {
    let k = 0;
    const timer = setInterval(() => {
      if (Date.now() - t0 >= ms) { clearInterval(timer); resolve(); return; }
      const c = clients[k++ % conns];
      const events = Array.from({ length: 10 }, () => ({ seq: ++c.seq, type: 'scroll', timestamp: Date.now(), data: { y: c.seq } }));
      c.sent.set(c.seq, Date.now());
      c.ws.send({ type: 'events', sessionId: c.sessionId, events });
      offered += 10;
    }, intervalMs / conns);
  });
  await waitFor(() => clients.every((c) => c.acked === c.seq), { timeoutMs: 30000, what: 'every offered event acknowledged' });
  for (const c of clients) c.ws.close();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { offered, acked: clients.reduce((s, c) => s + c.acked, 0), p50: pct(50), p99: pct(99), max: latencies[latencies.length - 1] };
}

test('a hung S3 endpoint stalls only the request that called it: acks go on, the caller gets 504', async () => {
  const sessionId = 'cs_iso_s3';
  assert.equal((await api(cluster.httpUrl, 'POST', '/api/sessions', { token: worker.token, body: { sessionId } })).status, 201);
  const up = await api(cluster.httpUrl, 'POST', '/api/upload/url', {
    token: worker.token, body: { sessionId, kind: 'video', contentType: 'video/webm', sizeBytes: 1000 },
  });
  assert.equal(up.status, 200, up.text);
  // Two workers retry the completion back to back while the stream runs.
  let stop = false;
  const completions = [];
  const retrier = async () => {
    while (!stop) {
      const t0 = Date.now();
      const r = await api(cluster.httpUrl, 'POST', '/api/upload/complete', { token: worker.token, body: { uploadId: up.json.uploadId } });
      completions.push({ status: r.status, code: r.json && r.json.error && r.json.error.code, ms: Date.now() - t0, message: r.json && r.json.error && r.json.error.message });
    }
  };
  const retriers = [retrier(), retrier()];
  const res = await pacedStream({ prefix: 'cs_iso_s3s', ms: 7000 });
  stop = true;
  await Promise.all(retriers);
  console.log(`# hung S3: stream p50 ${res.p50} ms, p99 ${res.p99} ms, max ${res.max} ms; completions ${JSON.stringify(completions.map((c) => [c.status, c.ms]))}`);
  assert.equal(res.acked, res.offered);
  // Before the network process handed requests to workers, p99 was 34 s here.
  assert.ok(res.p99 < 1000, `p99 ${res.p99} ms while S3 hangs`);
  assert.ok(completions.length >= 2);
  for (const c of completions) {
    assert.equal(c.status, 504, JSON.stringify(c));
    assert.equal(c.code, 's3_timeout');
    assert.match(c.message, /did not answer .* within 3000 ms/);
    assert.ok(c.ms >= 2900 && c.ms < 10000, `answered after ${c.ms} ms`);
  }
  // The other HTTP workers answered meanwhile.
  const t0 = Date.now();
  assert.equal((await api(cluster.httpUrl, 'GET', '/api/me', { token: worker.token })).status, 200);
  assert.ok(Date.now() - t0 < 1000);
});

test('admins pulling exports back to back do not slow the stream', async () => {
  // A session of 20,000 events to export.
  const sessionId = 'cs_iso_export';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  for (let seq = 1; seq <= 20000; seq += 500) {
    ws.send({ type: 'events', sessionId, events: Array.from({ length: 500 }, (_, i) => ({ seq: seq + i, type: i % 3 ? 'scroll' : 'click', timestamp: Date.now(), data: { selector: `#b${i}`, url: `https://shop.example/p/${seq}`, y: i } })) });
  }
  await ws.next((m) => m.type === 'ack' && m.seq === 20000, { timeoutMs: 60000 });
  ws.close();

  let stop = false;
  let exports = 0;
  const puller = async () => {
    while (!stop) {
      const r = await api(cluster.httpUrl, 'GET', `/api/extension/sessions/${sessionId}/training-data`, { token: admin });
      assert.equal(r.status, 200);
      exports++;
    }
  };
  const pullers = [puller(), puller()];
  const res = await pacedStream({ prefix: 'cs_iso_exp', ms: 6000 });
  stop = true;
  await Promise.all(pullers);
  console.log(`# exports back to back: ${exports} exports; stream p50 ${res.p50} ms, p99 ${res.p99} ms, max ${res.max} ms`);
  assert.ok(exports >= 2, `${exports} exports ran`);
  assert.equal(res.acked, res.offered);
  assert.ok(res.p99 < 1000, `p99 ${res.p99} ms while exports run`);
});

test('every process serves interrupts at once: pg_log_backend_memory_contexts is answered while idle', async () => {
  const procs = (await cluster.query("SELECT pid, backend_type FROM pg_stat_activity WHERE backend_type LIKE 'codesight %'")).rows;
  assert.deepEqual([...new Set(procs.map((p) => p.backend_type))].sort(), ['codesight http', 'codesight ingest', 'codesight network']);
  for (const p of procs) {
    const offset = cluster.log().length;
    const t0 = Date.now();
    assert.equal((await cluster.query('SELECT pg_log_backend_memory_contexts($1) AS ok', [p.pid])).rows[0].ok, true);
    await waitFor(() => cluster.log().slice(offset).includes(`[${p.pid}] ${p.backend_type} LOG:  logging memory contexts of PID ${p.pid}`),
      { timeoutMs: 3000, what: `${p.backend_type} ${p.pid} logging its memory contexts` });
    assert.ok(Date.now() - t0 < 3000);
  }
});

test('memory stays flat over thousands of requests, error paths included', async () => {
  const procs = (await cluster.query("SELECT pid, backend_type FROM pg_stat_activity WHERE backend_type IN ('codesight network', 'codesight http')")).rows;
  const requests = [
    ['GET', '/api/health'], ['GET', '/api/nothing'], ['POST', '/api/sessions', { token: 'x', body: {} }],
    ['GET', '/api/sessions?limit=notanumber'], ['GET', '/api/export/dataset.jsonl?since=garbage', { token: admin }],
    ['POST', '/api/workers', { body: '{not json' }], ['GET', '/api/extension/sessions/cs_none/data', { token: admin }],
    ['DELETE', '/api/sessions/cs_none', { token: worker.token }], ['GET', '/health'],
    ['GET', '/api/me', { token: worker.token }], ['GET', '/api/export/dataset.jsonl?status=none', { token: admin }],
  ];
  const round = async (n) => {
    for (let i = 0; i < n; i++) {
      const [method, path, opts] = requests[i % requests.length];
      const r = await api(cluster.httpUrl, method, path, opts || {});
      assert.ok(r.status < 500, `${method} ${path} -> ${r.status} ${r.text.slice(0, 100)}`);
    }
  };
  await round(1100);
  const before = procs.map((p) => procStats(p.pid).anonKb);
  await round(3300);
  const afterKb = procs.map((p) => procStats(p.pid).anonKb);
  console.log(`# RssAnon kB after warm-up vs after 3,300 more requests: ${procs.map((p, i) => `${p.backend_type} ${before[i]} -> ${afterKb[i]}`).join('; ')}`);
  procs.forEach((p, i) => assert.ok(afterKb[i] - before[i] < 1024, `${p.backend_type} ${p.pid} grew ${afterKb[i] - before[i]} kB`));
});

test('query strings are decoded exactly once: %2B is a plus, %26 stays in its value, long values are kept', async () => {
  const t = async (q) => api(cluster.httpUrl, 'GET', `/api/export/dataset.jsonl?${q}`, { token: admin });
  // A session started at 10:00Z: since 11:30+02:00 (09:30Z) includes it, since 11:30 UTC does not.
  await cluster.query("INSERT INTO codesight.sessions (session_id, status, started_at) VALUES ('cs_iso_since', 'completed', '2031-05-05T10:00:00Z')");
  const lines = async (q) => (await t(q)).text.split('\n').filter((l) => l.includes('cs_iso_since')).length;
  await cluster.query("INSERT INTO codesight.events (session_id, seq, type, payload) VALUES ('cs_iso_since', 1, 'click', '{\"type\":\"click\",\"data\":{\"selector\":\"#a\"}}')");
  assert.ok(await lines('since=2031-05-05T11:30:00%2B02:00') > 0, '%2B read as +02:00');
  assert.equal(await lines('since=2031-05-05T11:30:00Z'), 0);
  // A literal + is a space: "2031-05-05 11:30:00 02:00" is not a time.
  assert.equal((await t('since=2031-05-05T11:30:00+02:00')).status, 400);
  // %26 does not start a parameter: the status is "completed&since=..." (invalid), not "completed".
  const amp = await t('status=completed%26since%3D2099-01-01');
  assert.equal(amp.status, 400);
  assert.match(amp.json.error.message, /invalid dataset status "completed&since=2099-01-01"/);
  // A parameter over 1,023 bytes is neither dropped nor drops those after it.
  const long = await t(`x=${'a'.repeat(3000)}&status=nonsense`);
  assert.equal(long.status, 400, 'the parameter after the long one is read');
});

test('sessions spread over the ingest workers keep their order and dedupe', async () => {
  const status = (await cluster.query('SELECT codesight.worker_status() AS s')).rows[0].s;
  assert.equal(status.ingestWorkers, 2);
  const before = status.ingest.map((w) => w.eventsCommitted);
  // 16 sessions, each fed by two connections at once with overlapping seqs.
  const N = 16;
  const ids = Array.from({ length: N }, (_, i) => `cs_iso_par_${i}`);
  const a = await connect(cluster.wsUrl);
  const b = await connect(cluster.wsUrl);
  for (const id of ids) {
    a.send({ type: 'session_start', sessionId: id });
    b.send({ type: 'session_start', sessionId: id });
  }
  for (let seq = 1; seq <= 300; seq += 20) {
    for (const id of ids) {
      const ev = (s) => ({ seq: s, type: 'scroll', data: { y: s } });
      a.send({ type: 'events', sessionId: id, events: Array.from({ length: 20 }, (_, i) => ev(seq + i)) });
      b.send({ type: 'events', sessionId: id, events: Array.from({ length: 20 }, (_, i) => ev(seq + 19 - i)) });
    }
  }
  await waitFor(async () => {
    const r = await cluster.query('SELECT count(*)::int AS n FROM codesight.sessions WHERE session_id = ANY ($1) AND last_seq = 300', [ids]);
    return r.rows[0].n === N;
  }, { timeoutMs: 30000, what: 'every session acked to 300' });
  const rows = await cluster.query(`SELECT session_id, count(*)::int AS n, count(DISTINCT seq)::int AS d, min(seq)::int AS lo, max(seq)::int AS hi
      FROM codesight.events WHERE session_id = ANY ($1) GROUP BY 1`, [ids]);
  assert.equal(rows.rows.length, N);
  for (const r of rows.rows) assert.deepEqual([r.n, r.d, r.lo, r.hi], [300, 300, 1, 300], r.session_id);
  const counts = await cluster.query('SELECT count(*)::int AS n FROM codesight.sessions WHERE session_id = ANY ($1) AND event_count = 300', [ids]);
  assert.equal(counts.rows[0].n, N);
  const after = (await cluster.query('SELECT codesight.worker_status() AS s')).rows[0].s.ingest.map((w) => w.eventsCommitted);
  // Both workers committed part of it.
  assert.ok(after.every((v, i) => v > before[i]), `per worker ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  a.close();
  b.close();
});

test('HTTP clients that never read their answers cost a bounded buffer each, and give their workers up when others wait', async () => {
  // A session whose whole-session answer (/data) is about 40 MB: more than
  // the kernel's socket buffers and the network process's 1 MB per client.
  const id = 'cs_iso_unread';
  await cluster.query("INSERT INTO codesight.sessions (session_id, status, event_count, last_seq, max_seq) VALUES ($1, 'completed', 40000, 40000, 40000)", [id]);
  await cluster.query(`INSERT INTO codesight.events (session_id, seq, type, payload)
    SELECT $1, g, 'click', jsonb_build_object('type', 'click', 'data', jsonb_build_object('selector', '#b' || g, 'text', repeat('x', 1000)))
      FROM generate_series(1, 40000) g`, [id]);
  const [{ pid }] = (await cluster.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'codesight network'")).rows;
  const before = procStats(pid).anonKb;
  // One non-reading client per HTTP worker (3): every worker is held.
  const stuck = await Promise.all([0, 1, 2].map(() => new Promise((resolve, reject) => {
    const s = net.connect(cluster.port, '127.0.0.1');
    const got = { bytes: 0, head: '', closed: false };
    s.on('connect', () => {
      s.write(`GET /api/extension/sessions/${id}/data HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${admin}\r\n\r\n`);
      s.pause();
      resolve({ s, got });
    });
    s.on('data', (d) => { if (!got.head) got.head = d.toString('latin1', 0, 300); got.bytes += d.length; });
    s.on('close', () => { got.closed = true; });
    s.on('error', () => {});
    s.on('timeout', reject);
  })));
  await waitFor(async () => (await cluster.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'codesight http' AND state = 'active' AND wait_event_type = 'Extension'")).rows[0].n === 3,
  { what: 'the three HTTP workers waiting for their clients to read', timeoutMs: 60000 });
  // Another client's request waits for a worker; a client that took
  // nothing for 2 s is dropped for it (not after 30 s).
  const t0 = Date.now();
  const health = await api(cluster.httpUrl, 'GET', '/api/health');
  const waited = Date.now() - t0;
  assert.equal(health.status, 200);
  const grown = procStats(pid).anonKb - before;
  console.log(`# three clients not reading 40 MB answers: another request answered in ${waited} ms; the network process grew ${grown} kB`);
  assert.ok(waited < 6000, `a request behind three non-reading clients was answered after ${waited} ms`);
  // 1 MB pending per client (HTTP_MAX_PENDING), plus the allocator's slack;
  // taking a worker's pieces a batch at a time grew it by 10-17 MB.
  assert.ok(grown < 8 * 1024, `the network process grew by ${grown} kB for three 40 MB answers nobody read`);
  // The dropped clients find their answers cut short.
  for (const { s } of stuck) s.resume();
  await waitFor(() => stuck.filter(({ got }) => got.closed).length >= 1, { what: 'a non-reading client dropped', timeoutMs: 60000 });
  for (const { s, got } of stuck) {
    if (!got.closed) { s.destroy(); continue; }
    const length = Number(/content-length: (\d+)/i.exec(got.head)[1]);
    assert.ok(got.bytes < length, `a dropped client got ${got.bytes} of ${length} bytes`);
  }
  await cluster.query('DELETE FROM codesight.sessions WHERE session_id = $1', [id]);
});

test('idle, after all that, no codesight process burns CPU (no busy loop left behind)', async () => {
  const fs = require('node:fs');
  const ticks = (pid) => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const procs = (await cluster.query("SELECT pid, backend_type FROM pg_stat_activity WHERE backend_type LIKE 'codesight %'")).rows;
  const before = procs.map((p) => ticks(p.pid));
  await new Promise((r) => setTimeout(r, 3000)); // a measurement window, not a synchronization
  const used = procs.map((p, i) => ticks(p.pid) - before[i]);
  console.log(`# CPU ticks in 3 s idle: ${procs.map((p, i) => `${p.backend_type} ${used[i]}`).join(', ')}`);
  // 100 ticks a second; housekeeping and the 1 s sweep take a few.
  procs.forEach((p, i) => assert.ok(used[i] <= 15, `${p.backend_type} ${p.pid} used ${used[i]} ticks in 3 s idle`));
});

test('keep-alive: a request sent the instant the previous answer is read is answered too', async () => {
  // The answers come from HTTP workers; each next request goes out as soon
  // as the last byte of the previous body arrives, on the same socket.
  const sock = net.connect(cluster.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let buf = Buffer.alloc(0);
  const answers = [];
  const want = 300;
  const paths = ['/api/health', '/api/nothing', '/api/me'];
  const send = (i) => sock.write(`GET ${paths[i % paths.length]} HTTP/1.1\r\nHost: 127.0.0.1\r\n${i % 3 === 2 ? `Authorization: Bearer ${worker.token}\r\n` : ''}\r\n`);
  const done = new Promise((resolve, reject) => {
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end).toString('latin1');
        const len = Number((/content-length: *(\d+)/i.exec(head) || [0, 0])[1]);
        if (buf.length < end + 4 + len) return;
        answers.push(Number(/^HTTP\/1\.1 (\d+)/.exec(head)[1]));
        buf = buf.slice(end + 4 + len);
        if (answers.length === want) { resolve(); return; }
        send(answers.length);
      }
    });
    sock.on('close', () => reject(new Error(`closed after ${answers.length} answers`)));
  });
  send(0);
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`${answers.length} answers in 30 s`)), 30000))]);
  sock.destroy();
  assert.deepEqual([...new Set(answers)].sort(), [200, 404]);
});
