-- Worker-facing SQL in an instance where the worker does not run
-- (test/codesight.conf sets codesight.port = 0): worker_status() and
-- health() shapes, the schema rule that session-scoped tables are keyed by
-- session_id, and who may call and read what.  No pids, times or ports
-- are printed.
\set SHOW_CONTEXT never

-- Returns the SQLSTATE and message a statement fails with, or 'ok'.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

------------------------------------------------------------------------------
-- worker_status(): preloaded, but the worker is disabled (port 0)
------------------------------------------------------------------------------
SELECT k AS key, jsonb_typeof(codesight.worker_status() -> k) AS type
  FROM jsonb_object_keys(codesight.worker_status()) AS k
 ORDER BY k;

SELECT w->'preloaded' AS preloaded, w->'running' AS running, w->'listening' AS listening,
       w->'port' AS port, w->'listenAddress' AS listen_address,
       w->'startedAt' AS started_at, w->'uptimeSeconds' AS uptime,
       w->'connections' AS connections, w->'queueDepth' AS queue_depth,
       w->'eventsReceived' AS received, w->'eventsCommitted' AS committed,
       w->'lastCommitAt' AS last_commit
  FROM codesight.worker_status() AS w;

-- STABLE, and a C function in the module.
SELECT p.provolatile, l.lanname, p.prorettype::regtype
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.oid = 'codesight.worker_status()'::regprocedure;

------------------------------------------------------------------------------
-- health(): "degraded" when the worker does not listen
------------------------------------------------------------------------------
SELECT array_agg(k ORDER BY k) AS keys
  FROM jsonb_object_keys(codesight.health()) AS k;

SELECT h->>'status' AS status,
       h->>'database' = current_database() AS database_is_current,
       h->>'extensionVersion' AS extension_version,
       h->>'serverVersion' = current_setting('server_version') AS server_version,
       h->>'time' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$' AS time_is_iso_utc,
       (h->>'time')::timestamptz BETWEEN now() - interval '1 minute' AND clock_timestamp() AS time_is_now,
       (h->'worker') - 'uptimeSeconds'::text = codesight.worker_status() - 'uptimeSeconds'::text AS worker_is_status
  FROM codesight.health() AS h;

-- The time does not depend on the session's TimeZone.
SET TimeZone = 'America/Los_Angeles';
SELECT codesight.health()->>'time' ~ 'Z$' AS utc,
       abs(extract(epoch FROM (codesight.health()->>'time')::timestamptz - now())) < 60 AS close_to_now;
RESET TimeZone;

------------------------------------------------------------------------------
-- Schema: every session-scoped table has session_id in its primary key
------------------------------------------------------------------------------
SELECT c.relname AS table_name,
       (SELECT array_agg(a.attname ORDER BY k.ord)
          FROM pg_constraint pk
          CROSS JOIN LATERAL unnest(pk.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = pk.conrelid AND a.attnum = k.attnum
         WHERE pk.conrelid = c.oid AND pk.contype = 'p') AS primary_key,
       EXISTS (SELECT FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'session_id' AND NOT a.attisdropped) AS has_session_id
  FROM pg_class c
 WHERE c.relnamespace = 'codesight'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY c.relname;

-- The rule itself: no table with a session_id column lacks it in its key,
-- and every table has a primary key.
SELECT c.relname AS violates
  FROM pg_class c
 WHERE c.relnamespace = 'codesight'::regnamespace AND c.relkind IN ('r', 'p')
   AND (NOT EXISTS (SELECT FROM pg_constraint pk WHERE pk.conrelid = c.oid AND pk.contype = 'p')
        OR EXISTS (SELECT FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'session_id' AND NOT a.attisdropped
                      AND NOT EXISTS (SELECT FROM pg_constraint pk
                                       WHERE pk.conrelid = c.oid AND pk.contype = 'p'
                                         AND a.attnum = ANY (pk.conkey))));

-- session_id leads the key of the child tables, so a session's rows are one
-- index range.
SELECT c.relname, a.attname AS first_key_column
  FROM pg_constraint pk
  JOIN pg_class c ON c.oid = pk.conrelid
  JOIN pg_attribute a ON a.attrelid = pk.conrelid AND a.attnum = pk.conkey[1]
 WHERE c.relnamespace = 'codesight'::regnamespace AND pk.contype = 'p'
   AND c.relname IN ('sessions', 'events', 'uploads')
 ORDER BY c.relname;

------------------------------------------------------------------------------
-- Privileges
------------------------------------------------------------------------------
-- Nothing in the schema is granted to PUBLIC.
SELECT count(*) AS public_function_grants
  FROM pg_proc p CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) acl
 WHERE p.pronamespace = 'codesight'::regnamespace AND acl.grantee = 0;
