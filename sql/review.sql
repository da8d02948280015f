-- Tasks and review: tasks and their options, a session's task, deleting and
-- restoring steps, the submit, scores, the dataset's filters and the task
-- in every export; health() with its checks.  Times that change per run
-- are left out of the output.
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

-- A task without its times.
CREATE FUNCTION pg_temp.t(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT j - 'createdAt' - 'updatedAt'
$$;

------------------------------------------------------------------------------
-- Tasks
------------------------------------------------------------------------------
SELECT pg_temp.t(codesight.create_task('  Buy trail shoes in size 42 ', 'http://shop.test/',
                                       ARRAY['shoes', ' ', 'checkout', 'shoes'], 3)) AS created;
SELECT (codesight.create_task('Find the return policy')->>'taskId')::bigint AS policy \gset
SELECT (codesight.list_tasks()->'tasks'->0->>'taskId')::bigint AS shoes \gset
SELECT pg_temp.try($$SELECT codesight.create_task('   ')$$) AS blank,
       pg_temp.try($$SELECT codesight.create_task(repeat('x', 2001))$$) AS too_long,
       pg_temp.try($$SELECT codesight.create_task('x', NULL, '{}', 0)$$) AS zero_target,
       pg_temp.try($$SELECT codesight.create_task('x', NULL, ARRAY(SELECT 't' || i FROM generate_series(1, 21) i))$$) AS many_tags,
       pg_temp.try($$SELECT codesight.create_task('x', NULL, ARRAY[repeat('t', 51)])$$) AS long_tag;

-- update_task takes a JSON object of the fields to change.
SELECT pg_temp.t(codesight.update_task(:policy, '{"site": "http://shop.test/help", "tags": ["help"], "targetCount": 1}')) AS updated;
SELECT pg_temp.t(codesight.update_task(:policy, '{"site": null, "targetCount": null}')) AS cleared;
SELECT pg_temp.try(format($$SELECT codesight.update_task(%s, '{"colour": "red"}')$$, :policy)) AS unknown_field,
       pg_temp.try(format($$SELECT codesight.update_task(%s, '{"tags": "red"}')$$, :policy)) AS tags_not_array,
       pg_temp.try(format($$SELECT codesight.update_task(%s, '{"tags": [1]}')$$, :policy)) AS tag_not_string,
       pg_temp.try(format($$SELECT codesight.update_task(%s, '{"active": "no"}')$$, :policy)) AS active_not_bool,
       pg_temp.try(format($$SELECT codesight.update_task(%s, '[]')$$, :policy)) AS not_object,
       pg_temp.try($$SELECT codesight.update_task(999999, '{}')$$) AS unknown_task;

-- Workers see active tasks; archived ones only admins.
SELECT pg_temp.t(codesight.update_task(:policy, '{"active": false}'))->'active' AS archived;
SELECT jsonb_path_query_array(codesight.list_tasks(), '$.tasks[*].instruction') AS worker_list,
       jsonb_path_query_array(codesight.list_tasks(true), '$.tasks[*].instruction') AS admin_list,
       codesight.list_tasks()->'allowCustom' AS allow_custom;
SELECT codesight.set_task_options(false) AS options,
       pg_temp.try('SELECT codesight.set_task_options(NULL)') AS null_option;
SELECT codesight.list_tasks()->'allowCustom' AS allow_custom;

------------------------------------------------------------------------------
-- A session's task
------------------------------------------------------------------------------
SELECT (codesight.register_worker('Rita')->>'workerId')::bigint AS rita \gset
SELECT (codesight.register_worker('Sam')->>'workerId')::bigint AS sam \gset
INSERT INTO codesight.sessions (session_id, worker_id, status, started_at, ended_at)
VALUES ('rev-1', :rita, 'completed', '2026-01-01 10:00:00Z', '2026-01-01 10:05:00Z'),
       ('rev-2', :rita, 'active', '2026-01-02 10:00:00Z', NULL),
       ('rev-3', :sam, 'completed', '2026-01-03 10:00:00Z', '2026-01-03 10:05:00Z');

SELECT codesight.set_session_task('rev-1', :shoes, NULL, :rita) - 'taskId' AS picked;
-- Writing one's own task needs the option (an admin may always).
SELECT pg_temp.try(format($$SELECT codesight.set_session_task('rev-2', NULL, 'Browse', %s)$$, :rita)) AS custom_refused;
SELECT codesight.set_task_options(true) AS options;
SELECT codesight.set_session_task('rev-2', NULL, ' Compare two tents ', :rita) AS custom;
SELECT pg_temp.try(format($$SELECT codesight.set_session_task('rev-2', %s, 'Both', %s)$$, :shoes, :rita)) AS both,
       pg_temp.try(format($$SELECT codesight.set_session_task('rev-2', %s, NULL, %s)$$, :policy, :rita)) AS archived_task,
       pg_temp.try(format($$SELECT codesight.set_session_task('rev-2', 999999, NULL, %s)$$, :rita)) AS unknown_task,
       pg_temp.try(format($$SELECT codesight.set_session_task('rev-3', %s, NULL, %s)$$, :shoes, :rita)) AS not_owner,
       pg_temp.try(format($$SELECT codesight.set_session_task('nope', %s, NULL, %s)$$, :shoes, :rita)) AS unknown_session;
-- Both NULL clears it; an admin may set an archived task.
SELECT codesight.set_session_task('rev-3', NULL, NULL, :sam)->'task' AS cleared,
       codesight.set_session_task('rev-3', :policy)->>'task' AS admin_archived;

------------------------------------------------------------------------------
-- Deleting and restoring steps
------------------------------------------------------------------------------
INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
SELECT 'rev-1', i, 'click', '2026-01-01 10:00:00Z'::timestamptz + i * interval '1 second',
       'http://shop.test/p', '#b' || i,
       jsonb_build_object('type', 'click', 'data', jsonb_build_object('url', 'http://shop.test/p', 'selector', '#b' || i))
  FROM generate_series(1, 5) i;
UPDATE codesight.sessions SET event_count = 5, last_seq = 5, max_seq = 5 WHERE session_id = 'rev-1';

SELECT codesight.delete_events('rev-1', '{2,3,99}', :rita) AS deleted;
SELECT array_agg(seq ORDER BY seq) AS kept,
       (SELECT array_agg(seq ORDER BY seq) FROM codesight.deleted_events WHERE session_id = 'rev-1') AS in_trash,
       (SELECT event_count FROM codesight.sessions WHERE session_id = 'rev-1') AS event_count
  FROM codesight.events WHERE session_id = 'rev-1';
-- Deleted steps are out of the exports at once.
SELECT jsonb_path_query_array(codesight.training_data('rev-1'), '$.annotations[*].target_selector') AS exported;
SELECT codesight.restore_events('rev-1', '{3,4,99}', :rita) AS restored,
       pg_temp.try(format($$SELECT codesight.restore_events('rev-1', '{2}', %s)$$, :sam)) AS not_owner,
       codesight.restore_events('nope', '{1}', :rita) AS unknown_session;
SELECT array_agg(seq ORDER BY seq) AS kept,
       (SELECT array_agg(seq ORDER BY seq) FROM codesight.deleted_events WHERE session_id = 'rev-1') AS in_trash,
       (SELECT event_count FROM codesight.sessions WHERE session_id = 'rev-1') AS event_count
  FROM codesight.events WHERE session_id = 'rev-1';
-- An event the client sent again after its deletion stays once.
SELECT codesight.delete_events('rev-1', '{5}', :rita) AS deleted;
INSERT INTO codesight.events SELECT session_id, seq, type, client_ts, received_at, page_url, selector, payload
  FROM codesight.deleted_events WHERE session_id = 'rev-1' AND seq = 5;
SELECT codesight.restore_events('rev-1', '{5}', :rita) AS restored_again,
       (SELECT count(*) FROM codesight.events WHERE session_id = 'rev-1' AND seq = 5) AS copies;
SELECT codesight.delete_events('rev-1', '{5}', :rita) AS deleted_for_submit;

------------------------------------------------------------------------------
-- Submit
------------------------------------------------------------------------------
SELECT pg_temp.try(format($$SELECT codesight.submit_session('rev-2', 'Compared two tents', %s)$$, :rita)) AS still_recording,
       pg_temp.try(format($$SELECT codesight.submit_session('rev-1', '  ', %s)$$, :rita)) AS blank,
       pg_temp.try(format($$SELECT codesight.submit_session('rev-1', 'x', %s)$$, :sam)) AS not_owner,
       pg_temp.try(format($$SELECT codesight.submit_session('nope', 'x', %s)$$, :rita)) AS unknown_session;
SELECT s->>'task' AS task, s->>'confirmedTask' AS confirmed, s->>'submittedAt' IS NOT NULL AS submitted
  FROM codesight.submit_session('rev-1', 'Bought trail shoes in size 43', :rita) s;
-- The submit purged the deleted steps; repeating it is harmless; a
-- different one, or any change by the worker, is refused; an admin may.
SELECT (SELECT count(*) FROM codesight.deleted_events WHERE session_id = 'rev-1') AS in_trash,
       codesight.submit_session('rev-1', 'Bought trail shoes in size 43', :rita)->>'confirmedTask' AS repeated,
       pg_temp.try(format($$SELECT codesight.submit_session('rev-1', 'Other', %s)$$, :rita)) AS changed,
       pg_temp.try(format($$SELECT codesight.delete_events('rev-1', '{1}', %s)$$, :rita)) AS delete_after,
       pg_temp.try(format($$SELECT codesight.set_session_task('rev-1', NULL, 'x', %s)$$, :rita)) AS task_after,
       codesight.set_session_task('rev-1', :shoes)->>'task' AS admin_task_after;
SELECT codesight.submit_session('rev-3', 'Read the return policy', :sam)->>'confirmedTask' AS submitted_3;

------------------------------------------------------------------------------
-- Scores
------------------------------------------------------------------------------
SELECT s - 'scoredAt' AS scored, s->>'scoredAt' IS NOT NULL AS scored_at
  FROM codesight.score_session('rev-1', 4, ' clean run ') s;
SELECT codesight.score_session('rev-3', 2) - 'scoredAt' AS scored,
       pg_temp.try($$SELECT codesight.score_session('rev-3', 6)$$) AS too_high,
       pg_temp.try($$SELECT codesight.score_session('nope', 3)$$) AS unknown_session;

-- The listing and the summary show the task, the submit and the score.
SELECT s->>'sessionId' AS session, s->>'task' AS task, s->>'confirmedTask' AS confirmed,
       s->>'submittedAt' IS NOT NULL AS submitted, s->'score' AS score
  FROM jsonb_array_elements(codesight.list_sessions('submitted')->'sessions') s;
SELECT codesight.list_sessions('submitted', 10, 0, :sam)->'total' AS sams_submitted;
SELECT s->>'taskId' = :'shoes' AS task_id, s->'score' AS score, s->'scoreNote' AS note
  FROM codesight.session_summary('rev-1') s;

------------------------------------------------------------------------------
-- The dataset's filters and the task in every export
------------------------------------------------------------------------------
SELECT array_agg(session_id ORDER BY started_at) AS submitted
  FROM codesight._dataset_sessions(NULL, NULL, 'submitted', NULL, NULL);
SELECT array_agg(session_id ORDER BY started_at) AS by_task
  FROM codesight._dataset_sessions(NULL, NULL, NULL, :shoes, NULL);
SELECT array_agg(session_id ORDER BY started_at) AS by_score
  FROM codesight._dataset_sessions(NULL, NULL, NULL, NULL, 3);
SELECT array_agg(session_id ORDER BY started_at) AS by_dates
  FROM codesight._dataset_sessions('2026-01-02', '2026-01-03', NULL, NULL, NULL)
 WHERE session_id LIKE 'rev-%';
SELECT pg_temp.try($$SELECT * FROM codesight._dataset_sessions(NULL, NULL, 'done', NULL, NULL)$$) AS bad_status,
       pg_temp.try($$SELECT codesight.export_dataset(NULL, 'done')$$) AS bad_export_status;

SELECT DISTINCT l->>'session_id' AS session, l->'task_id' = to_jsonb(:shoes) AS task_id,
       l->>'task' AS task, l->>'confirmed_task' AS confirmed_task
  FROM codesight.export_dataset(NULL, 'submitted', :shoes, NULL, 4) l;
SELECT count(*) AS lines_scored_5
  FROM codesight.export_dataset(NULL, 'submitted', NULL, NULL, 5);
-- The old two-argument calls still work.
SELECT count(*) AS completed_lines FROM codesight.export_dataset('2026-01-01', 'completed') l
 WHERE l->>'session_id' LIKE 'rev-%';

SELECT t->>'task' AS task, t->>'confirmed_task' AS confirmed_task
  FROM codesight.training_data('rev-1') t;
SELECT t->'task' AS task, t->'confirmed_task' AS confirmed_task
  FROM codesight.training_data('rev-2') t;
-- training_data writes the task fields after its array itself
-- (src/jsonb_build.c): the bytes are PostgreSQL's for the same value.
SELECT td = td::text::jsonb AS same_value, pg_column_size(td) = pg_column_size(td::text::jsonb) AS same_size
  FROM (SELECT codesight.training_data(s) FROM unnest(ARRAY['rev-1', 'rev-2', 'rev-3']) s) AS t(td);

-- The Playwright header names the task; a line break in it cannot end the comment.
SELECT codesight.set_session_task('rev-2', NULL, E'Line one\nline two\r\u2028three', :rita)->>'task' ~ E'\n' AS multiline;
SELECT line FROM regexp_split_to_table(codesight.export_playwright('rev-1'), E'\n') AS line
 WHERE line LIKE '// %task%' OR line LIKE '// Task%' OR line LIKE '// Confirmed%';
SELECT line FROM regexp_split_to_table(codesight.export_playwright('rev-2'), E'\n') AS line
 WHERE line LIKE '// Task%' OR line LIKE '// Confirmed%' OR line LIKE 'line%' OR line LIKE 'three%';

-- The task counts on the admin list; a task whose target is reached leaves
-- the workers' list.
SELECT j->>'instruction' AS instruction, j->'sessionCount' AS sessions, j->'submittedCount' AS submitted
  FROM jsonb_array_elements(codesight.list_tasks(true)->'tasks') j;
SELECT pg_temp.t(codesight.update_task(:shoes, '{"targetCount": 1}'))->'targetCount' AS target,
       jsonb_path_query_array(codesight.list_tasks(), '$.tasks[*].instruction') AS worker_list;

-- Deleting a session takes its deleted steps too.
SELECT codesight.delete_events('rev-2', '{1}', :rita) AS nothing_to_delete;
INSERT INTO codesight.deleted_events (session_id, seq, type, payload) VALUES ('rev-2', 7, 'click', '{}');
SELECT codesight.delete_session('rev-2', :rita) AS deleted,
       (SELECT count(*) FROM codesight.deleted_events WHERE session_id = 'rev-2') AS in_trash;

------------------------------------------------------------------------------
-- health(): every check with a status; here the worker does not run
-- (codesight.port = 0) and S3 is not configured.
------------------------------------------------------------------------------
SELECT h->>'status' AS status,
       jsonb_path_query_array(h, '$.checks[*].name') AS names,
       jsonb_path_query_array(h, '$.checks[*].status') AS statuses,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(h->'checks'->0) k) AS check_keys
  FROM codesight.health() h;
