-- export_playwright's code generation (src/actions.c): locator ranking of
-- sessions recorded before events carried ranked locators, the ranked
-- locators with fallbacks through locate(), masked values as parameters
-- named per field, drags, scrolled lists, click positions, and recorded
-- strings that try to end a literal or a comment.
SET TimeZone = 'UTC';

CREATE FUNCTION pg_temp.load_session(sid text, evs jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO codesight.sessions (session_id, status, started_at)
    VALUES (sid, 'completed', '2026-03-01 10:00:00+00');
    INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
    SELECT sid, n, e ->> 0, '2026-03-01 10:00:00+00'::timestamptz + n * interval '1 second',
           e -> 1 ->> 'url', e -> 1 ->> 'selector',
           jsonb_build_object('type', e ->> 0, 'timestamp', 0, 'data', e -> 1)
      FROM jsonb_array_elements(evs) WITH ORDINALITY AS x(e, n);
$$;

-- The test's body only, without the header and helpers.
CREATE FUNCTION pg_temp.body(sid text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT line FROM (SELECT line, n, max(n) FILTER (WHERE line LIKE 'test(%') OVER () AS start
                        FROM regexp_split_to_table(codesight.export_playwright(sid), E'\n') WITH ORDINALITY AS t(line, n)) x
     WHERE n > start AND line LIKE '  %' ORDER BY n;
$$;

-- Legacy selectors: test id, role+name, placeholder, label, text, css,
-- xpath, the selector column; in frames.
SELECT pg_temp.load_session('pw_legacy', $json$[
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"testId": {"attribute": "data-testid", "value": "x"}, "role": {"role": "button", "name": "X"}, "css": "#x"}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"testId": "plain-string-id"}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"testId": {"attribute": "data-qa", "value": "a \"b\""}}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"role": {"role": "button", "name": "X"}, "placeholder": "P", "css": "#x"}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"role": {"role": "button"}, "placeholder": "P", "label": "L"}}],
 ["click", {"url": "https://shop.test/", "framePath": ["#f"], "selectors": {"label": "L", "text": "T", "css": "#x"}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"text": "T", "css": "#x"}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"css": "div > a[href=\"/a\"]"}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"xpath": "//a[1]"}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selector": "text=Buy", "selectors": {}}],
 ["click", {"url": "https://shop.test/", "framePath": []}]
]$json$);
SELECT * FROM pg_temp.body('pw_legacy');

-- Ranked locators: several become locate(...); one is used directly;
-- locators holding a masked value are skipped; patterns, scopes with
-- hasText, test ids, labels, placeholders, texts, CSS and XPath; a
-- locator of an unknown kind is skipped.
SELECT pg_temp.load_session('pw_ranked', $json$[
 ["click", {"url": "https://shop.test/", "framePath": [], "selector": "a[href=\"/cart\"]",
   "locators": [{"by": "css", "selector": "a[href=\"/cart\"]"}, {"by": "role", "role": "link", "pattern": "^Cart(?![\\p{L}\\p{N}])"},
                {"by": "role", "role": "link", "name": "Cart (3)"}, {"by": "css", "selector": "nav > a:nth-of-type(1)"},
                {"by": "xpath", "selector": "//nav/a[1]"}]}],
 ["click", {"url": "https://shop.test/", "framePath": [], "locators": [{"by": "role", "role": "button", "name": "Add to cart",
   "within": {"by": "css", "selector": "li.card", "hasText": "Trail Runner"}}]}],
 ["click", {"url": "https://shop.test/", "framePath": ["iframe[title=\"Pay\"]"], "locators": [
   {"by": "testId", "attribute": "data-testid", "value": "pay"}, {"by": "testId", "attribute": "data-cy", "value": "pay"},
   {"by": "label", "text": "Pay"}, {"by": "placeholder", "text": "Pay"}, {"by": "text", "text": "Pay now"}]}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"css": "#legacy"},
   "locators": [{"by": "role", "role": "button", "name": "Ship to <NAME>"}, {"by": "teleport", "where": "x"},
                {"by": "text", "text": "Ship"}]}],
 ["click", {"url": "https://shop.test/", "framePath": [], "selectors": {"css": "#legacy"},
   "locators": [{"by": "role", "role": "button", "name": "Hi <NAME>"}]}],
 ["click", {"url": "https://shop.test/", "framePath": [], "locators": [{"by": "role", "role": "button", "name": "Same"}, {"by": "role", "role": "button", "name": "Same"}]}],
 ["click", {"url": "https://shop.test/", "framePath": [], "locators": [{"by": "css", "selector": "ul > li:nth-of-type(2)"}, {"by": "xpath", "selector": "//ul/li[2]"}]}]
]$json$);
-- Positional locators (:nth-of-type, XPath indexes) only when nothing else is usable.
SELECT * FROM pg_temp.body('pw_ranked');

