/*-------------------------------------------------------------------------
 *
 * http_api.h
 *	  The HTTP API on the worker's port (docs/http-api.md): each route
 *	  authenticates, calls the SQL function of the same meaning, and
 *	  returns its result as JSON.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_HTTP_API_H
#define CODESIGHT_HTTP_API_H

#include "net.h"

extern void http_api_handle(Conn *c);
extern bool http_api_streams_ready(void);
extern void http_api_stream_step(void);

#endif							/* CODESIGHT_HTTP_API_H */
