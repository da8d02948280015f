'use strict';
// Hostile input on the WebSocket, against the running worker.  Every case:
// a clear error or close code, the worker keeps its pid, a control client
// round-trips afterwards, nothing partial is stored, tables intact.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startCluster } = require('../lib/cluster');
const { roundTrip, wsFrame, RawWs, newSessionId, makeEvent } = require('../lib/durable-client');

const MAX_MSG = 65536;
let cluster;
let pid;

before(async () => {
  cluster = await startCluster({ conf: { 'codesight.max_message_bytes': MAX_MSG, 'codesight.disconnect_grace': 3600 } });
  pid = await cluster.workerPid();
});

after(async () => { if (cluster) await cluster.destroy(); });

async function healthy() {
  assert.strictEqual(await cluster.workerPid(), pid, 'same worker pid');
  assert.ok(await roundTrip(cluster.wsUrl) < 3000, 'control round trip');
}

async function raw() {
  const r = new RawWs(cluster.port);
  await r.open();
  await r.next('connected');
  return r;
}

async function rawSession(prefix = 'h') {
  const r = await raw();
  const sid = newSessionId(prefix);
  r.sendJson({ type: 'session_start', sessionId: sid, timestamp: Date.now() });
  await r.next('session_started');
  return { r, sid };
}

async function storedCount(sid) {
  const q = await cluster.query('SELECT count(*)::int AS n FROM codesight.events WHERE session_id = $1', [sid]);
  return q.rows[0].n;
}

test('invalid UTF-8 in a text frame closes with 1007', async () => {
  const r = await raw();
  r.write(wsFrame(1, Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d])));
  assert.strictEqual(await r.closed(), 1007);
  await healthy();
});

test('a binary frame closes with 1003', async () => {
  const r = await raw();
  r.write(wsFrame(2, Buffer.from('{"type":"ping"}')));
  assert.strictEqual(await r.closed(), 1003);
  await healthy();
});

test('fragmented frames with interleaved ping are reassembled', async () => {
  const { r, sid } = await rawSession('frag');
  const text = JSON.stringify({ type: 'events', sessionId: sid, events: [makeEvent(1), makeEvent(2)] });
  const a = Buffer.from(text);
  const parts = [a.subarray(0, 7), a.subarray(7, 40), a.subarray(40)];
  r.write(wsFrame(1, parts[0], { fin: false }));
  r.write(wsFrame(9, Buffer.from('hi'))); // control frame in the middle
  r.write(wsFrame(0, parts[1], { fin: false }));
  r.write(wsFrame(10, Buffer.from(''))); // unsolicited pong
  r.write(wsFrame(0, parts[2], { fin: true }));
  const ack = await r.next('ack');
  assert.strictEqual(ack.seq, 2);
  assert.strictEqual(await storedCount(sid), 2);
  // A multi-byte UTF-8 character split across fragments is valid.
  const t2 = Buffer.from(JSON.stringify({ type: 'events', sessionId: sid, events: [makeEvent(3, { text: 'Größe €' })] }));
  const cut = t2.indexOf(Buffer.from('€')) + 1;
  r.write(wsFrame(1, t2.subarray(0, cut), { fin: false }));
  r.write(wsFrame(0, t2.subarray(cut)));
  await r.until((x) => x.messages.some((m) => m.type === 'ack' && m.seq === 3), { what: 'ack 3' });
  const q = await cluster.query("SELECT payload->'data'->>'text' AS t FROM codesight.events WHERE session_id = $1 AND seq = 3", [sid]);
  assert.strictEqual(q.rows[0].t, 'Größe €');
  await healthy();
});

test(`a message over codesight.max_message_bytes (${MAX_MSG}) closes with 1009, nothing stored`, async () => {
  const { r, sid } = await rawSession('big');
  const big = JSON.stringify({ type: 'events', sessionId: sid, events: [makeEvent(1, { text: 'x'.repeat(MAX_MSG) })] });
  r.write(wsFrame(1, Buffer.from(big)));
  assert.strictEqual(await r.closed(), 1009);
  // The same over many fragments.
  const { r: r2, sid: sid2 } = await rawSession('bigfrag');
  const b2 = Buffer.from(JSON.stringify({ type: 'events', sessionId: sid2, events: [makeEvent(1, { text: 'y'.repeat(MAX_MSG) })] }));
  for (let i = 0; i < b2.length; i += 8192) {
    const last = i + 8192 >= b2.length;
    r2.write(wsFrame(i === 0 ? 1 : 0, b2.subarray(i, i + 8192), { fin: last }));
  }
  assert.strictEqual(await r2.closed(), 1009);
  assert.strictEqual(await storedCount(sid), 0);
  assert.strictEqual(await storedCount(sid2), 0);
  await healthy();
});

