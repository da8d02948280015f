'use strict';
// A durable protocol-v2 client for reliability tests: the behaviour
// docs/protocol.md ("Durability rules") asks of the extension.
//
// * Every event gets a per-session seq (1, 2, ...) and stays in the outbox
//   until an `ack {sessionId, seq}` covers it (acks are cumulative).
// * After any close or error it reconnects with exponential backoff, sends
//   `session_start`, and resends every event with seq > session_started.lastSeq.
// * It records what the server ever confirmed (acks and lastSeq), every close
//   code, every `error` message, and any confirmation that went backwards (a
//   server that acknowledged an event and later reports it missing).
//
// checkStored(cluster, clients) verifies the invariant of the fault tests:
// every acknowledged event is stored exactly once, and nothing is stored that
// was never sent.

const { EventEmitter } = require('node:events');
const WebSocket = require('ws');

let sessionCounter = 0;

// A session id in the extension's format, unique within this process.
function newSessionId(prefix = 'cs') {
  sessionCounter++;
  const rnd = Math.random().toString(36).slice(2, 7).padEnd(5, '0');
  return `${prefix}_${Date.now().toString(36)}${sessionCounter.toString(36)}_${rnd}`;
}

// A click event as the extension records it, with seq.
function makeEvent(seq, extra = {}) {
  return {
    seq,
    type: 'click',
    timestamp: Date.now(),
    data: { selector: `#item-${seq}`, element: 'button', text: 'Add to cart', url: 'http://shop.test/p/1', coordinates: { x: seq % 800, y: 10 }, ...extra },
  };
}

class DurableClient extends EventEmitter {
  constructor(url, opts = {}) {
    super();
    this.url = url;
    this.sessionId = opts.sessionId || newSessionId();
    this.batchSize = opts.batchSize || 50;
    this.minBackoffMs = opts.minBackoffMs || 50;
    this.maxBackoffMs = opts.maxBackoffMs || 1000;
    this.wsOptions = opts.wsOptions || {};
    this.makeEvent = opts.makeEvent || makeEvent;
    this.nextSeq = 1;
    this.outbox = new Map(); // seq -> event, in insertion (seq) order
    this.ackedUpTo = 0; // highest seq the server confirmed (ack or lastSeq)
    this.ackHistory = []; // every ack seq received, in order
    this.regressions = []; // confirmations that went backwards
    this.closeCodes = [];
    this.errors = []; // `error` messages from the server
    this.connects = 0; // successful opens
    this.attempts = 0;
    this.ws = null;
    this.ready = false; // session_started received on the current socket
    this.stopped = false;
    this.backoff = this.minBackoffMs;
    this.sentMessages = 0;
    this.resent = 0;
    this._reconnectTimer = null;
    this.received = 0;
    this.lastMessages = [];
  }

  get pushed() { return this.nextSeq - 1; }

  // Adds n new events to the outbox and sends them if connected.
  push(n = 1) {
    const fresh = [];
    for (let i = 0; i < n; i++) {
      const ev = this.makeEvent(this.nextSeq++);
      this.outbox.set(ev.seq, ev);
      fresh.push(ev);
    }
    if (this.ready) this._sendEvents(fresh);
    return this;
  }

  start() {
    this.stopped = false;
    this._connect();
    return this;
  }