SELECT c->>'name' AS name, c->>'message' AS message
  FROM jsonb_array_elements(codesight.health()->'checks') c
 WHERE c->>'name' <> 'postgres';
SELECT codesight.s3_check() - 'latencyMs' AS s3;
SELECT pg_temp.try('SELECT codesight.s3_check(50)') AS short_timeout,
       pg_temp.try('SELECT codesight.s3_check(2000, -1)') AS negative_age;
-- With a bucket and credentials but nothing listening, S3 is down, within the timeout.
SET codesight.s3_bucket = 'regress';
SET codesight.s3_endpoint = 'http://127.0.0.1:9';
SET codesight.s3_url_style = 'path';
SET codesight.s3_access_key_id = 'AKIDREGRESS';
SET codesight.s3_secret_access_key = 'regress-secret';
SELECT c->>'status' AS status, c->>'message' LIKE 'unreachable: %' AS unreachable,
       c->>'bucket' AS bucket, (c->>'latencyMs')::int < 2000 AS within_timeout
  FROM codesight.s3_check() c;
SELECT c->>'status' AS s3_in_health, c->>'label' AS label
  FROM jsonb_array_elements(codesight.health()->'checks') c WHERE c->>'name' = 's3';
RESET codesight.s3_bucket;
RESET codesight.s3_endpoint;
RESET codesight.s3_url_style;
RESET codesight.s3_access_key_id;
RESET codesight.s3_secret_access_key;
