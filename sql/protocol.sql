-- The worker's validation and sanitization rules, through parse_message().
SET client_min_messages = warning;

-- v1 messages as the original extension sends them
SELECT codesight.parse_message('{"type":"session_start","sessionId":"cs_md0ap0gn_thwyx","timestamp":1732579200000,"userAgent":"UA","extension":{"name":"CodeSight","version":"1.0"}}');
SELECT codesight.parse_message('{"type":"interaction_event","sessionId":"cs_a","event":{"type":"click","data":{"selector":"#buy","url":"https://shop.example/p?id=1","coordinates":{"x":1,"y":2}},"sessionId":"cs_a"},"timestamp":1732579200000}');
-- the service worker's flat navigation event
SELECT codesight.parse_message('{"type":"interaction_event","sessionId":"cs_a","event":{"url":"https://shop.example/","tabId":3,"timestamp":1732579200000}}');
SELECT codesight.parse_message('{"type":"pong"}');
SELECT codesight.parse_message('{"type":"session_stop","sessionId":"cs_a","timestamp":"2024-11-26T00:00:00.000Z"}');

-- v2 batch: each event is validated on its own.  A refused event's "type" is
-- the type the worker read before refusing it, so it is null where an earlier
-- check failed (seq 4: data is not an object; the last: seq above 2^53-1):
-- events are checked seq, data, type, timestamp, in that order, and stop at
-- the first failure.  That is right: a type that was never checked is
-- client input, not the event's type, and nothing of a refused event but
-- its seq and code is kept (codesight.rejected_events).  The event without a
-- seq shows "click": a batch's need for a seq is checked after the event was
-- read whole.
SELECT jsonb_pretty(codesight.parse_message('{"type":"events","sessionId":"cs_a","events":[
  {"seq":1,"type":"click","data":{}},
  {"seq":2,"type":"teleport","data":{}},
  {"type":"click","data":{}},
  {"seq":4,"type":"click","data":"nope"},
  {"seq":5,"type":"scroll","timestamp":"not a time","data":{}},
  {"seq":9007199254740992,"type":"click","data":{}}]}'));

-- messages rejected as a whole
SELECT m, codesight.parse_message(m)->>'code' AS code
  FROM (VALUES ('nope'), ('[]'), ('{}'), ('{"type":1}'), ('{"type":"warp"}'),
               ('{"type":"session_start","sessionId":"bad id"}'),
               ('{"type":"session_start","sessionId":""}'),
               ('{"type":"events","sessionId":"cs_a"}'),
               ('{"type":"hello"}'),
               ('{"type":"events","sessionId":"cs_a","events":[{"seq":1,"type":"click","data":{"n":1e100000}}]}'),
               ('{"type":"pong","x":' || repeat('[', 33) || repeat(']', 33) || '}'),
               ('{"type":"pong","x":' || repeat('[', 31) || repeat(']', 31) || '}'),
               (E'{"type":"pong","s":"\\ud800"}'),
               (E'{"type":"pong","s":"\\u0000"}')) AS t(m);

-- sanitization inside event data
SELECT jsonb_pretty(codesight.parse_message('{"type":"events","sessionId":"cs_a","events":[
  {"seq":1,"type":"input","data":{"selector":"#email","value":"Ann.Lee@Example.com","url":"https://shop.example/c?email=a%40b.co&token=abc&q=shoes"}},
  {"seq":2,"type":"input","data":{"value":"4242-4242-4242-4242","cardNumber":"4000056655665556"}},
  {"seq":3,"type":"input","data":{"inputType":"password","value":"hunter2"}},
  {"seq":4,"type":"input","data":{"element":{"attributes":{"type":"password"}},"value":"s3cret"}},
  {"seq":5,"type":"change","data":{"cvv":"123","cvc":456,"ssn":"078-05-1120"}},
  {"seq":6,"type":"input","data":{"value":"order 1234567812345678 total 19.99, ssn 123-45-6789"}},
  {"seq":7,"type":"input","data":{"value":"size 42, qty 3","text":["call me at bob@mail.org"]}}]}'));

SELECT codesight.mask_text('write to ann@example.com or pay with 4111 1111 1111 1111');
SELECT codesight.mask_text('not a card: 4111 1111 1111 1112; not an ssn: 000-12-3456');
SELECT codesight.mask_url('https://shop.example/login?password=hunter2&next=%2Fcart#top');
