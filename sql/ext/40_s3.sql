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

REVOKE ALL ON FUNCTION
    codesight.s3_presign(text, text, int, timestamptz, text),
    codesight.presign_upload(text, text, text, bigint, timestamptz),
    codesight.complete_upload(uuid, jsonb),
    codesight.media_urls(text, int),
    codesight.export_to_s3(text)
FROM PUBLIC;
