/*-------------------------------------------------------------------------
 *
 * http_util.h
 *	  What the network process and the HTTP workers both need to answer a
 *	  request: CORS, the JSON error body, query parameters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_HTTP_UTIL_H
#define CODESIGHT_HTTP_UTIL_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* Sent with every API answer. */
#define HTTP_STD_HEADERS "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"

extern bool http_origin_ok(const char *origin);
extern void http_cors_headers(const char *origin, StringInfo h, bool preflight);
extern void http_error_body(StringInfo out, const char *code, const char *message);
extern const char *http_query_param(const char *query, size_t query_len, const char *name);

#endif							/* CODESIGHT_HTTP_UTIL_H */
