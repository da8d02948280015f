-- Tasks and review (docs/sql-api.md, "Tasks" and "Review"): admins define
-- tasks, a worker picks one (or writes their own when allowed) for a
-- session, deletes and restores steps, and submits the session with the
-- task confirmed or corrected; admins score sessions and export the
-- dataset by status, task, date and score.

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------

-- A trimmed text of 1 to max_len characters, NULL for NULL or blank when
-- optional; otherwise a 22023 error naming what.
CREATE FUNCTION codesight._clean_text(value text, what text, max_len int, optional boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := btrim(value, E' \t\r\n');
BEGIN
    IF v IS NULL OR v = '' THEN
        IF optional THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '% must not be empty', what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Give 1 to %s characters.', max_len);
    END IF;
    IF length(v) > max_len THEN
        RAISE EXCEPTION '% must be at most % characters', what, max_len
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It has %s characters.', length(v));
    END IF;
    RETURN v;
END
$$;

-- Tags as stored: trimmed, blanks dropped, each once, in the order given;
-- at most 20 of at most 50 characters.
CREATE FUNCTION codesight._clean_tags(tags text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text[];
BEGIN
    SELECT coalesce(array_agg(t ORDER BY first), '{}') INTO v
      FROM (SELECT btrim(x) AS t, min(i) AS first
              FROM unnest(tags) WITH ORDINALITY AS u(x, i)
             WHERE btrim(x) <> ''
             GROUP BY 1) d;
    IF cardinality(v) > 20 THEN
        RAISE EXCEPTION 'a task has at most 20 tags'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('%s were given.', cardinality(v));
    END IF;
    IF EXISTS (SELECT FROM unnest(v) t WHERE length(t) > 50) THEN
        RAISE EXCEPTION 'a tag has at most 50 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v;
END
$$;

-- The strings of a JSON array as text[] ('{}' for a missing or null
-- value), or a 22023 error naming what, for fields given as JSON.
CREATE FUNCTION codesight._json_strings(j jsonb, what text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF j IS NULL OR jsonb_typeof(j) = 'null' THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(j) <> 'array' OR EXISTS (
           SELECT FROM jsonb_array_elements(j) e WHERE jsonb_typeof(e) <> 'string') THEN
        RAISE EXCEPTION '% must be an array of strings', what
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN ARRAY(SELECT jsonb_array_elements_text(j));
END
$$;

-- Rejects a target count that is not a positive number of sessions.
CREATE FUNCTION codesight._check_target_count(target_count int) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF target_count IS NOT NULL AND target_count < 1 THEN
        RAISE EXCEPTION 'target count must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The value given was %s.', target_count),
                  HINT = 'Pass NULL for a task without a target.';
    END IF;
    RETURN target_count;
END
$$;

-- A task as the API shows it, with how many sessions name it and how many
-- of those were submitted (what the target counts).
CREATE FUNCTION codesight._task_json(t codesight.tasks) RETURNS jsonb
LANGUAGE sql STABLE
RETURN (SELECT jsonb_build_object(
            'taskId', t.task_id,
            'instruction', t.instruction,
            'site', t.site,
            'tags', to_jsonb(t.tags),
            'targetCount', t.target_count,
            'active', t.active,
            'sessionCount', count(*),
            'submittedCount', count(*) FILTER (WHERE s.submitted_at IS NOT NULL),
            'createdAt', codesight.iso_time(t.created_at),
            'updatedAt', codesight.iso_time(t.updated_at))
          FROM codesight.sessions s
         WHERE s.task_id = t.task_id);

-- Raises the "unknown task" error (404 over HTTP).
CREATE FUNCTION codesight._raise_unknown_task(task_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'task % does not exist', task_id
        USING ERRCODE = 'no_data_found',
              HINT = 'List tasks with codesight.list_tasks(true).';
END
$$;

-- Locks a session a caller changes; false when it does not exist.
-- worker_id, when given, must own it (lock_owned_session); a worker may no
-- longer change a session it submitted, an admin (worker_id NULL) may.
CREATE FUNCTION codesight._lock_for_change(session_id text, worker_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_submitted timestamptz;
BEGIN
    IF NOT codesight.lock_owned_session(session_id, worker_id) THEN
        RETURN false;
    END IF;
    SELECT s.submitted_at INTO v_submitted
      FROM codesight.sessions s WHERE s.session_id = _lock_for_change.session_id;
    IF worker_id IS NOT NULL AND v_submitted IS NOT NULL THEN
        RAISE EXCEPTION 'session "%" was submitted for review', session_id
            USING ERRCODE = 'object_in_use',
                  DETAIL = format('It was submitted at %s and no longer changes.',
                                  codesight.iso_time(v_submitted)),
                  HINT = 'An admin can still change it.';
    END IF;
    RETURN true;
END
$$;

------------------------------------------------------------------------------
-- Tasks
------------------------------------------------------------------------------

-- Creates a task and returns it.
CREATE FUNCTION codesight.create_task(instruction text, site text DEFAULT NULL,
                                      tags text[] DEFAULT '{}', target_count int DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t codesight.tasks;
BEGIN
    INSERT INTO codesight.tasks (instruction, site, tags, target_count)
    VALUES (codesight._clean_text(instruction, 'the task instruction', 2000, false),
            codesight._clean_text(site, 'the site', 2000, true),
            codesight._clean_tags(coalesce(tags, '{}')),
            codesight._check_target_count(target_count))
    RETURNING * INTO t;
    RETURN codesight._task_json(t);
END
$$;

-- Changes a task: changes is a JSON object with any of instruction, site,
-- tags, targetCount and active (false archives the task: workers no longer
-- see it).  A null site or targetCount removes it.
CREATE FUNCTION codesight.update_task(task_id bigint, changes jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t codesight.tasks;
    unknown text;
BEGIN
    IF jsonb_typeof(changes) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'changes must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"active": false}.';
    END IF;
    SELECT string_agg(k, ', ') INTO unknown
      FROM jsonb_object_keys(changes) k
     WHERE k NOT IN ('instruction', 'site', 'tags', 'targetCount', 'active');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown task field(s): %', unknown
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A task has instruction, site, tags, targetCount and active.';
    END IF;

    SELECT * INTO t FROM codesight.tasks x WHERE x.task_id = update_task.task_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM codesight._raise_unknown_task(update_task.task_id);
    END IF;
    IF changes ? 'instruction' THEN
        t.instruction := codesight._clean_text(changes->>'instruction', 'the task instruction', 2000, false);
    END IF;
    IF changes ? 'site' THEN
        t.site := codesight._clean_text(changes->>'site', 'the site', 2000, true);
    END IF;
    IF changes ? 'tags' THEN
        t.tags := codesight._clean_tags(codesight._json_strings(changes->'tags', 'tags'));
    END IF;
    IF changes ? 'targetCount' THEN
        t.target_count := codesight._check_target_count((changes->>'targetCount')::int);
    END IF;
    IF changes ? 'active' THEN
        IF jsonb_typeof(changes->'active') <> 'boolean' THEN
            RAISE EXCEPTION 'active must be true or false'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        t.active := (changes->>'active')::boolean;
    END IF;
    UPDATE codesight.tasks x
       SET instruction = t.instruction, site = t.site, tags = t.tags,
           target_count = t.target_count, active = t.active, updated_at = now()
     WHERE x.task_id = t.task_id
    RETURNING * INTO t;
    RETURN codesight._task_json(t);
END
$$;

-- The tasks and whether workers may write their own.  Without
-- include_inactive (what a worker picks from): the active tasks whose
-- target is not reached yet; with it (the admin page): every task, active
-- ones first.  Oldest first within each group.
CREATE FUNCTION codesight.list_tasks(include_inactive boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT jsonb_build_object(
               'tasks', coalesce((
                   SELECT jsonb_agg(j ORDER BY (j->>'active')::boolean DESC, (j->>'taskId')::bigint)
                     FROM (SELECT codesight._task_json(t) AS j
                             FROM codesight.tasks t
                            WHERE include_inactive OR t.active) x
                    WHERE include_inactive
                       OR (j->>'targetCount') IS NULL
                       OR (j->>'submittedCount')::int < (j->>'targetCount')::int), '[]'::jsonb),
               'allowCustom', o.allow_custom)
      FROM codesight.task_options o;
END;

-- Allows or forbids workers to write their own task.
CREATE FUNCTION codesight.set_task_options(allow_custom boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF allow_custom IS NULL THEN
        RAISE EXCEPTION 'allow_custom must be true or false'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE codesight.task_options o
       SET allow_custom = set_task_options.allow_custom, updated_at = now();
    RETURN jsonb_build_object('allowCustom', allow_custom);
END
$$;

------------------------------------------------------------------------------
-- A session's task, deletions and submit
------------------------------------------------------------------------------

-- A session's task fields as the API shows them.
CREATE FUNCTION codesight._session_task_json(s codesight.sessions) RETURNS jsonb
LANGUAGE sql STABLE
RETURN jsonb_build_object('sessionId', s.session_id,
                          'taskId', s.task_id,
                          'task', s.task,
                          'confirmedTask', s.confirmed_task,
                          'submittedAt', codesight.iso_time(s.submitted_at));

-- Sets what a session is meant to show: one of the tasks (task_id; its
-- instruction is kept as it reads now) or the worker's own words (task,
-- when codesight.task_options allows it or the caller is an admin); both
-- NULL clears it.  Works for a session started by the extension alone too.
CREATE FUNCTION codesight.set_session_task(session_id text, task_id bigint DEFAULT NULL,
                                           task text DEFAULT NULL, worker_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s codesight.sessions;
    t codesight.tasks;
    v_task text := codesight._clean_text(task, 'the task', 2000, true);
BEGIN
    IF NOT codesight._lock_for_change(session_id, worker_id) THEN
        PERFORM codesight.raise_unknown_session(session_id);
    END IF;
    IF set_session_task.task_id IS NOT NULL AND v_task IS NOT NULL THEN
        RAISE EXCEPTION 'give either a task id or your own task, not both'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF set_session_task.task_id IS NOT NULL THEN
        SELECT * INTO t FROM codesight.tasks x WHERE x.task_id = set_session_task.task_id;
        IF NOT FOUND THEN
            PERFORM codesight._raise_unknown_task(set_session_task.task_id);
        END IF;
        IF NOT t.active AND worker_id IS NOT NULL THEN
            RAISE EXCEPTION 'task % is archived', t.task_id
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pick one of the tasks codesight.list_tasks() lists.';
        END IF;
        v_task := t.instruction;
    ELSIF v_task IS NOT NULL AND worker_id IS NOT NULL
          AND NOT (SELECT o.allow_custom FROM codesight.task_options o) THEN
        RAISE EXCEPTION 'writing your own task is turned off'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Pick one of the tasks codesight.list_tasks() lists.';
    END IF;
    UPDATE codesight.sessions x
       SET task_id = set_session_task.task_id, task = v_task, updated_at = now()
     WHERE x.session_id = set_session_task.session_id
    RETURNING * INTO s;
    RETURN codesight._session_task_json(s);
END
$$;

-- Puts deleted events of a session back (undo of delete_events) and returns
-- how many came back; seqs that are not deleted are skipped, and so is an
-- event the client sent again meanwhile.  Ownership as for delete_events;
-- a worker cannot restore after the submit, which purged them.
CREATE FUNCTION codesight.restore_events(session_id text, seqs bigint[], worker_id bigint DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_restored int;
BEGIN
    IF NOT codesight._lock_for_change(session_id, worker_id) THEN
        RETURN 0;
    END IF;
    WITH r AS (
        DELETE FROM codesight.deleted_events d
         WHERE d.session_id = restore_events.session_id AND d.seq = ANY (restore_events.seqs)
        RETURNING d.session_id, d.seq, d.type, d.client_ts, d.received_at, d.page_url, d.selector, d.payload)
    INSERT INTO codesight.events (session_id, seq, type, client_ts, received_at, page_url, selector, payload)
    SELECT * FROM r
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_restored = ROW_COUNT;
    IF v_restored > 0 THEN
        UPDATE codesight.sessions x
           SET event_count = x.event_count + v_restored, updated_at = now()
         WHERE x.session_id = restore_events.session_id;
    END IF;
    RETURN v_restored;
END
$$;

-- Submits a session for review: the worker confirms or corrects the task
-- (confirmed_task), the session is marked submitted and the steps the
-- worker deleted are purged for good.  A session still recording cannot be
-- submitted.  Repeating the same submit returns the same answer (a client
-- may retry after a lost response).  Returns the session's summary.
CREATE FUNCTION codesight.submit_session(session_id text, confirmed_task text,
                                         worker_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s codesight.sessions;
    v_task text := codesight._clean_text(confirmed_task, 'the confirmed task', 2000, false);
BEGIN
    IF NOT codesight.lock_owned_session(session_id, worker_id) THEN
        PERFORM codesight.raise_unknown_session(session_id);
    END IF;
    SELECT * INTO s FROM codesight.sessions x WHERE x.session_id = submit_session.session_id;
    IF s.submitted_at IS NOT NULL AND s.confirmed_task = v_task THEN
        RETURN codesight.session_summary(session_id);
    END IF;
    PERFORM codesight._lock_for_change(session_id, worker_id);
    IF s.status = 'active' THEN
        RAISE EXCEPTION 'session "%" is still recording', session_id
            USING ERRCODE = 'object_in_use',
                  HINT = 'Stop the recording first (codesight.stop_session()).';
    END IF;
    UPDATE codesight.sessions x
       SET confirmed_task = v_task, submitted_at = coalesce(x.submitted_at, now()), updated_at = now()
     WHERE x.session_id = s.session_id;
    DELETE FROM codesight.deleted_events d WHERE d.session_id = s.session_id;
    RETURN codesight.session_summary(session_id);
END
$$;

-- An admin's score of a session, 1 (unusable) to 5 (exemplary), with an
-- optional note; NULL clears it.  The dataset export filters on it.
CREATE FUNCTION codesight.score_session(session_id text, score int, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s codesight.sessions;
BEGIN
    IF score IS NOT NULL AND score NOT BETWEEN 1 AND 5 THEN
        RAISE EXCEPTION 'score must be from 1 to 5'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The value given was %s.', score),
                  HINT = 'Pass NULL to clear the score.';
    END IF;
    UPDATE codesight.sessions x
       SET score = score_session.score,
           score_note = CASE WHEN score_session.score IS NULL THEN NULL
                             ELSE codesight._clean_text(note, 'the note', 2000, true) END,
           scored_at = CASE WHEN score_session.score IS NULL THEN NULL ELSE now() END,
           updated_at = now()
     WHERE x.session_id = score_session.session_id
    RETURNING * INTO s;
    IF NOT FOUND THEN
        PERFORM codesight.raise_unknown_session(session_id);
    END IF;
    RETURN jsonb_build_object('sessionId', s.session_id, 'score', s.score,
                              'scoreNote', s.score_note, 'scoredAt', codesight.iso_time(s.scored_at));
END
$$;

------------------------------------------------------------------------------
-- The dataset's sessions
------------------------------------------------------------------------------

-- True for a status the dataset export filters on: a session status,
-- 'submitted' (submitted for review, whatever the recording's status) or
-- NULL (any); raises 22023 for anything else.
CREATE FUNCTION codesight._dataset_status_ok(status text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF status IS NULL OR status IN ('active', 'completed', 'disconnected', 'abandoned', 'submitted') THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION 'invalid dataset status "%"', status
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'The status is active, completed, disconnected, abandoned or submitted, or NULL for any.';
END
$$;

-- The sessions export_dataset and GET /api/export/dataset.jsonl export:
-- started in [since, until), of a status (see _dataset_status_ok), of one
-- task, scored at least min_score; NULL filters nothing.  Callers order
-- by (started_at, session_id).  A plain SQL function, so the planner
-- inlines it into the caller's query and can use its keyset condition.
CREATE FUNCTION codesight._dataset_sessions(since timestamptz, until timestamptz, status text,
                                            task_id bigint, min_score int)
RETURNS TABLE (session_id text, started_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT s.session_id, s.started_at
      FROM codesight.sessions s
     WHERE codesight._dataset_status_ok($3)
       AND ($1 IS NULL OR s.started_at >= $1)
       AND ($2 IS NULL OR s.started_at < $2)
       AND ($3 IS NULL OR CASE WHEN $3 = 'submitted' THEN s.submitted_at IS NOT NULL
                               ELSE s.status = $3 END)
       AND ($4 IS NULL OR s.task_id = $4)
       AND ($5 IS NULL OR s.score >= $5)
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA codesight FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA codesight TO codesight_admin;
