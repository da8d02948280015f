-- Schema for tasks and review: what a demonstration was meant to show, what
-- the worker says it shows, whether the worker submitted it, how an admin
-- scored it, and the steps a worker deleted (kept until the submit so that
-- a deletion can be undone).  Functions: 25_review.sql; docs/sql-api.md.

-- Tasks admins define for workers: one instruction ("Buy a pair of trail
-- shoes in size 42"), on a site, with optional tags and a target count of
-- demonstrations.  Tasks are archived (active = false), not deleted, so
-- the sessions that named one keep pointing at it.
CREATE TABLE codesight.tasks (
    task_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instruction   text NOT NULL CHECK (length(instruction) BETWEEN 1 AND 2000),
    site          text CHECK (length(site) BETWEEN 1 AND 2000),
    tags          text[] NOT NULL DEFAULT '{}',
    target_count  int CHECK (target_count > 0),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The task settings, one row: may workers write their own task instead of
-- picking one?  On by default, so that a new installation can record
-- before an admin has written any task.
CREATE TABLE codesight.task_options (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    allow_custom  boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO codesight.task_options DEFAULT VALUES;

-- A session's task as the worker set out to do it (task_id and its
-- instruction as it read then, or the worker's own words) and as the
-- worker confirmed or corrected it at the submit.  submitted_at marks the
-- session ready for review; it is a flag beside status, which tells where
-- the recording is (the worker's ingest path knows nothing of review).
-- None of these columns is updated by the ingest path, so the index on
-- task_id does not cost the counters' HOT updates (10_schema.sql).
ALTER TABLE codesight.sessions
    ADD COLUMN task_id        bigint REFERENCES codesight.tasks (task_id) ON DELETE SET NULL,
    ADD COLUMN task           text CHECK (length(task) BETWEEN 1 AND 2000),
    ADD COLUMN confirmed_task text CHECK (length(confirmed_task) BETWEEN 1 AND 2000),
    ADD COLUMN submitted_at   timestamptz,
    ADD COLUMN score          smallint CHECK (score BETWEEN 1 AND 5),
    ADD COLUMN score_note     text CHECK (length(score_note) <= 2000),
    ADD COLUMN scored_at      timestamptz;
CREATE INDEX sessions_task_idx ON codesight.sessions (task_id, started_at)
    WHERE task_id IS NOT NULL;

-- Events a worker deleted from a session, until the session is submitted
-- (then they are gone for good) or deleted: restore_events() puts them
-- back.  Exports read codesight.events only, so a deleted step is out of
-- every export at once.
CREATE TABLE codesight.deleted_events (
    LIKE codesight.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    deleted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, seq)
);

REVOKE ALL ON codesight.tasks, codesight.task_options, codesight.deleted_events FROM PUBLIC;
