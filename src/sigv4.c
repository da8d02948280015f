/*
 * sigv4.c
 *	  AWS Signature Version 4 query-string presigning for S3.
 *
 * Follows "Authenticating Requests: Using Query Parameters (AWS Signature
 * Version 4)" of the S3 API reference.  S3 differs from other services in
 * that the canonical URI is the object key encoded exactly once (no path
 * normalisation, "/" kept), which is what uri_encode() below does.
 *
 * No PostgreSQL here (see sigv4.h); memory comes from malloc and every
 * failure is a status code.
 */
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* A growable NUL-terminated string; a failed allocation sets oom. */
typedef struct buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		oom;
} buf;

/*
 * A query parameter after encoding, or a signed header in canonical form
 * (lower-case name, value as signed), for sorting.
 */
typedef struct qpair
{
	char	   *name;
	char	   *value;
} qpair;

/* Appends n bytes to b, growing it geometrically. */
static void
buf_append(buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 256;
		char	   *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
		{
			b->oom = true;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends a NUL-terminated string. */
static void
buf_puts(buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/*
 * Appends s percent-encoded as AWS requires: every byte except the RFC 3986
 * unreserved set becomes %XX with upper-case hex; "/" is kept only when
 * keep_slash (object keys in the path), never in query parameters.
 */
static void
uri_encode(buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		unsigned char c = *p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
			c == '~' || (keep_slash && c == '/'))
			buf_append(b, (const char *) p, 1);
		else
		{
			char		esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			buf_append(b, esc, 3);
		}
	}
}

/* Returns a malloc'd, encoded copy of s, or NULL when out of memory. */
static char *
uri_encoded(const char *s)
{
	buf			b = {0};

	uri_encode(&b, s, false);
	if (b.oom || b.data == NULL)
	{
		free(b.data);
		return b.oom ? NULL : strdup("");
	}
	return b.data;
}

/* Lower-case hex of n bytes into out, which has room for 2n + 1. */
static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* HMAC-SHA256 of data under key into out (32 bytes). */
static bool
hmac_sha256(const unsigned char *key, size_t keylen,
			const char *data, size_t datalen, unsigned char out[32])
{
	unsigned int outlen = 0;

	return HMAC(EVP_sha256(), key, (int) keylen,
				(const unsigned char *) data, datalen, out, &outlen) != NULL &&
		outlen == 32;
}

/* Lower-case hex SHA-256 of data into out (65 bytes). */
static bool
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return false;
	hex_encode(md, 32, out);
	return true;
}

sigv4_status
sigv4_signing_key(const char *secret, const char *date8, const char *region,
				  const char *service, unsigned char out[32])
{
	/* kSecret = "AWS4" + secret, then HMAC over date, region, service. */
	size_t		slen = strlen(secret);
	unsigned char *k = malloc(slen + 4);
	unsigned char kdate[32],
				kregion[32],
				kservice[32];
	bool		ok;

	if (k == NULL)
		return SIGV4_ERR_NOMEM;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, slen);
	ok = hmac_sha256(k, slen + 4, date8, strlen(date8), kdate) &&
		hmac_sha256(kdate, 32, region, strlen(region), kregion) &&
		hmac_sha256(kregion, 32, service, strlen(service), kservice) &&
		hmac_sha256(kservice, 32, "aws4_request", 12, out);
	/* The derived keys are as good as the secret for a day: wipe them. */
	memset(k, 0, slen + 4);
	free(k);
	memset(kdate, 0, sizeof(kdate));
	memset(kregion, 0, sizeof(kregion));
	memset(kservice, 0, sizeof(kservice));
	return ok ? SIGV4_OK : SIGV4_ERR_CRYPTO;
}

/* True if method is one S3 presigned URLs are made for here. */
static bool
valid_method(const char *m)
{
	static const char *const methods[] = {"GET", "PUT", "HEAD", "DELETE", "POST"};

	if (m == NULL)
		return false;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i]) == 0)
			return true;
	return false;
}

/* Regions are lower-case letters, digits and hyphens ("us-east-1"). */
static bool
valid_region(const char *r)
{
	if (r == NULL || *r == '\0' || strlen(r) > 64)
		return false;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return false;
	return true;
}

