-- Training-data exports: the Training Data Format (training_data), a
-- Playwright replay script (export_playwright) and a Mind2Web-style JSONL
-- dataset (export_dataset).  See docs/exports.md.
--
-- All three read the same action list, codesight._actions(session_id), so
-- the rules that turn raw events into user actions (collapse typing, drop
-- navigations a click caused, keep only scrolls that loaded content, ...)
-- exist exactly once.

------------------------------------------------------------------------------
-- The action list
------------------------------------------------------------------------------

-- One user action as the exports see it.  `ord` orders every row; `step`
-- numbers the real actions only (implicit rows have none).
CREATE TYPE codesight.action AS (
    session_id   text,
    ord          integer,
    step         integer,
    seq          bigint,         -- the event that produced the row (the last one when collapsed)
    ts           timestamptz,    -- client time of that event
    op           text,           -- CLICK TYPE SELECT HOVER PRESS SCROLL NAVIGATE DRAG
    value        text,           -- typed text, option value, key, URL or "x,y"
    masked       text,           -- placeholder kind (EMAIL, CARD_NUMBER, ...) or NULL
    url          text,           -- page URL when the action happened
    frame_path   jsonb,          -- iframe selectors from the top document
    selectors    jsonb,          -- the extension's locator alternatives
    selector     text,           -- its first unique locator
    element      jsonb,          -- {tag, role, name, text, attributes, boundingBox}
    coordinates  jsonb,          -- {x, y} client coordinates of a click
    implicit     boolean,        -- a navigation caused by the previous action
    detail       jsonb,          -- per-op extras: dblclick, clickCount, optionText, x, y, container,
                                 -- position, to / sourcePosition / targetPosition (DRAG)
    locators     jsonb           -- the extension's ranked locators (docs/events.md)
);

-- Turns a session's events into its action list, in one pass over the
-- events ordered by seq (src/actions.c; the rules are in docs/exports.md).
-- One action is held back ("pending") so that the next event can still
-- merge into it: keystrokes in the same field, a click that only focused
-- the field typed into next, the two clicks of a double click, a run of
-- scroll events.  Events are read through a cursor in batches of 1,000.
CREATE FUNCTION codesight._actions(p_session_id text)
RETURNS SETOF codesight.action
LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'codesight_actions';

