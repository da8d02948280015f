'use strict';
// The conventional reference the worker is compared with: a Node.js `ws`
// server that speaks the original extension's protocol (v1) and stores each
// interaction_event with its own INSERT through a pg.Pool of 10 (autocommit,
// so one durable commit per event), answering event_received after it.
// Benchmark only: no auth, no sanitization, no validation beyond JSON.parse.
//
//   PGHOST=/tmp/x PGPORT=5432 PGDATABASE=postgres PGUSER=postgres \
//     node server.js --port 9000
// Prints "listening PORT" once ready.

const { WebSocketServer } = require('ws');
const pg = require('pg');

const argPort = process.argv.indexOf('--port');
const port = argPort > 0 ? Number(process.argv[argPort + 1]) : 0;
const pool = new pg.Pool({ max: 10 });
pool.on('error', () => {});

const INSERT_EVENT =
  'INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload) ' +
  'VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), $5, $6, $7)';
const START_SESSION =
  "INSERT INTO codesight.sessions (session_id, user_agent, extension) VALUES ($1, $2, $3) " +
  'ON CONFLICT (session_id) DO NOTHING';

const wss = new WebSocketServer({ port, host: '127.0.0.1', path: '/extension-ws' });
wss.on('listening', () => console.log('listening ' + wss.address().port));
wss.on('connection', (ws) => {
  const seqs = new Map(); // sessionId -> next seq (assigned in arrival order)
  let stored = 0;
  ws.send(JSON.stringify({ type: 'connected', protocol: 1 }));
  ws.on('message', async (raw) => {
    let m;
    try { m = JSON.parse(raw.toString()); } catch { return; }
    try {
      if (m.type === 'session_start') {
        await pool.query(START_SESSION, [m.sessionId, m.userAgent || null, m.extension || null]);
        seqs.set(m.sessionId, 1);
        ws.send(JSON.stringify({ type: 'session_started', sessionId: m.sessionId, lastSeq: 0 }));
      } else if (m.type === 'interaction_event') {
        const seq = seqs.get(m.sessionId) || 1;
        seqs.set(m.sessionId, seq + 1);
        const ev = m.event || {};
        const data = ev.data || {};
        await pool.query(INSERT_EVENT, [m.sessionId, seq, ev.type, m.timestamp,
          data.url || null, data.selector || null,
          { type: ev.type, timestamp: m.timestamp, data }]);
        stored++;
        ws.send(JSON.stringify({ type: 'event_received', eventCount: stored }));
      } else if (m.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong', timestamp: Date.now() }));
      }
    } catch (e) {
      ws.send(JSON.stringify({ type: 'error', code: 'store_failed', message: e.message }));
    }
  });
});
process.on('SIGTERM', () => process.exit(0));
