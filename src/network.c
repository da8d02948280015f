/*-------------------------------------------------------------------------
 *
 * network.c
 *	  The network process: the one process that owns the sockets.  It
 *	  serves the WebSocket stream, the HTTP API and the web page on one
 *	  port, and hands everything that needs the database to its pool
 *	  (pool.c): stream messages to the ingest workers, by session, and API
 *	  requests to the HTTP workers.  It never waits for anything but its
 *	  own WaitEventSet, so nothing slow (an export, a hung S3 endpoint, a
 *	  lock) can stall the acks of the recording workers.
 *
 * The loop waits in ONE WaitEventSet on the process latch (signals, the
 * pool's queues and the postmaster's notices about the pool's workers all
 * set it), postmaster death and the libuv loop's backend fd, with libuv's
 * next timer as the timeout.  After each wait, uv_run(NOWAIT) lets
 * libwebsockets move bytes; then, outside any libwebsockets or libuv frame:
 *
 *	 1. what the callbacks queued is routed: a stream message goes to the
 *		ingest worker of its session (proto_peek finds the sessionId without
 *		parsing; the worker parses and checks), ping and pong are answered
 *		here, a hello goes to an ingest worker and the connection's next
 *		messages wait for its answer; an HTTP request is answered here when
 *		it needs no database (preflight, refused host or origin, rate limit,
 *		/health) or queued for the next free HTTP worker;
 *	 2. what the workers sent back is written to the sockets: acks and
 *		answers, a hello's outcome, HTTP responses piece by piece, read from
 *		a worker only while its client takes what came before;
 *	 3. what could not be sent waits in the pool's lists; past
 *		max_queue_events the process stops reading from clients.
 *
 * The process connects to no database: it runs no SQL at all.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <uv.h>

#include "libpq/pqsignal.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "http_api.h"
#include "http_util.h"
#include "metrics.h"
#include "net.h"
#include "pool.h"
#include "protocol.h"
#include "ratelimit.h"
#include "shmem.h"
#include "wire.h"
#include "worker.h"

PGDLLEXPORT void codesight_network_main(Datum main_arg);

#define PING_INTERVAL_MS 30000
#define SWEEP_INTERVAL_MS 1000
#define SHUTDOWN_FLUSH_MS 3000
#define MAX_HELD 64				/* messages held per connection during a hello */
#define HTTP_MAX_PENDING (1024 * 1024)	/* unsent response bytes per client */
#define HTTP_STALL_MS 30000		/* a client that takes nothing this long is dropped */
#define HTTP_STALL_BUSY_MS 2000	/* ... or this long while requests wait for a worker */
#define HTTP_MAX_JOBS 1024		/* requests waiting for a worker */
#define POOL_RECEIVE_BATCH 256	/* messages taken from one worker per turn */

static volatile sig_atomic_t got_sigterm = false;

/* Connections by id, for the workers' answers. */
typedef struct ConnEntry
{
	uint64		id;				/* hash key */
	Conn	   *conn;
} ConnEntry;

static HTAB *conn_map = NULL;

/* An HTTP request waiting for a worker. */
typedef struct HttpJob
{
	struct HttpJob *next;
	Conn	   *conn;			/* holds a reference */
	double		queued_ms;
} HttpJob;

/* What the network process knows of each HTTP worker's current request. */
typedef struct HttpSlot
{
	bool		busy;
	uint64		conn_id;
	uint64		req_id;
	bool		head_done;		/* the response's head went to the client */
	bool		discard;		/* the client is gone: drop the rest */
} HttpSlot;

static HttpJob *job_head = NULL;
static HttpJob *job_tail = NULL;
static int	njobs = 0;
static HttpSlot *http_slots = NULL;
static int	ningest = 0;
static int	nhttp = 0;
static uint64 ingest_sent[POOL_MAX_INGEST];	/* stream messages sent, per worker */
static uint64 seen_auth_epoch = 0;

/* SIGTERM: ask the loop to shut down cleanly. */
static void
network_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Registers the network process with the postmaster; called from _PG_init. */
void
codesight_register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "codesight");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "codesight_network_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "codesight network");
	snprintf(worker.bgw_type, BGW_MAXLEN, "codesight network");
	RegisterBackgroundWorker(&worker);
}

/*
 * Serves interrupts after a wait: ProcSignal barriers, memory-context
 * dumps, a reload.  SIGINT (cancel) is ignored here: there is never a
 * query to cancel.
 */
