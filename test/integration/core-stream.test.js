'use strict';
// The stream protocol against the real worker: the original extension's v1
// message sequence, v2 batches with acks after COMMIT, resends, resume with
// lastSeq, and the error code of every kind of invalid message.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, waitFor } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');

let cluster;

test.before(async () => {
  cluster = await startCluster();
});

test.after(async () => { if (cluster) await cluster.destroy(); });

async function rows(sessionId) {
  const r = await cluster.query(
    'SELECT seq::int, type, page_url, selector, payload FROM codesight.events WHERE session_id = $1 ORDER BY seq',
    [sessionId]);
  return r.rows;
}

async function session(sessionId) {
  const r = await cluster.query('SELECT * FROM codesight.sessions WHERE session_id = $1', [sessionId]);
  return r.rows[0];
}

test('v1: the original extension\'s message sequence is stored as it happens', async () => {
  const sessionId = 'cs_md0ap0gn_thwyx';
  const ws = await connect(cluster.wsUrl, { headers: { Origin: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop' } });
  const t0 = Date.now();
  ws.send({ type: 'session_start', sessionId, timestamp: t0, userAgent: 'Mozilla/5.0 Chrome/156', extension: { name: 'CodeSight', version: '1.0.0' } });
  const started = await ws.next('session_started');
  assert.equal(started.sessionId, sessionId);
  assert.equal(started.lastSeq, 0);

  const click = { type: 'click', data: { selector: '#add-to-cart', element: 'BUTTON', text: 'Add to Cart', coordinates: { x: 10, y: 20 }, url: 'https://shop.example/p/1', timestamp: t0 + 1 }, sessionId };
  ws.send({ type: 'interaction_event', sessionId, event: click, timestamp: t0 + 1 });
  let receipt = await ws.next('event_received');
  assert.equal(receipt.eventCount, 1);

  // Input is sent once per keystroke, then a change.
  for (const [i, value] of ['s', 'sh', 'sho', 'shoe'].entries()) {
    ws.send({ type: 'interaction_event', sessionId, event: { type: 'input', data: { selector: '#q', value, url: 'https://shop.example/', timestamp: t0 + 2 + i }, sessionId }, timestamp: t0 + 2 + i });
  }
  ws.send({ type: 'interaction_event', sessionId, event: { type: 'change', data: { selector: '#q', value: 'shoe', url: 'https://shop.example/' }, sessionId }, timestamp: t0 + 7 });
  // Navigation from the service worker comes flat, without transitionType.
  ws.send({ type: 'interaction_event', sessionId, event: { url: 'https://shop.example/search?q=shoe', tabId: 7, timestamp: t0 + 8 }, timestamp: t0 + 8 });
  await waitFor(async () => (await rows(sessionId)).length === 7, { what: '7 rows' });

  // The server pings; the extension answers pong, which is accepted silently.
  ws.send({ type: 'pong' });
  ws.send({ type: 'session_stop', sessionId, timestamp: t0 + 9 });
  const stopped = await ws.next('session_stopped');
  assert.equal(stopped.lastSeq, 7);

  const copy = Array.from({ length: 40 }, (_, i) => ({ type: 'scroll', data: { scrollY: i * 100, pad: 'x'.repeat(200) } }));
  ws.send({ type: 'session_complete', sessionId, events: copy, summary: { clicks: 1, inputs: 5, scrolls: 0, navigations: 1, duration: null, pagesVisited: ['shop.example'] } });
  const completed = await ws.next('session_complete_acknowledged');
  assert.equal(completed.sessionId, sessionId);
  assert.equal(completed.eventCount, 7);

  const stored = await rows(sessionId);
  assert.deepEqual(stored.map((r) => r.type), ['click', 'input', 'input', 'input', 'input', 'change', 'navigation']);
  assert.deepEqual(stored.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(stored[0].selector, '#add-to-cart');
  assert.equal(stored[0].page_url, 'https://shop.example/p/1');
  assert.deepEqual(stored[0].payload.data.coordinates, { x: 10, y: 20 });
  assert.equal(stored[6].payload.data.tabId, 7);
  assert.equal(stored[6].page_url, 'https://shop.example/search?q=shoe');

  const s = await session(sessionId);
  assert.equal(s.status, 'completed');
  assert.equal(Number(s.event_count), 7);
  assert.equal(s.user_agent, 'Mozilla/5.0 Chrome/156');
  assert.deepEqual(s.extension, { name: 'CodeSight', version: '1.0.0' });
  assert.equal(s.client_report.eventCount, 40);
  assert.equal(s.client_report.summary.clicks, 1);
  assert.ok(s.ended_at);
  ws.close();
});

test('v2: batches are acked after commit with the highest contiguous seq', async () => {
  const sessionId = 'cs_v2_batch';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId, timestamp: Date.now() });
  await ws.next('session_started');
  const events = Array.from({ length: 50 }, (_, i) => ({ seq: i + 1, type: 'scroll', timestamp: Date.now(), data: { scroll: { x: 0, y: i }, url: 'https://shop.example/' } }));
  ws.send({ type: 'events', sessionId, events });
  const ack = await ws.next((m) => m.type === 'ack' && m.seq === 50);
  assert.equal(ack.sessionId, sessionId);
  // Acked means committed: the rows are visible to another transaction now.
  assert.equal((await rows(sessionId)).length, 50);

  // A gap holds the ack at the last contiguous seq; filling it advances it.
  const before = ws.messages.length;
  ws.send({ type: 'events', sessionId, events: [{ seq: 52, type: 'click', data: { selector: '#b' } }] });
  const held = await ws.next('ack', { from: before });
  assert.equal(held.seq, 50);
  ws.send({ type: 'events', sessionId, events: [{ seq: 51, type: 'click', data: { selector: '#a' } }] });
  await ws.next((m) => m.type === 'ack' && m.seq === 52);
  ws.close();
});

test('v2: resent events are ignored, never stored twice, and still acked', async () => {
  const sessionId = 'cs_v2_resend';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  const batch = Array.from({ length: 10 }, (_, i) => ({ seq: i + 1, type: 'click', data: { selector: `#b${i}`, n: i } }));
  ws.send({ type: 'events', sessionId, events: batch });
  await ws.next((m) => m.type === 'ack' && m.seq === 10);
  const from = ws.messages.length;
  // Resend with different data: the first stored copy wins.
  ws.send({ type: 'events', sessionId, events: batch.map((e) => ({ ...e, data: { selector: 'changed' } })) });
  const again = await ws.next('ack', { from });
  assert.equal(again.seq, 10);
  const stored = await rows(sessionId);
  assert.equal(stored.length, 10);
  assert.equal(stored[3].selector, '#b3');
  const s = await session(sessionId);
  assert.equal(Number(s.event_count), 10);
  ws.close();
});

test('reconnect: session_started carries lastSeq and a new connection may continue', async () => {
  const sessionId = 'cs_v2_resume';
  const a = await connect(cluster.wsUrl);
  a.send({ type: 'session_start', sessionId });
  await a.next('session_started');
  a.send({ type: 'events', sessionId, events: [1, 2, 3].map((seq) => ({ seq, type: 'input', data: { value: `v${seq}` } })) });
  await a.next((m) => m.type === 'ack' && m.seq === 3);
  a.terminate();

  const b = await connect(cluster.wsUrl);
  // Events for an active session are accepted even before session_start.
  b.send({ type: 'events', sessionId, events: [{ seq: 4, type: 'input', data: { value: 'v4' } }] });
  await b.next((m) => m.type === 'ack' && m.seq === 4);
  b.send({ type: 'session_start', sessionId });
  const resumed = await b.next('session_started');
  assert.equal(resumed.lastSeq, 4);
  // The client resends what it had not seen acked (3 and 4): nothing doubles.
  b.send({ type: 'events', sessionId, events: [3, 4, 5].map((seq) => ({ seq, type: 'input', data: { value: `v${seq}` } })) });
  await b.next((m) => m.type === 'ack' && m.seq === 5);
  assert.deepEqual((await rows(sessionId)).map((r) => r.seq), [1, 2, 3, 4, 5]);
  b.close();
});

test('events for unknown or finished sessions are rejected with their codes', async () => {
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'events', sessionId: 'cs_never_started', events: [{ seq: 1, type: 'click', data: {} }] });
  const unknown = await ws.next('error');
  assert.equal(unknown.code, 'unknown_session');

  const sessionId = 'cs_finished';
  ws.send({ type: 'session_start', sessionId });
  await ws.next((m) => m.type === 'session_started' && m.sessionId === sessionId);
  ws.send({ type: 'events', sessionId, events: [{ seq: 1, type: 'click', data: {} }] });
  await ws.next((m) => m.type === 'ack' && m.sessionId === sessionId && m.seq === 1);
  ws.send({ type: 'session_stop', sessionId });
  await ws.next('session_stopped');
  const from = ws.messages.length;
  // A resend of a stored event after the stop is still acknowledged ...
  ws.send({ type: 'events', sessionId, events: [{ seq: 1, type: 'click', data: {} }, { seq: 2, type: 'click', data: {} }] });
  const err = await ws.next('error', { from });
  // ... but a new one is refused.
  assert.equal(err.code, 'session_not_active');
  assert.equal(err.seq, 2);
  assert.equal((await rows(sessionId)).length, 1);
  ws.close();
});

