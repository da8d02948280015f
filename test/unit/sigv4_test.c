/*
 * sigv4_test.c
 *	  Standalone tests of src/sigv4.c: AWS's published vector, vectors
 *	  computed independently with npm aws4 (signed headers among them),
 *	  input validation, and seeded random-input loops.  Built by
 *	  test/suites/sigv4-unit.sh with ASan and UBSan; with -DSIGV4_LIBFUZZER
 *	  (clang -fsanitize=fuzzer) the same invariants become a libFuzzer
 *	  target.
 */
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	failures = 0;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			failures++; \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T20130524 INT64_C(1369353600)	/* 2013-05-24T00:00:00Z */

/* A request with the AWS example's values, changed field by field below. */
static sigv4_request
example(void)
{
	sigv4_request r = {
		.method = "GET",
		.endpoint = "https://s3.amazonaws.com",
		.region = "us-east-1",
		.bucket = "examplebucket",
		.key = "test.txt",
		.path_style = false,
		.access_key_id = AKID,
		.secret_access_key = SECRET,
		.session_token = NULL,
		.signed_at = T20130524,
		.expires_in = 86400,
	};

	return r;
}

/* Presigns r and compares the whole URL with want. */
static void
expect_url(const char *name, const sigv4_request *r, const char *want)
{
	char	   *url = NULL;
	sigv4_status st = sigv4_presign(r, &url);

	CHECK(st == SIGV4_OK, "%s: status %s", name, sigv4_strerror(st));
	if (st == SIGV4_OK)
		CHECK(strcmp(url, want) == 0, "%s:\n got  %s\n want %s", name, url, want);
	free(url);
}

/* Presigns r and expects the given status, and no URL unless SIGV4_OK. */
static void
expect_error(const char *name, const sigv4_request *r, sigv4_status want)
{
	char	   *url = (char *) 1;
	sigv4_status st = sigv4_presign(r, &url);

	CHECK(st == want, "%s: got \"%s\", want \"%s\"", name, sigv4_strerror(st),
		  sigv4_strerror(want));
	if (st == SIGV4_OK)
		free(url);
	else
		CHECK(url == NULL, "%s: url not NULL on error", name);
}

static void
test_signing_key(void)
{
	unsigned char k[32];
	char		hex[65];

	CHECK(sigv4_signing_key(SECRET, "20130524", "us-east-1", "s3", k) == SIGV4_OK,
		  "signing key failed");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", k[i]);
	CHECK(strcmp(hex, "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378") == 0,
		  "signing key %s", hex);
}