static void
after_wait(void)
{
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	codesight_apply_reload();
}

/* Publishes whether the network process listens. */
static void
publish_listening(bool listening)
{
	if (cs_shared == NULL)
		return;
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->listening = listening;
	cs_shared->port = cs_port;
	SpinLockRelease(&cs_shared->mutex);
}

/* The id map: every connection the workers may answer. */
static void
map_add(Conn *c)
{
	bool		found;
	ConnEntry  *e;

	if (c->in_map)
		return;
	e = hash_search(conn_map, &c->id, HASH_ENTER, &found);
	e->conn = c;
	c->in_map = true;
	c->refs++;
}

static Conn *
map_find(uint64 id)
{
	ConnEntry  *e = hash_search(conn_map, &id, HASH_FIND, NULL);

	return e ? e->conn : NULL;
}

static void
map_remove(Conn *c)
{
	if (!c->in_map)
		return;
	hash_search(conn_map, &c->id, HASH_REMOVE, NULL);
	c->in_map = false;
	net_conn_release(c);
}

/* pool_send's release for a stream message and for malloc'd payloads. */
static void
release_inmsg(void *m)
{
	net_free_message((InMsg *) m);
}

static void
release_malloc(void *p)
{
	free(p);
}

/* A header describing the connection, as the workers see it. */
static void
stamp(WireHeader *h, WireKind kind, Conn *c)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->conn_id = c->id;
	if (c->authenticated)
	{
		h->flags |= WF_AUTHENTICATED;
		if (c->admin)
			h->flags |= WF_ADMIN;
		h->worker_id = c->worker_id;
		strlcpy(h->token_id, c->token_id, sizeof(h->token_id));
	}
}

/* The ingest worker for messages naming no session: by connection. */
static int
ingest_for_conn(Conn *c)
{
	return (int) (c->id % (uint64) ningest);
}

/* Sends a stream message to an ingest worker (the message is consumed). */
static void
to_ingest(int index, InMsg *m, uint16 flags)
{
	WireHeader	h;
	int			slot = pool_slot_of(POOL_INGEST, index);

	stamp(&h, W_WS_MESSAGE, m->conn);
	h.flags |= flags;
	h.received_ms = m->received_ms;
	h.len = (uint32) m->len;
	m->conn->ingest_mask |= 1u << index;
	ingest_sent[index]++;
	pool_send(slot, &h, m->data, release_inmsg, m);
}

/* Answers a client text message directly (errors, pong). */
static void
answer(Conn *c, const StrBuf *sb)
{
	if (!sb->failed)
		net_send_text(c, sb->data, sb->len);
}

static void dispatch_ws(InMsg *m);

/* Holds a message while the connection's hello is being checked. */
static void
hold(Conn *c, InMsg *m)
{
	m->next = NULL;
	if (c->held_tail)
		c->held_tail->next = m;
	else
		c->held_head = m;
	c->held_tail = m;
	c->nheld++;
	/* Enough waiting: stop reading this client until the answer comes. */
	if (c->nheld >= MAX_HELD)
		net_pause(c, true);
}

/* Routes the messages held during a hello, in their order. */
static void
release_held(Conn *c)
{
	InMsg	   *m = c->held_head;

	c->held_head = c->held_tail = NULL;
	c->nheld = 0;
	net_pause(c, false);
	while (m)
	{
		InMsg	   *next = m->next;

		m->next = NULL;
		if (c->auth_pending)
			hold(c, m);			/* a second hello among them */
		else
			dispatch_ws(m);
		m = next;
	}
}

/*
 * Routes one complete WebSocket message (see the file header).  The
 * message is consumed: sent on, held, or freed.
 */
static void
dispatch_ws(InMsg *m)
{
	Conn	   *c = m->conn;
	ProtoPeek	pk;

	c->messages_in++;
	if (c->closed)
	{
		net_free_message(m);
		return;
	}
	if (c->auth_pending)
	{
		hold(c, m);
		return;
	}
	proto_peek(m->data, m->len, &pk);
	if (strcmp(pk.type, "ping") == 0 || strcmp(pk.type, "pong") == 0)
	{
		if (pk.type[1] == 'i')
		{
			StrBuf		sb;

			strbuf_init(&sb);
			proto_write_ping(&sb, m->received_ms, true);
			answer(c, &sb);
			strbuf_free(&sb);
		}
		net_free_message(m);
		return;
	}
	if (strcmp(pk.type, "hello") == 0)
	{
		c->auth_pending = true;
		to_ingest(ingest_for_conn(c), m, WF_HELLO);
		return;
	}
	if (codesight_auth_required() && !c->authenticated)
	{
		StrBuf		sb;

		strbuf_init(&sb);
		proto_write_error(&sb, PERR_UNAUTHORIZED,
						  "authenticate first: send hello with a worker token", NULL, 0, false);
		answer(c, &sb);
		strbuf_free(&sb);
		net_close(c, 1008, "policy violation");
		net_free_message(m);
		return;
	}
	if (pk.session_id[0])
		to_ingest(pool_ingest_for_session(pk.session_id, strlen(pk.session_id), ningest), m, 0);
	else
		to_ingest(ingest_for_conn(c), m, 0);
}

