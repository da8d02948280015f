/*
 * s3.c
 *	  S3 from inside PostgreSQL: settings, presigned URLs for the browser,
 *	  and the few requests the server makes itself through libcurl
 *	  (CreateMultipartUpload, CompleteMultipartUpload, HEAD, PUT of exports).
 *
 * The server signs its own requests the same way as the browser's: query
 * presigning with UNSIGNED-PAYLOAD (sigv4.c), so there is one signing path
 * to test.  Recordings never pass through the database; only keys, sizes and
 * ETags are stored, in codesight.uploads.
 *
 * What the browser stores is what it announced: its upload URLs sign the
 * content type and length (S3 refuses any other), complete_upload checks
 * both with HEAD, and recordings are only handed out as attachments of
 * their declared type, so an upload can never be served as a web page.
 *
 * Secrets (access key id, secret, session token) are superuser-only settings
 * and never appear in messages: errors name the endpoint, bucket and key,
 * never a URL, because a presigned URL carries the credential and token.
 */
#include "postgres.h"

#include <curl/curl.h>
#include <time.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "metrics.h"
#include "s3.h"
#include "sigv4.h"

/* S3 allows at most 10,000 parts of at least 5 MiB (but the last). */
#define S3_MAX_PARTS 10000
#define S3_MIN_PART_BYTES (INT64CONST(5) * 1024 * 1024)
/* Largest object S3 stores: 5 TiB. */
#define S3_MAX_OBJECT_MB (5 * 1024 * 1024)
/* Validity of the URLs the server uses for its own requests. */
#define S3_INTERNAL_EXPIRES 900
/* S3's XML answers are small; anything bigger is not S3 talking. */
#define S3_MAX_RESPONSE_BYTES (1024 * 1024)

typedef enum s3_url_style
{
	S3_URL_VIRTUAL,
	S3_URL_PATH
} s3_url_style;

static const struct config_enum_entry url_style_options[] = {
	{"virtual", S3_URL_VIRTUAL, false},
	{"path", S3_URL_PATH, false},
	{NULL, 0, false}
};

static char *s3_endpoint = NULL;
static char *s3_region = NULL;
static char *s3_bucket = NULL;
static int	s3_url_style_setting = S3_URL_VIRTUAL;
static char *s3_access_key_id = NULL;
static char *s3_secret_access_key = NULL;
static char *s3_session_token = NULL;
static int	s3_multipart_threshold_mb = 64;
static int	s3_part_size_mb = 16;
static int	s3_max_upload_size_mb = 10240;
static int	s3_upload_expires_s = 3600;
static int	s3_connect_timeout_ms = 10000;
int			s3_timeout_ms = 10000;
static bool s3_verify_tls = true;

/* Everything one request needs, resolved from settings and environment. */
typedef struct s3_config
{
	const char *endpoint;
	const char *region;
	const char *bucket;
	bool		path_style;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
} s3_config;

/* What the server keeps of an S3 answer. */
typedef struct s3_response
{
	long		status;
	StringInfoData body;
	char	   *etag;
	int64		content_length;
	char	   *content_type;

	/*
	 * Filled by the libcurl callbacks without palloc: an out-of-memory ERROR
	 * there would longjmp through libcurl's frames.  Copied into the fields
	 * above once curl_easy_perform has returned.
	 */
	char	   *raw;			/* malloc'd body */
	size_t		raw_len;
	size_t		raw_cap;
	char		raw_etag[256];
	char		raw_content_type[256];
} s3_response;

PG_FUNCTION_INFO_V1(s3_presign);
PG_FUNCTION_INFO_V1(s3_presign_upload);
PG_FUNCTION_INFO_V1(s3_complete_upload);
PG_FUNCTION_INFO_V1(s3_media_urls);
PG_FUNCTION_INFO_V1(s3_export_to_s3);
PG_FUNCTION_INFO_V1(s3_upload_part_urls);
PG_FUNCTION_INFO_V1(s3_upload_parts);
PG_FUNCTION_INFO_V1(s3_abort_upload);
PG_FUNCTION_INFO_V1(s3_abort_stale_uploads);

/*
 * Rejects an endpoint setting that sigv4 could not sign for, at SET time
 * rather than at the first upload.
 */
static bool
check_s3_endpoint(char **newval, void **extra, GucSource source)
{
	sigv4_request r = {
		.method = "GET", .endpoint = *newval, .region = "us-east-1",
		.bucket = "bucket", .key = "key", .path_style = true,
		.access_key_id = "id", .secret_access_key = "secret",
		.signed_at = 0, .expires_in = 1,
	};
	char	   *url = NULL;
	sigv4_status st = sigv4_presign(&r, &url);

	free(url);
	if (st == SIGV4_ERR_ENDPOINT)
	{
		GUC_check_errdetail("codesight.s3_endpoint must be empty or look like http(s)://host[:port].");
		return false;
	}
	return true;
}

/* Regions are what sigv4 accepts: lower-case letters, digits, hyphens. */
static bool
check_s3_region(char **newval, void **extra, GucSource source)
{
	for (const char *p = *newval; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
		{
			GUC_check_errdetail("codesight.s3_region must be lower-case letters, digits and hyphens, like \"us-east-1\".");
			return false;
		}
	return true;
}

void
s3_define_gucs(void)
{
	/* AWS_REGION is the boot value so that the environment works untouched. */
	const char *env_region = getenv("AWS_REGION");
	const int	secret_flags = GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE;

	DefineCustomStringVariable("codesight.s3_endpoint",
							   "S3 endpoint URL, e.g. http://127.0.0.1:9000 for MinIO.",
							   "Empty means AWS: https://s3.<region>.amazonaws.com.",
							   &s3_endpoint, "", PGC_SUSET, 0,
							   check_s3_endpoint, NULL, NULL);
	DefineCustomStringVariable("codesight.s3_region",
							   "S3 region used in signatures.",
							   "Defaults to AWS_REGION from the server's environment, else us-east-1.",
							   &s3_region,
							   (env_region && *env_region) ? env_region : "us-east-1",
							   PGC_SUSET, 0, check_s3_region, NULL, NULL);
	DefineCustomStringVariable("codesight.s3_bucket",
							   "Bucket that holds recordings and exports.",
							   NULL, &s3_bucket, "", PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("codesight.s3_url_style",
							 "Addressing style: virtual (bucket.host/key) or path (host/bucket/key).",
							 "Most S3-compatible servers on an IP address or localhost need path.",
							 &s3_url_style_setting, S3_URL_VIRTUAL, url_style_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.s3_access_key_id",
							   "S3 access key id; empty means AWS_ACCESS_KEY_ID from the environment.",
							   NULL, &s3_access_key_id, "", PGC_SUSET, secret_flags,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.s3_secret_access_key",
							   "S3 secret access key; empty means AWS_SECRET_ACCESS_KEY from the environment.",
							   NULL, &s3_secret_access_key, "", PGC_SUSET, secret_flags,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.s3_session_token",
							   "Session token for temporary S3 credentials.",
							   "Used with codesight.s3_access_key_id; AWS_SESSION_TOKEN goes with AWS_ACCESS_KEY_ID.",
							   &s3_session_token, "", PGC_SUSET, secret_flags,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.s3_multipart_threshold",
							"Uploads of at least this size use multipart upload.",
							NULL, &s3_multipart_threshold_mb, 64, 5, S3_MAX_OBJECT_MB,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.s3_part_size",
							"Size of each part of a multipart upload.",
							"Raised automatically so that no upload needs more than 10000 parts.",
							&s3_part_size_mb, 16, 5, 5 * 1024,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.s3_max_upload_size",
							"Largest recording presign_upload accepts.",
							NULL, &s3_max_upload_size_mb, 10240, 1, S3_MAX_OBJECT_MB,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.s3_upload_url_expires",
							"Validity of the presigned upload URLs handed to browsers.",
							NULL, &s3_upload_expires_s, 3600, 60, SIGV4_MAX_EXPIRES,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.s3_connect_timeout",
							"Time allowed to connect to S3.",
							NULL, &s3_connect_timeout_ms, 10000, 100, 600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.s3_timeout",
							"Time allowed for a whole S3 request made by the server.",
							"A store that does not answer in time gets the caller a 504; the HTTP API's other requests and the event stream never wait for it.",
							&s3_timeout_ms, 10000, 100, 3600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("codesight.s3_verify_tls",
							 "Verify the S3 endpoint's TLS certificate.",
							 "Turn off only for a test server with a self-signed certificate.",
							 &s3_verify_tls, true, PGC_SUSET, 0, NULL, NULL, NULL);
}

/* What s3_resolve_config found missing. */
typedef enum s3_config_status
{
	S3_CONFIG_OK,
	S3_CONFIG_NO_BUCKET,
	S3_CONFIG_NO_CREDENTIALS
} s3_config_status;

/*
 * Resolves settings and environment into cfg.  bucket overrides
 * codesight.s3_bucket when not NULL.  Credentials come as a set: from the
 * settings when codesight.s3_access_key_id is set, else from the
 * environment, so a token never pairs with the wrong key.  Says what is
 * missing rather than raising an error, for s3_check.
 */
static s3_config_status
s3_resolve_config(s3_config *cfg, const char *bucket)
{
	cfg->endpoint = s3_endpoint ? s3_endpoint : "";
	cfg->region = (s3_region && *s3_region) ? s3_region : "us-east-1";
	cfg->bucket = bucket ? bucket : s3_bucket;
	cfg->path_style = s3_url_style_setting == S3_URL_PATH;
	if (s3_access_key_id && *s3_access_key_id)
	{
		cfg->access_key_id = s3_access_key_id;
		cfg->secret_access_key = s3_secret_access_key;
		cfg->session_token = s3_session_token;
	}
	else
	{
		cfg->access_key_id = getenv("AWS_ACCESS_KEY_ID");
		cfg->secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
		cfg->session_token = getenv("AWS_SESSION_TOKEN");
	}

	if (cfg->bucket == NULL || *cfg->bucket == '\0')
		return S3_CONFIG_NO_BUCKET;
	if (cfg->access_key_id == NULL || *cfg->access_key_id == '\0' ||
		cfg->secret_access_key == NULL || *cfg->secret_access_key == '\0')
		return S3_CONFIG_NO_CREDENTIALS;
	return S3_CONFIG_OK;
}

/* Resolves the configuration like s3_resolve_config, or raises an error. */
static void
s3_load_config(s3_config *cfg, const char *bucket)
{
	switch (s3_resolve_config(cfg, bucket))
	{
		case S3_CONFIG_OK:
			break;
		case S3_CONFIG_NO_BUCKET:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no S3 bucket is configured"),
					 errhint("Set codesight.s3_bucket in postgresql.conf.")));
			break;
		case S3_CONFIG_NO_CREDENTIALS:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no S3 credentials are configured"),
					 errhint("Set codesight.s3_access_key_id and codesight.s3_secret_access_key, "
							 "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the server's environment.")));
			break;
	}
}

