-- The worker's state, read from shared memory.

CREATE FUNCTION codesight.worker_status() RETURNS jsonb
    LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'codesight_worker_status';
COMMENT ON FUNCTION codesight.worker_status() IS
    'The background worker''s state from shared memory: running, listening, port, uptime, connections, events, queue depth.';

-- health() is in 50_health.sql: it checks S3 too.

CREATE FUNCTION codesight._extension_created() RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'codesight_extension_created';

-- Warns when not preloaded; otherwise wakes the worker at commit.
SELECT codesight._extension_created();

-- When a transaction that revoked a token or disabled or deleted a worker
-- commits, the server checks the tokens of its open WebSocket connections
-- and closes those that are no longer good (docs/security.md).
CREATE FUNCTION codesight._auth_changed() RETURNS trigger
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'codesight_auth_changed';
CREATE TRIGGER tokens_auth_changed
    AFTER UPDATE OF revoked_at OR DELETE ON codesight.tokens
    FOR EACH STATEMENT EXECUTE FUNCTION codesight._auth_changed();
CREATE TRIGGER workers_auth_changed
    AFTER UPDATE OF disabled_at OR DELETE ON codesight.workers
    FOR EACH STATEMENT EXECUTE FUNCTION codesight._auth_changed();