/* The close reason sent with a worker's close code. */
static const char *
close_reason(int code)
{
	switch (code)
	{
		case 1008:
			return "policy violation";
		case 1011:
			return "store failed";
		default:
			return "";
	}
}

/* Handles one message from an ingest worker. */
static void
from_ingest(int slot, const WireHeader *h, const char *payload)
{
	Conn	   *c = map_find(h->conn_id);

	if (c == NULL || c->closed)
		return;					/* its client left; it resends what was not acked */
	switch (h->kind)
	{
		case W_SEND:
			if (h->len > 0)
				net_send_text(c, payload, h->len);
			if (h->code > 0)
				net_close(c, h->code, close_reason(h->code));
			break;
		case W_AUTH_RESULT:
			if (h->flags & WF_AUTH_OK)
			{
				c->authenticated = true;
				c->admin = (h->flags & WF_ADMIN) != 0;
				c->worker_id = h->worker_id;
				strlcpy(c->token_id, h->token_id, sizeof(c->token_id));
			}
			c->auth_pending = false;
			if (h->len > 0)
				net_send_text(c, payload, h->len);
			if (h->code > 0)
				net_close(c, h->code, close_reason(h->code));
			release_held(c);
			break;
		default:
			elog(LOG, "codesight: unexpected message kind %d from an ingest worker", h->kind);
	}
}

/* The HttpSlot of a pool slot. */
static HttpSlot *
http_slot(int slot)
{
	return &http_slots[slot - ningest];
}

/* The worker's request is over: the slot takes the next one. */
static void
http_slot_free(HttpSlot *hs)
{
	memset(hs, 0, sizeof(*hs));
}

/* Handles one piece of an HTTP worker's response. */
static void
from_http(int slot, const WireHeader *h, const char *payload)
{
	HttpSlot   *hs = http_slot(slot);
	Conn	   *c;

	if (!hs->busy || h->req_id != hs->req_id || h->conn_id != hs->conn_id)
		return;					/* the end of a request already given up */
	c = map_find(h->conn_id);
	if (c == NULL || c->closed)
		hs->discard = true;
	switch (h->kind)
	{
		case W_HTTP_HEAD:
			if (!hs->discard)
			{
				const char *ctype = payload;
				const char *extra = ctype + strnlen(ctype, h->len) + 1;

				if (extra > payload + h->len)
					extra = "";
				net_http_begin(c, h->code, ctype, extra, h->aux);
			}
			hs->head_done = true;
			break;
		case W_HTTP_BODY:
			if (!hs->discard)
				net_http_write(c, payload, h->len);
			break;
		case W_HTTP_END:
		case W_HTTP_ABORT:
			if (!hs->discard)
			{
				if (h->kind == W_HTTP_END)
					net_http_end(c);
				else
					net_http_abort(c);
			}
			http_slot_free(hs);
			break;
		default:
			elog(LOG, "codesight: unexpected message kind %d from an HTTP worker", h->kind);
	}
}

/* Routes a pool message by the kind of worker it came from. */
static void
from_pool(int slot, const WireHeader *h, const char *payload)
{
	if (pool_slot_kind(slot) == POOL_INGEST)
		from_ingest(slot, h, payload);
	else
		from_http(slot, h, payload);
}

/* Answers an HTTP request here, with the standard and CORS headers. */
static void
http_answer(Conn *c, int status, const char *content_type, const char *body, size_t len,
			bool preflight)
{
	StringInfoData h;

	initStringInfo(&h);
	http_cors_headers(c->http_req->origin, &h, preflight);
	appendStringInfoString(&h, HTTP_STD_HEADERS);
	net_http_respond(c, status, content_type, h.data, body, len);
	metrics_count_http(http_api_route_of(c->http_req->path, c->http_req->method), status);
	pfree(h.data);
}