test('deeply nested JSON gets too_deep; the connection stays usable', async () => {
  const { r, sid } = await rawSession('deep');
  const deep = '['.repeat(10000) + ']'.repeat(10000);
  r.sendText(`{"type":"events","sessionId":"${sid}","events":[{"seq":1,"type":"click","data":{"x":${deep}}}]}`);
  const e = await r.next('error');
  assert.strictEqual(e.code, 'too_deep');
  r.sendJson({ type: 'ping' });
  await r.next('pong');
  assert.strictEqual(await storedCount(sid), 0);
  await healthy();
});

test('huge numbers: 1e999999 and 400-digit integers are refused, no crash', async () => {
  const { r, sid } = await rawSession('num');
  const cases = [
    `{"type":"events","sessionId":"${sid}","events":[{"seq":1,"type":"click","data":{"n":1e999999}}]}`,
    `{"type":"events","sessionId":"${sid}","events":[{"seq":1e999999,"type":"click","data":{}}]}`,
    `{"type":"events","sessionId":"${sid}","events":[{"seq":1,"type":"click","timestamp":-1e999999,"data":{}}]}`,
    `{"type":"events","sessionId":"${sid}","events":[{"seq":1,"type":"click","data":{"n":${'9'.repeat(400)}}}]}`,
    `{"type":"events","sessionId":"${sid}","events":[{"seq":9007199254740993,"type":"click","data":{}}]}`,
  ];
  for (const c of cases) {
    const from = r.messages.length;
    r.sendText(c);
    const e = await r.next('error', { from });
    assert.ok(['invalid_number', 'invalid_seq', 'invalid_timestamp', 'invalid_event'].includes(e.code), `${c.slice(0, 80)} -> ${JSON.stringify(e)}`);
  }
  assert.ok(r.closeCode === null, 'connection stays open');
  assert.strictEqual(await storedCount(sid), 0);
  await healthy();
});

test('duplicate keys: accepted, stored once, the last one wins (as in jsonb)', async () => {
  for (let k = 0; k < 2; k++) {
    const { r, sid } = await rawSession('dupk');
    const from = r.messages.length;
    r.sendText(`{"type":"events","type":"events","sessionId":"${sid}","events":[{"seq":1,"seq":1,"type":"click","data":{"a":1,"a":2,"b":{"c":1,"c":[3]}}}]}`);
    const m = await r.until((x) => x.messages.slice(from).find((mm) => mm.type === 'ack' || mm.type === 'error'), { what: 'ack or error' });
    assert.deepStrictEqual(m, { type: 'ack', sessionId: sid, seq: 1 });
    const q = await cluster.query("SELECT payload->'data' AS d FROM codesight.events WHERE session_id = $1", [sid]);
    assert.strictEqual(q.rows.length, 1);
    assert.deepStrictEqual(q.rows[0].d, { a: 2, b: { c: [3] } });
  }
  await healthy();
});

// Every field of every client message type with a wrong type.  Each value
// must get the error docs/protocol.md names, or be accepted where it is a
// valid value of that field (a number is a timestamp; "str" is a session id).
const WRONG = [null, 1, 'str', true, [], {}, -1, 1.5];
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const timestampRule = (v) => (v === null || typeof v === 'number' ? null : 'invalid_timestamp');
// field -> value -> the error code it must get, or null when it is valid.
const RULES = {
  'hello.token': (v) => (typeof v === 'string' ? 'unauthorized' : 'invalid_message'),
  sessionId: (v) => (typeof v === 'string' ? null : 'invalid_message'),
  timestamp: timestampRule,
  // Descriptive fields: a mistyped one is dropped, the session still starts
  // (checked on the stored row below).
  'session_start.userAgent': () => null,
  'session_start.extension': () => null,
  'interaction_event.event': () => 'invalid_event', // {} has no type
  'interaction_event.seq': (v) => (v === null || v === 1 ? null : 'invalid_seq'), // null: v1, the server numbers it
  'events.events': (v) => (Array.isArray(v) ? null : 'invalid_message'),
  'event.seq': (v) => (v === 1 ? null : 'invalid_seq'), // required in a batch
  'event.type': (v) => (typeof v === 'string' ? 'unknown_event_type' : 'invalid_event'),
  'event.timestamp': timestampRule,
  'event.data': (v) => (v === null || isObject(v) ? null : 'invalid_event'), // null: a flat event, its own data
  'events.events[0]': () => 'invalid_event',
  type: (v) => (typeof v === 'string' ? 'unknown_message_type' : 'invalid_message'),
};

