/*-------------------------------------------------------------------------
 *
 * net.c
 *	  libwebsockets server on the network process's libuv loop: WebSocket stream,
 *	  HTTP requests and static files on one port.
 *
 * No PostgreSQL calls here (see net.h).  Memory is malloc'd; allocation
 * failures drop the affected connection rather than raising an error.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <libwebsockets.h>
#include <uv.h>

#include "guc.h"
#include "net.h"
#include "protocol.h"
#include "static_files.h"

struct TxItem
{
	TxItem	   *next;
	size_t		len;
	unsigned char buf[];		/* LWS_PRE bytes, then the payload */
};

typedef struct Pss
{
	Conn	   *conn;
} Pss;

#define HTTP_CHUNK 16384

/*
 * The close opcode for lws_write(): 4.1 handles it but leaves it out of the
 * public enum ("handled by lws_close_reason").
 */
#define WRITE_CLOSE_OPCODE ((enum lws_write_protocol) 4)
#define MAX_QUEUED_BYTES (64 * 1024 * 1024)

#ifndef Min
#define Min(a, b) ((a) < (b) ? (a) : (b))
#endif

static struct lws_context *context = NULL;
static Conn *conns = NULL;		/* doubly linked list of open conns */
static int	nconns = 0;
static uint64_t next_conn_id = 1;
static InMsg *in_head = NULL;
static InMsg *in_tail = NULL;
static int64_t queued_messages = 0;
static int64_t queued_bytes = 0;
static bool backpressure = false;
static bool shutting_down = false;
static int	npaused = 0;		/* connections with reading paused */

static void set_paused(Conn *c, bool on);
static int	max_connections = 1000;

/* Wall-clock milliseconds since the epoch. */
double
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Routes libwebsockets' own log lines to the server log (stderr). */
static void
lws_log_emit(int level, const char *line)
{
	fprintf(stderr, "codesight lws: %s", line);
}

/* Allocates a connection and links it in. */
static Conn *
conn_new(struct lws *wsi, bool is_ws)
{
	Conn	   *c = calloc(1, sizeof(Conn));

	if (c == NULL)
		return NULL;
	c->id = next_conn_id++;
	c->wsi = wsi;
	c->is_ws = is_ws;
	c->opened_ms = c->last_msg_ms = net_now_ms();
	lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	return c;
}

/* Frees an HTTP request. */
static void
http_req_free(HttpRequest *r)
{
	if (r == NULL)
		return;
	free(r->path);
	free(r->query);
	free(r->origin);
	free(r->authorization);
	free(r->host);
	free(r->body);
	free(r);
}

/* Drops everything still queued for sending. */
static void
tx_clear(Conn *c)
{
	TxItem	   *t = c->tx_head;

	while (t)
	{
		TxItem	   *n = t->next;

		free(t);
		t = n;
	}
	c->tx_head = c->tx_tail = NULL;
	c->tx_bytes = 0;
}

/* Frees a closed connection that nothing refers to any more. */
static void
conn_free_if_unused(Conn *c)
{
	if (!c->closed || c->refs > 0)
		return;
	tx_clear(c);
	free(c->rx_msg);
	free(c->http_head);
	free(c->sbuf);
	http_req_free(c->http_req);
	free(c);
}

/* Appends a message to the inbound queue (takes a conn ref). */
static void
enqueue(InMsg *m)
{
	m->next = NULL;
	m->conn->refs++;
	if (in_tail)
		in_tail->next = m;
	else
		in_head = m;
	in_tail = m;
	queued_messages++;
	queued_bytes += (int64_t) m->len;
}

/* Queues a notice about the connection (opened or closed) for the network process. */
static void
enqueue_notice(Conn *c, InMsgKind kind)
{
	InMsg	   *m = malloc(sizeof(InMsg) + 1);

	if (m == NULL)
		return;
	m->kind = kind;
	m->conn = c;
	m->len = 0;
	m->received_ms = net_now_ms();
	m->data[0] = '\0';
	enqueue(m);
}

