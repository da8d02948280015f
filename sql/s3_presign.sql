-- Presigned S3 URLs: AWS's published example, further fixed vectors whose
-- signatures were computed independently with npm aws4, and argument errors.
SET codesight.s3_endpoint = 'https://s3.amazonaws.com';
SET codesight.s3_region = 'us-east-1';
SET codesight.s3_bucket = 'examplebucket';
SET codesight.s3_url_style = 'virtual';
SET codesight.s3_access_key_id = 'AKIAIOSFODNN7EXAMPLE';
SET codesight.s3_secret_access_key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

-- AWS S3 documentation, "Authenticating Requests: Using Query Parameters".
SELECT codesight.s3_presign('GET', 'test.txt', 86400, '2013-05-24T00:00:00Z');
SELECT split_part(codesight.s3_presign('GET', 'test.txt', 86400, '2013-05-24T00:00:00Z'),
                  'X-Amz-Signature=', 2)
       = 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404' AS aws_example;
-- The method is case-insensitive; any time zone names the same instant.
SELECT codesight.s3_presign('get', 'test.txt', 86400, '2013-05-23 20:00:00-04')
     = codesight.s3_presign('GET', 'test.txt', 86400, '2013-05-24T00:00:00Z') AS same_url;

-- PUT, and a key with a character that needs encoding.
SELECT codesight.s3_presign('PUT', 'test$file.text', 86400, '2013-05-24T00:00:00Z');

-- Spaces, +, =, &, unicode and sub-delimiters are encoded; / separates.
SELECT codesight.s3_presign('GET', 'photos/a b+c=d&e/ünï €(1)*!~''.txt', 60,
                            '2013-05-24T00:00:00Z');

-- Path style on a local S3 server with a port.
SET codesight.s3_endpoint = 'http://127.0.0.1:4569';
SET codesight.s3_url_style = 'path';
SET codesight.s3_access_key_id = 'S3RVER';
SET codesight.s3_secret_access_key = 'S3RVER';
SELECT codesight.s3_presign('GET', 'sessions/cs_1/video.webm', 3600,
                            '2024-01-02T03:04:05Z', 'my-bucket');

-- Temporary credentials on AWS's regional endpoint (empty endpoint).
SET codesight.s3_endpoint = '';
SET codesight.s3_url_style = 'virtual';
SET codesight.s3_region = 'eu-west-1';
SET codesight.s3_access_key_id = 'AKIAIOSFODNN7EXAMPLE';
SET codesight.s3_secret_access_key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
SET codesight.s3_session_token = 'FQoGZXIvYXdzE+token/with=chars';
SELECT codesight.s3_presign('GET', 'test.txt', 900, '2024-02-29T23:59:59Z');
RESET codesight.s3_session_token;
SET codesight.s3_region = 'us-east-1';

-- Empty path segments are kept; default ports are dropped; 7 days is the maximum.
SET codesight.s3_endpoint = 'HTTPS://S3.ap-southeast-2.amazonaws.com:443';
SET codesight.s3_url_style = 'path';
SET codesight.s3_region = 'ap-southeast-2';
SELECT codesight.s3_presign('DELETE', 'a//b/', 604800, '2099-12-31T23:59:59Z',
                            'bucket.with.dots');

-- Errors.
SELECT codesight.s3_presign('GET', 'k', 0);
SELECT codesight.s3_presign('GET', 'k', 604801);
SELECT codesight.s3_presign('GET', 'k', -5);
SELECT codesight.s3_presign('PATCH', 'k');
SELECT codesight.s3_presign('POST', 'k');
SELECT codesight.s3_presign('GET', '');
SELECT codesight.s3_presign('GET', NULL);
SELECT codesight.s3_presign('GET', 'k', 60, 'infinity');
SELECT codesight.s3_presign('GET', 'k', 60, '1969-12-31T23:59:59Z');
SET codesight.s3_url_style = 'virtual';
SELECT codesight.s3_presign('GET', 'k', 60, now(), 'Not_DNS_Safe');
SET codesight.s3_url_style = 'sideways';
SET codesight.s3_endpoint = 'ftp://example.com';
SET codesight.s3_endpoint = 'http://example.com/prefix';
SET codesight.s3_region = 'EU-WEST-1';
RESET codesight.s3_bucket;
SELECT codesight.s3_presign('GET', 'k');
SELECT codesight.s3_presign('GET', 'k', 60, now(), 'given-bucket') LIKE 'https://%' AS bucket_argument;
SET codesight.s3_bucket = 'examplebucket';
RESET codesight.s3_access_key_id;
SELECT codesight.s3_presign('GET', 'k');

-- The credentials are superuser-only and not listed for other roles.
CREATE ROLE s3_presign_reader;
SET ROLE s3_presign_reader;
SHOW codesight.s3_secret_access_key;
SHOW codesight.s3_access_key_id;
SELECT name FROM pg_settings WHERE name LIKE 'codesight.s3_s%' ORDER BY name;
SET codesight.s3_endpoint = 'http://attacker.example';
RESET ROLE;
DROP ROLE s3_presign_reader;