  _connect() {
    if (this.stopped) return;
    this.attempts++;
    const ws = new WebSocket(this.url, { handshakeTimeout: 5000, ...this.wsOptions });
    this.ws = ws;
    this.ready = false;
    ws.on('open', () => {
      this.connects++;
      this.emit('open');
      ws.send(JSON.stringify({
        type: 'session_start', sessionId: this.sessionId, timestamp: Date.now(),
        userAgent: 'durable-client', extension: { name: 'durable-client', version: '2' },
      }));
    });
    ws.on('message', (data) => this._onMessage(ws, data));
    ws.on('error', (err) => { this.lastError = err; });
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      this.closeCodes.push(code);
      this.ready = false;
      this.ws = null;
      this.emit('close', code);
      this._scheduleReconnect();
    });
  }

  _scheduleReconnect() {
    if (this.stopped || this._reconnectTimer) return;
    const delay = Math.round(this.backoff * (0.5 + Math.random() * 0.5));
    this.backoff = Math.min(this.backoff * 2, this.maxBackoffMs);
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      this._connect();
    }, delay);
  }

  _confirm(seq, source) {
    if (seq < this.ackedUpTo) {
      this.regressions.push({ source, seq, ackedUpTo: this.ackedUpTo });
      return;
    }
    this.ackedUpTo = seq;
    for (const s of this.outbox.keys()) {
      if (s > seq) break;
      this.outbox.delete(s);
    }
    if (this.outbox.size === 0 && this.ackedUpTo >= this.pushed) this.emit('drained');
  }

  _onMessage(ws, data) {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return; }
    this.received++;
    this.lastMessages.push(m);
    if (this.lastMessages.length > 5) this.lastMessages.shift();
    switch (m.type) {
      case 'session_started':
        if (m.sessionId !== this.sessionId) return;
        this.backoff = this.minBackoffMs;
        this._confirm(m.lastSeq || 0, 'session_started');
        this.ready = true;
        if (this.outbox.size) {
          this.resent += this.connects > 1 ? this.outbox.size : 0;
          this._sendEvents([...this.outbox.values()]);
        }
        this.emit('ready');
        break;
      case 'ack':
        if (m.sessionId !== this.sessionId) return;
        this.ackHistory.push(m.seq);
        this._confirm(m.seq, 'ack');
        break;
      case 'error':
        this.errors.push(m);
        this.emit('server_error', m);
        break;
      default:
        break;
    }
  }

  _sendEvents(events) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < events.length; i += this.batchSize) {
      ws.send(JSON.stringify({ type: 'events', sessionId: this.sessionId, events: events.slice(i, i + this.batchSize) }));
      this.sentMessages++;
    }
  }

  // True when every pushed event is acknowledged.
  get drainedNow() { return this.outbox.size === 0 && this.ackedUpTo >= this.pushed; }

  // Resolves once every pushed event is acknowledged.
  drained(timeoutMs = 60000) {
    if (this.drainedNow) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('drained', done);
        reject(new Error(`${this.sessionId}: not drained after ${timeoutMs} ms: acked ${this.ackedUpTo}/${this.pushed}, outbox ${this.outbox.size}, closes ${JSON.stringify(this.closeCodes)}, errors ${JSON.stringify(this.errors.slice(-3))}`));
      }, timeoutMs);
      const done = () => { clearTimeout(t); resolve(); };
      this.once('drained', done);
    });
  }

  // Stops reconnecting and closes the socket (code 1000).
  stop() {
    this.stopped = true;
    if (this._reconnectTimer) { clearTimeout(this._reconnectTimer); this._reconnectTimer = null; }
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      try { ws.close(1000); } catch { /* ignore */ }
      const t = setTimeout(() => ws.terminate(), 2000);
      t.unref();
      ws.once('close', () => clearTimeout(t));
    }
  }
}

// Pushes `total` events into each client, `chunk` at a time every
// `intervalMs`, so the load is spread over time.  Resolves when all are pushed.
function streamEvents(clients, { total, chunk = 10, intervalMs = 20 }) {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      let left = false;
      for (const c of clients) {
        const n = Math.min(chunk, total - c.pushed);
        if (n > 0) c.push(n);
        if (c.pushed < total) left = true;
      }
      if (!left) { clearInterval(timer); resolve(); }
    }, intervalMs);
  });
}