-- Raises the exports' error for a session id that does not exist, and for
-- a session larger than a whole-session document may be built from
-- (codesight.max_export_events): such a document sits whole in memory,
-- and a 1,000,000-event session took a backend to 3.2 GB and 14 s.
CREATE FUNCTION codesight._export_session_check(p_session_id text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_events bigint;
    v_limit bigint := coalesce(nullif(current_setting('codesight.max_export_events', true), ''), '200000')::bigint;
BEGIN
    SELECT s.event_count INTO v_events FROM codesight.sessions s WHERE s.session_id = p_session_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session "%" does not exist', p_session_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'List sessions with codesight.list_sessions().';
    END IF;
    IF v_limit > 0 AND v_events > v_limit THEN
        RAISE EXCEPTION 'session "%" has % events, more than a whole-session export builds (codesight.max_export_events = %)',
                        p_session_id, v_events, v_limit
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = 'A whole-session document is built in memory at once.',
                  HINT = 'Read the session page by page (GET /api/extension/sessions/<id>/events?after=, codesight.session_events()) or stream it (GET /api/export/dataset.jsonl); for a one-off export SET codesight.max_export_events to a larger value.';
    END IF;
END
$$;

-- The session's complete upload of one kind (the earliest), with the time
-- its recording started: recording_started_at as the client reported it,
-- else created_at of the upload row (when the client asked for the upload
-- URL, usually right after the recorder started).
CREATE FUNCTION codesight._media(p_session_id text, p_kind text,
                                 OUT path text, OUT started_at timestamptz)
LANGUAGE sql STABLE
RETURN (SELECT ROW('s3://' || u.bucket || '/' || u.object_key,
                   coalesce(u.recording_started_at, u.created_at))
          FROM codesight.uploads u
         WHERE u.session_id = p_session_id AND u.kind = p_kind AND u.status = 'complete'
         ORDER BY coalesce(u.recording_started_at, u.created_at), u.upload_id
         LIMIT 1);

-- Milliseconds from the start of the video to an action; NULL without a
-- video or for actions before the recording started.
CREATE FUNCTION codesight._video_offset(ts timestamptz, video_start timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN ts >= video_start
            THEN round(extract(epoch FROM (ts - video_start)) * 1000)::bigint END;

------------------------------------------------------------------------------
-- Training Data Format
------------------------------------------------------------------------------

-- {video_path, audio_path, annotations: [...]}: the session's actions,
-- aligned with its video, for training.  In C (src/actions.c): it looks up
-- the session and its media with _export_session_check and _media, like
-- every export, then builds the annotations in one pass over the actions.
CREATE FUNCTION codesight.training_data(session_id text) RETURNS jsonb
LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'codesight_training_data';

------------------------------------------------------------------------------
-- Playwright export
------------------------------------------------------------------------------

-- A JavaScript string literal for s.  JSON string syntax is a subset of
-- JavaScript's (U+2028/2029 included since ES2019), so to_json escapes
-- quotes, backslashes and control characters correctly.
CREATE FUNCTION codesight._js(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(to_json(s)::text, '""');

-- The body of export_playwright's test and what its header needs, in one
-- pass over _actions in C (src/actions.c; docs/exports.md states the
-- rules): body (the lines in action order, NULL without any), n_steps (real
-- actions), helpers (the functions the body calls, NULL for none) and
-- params (comment lines naming the parameters masked values became, NULL
-- for none).
CREATE FUNCTION codesight._playwright_body(p_session_id text,
                                           OUT body text, OUT n_steps integer,
                                           OUT helpers text, OUT params text)
LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'codesight_playwright_body';

-- Text on one line of a // comment: JavaScript's line terminators (CR,
-- LF, U+2028, U+2029) become spaces, so the text cannot end the comment.
CREATE FUNCTION codesight._comment_line(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN regexp_replace(s, '[\r\n\u2028\u2029]', ' ', 'g');

-- A Playwright test (JavaScript, @playwright/test) replaying the session.
CREATE FUNCTION codesight.export_playwright(session_id text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    body text;
    n_steps integer;
    helpers text;
    params text;
    started timestamptz;
    task text;
    confirmed_task text;
BEGIN
    PERFORM codesight._export_session_check(export_playwright.session_id);
    SELECT s.started_at, s.task, s.confirmed_task INTO started, task, confirmed_task
      FROM codesight.sessions s WHERE s.session_id = export_playwright.session_id;
    SELECT pb.body, pb.n_steps, pb.helpers, pb.params
      INTO body, n_steps, helpers, params
      FROM codesight._playwright_body(export_playwright.session_id) pb;
    RETURN concat_ws(E'\n',
        '// Replays CodeSight session ' || session_id || ', recorded '
            || to_char(started AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC ('
            || coalesce(n_steps, 0) || ' actions).',
        '// Exported by codesight.export_playwright(); see docs/exports.md.',
        '// Task: ' || codesight._comment_line(task),
        '// Confirmed task: ' || codesight._comment_line(confirmed_task),
        params,
        'const { test, expect } = require(''@playwright/test'');',
        '',
        helpers,
        'test(' || codesight._js('codesight session ' || session_id) || ', async ({ page }) => {',
        body,
        '});',
        '');
END
$$;

------------------------------------------------------------------------------
-- Mind2Web-style dataset
------------------------------------------------------------------------------

-- The dataset lines of one session, in action order (src/actions.c).
-- export_dataset and the worker's streamed GET /api/export/dataset.jsonl
-- both read sessions through this, one at a time.
CREATE FUNCTION codesight.dataset_session(p_session_id text) RETURNS SETOF jsonb
LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'codesight_dataset_session';

-- One JSON object per action of every matching session, sessions in start
-- order, actions in order (src/actions.c).  The filters are those of
-- codesight._dataset_sessions (25_review.sql): started in [since, until),
-- status (a session status, 'submitted', or NULL for any), task, lowest
-- score.  Sessions are read through a cursor and each session's rows are
-- produced and handed on before the next session is read; the function's
-- result spills to disk past work_mem, so memory stays bounded.
CREATE FUNCTION codesight.export_dataset(since timestamptz DEFAULT NULL,
                                         status text DEFAULT 'completed',
                                         task_id bigint DEFAULT NULL,
                                         until timestamptz DEFAULT NULL,
                                         min_score int DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'codesight_export_dataset';

-- Privileges: sql/ext/90_privileges.sql (nothing for PUBLIC, EXECUTE for codesight_admin).

