/*
 * sigv4.h
 *	  AWS Signature Version 4 query-string presigning for S3.
 *
 * This module is deliberately free of PostgreSQL: it takes plain C inputs,
 * returns a status code and a malloc'd URL, and only depends on OpenSSL, so
 * it can be unit-tested and fuzzed as a standalone program.
 *
 * Every URL is signed with UNSIGNED-PAYLOAD and signs the Host header plus
 * any headers the caller names (a browser upload's Content-Type and
 * Content-Length), which S3 then requires with exactly those values.  The
 * server uses the same signing path for its own requests.
 */
#ifndef CODESIGHT_SIGV4_H
#define CODESIGHT_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest validity AWS accepts for a presigned URL: 7 days. */
#define SIGV4_MAX_EXPIRES 604800

typedef enum sigv4_status
{
	SIGV4_OK = 0,
	SIGV4_ERR_METHOD,			/* not GET, PUT, HEAD, DELETE or POST */
	SIGV4_ERR_EXPIRES,			/* outside 1 .. SIGV4_MAX_EXPIRES */
	SIGV4_ERR_ENDPOINT,			/* not http(s)://host[:port][/] */
	SIGV4_ERR_REGION,			/* empty or not [a-z0-9-] */
	SIGV4_ERR_BUCKET,			/* empty, or not DNS-safe for virtual hosting */
	SIGV4_ERR_KEY,				/* empty object key */
	SIGV4_ERR_CREDENTIALS,		/* missing access key id or secret */
	SIGV4_ERR_TIME,				/* signing time outside years 1970..9999 */
	SIGV4_ERR_PARAM,			/* empty or reserved extra query parameter */
	SIGV4_ERR_HEADER,			/* bad, repeated or too many signed headers */
	SIGV4_ERR_NOMEM,
	SIGV4_ERR_CRYPTO			/* OpenSSL failed */
} sigv4_status;

/* An extra query parameter that is signed, e.g. partNumber or uploadId. */
typedef struct sigv4_param
{
	const char *name;
	const char *value;			/* NULL is sent as "name=" */
} sigv4_param;

/*
 * A request header the URL signs besides Host: S3 refuses the request
 * unless it carries this header with this value.
 */
typedef struct sigv4_header
{
	const char *name;			/* letters, digits, '-'; any case; not Host */
	const char *value;			/* printable ASCII; S3 ignores leading, trailing
								 * and repeated spaces, and so does the signature */
} sigv4_header;

/* Most headers one URL signs besides Host. */
#define SIGV4_MAX_HEADERS 16

typedef struct sigv4_request
{
	const char *method;
	/* "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:4569", ... */
	const char *endpoint;
	const char *region;
	const char *bucket;
	const char *key;			/* raw object key, not URI-encoded; NULL for
								 * the bucket itself (ListMultipartUploads) */
	bool		path_style;		/* endpoint/bucket/key instead of bucket.endpoint/key */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL or "" when not using temporary credentials */
	int64_t		signed_at;		/* seconds since the Unix epoch, UTC */
	int64_t		expires_in;		/* seconds */
	const sigv4_param *params;
	size_t		nparams;
	const sigv4_header *headers;	/* signed besides Host; NULL when none */
	size_t		nheaders;
} sigv4_request;

/*
 * Builds the presigned URL for req.  On SIGV4_OK *url_out is a NUL-terminated
 * string the caller frees with free(); otherwise *url_out is NULL.
 */
extern sigv4_status sigv4_presign(const sigv4_request *req, char **url_out);

/*
 * Derives the SigV4 signing key for (secret, yyyymmdd date, region, service)
 * into out.  Exposed for test vectors.
 */
extern sigv4_status sigv4_signing_key(const char *secret, const char *date8,
									  const char *region, const char *service,
									  unsigned char out[32]);

/* A short English description of a status, for error messages. */
extern const char *sigv4_strerror(sigv4_status status);

#endif							/* CODESIGHT_SIGV4_H */
