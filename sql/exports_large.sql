-- Exports of a 100,000-event session finish in one pass: 1,000 fields
-- typed one keystroke at a time collapse into 1,000 fills.
SET TimeZone = 'UTC';
INSERT INTO codesight.sessions (session_id, status, started_at)
VALUES ('exp_big', 'completed', '2026-02-01 00:00:00+00');
INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
SELECT 'exp_big', n, t, '2026-02-01 00:00:00+00'::timestamptz + n * interval '10 ms',
       'https://shop.test/form', sel,
       jsonb_build_object('type', t, 'timestamp', 0, 'data', CASE t
         WHEN 'input' THEN jsonb_build_object('url', 'https://shop.test/form', 'framePath', '[]'::jsonb,
              'selector', sel, 'selectors', jsonb_build_object('label', 'Field ' || f),
              'value', repeat('x', k + 1), 'inputType', 'text')
         WHEN 'click' THEN jsonb_build_object('url', 'https://shop.test/form', 'framePath', '[]'::jsonb,
              'selector', '#next', 'selectors', jsonb_build_object('role', jsonb_build_object('role', 'button', 'name', 'Next')))
         ELSE jsonb_build_object('url', 'https://shop.test/form', 'framePath', '[]'::jsonb,
              'scroll', jsonb_build_object('x', 0, 'y', k), 'viewport', jsonb_build_object('height', 700),
              'documentHeight', 5000) END)
  FROM (SELECT n, (n - 1) / 100 AS f, (n - 1) % 100 AS k,
               CASE WHEN (n - 1) % 100 < 90 THEN 'input'
                    WHEN (n - 1) % 100 < 99 THEN 'scroll' ELSE 'click' END AS t,
               '#f' || ((n - 1) / 100) AS sel
          FROM generate_series(1, 100000) n) s;

SELECT op, count(*), min(length(value)), max(length(value))
  FROM codesight._actions('exp_big') GROUP BY op ORDER BY op;

-- 1,000 fills of the final value, 1,000 clicks, one goto, nothing else.
SELECT count(*) FILTER (WHERE line LIKE '%.fill("' || repeat('x', 90) || '");') AS fills,
       count(*) FILTER (WHERE line LIKE '%getByRole("button", { name: "Next", exact: true }).click();') AS clicks,
       count(*) FILTER (WHERE line LIKE '%page.goto(%') AS gotos,
       count(*) FILTER (WHERE line LIKE '  await %') AS statements
  FROM regexp_split_to_table(codesight.export_playwright('exp_big'), E'\n') AS line;

SELECT count(*), count(DISTINCT (x ->> 'step')::int), max((x ->> 'step')::int)
  FROM codesight.export_dataset('2026-02-01 00:00:00+00', NULL) AS x;

SELECT jsonb_array_length(codesight.training_data('exp_big') -> 'annotations');

-- training_data writes its document's bytes itself (src/jsonb_build.c).
-- They must be what PostgreSQL writes for the same value: equal to the
-- document re-read from its text, of the same size, and every annotation
-- found by position (JEntry offsets, every 32nd an end offset) and by
-- iteration.  The buffer is sized from the session's event count: 0 here
-- is too small, then too large.
CREATE FUNCTION pg_temp.same_bytes(sid text) RETURNS TABLE (same_value bool, same_size bool,
    mismatched_elements bigint, keys text[], n int)
LANGUAGE sql AS $$
  WITH r AS MATERIALIZED (SELECT td, td::text::jsonb AS re
                            FROM codesight.training_data(sid) AS td)
  SELECT td = re, pg_column_size(td) = pg_column_size(re),
         (SELECT count(*) FROM generate_series(0, jsonb_array_length(re -> 'annotations') - 1) i
           WHERE td #> ARRAY['annotations', i::text] IS DISTINCT FROM re #> ARRAY['annotations', i::text]
              OR td #> ARRAY['annotations', i::text, 'timestamp'] IS DISTINCT FROM
                 re #> ARRAY['annotations', i::text, 'timestamp']),
         ARRAY(SELECT jsonb_object_keys(td)),
         jsonb_array_length(td -> 'annotations')
    FROM r
$$;
SELECT * FROM pg_temp.same_bytes('exp_big');
-- (the export size limit reads event_count too: lifted for this check)
SET codesight.max_export_events = 0;
UPDATE codesight.sessions SET event_count = 1000000 WHERE session_id = 'exp_big';
SELECT * FROM pg_temp.same_bytes('exp_big');