/*
 * A bucket used as a DNS label prefix must be 3-63 characters of lower-case
 * letters, digits, dots and hyphens, starting and ending alphanumeric.
 */
static bool
dns_safe_bucket(const char *b)
{
	size_t		n = strlen(b);

	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		c = b[i];
		bool		alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && c != '.' && c != '-')
			return false;
		if (!alnum && (i == 0 || i == n - 1))
			return false;
	}
	return true;
}

/*
 * Splits "http(s)://host[:port][/]" into scheme and host, where host keeps a
 * non-default port because browsers send it in the Host header.  An empty
 * endpoint means AWS's regional endpoint.
 */
static sigv4_status
parse_endpoint(const char *endpoint, const char *region,
			   buf *scheme, buf *host)
{
	const char *p,
			   *h,
			   *port = NULL;
	size_t		hlen;
	bool		https;

	if (endpoint == NULL || *endpoint == '\0')
	{
		buf_puts(scheme, "https");
		buf_puts(host, "s3.");
		buf_puts(host, region);
		buf_puts(host, ".amazonaws.com");
		return SIGV4_OK;
	}
	if (strncasecmp(endpoint, "https://", 8) == 0)
		https = true, p = endpoint + 8;
	else if (strncasecmp(endpoint, "http://", 7) == 0)
		https = false, p = endpoint + 7;
	else
		return SIGV4_ERR_ENDPOINT;

	h = p;
	if (*p == '[')
	{
		/* IPv6 literal */
		while (*p && *p != ']')
		{
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
				  (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.' || *p == '['))
				return SIGV4_ERR_ENDPOINT;
			p++;
		}
		if (*p != ']' || p == h + 1)
			return SIGV4_ERR_ENDPOINT;
		p++;
	}
	else
	{
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_')
			p++;
		if (p == h)
			return SIGV4_ERR_ENDPOINT;
	}
	hlen = (size_t) (p - h);
	if (*p == ':')
	{
		long		n = 0;

		port = ++p;
		while (*p >= '0' && *p <= '9' && n <= 65535)
			n = n * 10 + (*p++ - '0');
		if (p == port || n < 1 || n > 65535)
			return SIGV4_ERR_ENDPOINT;
		if ((https && n == 443) || (!https && n == 80))
			port = NULL;
	}
	if (*p == '/')
		p++;
	if (*p != '\0')
		return SIGV4_ERR_ENDPOINT;

	buf_puts(scheme, https ? "https" : "http");
	/* Host names are case-insensitive; the canonical Host is lower case. */
	for (size_t i = 0; i < hlen; i++)
	{
		char		c = h[i];

		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		buf_append(host, &c, 1);
	}
	if (port != NULL)
	{
		buf_puts(host, ":");
		while (*port >= '0' && *port <= '9')
			buf_append(host, port++, 1);
	}
	return SIGV4_OK;
}

/* Header names: letters, digits and hyphens (what S3's own headers use). */
static bool
valid_header_name(const char *n)
{
	size_t		len = n ? strlen(n) : 0;

	if (len < 1 || len > 64)
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
			  (*n >= '0' && *n <= '9') || *n == '-'))
			return false;
	return true;
}

/*
 * Header values: printable ASCII only, so that what is signed is exactly
 * what a browser sends (no control characters, no bytes a client could
 * encode differently).
 */
static bool
valid_header_value(const char *v)
{
	if (v == NULL || strlen(v) > 4096)
		return false;
	for (; *v; v++)
		if ((unsigned char) *v < 0x20 || (unsigned char) *v > 0x7e)
			return false;
	return true;
}

/* A malloc'd lower-case copy of a header name, or NULL when out of memory. */
static char *
lower_copy(const char *s)
{
	char	   *out = strdup(s);

	for (char *p = out; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char) (*p - 'A' + 'a');
	return out;
}

/*
 * A malloc'd copy of a header value as SigV4 signs it (and S3 reads it):
 * without leading and trailing spaces, each run of spaces made one.
 */
