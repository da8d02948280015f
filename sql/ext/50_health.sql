-- health(): what an operator checks first, each part with a status: the
-- database, the worker, S3 (a real request) and the extensions'
-- connections.  GET /api/health returns it; the web page's Health page
-- draws it.  See docs/sql-api.md, "Health".

-- One real, cheap S3 request (a GET of an object key that does not exist,
-- whose error code says whether the bucket answers and accepts the
-- credentials), bounded by timeout_ms.  A result younger than max_age_ms
-- is answered from this process's memory, so a dashboard polling health()
-- costs S3 one request per max_age_ms.  Implemented in src/s3.c.
CREATE FUNCTION codesight.s3_check(timeout_ms int DEFAULT 2000, max_age_ms int DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 's3_check'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.s3_check(int, int) IS
    'Whether S3 answers: status ok, warn, down or not_configured, a message, the latency and S3''s HTTP status';

-- "3 s", "5 min", "2 h", "4 d": an age or uptime for a message.
CREATE FUNCTION codesight._human_seconds(s bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN s < 60 THEN s || ' s'
            WHEN s < 3600 THEN s / 60 || ' min'
            WHEN s < 86400 THEN s / 3600 || ' h'
            ELSE s / 86400 || ' d' END;

-- One entry of health()'s checks.
CREATE FUNCTION codesight._health_check(name text, label text, status text, message text, details jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object('name', name, 'label', label, 'status', status,
                          'message', message, 'details', details);

-- The PostgreSQL part: it answers (or health() would not run); warn when
-- client connections near max_connections.
CREATE FUNCTION codesight._health_postgres() RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_used int;
    v_max int := current_setting('max_connections')::int
                 - current_setting('superuser_reserved_connections')::int;
BEGIN
    SELECT count(*) INTO v_used FROM pg_stat_activity WHERE backend_type = 'client backend';
    RETURN codesight._health_check('postgres', 'PostgreSQL',
        CASE WHEN v_used >= v_max * 0.9 THEN 'warn' ELSE 'ok' END,
        format('PostgreSQL %s answers; %s of %s connections in use',
               current_setting('server_version'), v_used, v_max)
            || CASE WHEN v_used >= v_max * 0.9 THEN ' (raise max_connections or find who holds them)' ELSE '' END,
        jsonb_build_object('serverVersion', current_setting('server_version'),
                           'database', current_database(),
                           'startedAt', codesight.iso_time(pg_postmaster_start_time()),
                           'connections', v_used,
                           'maxConnections', v_max));
END
$$;

-- The worker part, from its shared-memory state w (worker_status()).
CREATE FUNCTION codesight._health_worker(w jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_queue bigint := (w->>'queueDepth')::bigint;
    v_max_queue bigint := current_setting('codesight.max_queue_events', true)::bigint;
    v_status text := 'ok';
    v_message text;
BEGIN
    IF NOT (w->>'preloaded')::boolean THEN
        v_status := 'down';
        v_message := 'not running: codesight is not in shared_preload_libraries';
    ELSIF (w->>'port')::int = 0 THEN
        v_status := 'down';
        v_message := 'turned off: codesight.port is 0';
    ELSIF NOT (w->>'running')::boolean THEN
        v_status := 'down';
        v_message := 'not running; it starts again by itself after a crash (see the server log)';
    ELSIF NOT (w->>'listening')::boolean THEN
        v_status := 'down';
        v_message := format('running but not listening on %s:%s (see the server log)',
                            w->>'listenAddress', w->>'port');
    ELSE
        v_message := format('listening on %s:%s, up %s; %s events committed, %s waiting',
                            w->>'listenAddress', w->>'port',
                            codesight._human_seconds((w->>'uptimeSeconds')::bigint),
                            w->>'eventsCommitted', v_queue);
        IF v_queue >= v_max_queue THEN
            v_status := 'warn';
            v_message := v_message || format(' (more than codesight.max_queue_events = %s: '
                                             'clients are held back until the database catches up)', v_max_queue);
        END IF;
    END IF;
    RETURN codesight._health_check('worker', 'Worker', v_status, v_message, w);
END
$$;

-- The S3 part.  Not configured is a warning: recording works, uploads do not.
CREATE FUNCTION codesight._health_s3() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c jsonb := codesight.s3_check(2000, 5000);
BEGIN
    RETURN codesight._health_check('s3', 'Storage (S3)',
        CASE c->>'status' WHEN 'not_configured' THEN 'warn' ELSE c->>'status' END,
        c->>'message', c);
END
$$;

-- The extensions' part: the worker's open connections (WebSocket streams
-- and the pages' HTTP requests alike: the worker counts them together),
-- the sessions receiving events now, and the ones whose extension lost its
-- connection and has not come back yet (status disconnected).
CREATE FUNCTION codesight._health_extensions(w jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_active bigint;
    v_now bigint;
    v_lost bigint;
    v_details jsonb;
BEGIN
    SELECT count(*), count(*) FILTER (WHERE s.last_event_at > now() - interval '2 minutes')
      INTO v_active, v_now
      FROM codesight.sessions s WHERE s.status = 'active';
    SELECT count(*) INTO v_lost FROM codesight.sessions s WHERE s.status = 'disconnected';
    v_details := jsonb_build_object('connections', (w->>'connections')::bigint,
                                    'activeSessions', v_active,
                                    'recordingNow', v_now,
                                    'disconnectedSessions', v_lost);
    IF NOT coalesce((w->>'listening')::boolean, false) THEN
        RETURN codesight._health_check('extensions', 'Extension connections', 'down',
            'no extension can connect: the worker is not listening', v_details);
    END IF;
    RETURN codesight._health_check('extensions', 'Extension connections',
        CASE WHEN v_lost > 0 THEN 'warn' ELSE 'ok' END,
        format('%s open connections; %s sessions receiving events now', w->>'connections', v_now)
            || CASE WHEN v_lost > 0
                    THEN format('; %s lost their extension''s connection and wait for it to come back', v_lost)
                    ELSE '' END,
        v_details);
END
$$;

-- The health document: status "ok" unless a check is down ("degraded"),
-- the checks in a fixed order, and the worker's raw state.
CREATE FUNCTION codesight.health() RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    w jsonb := codesight.worker_status();
    v_checks jsonb;
BEGIN
    v_checks := jsonb_build_array(codesight._health_postgres(),
                                  codesight._health_worker(w),
                                  codesight._health_s3(),
                                  codesight._health_extensions(w));
    RETURN jsonb_build_object(
        'status', CASE WHEN jsonb_path_exists(v_checks, '$[*] ? (@.status == "down")')
                       THEN 'degraded' ELSE 'ok' END,
        'database', current_database(),
        'extensionVersion', (SELECT extversion FROM pg_extension WHERE extname = 'codesight'),
        'serverVersion', current_setting('server_version'),
        'time', codesight.iso_time(now()),
        'checks', v_checks,
        'worker', w);
END
$$;
COMMENT ON FUNCTION codesight.health() IS
    'Status of PostgreSQL, the worker, S3 and the extensions'' connections, each ok, warn or down, and the worker''s state.';

REVOKE ALL ON FUNCTION codesight.s3_check(int, int) FROM PUBLIC;
