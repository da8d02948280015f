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
REVOKE EXECUTE ON FUNCTION codesight._extension_created() FROM codesight_admin;