static char *
canonical_value(const char *v)
{
	char	   *out = malloc(strlen(v) + 1);
	size_t		n = 0;

	if (out == NULL)
		return NULL;
	for (; *v; v++)
	{
		if (*v == ' ' && (n == 0 || out[n - 1] == ' '))
			continue;
		out[n++] = *v;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

/* Orders encoded query parameters by name, then value, byte-wise. */
static int
qpair_cmp(const void *a, const void *b)
{
	const qpair *x = a;
	const qpair *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Adds an encoded name=value pair; false when out of memory. */
static bool
add_pair(qpair *pairs, size_t *n, const char *name, const char *value)
{
	pairs[*n].name = uri_encoded(name);
	pairs[*n].value = uri_encoded(value ? value : "");
	(*n)++;
	return pairs[*n - 1].name != NULL && pairs[*n - 1].value != NULL;
}

/* Checks every input before anything is allocated. */
static sigv4_status
validate(const sigv4_request *req)
{
	if (!valid_method(req->method))
		return SIGV4_ERR_METHOD;
	if (req->expires_in < 1 || req->expires_in > SIGV4_MAX_EXPIRES)
		return SIGV4_ERR_EXPIRES;
	if (!valid_region(req->region))
		return SIGV4_ERR_REGION;
	if (req->bucket == NULL || *req->bucket == '\0' || strchr(req->bucket, '/') ||
		(!req->path_style && !dns_safe_bucket(req->bucket)))
		return SIGV4_ERR_BUCKET;
	if (req->key != NULL && *req->key == '\0')
		return SIGV4_ERR_KEY;
	if (req->access_key_id == NULL || *req->access_key_id == '\0' ||
		req->secret_access_key == NULL || *req->secret_access_key == '\0')
		return SIGV4_ERR_CREDENTIALS;
	/* 253402300799 is 9999-12-31T23:59:59Z */
	if (req->signed_at < 0 || req->signed_at > INT64_C(253402300799))
		return SIGV4_ERR_TIME;
	if (req->nparams > 0 && req->params == NULL)
		return SIGV4_ERR_PARAM;
	for (size_t i = 0; i < req->nparams; i++)
	{
		const char *name = req->params[i].name;

		/* X-Amz-* would collide with the authentication parameters. */
		if (name == NULL || *name == '\0' || strncasecmp(name, "x-amz-", 6) == 0)
			return SIGV4_ERR_PARAM;
	}
	if (req->nheaders > SIGV4_MAX_HEADERS || (req->nheaders > 0 && req->headers == NULL))
		return SIGV4_ERR_HEADER;
	for (size_t i = 0; i < req->nheaders; i++)
	{
		const char *name = req->headers[i].name;

		/* Host is always signed, from the endpoint. */
		if (!valid_header_name(name) || strcasecmp(name, "host") == 0 ||
			!valid_header_value(req->headers[i].value))
			return SIGV4_ERR_HEADER;
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(name, req->headers[j].name) == 0)
				return SIGV4_ERR_HEADER;
	}
	return SIGV4_OK;
}

sigv4_status
sigv4_presign(const sigv4_request *req, char **url_out)
{
	sigv4_status st;
	buf			scheme = {0},
				host = {0},
				uri = {0},
				query = {0},
				creq = {0},
				sts = {0},
				scope = {0},
				url = {0},
				signed_names = {0},
				canon_headers = {0};
	qpair	   *pairs = NULL;
	size_t		npairs = 0;
	qpair	   *hdrs = NULL;
	size_t		nhdrs = 0;
	char		amzdate[17],
				date8[9],
				expires[24],
				creq_hash[65],
				sig_hex[65];
	unsigned char key[32],
				sig[32];
	struct tm	tm;
	time_t		t;

	*url_out = NULL;
	if ((st = validate(req)) != SIGV4_OK)
		return st;

	t = (time_t) req->signed_at;
	if (gmtime_r(&t, &tm) == NULL)
		return SIGV4_ERR_TIME;
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(date8, amzdate, 8);
	date8[8] = '\0';
	snprintf(expires, sizeof(expires), "%lld", (long long) req->expires_in);

	if ((st = parse_endpoint(req->endpoint, req->region, &scheme, &host)) != SIGV4_OK)
		goto done;
	if (!req->path_style)
	{
		/* Virtual-hosted style: the bucket becomes the first DNS label. */
		buf		vhost = {0};

		buf_puts(&vhost, req->bucket);
		buf_puts(&vhost, ".");
		buf_append(&vhost, host.data ? host.data : "", host.len);
		free(host.data);
		host = vhost;
	}

	buf_puts(&uri, "/");
	if (req->path_style)
	{
		uri_encode(&uri, req->bucket, false);
		/* The bucket itself is /bucket, as S3 clients send it. */
		if (req->key != NULL)
			buf_puts(&uri, "/");
	}
	if (req->key != NULL)
		uri_encode(&uri, req->key, true);

	buf_puts(&scope, date8);
	buf_puts(&scope, "/");
	buf_puts(&scope, req->region);
	buf_puts(&scope, "/s3/aws4_request");

	/*
	 * Signed headers, sorted by lower-case name: "name:value\n" each for the
	 * canonical request, and "a;b;host" for X-Amz-SignedHeaders.
	 */
	hdrs = calloc(req->nheaders + 1, sizeof(qpair));
	if (hdrs == NULL)
	{
		st = SIGV4_ERR_NOMEM;
		goto done;
	}
	hdrs[nhdrs].name = strdup("host");
	hdrs[nhdrs++].value = strdup(host.data ? host.data : "");
	for (size_t i = 0; i < req->nheaders; i++)
	{
		hdrs[nhdrs].name = lower_copy(req->headers[i].name);
		hdrs[nhdrs++].value = canonical_value(req->headers[i].value);
	}
	for (size_t i = 0; i < nhdrs; i++)
		if (hdrs[i].name == NULL || hdrs[i].value == NULL)
		{
			st = SIGV4_ERR_NOMEM;
			goto done;
		}
	qsort(hdrs, nhdrs, sizeof(qpair), qpair_cmp);
	for (size_t i = 0; i < nhdrs; i++)
	{
		if (i > 0)
			buf_puts(&signed_names, ";");
		buf_puts(&signed_names, hdrs[i].name);
		buf_puts(&canon_headers, hdrs[i].name);
		buf_puts(&canon_headers, ":");
		buf_puts(&canon_headers, hdrs[i].value);
		buf_puts(&canon_headers, "\n");
	}
	if (signed_names.oom || canon_headers.oom)
	{
		st = SIGV4_ERR_NOMEM;
		goto done;
	}

	/* Canonical query string: every parameter but the signature, sorted. */
	pairs = calloc(req->nparams + 6, sizeof(qpair));
	if (pairs == NULL)
	{
		st = SIGV4_ERR_NOMEM;
		goto done;
	}
	{
		buf			cred = {0};
		bool		ok;

		buf_puts(&cred, req->access_key_id);
		buf_puts(&cred, "/");
		buf_append(&cred, scope.data ? scope.data : "", scope.len);
		ok = !cred.oom &&
			add_pair(pairs, &npairs, "X-Amz-Algorithm", SIGV4_ALGORITHM) &&
			add_pair(pairs, &npairs, "X-Amz-Credential", cred.data) &&
			add_pair(pairs, &npairs, "X-Amz-Date", amzdate) &&
			add_pair(pairs, &npairs, "X-Amz-Expires", expires) &&
			add_pair(pairs, &npairs, "X-Amz-SignedHeaders", signed_names.data);
		free(cred.data);
		if (ok && req->session_token != NULL && *req->session_token != '\0')
			ok = add_pair(pairs, &npairs, "X-Amz-Security-Token", req->session_token);
		for (size_t i = 0; ok && i < req->nparams; i++)
			ok = add_pair(pairs, &npairs, req->params[i].name, req->params[i].value);
		if (!ok)
		{
			st = SIGV4_ERR_NOMEM;
			goto done;
		}
	}
	qsort(pairs, npairs, sizeof(qpair), qpair_cmp);
	for (size_t i = 0; i < npairs; i++)
	{
		if (i > 0)
			buf_puts(&query, "&");
		buf_puts(&query, pairs[i].name);
		buf_puts(&query, "=");
		buf_puts(&query, pairs[i].value);
	}

	/* Canonical request: the signed headers, then their names. */
	buf_puts(&creq, req->method);
	buf_puts(&creq, "\n");
	buf_append(&creq, uri.data ? uri.data : "", uri.len);
	buf_puts(&creq, "\n");
	buf_append(&creq, query.data ? query.data : "", query.len);
	buf_puts(&creq, "\n");
	buf_append(&creq, canon_headers.data, canon_headers.len);
	buf_puts(&creq, "\n");
	buf_append(&creq, signed_names.data, signed_names.len);
	buf_puts(&creq, "\nUNSIGNED-PAYLOAD");
	if (creq.oom || scope.oom || uri.oom || query.oom || host.oom || scheme.oom)
	{
		st = SIGV4_ERR_NOMEM;
		goto done;
	}
	if (!sha256_hex(creq.data, creq.len, creq_hash))
	{
		st = SIGV4_ERR_CRYPTO;
		goto done;
	}

	buf_puts(&sts, SIGV4_ALGORITHM "\n");
	buf_puts(&sts, amzdate);
	buf_puts(&sts, "\n");
	buf_puts(&sts, scope.data);
	buf_puts(&sts, "\n");
	buf_puts(&sts, creq_hash);
	if (sts.oom)
	{
		st = SIGV4_ERR_NOMEM;
		goto done;
	}
	if ((st = sigv4_signing_key(req->secret_access_key, date8, req->region,
								"s3", key)) != SIGV4_OK)
		goto done;
	if (!hmac_sha256(key, sizeof(key), sts.data, sts.len, sig))
	{
		st = SIGV4_ERR_CRYPTO;
		goto done;
	}
	hex_encode(sig, sizeof(sig), sig_hex);

	buf_puts(&url, scheme.data);
	buf_puts(&url, "://");
	buf_puts(&url, host.data);
	buf_puts(&url, uri.data);
	buf_puts(&url, "?");
	buf_puts(&url, query.data);
	buf_puts(&url, "&X-Amz-Signature=");
	buf_puts(&url, sig_hex);
	if (url.oom)
	{
		st = SIGV4_ERR_NOMEM;
		goto done;
	}
	*url_out = url.data;
	url.data = NULL;
	st = SIGV4_OK;

done:
	memset(key, 0, sizeof(key));
	for (size_t i = 0; i < npairs; i++)
	{
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	for (size_t i = 0; i < nhdrs; i++)
	{
		free(hdrs[i].name);
		free(hdrs[i].value);
	}
	free(hdrs);
	free(signed_names.data);
	free(canon_headers.data);
	free(scheme.data);
	free(host.data);
	free(uri.data);
	free(query.data);
	free(creq.data);
	free(sts.data);
	free(scope.data);
	free(url.data);
	return st;
}

const char *
sigv4_strerror(sigv4_status status)
{
	switch (status)
	{
		case SIGV4_OK:
			return "success";
		case SIGV4_ERR_METHOD:
			return "method must be GET, PUT, HEAD, DELETE or POST";
		case SIGV4_ERR_EXPIRES:
			return "expiry must be between 1 second and 7 days";
		case SIGV4_ERR_ENDPOINT:
			return "endpoint must look like http(s)://host[:port]";
		case SIGV4_ERR_REGION:
			return "region must be lower-case letters, digits and hyphens";
		case SIGV4_ERR_BUCKET:
			return "bucket name is empty or not usable in a host name";
		case SIGV4_ERR_KEY:
			return "object key is empty";
		case SIGV4_ERR_CREDENTIALS:
			return "access key id or secret access key is missing";
		case SIGV4_ERR_TIME:
			return "signing time must be between 1970 and 9999";
		case SIGV4_ERR_PARAM:
			return "extra query parameter is empty or reserved";
		case SIGV4_ERR_HEADER:
			return "signed headers must be at most 16 distinct names other than Host, with printable ASCII values";
		case SIGV4_ERR_NOMEM:
			return "out of memory";
		case SIGV4_ERR_CRYPTO:
			return "OpenSSL failed to compute a digest";
	}
	return "unknown error";
}