/* Answers an HTTP request here with a JSON error. */
static void
http_refuse(Conn *c, int status, const char *code, const char *message)
{
	StringInfoData b;

	initStringInfo(&b);
	http_error_body(&b, code, message);
	http_answer(c, status, "application/json", b.data, b.len, false);
	pfree(b.data);
}

/* The rate-limit key of a request's token: its id part, never the secret. */
static bool
token_key(const char *authorization, char *key, size_t keylen)
{
	const char *t;

	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	t = authorization + 7;
	while (*t == ' ')
		t++;
	/* cs_<kind>_<12 hex id>_<secret>; anything else is refused later anyway */
	snprintf(key, keylen, "token:%.17s", t);
	return true;
}

/*
 * Checks an HTTP request and either answers it (when that needs no
 * database) or queues it for an HTTP worker.
 */
static void
dispatch_http(Conn *c)
{
	HttpRequest *r = c->http_req;
	char		key[48];
	HttpJob    *job;

	if (c->closed || r == NULL)
		return;
	if (r->host == NULL || !codesight_host_allowed(r->host))
	{
		http_refuse(c, 403, "host_not_allowed",
					"this server does not answer to that host name; add it to codesight.allowed_hosts");
		return;
	}
	if (!ratelimit_allow(c->peer, cs_http_rate_limit))
	{
		http_refuse(c, 429, "rate_limited", "too many requests from this address; slow down and retry in a second");
		return;
	}
	if (r->method == HTTP_M_OPTIONS)
	{
		if (!http_origin_ok(r->origin))
			http_refuse(c, 403, "forbidden", "this origin is not in codesight.allowed_origins");
		else
			http_answer(c, 204, "text/plain", "", 0, true);
		return;
	}
	if (!http_origin_ok(r->origin))
	{
		http_refuse(c, 403, "forbidden", "this origin is not in codesight.allowed_origins");
		return;
	}
	/* Liveness must not depend on the database or the workers. */
	if (strcmp(r->path, "/health") == 0 && (r->method == HTTP_M_GET || r->method == HTTP_M_HEAD))
	{
		http_answer(c, 200, "application/json", "{\"status\":\"ok\"}", 15, false);
		return;
	}
	/* A token is limited on its own too: it may come from many addresses. */
	if (token_key(r->authorization, key, sizeof(key)) && !ratelimit_allow(key, cs_http_rate_limit))
	{
		http_refuse(c, 429, "rate_limited", "too many requests with this token; slow down and retry in a second");
		return;
	}
	if (njobs >= HTTP_MAX_JOBS)
	{
		http_refuse(c, 503, "server_busy", "too many requests are waiting; retry in a few seconds");
		return;
	}
	map_add(c);
	/* Outlives the turn: freed when a worker takes it or it times out. */
	job = MemoryContextAlloc(TopMemoryContext, sizeof(HttpJob));
	job->next = NULL;
	job->conn = c;
	job->queued_ms = net_now_ms();
	c->refs++;
	if (job_tail)
		job_tail->next = job;
	else
		job_head = job;
	job_tail = job;
	njobs++;
}

/* Appends a NUL-terminated string (NULL as empty) to a buffer. */
static void
put_cstring(StringInfo b, const char *s)
{
	appendBinaryStringInfo(b, s ? s : "", s ? strlen(s) + 1 : 1);
	if (s == NULL)
		b->data[b->len - 1] = '\0';
}

/* Sends a queued request to an HTTP worker (see wire.h for the layout). */
static void
send_request(int slot, Conn *c)
{
	HttpRequest *r = c->http_req;
	HttpSlot   *hs = http_slot(slot);
	StringInfoData b;
	WireHeader	h;
	char	   *payload;

	initStringInfo(&b);
	put_cstring(&b, r->path);
	appendBinaryStringInfo(&b, r->query ? r->query : "\0", r->query ? (int) r->query_len : 1);
	put_cstring(&b, r->origin);
	put_cstring(&b, r->authorization);
	put_cstring(&b, r->host);
	put_cstring(&b, c->peer);
	stamp(&h, W_HTTP_REQUEST, c);
	h.code = r->method;
	h.req_id = ++c->http_requests;
	h.aux = b.len;
	/* A body cut at the limit is not sent: the worker answers 413. */
	if (r->body_too_large)
		h.flags |= WF_BODY_TOO_LARGE;
	else if (r->body_len > 0)
		appendBinaryStringInfo(&b, r->body, (int) r->body_len);
	if (net_peer_is_loopback(c))
		h.flags |= WF_PEER_LOOPBACK;
	h.len = b.len;
	h.received_ms = net_now_ms();
	/* The payload outlives this turn's memory: it goes when it is sent. */
	payload = malloc(b.len);
	if (payload == NULL)
	{
		pfree(b.data);
		http_refuse(c, 503, "server_busy", "out of memory; retry");
		return;
	}
	memcpy(payload, b.data, b.len);
	pfree(b.data);
	hs->busy = true;
	hs->conn_id = c->id;
	hs->req_id = h.req_id;
	hs->head_done = false;
	hs->discard = false;
	pool_send(slot, &h, payload, release_malloc, payload);
}