// Verifies the fault invariant against the database.  Returns a summary;
// throws with details on violation.
async function checkStored(cluster, clients, { allPushed = true } = {}) {
  const ids = clients.map((c) => c.sessionId);
  const dups = await cluster.query(
    `SELECT session_id, seq, count(*) AS n FROM codesight.events
      WHERE session_id = ANY($1) GROUP BY session_id, seq HAVING count(*) > 1`, [ids]);
  if (dups.rows.length) throw new Error(`events stored twice: ${JSON.stringify(dups.rows.slice(0, 10))}`);
  const r = await cluster.query(
    `SELECT u.sid, count(e.seq)::int AS n, (count(e.seq) FILTER (WHERE e.seq <= u.acked))::int AS acked_stored,
            max(e.seq)::int AS hi
       FROM unnest($1::text[], $2::bigint[]) AS u(sid, acked)
       LEFT JOIN codesight.events e ON e.session_id = u.sid
      GROUP BY u.sid, u.acked`, [ids, clients.map((c) => c.ackedUpTo)]);
  const stored = new Map(r.rows.map((row) => [row.sid, row]));
  const problems = [];
  let acked = 0;
  let total = 0;
  for (const c of clients) {
    const row = stored.get(c.sessionId);
    acked += c.ackedUpTo;
    total += row.n;
    if (c.regressions.length) problems.push(`${c.sessionId}: confirmation went backwards ${JSON.stringify(c.regressions.slice(0, 3))}`);
    // The primary key makes (session_id, seq) unique, so acked_stored equals
    // ackedUpTo exactly when every seq 1..ackedUpTo is stored.
    if (row.acked_stored !== c.ackedUpTo) problems.push(`${c.sessionId}: acked up to ${c.ackedUpTo} but only ${row.acked_stored} of those seqs are stored`);
    if (row.hi !== null && row.hi > c.pushed) problems.push(`${c.sessionId}: stored seq ${row.hi} never sent (pushed ${c.pushed})`);
    if (allPushed && row.n !== c.pushed) problems.push(`${c.sessionId}: pushed ${c.pushed}, stored ${row.n}`);
  }
  // The session counters must agree with the rows after any crash.
  const cnt = await cluster.query(
    `SELECT s.session_id, s.event_count, (SELECT count(*) FROM codesight.events e WHERE e.session_id = s.session_id) AS n
       FROM codesight.sessions s WHERE s.session_id = ANY($1)`, [ids]);
  for (const row of cnt.rows) {
    if (Number(row.event_count) !== Number(row.n)) problems.push(`${row.session_id}: sessions.event_count ${row.event_count} but ${row.n} rows`);
  }
  if (problems.length) throw new Error(`invariant violated:\n${problems.slice(0, 20).join('\n')}`);
  return { acked, stored: total, sessions: cnt.rows.length };
}

// ---------------------------------------------------------------------------
// Helpers shared by the fault and hostile-input tests.

const net = require('node:net');
const crypto = require('node:crypto');
const http = require('node:http');

