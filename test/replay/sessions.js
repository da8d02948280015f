'use strict';
// Loads the recorded-session fixtures (test/fixtures/sessions/*.json) into
// codesight.sessions and codesight.events the way the worker stores them:
// payload = {type, timestamp, data}, page_url = data.url,
// selector = data.selector, client_ts from the event timestamp.

const fs = require('node:fs');
const path = require('node:path');

const DIR = path.join(__dirname, '..', 'fixtures', 'sessions');

// The fixtures, sorted by file name.
function listFixtures() {
  return fs.readdirSync(DIR).filter((f) => /^flow-.*\.json$/.test(f)).sort()
    .map((f) => ({ file: f, ...JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) }));
}

// Inserts one fixture as a completed session (replacing an earlier copy).
// `db` is anything with query(sql, params), e.g. a pg.Pool.
async function loadFixture(db, fx, { sessionId = fx.sessionId } = {}) {
  const events = fx.events.map((e, i) => ({
    seq: i + 1, type: e.type, ts: e.timestamp,
    url: e.data.url ?? null, selector: e.data.selector ?? null,
    payload: { type: e.type, timestamp: e.timestamp, data: e.data },
  }));
  await db.query('DELETE FROM codesight.events WHERE session_id = $1', [sessionId]);
  await db.query('DELETE FROM codesight.sessions WHERE session_id = $1', [sessionId]);
  await db.query(
    `INSERT INTO codesight.sessions (session_id, status, started_at, ended_at, event_count, last_seq, max_seq)
     VALUES ($1, 'completed', to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0), $4, $4, $4)`,
    [sessionId, events[0].ts, events[events.length - 1].ts, events.length]);
  await db.query(
    `INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
     SELECT $1, e.seq, e.type, to_timestamp(e.ts / 1000.0), e.url, e.selector, e.payload
       FROM jsonb_to_recordset($2::jsonb) AS e(seq bigint, type text, ts double precision, url text, selector text, payload jsonb)`,
    [sessionId, JSON.stringify(events)]);
  return sessionId;
}

module.exports = { listFixtures, loadFixture, FIXTURE_DIR: DIR };
