/*-------------------------------------------------------------------------
 *
 * net.h
 *	  The worker's network loop: a libwebsockets server on a libuv loop,
 *	  carrying the WebSocket stream and HTTP on one port.
 *
 * Nothing in net.c calls PostgreSQL: its callbacks run inside
 * libwebsockets and libuv frames, where an ERROR's longjmp would corrupt
 * their state.  They only move bytes between sockets and the queues below,
 * with malloc.  The worker takes complete messages off the inbound queue
 * and does all database work outside the callbacks.
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
	char	   *query;			/* raw query string, or NULL */
	char	   *origin;
	char	   *authorization;
	char	   *host;
	char	   *body;
	size_t		body_len;
	bool		body_too_large;
	bool		dispatched;		/* handed to the worker */
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
	bool		rx_paused;		/* backpressure: lws_rx_flow_control off */
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

	/* authentication (set by the worker) */
	bool		authenticated;
	bool		auth_from_header;
	int64_t		worker_id;
	bool		admin;

	/* per-connection figures for the log line at close */
	int64_t		events_in;
	int64_t		events_acked;
	char		last_session[65];
	void	   *bound_sessions; /* owned by ingest.c */

	/* HTTP */
	HttpRequest *http_req;		/* being received */
	char	   *http_resp;		/* headers + body to send, malloc'd */
	size_t		http_resp_len;
	size_t		http_resp_sent;
	int			http_status;
	bool		http_static;	/* serving a file through lws */
	bool		http_streaming; /* body sent in chunks as it is produced */
	bool		stream_ended;	/* the last chunk is queued */
	char	   *sbuf;			/* chunk-framed body not yet written */
	size_t		slen;
	size_t		scap;
	size_t		ssent;

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
extern bool net_running(void);

extern bool net_receiving(void);
extern InMsg *net_take_messages(void);
extern void net_free_message(InMsg *m);
extern void net_conn_release(Conn *c);

extern void net_send_text(Conn *c, const char *text, size_t len);
extern void net_close(Conn *c, int code, const char *reason);
extern void net_kill(Conn *c);
extern void net_http_respond(Conn *c, int status, const char *content_type,
							 const char *extra_headers, const char *body, size_t len);

extern void net_http_stream_begin(Conn *c, int status, const char *content_type,
								  const char *extra_headers);
extern void net_http_stream_write(Conn *c, const char *data, size_t len);
extern void net_http_stream_end(Conn *c);
extern size_t net_http_stream_pending(Conn *c);

extern void net_begin_shutdown(int code, const char *reason);
extern int	net_open_connections(void);
extern void net_sweep(double now_ms, double idle_ms, bool send_ping);
extern void net_set_backpressure(bool on);
extern void net_get_stats(NetStats *st);
extern double net_now_ms(void);

#endif							/* CODESIGHT_NET_H */