/* Queues a notice that the connection closed, and unlinks it. */
static void
conn_closed(Conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	c->wsi = NULL;
	tx_clear(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	nconns--;
	if (c->rx_paused)
	{
		c->rx_paused = false;
		npaused--;
	}
	if (c->rx_msg != NULL)
	{
		free(c->rx_msg);
		c->rx_msg = NULL;
		c->rx_cap = 0;
	}
	enqueue_notice(c, IN_CLOSED);
	conn_free_if_unused(c);
}

/* Takes the whole inbound queue; the caller frees each with net_free_message. */
InMsg *
net_take_messages(void)
{
	InMsg	   *h = in_head;

	in_head = in_tail = NULL;
	queued_messages = 0;
	queued_bytes = 0;
	return h;
}

/* Frees a message and drops its connection reference. */
void
net_free_message(InMsg *m)
{
	net_conn_release(m->conn);
	free(m);
}

/* Drops one reference to a connection, freeing it once closed and unused. */
void
net_conn_release(Conn *c)
{
	c->refs--;
	conn_free_if_unused(c);
}

/* Queues a text frame for a WebSocket connection. */
void
net_send_text(Conn *c, const char *text, size_t len)
{
	TxItem	   *t;

	if (c->closed || c->wsi == NULL || !c->is_ws || c->close_code)
		return;
	if (c->tx_bytes + len > (size_t) cs_max_tx_bytes)
	{
		/*
		 * A client that does not read its acks must not grow our memory.
		 * A close frame would queue behind what it does not read: drop it.
		 */
		c->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
		net_kill(c);
		return;
	}
	t = malloc(sizeof(TxItem) + LWS_PRE + len);
	if (t == NULL)
	{
		net_kill(c);
		return;
	}
	t->next = NULL;
	t->len = len;
	memcpy(t->buf + LWS_PRE, text, len);
	if (c->tx_tail)
		c->tx_tail->next = t;
	else
		c->tx_head = t;
	c->tx_tail = t;
	c->tx_bytes += len;
	lws_callback_on_writable(c->wsi);
}

/* Closes a WebSocket with a close code once what is queued is sent. */
void
net_close(Conn *c, int code, const char *reason)
{
	if (c->closed || c->wsi == NULL)
		return;
	if (c->close_code == 0)
	{
		c->close_code = code;
		snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
	}
	lws_callback_on_writable(c->wsi);
}

/* Drops a connection at once, without a close frame. */
void
net_kill(Conn *c)
{
	if (c->closed || c->wsi == NULL)
		return;
	c->kill = true;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Writes the next queued frame; returns -1 to make lws close the socket. */
static int
ws_writeable(Conn *c)
{
	TxItem	   *t = c->tx_head;

	if (t != NULL)
	{
		int			n = lws_write(c->wsi, t->buf + LWS_PRE, t->len, LWS_WRITE_TEXT);

		c->tx_head = t->next;
		if (c->tx_head == NULL)
			c->tx_tail = NULL;
		c->tx_bytes -= t->len;
		free(t);
		if (n < 0)
			return -1;
		if (c->tx_head || c->close_code)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->close_code && !c->close_sent)
	{
		/*
		 * Send the close frame ourselves and wait for the peer's answer:
		 * returning -1 after lws_close_reason() lets the libuv backend
		 * close the socket before the frame is written, and the peer then
		 * sees 1006 instead of our code.
		 */
		unsigned char buf[LWS_PRE + 2 + sizeof(c->close_reason)];
		size_t		rlen = strlen(c->close_reason);

		buf[LWS_PRE] = (unsigned char) (c->close_code >> 8);
		buf[LWS_PRE + 1] = (unsigned char) (c->close_code & 0xff);
		memcpy(buf + LWS_PRE + 2, c->close_reason, rlen);
		c->close_sent = true;
		if (lws_write(c->wsi, buf + LWS_PRE, 2 + rlen, WRITE_CLOSE_OPCODE) < 0)
			return -1;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
		return 0;
	}
	return 0;
}

/*
 * Appends a received fragment to the message being assembled, which is
 * already the InMsg the network process gets: completing a message hands it
 * over without another copy.  The first allocation is sized for the rest
 * of the frame, so a single-frame message costs one malloc.  False when
 * the message grows past the limit or memory runs out.
 */
static bool
rx_append(Conn *c, const void *in, size_t len, size_t frame_remaining)
{
	size_t		have = c->rx_msg ? c->rx_msg->len : 0;
	size_t		need = have + len + 1;

	if (have + len > (size_t) cs_max_message_bytes)
		return false;
	if (c->rx_msg == NULL || need > c->rx_cap)
	{
		size_t		ncap = c->rx_msg ? c->rx_cap * 2 :
			need + Min(frame_remaining, (size_t) cs_max_message_bytes);
		InMsg	   *nm;

		if (ncap < need)
			ncap = need;
		nm = realloc(c->rx_msg, sizeof(InMsg) + ncap);
		if (nm == NULL)
			return false;
		if (c->rx_msg == NULL)
			nm->len = 0;
		c->rx_msg = nm;
		c->rx_cap = ncap;
	}
	memcpy(c->rx_msg->data + have, in, len);
	c->rx_msg->len = have + len;
	return true;
}

/* Hands a complete text message to the network process's loop. */
static void
rx_complete(Conn *c)
{
	InMsg	   *m = c->rx_msg;

	/* Idle connections hold no buffer: most of them are idle. */
	c->rx_msg = NULL;
	c->rx_cap = 0;
	m->kind = IN_WS_TEXT;
	m->conn = c;
	m->received_ms = c->last_msg_ms = net_now_ms();
	m->data[m->len] = '\0';
	enqueue(m);
	if (backpressure || queued_bytes > MAX_QUEUED_BYTES)
		set_paused(c, true);
}

/*
 * Queues a hello carrying the token of the upgrade request, as if the
 * client had sent it first.
 */
static void
queue_header_token(Conn *c, const char *token)
{
	StrBuf		sb;
	InMsg	   *m;

	strbuf_init(&sb);
	proto_write_hello(&sb, token);
	m = sb.failed ? NULL : malloc(sizeof(InMsg) + sb.len + 1);
	if (m != NULL)
	{
		memcpy(m->data, sb.data, sb.len + 1);
		m->kind = IN_WS_TEXT;
		m->conn = c;
		m->len = sb.len;
		m->received_ms = net_now_ms();
		c->auth_from_header = true;
		enqueue(m);
	}
	strbuf_free(&sb);
}

/* Copies a header into a malloc'd string, or NULL if absent. */
static char *
header_dup(struct lws *wsi, enum lws_token_indexes h)
{
	int			n = lws_hdr_total_length(wsi, h);
	char	   *s;

	if (n <= 0)
		return NULL;
	s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	if (lws_hdr_copy(wsi, s, n + 1, h) < 0)
	{
		free(s);
		return NULL;
	}
	return s;
}

/* Extracts the bearer token from an Authorization header value. */
static const char *
bearer_token(const char *auth)
{
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return auth;
}

/*
 * Whether the request's Origin and Host may reach us.  Checks fail closed:
 * a header that is present but can not be read whole is refused, as is a
 * missing Host.
 */
static bool
origin_and_host_allowed(struct lws *wsi)
{
	char	   *origin = NULL;
	char	   *host = header_dup(wsi, WSI_TOKEN_HOST);
	bool		ok = host != NULL && codesight_host_allowed(host);

	if (ok && lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0)
	{
		origin = header_dup(wsi, WSI_TOKEN_ORIGIN);
		ok = origin != NULL && codesight_origin_allowed(origin);
	}
	free(origin);
	free(host);
	return ok;
}

/*
 * Decides on a WebSocket upgrade before it is accepted: the path must be
 * /extension-ws, the Origin and Host allowed, and there must be room.
 */
static int
ws_filter(struct lws *wsi)
{
	char		uri[256];
	int			n;

	if (shutting_down || nconns >= max_connections)
		return 1;
	n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
	if (n <= 0 || strcmp(uri, "/extension-ws") != 0)
		return 1;
	if (!origin_and_host_allowed(wsi))
		return 1;
	return 0;
}

/* Sets up a new WebSocket connection and greets it. */
static int
ws_established(struct lws *wsi, Pss *pss)
{
	Conn	   *c = conn_new(wsi, true);
	char	   *auth;
	char		qtoken[160];
	const char *token;

	if (c == NULL)
		return -1;
	pss->conn = c;
	enqueue_notice(c, IN_OPENED);
	lws_hdr_copy(wsi, c->origin, sizeof(c->origin), WSI_TOKEN_ORIGIN);
	auth = header_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	token = bearer_token(auth);
	/* lws 4.1 matches the name as a prefix of "name=value": include the "=". */
	if (token == NULL)
		token = lws_get_urlarg_by_name(wsi, "token=", qtoken, sizeof(qtoken));
	if (token != NULL && *token)
		queue_header_token(c, token);
	free(auth);
	{
		StrBuf		sb;

		strbuf_init(&sb);
		proto_write_connected(&sb, (size_t) cs_max_message_bytes, codesight_auth_required());
		if (sb.failed)
		{
			strbuf_free(&sb);
			return -1;
		}
		net_send_text(c, sb.data, sb.len);
		strbuf_free(&sb);
	}
	return 0;
}

/* Handles one received WebSocket fragment. */
static int
ws_receive(struct lws *wsi, Conn *c, void *in, size_t len)
{
	if (c == NULL || c->close_code)
		return 0;
	if (lws_frame_is_binary(wsi))
	{
		net_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames are not supported");
		return 0;
	}
	if (!rx_append(c, in, len, lws_remaining_packet_payload(wsi)))
	{
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
						 (unsigned char *) "message too big", 15);
		return -1;
	}
	if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
		rx_complete(c);
	return 0;
}

/* Maps the request-line token lws found to a method. */
static HttpMethod
http_method(struct lws *wsi, enum lws_token_indexes *tok)
{
	static const struct
	{
		enum lws_token_indexes tok;
		HttpMethod	m;
	}			map[] = {
		{WSI_TOKEN_GET_URI, HTTP_M_GET},
		{WSI_TOKEN_POST_URI, HTTP_M_POST},
		{WSI_TOKEN_OPTIONS_URI, HTTP_M_OPTIONS},
		{WSI_TOKEN_PUT_URI, HTTP_M_PUT},
		{WSI_TOKEN_PATCH_URI, HTTP_M_PATCH},
		{WSI_TOKEN_DELETE_URI, HTTP_M_DELETE},
		{WSI_TOKEN_HEAD_URI, HTTP_M_HEAD},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (lws_hdr_total_length(wsi, map[i].tok) > 0)
		{
			*tok = map[i].tok;
			return map[i].m;
		}
	*tok = WSI_TOKEN_GET_URI;
	return HTTP_M_OTHER;
}

/*
 * Queues a finished HTTP request for the network process, once: a request
 * with an explicit Content-Length: 0 is dispatched with its headers, and lws
 * then reports the end of its empty body too.
 */
static int
http_dispatch(Conn *c)
{
	InMsg	   *m;

	if (c->http_req->dispatched)
		return 0;
	m = malloc(sizeof(InMsg) + 1);
	if (m == NULL)
		return -1;
	c->http_req->dispatched = true;
	m->kind = IN_HTTP;
	m->conn = c;
	m->len = c->http_req->body_len;
	m->received_ms = net_now_ms();
	m->data[0] = '\0';
	enqueue(m);
	return 0;
}

/* True for paths the network process or its HTTP workers answer (API), false for static files. */
static bool
is_api_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
		strcmp(path, "/health") == 0 || strcmp(path, "/metrics") == 0 ||
		strcmp(path, "/extension-ws") == 0;
}

/*
 * True when the request has a Transfer-Encoding or Content-Length header
 * spelled with whitespace around its name ("Transfer-Encoding : chunked",
 * or a folded line " Transfer-Encoding: chunked").  lws does not recognise
 * such a name and keeps it as an unknown header, but a proxy in front may
 * take it as the real one and frame the body differently (RFC 9112 5.1:
 * refuse it with 400).  lws 4.1 can not list unknown headers, so the
 * spellings a proxy might accept are looked up by name.
 */
static bool
http_framing_disguised(struct lws *wsi)
{
	static const char *const names[] = {"transfer-encoding", "content-length"};
	/* Whitespace after the name; before it only the first three (a fold). */
	static const char *const pads[] = {"", " ", "\t", "  ", "\t\t", " \t", "\t "};
	char		name[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t lead = 0; lead < 3; lead++)
			for (size_t trail = 0; trail < sizeof(pads) / sizeof(pads[0]); trail++)
			{
				int			n;

				if (lead == 0 && trail == 0)
					continue;	/* the real header: lws knows it */
				n = snprintf(name, sizeof(name), "%s%s%s:", pads[lead], names[i], pads[trail]);
				if (lws_hdr_custom_length(wsi, name, n) >= 0)
					return true;
			}
	return false;
}

/*
 * Refuses requests whose body framing is ambiguous, before anything reads
 * the body: any Transfer-Encoding (no route takes a chunked body), even
 * disguised, and a Content-Length that is not one plain number (two headers
 * are joined with a comma).  Such requests are how one request is smuggled
 * inside another; closing the connection leaves nothing to misread.
 */
static int
http_filter(struct lws *wsi)
{
	char		clen[64];
	int			n;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
		http_framing_disguised(wsi))
		return -1;
	n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	if (n > 0)
	{
		if (n >= (int) sizeof(clen) ||
			lws_hdr_copy(wsi, clen, sizeof(clen), WSI_TOKEN_HTTP_CONTENT_LENGTH) != n)
			return -1;
		for (int i = 0; i < n; i++)
			if (clen[i] < '0' || clen[i] > '9')
				return -1;
	}
	return 0;
}

