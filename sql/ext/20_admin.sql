-- Admin SQL API: workers and tokens, session lifecycle, listings and the
-- session documents the HTTP API and the web page serve.
--
-- JSON keys are camelCase as in docs/http-api.md (sessionId, workerId, ...);
-- SQL names are snake_case (session_id, worker_id, ...).  Timestamps in JSON
-- are ISO 8601 in UTC with milliseconds, like JavaScript's toISOString(), so
-- the output does not depend on the caller's TimeZone setting.

------------------------------------------------------------------------------
-- Small helpers
------------------------------------------------------------------------------

-- Formats a timestamp like JavaScript's Date.prototype.toISOString().
CREATE FUNCTION codesight.iso_time(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- Milliseconds between two timestamps, as the extension reports durations.
CREATE FUNCTION codesight.ms_between(t0 timestamptz, t1 timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN round(extract(epoch FROM (t1 - t0)) * 1000)::bigint;

-- The lower-cased host of an absolute URL, or NULL (about:blank, file:///,
-- garbage); used for pagesVisited.
CREATE FUNCTION codesight.url_host(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN lower((regexp_match(url,
    '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\[[^]/?#]*\]|[^/?#:]+)'))[1]);

-- Random lowercase hex of length n (at most 64).  pgcrypto is not available;
-- gen_random_uuid() draws from pg_strong_random, and hashing two of them
-- spreads their 244 random bits over every output character.
CREATE FUNCTION codesight.random_hex(n int) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE
RETURN substr(encode(sha256(uuid_send(gen_random_uuid())
                            || uuid_send(gen_random_uuid())), 'hex'), 1, n);

-- Base-36 digits of a non-negative integer, as JavaScript's n.toString(36).
CREATE FUNCTION codesight.to_base36(n bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    digits constant text := '0123456789abcdefghijklmnopqrstuvwxyz';
    result text := '';
BEGIN
    IF n < 0 THEN
        RAISE EXCEPTION 'cannot convert a negative number to base 36'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The value was %s.', n);
    END IF;
    LOOP
        result := substr(digits, (n % 36)::int + 1, 1) || result;
        n := n / 36;
        EXIT WHEN n = 0;
    END LOOP;
    RETURN result;
END
$$;

-- A new session id in the extension's own format,
-- cs_<base36 epoch milliseconds>_<5 random [a-z0-9]>, e.g. cs_md0ap0gn_thwyx.
CREATE FUNCTION codesight.new_session_id() RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE
BEGIN ATOMIC
    -- The first five bytes of a v4 uuid are all random (the version and
    -- variant bits live in bytes 6 and 8); modulo 36 is biased by 4/256,
    -- harmless for an identifier that is not a secret.
    SELECT 'cs_'
           || codesight.to_base36((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
           || '_'
           || string_agg(substr('abcdefghijklmnopqrstuvwxyz0123456789',
                                get_byte(r.b, i) % 36 + 1, 1), '' ORDER BY i)
      FROM (SELECT uuid_send(gen_random_uuid()) AS b) r,
           generate_series(0, 4) AS i;
END;

-- Raises the standard "unknown session" error, so every function reports a
-- missing session the same way (the HTTP layer maps P0002 to 404).
CREATE FUNCTION codesight.raise_unknown_session(session_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'session "%" does not exist', session_id
        USING ERRCODE = 'no_data_found',
              HINT = 'List existing sessions with codesight.list_sessions().';
END
$$;

-- Rejects lim/off values that make no sense, with a uniform error.
CREATE FUNCTION codesight.check_limit(name text, value bigint, min_value bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF value IS NULL OR value < min_value THEN
        RAISE EXCEPTION '% must be at least %', name, min_value
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The value given was %s.', coalesce(value::text, 'NULL'));
    END IF;
END
$$;

------------------------------------------------------------------------------
-- Tokens and workers
------------------------------------------------------------------------------

-- Creates a token row and returns the only copy of its secret.  Format:
-- cs_<w|a>_<12 hex token_id>_<32 hex secret>; the C auth code parses exactly
-- this, and only sha256(secret) is stored.
CREATE FUNCTION codesight.create_token(kind text, worker_id bigint DEFAULT NULL,
                                       label text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_token_id text;
    v_secret   text;
BEGIN
    IF kind IS NULL OR kind NOT IN ('worker', 'admin') THEN
        RAISE EXCEPTION 'invalid token kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The kind is either worker or admin.';
    END IF;
    -- A 48-bit token_id collides about once in 16 million tokens issued;
    -- retrying keeps that from surfacing as an error.
    FOR attempt IN 1..5 LOOP
        v_token_id := codesight.random_hex(12);
        v_secret := codesight.random_hex(32);
        BEGIN
            INSERT INTO codesight.tokens (token_id, kind, worker_id, secret_hash, label)
            VALUES (v_token_id, create_token.kind, create_token.worker_id,
                    sha256(convert_to(v_secret, 'UTF8')), create_token.label);
            RETURN jsonb_build_object(
                'tokenId', v_token_id,
                'token', 'cs_' || left(create_token.kind, 1) || '_' || v_token_id || '_' || v_secret);
        EXCEPTION WHEN unique_violation THEN
            NULL;  -- draw another token_id
        END;
    END LOOP;
    RAISE EXCEPTION 'could not generate a unique token id'
        USING ERRCODE = 'internal_error',
              DETAIL = 'Five random token ids in a row were already taken.';
END
$$;

-- Registers a worker (a person who records demonstrations) and returns a
-- worker token, shown only this once.  Only the display name is kept: no
-- email, not even hashed (docs/security.md, "Workers' personal data").
CREATE FUNCTION codesight.register_worker(display_name text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_name      text := btrim(display_name);
    v_worker_id bigint;
    v_token     jsonb;
BEGIN
    IF v_name IS NULL OR length(v_name) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'display name must be 1 to 200 characters'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The name given has %s characters after trimming.',
                                  coalesce(length(v_name), 0)),
                  HINT = 'Pass the name the worker wants to be shown under.';
    END IF;
    INSERT INTO codesight.workers (display_name)
    VALUES (v_name)
    RETURNING worker_id INTO v_worker_id;

    v_token := codesight.create_token('worker', v_worker_id, 'registration');
    RETURN jsonb_build_object('workerId', v_worker_id,
                              'displayName', v_name,
                              'token', v_token->'token');
END
$$;

-- Issues an admin token (for the admin HTTP routes), shown only this once.
CREATE FUNCTION codesight.issue_admin_token(label text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql
RETURN codesight.create_token('admin', NULL, label);

-- Revokes a token.  True when this call revoked it; false when it was
-- already revoked or does not exist, so repeating the call is harmless.
CREATE FUNCTION codesight.revoke_token(token_id text) RETURNS boolean
LANGUAGE sql
BEGIN ATOMIC
    WITH r AS (
        UPDATE codesight.tokens t SET revoked_at = now()
         WHERE t.token_id = revoke_token.token_id AND t.revoked_at IS NULL
        RETURNING 1)
    SELECT EXISTS (SELECT FROM r);
END;

-- Lists every token without its secret (only a hash is stored anyway).
CREATE FUNCTION codesight.list_tokens() RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT jsonb_build_object('tokens', coalesce(jsonb_agg(jsonb_build_object(
               'tokenId', t.token_id,
               'kind', t.kind,
               'workerId', t.worker_id,
               'workerName', w.display_name,
               'label', t.label,
               'createdAt', codesight.iso_time(t.created_at),
               'lastUsedAt', codesight.iso_time(t.last_used_at),
               'revokedAt', codesight.iso_time(t.revoked_at))
             ORDER BY t.created_at, t.token_id), '[]'::jsonb))
      FROM codesight.tokens t
      LEFT JOIN codesight.workers w ON w.worker_id = t.worker_id;
END;

-- Reference implementation of token verification: one row for a valid
-- token, none otherwise.  The worker's C code does the same with a
-- constant-time comparison on the hot path.  Comparing sha256 digests here
-- leaks nothing useful through timing: the caller does not control the
-- digest of its guess.  last_used_at is written at most once a minute so a
-- busy token does not produce a row version per request.
CREATE FUNCTION codesight.verify_token(token text)
RETURNS TABLE (token_id text, kind text, worker_id bigint)
LANGUAGE sql
BEGIN ATOMIC
    WITH parsed AS (
        SELECT m[1] AS kind_letter, m[2] AS token_id, m[3] AS secret
          FROM regexp_match(verify_token.token,
                            '^cs_([wa])_([0-9a-f]{12})_([0-9a-f]{32})$') AS m
         WHERE m IS NOT NULL
    ), found AS (
        SELECT t.token_id, t.kind, t.worker_id, t.last_used_at
          FROM parsed p
          JOIN codesight.tokens t ON t.token_id = p.token_id
          LEFT JOIN codesight.workers w ON w.worker_id = t.worker_id
         WHERE t.kind = CASE p.kind_letter WHEN 'w' THEN 'worker' ELSE 'admin' END
           AND t.secret_hash = sha256(convert_to(p.secret, 'UTF8'))
           AND t.revoked_at IS NULL
           AND (t.worker_id IS NULL OR w.disabled_at IS NULL)
    ), touched AS (
        UPDATE codesight.tokens t SET last_used_at = now()
          FROM found f
         WHERE t.token_id = f.token_id
           AND (f.last_used_at IS NULL OR f.last_used_at < now() - interval '1 minute')
        RETURNING t.token_id
    )
    SELECT f.token_id, f.kind, f.worker_id FROM found f;
END;

-- Who a token belongs to, for GET /api/me; errors when it is not valid.
CREATE FUNCTION codesight.whoami(token text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    me record;
BEGIN
    SELECT t.token_id, t.kind, t.worker_id, w.display_name
      INTO me
      FROM codesight.verify_token(token) t
      LEFT JOIN codesight.workers w ON w.worker_id = t.worker_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid token'
            USING ERRCODE = 'invalid_authorization_specification',
                  DETAIL = 'The token is malformed, unknown, revoked, or its worker is disabled.';
    END IF;
    RETURN jsonb_build_object('workerId', me.worker_id, 'displayName', me.display_name,
                              'kind', me.kind, 'tokenId', me.token_id);
END
$$;

------------------------------------------------------------------------------
-- Session lifecycle
------------------------------------------------------------------------------

-- Creates a session owned by worker_id (NULL: created with an admin token,
-- no owner).  Called by the HTTP layer after it authenticated the token.
-- Creating an id that the same owner already has returns the existing
-- session, so a client may retry after a lost response.
CREATE FUNCTION codesight.create_session_for_worker(worker_id bigint,
                                                    session_id text DEFAULT NULL,
                                                    user_agent text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_id  text := create_session_for_worker.session_id;
    v_row codesight.sessions;
BEGIN
    IF create_session_for_worker.worker_id IS NOT NULL AND NOT EXISTS (
           SELECT FROM codesight.workers w
            WHERE w.worker_id = create_session_for_worker.worker_id
              AND w.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'worker % does not exist or is disabled', create_session_for_worker.worker_id
            USING ERRCODE = 'invalid_authorization_specification',
                  HINT = 'Register the worker with codesight.register_worker().';
    END IF;

    IF v_id IS NOT NULL AND v_id !~ '^[A-Za-z0-9_-]{1,64}$' THEN
        RAISE EXCEPTION 'invalid session id "%"', v_id
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A session id is 1 to 64 characters from A-Z, a-z, 0-9, "_" and "-".',
                  HINT = 'Omit the session id to have one generated.';
    END IF;

    -- A generated id can only collide with one made in the same millisecond
    -- with the same 5 random characters; retry rather than fail then.
    FOR attempt IN 1..5 LOOP
        INSERT INTO codesight.sessions (session_id, worker_id, user_agent)
        VALUES (coalesce(v_id, codesight.new_session_id()),
                create_session_for_worker.worker_id,
                codesight.mask_text(create_session_for_worker.user_agent))
        ON CONFLICT ON CONSTRAINT sessions_pkey DO NOTHING
        RETURNING * INTO v_row;
        EXIT WHEN v_row.session_id IS NOT NULL OR v_id IS NOT NULL;
    END LOOP;

    IF v_row.session_id IS NULL AND v_id IS NOT NULL THEN
        SELECT * INTO v_row FROM codesight.sessions s WHERE s.session_id = v_id;
        IF v_row.worker_id IS DISTINCT FROM create_session_for_worker.worker_id THEN
            RAISE EXCEPTION 'session "%" already exists', v_id
                USING ERRCODE = 'unique_violation',
                      DETAIL = 'The session belongs to another worker.',
                      HINT = 'Choose another session id, or omit it to have one generated.';
        END IF;
    ELSIF v_row.session_id IS NULL THEN
        RAISE EXCEPTION 'could not generate a unique session id'
            USING ERRCODE = 'internal_error',
                  DETAIL = 'Five generated session ids in a row were already taken.';
    END IF;

    RETURN jsonb_build_object('sessionId', v_row.session_id,
                              'status', v_row.status,
                              'startTime', codesight.iso_time(v_row.started_at),
                              'workerId', v_row.worker_id);
END
$$;

-- Creates a session for the holder of a worker (or admin) token; the SQL
-- twin of POST /api/sessions.
CREATE FUNCTION codesight.create_session(worker_token text,
                                         session_id text DEFAULT NULL,
                                         user_agent text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM codesight.verify_token(worker_token);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid token'
            USING ERRCODE = 'invalid_authorization_specification',
                  DETAIL = 'The token is malformed, unknown, revoked, or its worker is disabled.',
                  HINT = 'Register with codesight.register_worker() to get a worker token.';
    END IF;
    RETURN codesight.create_session_for_worker(v.worker_id, session_id, user_agent);
END
$$;

-- Locks a session for deletion and checks that worker_id (when given) owns
-- it.  Returns false when the session does not exist.  The row lock also
-- waits for an ingest transaction that is still adding events to it.
CREATE FUNCTION codesight.lock_owned_session(session_id text, worker_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_owner bigint;
BEGIN
    SELECT s.worker_id INTO v_owner
      FROM codesight.sessions s
     WHERE s.session_id = lock_owned_session.session_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF lock_owned_session.worker_id IS NOT NULL
       AND v_owner IS DISTINCT FROM lock_owned_session.worker_id THEN
        RAISE EXCEPTION 'session "%" belongs to another worker', lock_owned_session.session_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A worker may only change its own sessions and events.',
                  HINT = 'Use an admin token to change other workers'' sessions.';
    END IF;
    RETURN true;
END
$$;

-- Marks a session completed: the web page's Stop ends sessions that had no
-- extension stream (media only), which nothing else would end, and sessions
-- whose stream was cut (disconnected, abandoned) without a stop.  Returns
-- the session's summary; a completed session is left as it is.
CREATE FUNCTION codesight.stop_session(session_id text, worker_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT codesight.lock_owned_session(session_id, worker_id) THEN
        RAISE EXCEPTION 'session % does not exist', session_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Create the session first with create_session().';
    END IF;
    UPDATE codesight.sessions s
       SET status = 'completed', ended_at = coalesce(s.ended_at, now()), updated_at = now()
     WHERE s.session_id = stop_session.session_id
       AND s.status IN ('active', 'disconnected', 'abandoned');
    RETURN codesight.session_summary(session_id);
END
$$;

-- Deletes a session with its events and upload rows (the objects in S3 are
-- not touched here).  worker_id, when given, must own the session.  True
-- when something was deleted, false when the session did not exist.
CREATE FUNCTION codesight.delete_session(session_id text, worker_id bigint DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT codesight.lock_owned_session(session_id, worker_id) THEN
        RETURN false;
    END IF;
    DELETE FROM codesight.events e WHERE e.session_id = delete_session.session_id;
    DELETE FROM codesight.rejected_events r WHERE r.session_id = delete_session.session_id;
    DELETE FROM codesight.deleted_events e WHERE e.session_id = delete_session.session_id;
    DELETE FROM codesight.uploads u WHERE u.session_id = delete_session.session_id;
    DELETE FROM codesight.sessions s WHERE s.session_id = delete_session.session_id;
    RETURN true;
END
$$;

-- Deletes some events of a session (a worker removing a mistake) and returns
-- how many were deleted.  They move to codesight.deleted_events, where
-- restore_events() can take them back until the session is submitted
-- (25_review.sql); a worker cannot delete from a submitted session.
-- last_seq and max_seq stay as they are: they mean "received", and
-- lowering them would make a reconnecting client resend the very events
-- that were just deleted.
CREATE FUNCTION codesight.delete_events(session_id text, seqs bigint[], worker_id bigint DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted int;
BEGIN
    IF NOT codesight._lock_for_change(session_id, worker_id) THEN
        RETURN 0;
    END IF;
    WITH d AS (
        DELETE FROM codesight.events e
         WHERE e.session_id = delete_events.session_id
           AND e.seq = ANY (delete_events.seqs)
        RETURNING e.*)
    INSERT INTO codesight.deleted_events
    SELECT d.*, now() FROM d
    ON CONFLICT ON CONSTRAINT deleted_events_pkey DO UPDATE
       SET type = excluded.type, client_ts = excluded.client_ts, received_at = excluded.received_at,
           page_url = excluded.page_url, selector = excluded.selector, payload = excluded.payload,
           deleted_at = excluded.deleted_at;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    IF v_deleted > 0 THEN
        UPDATE codesight.sessions s
           SET event_count = greatest(s.event_count - v_deleted, 0),
               updated_at = now()
         WHERE s.session_id = delete_events.session_id;
    END IF;
    RETURN v_deleted;
END
$$;

-- Marks sessions nobody records anymore as abandoned: active ones without an
-- event for `idle` (or, without any event, started more than `idle` ago),
-- and, when disconnect_grace is given, disconnected ones whose client did
-- not come back within it.  ended_at is set to the last sign of activity,
-- so durations do not include the idle time.  Returns how many changed.
CREATE FUNCTION codesight.mark_idle_sessions(idle interval, disconnect_grace interval DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_active int;
    v_disconnected int := 0;
BEGIN
    IF idle IS NULL OR idle <= interval '0' THEN
        RAISE EXCEPTION 'idle interval must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The interval given was %s seconds.', coalesce(extract(epoch FROM idle)::float8::text, 'NULL'));
    END IF;
    IF disconnect_grace < interval '0' THEN
        RAISE EXCEPTION 'disconnect grace interval must not be negative'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The interval given was %s seconds.', extract(epoch FROM disconnect_grace)::float8);
    END IF;

    -- The active sessions are few: sessions_active_idx finds them.
    UPDATE codesight.sessions s
       SET status = 'abandoned',
           ended_at = coalesce(s.ended_at, s.last_event_at, s.started_at),
           updated_at = now()
     WHERE s.status = 'active'
       AND (s.last_event_at < now() - idle
            OR (s.last_event_at IS NULL AND s.started_at < now() - idle));
    GET DIAGNOSTICS v_active = ROW_COUNT;

    IF disconnect_grace IS NOT NULL THEN
        UPDATE codesight.sessions s
           SET status = 'abandoned',
               ended_at = coalesce(s.ended_at, s.last_event_at, s.started_at),
               updated_at = now()
         WHERE s.status = 'disconnected'
           AND s.updated_at < now() - disconnect_grace
           AND coalesce(s.last_event_at, s.started_at) < now() - disconnect_grace;
        GET DIAGNOSTICS v_disconnected = ROW_COUNT;
    END IF;
    RETURN v_active + v_disconnected;
END
$$;

------------------------------------------------------------------------------
-- Listings and documents
------------------------------------------------------------------------------

-- Lists sessions newest first, with a page of at most 1000 and the total
-- matching the filter.  Built as dynamic SQL so each filter combination is
-- planned on its own and can pick its index (sessions_status_idx,
-- sessions_worker_idx or sessions_started_at_idx); a generic plan with
-- "param IS NULL OR ..." would use none of them.
CREATE FUNCTION codesight.list_sessions(status text DEFAULT NULL, lim int DEFAULT 100,
                                        off int DEFAULT 0, worker_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_where  text := 'true';
    v_lim    int := least(lim, 1000);
    v_total  bigint;
    v_result jsonb;
BEGIN
    IF status IS NOT NULL AND status NOT IN ('active', 'completed', 'disconnected', 'abandoned', 'submitted') THEN
        RAISE EXCEPTION 'invalid session status "%"', status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The status is one of active, completed, disconnected or abandoned, or submitted (submitted for review), or NULL for all.';
    END IF;
    PERFORM codesight.check_limit('lim', lim, 0);
    PERFORM codesight.check_limit('off', off, 0);

    IF status = 'submitted' THEN
        v_where := v_where || ' AND s.submitted_at IS NOT NULL';
    ELSIF status IS NOT NULL THEN
        v_where := v_where || ' AND s.status = $1';
    END IF;
    IF worker_id IS NOT NULL THEN
        v_where := v_where || ' AND s.worker_id = $2';
    END IF;

    EXECUTE 'SELECT count(*) FROM codesight.sessions s WHERE ' || v_where
       INTO v_total USING status, worker_id;

    -- pagesVisited counts distinct hosts over the session's own range of
    -- the events primary key, reading only page_url, never the payload, and
    -- parsing each distinct URL once.
    EXECUTE format($q$
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'sessionId', p.session_id,
                   'workerId', p.worker_id,
                   'workerName', w.display_name,
                   'status', p.status,
                   'startTime', codesight.iso_time(p.started_at),
                   'endTime', codesight.iso_time(p.ended_at),
                   'durationMs', codesight.ms_between(p.started_at, p.ended_at),
                   'lastEventAt', codesight.iso_time(p.last_event_at),
                   'eventCount', p.event_count,
                   'pagesVisited', pv.n,
                   'uploads', up.list,
                   'uploadsPresent', up.list <> '[]'::jsonb,
                   'taskId', p.task_id,
                   'task', p.task,
                   'confirmedTask', p.confirmed_task,
                   'submittedAt', codesight.iso_time(p.submitted_at),
                   'score', p.score)
                 ORDER BY p.started_at DESC, p.session_id DESC), '[]'::jsonb)
          FROM (SELECT s.* FROM codesight.sessions s
                 WHERE %s
                 ORDER BY s.started_at DESC, s.session_id DESC
                 LIMIT $3 OFFSET $4) p
          LEFT JOIN codesight.workers w ON w.worker_id = p.worker_id
          CROSS JOIN LATERAL (
                SELECT count(DISTINCT codesight.url_host(d.page_url)) AS n
                  FROM (SELECT DISTINCT e.page_url
                          FROM codesight.events e
                         WHERE e.session_id = p.session_id
                        OFFSET 0) d) pv
          CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_agg(jsonb_build_object('kind', u.kind, 'status', u.status)
                                          ORDER BY u.created_at), '[]'::jsonb) AS list
                  FROM codesight.uploads u
                 WHERE u.session_id = p.session_id) up
        $q$, v_where)
       INTO v_result USING status, worker_id, v_lim, off;

    RETURN jsonb_build_object('sessions', v_result, 'limit', v_lim,
                              'offset', off, 'total', v_total);
END
$$;

-- Hosts a session visited, in first-visit order.  The regular expression
-- runs once per distinct URL rather than once per event: events on one
-- page share their URL, so that is usually a few dozen calls.
CREATE FUNCTION codesight.session_hosts(session_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT coalesce(jsonb_agg(h.host ORDER BY h.first_seq), '[]'::jsonb)
      FROM (SELECT codesight.url_host(u.url) AS host, min(u.first_seq) AS first_seq
              FROM (SELECT coalesce(e.page_url, e.payload#>>'{data,url}') AS url,
                           min(e.seq) AS first_seq
                      FROM codesight.events e
                     WHERE e.session_id = session_hosts.session_id
                     GROUP BY 1
                    OFFSET 0) u  -- keeps the host filter from being pushed below the GROUP BY
             WHERE codesight.url_host(u.url) IS NOT NULL
             GROUP BY 1) h;
END;

-- The "Extension Session Data" document of the original CodeSight backend
-- as JSON text: every event in seq order plus a summary.  One pass over the
-- session's primary-key range feeds both the event list and the summary.
-- The text is laid out as jsonb prints it (keys in jsonb's order, its
-- spacing), so it is byte for byte session_data()'s output; the HTTP route
-- serves it without the jsonb tree, which costs ~7 kB per event to parse
-- (100,000 events: backend peak 690 MB as jsonb, see bench/README.md).
CREATE FUNCTION codesight.session_data_json(session_id text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s codesight.sessions;
    v_events text;
    v_total bigint;
    v_clicks bigint;
    v_inputs bigint;
    v_scrolls bigint;
    v_navigations bigint;
    v_hosts jsonb;
BEGIN
    SELECT * INTO s FROM codesight.sessions x WHERE x.session_id = session_data_json.session_id;
    IF NOT FOUND THEN
        PERFORM codesight.raise_unknown_session(session_data_json.session_id);
    END IF;
    PERFORM codesight._export_session_check(session_data_json.session_id);

    -- One ordered pass along the primary key.  The events are joined as
    -- text and the document is parsed once at the end: building jsonb per
    -- event and then the array and the document around it unpacks and
    -- repacks every event three times (measured on 100k events: 6.1 s of
    -- CPU against 4.2 s, bench/exports.sh).
    SELECT string_agg('{"data": ' || coalesce((e.payload->'data')::text, 'null')
                      || ', "type": ' || to_json(e.type)::text || '}', ', ' ORDER BY e.seq),
           count(*),
           count(*) FILTER (WHERE e.type = 'click'),
           count(*) FILTER (WHERE e.type = 'input'),
           count(*) FILTER (WHERE e.type = 'scroll'),
           count(*) FILTER (WHERE e.type = 'navigation')
      INTO v_events, v_total, v_clicks, v_inputs, v_scrolls, v_navigations
      FROM codesight.events e
     WHERE e.session_id = session_data_json.session_id;

    v_hosts := codesight.session_hosts(session_data_json.session_id);

    -- '{"events": [...], ' followed by the other members without their
    -- '{': "events" is the shortest key, so jsonb puts it first too.
    RETURN ('{"events": [' || coalesce(v_events, '') || '], ' || substr(jsonb_build_object(
        'sessionId', s.session_id,
        'startTime', codesight.iso_time(s.started_at),
        'endTime', codesight.iso_time(s.ended_at),
        'duration', CASE WHEN s.status <> 'active'
                         THEN codesight.ms_between(s.started_at,
                                                   coalesce(s.ended_at, s.last_event_at))
                    END,
        'totalEvents', v_total,
        'summary', jsonb_build_object('clicks', v_clicks, 'inputs', v_inputs,
                                      'scrolls', v_scrolls, 'navigations', v_navigations,
                                      'pagesVisited', v_hosts))::text, 2))::json;
END
$$;

-- The same document as jsonb, for SQL that reads into it.
CREATE FUNCTION codesight.session_data(session_id text) RETURNS jsonb
LANGUAGE sql STABLE
RETURN codesight.session_data_json(session_id)::jsonb;

-- A session's overview without its events: the summary of session_data
-- plus counts by type, first and last URL, worker and client details.
CREATE FUNCTION codesight.session_summary(session_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s codesight.sessions;
    v_worker_name text;
    v_by_type jsonb;
    v_total bigint;
    v_hosts jsonb;
    v_first_url text;
    v_last_url text;
BEGIN
    SELECT * INTO s FROM codesight.sessions x WHERE x.session_id = session_summary.session_id;
    IF NOT FOUND THEN
        PERFORM codesight.raise_unknown_session(session_summary.session_id);
    END IF;
    SELECT w.display_name INTO v_worker_name FROM codesight.workers w WHERE w.worker_id = s.worker_id;

    SELECT coalesce(jsonb_object_agg(t.type, t.n), '{}'::jsonb), coalesce(sum(t.n), 0)
      INTO v_by_type, v_total
      FROM (SELECT e.type, count(*) AS n
              FROM codesight.events e
             WHERE e.session_id = session_summary.session_id
             GROUP BY e.type) t;
    v_hosts := codesight.session_hosts(session_summary.session_id);
    -- Both ends of the primary-key range, not a sort of the whole session.
    SELECT e.page_url INTO v_first_url
      FROM codesight.events e
     WHERE e.session_id = session_summary.session_id AND e.page_url IS NOT NULL
     ORDER BY e.seq LIMIT 1;
    SELECT e.page_url INTO v_last_url
      FROM codesight.events e
     WHERE e.session_id = session_summary.session_id AND e.page_url IS NOT NULL
     ORDER BY e.seq DESC LIMIT 1;

    RETURN jsonb_build_object(
        'sessionId', s.session_id,
        'workerId', s.worker_id,
        'workerName', v_worker_name,
        'status', s.status,
        'startTime', codesight.iso_time(s.started_at),
        'endTime', codesight.iso_time(s.ended_at),
        'lastEventAt', codesight.iso_time(s.last_event_at),
        'durationMs', CASE WHEN s.status <> 'active'
                           THEN codesight.ms_between(s.started_at,
                                                     coalesce(s.ended_at, s.last_event_at))
                      END,
        'totalEvents', v_total,
        'lastSeq', s.last_seq,
        'countsByType', v_by_type,
        'summary', jsonb_build_object(
            'clicks', coalesce((v_by_type->>'click')::bigint, 0),
            'inputs', coalesce((v_by_type->>'input')::bigint, 0),
            'scrolls', coalesce((v_by_type->>'scroll')::bigint, 0),
            'navigations', coalesce((v_by_type->>'navigation')::bigint, 0),
            'pagesVisited', v_hosts),
        'firstUrl', v_first_url,
        'lastUrl', v_last_url,
        'userAgent', s.user_agent,
        'extension', s.extension,
        'taskId', s.task_id,
        'task', s.task,
        'confirmedTask', s.confirmed_task,
        'submittedAt', codesight.iso_time(s.submitted_at),
        'score', s.score,
        'scoreNote', s.score_note);
END
$$;

-- One page of a session's events for the web page's timeline, keyset
-- paginated on seq: pass the returned nextAfter as after_seq to get the next
-- page; nextAfter is null on the last page.
CREATE FUNCTION codesight.session_events(session_id text, after_seq bigint DEFAULT 0,
                                         lim int DEFAULT 500)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_lim int := least(lim, 5000);
    v_events jsonb;
    v_count int;
    v_last bigint;
BEGIN
    PERFORM codesight.check_limit('lim', lim, 1);
    IF NOT EXISTS (SELECT FROM codesight.sessions s WHERE s.session_id = session_events.session_id) THEN
        PERFORM codesight.raise_unknown_session(session_events.session_id);
    END IF;

    -- One row more than asked tells whether another page exists.
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'seq', p.seq,
               'type', p.type,
               'timestamp', coalesce(to_jsonb(round(extract(epoch FROM p.client_ts) * 1000)::bigint),
                                     p.payload->'timestamp'),
               'receivedAt', codesight.iso_time(p.received_at),
               'url', p.page_url,
               'selector', p.selector,
               'data', p.payload->'data')
             ORDER BY p.seq) FILTER (WHERE p.rn <= v_lim), '[]'::jsonb),
           count(*),
           max(p.seq) FILTER (WHERE p.rn <= v_lim)
      INTO v_events, v_count, v_last
      FROM (SELECT e.*, row_number() OVER (ORDER BY e.seq) AS rn
              FROM codesight.events e
             WHERE e.session_id = session_events.session_id
               AND e.seq > coalesce(after_seq, 0)
             ORDER BY e.seq
             LIMIT v_lim + 1) p;

    RETURN jsonb_build_object('events', v_events,
                              'nextAfter', CASE WHEN v_count > v_lim THEN v_last END);
END
$$;

-- The admin page's live view: the latest sessions by activity and the
-- latest events among them.  Kept cheap on big tables: candidates are the
-- newest sessions by start (sessions_started_at_idx) plus the active ones
-- with the newest events (sessions_active_idx); events are read
-- backwards along each candidate's primary-key range, never by a scan.
-- A session that started long ago and finished recently can be missed; it
-- is not "live" anymore.
CREATE FUNCTION codesight.recent_activity(lim int DEFAULT 50) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_lim int := least(lim, 200);
    v_result jsonb;
BEGIN
    PERFORM codesight.check_limit('lim', lim, 1);

    WITH cand AS (
        (SELECT s.session_id FROM codesight.sessions s
          ORDER BY s.started_at DESC LIMIT v_lim)
        UNION
        (SELECT s.session_id FROM codesight.sessions s
          WHERE s.status = 'active' AND s.last_event_at IS NOT NULL
          ORDER BY s.last_event_at DESC LIMIT v_lim)
    ), top AS (
        SELECT s.*, coalesce(s.last_event_at, s.started_at) AS active_at
          FROM codesight.sessions s JOIN cand c ON c.session_id = s.session_id
         ORDER BY active_at DESC, s.session_id DESC
         LIMIT v_lim
    ), ev AS (
        SELECT le.*
          FROM top t
         CROSS JOIN LATERAL (
               SELECT e.session_id, e.seq, e.type, e.page_url, e.received_at
                 FROM codesight.events e
                WHERE e.session_id = t.session_id
                ORDER BY e.seq DESC
                LIMIT v_lim) le
         ORDER BY le.received_at DESC, le.session_id, le.seq DESC
         LIMIT v_lim
    )
    SELECT jsonb_build_object(
        'sessions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                            'sessionId', t.session_id,
                            'workerId', t.worker_id,
                            'workerName', w.display_name,
                            'status', t.status,
                            'startTime', codesight.iso_time(t.started_at),
                            'endTime', codesight.iso_time(t.ended_at),
                            'lastEventAt', codesight.iso_time(t.last_event_at),
                            'eventCount', t.event_count)
                          ORDER BY t.active_at DESC, t.session_id DESC), '[]'::jsonb)
                       FROM top t LEFT JOIN codesight.workers w ON w.worker_id = t.worker_id),
        'events', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'sessionId', ev.session_id,
                          'seq', ev.seq,
                          'type', ev.type,
                          'url', ev.page_url,
                          'receivedAt', codesight.iso_time(ev.received_at))
                        ORDER BY ev.received_at DESC, ev.session_id, ev.seq DESC), '[]'::jsonb)
                     FROM ev))
      INTO v_result;
    RETURN v_result;
END
$$;

-- Row counts for GET /api/debug/counts.  Exact counts, events included: it
-- is an admin debug call, not a dashboard poll.  liveConnections comes from
-- the worker's shared memory through codesight.worker_status(), a C
-- function that may be missing (e.g. a build without the worker), so it is
-- looked up at call time.
CREATE FUNCTION codesight.counts() RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_result jsonb;
    v_status jsonb;
BEGIN
    SELECT jsonb_object_agg(st.status, coalesce(c.n, 0))
      INTO v_status
      FROM unnest(ARRAY['active', 'completed', 'disconnected', 'abandoned']) AS st(status)
      LEFT JOIN (SELECT s.status, count(*) AS n FROM codesight.sessions s GROUP BY s.status) c
             ON c.status = st.status;

    v_result := jsonb_build_object(
        'workers', (SELECT count(*) FROM codesight.workers),
        'tokens', (SELECT count(*) FROM codesight.tokens),
        'sessions', (SELECT count(*) FROM codesight.sessions),
        'events', (SELECT count(*) FROM codesight.events),
        'uploads', (SELECT count(*) FROM codesight.uploads),
        'activeSessions', v_status->'active',
        'sessionsByStatus', v_status);

    IF to_regprocedure('codesight.worker_status()') IS NOT NULL THEN
        v_result := v_result || jsonb_build_object('liveConnections',
                                                   codesight.worker_status()->'connections');
    END IF;
    RETURN v_result;
END
$$;

-- Nothing here is for PUBLIC (90_privileges.sql repeats this for the whole
-- schema once every file is loaded).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA codesight FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA codesight TO codesight_admin;
