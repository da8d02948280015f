/*-------------------------------------------------------------------------
 *
 * http_util.c
 *	  CORS, JSON errors and query parameters for the HTTP API, shared by
 *	  the network process (which answers what needs no database: preflights,
 *	  refused origins and hosts, rate limits, /health) and the HTTP workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "guc.h"
#include "http_util.h"
#include "json.h"

/*
 * True when the Origin is the server's own (the page it serves).  It is
 * compared with the address and port the worker listens on, never with
 * the request's Host header: a DNS-rebinding page chooses that header.
 */
static bool
same_origin(const char *o)
{
	const char *addr = cs_listen_address ? cs_listen_address : "";
	char		own[300];
	bool		loopback = strncmp(addr, "127.", 4) == 0 || strcmp(addr, "localhost") == 0;

	if (o == NULL)
		return false;
	if (strncmp(o, "http://", 7) == 0)
		o += 7;
	else if (strncmp(o, "https://", 8) == 0)
		o += 8;
	else
		return false;
	snprintf(own, sizeof(own), "%s:%d", addr, cs_port);
	if (strcmp(o, own) == 0)
		return true;
	if (loopback)
	{
		snprintf(own, sizeof(own), "localhost:%d", cs_port);
		if (strcmp(o, own) == 0)
			return true;
		snprintf(own, sizeof(own), "127.0.0.1:%d", cs_port);
		if (strcmp(o, own) == 0)
			return true;
	}
	return false;
}

/* Whether a request with this Origin (NULL: none) may use the API. */
bool
http_origin_ok(const char *origin)
{
	return origin == NULL || codesight_origin_allowed(origin) || same_origin(origin);
}

/* Appends the CORS headers for an allowed Origin (nothing otherwise). */
void
http_cors_headers(const char *origin, StringInfo h, bool preflight)
{
	if (origin == NULL || !http_origin_ok(origin))
		return;
	appendStringInfo(h, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", origin);
	if (preflight)
		appendStringInfoString(h,
							   "Access-Control-Allow-Methods: GET, POST, PATCH, DELETE, OPTIONS\r\n"
							   "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
							   "Access-Control-Max-Age: 600\r\n");
}

/* Appends {"error":{"code":...,"message":...}}. */
void
http_error_body(StringInfo out, const char *code, const char *message)
{
	StrBuf		sb;

	strbuf_init(&sb);
	strbuf_appends(&sb, "{\"error\":{\"code\":");
	json_append_string(&sb, code, strlen(code));
	strbuf_appends(&sb, ",\"message\":");
	json_append_string(&sb, message, strlen(message));
	strbuf_appends(&sb, "}}");
	if (!sb.failed)
		appendBinaryStringInfo(out, sb.data, sb.len);
	strbuf_free(&sb);
}

/*
 * The value of a query parameter, or NULL.  query is the list the network
 * process got from libwebsockets: "name=value" entries, each decoded once
 * and ending in a NUL, the list ending in an empty one.  Nothing is
 * decoded again: a value may hold '&', '+' or '%' as the client meant them.
 */
const char *
http_query_param(const char *query, size_t query_len, const char *name)
{
	size_t		nlen = strlen(name);
	const char *p = query;
	const char *end = query ? query + query_len : NULL;

	while (p && p < end && *p)
	{
		size_t		len = strnlen(p, end - p);

		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=')
			return p + nlen + 1;
		p += len + 1;
	}
	return NULL;
}
