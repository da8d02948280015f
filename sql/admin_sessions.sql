-- Admin SQL API, part 2: session listings, documents, deletion, idle
-- marking and counts.  Finished sessions have fixed times and are printed
-- whole; active ones are stamped "now" (so a running worker never finds them
-- idle) and their times are left out of the output.
\set SHOW_CONTEXT never

-- Returns the SQLSTATE a statement fails with, or 'ok'.
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

SELECT (codesight.register_worker('Carol')->>'workerId')::bigint AS carol \gset
SELECT (codesight.register_worker('Dan')->>'workerId')::bigint AS dan \gset

INSERT INTO codesight.sessions (session_id, worker_id, status, started_at, ended_at, last_event_at,
                                user_agent, extension, last_seq, max_seq, event_count)
VALUES ('ses-done', :carol, 'completed', '2025-07-01 10:00:00Z', '2025-07-01 10:05:00Z',
        '2025-07-01 10:04:59Z', 'Mozilla/5.0', '{"name": "CodeSight", "version": "1.0"}', 8, 8, 8),
       ('ses-live', :carol, 'active', now() - interval '1 minute', NULL, now() - interval '1 second',
        NULL, NULL, 3, 3, 3),
       ('ses-long', :dan, 'active', '2025-01-01 00:00:00Z', NULL, now(), NULL, NULL, 1, 1, 1),
       ('ses-gone', :dan, 'disconnected', '2025-07-01 09:00:00Z', NULL, '2025-07-01 09:10:00Z',
        NULL, NULL, 2, 2, 2),
       ('ses-old', :dan, 'abandoned', '2025-06-30 08:00:00Z', '2025-06-30 08:00:00Z', NULL,
        NULL, NULL, 0, 0, 0);