/* Rejects an expiry S3 would not honour, with the limits in the hint. */
static void
check_expires_in(int64 expires_in)
{
	if (expires_in < 1 || expires_in > SIGV4_MAX_EXPIRES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_in must be between 1 and %d seconds", SIGV4_MAX_EXPIRES),
				 errdetail("The value given was " INT64_FORMAT ".", expires_in),
				 errhint("S3 refuses presigned URLs valid for longer than 7 days.")));
}

/* What sigv4 signs for method on key with cfg's endpoint and credentials. */
static sigv4_request
s3_sigv4_request(const s3_config *cfg, const char *method, const char *key,
				 int64 expires_in, int64 signed_at)
{
	sigv4_request r = {
		.method = method,
		.endpoint = cfg->endpoint,
		.region = cfg->region,
		.bucket = cfg->bucket,
		.key = key,
		.path_style = cfg->path_style,
		.access_key_id = cfg->access_key_id,
		.secret_access_key = cfg->secret_access_key,
		.session_token = cfg->session_token,
		.signed_at = signed_at,
		.expires_in = expires_in,
	};

	return r;
}

/*
 * Presigns method on key and returns the URL in palloc'd memory; the
 * request must carry the given headers with these values.  Every sigv4
 * failure becomes an error naming the setting to fix.
 */
static char *
s3_presign_url(const s3_config *cfg, const char *method, const char *key,
			   int64 expires_in, int64 signed_at,
			   const sigv4_param *params, size_t nparams,
			   const sigv4_header *headers, size_t nheaders)
{
	sigv4_request r = s3_sigv4_request(cfg, method, key, expires_in, signed_at);
	char	   *url = NULL;
	char	   *result;
	sigv4_status st;

	r.params = params;
	r.nparams = nparams;
	r.headers = headers;
	r.nheaders = nheaders;
	check_expires_in(expires_in);
	st = sigv4_presign(&r, &url);
	switch (st)
	{
		case SIGV4_OK:
			break;
		case SIGV4_ERR_NOMEM:
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
			break;
		case SIGV4_ERR_BUCKET:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bucket name \"%s\" cannot be used with virtual-hosted URLs", cfg->bucket),
					 errdetail("The %s.", sigv4_strerror(st)),
					 errhint("Use a DNS-compatible bucket name or set codesight.s3_url_style to 'path'.")));
			break;
		case SIGV4_ERR_METHOD:
		case SIGV4_ERR_KEY:
		case SIGV4_ERR_TIME:
		case SIGV4_ERR_EXPIRES:
		case SIGV4_ERR_HEADER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot presign S3 %s of \"%s\"", method, key),
					 errdetail("The %s.", sigv4_strerror(st))));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot presign S3 URLs with the current settings"),
					 errdetail("The %s.", sigv4_strerror(st)),
					 errhint("Check the codesight.s3_* settings.")));
	}
	result = pstrdup(url);
	free(url);
	return result;
}

/* Seconds since the Unix epoch of a finite timestamptz, rounded down. */
static int64
timestamptz_to_unix(TimestampTz ts)
{
	int64		secs;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("signed_at must be a finite timestamp")));
	secs = ts / USECS_PER_SEC;
	if (ts % USECS_PER_SEC < 0)
		secs--;
	return secs + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/*
 * libcurl progress callback: aborts the transfer when the backend has a
 * cancel or termination pending, so that pg_cancel_backend and
 * statement_timeout work during a slow request.  It must not ereport: a
 * longjmp through libcurl would leave the handle in an unknown state.
 */
static int
s3_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/*
 * Collects the response body with malloc, refusing anything too big to be
 * S3's XML; returning short makes curl stop with a write error.
 */
static size_t
s3_write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	s3_response *resp = arg;
	size_t		n = size * nmemb;

	if (resp->raw_len + n > S3_MAX_RESPONSE_BYTES)
		return 0;
	if (resp->raw_len + n > resp->raw_cap)
	{
		size_t		cap = Max(resp->raw_cap * 2, resp->raw_len + n);
		char	   *nb = realloc(resp->raw, cap);

		if (nb == NULL)
			return 0;
		resp->raw = nb;
		resp->raw_cap = cap;
	}
	memcpy(resp->raw + resp->raw_len, data, n);
	resp->raw_len += n;
	return n;
}

/* Copies a header's value without surrounding blanks and CR/LF into out. */
static void
header_value(const char *v, size_t n, char *out, size_t outlen)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/* Keeps the headers complete_upload checks: ETag, Content-Length, Content-Type. */
static size_t
s3_write_header(char *data, size_t size, size_t nmemb, void *arg)
{
	s3_response *resp = arg;
	size_t		n = size * nmemb;

	/* A new status line (after 100 Continue) starts a new set of headers. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		resp->raw_etag[0] = '\0';
		resp->raw_content_type[0] = '\0';
		resp->content_length = -1;
	}
	else if (n > 5 && pg_strncasecmp(data, "ETag:", 5) == 0)
		header_value(data + 5, n - 5, resp->raw_etag, sizeof(resp->raw_etag));
	else if (n > 13 && pg_strncasecmp(data, "Content-Type:", 13) == 0)
		header_value(data + 13, n - 13, resp->raw_content_type, sizeof(resp->raw_content_type));
	else if (n > 15 && pg_strncasecmp(data, "Content-Length:", 15) == 0)
	{
		char		v[32];
		char	   *end;
		long long	len;

		header_value(data + 15, n - 15, v, sizeof(v));
		len = strtoll(v, &end, 10);
		resp->content_length = (v[0] != '\0' && *end == '\0' && len >= 0) ? len : -1;
	}
	return n;
}

/* Initialises libcurl once per backend. */
static void
s3_curl_init(void)
{
	static bool done = false;

	if (done)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libcurl")));
	done = true;
}

/*
 * Sends one request to a presigned url and fills resp, within the given
 * timeouts.  Returns libcurl's result with its message in errbuf
 * (CURL_ERROR_SIZE bytes) and raises no error of its own: s3_request turns
 * a failure into an error, s3_check into a status.
 */
static CURLcode
s3_perform(const char *method, const char *url,
		   const char *body, size_t bodylen, const char *content_type,
		   long connect_timeout_ms, long timeout_ms, s3_response *resp, char *errbuf)
{
	char	   *ct_header = psprintf("Content-Type:%s%s",
									 content_type ? " " : "",
									 content_type ? content_type : "");
	struct curl_slist *headers = NULL;
	CURL	   *curl;
	CURLcode	rc;

	s3_curl_init();
	errbuf[0] = '\0';
	initStringInfo(&resp->body);
	resp->status = 0;
	resp->etag = NULL;
	resp->content_type = NULL;
	resp->content_length = -1;
	resp->raw = NULL;
	resp->raw_len = resp->raw_cap = 0;
	resp->raw_etag[0] = '\0';
	resp->raw_content_type[0] = '\0';

	curl = curl_easy_init();
	if (curl == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));

	/*
	 * Nothing between here and curl_easy_cleanup can raise an ERROR: the
	 * callbacks use malloc and only set flags, so no longjmp crosses
	 * libcurl's frames.
	 */
	/* "Expect:" stops curl from waiting for 100 Continue on large bodies. */
	headers = curl_slist_append(headers, "Expect:");
	headers = curl_slist_append(headers, ct_header);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, s3_verify_tls ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, s3_verify_tls ? 2L : 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "codesight/1.0");
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, s3_progress);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s3_write_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, s3_write_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
	{
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) bodylen);
	}

	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);

	appendBinaryStringInfo(&resp->body, resp->raw ? resp->raw : "", (int) resp->raw_len);
	free(resp->raw);
	resp->raw = NULL;
	if (resp->raw_etag[0])
		resp->etag = pstrdup(resp->raw_etag);
	if (resp->raw_content_type[0])
		resp->content_type = pstrdup(resp->raw_content_type);
	if (errbuf[0] == '\0' && rc != CURLE_OK)
		strlcpy(errbuf, curl_easy_strerror(rc), CURL_ERROR_SIZE);

	metrics_count_s3(rc == CURLE_ABORTED_BY_CALLBACK ? S3_INTERRUPTED :
					 rc != CURLE_OK ? S3_NETWORK_ERROR :
					 (resp->status >= 200 && resp->status < 300) ? S3_OK : S3_HTTP_ERROR);
	return rc;
}

