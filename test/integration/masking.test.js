'use strict';
// Server-side masking end to end (docs/sanitization.md): a client that
// masked nothing sends, through the real WebSocket into a real cluster, the
// shapes of personal data a recording can hold (form fields by what they
// are, values in free text, URLs of GET forms, object keys, card numbers in
// every spelling, tokens and keys, session-level fields).  No personal value
// may appear in any stored byte: the tables, the server log, the table and
// WAL files on disk, and the exports (training_data, export_playwright,
// export_dataset, over SQL and HTTP).  Values that are training data, not
// personal data (quantities, prices, dates, ids, search terms, coordinates),
// must be stored as sent.  Then the number bound: an event of 1 MB of 1e1000
// is refused with invalid_number, and the largest accepted numbers stay
// within their bound in every answer.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startCluster, waitFor } = require('../lib/cluster');
const { connect } = require('../lib/wsclient');
const { api } = require('../lib/http');

let cluster;
let adminToken;

before(async () => {
  cluster = await startCluster();
  adminToken = (await cluster.query("SELECT codesight.issue_admin_token('masking') AS t")).rows[0].t.token;
});

after(async () => { if (cluster) await cluster.destroy(); });

// The personal values, each distinctive enough to be searched for in raw
// bytes.  Card numbers are Luhn-valid test numbers, one per spelling.
const P = {
  name: 'Annabel Quixote-Smythe',
  street: '742 Evergreen Terrace',
  postal: 'SW1A 2AA',
  email: 'annabel.quixote@example.org',
  phoneIntl: '+1 (415) 555-0199',
  phoneNat: '415-555-0199',
  birth: '1987-06-05',
  username: 'annabelq_77',
  password: 'Tr0ub4dor&3xyz',
  password2: 'c0rrect-h0rse-battery',
  cardName: 'ANNABEL Q SMYTHE',
  // Not DE89 3704 0044 0532 0130 00: the Playwright export's own test value.
  iban: 'DE44 5001 0517 5407 3249 31',
  ibanCompact: 'GB82WEST12345698765432',
  cardDots: '4012.8888.8888.1881',
  cardNbsp: '5555\u00a05555\u00a05555\u00a04444',
  cardSlash: '5105/1051/0510/5100',
  cardDouble: '6011  1111  1111  1117',
  cardFullWidth: '\uff13\uff15\uff13\uff10 \uff11\uff11\uff11\uff13 \uff13\uff13\uff13\uff10 \uff10\uff10\uff10\uff10',
  cardInUrl: '378282246310005',
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbm5hYmVsIn0.Qk9HVVNfU0lHTkFUVVJFX0ZPUl9URVNU',
  bearer: 'Zx9vQ2h8Lm4kT7pR3sW1yB6n',
  aws: 'AKIAJ7Q3EXAMPLEKEY12',
  github: 'ghp_R7fQ2mZ8xK4vB9nL1cT6yH3wJ5pD0sA2eU8i',
  slack: 'xoxb-2048-4096-Qk9HVVNTbGFjaw',
  stripe: 'sk_live_51Hx7QkEXAMPLEsecret0Ab',
  google: 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY',
};
// A card sent as a JSON number, and short values that are only searched
// for where they would stand (too short to search in raw bytes).
const CARD_AS_NUMBER = '4000056655665556';
const SHORT = { cvc: '8351', otp: '604719', expiry: '07/29' };

// Values that are training data and must be stored exactly as sent.
const KEEP = {
  qty: '3', search: 'trail runner shoes', price: '$1,299.99', ordered: '2024-11-26',
  sku: 'SKU-4471-XL', ts: '1732579200004', coords: '52.520008, 13.404954', coupon: 'SPRING10',
  city: 'Springfield', asin: 'B08N5WRWNW', size: 'size 42 EU / 8.5 US', isbn: 'ISBN 978-3-16-148410-0',
};

// Every spelling of every personal value a leak would show.
function needles() {
  const out = [];
  for (const [k, v] of Object.entries(P)) {
    out.push([k, v]);
    const digits = v.normalize('NFKC').replace(/\D/g, '');
    if (/^card|^iban/.test(k) && digits.length >= 12) out.push([`${k} (digits)`, digits]);
    if (/[^\x20-\x7e]/.test(v) || /[ /]/.test(v)) out.push([`${k} (url-encoded)`, encodeURIComponent(v)]);
  }
  out.push(['card as number', CARD_AS_NUMBER]);
  return out;
}

function luhn(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return sum % 10 === 0;
}