-- Builds an event row the way the worker stores it: payload {type,
-- timestamp, data}, data.url copied to page_url, data.selector to selector.
CREATE FUNCTION pg_temp.ev(sid text, seq bigint, type text, ts timestamptz, data jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO codesight.events (session_id, seq, type, client_ts, received_at, page_url, selector, payload)
    VALUES (sid, seq, type, ts, ts + interval '50 milliseconds', data->>'url', data->>'selector',
            jsonb_build_object('type', type,
                               'timestamp', (extract(epoch FROM ts) * 1000)::bigint,
                               'data', data));
$$;

SELECT pg_temp.ev('ses-done', 1, 'navigation', '2025-07-01 10:00:01Z',
                  '{"url": "https://shop.example.com/", "transitionType": "typed"}'),
       pg_temp.ev('ses-done', 2, 'click', '2025-07-01 10:00:10Z',
                  '{"url": "https://shop.example.com/", "selector": "#search", "coordinates": {"x": 5, "y": 6}}'),
       pg_temp.ev('ses-done', 3, 'input', '2025-07-01 10:00:15Z',
                  '{"url": "https://shop.example.com/", "selector": "#search", "value": "shoes"}'),
       pg_temp.ev('ses-done', 4, 'scroll', '2025-07-01 10:01:00Z',
                  '{"url": "https://shop.example.com/s?q=shoes", "direction": "down"}'),
       pg_temp.ev('ses-done', 5, 'click', '2025-07-01 10:02:00Z',
                  '{"url": "https://Shop.Example.com/p/1", "selector": "[data-testid=\"add-to-cart\"]"}'),
       pg_temp.ev('ses-done', 6, 'navigation', '2025-07-01 10:03:00Z',
                  '{"url": "https://pay.example.net/checkout", "transitionType": "link"}'),
       pg_temp.ev('ses-done', 7, 'input', '2025-07-01 10:04:00Z',
                  '{"url": "https://pay.example.net/checkout", "selector": "#email", "value": "<EMAIL>", "masked": "email"}'),
       pg_temp.ev('ses-done', 8, 'submit', '2025-07-01 10:04:59Z',
                  '{"url": "https://shop.example.com/thanks", "formSelector": "form"}'),
       pg_temp.ev('ses-live', 1, 'page', now() - interval '50 seconds',
                  '{"url": "https://live.example.org/", "action": "load"}'),
       pg_temp.ev('ses-live', 2, 'click', now() - interval '40 seconds',
                  '{"url": "https://live.example.org/", "selector": "button"}'),
       pg_temp.ev('ses-live', 3, 'hover', now() - interval '30 seconds',
                  '{"url": "https://live.example.org/", "durationMs": 800}'),
       pg_temp.ev('ses-long', 1, 'click', now() - interval '1 second',
                  '{"url": "https://long.example.org/"}'),
       pg_temp.ev('ses-gone', 1, 'navigation', '2025-07-01 09:00:05Z', '{"url": "about:blank"}'),
       pg_temp.ev('ses-gone', 2, 'tab', '2025-07-01 09:10:00Z', '{"action": "closed", "tabId": 4}');

INSERT INTO codesight.uploads (session_id, kind, bucket, object_key, content_type, size_bytes,
                               status, created_at)
VALUES ('ses-done', 'video', 'b', 'k/video.webm', 'video/webm', 1000, 'complete', '2025-07-01 10:05:01Z'),
       ('ses-done', 'audio', 'b', 'k/audio.webm', 'audio/webm', 10, 'pending', '2025-07-01 10:05:02Z');

-- session_data: the Extension Session Data document, events in seq order.
SELECT jsonb_pretty(codesight.session_data('ses-done'));
-- While active there is no end and no duration.
SELECT d->'endTime' AS end_time, d->'duration' AS duration, d->'totalEvents' AS total,
       d->'summary' AS summary,
       (SELECT jsonb_agg(e->'type') FROM jsonb_array_elements(d->'events') e) AS types
  FROM codesight.session_data('ses-live') d;
-- A session that lost its client lasts until its last event.
SELECT d - 'events' AS gone FROM codesight.session_data('ses-gone') d;
SELECT codesight.session_data('ses-old') - 'startTime' - 'endTime' AS empty;
SELECT codesight.session_data('no-such-session');
SELECT pg_temp.sqlstate($$SELECT codesight.session_data('no-such-session')$$) AS unknown_data;
-- session_data_json (what GET .../data serves) is session_data's text, byte for byte.
SELECT s AS session, codesight.session_data_json(s)::text = codesight.session_data(s)::text AS same_bytes
  FROM unnest(ARRAY['ses-done', 'ses-live', 'ses-gone', 'ses-old']) s;
SELECT pg_temp.sqlstate($$SELECT codesight.session_data_json('no-such-session')$$) AS unknown_data_json;

-- session_summary
SELECT jsonb_pretty(s - 'workerId') AS summary, (s->>'workerId')::bigint = :carol AS worker_ok
  FROM codesight.session_summary('ses-done') s;
SELECT s - 'startTime' - 'lastEventAt' - 'workerId' AS live_summary
  FROM codesight.session_summary('ses-live') s;
SELECT pg_temp.sqlstate($$SELECT codesight.session_summary('no-such-session')$$) AS unknown_summary;

-- session_events: keyset pages over seq.
SELECT jsonb_pretty(codesight.session_events('ses-done', 0, 2));
SELECT (SELECT jsonb_agg(e->'seq') FROM jsonb_array_elements(p->'events') e) AS seqs, p->'nextAfter' AS next
  FROM codesight.session_events('ses-done', 2, 3) p;
-- A page that ends exactly at the last event says there is no next page.
SELECT (SELECT jsonb_agg(e->'seq') FROM jsonb_array_elements(p->'events') e) AS seqs, p->'nextAfter' AS next
  FROM codesight.session_events('ses-done', 5, 3) p;
SELECT codesight.session_events('ses-done', 8) AS past_the_end;
SELECT (SELECT count(*) FROM jsonb_array_elements(p->'events')) AS all_in_one, p->'nextAfter' AS next
  FROM codesight.session_events('ses-done') p;
-- A timestamp without client_ts falls back to the payload's own.
UPDATE codesight.events SET client_ts = NULL WHERE session_id = 'ses-gone' AND seq = 2;
SELECT codesight.session_events('ses-gone', 1)->'events'->0->'timestamp' AS fallback_ts;
SELECT codesight.session_events('ses-done', 0, 0);
SELECT pg_temp.sqlstate($$SELECT codesight.session_events('no-such-session')$$) AS unknown_events;

-- list_sessions: newest first, per worker, per status, paged.
SELECT l->'total' AS total, l->'limit' AS lim, l->'offset' AS off,
       (SELECT jsonb_agg(s->'sessionId') FROM jsonb_array_elements(l->'sessions') s) AS ids
  FROM codesight.list_sessions(worker_id => :carol) l;
SELECT jsonb_pretty(s - 'workerId') AS done_entry
  FROM jsonb_array_elements(codesight.list_sessions(worker_id => :carol)->'sessions') s
 WHERE s->>'sessionId' = 'ses-done';
SELECT s->'status' AS status, s->'pagesVisited' AS pages, s->'eventCount' AS events,
       s->'uploads' AS uploads, s->'uploadsPresent' AS uploads_present, s->'durationMs' AS duration
  FROM jsonb_array_elements(codesight.list_sessions(worker_id => :carol)->'sessions') s
 WHERE s->>'sessionId' = 'ses-live';
SELECT l->'total' AS total,
       (SELECT jsonb_agg(s->'sessionId') FROM jsonb_array_elements(l->'sessions') s) AS ids
  FROM codesight.list_sessions('completed', 10, 0, :carol) l;
SELECT l->'total' AS total,
       (SELECT jsonb_agg(s->'sessionId') FROM jsonb_array_elements(l->'sessions') s) AS ids
  FROM codesight.list_sessions(NULL, 1, 1, :dan) l;
SELECT l->'total' AS total, l->'sessions' AS sessions
  FROM codesight.list_sessions(NULL, 0, 0, :dan) l;
SELECT l->'total' AS total, l->'sessions'->0->'sessionId' AS only
  FROM codesight.list_sessions('abandoned', 10, 0, :dan) l;
SELECT codesight.list_sessions(lim => 5000)->'limit' AS capped;
SELECT codesight.list_sessions('done');
SELECT codesight.list_sessions(lim => -1);
SELECT codesight.list_sessions(off => -1);

-- recent_activity: the latest sessions by activity and their latest events.
SELECT (SELECT jsonb_agg(s->'sessionId') FROM jsonb_array_elements(r->'sessions') s) AS sessions,
       (SELECT jsonb_agg(jsonb_build_array(e->'sessionId', e->'seq', e->'type'))
          FROM jsonb_array_elements(r->'events') e) AS events
  FROM codesight.recent_activity(3) r;
-- A long-running active session with a fresh event comes first even though
-- it started before every other session.
SELECT (SELECT jsonb_agg(s->'sessionId') FROM jsonb_array_elements(r->'sessions') s) AS sessions,
       (SELECT jsonb_agg(jsonb_build_array(e->'sessionId', e->'seq', e->'url'))
          FROM jsonb_array_elements(r->'events') e) AS events
  FROM codesight.recent_activity(1) r;
SELECT (SELECT array_agg(DISTINCT k ORDER BY k) FROM jsonb_array_elements(r->'sessions') s,
               jsonb_object_keys(s) k) AS session_keys,
       (SELECT array_agg(DISTINCT k ORDER BY k) FROM jsonb_array_elements(r->'events') e,
               jsonb_object_keys(e) k) AS event_keys
  FROM codesight.recent_activity() r;
SELECT codesight.recent_activity(0);

-- counts: exact numbers, matching the tables.
SELECT c->'workers' = to_jsonb((SELECT count(*) FROM codesight.workers)) AS workers,
       c->'tokens' = to_jsonb((SELECT count(*) FROM codesight.tokens)) AS tokens,
       c->'sessions' = to_jsonb((SELECT count(*) FROM codesight.sessions)) AS sessions,
       c->'events' = to_jsonb((SELECT count(*) FROM codesight.events)) AS events,
       c->'uploads' = to_jsonb((SELECT count(*) FROM codesight.uploads)) AS uploads,
       c->'activeSessions' = c->'sessionsByStatus'->'active' AS active,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(c->'sessionsByStatus') k) AS statuses,
       (c ? 'liveConnections') = (to_regprocedure('codesight.worker_status()') IS NOT NULL) AS live_iff_worker
  FROM codesight.counts() c;