test('wrong types in every field of every message type: the documented error, nothing stored', async () => {
  const { r, sid } = await rawSession('types');
  // A fresh seq for every event probe: a seq the session already has is a
  // resend, acknowledged without being read again.
  let nextSeq = 1;
  const base = {
    hello: () => ({ type: 'hello', token: 'cs_w_x' }),
    session_start: () => ({ type: 'session_start', sessionId: sid, timestamp: Date.now(), userAgent: 'ua', extension: { name: 'x', version: '1' } }),
    interaction_event: () => ({ type: 'interaction_event', sessionId: sid, event: { type: 'click', data: {}, sessionId: sid }, timestamp: Date.now(), seq: nextSeq++ }),
    events: () => ({ type: 'events', sessionId: sid, events: [{ seq: nextSeq++, type: 'click', timestamp: Date.now(), data: {} }] }),
    session_stop: () => ({ type: 'session_stop', sessionId: sid, timestamp: Date.now() }),
    session_complete: () => ({ type: 'session_complete', sessionId: sid, events: [], summary: {} }),
  };
  const failures = [];
  const probe = async (rule, w, msg) => {
    const from = r.messages.length;
    r.sendJson(msg);
    r.sendJson({ type: 'ping' });
    await r.next('pong', { from });
    const answers = r.messages.slice(from).filter((m) => m.type !== 'pong');
    const errors = answers.filter((m) => m.type === 'error').map((m) => m.code);
    const want = RULES[rule](w);
    const ok = want === null ? errors.length === 0 : errors.length === 1 && errors[0] === want;
    if (!ok) failures.push(`${rule} = ${JSON.stringify(w)}: want ${want || 'no error'}, got ${JSON.stringify(answers)}`);
  };
  for (const [name, make] of Object.entries(base)) {
    // Stopping or completing the session under test would end it.
    if (name === 'session_stop' || name === 'session_complete') continue;
    for (const field of Object.keys(make())) {
      if (field === 'type') continue;
      const rule = RULES[`${name}.${field}`] ? `${name}.${field}` : field;
      for (const w of WRONG) await probe(rule, w, { ...make(), [field]: w });
    }
  }
  for (const field of ['seq', 'type', 'timestamp', 'data']) {
    for (const w of WRONG) await probe(`event.${field}`, w, { ...base.events(), events: [{ seq: nextSeq++, type: 'click', data: {}, [field]: w }] });
  }
  for (const w of WRONG) {
    await probe('events.events[0]', w, { ...base.events(), events: [w] });
    await probe('type', w, { type: w, sessionId: sid });
  }
  // session_stop / session_complete with wrong sessionId types only.
  for (const w of WRONG.filter((x) => typeof x !== 'string')) {
    await probe('sessionId', w, { ...base.session_stop(), sessionId: w });
    await probe('sessionId', w, { ...base.session_complete(), sessionId: w });
  }
  assert.deepStrictEqual(failures, []);
  assert.ok(r.closeCode === null, `connection stays open (closed ${r.closeCode})`);
  // Stored: only events whose every field was valid.
  const q = await cluster.query('SELECT seq, type, payload FROM codesight.events WHERE session_id = $1', [sid]);
  assert.ok(q.rows.length > 0);
  for (const row of q.rows) {
    assert.ok(Number(row.seq) >= 1 && row.type === 'click' && isObject(row.payload.data), `bad row stored: ${JSON.stringify(row)}`);
  }
  const s = await cluster.query('SELECT status FROM codesight.sessions WHERE session_id = $1', [sid]);
  assert.strictEqual(s.rows[0].status, 'active');
  // A mistyped userAgent or extension is not stored.
  const ua = newSessionId('types_ua');
  const at = r.messages.length;
  r.sendJson({ type: 'session_start', sessionId: ua, timestamp: Date.now(), userAgent: { ua: 1 }, extension: 'x' });
  await r.next('session_started', { from: at });
  const row = (await cluster.query('SELECT user_agent, extension FROM codesight.sessions WHERE session_id = $1', [ua])).rows[0];
  assert.deepStrictEqual(row, { user_agent: null, extension: null });
  await healthy();
});