// Asserts that text holds none of the personal values.
function assertClean(what, text) {
  for (const [k, v] of needles()) {
    assert.ok(!text.includes(v), `${k} (${JSON.stringify(v)}) found in ${what}`);
  }
  for (const [k, v] of Object.entries(SHORT)) {
    assert.ok(!text.includes(JSON.stringify(v)) && !text.includes(`=${encodeURIComponent(v)}`),
      `${k} found in ${what}`);
  }
}

// A form field target as the extension describes it (docs/events.md).
function field(attrs, { label, tag = 'input', role = 'textbox', testId } = {}) {
  const selectors = { css: `#f-${attrs.name || attrs.id || 'x'}` };
  if (label) selectors.label = label;
  if (testId) selectors.testId = { attribute: 'data-testid', value: testId };
  return {
    selector: selectors.css,
    selectors,
    element: { tag, role, name: label || '', text: '', label, attributes: attrs },
  };
}

const enc = encodeURIComponent;
const PAGE = 'https://shop.example/checkout.html';

// The events of the recording, as a client that masks nothing sends them.
function recording() {
  const ev = [];
  const push = (type, data) => ev.push({ seq: ev.length + 1, type, timestamp: 1767232800000 + ev.length * 100, data: { url: PAGE, tabId: 7, ...data } });
  const input = (target, value, extra = {}) => push('input', { ...target, value, masked: null, inputType: target.element.attributes.type || 'text', ...extra });

  push('navigation', {
    url: `https://shop.example/thank-you.html?fullname=${enc(P.name)}&street=${enc(P.street)}&city=${KEEP.city}` +
      `&zip=${enc(P.postal)}&email=${enc(P.email)}&phone=${enc(P.phoneIntl)}&qty=${KEEP.qty}#name=${enc(P.name)}`,
    transitionType: 'form_submit',
  });
  input(field({ name: 'cvc', type: 'text' }), SHORT.cvc);                                         // 2
  input(field({ name: 'sec', autocomplete: 'cc-csc' }), SHORT.cvc);                              // 3
  input(field({ name: 'password', type: 'text' }), P.password);                                  // 4
  input(field({ name: 'fn' }, { label: 'Full name' }), P.name);                                   // 5
  input(field({ name: 'ship1', autocomplete: 'shipping street-address' }), P.street);            // 6
  input(field({ name: 'postcode' }, { label: 'Postcode' }), P.postal);                           // 7
  input(field({ name: 'contact_phone', type: 'tel' }), P.phoneIntl);                             // 8
  input(field({ name: 'd', type: 'date', 'aria-label': 'Date of birth' }), P.birth);             // 9
  input(field({ name: 'login', autocomplete: 'username' }), P.username);                         // 10
  input(field({ name: 'code', autocomplete: 'one-time-code' }), SHORT.otp);                      // 11
  input(field({ name: 'acct' }, { label: 'IBAN' }), P.iban);                                     // 12
  push('select', { ...field({ name: 'exp', autocomplete: 'cc-exp' }, { tag: 'select', role: 'combobox' }),
    value: SHORT.expiry, optionText: SHORT.expiry, selectedIndex: 4, masked: null });          // 13
  input(field({ name: 'holder', autocomplete: 'cc-name' }), P.cardName);                         // 14
  input(field({ name: 'contact' }), `mail me at ${P.email}`);                                    // 15
  push('click', {                                                                                // 16
    selector: `role=link[name="Call ${P.phoneNat}"]`,
    selectors: { role: { role: 'link', name: `Call ${P.phoneNat}` }, text: `Call ${P.phoneNat}` },
    element: {
      tag: 'a', role: 'link', name: `Call ${P.phoneNat}`,
      text: `Call us: ${P.phoneNat} or write ${P.email}; IBAN ${P.ibanCompact}`,
      attributes: { href: `/account/reset?token=${P.jwt}&lang=en` },
    },
    topUrl: `https://${P.username}:${P.password2}@shop.example/account`,
    framePath: [`iframe[src="https://pay.example/frame?cardnumber=${P.cardInUrl}&api_key=${P.stripe}"]`],
    coordinates: { x: 10, y: 20 },
  });
  input(field({ type: 'search', placeholder: 'Search products', name: 'q' }, { role: 'searchbox' }), KEEP.search); // 17
  input(field({ name: 'qty' }, { label: 'Quantity' }), KEEP.qty);                                // 18
  input(field({ name: 'coupon', placeholder: 'Promo code' }), KEEP.coupon);                      // 19
  input(field({ name: 'city' }, { label: 'City' }), KEEP.city);                                  // 20
  push('change', { ...field({ name: 'email_opt_in', type: 'checkbox' }), checked: true, value: 'on', inputType: 'checkbox' }); // 21
  push('page', {                                                                                 // 22
    action: 'load', title: 'Order confirmation',
    note: `Cards: ${P.cardDots}; ${P.cardNbsp}; ${P.cardSlash}; ${P.cardDouble}; ${P.cardFullWidth}. ` +
      `Authorization: Bearer ${P.bearer}. Keys: ${P.aws} ${P.github} ${P.slack} ${P.stripe} ${P.google}. ` +
      `Call ${P.phoneIntl}. Session ${P.jwt}.`,
    keep: { ...KEEP },
  });
  push('click', {                                                                                // 23
    selector: '#pay', orderRef: Number(CARD_AS_NUMBER), amountDue: 1299.99,
    [P.email]: { [P.cardDots.replace(/\D/g, '')]: 'key holds a card' },
  });
  return ev;
}

