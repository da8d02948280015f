-- Server-side masking (docs/sanitization.md) as the worker applies it to
-- messages, through parse_message(), mask_text() and mask_url().
SET client_min_messages = warning;

-- session-level fields are masked at parse time
SELECT jsonb_pretty(codesight.parse_message('{"type":"session_start","sessionId":"cs_s","timestamp":1767232800000,
  "userAgent":"Mozilla/5.0 (X11; Linux x86_64) ann@example.com token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
  "extension":{"name":"CodeSight","version":"1.0","owner":"ann@example.com","apiKey":"k-123"}}'));
SELECT jsonb_pretty(codesight.parse_message('{"type":"session_complete","sessionId":"cs_s","events":[{"x":1}],
  "summary":{"duration":null,"password":"hunter2","user":{"email":"ann@example.com","phone":"+1 415 555 0132"},
             "notes":["card 4111 1111 1111 1111"],"eventCount":12}}'));

-- form fields by what they are: autocomplete token, name, label, placeholder
SELECT e->>'seq' AS seq, e->'data'->>'value' AS value, e->'data'->>'optionText' AS option_text,
       e->'data'->'element'->>'text' AS element_text
  FROM jsonb_array_elements(codesight.parse_message('{"type":"events","sessionId":"cs_f","events":[
  {"seq":1,"type":"input","data":{"element":{"tag":"input","attributes":{"name":"cc","autocomplete":"cc-csc"}},"value":"123","inputType":"text"}},
  {"seq":2,"type":"input","data":{"element":{"tag":"input","attributes":{"name":"cvc"}},"value":"987","inputType":"text"}},
  {"seq":3,"type":"input","data":{"element":{"tag":"input","attributes":{"name":"password","type":"text"}},"value":"hunter2","inputType":"text"}},
  {"seq":4,"type":"input","data":{"element":{"tag":"input","name":"Full name","attributes":{"name":"fullname"}},"selectors":{"label":"Full name"},"value":"Ann O''Neil"}},
  {"seq":5,"type":"input","data":{"element":{"tag":"input","attributes":{"autocomplete":"shipping street-address"}},"value":"1 Main St"}},
  {"seq":6,"type":"input","data":{"element":{"tag":"input","attributes":{"name":"zip"}},"selectors":{"label":"ZIP code"},"value":"12345"}},
  {"seq":7,"type":"select","data":{"element":{"tag":"select","attributes":{"autocomplete":"bday-year"}},"value":"1985","optionText":"1985"}},
  {"seq":8,"type":"input","data":{"element":{"tag":"input","attributes":{"placeholder":"MM / YY"}},"value":"12/30"}},
  {"seq":9,"type":"input","data":{"element":{"tag":"input","attributes":{"type":"tel"}},"value":"5550132"}},
  {"seq":10,"type":"input","data":{"element":{"tag":"input","attributes":{"autocomplete":"username"}},"value":"ann_b"}},
  {"seq":11,"type":"input","data":{"element":{"tag":"input","attributes":{"autocomplete":"one-time-code"}},"value":"123456"}},
  {"seq":12,"type":"input","data":{"element":{"tag":"input"},"selectors":{"label":"IBAN"},"value":"DE12"}},
  {"seq":13,"type":"input","data":{"element":{"tag":"div","text":"Ann O''Neil","attributes":{"aria-label":"Your name"}},"inputType":"contenteditable","value":"Ann O''Neil"}},
  {"seq":14,"type":"input","data":{"element":{"tag":"input"},"value":"Ann","masked":"NAME"}},
  {"seq":15,"type":"input","data":{"element":{"tag":"input"},"value":"x","masked":"NEW_KIND"}},
  {"seq":16,"type":"input","data":{"element":{"tag":"input","attributes":{"type":"search","name":"name"}},"value":"john lennon poster"}},
  {"seq":17,"type":"input","data":{"element":{"tag":"input","attributes":{"placeholder":"Search products"}},"value":"tee"}},
  {"seq":18,"type":"input","data":{"element":{"tag":"input"},"selectors":{"label":"Quantity"},"value":"2"}},
  {"seq":19,"type":"input","data":{"element":{"tag":"input","attributes":{"name":"coupon"}},"selectors":{"placeholder":"Promo code"},"value":"SPRING10"}},
  {"seq":20,"type":"input","data":{"element":{"tag":"input"},"selectors":{"label":"City"},"value":"Springfield"}},
  {"seq":21,"type":"change","data":{"element":{"tag":"input","attributes":{"type":"checkbox","name":"email_me"}},"checked":true,"value":"on"}},
  {"seq":22,"type":"select","data":{"element":{"tag":"select"},"selectors":{"label":"Size"},"value":"42","optionText":"42 EU"}},
  {"seq":23,"type":"input","data":{"element":{"tag":"input","attributes":{"name":"cardnumber"}},"value":4111111111111111}}
  ]}')->'events') AS e;

-- values the extension missed, object keys, URLs inside data, card numbers as JSON numbers
SELECT jsonb_pretty(codesight.parse_message('{"type":"events","sessionId":"cs_v","events":[
  {"seq":1,"type":"click","data":{
    "url":"https://shop.example/thank-you.html?fullname=Ann+O%27Neil&street=1+Main+St&city=Springfield&zip=12345&qty=2#name=Ann",
    "selector":"role=link[name=\"Call +1 (415) 555-0132\"]",
    "topUrl":"https://u:pw@shop.example/account",
    "framePath":["iframe[src=\"https://pay.example/?cardnumber=4111&email=a%40b.co\"]"],
    "element":{"tag":"a","text":"IBAN DE89 3704 0044 0532 0130 00","attributes":{"href":"/reset?token=abc&lang=en"}},
    "note":"Authorization: Bearer abcdef0123456789abcdef; AKIAIOSFODNN7EXAMPLE; 4111.1111.1111.1111; 4111\u00a01111\u00a01111\u00a01111; \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11",
    "cardNumber":4111111111111111,"n":4.111111111111111e15,"ts":1732579200004,
    "ann@example.com":{"4111111111111111":"k","password":"hunter2"},
    "coordinates":{"x":1.5,"y":-2e3},"price":"$1,299.99","date":"2024-11-26","sku":"SKU 123-456-789"}}]}'));

-- numbers: an event holding one that prints as more than 40 characters in
-- plain decimal is refused on its own; one jsonb can not hold at all (more
-- than 100 characters, exponent past 1000) refuses the whole message
SELECT n, coalesce(m->>'code', m #>> '{events,0,error}') AS code
  FROM (VALUES ('1e39'), ('1e40'), ('-1e38'), ('-1e39'), ('1e-38'), ('1e-39'), ('1.5e38'),
               ('1234567890123456789012345678901234567890'), ('12345678901234567890123456789012345678901'),
               ('0.00000000000000000000000000000000000001'), ('0.000000000000000000000000000000000000001'),
               ('1e1000'), ('1e1001'), ('0.001e3'), ('0e-38'), ('0e-39')) AS t(n),
       LATERAL codesight.parse_message('{"type":"events","sessionId":"cs_n","events":[{"seq":1,"type":"scroll","data":{"n":' || n || '}}]}') AS m;
-- the rest of a batch is kept; a number under a key named like personal
-- data is masked, so it no longer counts
SELECT e->>'seq' AS seq, e->>'error' AS error, e->'data' AS data
  FROM jsonb_array_elements(codesight.parse_message('{"type":"events","sessionId":"cs_n","events":[
    {"seq":1,"type":"scroll","data":{"y":1e1000}},
    {"seq":2,"type":"scroll","data":{"y":120}},
    {"seq":3,"type":"input","data":{"password":1e1000}}]}')->'events') AS e;
SELECT codesight.parse_message('{"type":"session_start","sessionId":"cs_n","extension":{"name":"x","build":1e40}}');
SELECT (codesight.parse_message('{"type":"events","sessionId":"cs_n","events":[{"seq":1,"type":"scroll","data":{"big":1e39,"small":1e-38,"neg":-1e-37}}]}')
        #> '{events,0,data}')::text;

-- the SQL twins of the worker's text and URL rules
SELECT codesight.mask_text('call +44 20 7946 0958 or 020 7946 0958; IBAN GB82 WEST 1234 5698 7654 32; key AKIAIOSFODNN7EXAMPLE');
SELECT codesight.mask_text('Qty 2, $1,299.99, ordered 2024-11-26, EAN 4006381333931, at 52.520008 13.404954, ts 1732579200004');
SELECT codesight.mask_url('https://shop.example/order?first_name=Ann&last_name=Buyer&dob=1990-01-01&otp=123456&sort=name&code=SUMMER10');
