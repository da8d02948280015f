-- The worker's parser, validator and masking, callable from SQL.

CREATE FUNCTION codesight.parse_message(message text) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'codesight_parse_message';
COMMENT ON FUNCTION codesight.parse_message(text) IS
    'What the worker makes of one stream message: its type, session, user agent, extension and summary, and events with data masked as stored, or the error code it would answer.';

CREATE FUNCTION codesight.mask_text(value text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'codesight_mask_text';
COMMENT ON FUNCTION codesight.mask_text(text) IS
    'Free text as the worker masks it: emails, card numbers, IBANs, phone numbers, SSNs, tokens and keys replaced by <EMAIL>, <CARD_NUMBER>, <IBAN>, <PHONE>, <SSN>, <TOKEN>, <SECRET>; URLs inside get the URL rules (docs/sanitization.md).';

CREATE FUNCTION codesight.mask_url(url text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'codesight_mask_url';
COMMENT ON FUNCTION codesight.mask_url(text) IS
    'A URL as the worker masks it: the values of parameters named like personal data (password, token, email, name, zip, card, ...) replaced by their placeholder, the text rules on every other part (docs/sanitization.md).';