SELECT count(*) AS public_table_grants
  FROM pg_class c CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) acl
 WHERE c.relnamespace = 'codesight'::regnamespace AND acl.grantee = 0;
SELECT has_schema_privilege('public', 'codesight', 'USAGE') AS public_schema_usage;

-- codesight_admin may call every function but the internal one and s3_presign, and read
-- every table, but not write it.
SELECT p.proname
  FROM pg_proc p
 WHERE p.pronamespace = 'codesight'::regnamespace
   AND NOT has_function_privilege('codesight_admin', p.oid, 'EXECUTE')
 ORDER BY 1;
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'codesight'::regnamespace AND c.relkind IN ('r', 'p')
   AND NOT has_table_privilege('codesight_admin', c.oid, 'SELECT')
 ORDER BY 1;
SELECT c.relname, p.priv
  FROM pg_class c, unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)
 WHERE c.relnamespace = 'codesight'::regnamespace AND c.relkind IN ('r', 'p')
   AND has_table_privilege('codesight_admin', c.oid, p.priv)
 ORDER BY 1, 2;

CREATE ROLE regress_core_plain;
CREATE ROLE regress_core_admin IN ROLE codesight_admin;
INSERT INTO codesight.sessions (session_id) VALUES ('core_s1');

-- A plain role is refused everything, at the schema.
SET ROLE regress_core_plain;
SELECT pg_temp.try('SELECT codesight.worker_status()') AS worker_status;
SELECT pg_temp.try('SELECT codesight.health()') AS health;
SELECT pg_temp.try('SELECT codesight.list_sessions()') AS list_sessions;
SELECT pg_temp.try('SELECT count(*) FROM codesight.sessions') AS sessions;
SELECT pg_temp.try('SELECT count(*) FROM codesight.tokens') AS tokens;
RESET ROLE;

-- With USAGE on the schema, the functions and tables themselves refuse.
GRANT USAGE ON SCHEMA codesight TO regress_core_plain;
SET ROLE regress_core_plain;
SELECT pg_temp.try('SELECT codesight.worker_status()') AS worker_status;
SELECT pg_temp.try('SELECT codesight.health()') AS health;
SELECT pg_temp.try('SELECT codesight.counts()') AS counts;
SELECT pg_temp.try('SELECT codesight.issue_admin_token()') AS issue_admin_token;
SELECT pg_temp.try('SELECT count(*) FROM codesight.events') AS events;
SELECT pg_temp.try('SELECT secret_hash FROM codesight.tokens') AS tokens;
SELECT pg_temp.try($$INSERT INTO codesight.sessions (session_id) VALUES ('x')$$) AS insert_session;
RESET ROLE;
REVOKE USAGE ON SCHEMA codesight FROM regress_core_plain;

-- A member of codesight_admin calls the read functions and reads tables.
SET ROLE regress_core_admin;
SELECT codesight.worker_status()->'running' AS running;
SELECT codesight.health()->>'status' AS status;
SELECT (c->>'sessions')::bigint = (SELECT count(*) FROM codesight.sessions) AS sessions,
       (c->>'events')::bigint = (SELECT count(*) FROM codesight.events) AS events,
       (c->>'workers')::bigint = (SELECT count(*) FROM codesight.workers) AS workers,
       c->'liveConnections' AS live_connections
  FROM codesight.counts() AS c;
SELECT (codesight.list_sessions()->>'total')::bigint = (SELECT count(*) FROM codesight.sessions) AS total;
SELECT codesight.session_summary('core_s1')->>'status' AS summary_status;
SELECT count(*) >= 1 AS reads_sessions FROM codesight.sessions WHERE session_id = 'core_s1';
SELECT pg_temp.try('SELECT count(*) FROM codesight.events') AS reads_events;
SELECT pg_temp.try('SELECT count(*) FROM codesight.tokens') AS reads_tokens;
-- ... but writes need table privileges it does not have.
SELECT pg_temp.try($$SELECT codesight.delete_session('core_s1')$$) AS delete_session;
SELECT pg_temp.try($$UPDATE codesight.sessions SET status = 'completed'$$) AS update_sessions;
SELECT pg_temp.try('SELECT codesight._extension_created()') AS internal;
RESET ROLE;

DELETE FROM codesight.sessions WHERE session_id = 'core_s1';
DROP ROLE regress_core_plain;
DROP ROLE regress_core_admin;