/*
 * Sends one request to S3 and fills resp; failing to get any answer is an
 * error, any HTTP status is returned for the caller to judge.  what names
 * the operation in messages ("HEAD of \"key\"").
 */
static void
s3_request(const s3_config *cfg, const char *method, const char *key,
		   const sigv4_param *params, size_t nparams,
		   const char *body, size_t bodylen, const char *content_type,
		   const char *what, s3_response *resp)
{
	char	   *url = s3_presign_url(cfg, method, key, S3_INTERNAL_EXPIRES,
									 (int64) time(NULL), params, nparams, NULL, 0);
	char		errbuf[CURL_ERROR_SIZE];
	CURLcode	rc;

	rc = s3_perform(method, url, body, bodylen, content_type,
					s3_connect_timeout_ms, s3_timeout_ms, resp, errbuf);
	CHECK_FOR_INTERRUPTS();
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("S3 %s was interrupted", what)));
	if (rc == CURLE_OPERATION_TIMEDOUT)
		ereport(ERROR,
				(errcode(ERRCODE_CS_S3_TIMEOUT),
				 errmsg("the storage service did not answer S3 %s in bucket \"%s\" within %d ms",
						what, cfg->bucket, s3_timeout_ms),
				 errdetail("%s", errbuf),
				 errhint("Check that codesight.s3_endpoint (\"%s\") is up; the limits are codesight.s3_timeout and codesight.s3_connect_timeout.",
						 *cfg->endpoint ? cfg->endpoint : "AWS")));
	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the storage service could not be reached for S3 %s in bucket \"%s\"",
						what, cfg->bucket),
				 errdetail("%s", errbuf),
				 errhint("Check that codesight.s3_endpoint (\"%s\") is reachable from the database server.",
						 *cfg->endpoint ? cfg->endpoint : "AWS")));
}

/* Returns the unescaped text of the first <tag>...</tag> in xml, or NULL. */
static char *
xml_element(const char *xml, const char *tag)
{
	char	   *open = psprintf("<%s>", tag);
	char	   *close = psprintf("</%s>", tag);
	const char *start = strstr(xml, open);
	const char *end;
	StringInfoData out;

	if (start == NULL)
		return NULL;
	start += strlen(open);
	end = strstr(start, close);
	if (end == NULL)
		return NULL;

	initStringInfo(&out);
	for (const char *p = start; p < end; p++)
	{
		static const struct
		{
			const char *entity;
			char		c;
		}			entities[] = {
			{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}
		};
		bool		replaced = false;

		/*
		 * Numeric references too: servers written in Go (MinIO) send a quote
		 * as &#34;.
		 */
		if (end - p >= 4 && p[0] == '&' && p[1] == '#')
		{
			bool		hex = p[2] == 'x' || p[2] == 'X';
			char	   *stop;
			long		c = strtol(p + (hex ? 3 : 2), &stop, hex ? 16 : 10);

			if (stop < end && *stop == ';' && c > 0 && c < 0x110000 &&
				stop > p + (hex ? 3 : 2))
			{
				unsigned char utf8[8];

				unicode_to_utf8((pg_wchar) c, utf8);
				appendBinaryStringInfo(&out, (char *) utf8, pg_utf_mblen(utf8));
				p = stop;
				continue;
			}
		}
		for (int i = 0; i < lengthof(entities) && !replaced; i++)
		{
			size_t		n = strlen(entities[i].entity);

			if ((size_t) (end - p) >= n && strncmp(p, entities[i].entity, n) == 0)
			{
				appendStringInfoChar(&out, entities[i].c);
				p += n - 1;
				replaced = true;
			}
		}
		if (!replaced)
			appendStringInfoChar(&out, *p);
	}
	return out.data;
}

/* Appends s with XML's special characters escaped. */
static void
xml_escape(StringInfo out, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				appendStringInfoString(out, "&amp;");
				break;
			case '<':
				appendStringInfoString(out, "&lt;");
				break;
			case '>':
				appendStringInfoString(out, "&gt;");
				break;
			case '"':
				appendStringInfoString(out, "&quot;");
				break;
			case '\'':
				appendStringInfoString(out, "&apos;");
				break;
			default:
				appendStringInfoChar(out, *s);
		}
	}
}

/* Reports an S3 error answer, with S3's own code and message as detail. */
static void
s3_fail(const s3_config *cfg, const s3_response *resp, const char *what)
{
	char	   *code = xml_element(resp->body.data, "Code");
	char	   *message = xml_element(resp->body.data, "Message");
	const char *hint;

	if (resp->status == 403)
		hint = "Check the S3 credentials, the bucket policy, and that the database server's clock is right.";
	else if (code && strcmp(code, "NoSuchBucket") == 0)
		hint = "Check codesight.s3_bucket and codesight.s3_url_style.";
	else
		hint = "See the detail for S3's reason.";
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("S3 %s in bucket \"%s\" failed with HTTP status %ld",
					what, cfg->bucket, resp->status),
			 errdetail("S3 answered %s: %s.", code ? code : "without an error code",
					   message ? message : "no message"),
			 errhint("%s", hint)));
}

/* Errors out unless session_id names a session. */
static void
require_session(const char *session_id)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(session_id)};

	if (SPI_execute_with_args("SELECT 1 FROM codesight.sessions WHERE session_id = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up session \"%s\"", session_id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("session \"%s\" does not exist", session_id),
				 errhint("Start the session from the extension before uploading its recordings.")));
}

/* A text argument as a C string, or an error naming the argument if NULL. */
static char *
required_text(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* Appends "name": "value" (JSON-escaped) after a comma unless first. */
static void
json_field(StringInfo out, const char *name, const char *value)
{
	if (out->data[out->len - 1] != '{')
		appendStringInfoChar(out, ',');
	escape_json(out, name);
	appendStringInfoChar(out, ':');
	if (value)
		escape_json(out, value);
	else
		appendStringInfoString(out, "null");
}

/* Appends "name": raw, for numbers, booleans and nested JSON. */
static void
json_raw(StringInfo out, const char *name, const char *raw)
{
	if (out->data[out->len - 1] != '{')
		appendStringInfoChar(out, ',');
	escape_json(out, name);
	appendStringInfoChar(out, ':');
	appendStringInfoString(out, raw);
}

/* Converts JSON text built here into the jsonb result. */
static Datum
json_result(StringInfo json)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json->data));
}

/*
 * codesight.s3_presign(method, key, expires_in, signed_at, bucket): a
 * presigned URL for any object, for admins and for tests.
 */
Datum
s3_presign(PG_FUNCTION_ARGS)
{
	char	   *method = required_text(fcinfo, 0, "method");
	char	   *key = required_text(fcinfo, 1, "key");
	int64		expires_in;
	int64		signed_at;
	s3_config	cfg;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("expires_in must not be null")));
	expires_in = PG_GETARG_INT32(2);
	check_expires_in(expires_in);
	signed_at = timestamptz_to_unix(PG_ARGISNULL(3) ? GetCurrentTransactionStartTimestamp()
									: PG_GETARG_TIMESTAMPTZ(3));
	for (char *p = method; *p; p++)
		*p = pg_ascii_toupper((unsigned char) *p);
	if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0 &&
		strcmp(method, "HEAD") != 0 && strcmp(method, "DELETE") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot presign method \"%s\"", method),
				 errhint("Use GET, PUT, HEAD or DELETE.")));

	s3_load_config(&cfg, PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4)));
	PG_RETURN_TEXT_P(cstring_to_text(s3_presign_url(&cfg, method, key, expires_in,
													signed_at, NULL, 0, NULL, 0)));
}

/* A version 4 UUID from the strong random source, as text. */
static char *
new_uuid(void)
{
	pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

	if (!pg_strong_random(u->data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random upload id")));
	u->data[6] = (u->data[6] & 0x0f) | 0x40;
	u->data[8] = (u->data[8] & 0x3f) | 0x80;
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(u)));
}