/*
 * Gives waiting requests to free HTTP workers, oldest first; answers 503
 * for requests that waited longer than a request may work.
 */
static void
schedule_http(void)
{
	double		now = net_now_ms();
	double		max_wait = cs_http_statement_timeout > 0 ? cs_http_statement_timeout : 30000;

	while (job_head)
	{
		HttpJob    *job = job_head;
		int			slot = -1;

		if (!job->conn->closed && now - job->queued_ms < max_wait)
		{
			for (int i = 0; i < nhttp && slot < 0; i++)
			{
				int			s = pool_slot_of(POOL_HTTP, i);

				if (!http_slots[i].busy && pool_slot_ready(s))
					slot = s;
			}
			if (slot < 0)
				return;			/* all busy: it waits */
		}
		job_head = job->next;
		if (job_head == NULL)
			job_tail = NULL;
		njobs--;
		if (!job->conn->closed)
		{
			if (slot >= 0)
				send_request(slot, job->conn);
			else
				http_refuse(job->conn, 503, "server_busy",
							"every request worker stayed busy; retry in a few seconds");
		}
		net_conn_release(job->conn);
		pfree(job);
	}
}

/*
 * Takes the HTTP workers' responses, each only while its client has taken
 * what came before (the worker waits meanwhile): a client that does not
 * read costs HTTP_MAX_PENDING of memory, not its whole answer.  Such a
 * client holds a worker, so it is dropped once it took nothing for
 * HTTP_STALL_MS, or for HTTP_STALL_BUSY_MS while other requests wait for a
 * worker (a slow reader still gets its answer on an idle server).
 */
static void
receive_http(void)
{
	double		now = net_now_ms();

	for (int i = 0; i < nhttp; i++)
	{
		int			slot = pool_slot_of(POOL_HTTP, i);
		HttpSlot   *hs = &http_slots[i];

		if (hs->busy && !hs->discard)
		{
			Conn	   *c = map_find(hs->conn_id);

			if (c == NULL || c->closed)
				hs->discard = true;
			else if (net_http_pending(c) >= HTTP_MAX_PENDING)
			{
				if (now - c->http_progress_ms > (job_head ? HTTP_STALL_BUSY_MS : HTTP_STALL_MS))
				{
					/* It does not read: drop it, and the rest of its answer. */
					net_kill(c);
					hs->discard = true;
				}
				else
					continue;
			}
		}

		/*
		 * One message at a time, while the client has room: the worker
		 * refills its queue as fast as this loop empties it, so taking a
		 * whole batch at once held up to 256 pieces of 64 KB for a client
		 * that read nothing (isolation.test.js saw the process grow 10-17 MB
		 * where HTTP_MAX_PENDING allows 1 MB).
		 */
		for (int k = 0; k < POOL_RECEIVE_BATCH; k++)
		{
			if (hs->busy && !hs->discard)
			{
				Conn	   *c = map_find(hs->conn_id);

				if (c != NULL && !c->closed && net_http_pending(c) >= HTTP_MAX_PENDING)
					break;
			}
			if (pool_receive(slot, from_pool, 1) == 0)
				break;
		}
	}
}

/*
 * Answers for the requests and messages a worker held when it stopped: a
 * request whose answer had not started gets 503; one that had is cut; the
 * WebSocket clients that used an ingest worker are closed with 1011, so
 * they reconnect and resend what was not acknowledged.
 */