// The text of every text, json and jsonb column of every codesight table.
async function storedText() {
  const cols = await cluster.query(`SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'codesight' AND data_type IN ('text', 'jsonb', 'json', 'character varying')`);
  let out = '';
  for (const { table_name: t, column_name: c } of cols.rows) {
    const r = await cluster.query(`SELECT ${c}::text AS v FROM codesight.${t}`);
    for (const row of r.rows) out += `${t}.${c}: ${row.v}\n`;
  }
  return out;
}

// The files holding the codesight tables (heap, TOAST, indexes) and the WAL.
async function storageFiles() {
  await cluster.query('CHECKPOINT');
  const r = await cluster.query(`SELECT pg_relation_filepath(c.oid) AS p FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('codesight', 'pg_toast')
    AND c.relkind IN ('r', 't', 'i') AND pg_relation_filepath(c.oid) IS NOT NULL`);
  const files = [];
  for (const { p } of r.rows) {
    const base = path.join(cluster.datadir, p);
    for (const f of [base, `${base}.1`]) if (fs.existsSync(f)) files.push(f);
  }
  const wal = path.join(cluster.datadir, 'pg_wal');
  for (const f of fs.readdirSync(wal)) if (/^[0-9A-F]{24}$/.test(f)) files.push(path.join(wal, f));
  return files;
}