/* A file extension for well-known recording types, so downloads open right. */
static const char *
extension_for(const char *content_type)
{
	static const struct
	{
		const char *type;
		const char *ext;
	}			known[] = {
		{"video/webm", ".webm"}, {"audio/webm", ".webm"}, {"video/mp4", ".mp4"},
		{"audio/mp4", ".m4a"}, {"audio/ogg", ".ogg"}, {"audio/mpeg", ".mp3"},
		{"audio/wav", ".wav"}, {"image/png", ".png"}, {"image/jpeg", ".jpg"},
		{"application/json", ".json"},
	};
	size_t		n = strcspn(content_type, "; ");

	for (int i = 0; i < lengthof(known); i++)
		if (strlen(known[i].type) == n && pg_strncasecmp(content_type, known[i].type, n) == 0)
			return known[i].ext;
	return "";
}

/* Advances over RFC 9110 token characters; returns how many there were. */
static size_t
skip_token(const char **p)
{
	const char *start = *p;

	while ((**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z') ||
		   (**p >= '0' && **p <= '9') || (**p != '\0' && strchr("!#$%&'*+-.^_`|~", **p)))
		(*p)++;
	return (size_t) (*p - start);
}

/*
 * A content type a browser sends unchanged and S3 stores as it is:
 * type/subtype of token characters, then nothing or parameters after a
 * ';', all printable ASCII and at most 255 bytes.  It is signed into the
 * upload URL and handed back on downloads, so nothing else may pass.
 */
static bool
valid_content_type(const char *ct)
{
	const char *p = ct;

	if (strlen(ct) > 255 || skip_token(&p) == 0 || *p++ != '/' || skip_token(&p) == 0)
		return false;
	while (*p == ' ')
		p++;
	if (*p != '\0' && *p != ';')
		return false;
	for (; *p; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
			return false;
	return true;
}

/*
 * Whether the Content-Type S3 reports for an object is the one its upload
 * declared, up to ASCII case and blanks, which a store may change
 * ("video/webm; codecs=vp9" is "video/webm;codecs=vp9").  No type is a
 * mismatch.
 */
static bool
same_content_type(const char *stored, const char *declared)
{
	if (stored == NULL)
		return false;
	for (;;)
	{
		while (*stored == ' ' || *stored == '\t')
			stored++;
		while (*declared == ' ' || *declared == '\t')
			declared++;
		if (*stored == '\0' || *declared == '\0')
			return *stored == *declared;
		if (pg_ascii_tolower((unsigned char) *stored) != pg_ascii_tolower((unsigned char) *declared))
			return false;
		stored++, declared++;
	}
}

/* Validates presign_upload's kind and content type before anything is stored. */
static void
check_upload_args(const char *kind, const char *content_type, int64 size_bytes)
{
	size_t		klen = strlen(kind);
	int64		max_bytes = (int64) s3_max_upload_size_mb * 1024 * 1024;

	if (klen < 1 || klen > 32 || strspn(kind, "abcdefghijklmnopqrstuvwxyz_") != klen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid upload kind \"%s\"", kind),
				 errdetail("A kind is 1 to 32 lower-case letters or underscores, like \"video\" or \"audio\".")));
	if (!valid_content_type(content_type))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid content type \"%s\"", content_type),
				 errdetail("A content type looks like \"video/webm\" or \"video/webm;codecs=vp9,opus\": "
						   "type/subtype, then parameters after a \";\", in printable ASCII, at most 255 characters.")));
	if (size_bytes < 1 || size_bytes > max_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("size_bytes must be between 1 and " INT64_FORMAT, max_bytes),
				 errdetail("The value given was " INT64_FORMAT ".", size_bytes),
				 errhint("The limit is codesight.s3_max_upload_size.")));
}

/*
 * Part size for an upload: the setting, raised in whole MiB when the object
 * would otherwise need more parts than S3 allows.
 */
static int64
part_size_for(int64 size_bytes)
{
	int64		mib = 1024 * 1024;
	int64		part = (int64) s3_part_size_mb * mib;
	int64		needed = (size_bytes + S3_MAX_PARTS - 1) / S3_MAX_PARTS;

	if (needed > part)
		part = (needed + mib - 1) / mib * mib;
	return Max(part, S3_MIN_PART_BYTES);
}

/*
 * Appends the single PUT of a whole recording: "method", "url" and the
 * "headers" the request must carry.  The URL signs the declared content
 * type and size, so S3 refuses any other body (403 SignatureDoesNotMatch).
 * Browsers set Content-Length themselves, from the body.
 */
static void
json_single_put(StringInfo json, const s3_config *cfg, const char *key,
				const char *content_type, int64 size_bytes, int64 now)
{
	char	   *length = psprintf(INT64_FORMAT, size_bytes);
	sigv4_header headers[2] = {{"Content-Type", content_type}, {"Content-Length", length}};

	json_field(json, "method", "PUT");
	json_field(json, "url", s3_presign_url(cfg, "PUT", key, s3_upload_expires_s, now,
										   NULL, 0, headers, lengthof(headers)));
	appendStringInfoString(json, ",\"headers\":{");
	json_field(json, "Content-Type", content_type);
	json_field(json, "Content-Length", length);
	appendStringInfoChar(json, '}');
}

/*
 * Appends {"partNumber", "url"} for part n of a multipart upload.  The URL
 * signs the part's length, so S3 takes no part of another size; a part has
 * no content type of its own (CreateMultipartUpload set the object's).
 */
static void
json_part_url(StringInfo json, const s3_config *cfg, const char *key,
			  const char *s3_upload_id, int64 size_bytes, int64 part_size,
			  int64 n, int64 now)
{
	int64		nparts = (size_bytes + part_size - 1) / part_size;
	char	   *num = psprintf(INT64_FORMAT, n);
	sigv4_param params[2] = {{"partNumber", num}, {"uploadId", s3_upload_id}};
	sigv4_header length = {"Content-Length",
	psprintf(INT64_FORMAT, n < nparts ? part_size : size_bytes - (nparts - 1) * part_size)};

	appendStringInfoString(json, json->data[json->len - 1] == '[' ? "{" : ",{");
	json_raw(json, "partNumber", num);
	json_field(json, "url", s3_presign_url(cfg, "PUT", key, s3_upload_expires_s, now,
										   params, lengthof(params), &length, 1));
	appendStringInfoChar(json, '}');
}

/* Starts a multipart upload on S3 and returns its UploadId. */
static char *
create_multipart_upload(const s3_config *cfg, const char *key, const char *content_type)
{
	sigv4_param param = {"uploads", NULL};
	s3_response resp;
	char	   *what = psprintf("CreateMultipartUpload of \"%s\"", key);
	char	   *upload_id;

	s3_request(cfg, "POST", key, &param, 1, NULL, 0, content_type, what, &resp);
	if (resp.status != 200)
		s3_fail(cfg, &resp, what);
	upload_id = xml_element(resp.body.data, "UploadId");
	if (upload_id == NULL || *upload_id == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("S3 %s in bucket \"%s\" returned no UploadId", what, cfg->bucket),
				 errhint("Check that codesight.s3_endpoint points at an S3-compatible service.")));
	return upload_id;
}

/*
 * codesight.presign_upload(session_id, kind, content_type, size_bytes,
 * recording_started_at): records a pending upload and returns the URL(s)
 * the browser PUTs the recording to.
 */
Datum
s3_presign_upload(PG_FUNCTION_ARGS)
{
	char	   *session_id = required_text(fcinfo, 0, "session_id");
	char	   *kind = required_text(fcinfo, 1, "kind");
	char	   *content_type = required_text(fcinfo, 2, "content_type");
	int64		size_bytes;
	int64		now = (int64) time(NULL);
	int64		threshold = (int64) s3_multipart_threshold_mb * 1024 * 1024;
	bool		multipart;
	int64		part_size = 0;
	char	   *upload_id = new_uuid();
	char	   *key;
	char	   *s3_upload_id = NULL;
	s3_config	cfg;
	StringInfoData json;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("size_bytes must not be null")));
	size_bytes = PG_GETARG_INT64(3);
	check_upload_args(kind, content_type, size_bytes);
	s3_load_config(&cfg, NULL);
	key = psprintf("sessions/%s/%s/%s%s", session_id, kind, upload_id,
				   extension_for(content_type));
	multipart = size_bytes >= threshold;

	/* The result must outlive SPI_finish, so it lives in the caller's context. */
	initStringInfo(&json);
	appendStringInfoChar(&json, '{');

	SPI_connect();
	require_session(session_id);
	if (multipart)
	{
		part_size = part_size_for(size_bytes);
		s3_upload_id = create_multipart_upload(&cfg, key, content_type);
	}

	{
		Oid			argtypes[10] = {TEXTOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID};
		Datum		values[10] = {
			CStringGetTextDatum(session_id),
			DirectFunctionCall1(uuid_in, CStringGetDatum(upload_id)),
			CStringGetTextDatum(kind),
			CStringGetTextDatum(cfg.bucket),
			CStringGetTextDatum(key),
			CStringGetTextDatum(content_type),
			Int64GetDatum(size_bytes),
			multipart ? CStringGetTextDatum(s3_upload_id) : (Datum) 0,
			Int64GetDatum(part_size),
			PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4),
		};
		char		nulls[11] = "          ";

		if (!multipart)
			nulls[7] = nulls[8] = 'n';
		if (PG_ARGISNULL(4))
			nulls[9] = 'n';
		if (SPI_execute_with_args("INSERT INTO codesight.uploads "
								  "(session_id, upload_id, kind, bucket, object_key, content_type,"
								  " size_bytes, s3_upload_id, part_size, recording_started_at) "
								  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
								  10, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record upload %s", upload_id);
	}

	json_field(&json, "uploadId", upload_id);
	json_field(&json, "key", key);
	json_field(&json, "bucket", cfg.bucket);
	json_raw(&json, "expiresIn", psprintf("%d", s3_upload_expires_s));
	if (!multipart)
		json_single_put(&json, &cfg, key, content_type, size_bytes, now);
	else
	{
		int64		nparts = (size_bytes + part_size - 1) / part_size;

		json_raw(&json, "multipart", "true");
		json_raw(&json, "partSize", psprintf(INT64_FORMAT, part_size));
		appendStringInfoString(&json, ",\"parts\":[");
		for (int64 n = 1; n <= nparts; n++)
			json_part_url(&json, &cfg, key, s3_upload_id, size_bytes, part_size, n, now);
		appendStringInfoChar(&json, ']');
	}
	appendStringInfoChar(&json, '}');
	SPI_finish();
	PG_RETURN_DATUM(json_result(&json));
}