static void
worker_lost(int slot)
{
	if (pool_slot_kind(slot) == POOL_HTTP)
	{
		HttpSlot   *hs = http_slot(slot);
		Conn	   *c = hs->busy ? map_find(hs->conn_id) : NULL;

		if (c && !c->closed && !hs->discard)
		{
			if (hs->head_done)
				net_http_abort(c);
			else
				http_refuse(c, 503, "unavailable", "the request worker stopped; retry");
		}
		http_slot_free(hs);
		return;
	}
	else
	{
		int			index = slot;
		HASH_SEQ_STATUS seq;
		ConnEntry  *e;

		ingest_sent[index] = 0;
		hash_seq_init(&seq, conn_map);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			Conn	   *c = e->conn;

			if (c->is_ws && (c->ingest_mask & (1u << index)))
			{
				c->auth_pending = false;
				net_close(c, 1011, "server process restarted");
			}
		}
	}
}

/* Tells the ingest workers a connection used that it is gone. */
static void
conn_gone(Conn *c)
{
	WireHeader	h;

	for (int i = 0; i < ningest; i++)
	{
		if (!(c->ingest_mask & (1u << i)))
			continue;
		stamp(&h, W_CONN_CLOSED, c);
		pool_send(pool_slot_of(POOL_INGEST, i), &h, NULL, NULL, NULL);
	}
	for (InMsg *m = c->held_head, *n; m; m = n)
	{
		n = m->next;
		net_free_message(m);
	}
	c->held_head = c->held_tail = NULL;
	c->nheld = 0;
	map_remove(c);
}

/* Takes what the network callbacks queued. */
static void
collect(void)
{
	InMsg	   *m = net_take_messages();

	while (m)
	{
		InMsg	   *next = m->next;

		m->next = NULL;
		switch (m->kind)
		{
			case IN_WS_TEXT:
				dispatch_ws(m);
				m = NULL;		/* consumed */
				break;
			case IN_HTTP:
				dispatch_http(m->conn);
				break;
			case IN_OPENED:
				map_add(m->conn);
				ereport(DEBUG1,
						(errmsg("codesight: connection %llu opened from %s%s%s",
								(unsigned long long) m->conn->id, m->conn->peer,
								m->conn->origin[0] ? " origin " : "", m->conn->origin)));
				break;
			case IN_CLOSED:
				if (m->conn->is_ws)
					ereport(LOG,
							(errmsg("codesight: connection %llu from %s closed with code %d after %lld messages, open %.1f s",
									(unsigned long long) m->conn->id, m->conn->peer,
									m->conn->close_code ? m->conn->close_code :
									(m->conn->peer_close_code ? m->conn->peer_close_code : 1006),
									(long long) m->conn->messages_in,
									(net_now_ms() - m->conn->opened_ms) / 1000.0)));
				conn_gone(m->conn);
				break;
		}
		if (m)
			net_free_message(m);
		m = next;
	}
}

/*
 * After a token was revoked or a worker disabled (auth_epoch moved), asks
 * the ingest workers to check every authenticated connection's token; they
 * close those that are no longer good.
 */
static void
recheck_tokens(void)
{
	uint64		epoch;
	HASH_SEQ_STATUS seq;
	ConnEntry  *e;

	if (cs_shared == NULL)
		return;
	epoch = pg_atomic_read_u64(&cs_shared->auth_epoch);
	if (epoch == seen_auth_epoch)
		return;
	seen_auth_epoch = epoch;
	hash_seq_init(&seq, conn_map);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		Conn	   *c = e->conn;
		WireHeader	h;
		int			index;

		if (!c->is_ws || !c->authenticated || c->closed)
			continue;
		index = ingest_for_conn(c);
		stamp(&h, W_AUTH_RECHECK, c);
		c->ingest_mask |= 1u << index;
		pool_send(pool_slot_of(POOL_INGEST, index), &h, NULL, NULL, NULL);
	}
}

/* Stream messages sent to ingest workers that they have not handled yet. */
static uint64
ingest_outstanding(void)
{
	uint64		n = 0;

	for (int i = 0; i < ningest; i++)
	{
		uint64		done = pool_slot_done(pool_slot_of(POOL_INGEST, i));

		if (ingest_sent[i] > done)
			n += ingest_sent[i] - done;
	}
	return n;
}

/* Publishes connection and queue figures. */
static void
publish_net_stats(void)
{
	NetStats	st;

	if (cs_shared == NULL)
		return;
	net_get_stats(&st);
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->connections = st.connections;
	cs_shared->queue_depth = (int64) ingest_outstanding() + st.queued_messages;
	cs_shared->ingest_workers = ningest;
	cs_shared->http_workers = nhttp;
	SpinLockRelease(&cs_shared->mutex);
}