SELECT codesight.counts() AS c0 \gset
INSERT INTO codesight.sessions (session_id, status) VALUES ('ses-count', 'completed');
SELECT (c->>'sessions')::int - (:'c0'::jsonb->>'sessions')::int AS more_sessions,
       (c->'sessionsByStatus'->>'completed')::int
       - (:'c0'::jsonb->'sessionsByStatus'->>'completed')::int AS more_completed
  FROM codesight.counts() c;
DELETE FROM codesight.sessions WHERE session_id = 'ses-count';

-- delete_events: only the owner (or an admin, worker_id NULL); seqs that do
-- not exist are skipped; last_seq stays so the client does not resend.
SELECT codesight.delete_events('ses-done', '{2,3}', :dan);
SELECT pg_temp.sqlstate(format('SELECT codesight.delete_events(%L, %L, %s)', 'ses-done', '{2}', :dan)) AS not_owner;
SELECT codesight.delete_events('ses-done', '{2,3,99}', :carol) AS deleted;
SELECT event_count, last_seq, max_seq FROM codesight.sessions WHERE session_id = 'ses-done';
SELECT array_agg(seq ORDER BY seq) AS left_seqs FROM codesight.events WHERE session_id = 'ses-done';
SELECT codesight.delete_events('ses-done', '{8}') AS admin_deleted,
       codesight.delete_events('ses-done', '{8}') AS again,
       codesight.delete_events('no-such-session', '{1}') AS unknown;