/*
 * Reads complete_upload's parts argument: exactly parts 1..nparts, each
 * with an ETag.  Returns the CompleteMultipartUpload request body.
 */
static char *
complete_body(Jsonb *parts, int64 nparts)
{
	char	  **etags;
	StringInfoData xml;
	Oid			argtypes[1] = {JSONBOID};
	Datum		values[1] = {JsonbPGetDatum(parts)};

	if (!JB_ROOT_IS_ARRAY(parts) || JB_ROOT_IS_SCALAR(parts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parts must be a JSON array of {partNumber, etag}")));
	if (SPI_execute_with_args("SELECT p->>'partNumber', p->>'etag' "
							  "FROM jsonb_array_elements($1) AS p",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read parts");
	if ((int64) SPI_processed != nparts)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected %lld parts, got %lld",
						(long long) nparts, (long long) SPI_processed),
				 errdetail("The upload's size and part size make %lld parts.", (long long) nparts),
				 errhint("Send the ETag of every uploaded part.")));

	etags = palloc0(sizeof(char *) * (nparts + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *num = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *etag = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *end = NULL;
		long		n = num ? strtol(num, &end, 10) : 0;

		if (num == NULL || *end != '\0' || n < 1 || n > nparts || etags[n] != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid or repeated partNumber %s", num ? num : "null"),
					 errdetail("Part numbers run from 1 to %lld, each once.", (long long) nparts)));
		if (etag == NULL || *etag == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("part %ld has no etag", n),
					 errhint("Read the ETag response header of each part's PUT; the bucket's CORS rules must expose it.")));
		etags[n] = etag;
	}

	initStringInfo(&xml);
	appendStringInfoString(&xml, "<CompleteMultipartUpload>");
	for (int64 n = 1; n <= nparts; n++)
	{
		appendStringInfo(&xml, "<Part><PartNumber>%lld</PartNumber><ETag>", (long long) n);
		xml_escape(&xml, etags[n]);
		appendStringInfoString(&xml, "</ETag></Part>");
	}
	appendStringInfoString(&xml, "</CompleteMultipartUpload>");
	return xml.data;
}

/* One row of codesight.uploads, as the upload functions read it. */
typedef struct upload_row
{
	Datum		upload_uuid;
	char	   *upload_id;		/* the uuid as text, for messages */
	char	   *session_id;
	char	   *bucket;
	char	   *key;
	char	   *content_type;
	char	   *s3_upload_id;	/* NULL for a single PUT */
	char	   *status;
	char	   *etag;
	char	   *completed_at;	/* JSON text, or NULL */
	int64		size_bytes;
	int64		part_size;		/* 0 for a single PUT */
} upload_row;

/*
 * Reads the upload named by the function's first argument into u, and
 * records the browser's activity (touched_at) for abort_stale_uploads.  The
 * UPDATE locks the row, so two calls for one upload run one after the
 * other.  Must run inside SPI; the strings live in SPI's memory.
 */
static void
load_upload(FunctionCallInfo fcinfo, upload_row *u)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];
	TupleDesc	td;
	HeapTuple	tup;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("upload_id must not be null")));
	u->upload_uuid = values[0] = PG_GETARG_DATUM(0);
	u->upload_id = DatumGetCString(DirectFunctionCall1(uuid_out, u->upload_uuid));
	if (SPI_execute_with_args("UPDATE codesight.uploads SET touched_at = now() "
							  "WHERE upload_id = $1 RETURNING session_id, bucket, object_key,"
							  " content_type, size_bytes, s3_upload_id, part_size, status, etag,"
							  " to_json(completed_at)::text",
							  1, argtypes, values, NULL, false, 1) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not look up upload %s", u->upload_id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("upload %s does not exist", u->upload_id),
				 errhint("Call presign_upload first and use the uploadId it returns.")));
	td = SPI_tuptable->tupdesc;
	tup = SPI_tuptable->vals[0];
	u->session_id = SPI_getvalue(tup, td, 1);
	u->bucket = SPI_getvalue(tup, td, 2);
	u->key = SPI_getvalue(tup, td, 3);
	u->content_type = SPI_getvalue(tup, td, 4);
	u->size_bytes = pg_strtoint64(SPI_getvalue(tup, td, 5));
	u->s3_upload_id = SPI_getvalue(tup, td, 6);
	u->part_size = u->s3_upload_id ? pg_strtoint64(SPI_getvalue(tup, td, 7)) : 0;
	u->status = SPI_getvalue(tup, td, 8);
	u->etag = SPI_getvalue(tup, td, 9);
	u->completed_at = SPI_getvalue(tup, td, 10);
}

/* The number of parts of a multipart upload. */
static int64
upload_part_count(const upload_row *u)
{
	return (u->size_bytes + u->part_size - 1) / u->part_size;
}

/*
 * An aborted upload can never complete: the client must start a new one.
 * 404, like an upload that never existed, so a client handles both alike.
 */
static void
require_not_aborted(const upload_row *u)
{
	if (strcmp(u->status, "aborted") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("upload %s was aborted", u->upload_id),
				 errdetail("Its multipart upload was abandoned and aborted on S3, or the recorder gave it up."),
				 errhint("Call presign_upload for a new upload of the recording.")));
}

