-- Admin SQL API, part 1: workers, tokens, session creation, privileges.
-- Random values (tokens, generated ids) and times are never printed; the
-- tests check their shape and their effect instead.
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

-- Helpers
SELECT codesight.to_base36(0) AS zero, codesight.to_base36(35) AS z,
       codesight.to_base36(36) AS ten, codesight.to_base36(1752000000000) AS ms;
SELECT codesight.to_base36(-1);
SELECT codesight.random_hex(12) ~ '^[0-9a-f]{12}$' AS hex12,
       codesight.random_hex(32) ~ '^[0-9a-f]{32}$' AS hex32,
       codesight.random_hex(32) <> codesight.random_hex(32) AS differ;
-- The base-36 part of a generated id is the creation time in milliseconds.
SELECT codesight.to_base36((extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS ms_before \gset
SELECT codesight.new_session_id() AS new_id \gset
SELECT :'new_id' ~ '^cs_[0-9a-z]{8,9}_[a-z0-9]{5}$' AS id_shape,
       split_part(:'new_id', '_', 2) COLLATE "C" >= :'ms_before'
       AND split_part(:'new_id', '_', 2) COLLATE "C"
           <= codesight.to_base36((extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS time_part,
       codesight.new_session_id() <> codesight.new_session_id() AS differ;
SELECT u AS url, codesight.url_host(u) AS host
  FROM unnest(ARRAY['https://Shop.Example.com/p?q=1', 'http://user:pw@h.com:8080/x',
                    'chrome://newtab/', 'about:blank', 'file:///tmp/a.html',
                    'http://[::1]:8787/', 'not a url', NULL]) AS u;
SELECT codesight.iso_time('2025-07-08 12:34:56.789+02') AS iso,
       codesight.iso_time(NULL) IS NULL AS null_stays_null,
       codesight.ms_between('2025-07-08 12:00:00+00', '2025-07-08 12:00:01.5+00') AS ms;

-- register_worker: a token of the documented shape; only the name is kept.
SELECT coalesce(max(worker_id), 0) AS w0 FROM codesight.workers \gset
SELECT r->>'displayName' AS name,
       r->>'token' ~ '^cs_w_[0-9a-f]{12}_[0-9a-f]{32}$' AS token_shape,
       jsonb_typeof(r->'workerId') AS id_type,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(r) k) AS keys
  FROM codesight.register_worker('  Ann Example ') AS r;
SELECT r->>'token' AS ann_token, (r->>'workerId')::bigint AS ann_id
  FROM codesight.register_worker('Ann Again') AS r \gset
-- No column that could hold an email or a hash of one (readable by every
-- codesight role, an unsalted hash gives the address back by guessing).
SELECT array_agg(attname::text ORDER BY attnum) AS worker_columns
  FROM pg_attribute
 WHERE attrelid = 'codesight.workers'::regclass AND attnum > 0 AND NOT attisdropped;
-- The stored hash is of the secret part; the token_id is the middle part.
SELECT t.kind, t.label, t.worker_id = :ann_id AS owner,
       t.secret_hash = sha256(convert_to(split_part(:'ann_token', '_', 4), 'UTF8')) AS hash_ok
  FROM codesight.tokens t WHERE t.token_id = split_part(:'ann_token', '_', 3);
-- Bad input
SELECT codesight.register_worker('   ');
SELECT codesight.register_worker(repeat('x', 201));
SELECT pg_temp.sqlstate($$SELECT codesight.register_worker(NULL)$$) AS null_name;
-- There is no email argument to pass an address to.
SELECT pg_temp.sqlstate($$SELECT codesight.register_worker('Bob', 'bob@example.com')$$) AS email_argument;
SELECT count(*) AS bobs FROM codesight.workers WHERE display_name = 'Bob';

-- verify_token: exactly the valid token, nothing else.
SELECT v.kind, v.worker_id = :ann_id AS owner, v.token_id = split_part(:'ann_token', '_', 3) AS id_ok
  FROM codesight.verify_token(:'ann_token') v;
SELECT count(*) AS wrong_secret
  FROM codesight.verify_token(left(:'ann_token', -1) ||
                              CASE right(:'ann_token', 1) WHEN '0' THEN '1' ELSE '0' END);
SELECT count(*) AS wrong_kind_letter FROM codesight.verify_token(replace(:'ann_token', 'cs_w_', 'cs_a_'));
SELECT count(*) AS upper_case FROM codesight.verify_token(upper(:'ann_token'));
SELECT count(*) AS trailing_space FROM codesight.verify_token(:'ann_token' || ' ');
SELECT count(*) AS malformed FROM codesight.verify_token('cs_w_nothex');
SELECT count(*) AS null_token FROM codesight.verify_token(NULL);
-- last_used_at is written on use, then at most once a minute.
SELECT last_used_at IS NOT NULL AND last_used_at > now() - interval '1 minute' AS touched
  FROM codesight.tokens WHERE token_id = split_part(:'ann_token', '_', 3);
UPDATE codesight.tokens SET last_used_at = now() - interval '30 seconds'
 WHERE token_id = split_part(:'ann_token', '_', 3);
SELECT count(*) FROM codesight.verify_token(:'ann_token');
SELECT last_used_at < now() - interval '29 seconds' AS not_rewritten_within_a_minute
  FROM codesight.tokens WHERE token_id = split_part(:'ann_token', '_', 3);
UPDATE codesight.tokens SET last_used_at = now() - interval '2 minutes'
 WHERE token_id = split_part(:'ann_token', '_', 3);
SELECT count(*) FROM codesight.verify_token(:'ann_token');
SELECT last_used_at > now() - interval '1 minute' AS rewritten_after_a_minute
  FROM codesight.tokens WHERE token_id = split_part(:'ann_token', '_', 3);

-- Admin tokens
SELECT r->>'token' AS admin_token, r->>'tokenId' AS admin_token_id
  FROM codesight.issue_admin_token('ops laptop') AS r \gset
SELECT :'admin_token' ~ '^cs_a_[0-9a-f]{12}_[0-9a-f]{32}$' AS admin_shape,
       split_part(:'admin_token', '_', 3) = :'admin_token_id' AS id_in_token;
SELECT kind, worker_id FROM codesight.verify_token(:'admin_token');
SELECT count(*) AS admin_as_worker FROM codesight.verify_token(replace(:'admin_token', 'cs_a_', 'cs_w_'));
SELECT codesight.create_token('root');

-- whoami
SELECT w - 'tokenId' - 'workerId' AS me, (w->>'workerId')::bigint = :ann_id AS id_ok
  FROM codesight.whoami(:'ann_token') AS w;
SELECT codesight.whoami(:'admin_token') - 'tokenId' AS admin_me;
SELECT codesight.whoami('cs_w_000000000000_00000000000000000000000000000000');

-- list_tokens shows every token, never a secret.
SELECT jsonb_array_length(l->'tokens') = (SELECT count(*) FROM codesight.tokens) AS all_listed,
       position(split_part(:'ann_token', '_', 4) IN l::text) = 0 AS no_worker_secret,
       position(split_part(:'admin_token', '_', 4) IN l::text) = 0 AS no_admin_secret,
       (SELECT array_agg(DISTINCT k ORDER BY k) FROM jsonb_array_elements(l->'tokens') t,
               jsonb_object_keys(t) k) AS keys
  FROM codesight.list_tokens() AS l;
SELECT t - 'tokenId' - 'createdAt' - 'workerId' - 'lastUsedAt' AS admin_entry,
       (t->>'lastUsedAt')::timestamptz > now() - interval '1 minute' AS used_just_now
  FROM jsonb_array_elements(codesight.list_tokens()->'tokens') t
 WHERE t->>'tokenId' = :'admin_token_id';

-- revoke_token: true once, then false; a revoked token no longer verifies.
SELECT codesight.revoke_token(:'admin_token_id') AS first, codesight.revoke_token(:'admin_token_id') AS second,
       codesight.revoke_token('ffffffffffff') AS unknown;
SELECT count(*) AS revoked_verifies FROM codesight.verify_token(:'admin_token');
SELECT (t->>'revokedAt') IS NOT NULL AS shows_revoked
  FROM jsonb_array_elements(codesight.list_tokens()->'tokens') t
 WHERE t->>'tokenId' = :'admin_token_id';

-- create_session with a worker token
SELECT codesight.create_session(:'ann_token', NULL, 'Mozilla/5.0 test') AS gen \gset
SELECT s->>'sessionId' ~ '^cs_[0-9a-z]{8,9}_[a-z0-9]{5}$' AS generated_shape,
       s->>'status' AS status, (s->>'workerId')::bigint = :ann_id AS owner,
       (s->>'startTime')::timestamptz > now() - interval '1 minute' AS started_now,
       (SELECT user_agent FROM codesight.sessions WHERE session_id = s->>'sessionId') AS user_agent
  FROM (SELECT :'gen'::jsonb AS s) x;
SELECT s - 'startTime' - 'workerId' AS given FROM codesight.create_session(:'ann_token', 'adm-s1') AS s;
-- The same worker asking again gets the same session back.
SELECT s - 'startTime' - 'workerId' AS again FROM codesight.create_session(:'ann_token', 'adm-s1') AS s;
SELECT count(*) AS one_row FROM codesight.sessions WHERE session_id = 'adm-s1';
-- Another worker may not take it.
SELECT r->>'token' AS bob_token, (r->>'workerId')::bigint AS bob_id
  FROM codesight.register_worker('Bob') AS r \gset
SELECT codesight.create_session(:'bob_token', 'adm-s1');
SELECT codesight.create_session(:'bob_token', 'bad id!');
SELECT codesight.create_session(:'bob_token', repeat('a', 65));
SELECT codesight.create_session(:'admin_token');
SELECT pg_temp.sqlstate(format('SELECT codesight.create_session(%L, %L)', :'bob_token', 'adm-s1')) AS conflict,
       pg_temp.sqlstate($$SELECT codesight.create_session('nope')$$) AS bad_token;
-- An admin token creates a session without an owner.
SELECT r->>'token' AS admin2_token FROM codesight.issue_admin_token() AS r \gset
SELECT s - 'startTime' AS admin_session FROM codesight.create_session(:'admin2_token', 'adm-s2') AS s;
-- The internal variant, for the HTTP layer that authenticated already.
SELECT s - 'startTime' - 'workerId' AS internal,
       (s->>'workerId')::bigint = :bob_id AS owner
  FROM codesight.create_session_for_worker(:bob_id, 'adm-s3', 'UA') AS s;
SELECT codesight.create_session_for_worker(-5, 'adm-s4');
-- A disabled worker can neither authenticate nor create sessions.
UPDATE codesight.workers SET disabled_at = now() WHERE worker_id = :bob_id;
SELECT count(*) AS disabled_verifies FROM codesight.verify_token(:'bob_token');
SELECT pg_temp.sqlstate(format('SELECT codesight.create_session_for_worker(%s)', :bob_id)) AS disabled;
UPDATE codesight.workers SET disabled_at = NULL WHERE worker_id = :bob_id;

-- Privileges: nothing in the schema is usable by PUBLIC; codesight_admin
-- may read.
CREATE ROLE regress_cs_plain;
CREATE ROLE regress_cs_admin IN ROLE codesight_admin;
SET ROLE regress_cs_plain;
SELECT codesight.list_sessions();
SELECT codesight.counts();
RESET ROLE;
SET ROLE regress_cs_admin;
SELECT (codesight.list_sessions('active', 10, 0, :ann_id)->'total')::int >= 1 AS admin_can_list;
SELECT (codesight.counts() ? 'sessionsByStatus') AS admin_can_count;
RESET ROLE;
SELECT p.proname AS public_executable
  FROM pg_proc p
 WHERE p.pronamespace = 'codesight'::regnamespace
   AND p.proname IN ('list_sessions', 'session_data', 'session_summary', 'session_events',
                     'recent_activity', 'register_worker', 'issue_admin_token', 'revoke_token',
                     'list_tokens', 'verify_token', 'whoami', 'create_token', 'create_session',
                     'create_session_for_worker', 'delete_session', 'delete_events',
                     'mark_idle_sessions', 'counts')
   AND has_function_privilege('regress_cs_plain', p.oid, 'EXECUTE');
DROP ROLE regress_cs_plain;
DROP ROLE regress_cs_admin;

-- Clean up so later tests start from the tables as they were.
DELETE FROM codesight.sessions WHERE session_id LIKE 'adm-%' OR worker_id > :w0;
DELETE FROM codesight.tokens WHERE worker_id > :w0 OR token_id = :'admin_token_id'
    OR token_id = split_part(:'admin2_token', '_', 3);
DELETE FROM codesight.workers WHERE worker_id > :w0;
