-- The worker's parser, validator and masking, callable from SQL.

CREATE FUNCTION codesight.parse_message(message text) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'codesight_parse_message';
COMMENT ON FUNCTION codesight.parse_message(text) IS
    'What the worker makes of one stream message: its type, session and events with data sanitized as stored, or the error code it would answer.';

CREATE FUNCTION codesight.mask_text(value text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'codesight_mask_text';
COMMENT ON FUNCTION codesight.mask_text(text) IS
    'Free text with emails, Luhn-valid card numbers and US SSNs replaced by <EMAIL>, <CARD_NUMBER>, <SSN>.';

CREATE FUNCTION codesight.mask_url(url text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'codesight_mask_url';
COMMENT ON FUNCTION codesight.mask_url(text) IS
    'A URL with the values of sensitive query parameters (password, token, email, card, ...) masked.';