/* Marks an upload aborted once S3 no longer has it. */
static void
mark_aborted(Datum upload_uuid)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1] = {upload_uuid};

	if (SPI_execute_with_args("UPDATE codesight.uploads SET status = 'aborted' "
							  "WHERE upload_id = $1 AND status = 'pending'",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not mark an upload aborted");
}

/*
 * Finds the next <tag>...</tag> at or after *pos and returns its inner XML
 * (entities not decoded), advancing *pos past it; NULL when there is none.
 * For S3's lists of repeated elements (<Part>, <Upload>).
 */
static char *
xml_next_element(const char **pos, const char *tag)
{
	char	   *open = psprintf("<%s>", tag);
	char	   *close = psprintf("</%s>", tag);
	const char *start = strstr(*pos, open);
	const char *end;

	if (start == NULL)
		return NULL;
	start += strlen(open);
	end = strstr(start, close);
	if (end == NULL)
		return NULL;
	*pos = end + strlen(close);
	return pnstrdup(start, end - start);
}

/* True when an S3 answer says the list continues on another page. */
static bool
xml_truncated(const char *xml)
{
	char	   *v = xml_element(xml, "IsTruncated");

	return v != NULL && strcmp(v, "true") == 0;
}

/*
 * Aborts S3 multipart upload s3_upload_id of key.  Returns false when S3
 * no longer has it (completed or aborted before), which is no error.
 */
static bool
abort_multipart_upload(const s3_config *cfg, const char *key, const char *s3_upload_id)
{
	sigv4_param param = {"uploadId", s3_upload_id};
	char	   *what = psprintf("AbortMultipartUpload of \"%s\"", key);
	s3_response resp;

	s3_request(cfg, "DELETE", key, &param, 1, NULL, 0, NULL, what, &resp);
	if (resp.status == 404)
		return false;
	if (resp.status != 204 && resp.status != 200)
		s3_fail(cfg, &resp, what);
	return true;
}

/*
 * codesight.complete_upload(upload_id, parts): finishes a multipart upload,
 * then checks with HEAD that the object exists with the announced size and
 * content type before marking the upload complete.  Any failure leaves it
 * pending.
 */
Datum
s3_complete_upload(PG_FUNCTION_ARGS)
{
	upload_row	u;
	char	   *upload_id;
	char	   *key;
	char	   *content_type;
	char	   *etag;
	char	   *completed_at;
	s3_config	cfg;
	s3_response resp;
	char	   *what;
	StringInfoData json;
	Oid			argtypes[2] = {UUIDOID, TEXTOID};
	Datum		values[2];

	initStringInfo(&json);
	SPI_connect();
	load_upload(fcinfo, &u);
	upload_id = u.upload_id;
	key = u.key;
	content_type = u.content_type;
	etag = u.etag;
	completed_at = u.completed_at;
	require_not_aborted(&u);

	/* A retry after a lost answer gets the same answer again. */
	if (strcmp(u.status, "complete") != 0)
	{
		s3_load_config(&cfg, u.bucket);
		if (u.s3_upload_id != NULL)
		{
			int64		nparts = upload_part_count(&u);
			char	   *body;
			sigv4_param param = {"uploadId", u.s3_upload_id};

			if (PG_ARGISNULL(1))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("upload %s is a multipart upload and needs its parts", upload_id),
						 errhint("Pass parts as [{\"partNumber\": 1, \"etag\": \"...\"}, ...].")));
			body = complete_body(PG_GETARG_JSONB_P(1), nparts);
			what = psprintf("CompleteMultipartUpload of \"%s\"", key);
			s3_request(&cfg, "POST", key, &param, 1, body, strlen(body),
					   "application/xml", what, &resp);

			/*
			 * S3 can fail after sending 200, with an <Error> body.  A 404
			 * NoSuchUpload may mean an earlier call completed it and then
			 * rolled back here, so the HEAD below decides.
			 */
			if (resp.status == 404 && resp.body.len > 0)
			{
				char	   *code = xml_element(resp.body.data, "Code");

				if (code == NULL || strcmp(code, "NoSuchUpload") != 0)
					s3_fail(&cfg, &resp, what);
			}
			else if (resp.status != 200 || strstr(resp.body.data, "<Error>") != NULL)
				s3_fail(&cfg, &resp, what);
		}
		else if (!PG_ARGISNULL(1))
		{
			Jsonb	   *parts = PG_GETARG_JSONB_P(1);

			if (!JB_ROOT_IS_ARRAY(parts) || JB_ROOT_IS_SCALAR(parts) || JB_ROOT_COUNT(parts) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("upload %s is a single PUT and takes no parts", upload_id)));
		}

		what = psprintf("HEAD of \"%s\"", key);
		s3_request(&cfg, "HEAD", key, NULL, 0, NULL, 0, NULL, what, &resp);
		if (resp.status == 404)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("uploaded object \"%s\" is missing in bucket \"%s\"", key, u.bucket),
					 errdetail("S3 answered 404 to HEAD, so upload %s stays pending.", upload_id),
					 errhint("PUT the file to the presigned URL before calling complete_upload.")));
		if (resp.status != 200)
			s3_fail(&cfg, &resp, what);
		if (resp.content_length != u.size_bytes)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("uploaded object \"%s\" has " INT64_FORMAT " bytes, expected " INT64_FORMAT,
							key, resp.content_length, u.size_bytes),
					 errdetail("Upload %s stays pending.", upload_id),
					 errhint("Upload the whole recording again.")));

		/*
		 * The upload URLs sign the type, but a store that does not check
		 * signed headers, or a PUT through another URL, could still have
		 * left an object of another type under the key.
		 */
		if (!same_content_type(resp.content_type, u.content_type))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("uploaded object \"%s\" has content type \"%s\", expected \"%s\"",
							key, resp.content_type ? resp.content_type : "", u.content_type),
					 errdetail("Upload %s stays pending: an object is accepted only with the type its upload declared.",
							   upload_id),
					 errhint("Upload the recording again with the headers presign_upload returned.")));
		etag = resp.etag;

		values[0] = u.upload_uuid;
		values[1] = etag ? CStringGetTextDatum(etag) : (Datum) 0;
		if (SPI_execute_with_args("UPDATE codesight.uploads SET status = 'complete',"
								  " etag = $2, completed_at = now() "
								  "WHERE upload_id = $1 RETURNING to_json(completed_at)::text",
								  2, argtypes, values, etag ? "  " : " n",
								  false, 0) != SPI_OK_UPDATE_RETURNING || SPI_processed != 1)
			elog(ERROR, "could not mark upload %s complete", upload_id);
		completed_at = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}

	appendStringInfoChar(&json, '{');
	json_field(&json, "uploadId", upload_id);
	json_field(&json, "sessionId", u.session_id);
	json_field(&json, "bucket", u.bucket);
	json_field(&json, "key", key);
	json_field(&json, "status", "complete");
	json_raw(&json, "sizeBytes", psprintf(INT64_FORMAT, u.size_bytes));
	json_field(&json, "etag", etag);
	json_field(&json, "contentType", content_type);
	json_raw(&json, "completedAt", completed_at ? completed_at : "null");
	appendStringInfoChar(&json, '}');
	SPI_finish();
	PG_RETURN_DATUM(json_result(&json));
}

/* Most part URLs one upload_part_urls call signs. */
#define S3_MAX_PART_URLS 100

/*
 * codesight.upload_part_urls(upload_id, part_numbers): fresh presigned URLs
 * for some parts of a pending upload (or the single PUT's URL), so a
 * recording resumed hours later never uses an expired URL.  Signing makes
 * no S3 request.
 */
Datum
s3_upload_part_urls(PG_FUNCTION_ARGS)
{
	upload_row	u;
	s3_config	cfg;
	int64		now = (int64) time(NULL);
	StringInfoData json;

	initStringInfo(&json);
	SPI_connect();
	load_upload(fcinfo, &u);
	require_not_aborted(&u);
	appendStringInfoChar(&json, '{');
	json_field(&json, "uploadId", u.upload_id);
	json_field(&json, "status", u.status);
	if (strcmp(u.status, "pending") == 0)
	{
		s3_load_config(&cfg, u.bucket);
		json_raw(&json, "expiresIn", psprintf("%d", s3_upload_expires_s));
		if (u.s3_upload_id == NULL)
			json_single_put(&json, &cfg, u.key, u.content_type, u.size_bytes, now);
		else
		{
			int64		nparts = upload_part_count(&u);
			ArrayType  *arr;
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			if (PG_ARGISNULL(1))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("part_numbers must not be null for multipart upload %s", u.upload_id)));
			arr = PG_GETARG_ARRAYTYPE_P(1);
			deconstruct_array(arr, INT4OID, sizeof(int32), true, TYPALIGN_INT, &elems, &nulls, &n);
			if (n < 1 || n > S3_MAX_PART_URLS)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("part_numbers must hold 1 to %d part numbers", S3_MAX_PART_URLS),
						 errdetail("It holds %d.", n)));
			json_raw(&json, "multipart", "true");
			json_raw(&json, "partSize", psprintf(INT64_FORMAT, u.part_size));
			appendStringInfoString(&json, ",\"parts\":[");
			for (int i = 0; i < n; i++)
			{
				int32		part = nulls[i] ? 0 : DatumGetInt32(elems[i]);

				if (part < 1 || part > nparts)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid part number %s", nulls[i] ? "null" : psprintf("%d", part)),
							 errdetail("Upload %s has parts 1 to " INT64_FORMAT ".", u.upload_id, nparts)));
				json_part_url(&json, &cfg, u.key, u.s3_upload_id, u.size_bytes, u.part_size,
							  part, now);
			}
			appendStringInfoChar(&json, ']');
		}
	}
	appendStringInfoChar(&json, '}');
	SPI_finish();
	PG_RETURN_DATUM(json_result(&json));
}

/*
 * codesight.upload_parts(upload_id): the parts S3 already holds for a
 * pending multipart upload (ListParts, every page), so a browser resumes
 * with exactly what is missing.  An upload S3 no longer knows is marked
 * aborted and reported so.
 */
Datum
s3_upload_parts(PG_FUNCTION_ARGS)
{
	upload_row	u;
	s3_config	cfg;
	StringInfoData json;
	const char *status;
	int			nlisted = 0;

	initStringInfo(&json);
	SPI_connect();
	load_upload(fcinfo, &u);
	status = u.status;
	appendStringInfoChar(&json, '{');
	json_field(&json, "uploadId", u.upload_id);
	json_raw(&json, "multipart", u.s3_upload_id ? "true" : "false");
	json_raw(&json, "sizeBytes", psprintf(INT64_FORMAT, u.size_bytes));
	if (u.s3_upload_id)
		json_raw(&json, "partSize", psprintf(INT64_FORMAT, u.part_size));
	appendStringInfoString(&json, ",\"parts\":[");
	if (strcmp(status, "pending") == 0 && u.s3_upload_id != NULL)
	{
		char	   *marker = NULL;
		char	   *what = psprintf("ListParts of \"%s\"", u.key);

		s3_load_config(&cfg, u.bucket);
		for (;;)
		{
			sigv4_param params[2] = {{"uploadId", u.s3_upload_id}, {"part-number-marker", marker}};
			s3_response resp;
			const char *pos;
			char	   *part;

			CHECK_FOR_INTERRUPTS();
			s3_request(&cfg, "GET", u.key, params, marker ? 2 : 1, NULL, 0, NULL, what, &resp);
			if (resp.status == 404)
			{
				/* Aborted on S3 (by abort_stale_uploads or a lifecycle rule). */
				mark_aborted(u.upload_uuid);
				status = "aborted";
				break;
			}
			if (resp.status != 200)
				s3_fail(&cfg, &resp, what);
			pos = resp.body.data;
			while ((part = xml_next_element(&pos, "Part")) != NULL)
			{
				char	   *num = xml_element(part, "PartNumber");
				char	   *etag = xml_element(part, "ETag");
				char	   *size = xml_element(part, "Size");

				if (num == NULL || etag == NULL || size == NULL)
					continue;
				appendStringInfoString(&json, nlisted++ > 0 ? ",{" : "{");
				json_raw(&json, "partNumber", psprintf("%d", atoi(num)));
				json_field(&json, "etag", etag);
				json_raw(&json, "sizeBytes", psprintf(INT64_FORMAT, (int64) strtoll(size, NULL, 10)));
				appendStringInfoChar(&json, '}');
			}
			if (!xml_truncated(resp.body.data) ||
				(marker = xml_element(resp.body.data, "NextPartNumberMarker")) == NULL)
				break;
		}
	}
	appendStringInfoChar(&json, ']');
	json_field(&json, "status", status);
	appendStringInfoChar(&json, '}');
	SPI_finish();
	PG_RETURN_DATUM(json_result(&json));
}