/* Notices workers that stopped and answers for what they held. */
static void
supervise(void)
{
	int			lost[CS_MAX_POOL];
	int			n = pool_supervise(lost, lengthof(lost));

	for (int i = 0; i < n; i++)
		worker_lost(lost[i]);
}

/* Runs the libuv loop once without blocking. */
static void
pump(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_NOWAIT);
}

/*
 * One turn of work after a wait: bytes in, routing, the workers' answers,
 * bytes out.  Allocations of the turn go in the loop context, reset here.
 */
static void
turn(uv_loop_t *loop, MemoryContext loop_cxt)
{
	MemoryContext old;

	MemoryContextReset(loop_cxt);
	old = MemoryContextSwitchTo(loop_cxt);
	supervise();
	pump(loop);
	collect();
	recheck_tokens();
	schedule_http();
	pool_pump();
	for (int i = 0; i < ningest; i++)
		pool_receive(pool_slot_of(POOL_INGEST, i), from_pool, POOL_RECEIVE_BATCH);
	receive_http();
	schedule_http();
	/*
	 * Messages in an ingest worker's ring wait for it as much as those the
	 * ring had no room for: counting only the latter let a stalled worker's
	 * ring take in thousands before reading stopped.
	 */
	net_set_backpressure(ingest_outstanding() + pool_queued_messages() >= (uint64) cs_max_queue_events);

	/*
	 * Answers queued above only ask libwebsockets for a writable callback;
	 * libuv applies that interest on its next run.  Run it now, or they
	 * would wait for the next wakeup.
	 */
	pump(loop);
	MemoryContextSwitchTo(old);
}

/* True while some worker has messages for us that we chose not to take. */
static bool
more_to_receive(void)
{
	return pool_queued_messages() > 0;
}

/*
 * Closes every connection with code (1001 at shutdown) once what was
 * received is handled by the ingest workers and their answers are out,
 * waiting a bounded time for the close frames to go and the peers to
 * answer.
 */
