-- S3: presigned URLs for recordings, upload verification, exports to S3.
-- Implemented in src/s3.c; see docs/s3.md.  Not granted to PUBLIC: the
-- privileges file grants them to codesight_admin.

CREATE FUNCTION codesight.s3_presign(
    method text,
    key text,
    expires_in int DEFAULT 3600,
    signed_at timestamptz DEFAULT now(),
    bucket text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 's3_presign'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.s3_presign(text, text, int, timestamptz, text) IS
    'Presigned S3 URL (GET, PUT, HEAD or DELETE) for an object key, valid expires_in seconds from signed_at';

CREATE FUNCTION codesight.presign_upload(
    session_id text,
    kind text,
    content_type text,
    size_bytes bigint,
    recording_started_at timestamptz DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 's3_presign_upload'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.presign_upload(text, text, text, bigint, timestamptz) IS
    'Records a pending upload of a session recording and returns the presigned PUT URL, or the part URLs of a multipart upload';

CREATE FUNCTION codesight.complete_upload(
    upload_id uuid,
    parts jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 's3_complete_upload'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.complete_upload(uuid, jsonb) IS
    'Completes a multipart upload, checks the object''s size with HEAD and marks the upload complete';

CREATE FUNCTION codesight.media_urls(
    session_id text,
    expires_in int DEFAULT 3600)
RETURNS jsonb
AS 'MODULE_PATHNAME', 's3_media_urls'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.media_urls(text, int) IS
    'A session''s uploads with presigned GET URLs for the complete ones';

CREATE FUNCTION codesight.export_to_s3(session_id text)
RETURNS text
AS 'MODULE_PATHNAME', 's3_export_to_s3'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.export_to_s3(text) IS
    'Writes the session''s training data and Playwright script to S3 and returns the training data''s s3:// URI';

CREATE FUNCTION codesight.upload_part_urls(
    upload_id uuid,
    part_numbers int[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 's3_upload_part_urls'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.upload_part_urls(uuid, int[]) IS
    'Fresh presigned URLs for parts of a pending upload (or its single PUT URL), signed when asked';

CREATE FUNCTION codesight.upload_parts(upload_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 's3_upload_parts'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.upload_parts(uuid) IS
    'The parts S3 already holds for a pending multipart upload (ListParts), to resume it';

CREATE FUNCTION codesight.abort_upload(upload_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 's3_abort_upload'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.abort_upload(uuid) IS
    'Gives up a pending upload: aborts its multipart upload on S3 and marks it aborted';

-- Housekeeping: the server calls this periodically (docs/s3.md, "Abandoned
-- uploads"); admins may call it by hand.
CREATE FUNCTION codesight.abort_stale_uploads(lifetime interval DEFAULT '7 days')
RETURNS TABLE (bucket text, object_key text, s3_upload_id text, reason text)
AS 'MODULE_PATHNAME', 's3_abort_stale_uploads'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION codesight.abort_stale_uploads(interval) IS
    'Aborts on S3 the multipart uploads untouched for longer than lifetime, and orphans S3 lists that no pending upload owns';

REVOKE ALL ON FUNCTION
    codesight.s3_presign(text, text, int, timestamptz, text),
    codesight.presign_upload(text, text, text, bigint, timestamptz),
    codesight.complete_upload(uuid, jsonb),
    codesight.media_urls(text, int),
    codesight.export_to_s3(text),
    codesight.upload_part_urls(uuid, int[]),
    codesight.upload_parts(uuid),
    codesight.abort_upload(uuid),
    codesight.abort_stale_uploads(interval)
FROM PUBLIC;
