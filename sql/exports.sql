-- Training-data exports: codesight._actions, training_data,
-- export_playwright and export_dataset over hand-made sessions whose
-- payloads are shaped as docs/events.md describes.
SET TimeZone = 'UTC';

-- Loads a session from a JSON array of [type, ms offset, data] triples.
CREATE FUNCTION pg_temp.load_session(sid text, status text, t0 timestamptz, evs jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO codesight.sessions (session_id, status, started_at)
    VALUES (sid, status, t0);
    INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
    SELECT sid, n, e ->> 0, t0 + (e ->> 1)::int * interval '1 millisecond',
           e -> 2 ->> 'url', e -> 2 ->> 'selector',
           jsonb_build_object('type', e ->> 0,
                              'timestamp', (extract(epoch FROM t0) * 1000)::bigint + (e ->> 1)::bigint,
                              'data', e -> 2)
      FROM jsonb_array_elements(evs) WITH ORDINALITY AS x(e, n);
$$;

-- A shopping session touching every extraction rule.
SELECT pg_temp.load_session('exp_a', 'completed', '2026-01-01 10:00:00+00', $json$[
 ["navigation", 0, {"url": "https://shop.test/", "transitionType": "typed", "frameId": 0}],
 ["page", 50, {"action": "load", "url": "https://shop.test/", "framePath": []}],
 ["navigation", 60, {"url": "https://shop.test/newsletter.html", "transitionType": "auto_subframe", "frameId": 3}],
 ["click", 1000, {"url": "https://shop.test/", "framePath": [], "selector": "input[name=\"q\"]",
   "selectors": {"placeholder": "Search products", "css": "input[name=\"q\"]"},
   "element": {"tag": "input", "text": "", "attributes": {"type": "search"}, "boundingBox": {"x": 10, "y": 20, "width": 100, "height": 30}},
   "coordinates": {"x": 50, "y": 35}}],
 ["input", 1100, {"url": "https://shop.test/", "framePath": [], "selector": "input[name=\"q\"]", "selectors": {"placeholder": "Search products"}, "value": "sh", "masked": null, "inputType": "search"}],
 ["input", 1200, {"url": "https://shop.test/", "framePath": [], "selector": "input[name=\"q\"]", "selectors": {"placeholder": "Search products"}, "value": "sho", "masked": null, "inputType": "search"}],
 ["input", 1300, {"url": "https://shop.test/", "framePath": [], "selector": "input[name=\"q\"]", "selectors": {"placeholder": "Search products"}, "value": "shoes", "masked": null, "inputType": "search"}],
 ["change", 1350, {"url": "https://shop.test/", "framePath": [], "selector": "input[name=\"q\"]", "selectors": {"placeholder": "Search products"}, "value": "shoes", "masked": null, "inputType": "search"}],
 ["keypress", 1400, {"url": "https://shop.test/", "framePath": [], "selector": "input[name=\"q\"]", "selectors": {"placeholder": "Search products"}, "key": "Enter"}],
 ["submit", 1410, {"url": "https://shop.test/", "framePath": [], "formSelector": "form.search", "fieldCount": 1}],
 ["navigation", 1500, {"url": "https://shop.test/search?q=shoes", "transitionType": "form_submit", "frameId": 0}],
 ["scroll", 2000, {"url": "https://shop.test/search?q=shoes", "framePath": [], "scroll": {"x": 0, "y": 200}, "direction": "down", "viewport": {"width": 1280, "height": 720}, "documentHeight": 3000}],
 ["scroll", 2100, {"url": "https://shop.test/search?q=shoes", "framePath": [], "scroll": {"x": 0, "y": 400}, "direction": "down", "viewport": {"width": 1280, "height": 720}, "documentHeight": 3000}],
 ["hover", 2500, {"url": "https://shop.test/search?q=shoes", "framePath": [], "selector": "nav > span", "selectors": {"text": "Categories"}, "element": {"tag": "span", "text": "Categories"}, "durationMs": 800, "revealed": true, "revealedCount": 4}],
 ["hover", 2600, {"url": "https://shop.test/search?q=shoes", "framePath": [], "selector": "#logo", "selectors": {"css": "#logo"}, "element": {"tag": "a"}, "durationMs": 400, "revealed": false}],
 ["click", 3000, {"url": "https://shop.test/search?q=shoes", "framePath": [], "selector": "a.product:nth-of-type(2)",
   "selectors": {"role": {"role": "link", "name": "Trail \"Runner\" 2"}, "text": "Trail \"Runner\" 2", "css": "a.product:nth-of-type(2)"},
   "element": {"tag": "a", "role": "link", "name": "Trail \"Runner\" 2", "text": "Trail \"Runner\" 2", "boundingBox": {"x": 100, "y": 300, "width": 200, "height": 40}},
   "coordinates": {"x": 150, "y": 320}}],
 ["navigation", 3100, {"url": "https://shop.test/p/2", "transitionType": "link", "frameId": 0}],
 ["scroll", 3500, {"url": "https://shop.test/p/2", "framePath": [], "scroll": {"x": 0, "y": 1000}, "direction": "down", "viewport": {"width": 1280, "height": 720}, "documentHeight": 1800}],
 ["scroll", 3600, {"url": "https://shop.test/p/2", "framePath": [], "scroll": {"x": 0, "y": 1900}, "direction": "down", "viewport": {"width": 1280, "height": 720}, "documentHeight": 2600}],
 ["select", 4000, {"url": "https://shop.test/p/2", "framePath": [], "selector": "#size", "selectors": {"label": "Size", "css": "#size"}, "element": {"tag": "select"}, "value": "M", "optionText": "M", "selectedIndex": 1}],
 ["select", 4100, {"url": "https://shop.test/p/2", "framePath": [], "selector": "#size", "selectors": {"label": "Size", "css": "#size"}, "element": {"tag": "select"}, "value": "L", "optionText": "L", "selectedIndex": 2}],
 ["input", 4500, {"url": "https://shop.test/p/2", "framePath": [], "selector": "textarea.note", "selectors": {"css": "textarea.note"}, "element": {"tag": "textarea"}, "value": "gift 'wrap'\nsay \"hi\" `now` \\o/", "masked": null, "inputType": null}],
 ["click", 5000, {"url": "https://shop.test/p/2", "framePath": [], "selector": "[data-testid=\"add-to-cart\"]",
   "selectors": {"testId": {"attribute": "data-testid", "value": "add-to-cart"}, "role": {"role": "button", "name": "Add to Cart"}, "css": "#buy > button"},
   "element": {"tag": "button", "role": "button", "name": "Add to Cart", "text": "Add to Cart", "boundingBox": {"x": 500, "y": 400, "width": 120, "height": 40}},
   "coordinates": {"x": 560, "y": 420}}],
 ["click", 5200, {"url": "https://shop.test/p/2", "framePath": [], "selector": "button.fav", "selectors": {"css": "button[title='it\\'s `fav`']"}, "element": {"tag": "button"}}],
 ["click", 5400, {"url": "https://shop.test/p/2", "framePath": [], "selector": "button.fav", "selectors": {"css": "button[title='it\\'s `fav`']"}, "element": {"tag": "button"}}],
 ["dblclick", 5410, {"url": "https://shop.test/p/2", "framePath": [], "selector": "button.fav", "selectors": {"css": "button[title='it\\'s `fav`']"}, "element": {"tag": "button"}}],
 ["click", 6000, {"url": "https://shop.test/p/2", "framePath": ["#newsletter", "iframe.inner"], "selector": "#email",
   "selectors": {"label": "Your email", "css": "#email"}, "element": {"tag": "input"}}],
 ["input", 6100, {"url": "https://shop.test/p/2", "framePath": ["#newsletter", "iframe.inner"], "selector": "#email",
   "selectors": {"label": "Your email", "css": "#email"}, "element": {"tag": "input"}, "value": "<EMAIL>", "masked": "EMAIL", "inputType": "email"}],
 ["keypress", 6200, {"url": "https://shop.test/p/2", "framePath": [], "key": "Escape"}],
 ["click", 7000, {"url": "https://shop.test/p/2", "framePath": [], "selector": "a.cart", "selectors": {"xpath": "//a[@class=\"cart\"]"}, "element": {"tag": "a", "text": "Cart"}}],
 ["navigation", 7100, {"url": "https://shop.test/cart", "frameId": 0}],
 ["navigation", 20000, {"url": "https://shop.test/checkout?email=<EMAIL>", "frameId": 0}],
 ["input", 21000, {"url": "https://shop.test/checkout?email=<EMAIL>", "framePath": [], "selector": "#card", "selectors": {"testId": {"attribute": "data-qa", "value": "card \"number\""}}, "element": {"tag": "input"}, "value": "<CARD_NUMBER>", "masked": "CARD_NUMBER", "inputType": "text"}],
 ["input", 21500, {"url": "https://shop.test/checkout?email=<EMAIL>", "framePath": [], "selector": "#cvc", "selectors": {"placeholder": "CVC"}, "element": {"tag": "input"}, "value": "<CVC>", "masked": "CVC", "inputType": "text"}],
 ["input", 22000, {"url": "https://shop.test/checkout?email=<EMAIL>", "framePath": [], "selector": "#pw", "selectors": {"label": "Password"}, "element": {"tag": "input"}, "value": "<PASSWORD>", "masked": "PASSWORD", "inputType": "password"}],
 ["input", 22500, {"url": "https://shop.test/checkout?email=<EMAIL>", "framePath": [], "selector": "#note", "selectors": {"label": "Note"}, "element": {"tag": "input"}, "value": "call <PHONE> or mail <EMAIL>", "masked": null, "inputType": "text"}],
 ["input", 22600, {"url": "https://shop.test/checkout?email=<EMAIL>", "framePath": [], "selector": "#terms", "selectors": {"label": "I agree"}, "element": {"tag": "input"}, "value": "on", "inputType": "checkbox", "checked": true}],
 ["click", 23000, {"url": "https://shop.test/checkout?email=<EMAIL>", "framePath": [], "selector": "#pay",
   "selectors": {"role": {"role": "button", "name": "Pay now"}}, "element": {"tag": "button", "role": "button", "name": "Pay now", "text": "Pay now"}, "coordinates": {"x": 7, "y": 8}}],
 ["navigation", 23100, {"url": "https://shop.test/thanks", "transitionType": "form_submit", "frameId": 0}],
 ["navigation", 30000, {"url": "https://shop.test/thanks", "transitionType": "reload", "frameId": 0}]
]$json$);

-- The action list: collapsed typing and selects, no click-caused
-- navigations, no subframe loads, only the scroll run that loaded content,
-- only hovers that revealed something, a double click as one action.
SELECT ord, step, seq, op, value, masked, implicit, frame_path, detail
  FROM codesight._actions('exp_a') ORDER BY ord;

-- The Playwright script.
SELECT codesight.export_playwright('exp_a');

-- Training data without media: paths and offsets are null.
SELECT jsonb_pretty(codesight.training_data('exp_a') - 'annotations') AS media,
       jsonb_array_length(codesight.training_data('exp_a') -> 'annotations') AS n;
SELECT jsonb_pretty(codesight.training_data('exp_a') -> 'annotations' -> 1);

-- With a complete video (its recording started 2 s into the session) and
-- audio; a pending video is ignored; an upload without recording_started_at
-- falls back to its created_at.
INSERT INTO codesight.uploads (session_id, kind, bucket, object_key, content_type, size_bytes,
                               status, recording_started_at, created_at)
VALUES ('exp_a', 'video', 'media', 'sessions/exp_a/pending.webm', 'video/webm', 0, 'pending', NULL, '2026-01-01 09:00:00+00'),
       ('exp_a', 'video', 'media', 'sessions/exp_a/screen.webm', 'video/webm', 170000, 'complete', '2026-01-01 10:00:02+00', '2026-01-01 10:00:03+00'),
       ('exp_a', 'audio', 'media', 'sessions/exp_a/mic.webm', 'audio/webm', 9000, 'complete', NULL, '2026-01-01 10:00:01+00');
SELECT a ->> 'action_type' AS action_type, a ->> 'timestamp' AS ts, a ->> 'video_offset_ms' AS video_offset_ms,
       a -> 'coordinates' AS coordinates, a ->> 'target_selector' AS target_selector
  FROM jsonb_array_elements(codesight.training_data('exp_a') -> 'annotations') AS a;
SELECT codesight.training_data('exp_a') ->> 'video_path' AS video_path,
       codesight.training_data('exp_a') ->> 'audio_path' AS audio_path;

-- A second completed session (started later), an active one, and an
-- empty completed one.
SELECT pg_temp.load_session('exp_b', 'completed', '2026-01-02 10:00:00+00', $json$[
 ["click", 500, {"url": "https://other.test:8443/list", "framePath": [], "selector": "#go",
   "selectors": {"role": {"role": "button", "name": "Go"}}, "element": {"tag": "button", "role": "button", "name": "Go", "text": "Go"}}],
 ["keypress", 900, {"url": "https://other.test:8443/list", "framePath": [], "key": "Tab"}]
]$json$);
SELECT pg_temp.load_session('exp_c', 'active', '2026-01-03 10:00:00+00', $json$[
 ["click", 500, {"url": "https://shop.test/", "framePath": [], "selector": "#x", "selectors": {"css": "#x"}}]
]$json$);
INSERT INTO codesight.sessions (session_id, status, started_at) VALUES ('exp_empty', 'completed', '2026-01-04 00:00:00+00');

-- The training data's bytes, which training_data writes itself, are
-- PostgreSQL's for the same value: with both media paths, with none, and
-- with no annotations (exports_large checks long documents).
SELECT session_id, td = td::text::jsonb AS same_value,
       pg_column_size(td) = pg_column_size(td::text::jsonb) AS same_size
  FROM (SELECT s, codesight.training_data(s) FROM unnest(ARRAY['exp_a', 'exp_b', 'exp_empty']) s) AS t(session_id, td);

-- The dataset: completed sessions in start order, actions in order.
SELECT x ->> 'session_id' AS session_id, x ->> 'step' AS step, x ->> 'website' AS website,
       x -> 'action' AS action, x ->> 'action_repr' AS action_repr, x ->> 'video_offset_ms' AS offset_ms
  FROM codesight.export_dataset() AS x;
SELECT jsonb_pretty(x) FROM codesight.export_dataset() AS x
 WHERE x ->> 'session_id' = 'exp_a' AND (x ->> 'step')::int = 13;
-- since and status filters
SELECT x ->> 'session_id' AS session_id, count(*)
  FROM codesight.export_dataset('2026-01-02 00:00:00+00') AS x GROUP BY 1 ORDER BY 1;
SELECT x ->> 'session_id' AS session_id, count(*)
  FROM codesight.export_dataset(NULL, 'active') AS x GROUP BY 1 ORDER BY 1;
SELECT x ->> 'session_id' AS session_id, count(*)
  FROM codesight.export_dataset(NULL, NULL) AS x GROUP BY 1 ORDER BY 1;

-- The event scan is planned with enable_sort and jit off (src/actions.c);
-- the settings are given back at once, within the same statement.
SELECT current_setting('jit') AS jit_before \gset
WITH a AS MATERIALIZED (SELECT count(*) AS n FROM codesight._actions('exp_a'))
SELECT a.n, current_setting('enable_sort') AS enable_sort,
       current_setting('jit') = :'jit_before' AS jit_unchanged
  FROM a;

-- Sessions with no events, and unknown sessions.
SELECT codesight.training_data('exp_empty');
SELECT codesight.export_playwright('exp_empty');
SELECT codesight.training_data('nope');
SELECT codesight.export_playwright('nope');