SELECT codesight.session_data('ses-done')->'totalEvents' AS total_after,
       codesight.session_data('ses-done')->'summary'->'inputs' AS inputs_after;

-- delete_session: events, uploads and the session go, for the owner only.
SELECT codesight.delete_session('ses-done', :dan);
SELECT codesight.delete_session('ses-done', :carol) AS deleted,
       codesight.delete_session('ses-done', :carol) AS again;
SELECT (SELECT count(*) FROM codesight.sessions WHERE session_id = 'ses-done') AS sessions,
       (SELECT count(*) FROM codesight.events WHERE session_id = 'ses-done') AS events,
       (SELECT count(*) FROM codesight.uploads WHERE session_id = 'ses-done') AS uploads;
SELECT codesight.delete_session('ses-gone') AS admin_deleted;

-- mark_idle_sessions, inside a transaction so a running worker cannot mark
-- these sessions first.
BEGIN;
INSERT INTO codesight.sessions (session_id, status, started_at, last_event_at, updated_at)
VALUES ('idle-events', 'active', now() - interval '3 hours', now() - interval '2 hours', now()),
       ('idle-none', 'active', now() - interval '2 hours', NULL, now()),
       ('fresh-none', 'active', now() - interval '10 minutes', NULL, now()),
       ('fresh-events', 'active', now() - interval '3 hours', now() - interval '1 minute', now()),
       ('disc-old', 'disconnected', now() - interval '3 hours', now() - interval '2 hours',
        now() - interval '2 hours'),
       ('disc-new', 'disconnected', now() - interval '3 hours', now() - interval '10 minutes',
        now() - interval '10 minutes');
SELECT codesight.mark_idle_sessions('1 hour') AS marked;
SELECT codesight.mark_idle_sessions('1 hour') AS marked_again;
SELECT codesight.mark_idle_sessions('1 hour', '30 minutes') AS with_grace;
SELECT session_id, status,
       ended_at = coalesce(last_event_at, started_at) AS ended_at_last_activity
  FROM codesight.sessions
 WHERE session_id IN ('idle-events', 'idle-none', 'fresh-none', 'fresh-events', 'disc-old', 'disc-new')
 ORDER BY session_id;
ROLLBACK;
SELECT codesight.mark_idle_sessions('0 seconds');
SELECT codesight.mark_idle_sessions(NULL);
SELECT codesight.mark_idle_sessions('1 hour', '-1 minute');

-- Clean up so later tests start from the tables as they were.
SELECT codesight.delete_session(s) FROM unnest(ARRAY['ses-live', 'ses-long', 'ses-old']) s;
DELETE FROM codesight.workers WHERE worker_id IN (:carol, :dan);
