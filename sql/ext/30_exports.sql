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
    op           text,           -- CLICK TYPE SELECT HOVER PRESS SCROLL NAVIGATE
    value        text,           -- typed text, option value, key, URL or "x,y"
    masked       text,           -- placeholder kind (EMAIL, CARD_NUMBER, ...) or NULL
    url          text,           -- page URL when the action happened
    frame_path   jsonb,          -- iframe selectors from the top document
    selectors    jsonb,          -- the extension's locator alternatives
    selector     text,           -- its first unique locator
    element      jsonb,          -- {tag, role, name, text, attributes, boundingBox}
    coordinates  jsonb,          -- {x, y} client coordinates of a click
    implicit     boolean,        -- a navigation caused by the previous action
    detail       jsonb           -- per-op extras: dblclick, clickCount, optionText, x, y
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

-- The replay default for a masked value kind: a harmless test value of the
-- right shape, so that forms validate.
CREATE FUNCTION codesight._mask_default(kind text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE kind
    WHEN 'EMAIL' THEN 'user@example.com'
    WHEN 'CARD_NUMBER' THEN '4242424242424242'
    WHEN 'CVC' THEN '123'
    WHEN 'PASSWORD' THEN 'Test-password-1'
    WHEN 'SSN' THEN '078-05-1120'
    WHEN 'PHONE' THEN '+15555550100'
    WHEN 'CARD_EXPIRY' THEN '12/34'
    WHEN 'CARD_NAME' THEN 'Test User'
    WHEN 'CARD_DATA' THEN '0000'
    ELSE 'test-value'
END;

-- A JavaScript expression for a recorded value.  Placeholders the
-- sanitizer left (<EMAIL>, <CARD_NUMBER>, ...) become parameters
-- `process.env.CS_<KIND> ?? "<default>"`, so a replay never types the
-- placeholder itself and the tester can supply real test data.
CREATE FUNCTION codesight._js_value(s text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    pattern constant text := '<([A-Z][A-Z0-9_]{1,30})>';
    parts text[];
    kinds text[];
    expr text[] := '{}';
    param text;
BEGIN
    IF s IS NULL OR s !~ pattern THEN
        RETURN codesight._js(coalesce(s, ''));
    END IF;
    parts := regexp_split_to_array(s, pattern);
    SELECT array_agg(m[1] ORDER BY n) INTO kinds
      FROM regexp_matches(s, pattern, 'g') WITH ORDINALITY AS r(m, n);
    FOR i IN 1 .. array_length(parts, 1) LOOP
        IF parts[i] <> '' THEN
            expr := expr || codesight._js(parts[i]);
        END IF;
        IF i <= coalesce(array_length(kinds, 1), 0) THEN
            param := format('process.env.CS_%s ?? %s', kinds[i],
                            codesight._js(codesight._mask_default(kinds[i])));
            expr := expr || param;
        END IF;
    END LOOP;
    IF array_length(expr, 1) = 1 THEN
        RETURN expr[1];
    END IF;
    -- parenthesise the ?? operands inside a concatenation
    RETURN array_to_string(ARRAY(
        SELECT CASE WHEN x LIKE 'process.env.%' THEN '(' || x || ')' ELSE x END
          FROM unnest(expr) AS x), ' + ');
END
$$;

-- A CSS attribute selector [name="value"] with the value escaped.
CREATE FUNCTION codesight._css_attr(name text, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '[' || name || '="' || replace(replace(value, '\', '\\'), '"', '\"') || '"]';

-- The Playwright locator expression for a recorded target, ranked like
-- Playwright's codegen: test id, role with name, placeholder, label, text,
-- CSS, XPath, then the extension's own first selector.  Targets inside
-- iframes are reached through page.frameLocator() per framePath entry.
-- NULL when nothing usable was recorded.
CREATE FUNCTION codesight._locator(selectors jsonb, selector text, frame_path jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    root text := 'page';
    f text;
    tid jsonb;
    attr text;
    val text;
    loc text;
BEGIN
    IF jsonb_typeof(frame_path) = 'array' THEN
        FOR f IN SELECT jsonb_array_elements_text(frame_path) LOOP
            root := root || '.frameLocator(' || codesight._js(f) || ')';
        END LOOP;
    END IF;
    IF jsonb_typeof(selectors) = 'object' THEN
        tid := selectors -> 'testId';
        IF jsonb_typeof(tid) = 'object' THEN
            attr := coalesce(tid ->> 'attribute', 'data-testid');
            val := tid ->> 'value';
        ELSIF jsonb_typeof(tid) = 'string' THEN
            attr := 'data-testid';
            val := tid #>> '{}';
        END IF;
        IF coalesce(val, '') <> '' THEN
            -- getByTestId uses data-testid unless the config says otherwise
            IF attr = 'data-testid' THEN
                RETURN root || '.getByTestId(' || codesight._js(val) || ')';
            END IF;
            RETURN root || '.locator(' || codesight._js(codesight._css_attr(attr, val)) || ')';
        END IF;
        IF jsonb_typeof(selectors -> 'role') = 'object'
           AND coalesce(selectors #>> '{role,role}', '') <> ''
           AND coalesce(selectors #>> '{role,name}', '') <> '' THEN
            RETURN root || '.getByRole(' || codesight._js(selectors #>> '{role,role}')
                   || ', { name: ' || codesight._js(selectors #>> '{role,name}') || ', exact: true })';
        END IF;
        IF coalesce(selectors ->> 'placeholder', '') <> '' THEN
            RETURN root || '.getByPlaceholder(' || codesight._js(selectors ->> 'placeholder') || ', { exact: true })';
        END IF;
        IF coalesce(selectors ->> 'label', '') <> '' THEN
            RETURN root || '.getByLabel(' || codesight._js(selectors ->> 'label') || ', { exact: true })';
        END IF;
        IF coalesce(selectors ->> 'text', '') <> '' THEN
            RETURN root || '.getByText(' || codesight._js(selectors ->> 'text') || ', { exact: true })';
        END IF;
        IF coalesce(selectors ->> 'css', '') <> '' THEN
            RETURN root || '.locator(' || codesight._js(selectors ->> 'css') || ')';
        END IF;
        IF coalesce(selectors ->> 'xpath', '') <> '' THEN
            RETURN root || '.locator(' || codesight._js('xpath=' || (selectors ->> 'xpath')) || ')';
        END IF;
    END IF;
    IF coalesce(selector, '') <> '' THEN
        RETURN root || '.locator(' || codesight._js(selector) || ')';
    END IF;
    RETURN NULL;
END
$$;

-- The statement(s) replaying one action; `prev_op` is the op of the row
-- before (an implicit navigation is awaited only after what caused it).
CREATE FUNCTION codesight._playwright_line(a codesight.action, prev_op text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    loc text := codesight._locator(a.selectors, a.selector, a.frame_path);
    base text;
BEGIN
    IF a.op = 'NAVIGATE' THEN
        IF NOT a.implicit THEN
            -- a masked query parameter becomes a parameter too
            RETURN '  await page.goto(' || codesight._js_value(a.value) || ');';
        END IF;
        IF prev_op IN ('CLICK', 'PRESS', 'SELECT') THEN
            -- origin + path only: the query may hold masked values
            base := substring(a.value FROM '^[^?#]*');
            RETURN '  await page.waitForURL((url) => url.origin + url.pathname === '
                   || codesight._js(base) || ');';
        END IF;
        RETURN NULL;
    ELSIF a.op = 'SCROLL' THEN
        RETURN format('  await scrollToPosition(page, %s, %s);',
                      a.detail ->> 'x', a.detail ->> 'y');
    ELSIF a.op = 'PRESS' AND loc IS NULL THEN
        RETURN '  await page.keyboard.press(' || codesight._js(a.value) || ');';
    END IF;
    IF loc IS NULL THEN
        RETURN format('  // step %s: %s without a recorded target, skipped', a.step, lower(a.op));
    END IF;
    RETURN '  await ' || loc || CASE a.op
        WHEN 'CLICK' THEN
            CASE WHEN (a.detail ->> 'dblclick')::boolean THEN '.dblclick()'
                 WHEN a.detail ->> 'button' IN ('right', '2') THEN '.click({ button: ''right'' })'
                 ELSE '.click()' END
        WHEN 'TYPE' THEN '.fill(' || codesight._js_value(a.value) || ')'
        WHEN 'SELECT' THEN '.selectOption(' || codesight._js_value(a.value) || ')'
        WHEN 'PRESS' THEN '.press(' || codesight._js(a.value) || ')'
        WHEN 'HOVER' THEN '.hover()'
        END || ';';
END
$$;

-- The body of export_playwright's test and what its header needs, in one
-- pass over _actions in C (src/actions.c), with the rules of _locator,
-- _js_value and _playwright_line above: body (the lines in action order,
-- NULL without any), n_steps (real actions), has_scroll (NULL without
-- actions) and params (the distinct placeholder kinds typed or selected,
-- sorted, joined by ', ').  The SQL helpers stay as the readable statement
-- of those rules.
CREATE FUNCTION codesight._playwright_body(p_session_id text,
                                           OUT body text, OUT n_steps integer,
                                           OUT has_scroll boolean, OUT params text)
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
    has_scroll boolean;
    params text;
    started timestamptz;
    task text;
    confirmed_task text;
BEGIN
    PERFORM codesight._export_session_check(export_playwright.session_id);
    SELECT s.started_at, s.task, s.confirmed_task INTO started, task, confirmed_task
      FROM codesight.sessions s WHERE s.session_id = export_playwright.session_id;
    SELECT pb.body, pb.n_steps, pb.has_scroll, pb.params
      INTO body, n_steps, has_scroll, params
      FROM codesight._playwright_body(export_playwright.session_id) pb;
    RETURN concat_ws(E'\n',
        '// Replays CodeSight session ' || session_id || ', recorded '
            || to_char(started AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC ('
            || coalesce(n_steps, 0) || ' actions).',
        '// Exported by codesight.export_playwright(); see docs/exports.md.',
        '// Task: ' || codesight._comment_line(task),
        '// Confirmed task: ' || codesight._comment_line(confirmed_task),
        CASE WHEN params IS NOT NULL THEN
            '// Masked values are parameters: set ' || (SELECT string_agg('CS_' || k, ', ')
                FROM unnest(string_to_array(params, ', ')) AS k)
            || ' to override the test defaults.' END,
        'const { test, expect } = require(''@playwright/test'');',
        '',
        CASE WHEN has_scroll THEN concat_ws(E'\n',
            '// Scrolls the window to (x, y) as the user did, waiting for content that',
            '// loads on scroll to make the page tall enough.',
            'async function scrollToPosition(page, x, y) {',
            '  for (let i = 0; i < 50; i++) {',
            '    const { top, height } = await page.evaluate(([sx, sy]) => {',
            '      window.scrollTo(sx, sy);',
            '      return { top: window.scrollY, height: document.documentElement.scrollHeight };',
            '    }, [x, y]);',
            '    if (top >= y - 1) return;',
            '    const grew = await page.waitForFunction((h) => document.documentElement.scrollHeight > h,',
            '      height, { timeout: 2000 }).then(() => true, () => false);',
            '    if (!grew) return;',
            '  }',
            '}',
            '') END,
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