/*
 * codesight.abort_upload(upload_id): gives up a pending upload, e.g. when
 * a recorder starts over: its multipart upload is aborted on S3 (S3 frees
 * the parts) and the row becomes aborted.  A complete upload is left as it
 * is; aborting twice is no error.
 */
Datum
s3_abort_upload(PG_FUNCTION_ARGS)
{
	upload_row	u;
	s3_config	cfg;
	StringInfoData json;
	const char *status;

	initStringInfo(&json);
	SPI_connect();
	load_upload(fcinfo, &u);
	status = u.status;
	if (strcmp(status, "pending") == 0)
	{
		if (u.s3_upload_id != NULL)
		{
			s3_load_config(&cfg, u.bucket);
			abort_multipart_upload(&cfg, u.key, u.s3_upload_id);
		}
		mark_aborted(u.upload_uuid);
		status = "aborted";
	}
	appendStringInfoChar(&json, '{');
	json_field(&json, "uploadId", u.upload_id);
	json_field(&json, "status", status);
	appendStringInfoChar(&json, '}');
	SPI_finish();
	PG_RETURN_DATUM(json_result(&json));
}

/* Adds one row to abort_stale_uploads' result. */
static void
stale_row(ReturnSetInfo *rsinfo, const char *bucket, const char *key,
		  const char *s3_upload_id, const char *reason)
{
	Datum		values[4] = {
		CStringGetTextDatum(bucket), CStringGetTextDatum(key),
		CStringGetTextDatum(s3_upload_id), CStringGetTextDatum(reason),
	};
	bool		nulls[4] = {false, false, false, false};

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * codesight.abort_stale_uploads(lifetime): aborts on S3 the multipart
 * uploads nobody will finish, so their parts stop costing storage:
 *   - stale: pending uploads whose browser has not asked for part URLs or
 *     parts for longer than lifetime (the row becomes aborted; a browser
 *     that comes back starts a new upload);
 *   - orphan: multipart uploads S3 lists under sessions/ in the configured
 *     bucket, initiated longer than lifetime ago, that no pending upload
 *     row owns (a presign_upload that rolled back after S3 created the
 *     upload, a deleted session).
 * Returns what it aborted.  Meant to be called periodically (the server's
 * housekeeping); without a configured bucket it does nothing.
 */
Datum
s3_abort_stale_uploads(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[1] = {INTERVALOID};
	Datum		values[1];
	TimestampTz cutoff;
	s3_config	cfg;
	char	   *key_marker = NULL;
	char	   *id_marker = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lifetime must not be null")));
	InitMaterializedSRF(fcinfo, 0);
	if (s3_bucket == NULL || *s3_bucket == '\0')
		return (Datum) 0;
	values[0] = PG_GETARG_DATUM(0);
	cutoff = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
													 values[0]));

	SPI_connect();
	/* Stale: the rows first, locked so a browser resuming now waits for us. */
	if (SPI_execute_with_args("SELECT upload_id, bucket, object_key, s3_upload_id "
							  "FROM codesight.uploads WHERE status = 'pending' "
							  "AND s3_upload_id IS NOT NULL AND touched_at < now() - $1 "
							  "ORDER BY touched_at FOR UPDATE SKIP LOCKED",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list stale uploads");
	{
		SPITupleTable *stale = SPI_tuptable;
		uint64		nstale = SPI_processed;

		for (uint64 i = 0; i < nstale; i++)
		{
			HeapTuple	tup = stale->vals[i];
			TupleDesc	td = stale->tupdesc;
			bool		isnull;
			char	   *bucket = SPI_getvalue(tup, td, 2);
			char	   *key = SPI_getvalue(tup, td, 3);
			char	   *s3_upload_id = SPI_getvalue(tup, td, 4);

			CHECK_FOR_INTERRUPTS();
			s3_load_config(&cfg, bucket);
			abort_multipart_upload(&cfg, key, s3_upload_id);
			mark_aborted(SPI_getbinval(tup, td, 1, &isnull));
			stale_row(rsinfo, bucket, key, s3_upload_id, "stale");
		}
	}

	/* Orphans: what S3 lists that no pending row owns. */
	s3_load_config(&cfg, NULL);
	for (;;)
	{
		sigv4_param params[4] = {{"uploads", NULL}, {"prefix", "sessions/"},
		{"key-marker", key_marker}, {"upload-id-marker", id_marker}};
		char	   *what = "ListMultipartUploads of \"sessions/\"";
		s3_response resp;
		const char *pos;
		char	   *upload;

		CHECK_FOR_INTERRUPTS();
		s3_request(&cfg, "GET", NULL, params, key_marker ? 4 : 2, NULL, 0, NULL, what, &resp);
		if (resp.status != 200)
			s3_fail(&cfg, &resp, what);
		pos = resp.body.data;
		while ((upload = xml_next_element(&pos, "Upload")) != NULL)
		{
			char	   *key = xml_element(upload, "Key");
			char	   *s3_upload_id = xml_element(upload, "UploadId");
			char	   *initiated = xml_element(upload, "Initiated");
			Oid			idtype[1] = {TEXTOID};
			Datum		idval[1];

			if (key == NULL || s3_upload_id == NULL || initiated == NULL)
				continue;
			if (DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(initiated),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1))) >= cutoff)
				continue;
			idval[0] = CStringGetTextDatum(s3_upload_id);
			if (SPI_execute_with_args("SELECT 1 FROM codesight.uploads "
									  "WHERE s3_upload_id = $1 AND status = 'pending'",
									  1, idtype, idval, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not look up a multipart upload");
			if (SPI_processed > 0)
				continue;
			if (abort_multipart_upload(&cfg, key, s3_upload_id))
				stale_row(rsinfo, cfg.bucket, key, s3_upload_id, "orphan");
		}
		if (!xml_truncated(resp.body.data))
			break;
		key_marker = xml_element(resp.body.data, "NextKeyMarker");
		id_marker = xml_element(resp.body.data, "NextUploadIdMarker");
		if (key_marker == NULL || id_marker == NULL)
			break;
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * codesight.media_urls(session_id, expires_in): the session's uploads for
 * the player, with a presigned GET for each complete one.  S3 answers it
 * as an attachment of the declared type (response-content-disposition and
 * response-content-type are signed into the URL): a media element plays
 * it, a browser that navigates to it downloads it, and whatever bytes the
 * object holds are never rendered as a page on the bucket's origin.
 */
Datum
s3_media_urls(PG_FUNCTION_ARGS)
{
	char	   *session_id = required_text(fcinfo, 0, "session_id");
	int64		expires_in = PG_ARGISNULL(1) ? 3600 : PG_GETARG_INT32(1);
	int64		now = (int64) time(NULL);
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(session_id)};
	StringInfoData json;
	s3_config	cfg;

	check_expires_in(expires_in);
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"uploads\":[");

	SPI_connect();
	require_session(session_id);
	if (SPI_execute_with_args("SELECT upload_id, kind, bucket, object_key, content_type,"
							  " size_bytes, status, to_json(recording_started_at)::text "
							  "FROM codesight.uploads WHERE session_id = $1 "
							  "ORDER BY created_at, upload_id",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list uploads of session \"%s\"", session_id);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *status = SPI_getvalue(tup, td, 7);
		char	   *started = SPI_getvalue(tup, td, 8);
		char	   *url = NULL;

		/* Credentials are needed only once something can be played. */
		if (strcmp(status, "complete") == 0)
		{
			char	   *content_type = SPI_getvalue(tup, td, 5);
			sigv4_param params[2] = {
				{"response-content-disposition",
				psprintf("attachment; filename=\"%s-%s%s\"", session_id, SPI_getvalue(tup, td, 2),
						 extension_for(content_type))},
				{"response-content-type", content_type},
			};

			s3_load_config(&cfg, SPI_getvalue(tup, td, 3));
			url = s3_presign_url(&cfg, "GET", SPI_getvalue(tup, td, 4), expires_in,
								 now, params, lengthof(params), NULL, 0);
		}
		appendStringInfoString(&json, i > 0 ? ",{" : "{");
		json_field(&json, "uploadId", SPI_getvalue(tup, td, 1));
		json_field(&json, "kind", SPI_getvalue(tup, td, 2));
		json_field(&json, "contentType", SPI_getvalue(tup, td, 5));
		json_raw(&json, "sizeBytes", SPI_getvalue(tup, td, 6));
		json_field(&json, "status", status);
		json_field(&json, "url", url);
		json_raw(&json, "recordingStartedAt", started ? started : "null");
		appendStringInfoChar(&json, '}');
	}
	appendStringInfoString(&json, "]}");
	SPI_finish();
	PG_RETURN_DATUM(json_result(&json));
}