static void
drain_and_close(uv_loop_t *loop, WaitEventSet *set, MemoryContext loop_cxt,
				int code, const char *reason)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SHUTDOWN_FLUSH_MS);
	bool		closing = false;

	net_set_backpressure(true);
	for (;;)
	{
		long		timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		WaitEvent	ev;

		turn(loop, loop_cxt);
		net_set_backpressure(true);
		if (!closing && (timeout <= SHUTDOWN_FLUSH_MS / 2 ||
						 (ingest_outstanding() == 0 && !more_to_receive())))
		{
			net_begin_shutdown(code, reason);
			pump(loop);
			closing = true;
		}
		if ((closing && net_open_connections() == 0) || timeout <= 0)
			break;
		(void) WaitEventSetWait(set, Min(timeout, 20), &ev, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Runs the libuv loop until lws's handles have closed, then closes it. */
static void
close_loop(uv_loop_t *loop)
{
	for (int i = 0; i < 1000 && uv_loop_alive(loop); i++)
		uv_run(loop, UV_RUN_NOWAIT);
	if (uv_loop_close(loop) != 0)
		ereport(LOG, (errmsg("codesight: libuv loop still had open handles at shutdown")));
}

/* Gives up every request still waiting or running (we stop serving). */
static void
drop_http_jobs(void)
{
	while (job_head)
	{
		HttpJob    *job = job_head;

		job_head = job->next;
		net_conn_release(job->conn);
		pfree(job);
	}
	job_tail = NULL;
	njobs = 0;
	for (int i = 0; i < nhttp; i++)
		http_slots[i].discard = true;
}

/*
 * Waits until every ingest worker serves (the extension exists); false on
 * shutdown.
 */
static bool
wait_for_pool(void)
{
	pgstat_report_activity(STATE_IDLE, "codesight: waiting for CREATE EXTENSION codesight");
	for (;;)
	{
		if (got_sigterm)
			return false;
		supervise();
		if (pool_all_ready(POOL_INGEST))
			return true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		after_wait();
	}
}

/*
 * Serves clients until shutdown (returns false) or until the extension is
 * dropped (returns true: wait for it again).
 */
static bool
serve(void)
{
	uv_loop_t	loop;
	WaitEventSet *set;
	char		err[256];
	double		next_sweep = 0;
	double		next_ping;
	bool		extension_dropped = false;
	MemoryContext loop_cxt = AllocSetContextCreate(TopMemoryContext, "codesight network turn",
												   ALLOCSET_DEFAULT_SIZES);

	if (uv_loop_init(&loop) != 0)
		ereport(ERROR, (errmsg("codesight: could not initialize the libuv loop")));
	if (!net_start(&loop, cs_listen_address, cs_port, cs_tls_cert_file, cs_tls_key_file,
				   cs_max_connections, err, sizeof(err)))
	{
		close_loop(&loop);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("codesight: %s", err),
				 errhint("Check that no other program uses codesight.port and that codesight.listen_address is an address of this host.")));
	}
	ereport(LOG, (errmsg("codesight: listening on %s:%d%s with %d ingest and %d HTTP workers",
						 cs_listen_address, cs_port,
						 (cs_tls_cert_file && *cs_tls_cert_file) ? " with TLS" : "",
						 ningest, nhttp)));
	publish_listening(true);

	set = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, uv_backend_fd(&loop), NULL, NULL);

	next_ping = net_now_ms() + PING_INTERVAL_MS;
	pgstat_report_activity(STATE_IDLE, "codesight: serving");

	for (;;)
	{
		WaitEvent	ev;
		double		now = net_now_ms();
		long		timeout = uv_backend_timeout(&loop);
		long		until_sweep = (long) (next_sweep - now);

		if (until_sweep < 0)
			until_sweep = 0;
		if (timeout < 0 || until_sweep < timeout)
			timeout = until_sweep;
		/* A worker's answer waits in its queue only while its client lags. */
		(void) WaitEventSetWait(set, timeout, &ev, 1, PG_WAIT_EXTENSION);
		after_wait();
		if (got_sigterm)
			break;
		if (!pool_all_ready(POOL_INGEST))
		{
			extension_dropped = true;
			break;
		}
		turn(&loop, loop_cxt);

		now = net_now_ms();
		if (now >= next_sweep)
		{
			bool		ping = now >= next_ping;

			net_sweep(now, cs_connection_idle_timeout * 1000.0, ping);
			if (ping)
				next_ping = now + PING_INTERVAL_MS;
			next_sweep = now + SWEEP_INTERVAL_MS;
			publish_net_stats();
			ratelimit_prune();
		}
	}

	if (extension_dropped)
		ereport(LOG, (errmsg("codesight: extension dropped; closing connections until it is created again")));
	drain_and_close(&loop, set, loop_cxt,
					extension_dropped ? 1011 : 1001,
					extension_dropped ? "codesight extension dropped" : "server shutting down");
	publish_listening(false);
	drop_http_jobs();
	net_destroy();
	MemoryContextReset(loop_cxt);
	collect();
	FreeWaitEventSet(set);
	close_loop(&loop);
	MemoryContextDelete(loop_cxt);
	return extension_dropped;
}

/* Clears the network process's entry and stops its workers when it exits. */
static void
network_exit(int code, Datum arg)
{
	pool_stop();
	if (cs_shared == NULL)
		return;
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->pid = 0;
	cs_shared->latch = NULL;
	cs_shared->listening = false;
	cs_shared->connections = 0;
	cs_shared->ingest_workers = 0;
	cs_shared->http_workers = 0;
	SpinLockRelease(&cs_shared->mutex);
}

/* Entry point of the network process. */
void
codesight_network_main(Datum main_arg)
{
	HASHCTL		ctl;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, network_sigterm);
	pqsignal(SIGINT, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	/* No database: the network process runs no SQL (see the file header). */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("codesight network");

	if (cs_shared)
	{
		SpinLockAcquire(&cs_shared->mutex);
		cs_shared->pid = MyProcPid;
		cs_shared->latch = MyLatch;
		cs_shared->started_at = GetCurrentTimestamp();
		cs_shared->listening = false;
		SpinLockRelease(&cs_shared->mutex);
		seen_auth_epoch = pg_atomic_read_u64(&cs_shared->auth_epoch);
	}
	before_shmem_exit(network_exit, (Datum) 0);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(ConnEntry);
	conn_map = hash_create("codesight connections by id", 1024, &ctl, HASH_ELEM | HASH_BLOBS);

	ningest = Min(codesight_ingest_worker_count(), POOL_MAX_INGEST);
	nhttp = Min(cs_http_workers, POOL_MAX_HTTP);
	http_slots = MemoryContextAllocZero(TopMemoryContext, sizeof(HttpSlot) * nhttp);
	pool_start(ningest, nhttp);

	while (!got_sigterm)
	{
		if (!wait_for_pool())
			break;
		if (!serve())
			break;
	}
	proc_exit(1);
}
