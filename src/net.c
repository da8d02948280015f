/*-------------------------------------------------------------------------
 *
 * net.c
 *	  libwebsockets server on the worker's libuv loop: WebSocket stream,
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <libwebsockets.h>
#include <uv.h>

#include "guc.h"
#include "net.h"
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
static int	nreceiving = 0;		/* connections holding part of a message */
static bool shutting_down = false;
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
	free(c->http_resp);
	free(c->sbuf);
	http_req_free(c->http_req);
	free(c);
}

/* Appends a message to the worker's inbound queue (takes a conn ref). */
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

/* Queues a notice about the connection (opened or closed) for the worker. */
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
	if (c->rx_msg != NULL)
	{
		free(c->rx_msg);
		c->rx_msg = NULL;
		c->rx_cap = 0;
		nreceiving--;
	}
	enqueue_notice(c, IN_CLOSED);
	conn_free_if_unused(c);
}

/*
 * Whether some connection has received part of a message: more of the
 * batch is on its way, so committing now would split it.
 */
bool
net_receiving(void)
{
	return nreceiving > 0;
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
 * already the InMsg the worker will get: completing a message hands it
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
		{
			nm->len = 0;
			nreceiving++;
		}
		c->rx_msg = nm;
		c->rx_cap = ncap;
	}
	memcpy(c->rx_msg->data + have, in, len);
	c->rx_msg->len = have + len;
	return true;
}

/* Hands a complete text message to the worker. */
static void
rx_complete(Conn *c)
{
	InMsg	   *m = c->rx_msg;

	/* Idle connections hold no buffer: most of them are idle. */
	c->rx_msg = NULL;
	c->rx_cap = 0;
	nreceiving--;
	m->kind = IN_WS_TEXT;
	m->conn = c;
	m->received_ms = c->last_msg_ms = net_now_ms();
	m->data[m->len] = '\0';
	enqueue(m);
	if ((backpressure || queued_bytes > MAX_QUEUED_BYTES) && !c->rx_paused)
	{
		lws_rx_flow_control(c->wsi, 0);
		c->rx_paused = true;
	}
}

/* Queues a synthetic hello carrying a token from the upgrade request. */
static void
queue_header_token(Conn *c, const char *token)
{
	static const char prefix[] = "{\"type\":\"hello\",\"token\":\"";
	size_t		tlen = strlen(token);
	InMsg	   *m;
	char	   *w;

	/* Tokens are [A-Za-z0-9_]; anything else can not be valid. */
	for (size_t i = 0; i < tlen; i++)
		if (!isalnum((unsigned char) token[i]) && token[i] != '_')
			return;
	m = malloc(sizeof(InMsg) + sizeof(prefix) + tlen + 3);
	if (m == NULL)
		return;
	w = m->data;
	memcpy(w, prefix, sizeof(prefix) - 1);
	w += sizeof(prefix) - 1;
	memcpy(w, token, tlen);
	w += tlen;
	memcpy(w, "\"}", 3);
	m->kind = IN_WS_TEXT;
	m->conn = c;
	m->len = strlen(m->data);
	m->received_ms = net_now_ms();
	c->auth_from_header = true;
	enqueue(m);
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
 * Decides on a WebSocket upgrade before it is accepted: the path must be
 * /extension-ws, the Origin allowed, and there must be room.
 */
static int
ws_filter(struct lws *wsi)
{
	char		uri[256];
	char		origin[256];
	int			n;

	if (shutting_down || nconns >= max_connections)
		return 1;
	n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
	if (n <= 0 || strcmp(uri, "/extension-ws") != 0)
		return 1;
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) > 0 &&
		!codesight_origin_allowed(origin))
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
		char		greet[256];

		snprintf(greet, sizeof(greet),
				 "{\"type\":\"connected\",\"protocol\":2,\"maxMessageBytes\":%d,"
				 "\"maxBatchEvents\":1000,\"authRequired\":%s}",
				 cs_max_message_bytes, codesight_auth_required() ? "true" : "false");
		net_send_text(c, greet, strlen(greet));
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
 * Queues a finished HTTP request for the worker, once: lws may report the
 * end of a body that was empty or already complete (a zero Content-Length,
 * malformed Transfer-Encoding headers), and answering each report again
 * would loop.
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

/* True for paths the worker answers (API), false for static files. */
static bool
is_api_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
		strcmp(path, "/health") == 0 || strcmp(path, "/metrics") == 0 ||
		strcmp(path, "/extension-ws") == 0;
}

/*
 * Refuses requests whose body framing is ambiguous, before anything reads
 * the body: any Transfer-Encoding (no route takes a chunked body) and a
 * Content-Length that is not one plain number (two headers are joined with
 * a comma).  Such requests are how one request is smuggled inside another;
 * closing the connection leaves nothing to misread.
 */