const NASTY = ["'; DROP TABLE codesight.events; --", '$$; DROP TABLE codesight.sessions; $$', 'back\\slash\\\\', 'nul\u0000byte', "O'Reilly \"quoted\" `tick`", '\u202e\ud83d\ude00 ünïcødé', '%s%n%x', '<script>alert(1)</script>'];
test('SQL meta-characters and NUL escapes in every string field are stored as data', async () => {
  const { r, sid } = await rawSession('sqli');
  const from = r.messages.length;
  const events = NASTY.map((s, i) => makeEvent(i + 1, { selector: s, text: s, url: `http://shop.test/?q=${encodeURIComponent(s)}`, [s.replace(/\u0000/g, '')]: s, nested: { deep: [s] } }));
  r.sendJson({ type: 'session_start', sessionId: sid, timestamp: Date.now(), userAgent: NASTY.join(' | '), extension: { name: NASTY[0], version: NASTY[1] } });
  r.sendJson({ type: 'events', sessionId: sid, events });
  const m = await r.until((x) => x.messages.slice(from).find((mm) => (mm.type === 'ack' && mm.seq === NASTY.length) || mm.type === 'error'), { what: 'ack of all nasty events' });
  assert.strictEqual(m.type, 'ack', JSON.stringify(m));
  // Stored verbatim; a NUL, which text and jsonb can not hold, becomes
  // U+FFFD (docs/reliability.md), in values and keys alike.
  const stored = (x) => x.replace(/\u0000/g, '\ufffd');
  const q = await cluster.query("SELECT seq, selector, payload->'data' AS d FROM codesight.events WHERE session_id = $1 ORDER BY seq", [sid]);
  assert.strictEqual(q.rows.length, NASTY.length);
  NASTY.forEach((s, i) => {
    const row = q.rows[i];
    assert.strictEqual(Number(row.seq), i + 1);
    assert.strictEqual(row.d.text, stored(s));
    assert.strictEqual(row.selector, stored(s));
    assert.strictEqual(row.d[s.replace(/\u0000/g, '')], stored(s));
    assert.deepStrictEqual(row.d.nested, { deep: [stored(s)] });
  });
  assert.deepStrictEqual(r.messages.slice(from).filter((x) => x.type === 'error'), []);
  const session = (await cluster.query('SELECT user_agent, extension FROM codesight.sessions WHERE session_id = $1', [sid])).rows[0];
  assert.strictEqual(session.user_agent, stored(NASTY.join(' | ')));
  assert.deepStrictEqual(session.extension, { name: NASTY[0], version: NASTY[1] });
  // Session ids with meta-characters are refused.
  for (const bad of NASTY) {
    const f = r.messages.length;
    r.sendJson({ type: 'session_start', sessionId: bad, timestamp: Date.now() });
    const e = await r.next('error', { from: f });
    assert.strictEqual(e.code, 'invalid_session_id');
  }
  const t = await cluster.query("SELECT to_regclass('codesight.events') AS e, to_regclass('codesight.sessions') AS s");
  assert.ok(t.rows[0].e && t.rows[0].s, 'tables intact');
  await healthy();
});

const NSESS = process.env.CODESIGHT_LONG ? 10000 : 2000;
test(`${NSESS} sessions on one connection (10,000 with CODESIGHT_LONG=1)`, async () => {
  const r = await raw();
  const stamp = Date.now().toString(36);
  const ids = Array.from({ length: NSESS }, (_, i) => `many_${stamp}_${i}`);
  const t0 = Date.now();
  for (const id of ids) {
    r.sendJson({ type: 'session_start', sessionId: id, timestamp: Date.now() });
    r.sendJson({ type: 'events', sessionId: id, events: [makeEvent(1)] });
  }
  await r.until((x) => x.messages.filter((m) => m.type === 'ack').length >= NSESS, { timeoutMs: 85000, what: `${NSESS} acks` });
  const secs = (Date.now() - t0) / 1000;
  const q = await cluster.query('SELECT count(*)::int AS n FROM codesight.events WHERE session_id = ANY ($1)', [ids]);
  assert.strictEqual(q.rows[0].n, NSESS);
  console.log(`# ${NSESS} sessions on one connection: ${secs.toFixed(1)} s = ${Math.round(NSESS / secs)} sessions/s`);
  await healthy();
});
