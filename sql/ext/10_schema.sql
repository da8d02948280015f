-- Schema: workers, tokens, sessions, events, uploads.
--
-- Every session-scoped table has session_id in its primary key, so the
-- schema can be distributed by session_id (Citus) without changes.
-- events carries no foreign key to sessions: a per-row RI check would cost
-- more than the insert itself on the ingest path, and the worker only
-- inserts events for sessions it has seen in the same transaction.

-- codesight_admin: people administering CodeSight through SQL.
-- codesight_ingest and codesight_api: what the worker switches to for
-- storing events and for answering HTTP requests, so that hostile input
-- reaches the database only with the rights those jobs need, never as a
-- superuser.  Roles are cluster-wide and outlive DROP EXTENSION.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['codesight_admin', 'codesight_ingest', 'codesight_api'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

REVOKE ALL ON SCHEMA codesight FROM PUBLIC;
GRANT USAGE ON SCHEMA codesight TO codesight_admin;

-- No email or other contact data: nothing would use it (docs/security.md,
-- "Workers' personal data").
CREATE TABLE codesight.workers (
    worker_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- Bearer tokens look like cs_<kind>_<token_id>_<secret>; only sha256(secret)
-- is stored, and the worker compares it in constant time.
CREATE TABLE codesight.tokens (
    token_id      text PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('worker', 'admin')),
    worker_id     bigint REFERENCES codesight.workers (worker_id) ON DELETE CASCADE,
    secret_hash   bytea NOT NULL,
    label         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CHECK ((kind = 'worker') = (worker_id IS NOT NULL))
);

CREATE TABLE codesight.sessions (
    session_id     text PRIMARY KEY CHECK (session_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    worker_id      bigint REFERENCES codesight.workers (worker_id) ON DELETE SET NULL,
    status         text NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'completed', 'disconnected', 'abandoned')),
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    user_agent     text,
    extension      jsonb,
    last_seq       bigint NOT NULL DEFAULT 0,  -- every seq <= last_seq is stored or rejected
    max_seq        bigint NOT NULL DEFAULT 0,  -- highest seq stored or rejected
    event_count    bigint NOT NULL DEFAULT 0,
    last_event_at  timestamptz,
    client_report  jsonb,                      -- summary sent with session_complete
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
-- Every batch updates its sessions' counters and last_event_at.  No index
-- may name those columns (nor may a partial index's predicate), so the
-- updates stay HOT: no new index entries per batch, and room on the page
-- (fillfactor) for the new row versions.  The active sessions, the ones
-- housekeeping and the live view look at, are few; they are found through
-- sessions_active_idx and filtered on last_event_at.
CREATE INDEX sessions_started_at_idx ON codesight.sessions (started_at DESC);
CREATE INDEX sessions_status_idx ON codesight.sessions (status, started_at DESC);
CREATE INDEX sessions_worker_idx ON codesight.sessions (worker_id, started_at DESC);
CREATE INDEX sessions_active_idx ON codesight.sessions (started_at)
    WHERE status = 'active';

CREATE TABLE codesight.events (
    session_id   text NOT NULL,
    seq          bigint NOT NULL CHECK (seq > 0),
    type         text NOT NULL,
    client_ts    timestamptz,
    received_at  timestamptz NOT NULL DEFAULT now(),
    page_url     text,
    selector     text,
    payload      jsonb NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- Events the worker refused for good (bad content in a well-formed batch,
-- or sent to a session that has ended): each seq is handled, so acks pass
-- it and one bad event never holds back the ones after it.  What was
-- refused is not kept, only why: it may hold what masking could not read.
CREATE TABLE codesight.rejected_events (
    session_id   text NOT NULL,
    seq          bigint NOT NULL CHECK (seq > 0),
    code         text NOT NULL,
    message      text,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE codesight.uploads (
    session_id     text NOT NULL,
    upload_id      uuid NOT NULL DEFAULT gen_random_uuid(),
    kind           text NOT NULL CHECK (kind ~ '^[a-z_]{1,32}$'),
    bucket         text NOT NULL,
    object_key     text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     bigint NOT NULL CHECK (size_bytes >= 0),
    s3_upload_id   text,                       -- set for multipart uploads
    part_size      bigint,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'complete', 'failed', 'aborted')),
    etag           text,
    recording_started_at timestamptz,          -- aligns events with the video
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- last time the browser asked for part URLs or the parts S3 has: a
    -- multipart upload untouched for longer than abort_stale_uploads'
    -- lifetime is aborted on S3 (docs/s3.md)
    touched_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    PRIMARY KEY (session_id, upload_id)
);
CREATE UNIQUE INDEX uploads_upload_id_idx ON codesight.uploads (upload_id);

REVOKE ALL ON ALL TABLES IN SCHEMA codesight FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA codesight TO codesight_admin;