static int
http_filter(struct lws *wsi)
{
	char		clen[64];
	int			n;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
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

/* Starts handling an HTTP request: static file now, API via the worker. */
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
	if (c->http_req != NULL || c->http_resp != NULL)
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
		/* lws keeps args as fragments; rebuild the a=1&b=2 form. */
		size_t		cap = (size_t) qlen * 2 + 16;

		r->query = malloc(cap);
		if (r->query)
		{
			size_t		pos = 0;

			for (int i = 0;; i++)
			{
				char		frag[1024];
				int			n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);

				if (n <= 0 || pos + (size_t) n + 2 > cap)
					break;
				if (pos)
					r->query[pos++] = '&';
				memcpy(r->query + pos, frag, n);
				pos += n;
			}
			r->query[pos] = '\0';
		}
	}
	r->origin = header_dup(wsi, WSI_TOKEN_ORIGIN);
	r->authorization = header_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	r->host = header_dup(wsi, WSI_TOKEN_HOST);
	if (r->path == NULL)
		return -1;

	if (!is_api_path(r->path) && (r->method == HTTP_M_GET || r->method == HTTP_M_HEAD))
	{
		c->http_static = true;
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
 * Stores a response for the connection's current request; sent when the
 * socket is writable.  extra_headers is "Name: value\r\n" lines.
 */
void
net_http_respond(Conn *c, int status, const char *content_type,
				 const char *extra_headers, const char *body, size_t len)
{
	size_t		hlen;
	char	   *buf;

	if (c->closed || c->wsi == NULL)
		return;
	hlen = strlen(content_type) + 1 + (extra_headers ? strlen(extra_headers) : 0) + 1;
	buf = malloc(hlen + len + 1);
	if (buf == NULL)
	{
		net_kill(c);
		return;
	}
	/* Layout: content type NUL extra headers NUL body. */
	memcpy(buf, content_type, strlen(content_type) + 1);
	memcpy(buf + strlen(content_type) + 1, extra_headers ? extra_headers : "",
		   (extra_headers ? strlen(extra_headers) : 0) + 1);
	memcpy(buf + hlen, body, len);
	free(c->http_resp);
	c->http_resp = buf;
	c->http_resp_len = hlen + len;
	c->http_resp_sent = 0;
	c->http_status = status;
	lws_callback_on_writable(c->wsi);
}

/* Writes the status line and headers of the stored response. */
static int
http_write_headers(Conn *c)
{
	unsigned char hbuf[LWS_PRE + 4096];
	unsigned char *start = hbuf + LWS_PRE,
			   *p = start,
			   *end = hbuf + sizeof(hbuf) - 1;
	const char *ctype = c->http_resp;
	const char *extra = ctype + strlen(ctype) + 1;
	size_t		hlen = strlen(ctype) + 1 + strlen(extra) + 1;
	size_t		body_len = c->http_resp_len - hlen;

	if (lws_add_http_common_headers(c->wsi, (unsigned int) c->http_status, ctype,
									c->http_streaming ? LWS_ILLEGAL_HTTP_CONTENT_LEN : (lws_filepos_t) body_len,
									&p, end))
		return -1;
	if (c->http_streaming &&
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
	c->http_resp_sent = hlen;
	return 0;
}

/* Ends an HTTP transaction: frees the response, keeps or closes the connection. */
static int
http_done(Conn *c)
{
	free(c->http_resp);
	c->http_resp = NULL;
	free(c->sbuf);
	c->sbuf = NULL;
	c->slen = c->scap = c->ssent = 0;
	c->http_streaming = false;
	c->stream_ended = false;
	http_req_free(c->http_req);
	c->http_req = NULL;
	if (lws_http_transaction_completed(c->wsi))
		return -1;
	return 0;
}

/* Writes the next piece of a streamed body as the worker produces it. */
static int
http_stream_writeable(Conn *c)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t		n;
	bool		last;

	if (c->http_resp_sent == 0)
	{
		if (http_write_headers(c) < 0)
			return -1;
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	n = c->slen - c->ssent;
	if (n == 0)
		return 0;				/* the worker will add more and ask again */
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	last = c->stream_ended && c->ssent + n == c->slen;
	memcpy(buf + LWS_PRE, c->sbuf + c->ssent, n);
	if (lws_write(c->wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
		return -1;
	c->ssent += n;
	if (last)
		return http_done(c);
	if (c->ssent > c->scap / 2)
	{
		memmove(c->sbuf, c->sbuf + c->ssent, c->slen - c->ssent);
		c->slen -= c->ssent;
		c->ssent = 0;
	}
	if (c->ssent < c->slen)
		lws_callback_on_writable(c->wsi);
	return 0;
}

/* Starts a streamed response: headers now, the body in chunks later. */
void
net_http_stream_begin(Conn *c, int status, const char *content_type, const char *extra_headers)
{
	net_http_respond(c, status, content_type, extra_headers, "", 0);
	c->http_streaming = true;
}

/* Appends a chunk (framed for chunked transfer encoding) to a streamed body. */
void
net_http_stream_write(Conn *c, const char *data, size_t len)
{
	char		head[24];
	int			hlen;
	size_t		need;

	if (c->closed || c->wsi == NULL || !c->http_streaming || len == 0)
		return;
	hlen = snprintf(head, sizeof(head), "%zx\r\n", len);
	need = c->slen + hlen + len + 2;
	if (need > c->scap)
	{
		size_t		ncap = c->scap ? c->scap : 65536;
		char	   *nb;

		while (ncap < need)
			ncap *= 2;
		nb = realloc(c->sbuf, ncap);
		if (nb == NULL)
		{
			net_kill(c);
			return;
		}
		c->sbuf = nb;
		c->scap = ncap;
	}
	memcpy(c->sbuf + c->slen, head, hlen);
	memcpy(c->sbuf + c->slen + hlen, data, len);
	memcpy(c->sbuf + c->slen + hlen + len, "\r\n", 2);
	c->slen = need;
	lws_callback_on_writable(c->wsi);
}

/* Queues the last chunk of a streamed body. */
void
net_http_stream_end(Conn *c)
{
	if (c->closed || c->wsi == NULL || !c->http_streaming)
		return;
	if (c->scap < c->slen + 5)
	{
		char	   *nb = realloc(c->sbuf, c->slen + 5);

		if (nb == NULL)
		{
			net_kill(c);
			return;
		}
		c->sbuf = nb;
		c->scap = c->slen + 5;
	}
	memcpy(c->sbuf + c->slen, "0\r\n\r\n", 5);
	c->slen += 5;
	c->stream_ended = true;
	lws_callback_on_writable(c->wsi);
}

/* Bytes of a streamed body produced but not yet written. */
size_t
net_http_stream_pending(Conn *c)
{
	return c->slen - c->ssent;
}

/* Sends the stored response in chunks; completes the transaction at the end. */
static int
http_writeable(Conn *c)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t		remaining;
	size_t		n;
	bool		last;

	if (c->http_resp == NULL)
		return 0;
	if (c->http_streaming)
		return http_stream_writeable(c);
	if (c->http_resp_sent == 0)
	{
		if (http_write_headers(c) < 0)
			return -1;
		if (c->http_resp_sent == c->http_resp_len || c->http_req == NULL ||
			c->http_req->method == HTTP_M_HEAD)
			goto done;
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	remaining = c->http_resp_len - c->http_resp_sent;
	n = remaining > HTTP_CHUNK ? HTTP_CHUNK : remaining;
	last = (n == remaining);
	memcpy(buf + LWS_PRE, c->http_resp + c->http_resp_sent, n);
	if (lws_write(c->wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
		return -1;
	c->http_resp_sent += n;
	if (!last)
	{
		lws_callback_on_writable(c->wsi);
		return 0;
	}
done:
	return http_done(c);
}

/* The one protocol callback: WebSocket and HTTP on the same vhost. */
static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	Pss		   *pss = (Pss *) user;
	Conn	   *c = pss ? pss->conn : NULL;

	switch (reason)
	{
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
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
			return http_dispatch(c);
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
	info.timeout_secs = 20;
	info.max_http_header_data = 8192;
	info.max_http_header_pool = 256;
	info.pt_serv_buf_size = 65536;
	info.keepalive_timeout = 30;
	if (cert && *cert)
	{
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
	}
	raise_fd_limit(max_conns);
	max_connections = max_conns;
	shutting_down = false;
	backpressure = false;
	nreceiving = 0;
	context = lws_create_context(&info);
	if (context == NULL)
	{
		snprintf(err, errlen, "could not start listening on %s:%d", address ? address : "*", port);
		return false;
	}
	return true;
}

/* True while the context exists. */
bool
net_running(void)
{
	return context != NULL;
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
		else if (c->http_resp == NULL && c->http_req == NULL)
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
}

/*
 * Periodic housekeeping: drops WebSocket connections silent for longer than
 * idle_ms (a vanished peer or a half-sent frame), and sends the v1 ping.
 */
void
net_sweep(double now_ms, double idle_ms, bool send_ping)
{
	char		ping[64];
	size_t		plen = (size_t) snprintf(ping, sizeof(ping),
										 "{\"type\":\"ping\",\"timestamp\":%.0f}", now_ms);

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
			net_send_text(c, ping, plen);
	}
}

/* Turns backpressure on (stop reading while the queue is full) or off. */
void
net_set_backpressure(bool on)
{
	backpressure = on;
	if (on)
		return;
	for (Conn *c = conns; c; c = c->next)
		if (c->rx_paused && c->wsi)
		{
			lws_rx_flow_control(c->wsi, 1);
			c->rx_paused = false;
		}
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
