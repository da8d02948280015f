/*-------------------------------------------------------------------------
 *
 * http_api.h
 *	  The HTTP API (docs/http-api.md), answered by the HTTP workers: each
 *	  route authenticates, calls the SQL function of the same meaning, and
 *	  returns its result as JSON.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_HTTP_API_H
#define CODESIGHT_HTTP_API_H

#include "postgres.h"

#include "net.h"

extern void http_api_handle(HttpRequest *r, bool peer_loopback);
extern int	http_api_route_of(const char *path, HttpMethod method);

/*
 * The response's way out, provided by the HTTP worker (http_worker.c): a
 * head (content_length -1: chunked), body pieces, and the end (aborted:
 * cut without the last chunk).  http_out_body returns false once the
 * client is gone.
 */
extern void http_out_head(int status, const char *content_type, const char *extra_headers,
						  int64 content_length);
extern bool http_out_body(const char *data, size_t len);
extern void http_out_end(bool aborted);

#endif							/* CODESIGHT_HTTP_API_H */
