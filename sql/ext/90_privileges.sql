-- Privileges: nothing in the schema is usable by PUBLIC.  Role
-- codesight_admin may read every table and call every function; functions
-- that write run with the caller's rights, so admins who should change data
-- need the matching table privileges (or use the HTTP API with an admin
-- token, which runs as the worker).

REVOKE ALL ON ALL TABLES IN SCHEMA codesight FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA codesight FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA codesight FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA codesight TO codesight_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA codesight TO codesight_admin;
-- Internal helpers stay with the owner.
REVOKE EXECUTE ON FUNCTION codesight._extension_created(), codesight._auth_changed() FROM codesight_admin;

-- The worker's ingest path: sessions and events only.
GRANT USAGE ON SCHEMA codesight TO codesight_ingest, codesight_api;
GRANT SELECT, INSERT, UPDATE ON codesight.sessions TO codesight_ingest;
GRANT SELECT, INSERT ON codesight.events, codesight.rejected_events TO codesight_ingest;
GRANT SELECT ON codesight.tokens, codesight.workers TO codesight_ingest;

-- The worker's HTTP API: the data of the schema, through its functions.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA codesight TO codesight_api;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA codesight TO codesight_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA codesight TO codesight_api;
REVOKE EXECUTE ON FUNCTION codesight._extension_created(), codesight._auth_changed() FROM codesight_api;

-- s3_presign can sign any method on any key of any bucket the credentials
-- reach: superusers only.  presign_upload() and media_urls() sign what they
-- need themselves.
REVOKE EXECUTE ON FUNCTION codesight.s3_presign(text, text, integer, timestamptz, text)
    FROM codesight_admin, codesight_api;
