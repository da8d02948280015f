/*-------------------------------------------------------------------------
 *
 * net.h
 *	  The worker's network loop: a libwebsockets server on a libuv loop,
 *	  carrying the WebSocket stream and HTTP on one port.
 *
 * Nothing in net.c calls PostgreSQL: its callbacks run inside
 * libwebsockets and libuv frames, where an ERROR's longjmp would corrupt
 * their state.  They only move bytes between sockets and the queues below,
 * with malloc.  The network process (network.c) takes complete messages
 * off the inbound queue, outside the callbacks, and hands them to its pool
 * of workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_NET_H
#define CODESIGHT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;
struct uv_loop_s;

typedef enum HttpMethod
{
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_PATCH,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_OTHER
} HttpMethod;

/* One HTTP request handed to the worker (all strings malloc'd, NUL-ended). */
typedef struct HttpRequest
{
	HttpMethod	method;
	char	   *path;			/* URL-decoded path, without the query */
	char	   *query;			/* decoded parameters "a=1\0b=2\0\0", or NULL */
	size_t		query_len;		/* bytes of query, the last NUL included */
	char	   *origin;
	char	   *authorization;
	char	   *host;
	char	   *body;
	size_t		body_len;
	bool		body_too_large;
	bool		dispatched;		/* handed to the network process */
	bool		body_ended;		/* lws reported the end of its body */
} HttpRequest;

typedef struct TxItem TxItem;

typedef struct Conn
{
	uint64_t	id;
	struct lws *wsi;			/* NULL once the socket is gone */
	bool		is_ws;
	bool		closed;			/* the socket is gone */
	int			refs;			/* queue entries still pointing here */
	char		peer[64];
	char		origin[128];

	/* WebSocket message reassembly */
	struct InMsg *rx_msg;		/* the message being assembled, or NULL */
	size_t		rx_cap;			/* bytes of rx_msg->data allocated */
	bool		rx_paused;		/* lws_rx_flow_control off */
	bool		hold_paused;	/* ... because its messages are held */
	double		last_msg_ms;	/* when the last complete message arrived */
	double		opened_ms;

	/* outbound queue */
	TxItem	   *tx_head;
	TxItem	   *tx_tail;
	size_t		tx_bytes;
	int			close_code;		/* > 0: close once the queue is flushed */
	char		close_reason[96];
	bool		close_sent;		/* our close frame is written */
	int			peer_close_code;	/* the code in the peer's close frame */
	bool		kill;			/* drop without a close frame */

	/* authentication (set by the network process from a hello's answer) */
	bool		authenticated;
	bool		auth_from_header;
	bool		auth_pending;	/* a hello is with an ingest worker */
	int64_t		worker_id;
	bool		admin;
	char		token_id[32];

	/* routing (network.c) */
	uint32_t	ingest_mask;	/* ingest workers this connection sent to */
	struct InMsg *held_head;	/* messages held while auth_pending */
	struct InMsg *held_tail;
	int			nheld;
	bool		in_map;			/* network.c's id map holds a reference */
	int64_t		messages_in;

	/* HTTP */
	HttpRequest *http_req;		/* being received, then being answered */
	uint64_t	http_requests;	/* requests so far on this connection */
	bool		http_static;	/* serving a file through lws */
	char	   *http_head;		/* content type NUL extra headers NUL, malloc'd */
	int			http_status;
	bool		http_head_sent;
	bool		http_chunked;	/* body framed in chunks as it comes */
	int64_t		http_length;	/* Content-Length, when not chunked */
	int64_t		http_written;	/* body bytes written to the socket */
	bool		http_ended;		/* all of the body is queued */
	bool		http_aborted;	/* close once what is queued is written */
	char	   *sbuf;			/* body (chunk-framed if chunked) not yet written */
	size_t		slen;
	size_t		scap;
	size_t		ssent;
	double		http_progress_ms;	/* when the client last took bytes */

	struct Conn *prev;
	struct Conn *next;
} Conn;

typedef enum InMsgKind
{
	IN_WS_TEXT,					/* a complete WebSocket text message */
	IN_HTTP,					/* an HTTP request (conn->http_req) */
	IN_OPENED,					/* a WebSocket connection opened */
	IN_CLOSED					/* the connection closed */
} InMsgKind;

typedef struct InMsg
{
	struct InMsg *next;
	InMsgKind	kind;
	Conn	   *conn;
	double		received_ms;
	size_t		len;
	char		data[];			/* NUL-terminated text for IN_WS_TEXT */
} InMsg;

typedef struct NetStats
{
	int64_t		connections;
	int64_t		queued_messages;
	int64_t		queued_bytes;
	int64_t		rx_paused;
} NetStats;

extern bool net_start(struct uv_loop_s *loop, const char *address, int port,
					  const char *cert, const char *key, int max_conns, char *err, size_t errlen);
extern void net_destroy(void);

extern InMsg *net_take_messages(void);
extern void net_free_message(InMsg *m);
extern void net_conn_release(Conn *c);

extern void net_send_text(Conn *c, const char *text, size_t len);
extern void net_close(Conn *c, int code, const char *reason);
extern void net_kill(Conn *c);
extern void net_http_respond(Conn *c, int status, const char *content_type,
							 const char *extra_headers, const char *body, size_t len);
extern void net_http_begin(Conn *c, int status, const char *content_type,
						   const char *extra_headers, int64_t content_length);
extern void net_http_write(Conn *c, const char *data, size_t len);
extern void net_http_end(Conn *c);
extern void net_http_abort(Conn *c);
extern size_t net_http_pending(Conn *c);

extern void net_begin_shutdown(int code, const char *reason);
extern int	net_open_connections(void);
extern void net_sweep(double now_ms, double idle_ms, bool send_ping);
extern void net_set_backpressure(bool on);
extern void net_pause(Conn *c, bool on);
extern bool net_peer_is_loopback(Conn *c);
extern void net_get_stats(NetStats *st);
extern double net_now_ms(void);

#endif							/* CODESIGHT_NET_H */