/*
 * The end of a request's body: the request goes to the network process.
 *
 * lws 4.1 reports the end of a body again when bytes follow it before the
 * answer is out (the client pipelines its next request): once per turn of
 * the loop until the answer is written, a busy loop as long as the client
 * takes to read it.  Worse, it mishandles a request with a body that was
 * itself pipelined: it hands over the buffered request's own first bytes
 * as its body, then reports the end of it again and again without
 * returning, which froze the network process at 100 % CPU.  Pausing reading
 * does not stop either with lws 4.1 on libuv (the answer is then never
 * written), so a body that ends twice closes the connection.  A misread
 * request was queued moments before, in the same libwebsockets call, and a
 * closed connection's queued requests never run; a request followed by
 * bytes before its answer may have run, as when any connection drops.  (A
 * request with an explicit Content-Length: 0 is dispatched with its
 * headers and its empty body reported ended once.)
 */
static int
http_body_end(Conn *c)
{
	if (c->http_req->body_ended)
		return -1;
	c->http_req->body_ended = true;
	return http_dispatch(c);
}

/* Starts handling an HTTP request: static file now, API via the network process. */
static int
http_request(struct lws *wsi, Pss *pss, const char *uri)
{
	Conn	   *c = pss->conn;
	HttpRequest *r;
	enum lws_token_indexes tok;
	int			qlen;

	if (c == NULL)
	{
		c = conn_new(wsi, false);
		if (c == NULL)
			return -1;
		pss->conn = c;
	}
	if (c->http_req != NULL || c->http_head != NULL)
		return -1;				/* pipelining is not supported */
	r = calloc(1, sizeof(HttpRequest));
	if (r == NULL)
		return -1;
	c->http_req = r;
	c->http_static = false;
	r->method = http_method(wsi, &tok);
	r->path = strdup(uri ? uri : "/");
	qlen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
	if (qlen > 0)
	{
		/*
		 * lws splits the query at its literal & and ; into fragments and
		 * decodes each once (%xx, + as space).  They are kept as they are,
		 * one after the other, each ending in a NUL, the list ending in an
		 * empty one: rebuilding "a=1&b=2" would let a decoded %26 start a
		 * new parameter, and decoding again would turn a decoded %2B into
		 * a space.
		 */
		size_t		cap = (size_t) qlen + 64;
		size_t		pos = 0;

		r->query = malloc(cap);
		if (r->query == NULL)
			return -1;
		for (int i = 0;; i++)
		{
			int			flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
			int			n;

			if (flen <= 0 || pos + (size_t) flen + 2 > cap)
				break;
			n = lws_hdr_copy_fragment(wsi, r->query + pos, flen + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
			if (n < 0)
				break;
			pos += (size_t) n + 1;
		}
		r->query[pos] = '\0';
		r->query_len = pos + 1;
	}
	r->origin = header_dup(wsi, WSI_TOKEN_ORIGIN);
	r->authorization = header_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	r->host = header_dup(wsi, WSI_TOKEN_HOST);
	if (r->path == NULL)
		return -1;

	if (!is_api_path(r->path) && (r->method == HTTP_M_GET || r->method == HTTP_M_HEAD))
	{
		c->http_static = true;
		/* The page too answers only to this server's names (DNS rebinding). */
		if (r->host == NULL || !codesight_host_allowed(r->host))
		{
			if (lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "host not allowed") ||
				lws_http_transaction_completed(wsi))
				return -1;
			return 0;
		}
		return static_serve(wsi, r->path, cs_static_dir);
	}
	/*
	 * Requests with a non-empty body, whatever their method, continue in
	 * LWS_CALLBACK_HTTP_BODY: the body is read as the body, never as the
	 * next request.
	 */
	{
		char		clen[32];

		if (lws_hdr_copy(wsi, clen, sizeof(clen), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
			strtoll(clen, NULL, 10) > 0)
			return 0;
	}
	return http_dispatch(c);
}

/* Appends a chunk of request body, remembering if it was too large. */
static int
http_body(Conn *c, const void *in, size_t len)
{
	HttpRequest *r = c ? c->http_req : NULL;

	if (r == NULL)
		return -1;
	if (r->body_too_large || r->body_len + len > (size_t) cs_max_http_body_bytes)
	{
		r->body_too_large = true;
		return 0;
	}
	{
		char	   *nb = realloc(r->body, r->body_len + len + 1);

		if (nb == NULL)
			return -1;
		r->body = nb;
	}
	memcpy(r->body + r->body_len, in, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

/*
 * Starts the response to the connection's current request: the status and
 * headers now, the body through net_http_write as it comes.  A
 * content_length of -1 sends the body in chunks (Transfer-Encoding:
 * chunked); otherwise exactly that many bytes must follow.  extra_headers
 * is "Name: value\r\n" lines.
 */
void
net_http_begin(Conn *c, int status, const char *content_type,
			   const char *extra_headers, int64_t content_length)
{
	size_t		clen = strlen(content_type) + 1;
	size_t		elen = (extra_headers ? strlen(extra_headers) : 0) + 1;
	char	   *head;

	if (c->closed || c->wsi == NULL)
		return;
	head = malloc(clen + elen);
	if (head == NULL)
	{
		net_kill(c);
		return;
	}
	/* Layout: content type NUL extra headers NUL. */
	memcpy(head, content_type, clen);
	memcpy(head + clen, extra_headers ? extra_headers : "", elen);
	free(c->http_head);
	c->http_head = head;
	c->http_status = status;
	c->http_head_sent = false;
	c->http_chunked = content_length < 0;
	c->http_length = content_length;
	c->http_written = 0;
	c->http_ended = false;
	c->slen = c->ssent = 0;
	c->http_progress_ms = net_now_ms();
	lws_callback_on_writable(c->wsi);
}

/* Makes room for need more bytes in the unsent body buffer. */
static bool
sbuf_reserve(Conn *c, size_t need)
{
	size_t		ncap;
	char	   *nb;

	if (c->slen + need <= c->scap)
		return true;
	/* Reuse the sent front before growing. */
	if (c->ssent > 0)
	{
		memmove(c->sbuf, c->sbuf + c->ssent, c->slen - c->ssent);
		c->slen -= c->ssent;
		c->ssent = 0;
		if (c->slen + need <= c->scap)
			return true;
	}
	ncap = c->scap ? c->scap : 65536;
	while (ncap < c->slen + need)
		ncap *= 2;
	nb = realloc(c->sbuf, ncap);
	if (nb == NULL)
		return false;
	c->sbuf = nb;
	c->scap = ncap;
	return true;
}

/*
 * Appends a piece of the body.  The caller bounds what is unsent
 * (net_http_pending): the network process stops reading a worker's
 * response while its client has not taken what came before.
 */
void
net_http_write(Conn *c, const char *data, size_t len)
{
	char		head[24];
	int			hlen = 0;

	if (c->closed || c->wsi == NULL || c->http_head == NULL || c->http_ended || len == 0)
		return;
	if (c->http_chunked)
		hlen = snprintf(head, sizeof(head), "%zx\r\n", len);
	if (!sbuf_reserve(c, hlen + len + 2))
	{
		net_kill(c);
		return;
	}
	memcpy(c->sbuf + c->slen, head, hlen);
	memcpy(c->sbuf + c->slen + hlen, data, len);
	c->slen += hlen + len;
	if (c->http_chunked)
	{
		memcpy(c->sbuf + c->slen, "\r\n", 2);
		c->slen += 2;
	}
	lws_callback_on_writable(c->wsi);
}

/* Queues the end of the body (the last chunk, when chunked). */
void
net_http_end(Conn *c)
{
	if (c->closed || c->wsi == NULL || c->http_head == NULL || c->http_ended)
		return;
	if (c->http_chunked)
	{
		if (!sbuf_reserve(c, 5))
		{
			net_kill(c);
			return;
		}
		memcpy(c->sbuf + c->slen, "0\r\n\r\n", 5);
		c->slen += 5;
	}
	c->http_ended = true;
	lws_callback_on_writable(c->wsi);
}

/*
 * Ends a response that failed after its head went out: what was queued is
 * still written, then the connection is dropped without the last chunk,
 * so every HTTP client sees the body as incomplete.
 */
void
net_http_abort(Conn *c)
{
	if (c->closed || c->wsi == NULL)
		return;
	c->http_ended = true;
	c->http_aborted = true;		/* ended by closing, once the queue is written */
	lws_callback_on_writable(c->wsi);
}

/* Stores and starts sending a whole response (headers and body). */
void
net_http_respond(Conn *c, int status, const char *content_type,
				 const char *extra_headers, const char *body, size_t len)
{
	net_http_begin(c, status, content_type, extra_headers, (int64_t) len);
	net_http_write(c, body, len);
	net_http_end(c);
}

/* Bytes of the response queued but not yet written. */
size_t
net_http_pending(Conn *c)
{
	return c->slen - c->ssent;
}

/* Writes the status line and headers of the current response. */
static int
http_write_headers(Conn *c)
{
	unsigned char hbuf[LWS_PRE + 4096];
	unsigned char *start = hbuf + LWS_PRE,
			   *p = start,
			   *end = hbuf + sizeof(hbuf) - 1;
	const char *ctype = c->http_head;
	const char *extra = ctype + strlen(ctype) + 1;

	if (lws_add_http_common_headers(c->wsi, (unsigned int) c->http_status, ctype,
									c->http_chunked ? LWS_ILLEGAL_HTTP_CONTENT_LEN : (lws_filepos_t) c->http_length,
									&p, end))
		return -1;
	if (c->http_chunked &&
		lws_add_http_header_by_name(c->wsi, (unsigned char *) "transfer-encoding:",
									(unsigned char *) "chunked", 7, &p, end))
		return -1;
	while (*extra)
	{
		const char *colon = strchr(extra, ':');
		const char *eol = strstr(extra, "\r\n");
		char		name[128];
		size_t		nlen;

		if (colon == NULL || eol == NULL || colon > eol)
			break;
		nlen = colon - extra + 1;
		if (nlen >= sizeof(name))
			return -1;
		memcpy(name, extra, nlen);
		name[nlen] = '\0';
		for (size_t i = 0; i < nlen; i++)
			name[i] = (char) tolower((unsigned char) name[i]);
		colon++;
		while (*colon == ' ')
			colon++;
		if (lws_add_http_header_by_name(c->wsi, (unsigned char *) name,
										(unsigned char *) colon, (int) (eol - colon), &p, end))
			return -1;
		extra = eol + 2;
	}
	if (lws_finalize_write_http_header(c->wsi, start, &p, end))
		return -1;
	c->http_head_sent = true;
	return 0;
}

/* Ends an HTTP transaction: frees the response, keeps or closes the connection. */
static int
http_done(Conn *c)
{
	free(c->http_head);
	c->http_head = NULL;
	c->slen = c->ssent = 0;
	c->http_ended = false;
	http_req_free(c->http_req);
	c->http_req = NULL;
	if (lws_http_transaction_completed(c->wsi))
		return -1;
	return 0;
}

/*
 * Writes the next piece of the response: the head, then the body as it
 * was queued; completes the transaction once the whole body is written.
 *
 * Until the network process knows the response is complete (net_http_end),
 * the client must not be able to see it complete: a keep-alive client then
 * sends its next request at once, lws buffers it while the transaction is
 * still open, and completing the transaction later, outside the write that
 * ended the body, left lws 4.1 looping over that buffered request.  So the
 * last byte of a body of known length (or, with none, the head) is held
 * back until the end is known, and is written with LWS_WRITE_HTTP_FINAL in
 * the same callback that completes the transaction.
 */
static int
http_writeable(Conn *c)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t		n;
	bool		last;
	bool		head_only = c->http_req != NULL && c->http_req->method == HTTP_M_HEAD;

	if (c->http_head == NULL)
		return 0;
	if (!c->http_head_sent)
	{
		bool		head_completes = head_only || (!c->http_chunked && c->http_length == 0);

		if (head_completes && !c->http_ended)
			return 0;			/* asked again once the end is known */
		if (http_write_headers(c) < 0)
			return -1;
		if (head_completes)
			return http_done(c);
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	n = c->slen - c->ssent;
	if (!c->http_chunked && !c->http_ended && c->http_written + (int64_t) n >= c->http_length)
		n = c->http_length - c->http_written - 1;	/* hold the last byte */
	if (n == 0)
	{
		if (!c->http_ended)
			return 0;			/* the network process queues more and asks again */
		/* An aborted response (or one short of its length) ends here. */
		return -1;
	}
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	last = c->http_ended && !c->http_aborted && c->ssent + n == c->slen;
	memcpy(buf + LWS_PRE, c->sbuf + c->ssent, n);
	if (lws_write(c->wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
		return -1;
	c->ssent += n;
	c->http_written += n;
	c->http_progress_ms = net_now_ms();
	if (last)
		return http_done(c);
	if (c->ssent < c->slen || (c->http_ended && c->http_aborted))
		lws_callback_on_writable(c->wsi);
	return 0;
}

/*
 * Unfinished handshakes per client address.  A socket counts from its
 * accept until its first request's headers are complete (or it is gone).
 * Once UNFINISHED_PRESSURE of them are open in all, an address holding
 * MAX_UNFINISHED_PER_ADDRESS is refused more, so a slowloris from one host
 * can not take libwebsockets' header buffers from everyone else (more than
 * 256 such sockets once delayed every handshake by 9 s), while a burst of
 * connections from one benign host (a load test, a proxy) opens freely on
 * a quiet server.  Sockets are found by fd: a new socket on an fd still
 * counted means the old one closed before finishing; the sweep drops
 * counts older than any lws timeout.  Runs in callbacks: malloc only.
 */
#define MAX_UNFINISHED_PER_ADDRESS 64
#define UNFINISHED_PRESSURE 1024
#define UNFINISHED_STALE_MS 30000.0
#define ADDR_BUCKETS 1024

typedef struct AddrCount
{
	struct AddrCount *next;
	int			n;
	char		addr[64];
} AddrCount;

typedef struct Unfinished
{
	AddrCount  *addr;			/* NULL: the fd is not counted */
	double		since;
} Unfinished;

static AddrCount *addr_buckets[ADDR_BUCKETS];
static Unfinished *unfinished = NULL;	/* indexed by fd */
static int	unfinished_len = 0;
static int	unfinished_total = 0;

/* The count record of an address, created when create. */
static AddrCount *
addr_count(const char *addr, bool create)
{
	uint32_t	h = 2166136261u;
	AddrCount  *a;

	for (const char *p = addr; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	h %= ADDR_BUCKETS;
	for (a = addr_buckets[h]; a; a = a->next)
		if (strcmp(a->addr, addr) == 0)
			return a;
	if (!create || (a = calloc(1, sizeof(AddrCount))) == NULL)
		return NULL;
	snprintf(a->addr, sizeof(a->addr), "%s", addr);
	a->next = addr_buckets[h];
	addr_buckets[h] = a;
	return a;
}

/* Stops counting the socket on fd. */
static void
unfinished_release(int fd)
{
	AddrCount  *a;

	if (fd < 0 || fd >= unfinished_len || (a = unfinished[fd].addr) == NULL)
		return;
	unfinished[fd].addr = NULL;
	unfinished_total--;
	if (--a->n == 0)
	{
		uint32_t	h = 2166136261u;
		AddrCount **link;

		for (const char *p = a->addr; *p; p++)
			h = (h ^ (unsigned char) *p) * 16777619u;
		for (link = &addr_buckets[h % ADDR_BUCKETS]; *link != a; link = &(*link)->next)
			;
		*link = a->next;
		free(a);
	}
}

/*
 * A socket was accepted: counts it against its address, or refuses it
 * (nonzero) when the address holds too many unfinished handshakes.
 */
static int
unfinished_admit(int fd)
{
	struct sockaddr_storage ss;
	socklen_t	sl = sizeof(ss);
	char		addr[64];
	AddrCount  *a;

	if (fd < 0 || fd >= unfinished_len)
		return 0;				/* beyond the fd limit lws refuses it anyway */
	unfinished_release(fd);		/* a socket that closed before finishing */
	if (getpeername(fd, (struct sockaddr *) &ss, &sl) != 0)
		return 1;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, addr, sizeof(addr));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, addr, sizeof(addr));
	else
		return 0;
	a = addr_count(addr, true);
	if (a == NULL)
		return 1;				/* fail closed */
	if (a->n >= MAX_UNFINISHED_PER_ADDRESS && unfinished_total >= UNFINISHED_PRESSURE)
		return 1;
	a->n++;
	unfinished_total++;
	unfinished[fd].addr = a;
	unfinished[fd].since = net_now_ms();
	return 0;
}

/* The first request's headers are in: the socket no longer counts. */
static void
unfinished_done(struct lws *wsi)
{
	unfinished_release((int) lws_get_socket_fd(wsi));
}

/* Drops counts older than any lws timeout (their sockets are gone). */
static void
unfinished_sweep(double now_ms)
{
	for (int fd = 0; fd < unfinished_len; fd++)
		if (unfinished[fd].addr && now_ms - unfinished[fd].since > UNFINISHED_STALE_MS)
			unfinished_release(fd);
}

/* The one protocol callback: WebSocket and HTTP on the same vhost. */
static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	Pss		   *pss = (Pss *) user;
	Conn	   *c = pss ? pss->conn : NULL;

	switch (reason)
	{
		case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
			return unfinished_admit((int) (intptr_t) in);
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
			unfinished_done(wsi);
			return ws_filter(wsi);
		case LWS_CALLBACK_ESTABLISHED:
			return ws_established(wsi, pss);
		case LWS_CALLBACK_RECEIVE:
			return ws_receive(wsi, c, in, len);
		case LWS_CALLBACK_SERVER_WRITEABLE:
			if (c == NULL)
				return 0;
			return ws_writeable(c);
		case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
			if (c && len >= 2)
				c->peer_close_code = (((const unsigned char *) in)[0] << 8) |
					((const unsigned char *) in)[1];
			return 0;
		case LWS_CALLBACK_CLOSED:
			if (c)
				conn_closed(c);
			pss->conn = NULL;
			return 0;

		case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
			unfinished_done(wsi);
			if (http_filter(wsi) == 0)
				return 0;
			lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
								   "ambiguous request body framing");
			return -1;
		case LWS_CALLBACK_HTTP:
			if (shutting_down)
				return -1;
			return http_request(wsi, pss, (const char *) in);
		case LWS_CALLBACK_HTTP_BODY:
			return http_body(c, in, len);
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
			if (c == NULL || c->http_req == NULL)
				return -1;
			return http_body_end(c);
		case LWS_CALLBACK_HTTP_WRITEABLE:
			if (c == NULL)
				return 0;
			return http_writeable(c);
		case LWS_CALLBACK_HTTP_FILE_COMPLETION:
			if (c)
			{
				http_req_free(c->http_req);
				c->http_req = NULL;
			}
			if (lws_http_transaction_completed(wsi))
				return -1;
			return 0;
		case LWS_CALLBACK_HTTP_DROP_PROTOCOL:

			/*
			 * lws frees the per-session data at the end of every HTTP
			 * transaction (a keep-alive connection is rebound for the next
			 * request with fresh, zeroed data) and when the socket closes.
			 * The connection record goes with it: one left behind would
			 * keep a pointer to a wsi that lws frees when the client
			 * leaves.
			 */
		case LWS_CALLBACK_CLOSED_HTTP:
			if (c && !c->is_ws)
			{
				conn_closed(c);
				pss->conn = NULL;
			}
			return 0;
		default:
			break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static struct lws_protocols protocols[] = {
	/*
	 * 4 KB receive chunks: lws keeps one per connection, so 64 KB made
	 * 10,000 idle connections cost 240 MB (bench/README.md); larger
	 * messages simply arrive in more pieces.
	 */
	{"codesight", callback, sizeof(Pss), 4096, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}
};

/*
 * Raises the process's open-file limit toward max_conns: PostgreSQL is
 * often started with a soft limit of 1024, and libwebsockets sizes its
 * table of connections from the limit when the context is created.
 */
static void
raise_fd_limit(int max_conns)
{
	struct rlimit rl;
	rlim_t		want = (rlim_t) max_conns + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
		fprintf(stderr, "codesight: the open-file limit (%llu) allows fewer connections than codesight.max_connections; raise it (ulimit -n, LimitNOFILE)\n",
				(unsigned long long) rl.rlim_cur);
}

/*
 * Creates the libwebsockets context on the given libuv loop and starts
 * listening.  Returns false with a message if the port can not be bound.
 */
bool
net_start(struct uv_loop_s *loop, const char *address, int port,
		  const char *cert, const char *key, int max_conns, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	static void *foreign_loops[1];

	lws_set_log_level(LLL_ERR, lws_log_emit);
	memset(&info, 0, sizeof(info));
	foreign_loops[0] = loop;
	info.foreign_loops = foreign_loops;
	info.port = port;
	info.iface = (address && *address && strcmp(address, "*") != 0) ? address : NULL;
	info.protocols = protocols;
	info.gid = (gid_t) -1;
	info.uid = (uid_t) -1;
	info.options = LWS_SERVER_OPTION_LIBUV |
		LWS_SERVER_OPTION_VALIDATE_UTF8 |
		LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
		LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
	if (address && strchr(address, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.fd_limit_per_thread = (unsigned int) max_conns + 128;
	/* Silent sockets (TLS handshakes, request bodies) are dropped after 10 s. */
	info.timeout_secs = 10;
	info.max_http_header_data = 8192;

	/*
	 * Header buffers are allocated as sockets need them; the default pool
	 * of 256 let that many sockets with unfinished headers delay every
	 * new handshake.  With up to 4096, a short wait for headers and the
	 * per-address limit above, they do not.
	 */
	info.max_http_header_pool2 = 4096;
	info.timeout_secs_ah_idle = 5;
	info.pt_serv_buf_size = 65536;
	info.keepalive_timeout = 30;
	if (cert && *cert)
	{
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
		/* TLS 1.2 with forward-secret AEAD ciphers only, and TLS 1.3. */
		info.ssl_cipher_list = "ECDHE+AESGCM:ECDHE+CHACHA20";
		info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
	}
	free(unfinished);
	unfinished_len = (int) info.fd_limit_per_thread + 64;
	unfinished = calloc(unfinished_len, sizeof(Unfinished));
	if (unfinished == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	raise_fd_limit(max_conns);
	max_connections = max_conns;
	shutting_down = false;
	backpressure = false;
	npaused = 0;
	context = lws_create_context(&info);
	if (context == NULL)
	{
		snprintf(err, errlen, "could not start listening on %s:%d", address ? address : "*", port);
		return false;
	}
	return true;
}

/* Asks every connection to close (WebSocket with code) and refuses new ones. */
void
net_begin_shutdown(int code, const char *reason)
{
	shutting_down = true;
	for (Conn *c = conns; c; c = c->next)
	{
		if (c->is_ws)
			net_close(c, code, reason);
		else if (c->http_head == NULL && c->http_req == NULL)
			net_kill(c);
	}
}

/* Connections not yet closed. */
int
net_open_connections(void)
{
	return nconns;
}

/* Destroys the context; the caller then runs the loop until handles close. */
void
net_destroy(void)
{
	if (context == NULL)
		return;
	lws_context_destroy(context);
	context = NULL;
	/* Any connection lws did not report closed is gone with the context. */
	while (conns)
		conn_closed(conns);
	for (int fd = 0; fd < unfinished_len; fd++)
		unfinished_release(fd);
	free(unfinished);
	unfinished = NULL;
	unfinished_len = 0;
	unfinished_total = 0;
}

/*
 * Periodic housekeeping: drops WebSocket connections silent for longer than
 * idle_ms (a vanished peer or a half-sent frame), and sends the v1 ping.
 */
void
net_sweep(double now_ms, double idle_ms, bool send_ping)
{
	StrBuf		ping;

	unfinished_sweep(now_ms);
	strbuf_init(&ping);
	proto_write_ping(&ping, now_ms, false);
	if (ping.failed)
		send_ping = false;

	for (Conn *c = conns; c; c = c->next)
	{
		if (!c->is_ws)
			continue;
		if (now_ms - c->last_msg_ms > idle_ms)
		{
			net_kill(c);
			continue;
		}
		if (send_ping)
			net_send_text(c, ping.data, ping.len);
	}
	strbuf_free(&ping);
}

/* Stops or resumes reading from one client. */
static void
set_paused(Conn *c, bool on)
{
	if (c->rx_paused == on || c->wsi == NULL)
		return;
	lws_rx_flow_control(c->wsi, on ? 0 : 1);
	c->rx_paused = on;
	npaused += on ? 1 : -1;
}

/*
 * Turns backpressure on (stop reading while the queue is full) or off.
 * Called every turn: costs nothing while no client is paused.
 */
void
net_set_backpressure(bool on)
{
	backpressure = on;
	if (on || npaused == 0)
		return;
	for (Conn *c = conns; c; c = c->next)
		if (c->rx_paused && !c->hold_paused)
			set_paused(c, false);
}

/* Stops reading one client (its messages are held) or lets it go on. */
void
net_pause(Conn *c, bool on)
{
	c->hold_paused = on;
	if (on)
		set_paused(c, true);
	else if (!backpressure)
		set_paused(c, false);
}

/* True when the client's address is loopback. */
bool
net_peer_is_loopback(Conn *c)
{
	return strncmp(c->peer, "127.", 4) == 0 || strcmp(c->peer, "::1") == 0 ||
		strncmp(c->peer, "::ffff:127.", 11) == 0;
}

/* Figures for health and metrics. */
void
net_get_stats(NetStats *st)
{
	st->connections = nconns;
	st->queued_messages = queued_messages;
	st->queued_bytes = queued_bytes;
	st->rx_paused = 0;
	for (Conn *c = conns; c; c = c->next)
		if (c->rx_paused)
			st->rx_paused++;
}