/* PUTs body to key and fails unless S3 stored it. */
static void
put_object(const s3_config *cfg, const char *key, const char *body,
		   const char *content_type)
{
	s3_response resp;
	char	   *what = psprintf("PUT of \"%s\"", key);

	s3_request(cfg, "PUT", key, NULL, 0, body, strlen(body), content_type, what, &resp);
	if (resp.status != 200)
		s3_fail(cfg, &resp, what);
}

/*
 * codesight.export_to_s3(session_id): writes the session's training data
 * and Playwright script under sessions/<id>/exports/ and returns the
 * s3:// URI of the training data.
 */
Datum
s3_export_to_s3(PG_FUNCTION_ARGS)
{
	char	   *session_id = required_text(fcinfo, 0, "session_id");
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(session_id)};
	char	   *training,
			   *script,
			   *training_key,
			   *uri;
	s3_config	cfg;

	s3_load_config(&cfg, NULL);
	training_key = psprintf("sessions/%s/exports/training-data.json", session_id);
	uri = psprintf("s3://%s/%s", cfg.bucket, training_key);

	SPI_connect();
	require_session(session_id);
	if (SPI_execute_with_args("SELECT codesight.training_data($1)::text,"
							  " codesight.export_playwright($1)",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not export session \"%s\"", session_id);
	training = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	script = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (training == NULL || script == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("session \"%s\" has nothing to export", session_id)));

	put_object(&cfg, training_key, training, "application/json");
	put_object(&cfg, psprintf("sessions/%s/exports/playwright.spec.js", session_id),
			   script, "text/javascript");
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(uri));
}

/*
 * The object s3_check reads.  It should not exist: S3 answering
 * "NoSuchKey" for it is the sign that the bucket is there and the
 * credentials are accepted, at the cost of one tiny request.
 */
#define S3_CHECK_KEY ".codesight/health-check"

/* s3_check's last result in this process, for its max_age_ms. */
static char *check_cached = NULL;	/* JSON text, in TopMemoryContext */
static char *check_cached_config = NULL;	/* the settings it was made with */
static TimestampTz check_cached_at = 0;

/* s3_check's JSON document. */
static char *
check_result(const s3_config *cfg, const char *status, const char *message,
			 int64 latency_ms, long http_status, const char *code)
{
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	json_field(&out, "status", status);
	json_field(&out, "message", message);
	json_field(&out, "endpoint", *cfg->endpoint ? cfg->endpoint : "AWS");
	json_field(&out, "bucket", cfg->bucket && *cfg->bucket ? cfg->bucket : NULL);
	json_raw(&out, "latencyMs", latency_ms >= 0 ? psprintf(INT64_FORMAT, latency_ms) : "null");
	json_raw(&out, "httpStatus", http_status > 0 ? psprintf("%ld", http_status) : "null");
	json_field(&out, "code", code);
	appendStringInfoChar(&out, '}');
	return out.data;
}

/*
 * Reads S3_CHECK_KEY within timeout_ms and says what the answer means.
 * Signing problems and network failures become a "down" status, not an
 * error: health() reports them beside the other checks.
 */
static char *
check_probe(const s3_config *cfg, int timeout_ms)
{
	sigv4_request r = s3_sigv4_request(cfg, "GET", S3_CHECK_KEY, S3_INTERNAL_EXPIRES, (int64) time(NULL));
	char	   *signed_url = NULL;
	char	   *url;
	sigv4_status st = sigv4_presign(&r, &signed_url);
	char		errbuf[CURL_ERROR_SIZE];
	s3_response resp;
	TimestampTz t0;
	int64		ms;
	CURLcode	rc;
	char	   *code;
	char	   *message;
	char	   *what;

	if (st != SIGV4_OK)
		return check_result(cfg, "down",
							psprintf("cannot sign S3 requests with these settings: the %s",
									 sigv4_strerror(st)), -1, 0, NULL);
	url = pstrdup(signed_url);
	free(signed_url);

	t0 = GetCurrentTimestamp();
	rc = s3_perform("GET", url, NULL, 0, NULL, Min(timeout_ms, s3_connect_timeout_ms),
					timeout_ms, &resp, errbuf);
	ms = (GetCurrentTimestamp() - t0) / 1000;
	CHECK_FOR_INTERRUPTS();
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("the S3 check was interrupted")));
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return check_result(cfg, "down", psprintf("no answer within %d ms (%s)", timeout_ms, errbuf),
							ms, 0, NULL);
	if (rc != CURLE_OK)
		return check_result(cfg, "down", psprintf("unreachable: %s", errbuf), ms, 0, NULL);

	code = xml_element(resp.body.data, "Code");
	message = xml_element(resp.body.data, "Message");
	what = code ? psprintf("%s: %s", code, message ? message : "no message")
		: psprintf("HTTP %ld", resp.status);
	if (resp.status == 200 || (resp.status == 404 && code && strcmp(code, "NoSuchKey") == 0))
		return check_result(cfg, "ok",
							psprintf("bucket \"%s\" answers in " INT64_FORMAT " ms", cfg->bucket, ms),
							ms, resp.status, code);
	if (resp.status == 404 && code && strcmp(code, "NoSuchBucket") == 0)
		return check_result(cfg, "down", psprintf("bucket \"%s\" does not exist", cfg->bucket),
							ms, resp.status, code);
	if (resp.status == 403 && code && strcmp(code, "AccessDenied") == 0)
		return check_result(cfg, "warn",
							psprintf("bucket \"%s\" answers but refuses to be read (%s); "
									 "if uploads fail, check the bucket policy", cfg->bucket, what),
							ms, resp.status, code);
	if (resp.status == 403)
		return check_result(cfg, "down", psprintf("S3 refuses the credentials (%s)", what),
							ms, resp.status, code);
	if (resp.status >= 500)
		return check_result(cfg, "down", psprintf("S3 fails (%s)", what), ms, resp.status, code);
	return check_result(cfg, "warn", psprintf("unexpected answer from S3 (%s)", what),
						ms, resp.status, code);
}

/*
 * codesight.s3_check(timeout_ms, max_age_ms): whether S3 answers, as
 * {status: ok|warn|down|not_configured, message, endpoint, bucket,
 * latencyMs, httpStatus, code}.  A result of this process younger than
 * max_age_ms, made with the same settings, is answered again without a
 * request.
 */
PG_FUNCTION_INFO_V1(s3_check);
Datum
s3_check(PG_FUNCTION_ARGS)
{
	int			timeout_ms = PG_ARGISNULL(0) ? 2000 : PG_GETARG_INT32(0);
	int			max_age_ms = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	TimestampTz now = GetCurrentTimestamp();
	s3_config	cfg;
	s3_config_status cs;
	char	   *config;
	char	   *result;

	if (timeout_ms < 100 || timeout_ms > 60000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_ms must be between 100 and 60000"),
				 errdetail("The value given was %d.", timeout_ms)));
	if (max_age_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_age_ms must not be negative"),
				 errdetail("The value given was %d.", max_age_ms)));

	cs = s3_resolve_config(&cfg, NULL);
	config = psprintf("%s|%s|%s|%d|%s", cfg.endpoint, cfg.region, cfg.bucket ? cfg.bucket : "",
					  (int) cfg.path_style, cfg.access_key_id ? cfg.access_key_id : "");
	if (max_age_ms > 0 && check_cached != NULL && strcmp(config, check_cached_config) == 0 &&
		now - check_cached_at < (int64) max_age_ms * 1000)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(check_cached)));

	if (cs == S3_CONFIG_NO_BUCKET)
		result = check_result(&cfg, "not_configured",
							  "not configured (set codesight.s3_bucket): recordings cannot be uploaded",
							  -1, 0, NULL);
	else if (cs == S3_CONFIG_NO_CREDENTIALS)
		result = check_result(&cfg, "not_configured",
							  "no credentials (set codesight.s3_access_key_id and codesight.s3_secret_access_key, "
							  "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY): recordings cannot be uploaded",
							  -1, 0, NULL);
	else
		result = check_probe(&cfg, timeout_ms);

	if (check_cached != NULL)
	{
		pfree(check_cached);
		pfree(check_cached_config);
	}
	check_cached = MemoryContextStrdup(TopMemoryContext, result);
	check_cached_config = MemoryContextStrdup(TopMemoryContext, config);
	check_cached_at = now;
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}