test('every kind of invalid message gets its error code and stores nothing', async () => {
  const ws = await connect(cluster.wsUrl);
  const sessionId = 'cs_invalid';
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  const cases = [
    ['not json', 'invalid_json'],
    ['[1,2,3]', 'invalid_json'],
    ['{"type":', 'invalid_json'],
    [JSON.stringify({ sessionId }), 'invalid_message'],
    [JSON.stringify({ type: 42 }), 'invalid_message'],
    [JSON.stringify({ type: 'teleport', sessionId }), 'unknown_message_type'],
    [JSON.stringify({ type: 'session_start' }), 'invalid_message'],
    [JSON.stringify({ type: 'session_start', sessionId: 'has space' }), 'invalid_session_id'],
    [JSON.stringify({ type: 'session_start', sessionId: 'x'.repeat(65) }), 'invalid_session_id'],
    [JSON.stringify({ type: 'session_start', sessionId: "a'; DROP TABLE codesight.events; --" }), 'invalid_session_id'],
    [JSON.stringify({ type: 'events', sessionId, events: 'nope' }), 'invalid_message'],
    [JSON.stringify({ type: 'events', sessionId, events: [] , timestamp: 'yesterday' }), 'invalid_timestamp'],
    [JSON.stringify({ type: 'events', sessionId, events: Array.from({ length: 1001 }, (_, i) => ({ seq: i + 1, type: 'click', data: {} })) }), 'too_many_events'],
    [JSON.stringify({ type: 'events', sessionId, events: [{ seq: 101, type: 'teleport', data: {} }] }), 'unknown_event_type'],
    [JSON.stringify({ type: 'events', sessionId, events: [{ seq: 102, type: 'click', data: 'str' }] }), 'invalid_event'],
    [JSON.stringify({ type: 'events', sessionId, events: [7] }), 'invalid_event'],
    [JSON.stringify({ type: 'events', sessionId, events: [{ type: 'click', data: {} }] }), 'invalid_seq'],
    [JSON.stringify({ type: 'events', sessionId, events: [{ seq: 0, type: 'click', data: {} }] }), 'invalid_seq'],
    [JSON.stringify({ type: 'events', sessionId, events: [{ seq: 1.5, type: 'click', data: {} }] }), 'invalid_seq'],
    [JSON.stringify({ type: 'events', sessionId, events: [{ seq: 2 ** 60, type: 'click', data: {} }] }), 'invalid_seq'],
    [JSON.stringify({ type: 'events', sessionId, events: [{ seq: 103, type: 'click', timestamp: 8.64e15 + 1, data: {} }] }), 'invalid_timestamp'],
    ['{"type":"events","sessionId":"' + sessionId + '","events":[{"seq":1,"type":"click","data":{"n":1e999999}}]}', 'invalid_number'],
    ['{"type":"events","sessionId":"' + sessionId + '","events":[{"seq":104,"type":"click","data":' + '['.repeat(40) + ']'.repeat(40) + '}]}', 'too_deep'],
  ];
  for (const [raw, code] of cases) {
    const from = ws.messages.length;
    ws.send(raw);
    const err = await ws.next('error', { from });
    assert.equal(err.code, code, `for ${raw.slice(0, 80)}`);
    assert.equal(typeof err.message, 'string');
    // An event refused for its content, in a well-formed batch, is
    // recorded as rejected so it never holds back the acks after it.
    assert.equal(err.dropped === true, /^\{"type":"events","sessionId":"cs_invalid","events":\[\{"seq":10[123],/.test(raw), `dropped flag for ${raw.slice(0, 80)}`);
  }
  const rejected = await cluster.query('SELECT seq::int, code FROM codesight.rejected_events WHERE session_id = $1 ORDER BY seq', [sessionId]);
  assert.deepEqual(rejected.rows, [
    { seq: 101, code: 'unknown_event_type' }, { seq: 102, code: 'invalid_event' },
    { seq: 103, code: 'invalid_timestamp' }]);
  // A valid event after all that still works on the same connection.
  ws.send({ type: 'events', sessionId, events: [{ seq: 1, type: 'click', data: { ok: true } }] });
  await ws.next((m) => m.type === 'ack' && m.seq === 1);
  const stored = await rows(sessionId);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].payload.data.ok, true);
  ws.close();
});

test('a batch with some bad events stores the good ones, names the bad seqs, and the ack passes them', async () => {
  const ws = await connect(cluster.wsUrl);
  const sessionId = 'cs_partial';
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  ws.send({ type: 'events', sessionId, events: [
    { seq: 1, type: 'click', data: {} },
    { seq: 2, type: 'nonsense', data: {} },
    { seq: 3, type: 'click', data: {} },
  ] });
  const err = await ws.next('error');
  assert.equal(err.code, 'unknown_event_type');
  assert.equal(err.seq, 2);
  assert.equal(err.dropped, true);
  const ack = await ws.next('ack');
  assert.equal(ack.seq, 3);
  assert.deepEqual((await rows(sessionId)).map((r) => r.seq), [1, 3]);
  const s = await session(sessionId);
  assert.equal(Number(s.last_seq), 3);
  assert.equal(Number(s.event_count), 2);
  ws.close();
});

test('sensitive values are masked before they are stored', async () => {
  const ws = await connect(cluster.wsUrl);
  const sessionId = 'cs_privacy';
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  ws.send({ type: 'events', sessionId, events: [
    { seq: 1, type: 'input', data: { selector: '#email', value: 'ann.lee@example.com', url: 'https://shop.example/checkout?email=ann%40example.com&step=2' } },
    { seq: 2, type: 'input', data: { selector: '#cc', value: '4242 4242 4242 4242' } },
    { seq: 3, type: 'input', data: { selector: '#pw', inputType: 'password', value: 'hunter2' } },
    { seq: 4, type: 'input', data: { selector: '#cvc', cvc: '123' } },
    { seq: 5, type: 'input', data: { selector: '#ssn', value: 'my ssn is 123-45-6789' } },
    { seq: 6, type: 'input', data: { selector: '#qty', value: '2' } },
  ] });
  await ws.next((m) => m.type === 'ack' && m.seq === 6);
  const stored = await rows(sessionId);
  assert.equal(stored[0].payload.data.value, '<EMAIL>');
  assert.match(stored[0].page_url, /email=<EMAIL>&step=2$/);
  assert.equal(stored[1].payload.data.value, '<CARD_NUMBER>');
  assert.equal(stored[2].payload.data.value, '<PASSWORD>');
  assert.equal(stored[3].payload.data.cvc, '<CVC>');
  assert.equal(stored[4].payload.data.value, 'my ssn is <SSN>');
  assert.equal(stored[5].payload.data.value, '2');
  const raw = JSON.stringify(stored);
  for (const secret of ['ann.lee@example.com', '4242 4242', 'hunter2', '123-45-6789']) {
    assert.ok(!raw.includes(secret), `${secret} leaked`);
  }
  ws.close();
});

test('many connections are grouped into shared transactions', async () => {
  const clients = await Promise.all(Array.from({ length: 20 }, () => connect(cluster.wsUrl)));
  const before = (await cluster.query("SELECT (codesight.worker_status()->>'batches')::int AS b")).rows[0].b;
  await Promise.all(clients.map(async (ws, i) => {
    ws.send({ type: 'session_start', sessionId: `cs_group_${i}` });
    await ws.next('session_started');
  }));
  await Promise.all(clients.map(async (ws, i) => {
    for (let k = 0; k < 10; k++) {
      ws.send({ type: 'events', sessionId: `cs_group_${i}`, events: Array.from({ length: 10 }, (_, j) => ({ seq: k * 10 + j + 1, type: 'scroll', data: { y: j } })) });
    }
    await ws.next((m) => m.type === 'ack' && m.seq === 100);
  }));
  const r = await cluster.query("SELECT count(*)::int AS n FROM codesight.events WHERE session_id LIKE 'cs_group_%'");
  assert.equal(r.rows[0].n, 2000);
  const after = (await cluster.query("SELECT (codesight.worker_status()->>'batches')::int AS b")).rows[0].b;
  // 20 session starts + 200 frames arrived; group commit needs far fewer transactions.
  assert.ok(after - before < 200, `expected fewer than 200 commits, got ${after - before}`);
  clients.forEach((ws) => ws.close());
});

test('oversized messages close the connection with 1009; binary frames with 1003', async () => {
  const big = await connect(cluster.wsUrl);
  big.send(JSON.stringify({ type: 'pong', pad: 'x'.repeat(1024 * 1024 + 10) }));
  const closed = await big.waitClose();
  assert.equal(closed.code, 1009);

  const bin = await connect(cluster.wsUrl);
  bin.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  const closedBin = await bin.waitClose();
  assert.equal(closedBin.code, 1003);

  // The worker keeps serving others.
  const ok = await connect(cluster.wsUrl);
  ok.send({ type: 'ping' });
  await ok.next('pong');
  ok.close();
});

test('a session stopped or deleted through SQL takes effect on the next batch', async () => {
  const ws = await connect(cluster.wsUrl);
  const sessionId = 'cs_admin_stopped';
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  ws.send({ type: 'events', sessionId, events: [{ seq: 1, type: 'click', data: {} }] });
  await ws.next((m) => m.type === 'ack' && m.seq === 1);
  await cluster.query("UPDATE codesight.sessions SET status = 'completed' WHERE session_id = $1", [sessionId]);
  let from = ws.messages.length;
  ws.send({ type: 'events', sessionId, events: [{ seq: 2, type: 'click', data: {} }] });
  assert.equal((await ws.next('error', { from })).code, 'session_not_active');

  await cluster.query('SELECT codesight.delete_session($1)', [sessionId]);
  from = ws.messages.length;
  ws.send({ type: 'events', sessionId, events: [{ seq: 3, type: 'click', data: {} }] });
  assert.equal((await ws.next('error', { from })).code, 'unknown_session');
  // Started again from scratch, it counts from 1 again.
  ws.send({ type: 'session_start', sessionId });
  const restarted = await ws.next((m) => m.type === 'session_started' && m.sessionId === sessionId, { from });
  assert.equal(restarted.lastSeq, 0);
  ws.send({ type: 'events', sessionId, events: [{ seq: 1, type: 'input', data: { value: 'again' } }] });
  await ws.next((m) => m.type === 'ack' && m.seq === 1, { from });
  assert.deepEqual((await rows(sessionId)).map((r) => r.type), ['input']);
  ws.close();
});

test('an event stored behind the worker\'s back is not stored twice and does not block the stream', async () => {
  const ws = await connect(cluster.wsUrl);
  const sessionId = 'cs_foreign_row';
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  // A row the worker does not know about (max_seq in sessions stays 0).
  await cluster.query("INSERT INTO codesight.events (session_id, seq, type, payload) VALUES ($1, 2, 'click', '{\"type\":\"click\",\"data\":{\"foreign\":true}}')", [sessionId]);
  ws.send({ type: 'events', sessionId, events: [1, 2, 3].map((seq) => ({ seq, type: 'click', data: { n: seq } })) });
  await ws.next((m) => m.type === 'ack' && m.seq === 3, { timeoutMs: 15000 });
  const stored = await rows(sessionId);
  assert.deepEqual(stored.map((r) => r.seq), [1, 2, 3]);
  assert.equal(stored[1].payload.data.foreign, true);
  assert.equal(ws.closed, null);
  ws.close();
});

test('numbers that print as at most 40 characters are stored; past it the event is refused with invalid_number, never a failed batch', async () => {
  const ws = await connect(cluster.wsUrl);
  const sessionId = 'cs_numbers';
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  ws.send('{"type":"events","sessionId":"cs_numbers","events":[{"seq":1,"type":"scroll","data":{"big":1e39,"small":1e-38,"neg":-2E+38}}]}');
  await ws.next((m) => m.type === 'ack' && m.seq === 1);
  // each refused event with its own seq (a refused seq may count as handled)
  let seq = 2;
  for (const n of ['1e40', '1e-39', '-1e39', '1e1000']) {
    const from = ws.messages.length;
    ws.send(`{"type":"events","sessionId":"cs_numbers","events":[{"seq":${seq},"type":"scroll","data":{"n":${n}}}]}`);
    const err = await ws.next((m) => m.type === 'error' && m.seq === seq, { from });
    assert.equal(err.code, 'invalid_number', `for ${n}`);
    seq++;
  }
  // past what jsonb can hold at all: the whole message (an error without seq)
  for (const n of ['1e1001', '1e-1001', '5e4000']) {
    const from = ws.messages.length;
    ws.send(`{"type":"events","sessionId":"cs_numbers","events":[{"seq":${seq},"type":"scroll","data":{"n":${n}}}]}`);
    const err = await ws.next((m) => m.type === 'error' && m.seq === undefined, { from });
    assert.equal(err.code, 'invalid_number', `for ${n}`);
  }
  assert.equal(ws.closed, null);
  const r = await cluster.query("SELECT (payload->'data'->>'big')::numeric = 1e39 AS ok FROM codesight.events WHERE session_id = 'cs_numbers'");
  assert.deepEqual(r.rows, [{ ok: true }]);
  ws.close();
});