test('a client that masks nothing: no personal value in any stored byte, in the log or in the exports; training data kept', { timeout: 120000 }, async () => {
  for (const k of ['cardDots', 'cardNbsp', 'cardSlash', 'cardDouble', 'cardFullWidth', 'cardInUrl']) {
    assert.ok(luhn(P[k].normalize('NFKC').replace(/\D/g, '')), `test data: ${k} is a card number`);
  }
  assert.ok(luhn(CARD_AS_NUMBER));

  const sessionId = 'cs_masking_e2e';
  const ws = await connect(cluster.wsUrl);
  ws.send({
    type: 'session_start', sessionId, timestamp: 1767232800000,
    userAgent: `Mozilla/5.0 (X11; Linux x86_64) Chrome/156 contact=${P.email} Bearer ${P.bearer}`,
    extension: { name: 'CodeSight', version: '2.0', owner: P.email, apiKey: P.stripe },
  });
  await ws.next('session_started');
  const events = recording();
  ws.send({ type: 'events', sessionId, events });
  await ws.next((m) => m.type === 'ack' && m.seq === events.length);
  // v1: the original extension's flat navigation event, seq assigned by the server
  ws.send({ type: 'interaction_event', sessionId, event: { url: `https://shop.example/u/${P.email}?pin=${SHORT.otp}`, tabId: 7, timestamp: 1767232809000 } });
  await ws.next('event_received');
  ws.send({
    type: 'session_complete', sessionId, events: [{ type: 'input', data: { value: P.password } }],
    summary: { duration: 12, password: P.password2, user: { email: P.email, phone: P.phoneIntl }, notes: [P.cardDots, P.iban] },
  });
  await ws.next('session_complete_acknowledged');
  ws.close();

  // A session created over HTTP stores its user agent masked too.
  const reg = (await cluster.query("SELECT codesight.register_worker('Masking Tester') AS r")).rows[0].r;
  const created = await api(cluster.httpUrl, 'POST', '/api/sessions', { token: reg.token, body: { userAgent: `UA ${P.email}` } });
  assert.equal(created.status, 201, created.text);

  // Field by field: what the server made of each value.
  const rows = (await cluster.query('SELECT seq, type, page_url, selector, payload FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId])).rows;
  assert.equal(rows.length, events.length + 1);
  const data = (seq) => rows[seq - 1].payload.data;
  const expected = {
    2: '<CVC>', 3: '<CVC>', 4: '<PASSWORD>', 5: '<NAME>', 6: '<ADDRESS>', 7: '<POSTAL_CODE>', 8: '<PHONE>',
    9: '<BIRTH_DATE>', 10: '<USERNAME>', 11: '<ONE_TIME_CODE>', 12: '<IBAN>', 13: '<CARD_EXPIRY>', 14: '<CARD_NAME>',
    15: 'mail me at <EMAIL>', 17: KEEP.search, 18: KEEP.qty, 19: KEEP.coupon, 20: KEEP.city, 21: 'on',
  };
  for (const [seq, value] of Object.entries(expected)) assert.equal(data(seq).value, value, `event ${seq}`);
  assert.equal(data(13).optionText, '<CARD_EXPIRY>');
  assert.equal(rows[0].page_url, 'https://shop.example/thank-you.html?fullname=<NAME>&street=<ADDRESS>&city=Springfield' +
    '&zip=<POSTAL_CODE>&email=<EMAIL>&phone=<PHONE>&qty=3#name=<NAME>');
  assert.equal(rows[15].selector, 'role=link[name="Call <PHONE>"]');
  assert.equal(data(16).element.text, 'Call us: <PHONE> or write <EMAIL>; IBAN <IBAN>');
  assert.equal(data(16).element.attributes.href, '/account/reset?token=<TOKEN>&lang=en');
  assert.equal(data(16).topUrl, 'https://<USERNAME>:<PASSWORD>@shop.example/account');
  assert.deepEqual(data(16).framePath, ['iframe[src="https://pay.example/frame?cardnumber=<CARD_NUMBER>&api_key=<SECRET>"]']);
  assert.equal(data(22).note, 'Cards: <CARD_NUMBER>; <CARD_NUMBER>; <CARD_NUMBER>; <CARD_NUMBER>; <CARD_NUMBER>. ' +
    'Authorization: Bearer <TOKEN>. Keys: <SECRET> <TOKEN> <TOKEN> <SECRET> <SECRET>. Call <PHONE>. Session <TOKEN>.');
  assert.deepEqual(data(22).keep, KEEP, 'training data is stored as sent');
  assert.equal(data(23).orderRef, '<CARD_NUMBER>', 'a card number sent as a JSON number');
  assert.equal(data(23).amountDue, 1299.99);
  assert.deepEqual(data(23)['<EMAIL>'], { '<CARD_NUMBER>': 'key holds a card' });
  assert.equal(data(24).url, 'https://shop.example/u/<EMAIL>?pin=<PASSWORD>');
  const session = (await cluster.query('SELECT user_agent, extension, client_report FROM codesight.sessions WHERE session_id = $1', [sessionId])).rows[0];
  assert.equal(session.user_agent, 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156 contact=<EMAIL> Bearer <TOKEN>');
  assert.deepEqual(session.extension, { name: 'CodeSight', version: '2.0', owner: '<EMAIL>', apiKey: '<SECRET>' });
  assert.equal(session.client_report.summary.password, '<PASSWORD>');
  assert.deepEqual(session.client_report.summary.notes, ['<CARD_NUMBER>', '<IBAN>']);
  const httpUa = (await cluster.query('SELECT user_agent FROM codesight.sessions WHERE session_id = $1', [created.json.sessionId])).rows[0];
  assert.equal(httpUa.user_agent, 'UA <EMAIL>');

  // Every stored text, every export, the log, the bytes on disk.
  assertClean('the codesight tables', await storedText());
  for (const [what, sql] of [
    ['training_data()', 'SELECT codesight.training_data($1)::text AS t'],
    ['export_playwright()', 'SELECT codesight.export_playwright($1) AS t'],
    ['session_data()', 'SELECT codesight.session_data($1)::text AS t'],
  ]) {
    const t = (await cluster.query(sql, [sessionId])).rows[0].t;
    assert.ok(t && t.length > 100, `${what} exported something`);
    assertClean(what, t);
  }
  const dataset = (await cluster.query('SELECT string_agg(d::text, E\'\\n\') AS t FROM codesight.export_dataset() AS d')).rows[0].t;
  assert.ok(dataset && dataset.includes(sessionId), 'export_dataset() holds the session');
  assertClean('export_dataset()', dataset);
  for (const route of [`/api/extension/sessions/${sessionId}/training-data`, `/api/extension/sessions/${sessionId}/playwright`,
    `/api/extension/sessions/${sessionId}/events`, `/api/extension/sessions/${sessionId}/data`, '/api/export/dataset.jsonl']) {
    const r = await api(cluster.httpUrl, 'GET', route, { token: adminToken });
    assert.equal(r.status, 200, `${route}: ${r.text.slice(0, 200)}`);
    assertClean(`GET ${route}`, r.text);
  }
  assertClean('the server log', cluster.log());
  let scanned = 0;
  for (const f of await storageFiles()) {
    const bytes = fs.readFileSync(f);
    scanned += bytes.length;
    for (const [k, v] of needles()) {
      if (Buffer.byteLength(v) < 8) continue;
      assert.equal(bytes.indexOf(Buffer.from(v)), -1, `${k} found in ${path.relative(cluster.datadir, f)}`);
    }
  }
  assert.ok(scanned > 0, 'table and WAL files were scanned');
});

test('numbers: a 1 MB event of 1e1000 is refused with invalid_number; the largest accepted numbers stay bounded in every answer', { timeout: 120000 }, async () => {
  const sessionId = 'cs_masking_numbers';
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'session_start', sessionId });
  await ws.next('session_started');
  const pid = await cluster.workerPid();

  const message = (seq, number, bytes) => {
    const head = `{"type":"events","sessionId":"${sessionId}","events":[{"seq":${seq},"type":"scroll","data":{"n":[`;
    const tail = ']}}]}';
    const count = Math.floor((bytes - head.length - tail.length) / (number.length + 1));
    return { text: head + Array(count).fill(number).join(',') + tail, count };
  };
  // Each refused event has its own seq: a refused seq may count as handled.
  const refused = async (seq, text, what) => {
    const from = ws.messages.length;
    ws.send(text);
    const err = await ws.next((m) => m.type === 'error' && m.seq === seq, { from });
    assert.equal(err.code, 'invalid_number', what);
  };
  // 1e1000 prints as 1001 characters: the event is refused, nothing stored.
  const big = message(1, '1e1000', 1000 * 1000);
  assert.ok(big.text.length > 990000 && big.text.length <= 1000 * 1000);
  await refused(1, big.text, '1 MB of 1e1000');
  // One past the bound (41 characters).
  let seq = 2;
  for (const n of ['1e40', '-1e39', '1e-39', '12345678901234567890123456789012345678901']) {
    await refused(seq, `{"type":"events","sessionId":"${sessionId}","events":[{"seq":${seq},"type":"scroll","data":{"n":${n}}}]}`, n);
    seq++;
  }
  // Beyond what jsonb can hold at all: the whole message (an error without seq).
  const from = ws.messages.length;
  ws.send(`{"type":"events","sessionId":"${sessionId}","events":[{"seq":${seq},"type":"scroll","data":{"n":1e1001}}]}`);
  assert.equal((await ws.next((m) => m.type === 'error' && m.seq === undefined, { from })).code, 'invalid_number');
  // The bound itself: 1e39 prints as 40 characters.
  const ok = message(seq, '1e39', 256 * 1024);
  ws.send(ok.text);
  await waitFor(async () => (await cluster.query('SELECT 1 FROM codesight.events WHERE session_id = $1 AND seq = $2', [sessionId, seq])).rows.length === 1,
    { what: `event ${seq} stored` });
  assert.equal(ws.closed, null, 'the connection stays open');
  assert.equal(await cluster.workerPid(), pid, 'same worker');

  // Stored and answered: each number as at most 40 characters.
  const stored = (await cluster.query(`SELECT seq, octet_length(payload::text) AS n, jsonb_array_length(payload->'data'->'n') AS count
    FROM codesight.events WHERE session_id = $1`, [sessionId])).rows;
  assert.deepEqual(stored.map((r) => Number(r.seq)), [seq], 'only the event within the bound is stored');
  assert.equal(stored[0].count, ok.count);
  assert.ok(stored[0].n <= ok.count * 42 + 200, `payload text ${stored[0].n} bytes for ${ok.count} numbers`);
  const answer = await api(cluster.httpUrl, 'GET', `/api/extension/sessions/${sessionId}/events`, { token: adminToken });
  assert.equal(answer.status, 200);
  assert.ok(answer.text.length <= ok.count * 42 + 2000, `GET /events: ${answer.text.length} bytes for a ${ok.text.length}-byte message`);
  assert.ok(answer.text.length / ok.text.length < 9, 'at most 8.4 times the message (1e39 prints as 40 characters)');
  ws.close();
});