/* Expected signatures below were computed with npm aws4 1.13. */
static void
test_vectors(void)
{
	sigv4_request r = example();
	sigv4_param part[] = {{"partNumber", "2"}, {"uploadId", "VXBsb2FkIElE+/="}};
	sigv4_param uploads[] = {{"uploads", NULL}};
	sigv4_param listing[] = {{"uploads", NULL}, {"prefix", "sessions/"}};
	sigv4_param attachment[] = {{"response-content-type", "video/webm;codecs=vp9,opus"},
	{"response-content-disposition", "attachment; filename=\"cs_1-video.webm\""}};
	sigv4_header upload[] = {{"Content-Type", "video/webm;codecs=vp9,opus"},
	{"Content-Length", "262147"}};
	sigv4_header spaced[] = {{"X-Amz-Meta-Kind", "audio"},
	{"content-type", "  audio/ogg;   codecs=opus  "}};
	sigv4_header part_length[] = {{"Content-Length", "5242880"}};

	expect_url("aws example GET", &r,
			   "https://examplebucket.s3.amazonaws.com/test.txt"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");

	r = example();
	r.method = "PUT";
	r.key = "test$file.text";
	expect_url("PUT with $", &r,
			   "https://examplebucket.s3.amazonaws.com/test%24file.text"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=546fb17077ae86f2d0c853f2e805c9c62a986a64985d59a94590a87165d775e7");

	r = example();
	r.endpoint = "http://127.0.0.1:4569";
	r.path_style = true;
	r.bucket = "my-bucket";
	r.key = "sessions/cs_1/video.webm";
	r.access_key_id = "S3RVER";
	r.secret_access_key = "S3RVER";
	r.signed_at = INT64_C(1704164645);	/* 2024-01-02T03:04:05Z */
	r.expires_in = 3600;
	expect_url("path style with port", &r,
			   "http://127.0.0.1:4569/my-bucket/sessions/cs_1/video.webm"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=S3RVER%2F20240102%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20240102T030405Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=c7c7841e6b3952c756581664b07451dfd17cf8ee83f318d8873e7d4cd50ab7e6");

	r = example();
	r.endpoint = "";			/* AWS's regional endpoint */
	r.region = "eu-west-1";
	r.session_token = "FQoGZXIvYXdzE+token/with=chars";
	r.signed_at = INT64_C(1709251199);	/* 2024-02-29T23:59:59Z */
	r.expires_in = 900;
	expect_url("session token, default endpoint", &r,
			   "https://examplebucket.s3.eu-west-1.amazonaws.com/test.txt"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240229%2Feu-west-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20240229T235959Z&X-Amz-Expires=900"
			   "&X-Amz-Security-Token=FQoGZXIvYXdzE%2Btoken%2Fwith%3Dchars"
			   "&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=5c40ed4856847b3586821230012e591a729641f1908ad5a5793db29bebf0b2d0");

	r = example();
	r.key = "photos/a b+c=d&e/\xc3\xbcn\xc3\xaf \xe2\x82\xac(1)*!~'.txt";
	r.expires_in = 60;
	expect_url("special characters", &r,
			   "https://examplebucket.s3.amazonaws.com/photos/a%20b%2Bc%3Dd%26e/"
			   "%C3%BCn%C3%AF%20%E2%82%AC%281%29%2A%21~%27.txt"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=bb1c48ed10dc6208d061553a05162b8a0953b5a95bf5b42f73e6fc6cbc3f92c0");

	r = example();
	r.method = "PUT";
	r.endpoint = "http://127.0.0.1:4569/";
	r.path_style = true;
	r.bucket = "b";
	r.key = "k";
	r.expires_in = 3600;
	r.params = part;
	r.nparams = 2;
	expect_url("part upload", &r,
			   "http://127.0.0.1:4569/b/k"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
			   "&partNumber=2&uploadId=VXBsb2FkIElE%2B%2F%3D"
			   "&X-Amz-Signature=3afa31c0ceecc78052f385c306104180b7da6a957d191a7a1b32b1157cd5d3a3");

	/* A NULL key addresses the bucket itself (ListMultipartUploads). */
	r = example();
	r.endpoint = "http://127.0.0.1:4569";
	r.path_style = true;
	r.bucket = "my-bucket";
	r.key = NULL;
	r.access_key_id = "S3RVER";
	r.secret_access_key = "S3RVER";
	r.signed_at = INT64_C(1704164645);	/* 2024-01-02T03:04:05Z */
	r.expires_in = 3600;
	r.params = uploads;
	r.nparams = 1;
	expect_url("bucket, path style", &r,
			   "http://127.0.0.1:4569/my-bucket"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=S3RVER%2F20240102%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20240102T030405Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
			   "&uploads="
			   "&X-Amz-Signature=6ab99c5c5554eeb8f8e1a853ba4e9e07d2aa8f8f7e08d65bc76b728f1cc39b96");

	r = example();
	r.key = NULL;
	r.params = listing;
	r.nparams = 2;
	expect_url("bucket, virtual host", &r,
			   "https://examplebucket.s3.amazonaws.com/"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
			   "&prefix=sessions%2F&uploads="
			   "&X-Amz-Signature=b7db3d741d59c7d7f3b1f9238e126c1c607bd327717d7510e9244f4a5fd9bc26");

	/* A browser upload: its Content-Type and Content-Length are signed. */
	r = example();
	r.method = "PUT";
	r.endpoint = "http://127.0.0.1:4569";
	r.path_style = true;
	r.bucket = "my-bucket";
	r.key = "sessions/cs_1/video/u.webm";
	r.access_key_id = "S3RVER";
	r.secret_access_key = "S3RVER";
	r.signed_at = INT64_C(1704164645);	/* 2024-01-02T03:04:05Z */
	r.expires_in = 3600;
	r.headers = upload;
	r.nheaders = 2;
	expect_url("signed content type and length", &r,
			   "http://127.0.0.1:4569/my-bucket/sessions/cs_1/video/u.webm"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=S3RVER%2F20240102%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20240102T030405Z&X-Amz-Expires=3600"
			   "&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"
			   "&X-Amz-Signature=34351e1d33521591c38e37e1a794aab683f06602a370a4be29f9d5676f210879");

	/*
	 * Names in any case sort after lower-casing, around host; spaces around
	 * and inside a value do not count.
	 */
	r = example();
	r.method = "PUT";
	r.endpoint = "";
	r.region = "eu-west-1";
	r.session_token = "FQoGZXIvYXdzE+token/with=chars";
	r.signed_at = INT64_C(1709251199);	/* 2024-02-29T23:59:59Z */
	r.expires_in = 900;
	r.headers = spaced;
	r.nheaders = 2;
	expect_url("header after host, spaces in a value", &r,
			   "https://examplebucket.s3.eu-west-1.amazonaws.com/test.txt"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240229%2Feu-west-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20240229T235959Z&X-Amz-Expires=900"
			   "&X-Amz-Security-Token=FQoGZXIvYXdzE%2Btoken%2Fwith%3Dchars"
			   "&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-kind"
			   "&X-Amz-Signature=baba57f74d2def363e6734d43238d3e2b1ccebba0879754e8a7911cb76013d4e");

	/* A part of a multipart upload signs its length. */
	r = example();
	r.method = "PUT";
	r.endpoint = "http://127.0.0.1:4569/";
	r.path_style = true;
	r.bucket = "b";
	r.key = "k";
	r.expires_in = 3600;
	r.params = part;
	r.nparams = 2;
	r.headers = part_length;
	r.nheaders = 1;
	expect_url("part with its length", &r,
			   "http://127.0.0.1:4569/b/k"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-length%3Bhost"
			   "&partNumber=2&uploadId=VXBsb2FkIElE%2B%2F%3D"
			   "&X-Amz-Signature=b57d1854366b3ee9096986e1e81d9d6770ac9e3180b0c60d4a97b3be80a45f51");

	/* A download as an attachment of the declared type. */
	r = example();
	r.key = "sessions/cs_1/video/u.webm";
	r.params = attachment;
	r.nparams = 2;
	expect_url("response-content-disposition and -type", &r,
			   "https://examplebucket.s3.amazonaws.com/sessions/cs_1/video/u.webm"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
			   "&response-content-disposition=attachment%3B%20filename%3D%22cs_1-video.webm%22"
			   "&response-content-type=video%2Fwebm%3Bcodecs%3Dvp9%2Copus"
			   "&X-Amz-Signature=3100c02b9e6bbfa000ecc1a5d2f652623eea909f6328e11d5662368ad7bd8c2c");

	r = example();
	r.method = "DELETE";
	r.endpoint = "HTTPS://S3.ap-southeast-2.amazonaws.com:443";
	r.region = "ap-southeast-2";
	r.path_style = true;
	r.bucket = "bucket.with.dots";
	r.key = "a//b/";
	r.signed_at = INT64_C(4102444799);	/* 2099-12-31T23:59:59Z */
	r.expires_in = SIGV4_MAX_EXPIRES;
	expect_url("empty segments, default port, upper-case host", &r,
			   "https://s3.ap-southeast-2.amazonaws.com/bucket.with.dots/a//b/"
			   "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20991231%2Fap-southeast-2%2Fs3%2Faws4_request"
			   "&X-Amz-Date=20991231T235959Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host"
			   "&X-Amz-Signature=9dbd3725a15161fa1241c40b4d1eb2c0b6ec2e283e5ee3a34ee7e58b56f17d31");
}

static void
test_errors(void)
{
	sigv4_request r;
	sigv4_param reserved = {"X-Amz-Signature", "x"};
	sigv4_param empty = {"", "x"};
	static const sigv4_header bad_headers[] = {
		{"Host", "evil.example"}, {"HOST", "x"}, {"", "x"}, {NULL, "x"},
		{"Content Type", "x"}, {"Content-Type:", "x"}, {"Content_Type", "x"},
		{"Content-Type", NULL}, {"Content-Type", "text/html\r\nX-Evil: 1"},
		{"Content-Type", "video/webm\tx"}, {"Content-Type", "caf\xc3\xa9"},
		{"Content-Type", "\x7f"},
	};
	sigv4_header twice[] = {{"Content-Type", "a/b"}, {"content-type", "a/b"}};
	sigv4_header many[SIGV4_MAX_HEADERS + 1];
	char		many_names[SIGV4_MAX_HEADERS + 1][24];

	for (int i = 0; i <= SIGV4_MAX_HEADERS; i++)
	{
		snprintf(many_names[i], sizeof(many_names[i]), "x-amz-meta-%d", i);
		many[i].name = many_names[i];
		many[i].value = "v";
	}
	static const char *const bad_endpoints[] = {
		"ftp://s3.example.com", "s3.example.com", "http://", "http://host:0",
		"http://host:65536", "http://host:12ab", "http://host/prefix",
		"http://user@host", "http://[::1", "http://host?x=1",
	};

	r = example(); r.method = "get";
	expect_error("lower-case method", &r, SIGV4_ERR_METHOD);
	r = example(); r.method = "PATCH";
	expect_error("PATCH", &r, SIGV4_ERR_METHOD);
	r = example(); r.expires_in = 0;
	expect_error("expires 0", &r, SIGV4_ERR_EXPIRES);
	r = example(); r.expires_in = SIGV4_MAX_EXPIRES + 1;
	expect_error("expires > 7 days", &r, SIGV4_ERR_EXPIRES);
	r = example(); r.region = "US-EAST-1";
	expect_error("upper-case region", &r, SIGV4_ERR_REGION);
	r = example(); r.region = "";
	expect_error("empty region", &r, SIGV4_ERR_REGION);
	r = example(); r.bucket = "Example_Bucket";
	expect_error("virtual host needs a DNS-safe bucket", &r, SIGV4_ERR_BUCKET);
	r.path_style = true;
	expect_error("path style takes any bucket", &r, SIGV4_OK);
	r = example(); r.bucket = "a/b"; r.path_style = true;
	expect_error("slash in bucket", &r, SIGV4_ERR_BUCKET);
	r = example(); r.key = "";
	expect_error("empty key", &r, SIGV4_ERR_KEY);
	r = example(); r.secret_access_key = "";
	expect_error("empty secret", &r, SIGV4_ERR_CREDENTIALS);
	r = example(); r.access_key_id = NULL;
	expect_error("no key id", &r, SIGV4_ERR_CREDENTIALS);
	r = example(); r.signed_at = -1;
	expect_error("before 1970", &r, SIGV4_ERR_TIME);
	r = example(); r.signed_at = INT64_C(253402300800);
	expect_error("after 9999", &r, SIGV4_ERR_TIME);
	r = example(); r.params = &reserved; r.nparams = 1;
	expect_error("reserved parameter", &r, SIGV4_ERR_PARAM);
	r = example(); r.params = &empty; r.nparams = 1;
	expect_error("empty parameter name", &r, SIGV4_ERR_PARAM);
	for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++)
	{
		r = example();
		r.headers = &bad_headers[i];
		r.nheaders = 1;
		expect_error(bad_headers[i].name ? bad_headers[i].name : "(null)", &r, SIGV4_ERR_HEADER);
	}
	r = example(); r.headers = twice; r.nheaders = 2;
	expect_error("a header twice", &r, SIGV4_ERR_HEADER);
	r = example(); r.headers = NULL; r.nheaders = 1;
	expect_error("headers missing", &r, SIGV4_ERR_HEADER);
	r = example(); r.headers = many; r.nheaders = SIGV4_MAX_HEADERS + 1;
	expect_error("too many headers", &r, SIGV4_ERR_HEADER);
	r.nheaders = SIGV4_MAX_HEADERS;
	expect_error("as many headers as allowed", &r, SIGV4_OK);
	for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++)
	{
		r = example();
		r.endpoint = bad_endpoints[i];
		r.path_style = true;
		expect_error(bad_endpoints[i], &r, SIGV4_ERR_ENDPOINT);
	}
	r = example(); r.endpoint = "http://[::1]:9000"; r.path_style = true;
	expect_error("IPv6 endpoint", &r, SIGV4_OK);
}

/*
 * Invariants that hold for any input: no crash or sanitizer report, an
 * error leaves no URL, and a URL starts with the scheme and ends with a
 * 64-hex signature after which nothing follows.
 */
static void
check_invariants(const sigv4_request *r)
{
	char	   *url = (char *) 1;
	sigv4_status st = sigv4_presign(r, &url);

	if (st != SIGV4_OK)
	{
		CHECK(url == NULL, "url set on error %d", st);
		return;
	}
	{
		const char *sig = strstr(url, "&X-Amz-Signature=");
		size_t		n = sig ? strspn(sig + 17, "0123456789abcdef") : 0;

		const char *sh = strstr(url, "X-Amz-SignedHeaders=");

		CHECK(strncmp(url, "http", 4) == 0, "bad scheme in %s", url);
		CHECK(sh != NULL, "no signed headers in %s", url);
		if (sh != NULL)
		{
			/* Lower-case names in ascending order, host among them. */
			char		names[2048];
			char	   *save = NULL;
			const char *prev = "";
			bool		host = false;

			snprintf(names, sizeof(names), "%.*s", (int) strcspn(sh + 20, "&"), sh + 20);
			for (char *n = strtok_r(names, "%", &save); n; n = strtok_r(NULL, "%", &save))
			{
				if (n != names)
					n += 2;		/* the "3B" of an encoded ";" */
				CHECK(strcmp(prev, n) < 0, "signed headers out of order in %s", url);
				CHECK(strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(n),
					  "signed header not lower case in %s", url);
				host |= strcmp(n, "host") == 0;
				prev = n;
			}
			CHECK(host, "host not signed in %s", url);
		}
		CHECK(sig != NULL && n == 64 && sig[17 + 64] == '\0', "bad signature in %s", url);
		/* Nothing a client could split on appears unencoded. */
		CHECK(strpbrk(url, " \"<>#\\^`{|}\n\r\t") == NULL, "unencoded byte in %s", url);
	}
	free(url);
}

/* Carves a NUL-terminated string of up to max bytes out of data. */
static const char *
take(const unsigned char **data, size_t *size, char *out, size_t max)
{
	size_t		n = 0;

	if (*size > 0)
	{
		n = **data % (max + 1);
		(*data)++;
		(*size)--;
		if (n > *size)
			n = *size;
		memcpy(out, *data, n);
		*data += n;
		*size -= n;
	}
	out[n] = '\0';
	return out;
}

/* Turns arbitrary bytes into a request and checks the invariants. */
static void
fuzz_one(const unsigned char *data, size_t size)
{
	static const char *const methods[] = {"GET", "PUT", "HEAD", "DELETE", "POST", "BAD"};
	static const char *const known_headers[] = {"Content-Type", "content-length", "Host",
	"X-Amz-Meta-Kind", "content-md5", "x-amz-acl"};
	char		method[8],
				endpoint[64],
				region[32],
				bucket[80],
				key[300],
				token[64],
				pname[32],
				pvalue[64];
	char		hname[2][24],
				hvalue[2][48];
	unsigned char flags = size > 0 ? data[0] : 0;
	unsigned char flags2;
	sigv4_param param;
	sigv4_header headers[2];
	sigv4_request r = example();

	if (size > 0)
		data++, size--;
	flags2 = size > 0 ? data[0] : 0;
	if (size > 0)
		data++, size--;
	strcpy(method, methods[flags % 6]);
	r.method = method;
	r.path_style = flags & 8;
	r.endpoint = take(&data, &size, endpoint, sizeof(endpoint) - 1);
	r.region = (flags & 16) ? take(&data, &size, region, sizeof(region) - 1) : "us-east-1";
	r.bucket = (flags & 32) ? take(&data, &size, bucket, sizeof(bucket) - 1) : "examplebucket";
	r.key = take(&data, &size, key, sizeof(key) - 1);
	r.session_token = (flags & 64) ? take(&data, &size, token, sizeof(token) - 1) : NULL;
	if (flags & 128)
	{
		param.name = take(&data, &size, pname, sizeof(pname) - 1);
		param.value = take(&data, &size, pvalue, sizeof(pvalue) - 1);
		r.params = &param;
		r.nparams = 1;
	}
	r.nheaders = flags2 % 3;
	for (size_t i = 0; i < r.nheaders; i++)
	{
		/* Mostly names S3 knows, so that values get past validation. */
		if ((flags2 >> (2 + i)) & 1 && size > 0)
		{
			headers[i].name = known_headers[data[0] % 6];
			data++, size--;
		}
		else
			headers[i].name = take(&data, &size, hname[i], sizeof(hname[i]) - 1);
		headers[i].value = take(&data, &size, hvalue[i], sizeof(hvalue[i]) - 1);
	}
	r.headers = headers;
	if (size >= 8)
	{
		int64_t		t = 0;

		memcpy(&t, data, 8);
		r.signed_at = t % INT64_C(300000000000);
		r.expires_in = (t >> 20) % 700000;
	}
	check_invariants(&r);
}

#ifdef SIGV4_LIBFUZZER
int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	fuzz_one(data, size);
	if (failures)
		abort();
	return 0;
}
#else

/* Seeded xorshift, so that a failing iteration can be replayed. */
static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_random_inputs(uint64_t seed, long iterations)
{
	unsigned char data[600];
	uint64_t	s = seed;

	for (long i = 0; i < iterations && failures == 0; i++)
	{
		size_t		n = next_random(&s) % sizeof(data);

		for (size_t j = 0; j < n; j++)
		{
			uint64_t	v = next_random(&s);

			/* Mostly printable ASCII, sometimes any byte, so inputs get past validation. */
			data[j] = (v & 7) ? (unsigned char) (32 + (v >> 8) % 95) : (unsigned char) (v >> 8);
		}
		fuzz_one(data, n);
		if (failures)
			fprintf(stderr, "random input %ld (seed %llu) failed\n", i,
					(unsigned long long) seed);
	}
}

/*
 * Signed headers on an otherwise valid request: the invariants hold, and
 * what S3 ignores does not change the URL (the case of a name, spaces
 * around a value or repeated inside it) while any other change of a value
 * does.
 */
static void
test_random_headers(uint64_t seed, long iterations)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
	uint64_t	s = seed;

	for (long i = 0; i < iterations && failures == 0; i++)
	{
		char		names[3][20],
					upper[3][20],
					values[3][40],
					spaced[3][100];
		sigv4_header h[3],
					h2[3];
		sigv4_request r = example();
		char	   *a = NULL,
				   *b = NULL;
		size_t		n = next_random(&s) % 4;

		for (size_t k = 0; k < n; k++)
		{
			size_t		nl = 1 + next_random(&s) % 18,
						vl = next_random(&s) % 39,
						o = 0;

			for (size_t j = 0; j < nl; j++)
				names[k][j] = name_chars[next_random(&s) % (sizeof(name_chars) - 1)];
			names[k][nl] = '\0';
			for (size_t j = 0; j <= nl; j++)
				upper[k][j] = (names[k][j] >= 'a' && names[k][j] <= 'z') ? names[k][j] - 32 : names[k][j];
			/* Printable ASCII with many spaces; now and then a byte outside it. */
			for (size_t j = 0; j < vl; j++)
			{
				uint64_t	v = next_random(&s);

				values[k][j] = (v & 3) == 0 ? ' ' : (v & 60) ? (char) (33 + (v >> 8) % 94) : (char) (v >> 8);
			}
			values[k][vl] = '\0';
			/* The same value with spaces added where S3 ignores them. */
			spaced[k][o++] = ' ';
			for (size_t j = 0; j < vl; j++)
			{
				spaced[k][o++] = values[k][j];
				if (values[k][j] == ' ')
					spaced[k][o++] = ' ';
			}
			spaced[k][o++] = ' ';
			spaced[k][o] = '\0';
			h[k].name = names[k];
			h[k].value = values[k];
			/* Listed in the other order, names in upper case. */
			h2[n - 1 - k].name = upper[k];
			h2[n - 1 - k].value = spaced[k];
		}
		r.headers = h;
		r.nheaders = n;
		check_invariants(&r);
		if (sigv4_presign(&r, &a) == SIGV4_OK)
		{
			r.headers = h2;
			CHECK(sigv4_presign(&r, &b) == SIGV4_OK && strcmp(a, b) == 0,
				  "header case, order or spaces changed the URL:\n %s\n %s", a, b ? b : "(error)");
			free(b);
			b = NULL;
			if (n > 0 && strlen(values[0]) < sizeof(values[0]) - 1)
			{
				strcat(values[0], "x");
				r.headers = h;
				CHECK(sigv4_presign(&r, &b) == SIGV4_OK && strcmp(a, b) != 0,
					  "a changed value kept the URL %s", a);
			}
		}
		free(a);
		free(b);
		if (failures)
			fprintf(stderr, "random headers %ld (seed %llu) failed\n", i,
					(unsigned long long) seed);
	}
}

int
main(int argc, char **argv)
{
	long		iterations = argc > 1 ? atol(argv[1]) : 20000;
	uint64_t	seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 20130524;

	test_signing_key();
	test_vectors();
	test_errors();
	test_random_inputs(seed, iterations);
	test_random_headers(seed, iterations);
	if (failures)
	{
		fprintf(stderr, "sigv4_test: %d failure(s)\n", failures);
		return 1;
	}
	printf("sigv4_test: ok (vectors, errors, %ld random inputs, %ld random header sets)\n",
		   iterations, iterations);
	return 0;
}
#endif