-- Masked values: one parameter per field and kind, numbered in order of
-- first use; the same field keeps its parameter; the header names them.
SELECT pg_temp.load_session('pw_params', $json$[
 ["navigation", {"url": "https://shop.test/confirm?name=<NAME>&q=x", "transitionType": "typed", "frameId": 0}],
 ["input", {"url": "https://shop.test/c", "framePath": [], "locators": [{"by": "label", "text": "First name"}], "element": {"tag": "input", "label": "First name"}, "value": "<NAME>", "masked": "NAME"}],
 ["input", {"url": "https://shop.test/c", "framePath": [], "locators": [{"by": "label", "text": "Last name"}], "element": {"tag": "input", "name": "Last name"}, "value": "<NAME>", "masked": "NAME"}],
 ["click", {"url": "https://shop.test/c", "framePath": [], "locators": [{"by": "text", "text": "Next"}]}],
 ["input", {"url": "https://shop.test/c", "framePath": [], "locators": [{"by": "label", "text": "First name"}], "element": {"tag": "input", "label": "First name"}, "value": "<NAME>", "masked": "NAME"}],
 ["input", {"url": "https://shop.test/c", "framePath": [], "locators": [{"by": "css", "selector": "#note"}], "element": {"tag": "textarea", "attributes": {"placeholder": "Note\nconst x = 1;"}}, "value": "call <PHONE> or <PHONE>, mail <EMAIL>", "masked": null}],
 ["select", {"url": "https://shop.test/c", "framePath": [], "locators": [{"by": "label", "text": "Birth month"}], "element": {"tag": "select"}, "value": "<BIRTH_DATE>", "masked": "BIRTH_DATE"}],
 ["input", {"url": "https://shop.test/c", "framePath": [], "locators": [{"by": "css", "selector": "#x"}], "value": "<IBAN> <ADDRESS> <POSTAL_CODE> <USERNAME> <ONE_TIME_CODE> <TOKEN> <SECRET> <CARD_NAME> <LOWER_unknown> <NEW_KIND>"}]
]$json$);
SELECT codesight.export_playwright('pw_params');

-- A drag to a drop target with positions; a list scrolled inside the
-- page; a click on a closed shadow root's host at a position, and one
-- whose position is not numbers; a drag without a drop target.
SELECT pg_temp.load_session('pw_moves', $json$[
 ["drag", {"url": "https://shop.test/", "framePath": [], "locators": [{"by": "role", "role": "listitem", "name": "Milk"}],
   "sourcePosition": {"x": 10, "y": 5}, "targetPosition": {"x": 20.5, "y": 2},
   "to": {"locators": [{"by": "role", "role": "listitem", "name": "Bread"}, {"by": "css", "selector": "li:nth-of-type(1)"}]}}],
 ["scroll", {"url": "https://shop.test/", "framePath": [], "scroll": {"x": 0, "y": 4000}, "container": "#rows", "viewport": {"width": 800, "height": 600}, "documentHeight": 600}],
 ["scroll", {"url": "https://shop.test/", "framePath": [], "scroll": {"x": 0, "y": 4800}, "container": "#rows", "viewport": {"width": 800, "height": 600}, "documentHeight": 600}],
 ["scroll", {"url": "https://shop.test/", "framePath": [], "scroll": {"x": 0, "y": 10}, "container": "#other", "viewport": {"width": 800, "height": 600}, "documentHeight": 600}],
 ["click", {"url": "https://shop.test/", "framePath": [], "locators": [{"by": "css", "selector": "closed-widget"}], "position": {"x": 12, "y": 30}}],
 ["click", {"url": "https://shop.test/", "framePath": [], "locators": [{"by": "css", "selector": "closed-widget"}], "position": {"x": "1); evil(", "y": 3}, "button": 2}],
 ["drag", {"url": "https://shop.test/", "framePath": [], "locators": [{"by": "css", "selector": "#a"}]}]
]$json$);
SELECT * FROM pg_temp.body('pw_moves');
SELECT op, detail FROM codesight._actions('pw_moves') ORDER BY ord;

-- Recorded strings stay string literals: quotes, backslashes, line breaks,
-- U+2028, "*/" and a pattern trying to close a regular expression literal.
SELECT pg_temp.load_session('pw_hostile', $json$[
 ["input", {"url": "https://shop.test/", "framePath": ["x\"), evil(\""], "locators": [{"by": "role", "role": "textbox", "pattern": "a/); evil(); (/"},
   {"by": "css", "selector": "a\\\"b\n"}], "element": {"label": "x\u2028evil();\r\n*/ y"}, "value": "<NAME>", "masked": "NAME"}]
]$json$);
SELECT codesight.export_playwright('pw_hostile');

-- Leave no sessions for the tests after this one.
DELETE FROM codesight.events WHERE session_id LIKE 'pw\_%';
DELETE FROM codesight.sessions WHERE session_id LIKE 'pw\_%';