// One control round trip on a fresh connection (session_start, one event,
// its ack).  Returns the milliseconds it took.
async function roundTrip(wsUrl, { timeoutMs = 10000 } = {}) {
  const t0 = Date.now();
  const sid = `ctl_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
  await new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    let stage = 'connecting';
    const seen = [];
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`control round trip timed out after ${timeoutMs} ms at stage ${stage}; got ${JSON.stringify(seen.slice(-3))}`)); }, timeoutMs);
    ws.on('open', () => { stage = `open after ${Date.now() - t0} ms`; ws.send(JSON.stringify({ type: 'session_start', sessionId: sid, timestamp: Date.now() })); });
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      seen.push(m);
      if (m.type === 'session_started') {
        ws.send(JSON.stringify({ type: 'events', sessionId: sid, events: [makeEvent(1)] }));
      } else if (m.type === 'ack' && m.seq === 1) {
        clearTimeout(timer);
        ws.close(1000);
        resolve();
      } else if (m.type === 'error') {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`control client got ${JSON.stringify(m)}`));
      }
    });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  return Date.now() - t0;
}

// A plain HTTP request; resolves {status, headers, body}.
function httpGet(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', ...opts }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('http timeout')));
    req.end(opts.body);
  });
}

// One Prometheus sample from GET /metrics (loopback needs no token).
async function metric(httpUrl, name) {
  const r = await httpGet(`${httpUrl}/metrics`);
  const line = r.body.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : null;
}

// VmRSS in kB and open fd count of a process (needs root or the same user).
function procStats(pid) {
  const fs = require('node:fs');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const anon = Number((/RssAnon:\s+(\d+)/.exec(status) || [0, 0])[1]);
  const shmem = Number((/RssShmem:\s+(\d+)/.exec(status) || [0, 0])[1]);
  const fdNames = fs.readdirSync(`/proc/${pid}/fd`);
  const fds = fdNames.length;
  let sockets = 0;
  for (const f of fdNames) {
    try { if (fs.readlinkSync(`/proc/${pid}/fd/${f}`).startsWith('socket:')) sockets++; } catch { /* closed meanwhile */ }
  }
  // VmRSS includes the shared buffers the worker has touched (RssShmem),
  // which grow up to shared_buffers as tables grow; RssAnon is its own heap.
  return { rssKb: rss, anonKb: anon, shmemKb: shmem, fds, sockets };
}

// Builds one client WebSocket frame (masked).  opcode 1 text, 2 binary,
// 0 continuation, 8 close, 9 ping, 10 pong.
function wsFrame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  let head;
  if (len < 126) { head = Buffer.alloc(2); head[1] = len; } else if (len < 65536) { head = Buffer.alloc(4); head[1] = 126; head.writeUInt16BE(len, 2); } else { head = Buffer.alloc(10); head[1] = 127; head.writeBigUInt64BE(BigInt(len), 2); }
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([head, data]);
  head[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = data[i] ^ key[i & 3];
  return Buffer.concat([head, key, out]);
}

// A WebSocket over a raw TCP socket, to send frames the ws package refuses
// to produce.  Parses server frames: text messages (JSON) and the close code.
class RawWs {
  constructor(port, { path = '/extension-ws', headers = '' } = {}) {
    this.port = port;
    this.path = path;
    this.headers = headers;
    this.messages = [];
    this.closeCode = null;
    this.ended = false;
    this.buf = Buffer.alloc(0);
    this.upgraded = false;
    this.waiters = [];
  }

  open(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const key = crypto.randomBytes(16).toString('base64');
      const s = net.connect(this.port, '127.0.0.1');
      this.sock = s;
      const timer = setTimeout(() => reject(new Error('raw upgrade timed out')), timeoutMs);
      s.on('connect', () => s.write(`GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${this.headers}\r\n`));
      s.on('data', (d) => {
        this.buf = Buffer.concat([this.buf, d]);
        if (!this.upgraded) {
          const i = this.buf.indexOf('\r\n\r\n');
          if (i < 0) return;
          const head = this.buf.subarray(0, i).toString();
          this.buf = this.buf.subarray(i + 4);
          if (!/^HTTP\/1\.1 101/.test(head)) { clearTimeout(timer); reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`)); return; }
          this.upgraded = true;
          clearTimeout(timer);
          resolve(this);
        }
        this._parse();
      });
      s.on('error', (e) => { this.error = e; this._wake(); });
      s.on('close', () => { this.ended = true; clearTimeout(timer); this._wake(); if (!this.upgraded) reject(new Error('closed before upgrade')); });
    });
  }

  _parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const opcode = b[0] & 0x0f;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; } else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
      if (b.length < off + len) return;
      const payload = b.subarray(off, off + len);
      this.buf = b.subarray(off + len);
      if (opcode === 1) {
        try { this.messages.push(JSON.parse(payload.toString())); } catch { this.messages.push({ type: '__unparsable', raw: payload.toString() }); }
      } else if (opcode === 8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString();
        if (!this.sock.destroyed) { this.sock.write(wsFrame(8, payload.subarray(0, 2))); this.sock.end(); }
      } else if (opcode === 9) {
        this.sock.write(wsFrame(10, payload));
      }
      this._wake();
    }
  }

  _wake() { for (const w of this.waiters.slice()) w(); }

  write(buf) { this.sock.write(buf); }
  sendText(text, opts) { this.sock.write(wsFrame(1, Buffer.from(text), opts)); }
  sendJson(obj) { this.sendText(JSON.stringify(obj)); }

  // Waits until pred() is true (checked on every frame or close).
  until(pred, { timeoutMs = 10000, what = 'condition' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try { v = pred(this); } catch (e) { done(); reject(e); return true; }
        if (v) { done(); resolve(v); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`raw ws: timed out waiting for ${what}; messages ${JSON.stringify(this.messages.slice(-3))}, close ${this.closeCode}, ended ${this.ended}`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  next(type, opts = {}) {
    const from = opts.from ?? 0;
    return this.until((r) => r.messages.slice(from).find((m) => m.type === type), { what: type, ...opts });
  }

  // Resolves with the close code (null if the socket ended without one).
  closed(timeoutMs = 10000) {
    return this.until((r) => (r.ended ? { code: r.closeCode } : null), { timeoutMs, what: 'the connection to end' }).then((x) => x.code);
  }

  destroy() { this.sock.destroy(); }
}

module.exports = {
  DurableClient, makeEvent, newSessionId, streamEvents, checkStored,
  roundTrip, httpGet, metric, procStats, wsFrame, RawWs,
};
