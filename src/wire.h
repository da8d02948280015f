/*-------------------------------------------------------------------------
 *
 * wire.h
 *	  The messages the network process and the pool processes (ingest and
 *	  HTTP) exchange through their shm_mq queues (pool.c).
 *
 * Every message is one WireHeader followed by `len` payload bytes.  The
 * header is fixed-size and holds what each side needs to route and answer
 * without parsing the payload; the payload is the WebSocket text, the text
 * to send back, or a serialized HTTP request or response piece.  Both
 * sides are the same binary on the same machine, so the header is copied
 * as it is, with no byte-order conversion.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_WIRE_H
#define CODESIGHT_WIRE_H

#include <stdint.h>

typedef enum WireKind
{
	/* network -> ingest */
	W_WS_MESSAGE = 1,			/* a complete WebSocket text message */
	W_CONN_CLOSED,				/* the connection is gone */
	W_AUTH_RECHECK,				/* is the connection's token still valid? */
	/* ingest -> network */
	W_SEND,						/* send the payload; close with `code` if > 0 */
	W_AUTH_RESULT,				/* a hello's outcome: flags, worker_id, token_id */
	/* network -> http */
	W_HTTP_REQUEST,				/* a request: see the payload layout below */
	W_HTTP_CANCEL,				/* the client of req_id is gone: stop */
	/* http -> network */
	W_HTTP_HEAD,				/* status (code), content type, headers, length */
	W_HTTP_BODY,				/* a piece of the body */
	W_HTTP_END,					/* the response is complete */
	W_HTTP_ABORT				/* the response failed after its head: cut it */
} WireKind;

/* flags */
#define WF_AUTHENTICATED	0x0001	/* the connection presented a valid token */
#define WF_ADMIN			0x0002	/* ... an admin token */
#define WF_AUTH_OK			0x0004	/* W_AUTH_RESULT: the hello was accepted */
#define WF_PEER_LOOPBACK	0x0008	/* W_HTTP_REQUEST: the client is on loopback */
#define WF_BODY_TOO_LARGE	0x0010	/* W_HTTP_REQUEST: the body was cut */
#define WF_HELLO			0x0020	/* W_WS_MESSAGE: a hello; answer with W_AUTH_RESULT */

#define WIRE_TOKEN_ID_LEN 32

typedef struct WireHeader
{
	uint16_t	kind;			/* WireKind */
	uint16_t	flags;
	int32_t		code;			/* close code (W_SEND), HTTP status (W_HTTP_HEAD),
								 * method (W_HTTP_REQUEST) */
	uint64_t	conn_id;
	uint64_t	req_id;			/* HTTP request number, per connection */
	int64_t		worker_id;		/* the connection's worker (0: none or admin) */
	int64_t		aux;			/* W_HTTP_REQUEST: offset of the body in the
								 * payload; W_HTTP_HEAD: Content-Length, or -1
								 * for a chunked body */
	double		received_ms;	/* when the network process got it */
	char		token_id[WIRE_TOKEN_ID_LEN];	/* the connection's token id */
	uint32_t	len;			/* payload bytes after the header */
	uint32_t	pad;
} WireHeader;

/*
 * W_HTTP_REQUEST payload: NUL-terminated strings in this order, then the
 * body (header.aux is its offset, header.len - aux its length):
 *	 path (decoded), query (raw, "" if none), origin, authorization, host, peer
 * W_HTTP_HEAD payload: content type NUL extra header lines ("Name: value\r\n") NUL.
 */
#define WIRE_HTTP_STRINGS 6

#endif							/* CODESIGHT_WIRE_H */
