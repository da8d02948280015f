/*-------------------------------------------------------------------------
 *
 * http_worker.c
 *	  An HTTP worker: answers one API request at a time (http_api.c) for
 *	  the network process, which owns the client's socket.
 *
 * There are codesight.http_workers of them.  Everything slow the server
 * does for a client runs here: exports, the streamed dataset, S3 calls
 * (each bounded by codesight.s3_timeout).  A slow one occupies only its
 * own worker: the event stream and the other workers go on.  A response
 * goes to the network process in pieces through the queue; the network
 * process takes them only as fast as the client reads, and this worker
 * waits meanwhile, so a response never sits whole in the network process.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "heap.h"
#include "http_api.h"
#include "pool.h"
#include "xact.h"

PGDLLEXPORT void codesight_http_main(Datum main_arg);

#define BODY_PIECE (64 * 1024)	/* largest body message to the network process */
#define EXTENSION_CHECK_MS 5000
#define UPLOAD_SWEEP_FIRST_MS 60000	/* after start: S3 need not wait for a busy start */
#define UPLOAD_SWEEP_TIMEOUT_MS 120000	/* a sweep's S3 calls each have s3_timeout */

static volatile sig_atomic_t got_sigterm = false;

/* The request being answered. */
static uint64 cur_conn_id = 0;
static uint64 cur_req_id = 0;
static bool cur_cancelled = false;
static bool cur_ended = false;
static bool network_gone = false;

/* SIGTERM: finish the current request, then exit. */
static void
http_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Sends one piece of the current response. */
static void
out(WireKind kind, int code, int64 aux, const char *payload, size_t len, bool flush)
{
	WireHeader	h;

	if (network_gone)
		return;
	memset(&h, 0, sizeof(h));
	h.kind = kind;
	h.code = code;
	h.conn_id = cur_conn_id;
	h.req_id = cur_req_id;
	h.aux = aux;
	h.len = (uint32) len;
	if (!pool_worker_send(&h, payload, flush))
		network_gone = true;
}

/*
 * Notices a cancel of the current request: the network process sends one
 * when the client went away.  Its queue carries nothing else while a
 * request runs.
 */
static void
check_cancel(void)
{
	WireHeader	h;
	char	   *payload;
	int			r;

	while ((r = pool_worker_receive(&h, &payload)) > 0)
		if (h.kind == W_HTTP_CANCEL && h.req_id == cur_req_id && h.conn_id == cur_conn_id)
			cur_cancelled = true;
	if (r < 0)
		network_gone = true;
}

/* http_api.h: the response's status and headers. */
void
http_out_head(int status, const char *content_type, const char *extra_headers,
			  int64 content_length)
{
	StringInfoData p;

	initStringInfo(&p);
	appendBinaryStringInfo(&p, content_type, strlen(content_type) + 1);
	appendBinaryStringInfo(&p, extra_headers, strlen(extra_headers) + 1);
	out(W_HTTP_HEAD, status, content_length, p.data, p.len, false);
	pfree(p.data);
}

/*
 * http_api.h: a piece of the body; false once the client is gone.  It
 * goes out whole: a cancel or timeout that comes while it waits for the
 * network process is raised after its last byte, so a stream's error line
 * never lands in the middle of one of its lines.
 */
bool
http_out_body(const char *data, size_t len)
{
	HOLD_INTERRUPTS();
	while (len > 0 && !cur_cancelled && !network_gone)
	{
		size_t		n = Min(len, BODY_PIECE);

		/* Each piece wakes the network process: it paces us by its client. */
		out(W_HTTP_BODY, 0, 0, data, n, true);
		data += n;
		len -= n;
		check_cancel();
	}
	RESUME_INTERRUPTS();
	/* A cancel only ever aborts a transaction; between them it means nothing. */
	if (!IsTransactionState())
		QueryCancelPending = false;
	CHECK_FOR_INTERRUPTS();
	return !cur_cancelled && !network_gone;
}

/* http_api.h: the end of the response. */
void
http_out_end(bool aborted)
{
	if (cur_ended)
		return;
	cur_ended = true;
	out(aborted ? W_HTTP_ABORT : W_HTTP_END, 0, 0, NULL, 0, true);
}

/* Reads a NUL-terminated string of a request payload; NULL past its end. */
static char *
take_string(char **p, char *end)
{
	char	   *s = *p;
	size_t		n;

	if (s >= end)
		return NULL;
	n = strnlen(s, end - s);
	if (s + n >= end)
		return NULL;
	*p = s + n + 1;
	return s;
}

/*
 * Rebuilds the request the network process sent (wire.h) in the current
 * memory context.  False if it is malformed.
 */
static bool
unpack_request(const WireHeader *h, const char *payload, HttpRequest *r)
{
	char	   *copy = palloc(h->len + 1);
	char	   *end = copy + h->len;
	char	   *p = copy;
	char	   *query;

	memcpy(copy, payload, h->len);
	copy[h->len] = '\0';
	memset(r, 0, sizeof(*r));
	if (h->aux < 0 || h->aux > h->len)
		return false;
	r->method = (HttpMethod) h->code;
	r->path = take_string(&p, end);
	/* The query: "name=value" strings up to an empty one. */
	query = p;
	while (p < end && *p)
		if (take_string(&p, end) == NULL)
			return false;
	if (p >= end)
		return false;
	p++;
	r->query = query;
	r->query_len = p - query;
	r->origin = take_string(&p, end);
	r->authorization = take_string(&p, end);
	r->host = take_string(&p, end);
	(void) take_string(&p, end);	/* peer: the network process checked it */
	if (r->path == NULL || r->host == NULL || p != copy + h->aux)
		return false;
	r->body = copy + h->aux;
	r->body_len = h->len - h->aux;
	r->body_too_large = (h->flags & WF_BODY_TOO_LARGE) != 0;
	/* An absent header arrives as "": NULL, as the routes expect. */
	if (r->origin[0] == '\0')
		r->origin = NULL;
	if (r->authorization[0] == '\0')
		r->authorization = NULL;
	return true;
}

/* Answers one request from the network process. */
static void
answer(const WireHeader *h, const char *payload)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "codesight http request",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HttpRequest r;

	cur_conn_id = h->conn_id;
	cur_req_id = h->req_id;
	cur_cancelled = false;
	cur_ended = false;
	if (!unpack_request(h, payload, &r))
	{
		elog(LOG, "codesight: malformed request from the network process");
		http_out_end(true);
	}
	else
	{
		pgstat_report_activity(STATE_RUNNING, r.path);
		http_api_handle(&r, (h->flags & WF_PEER_LOOPBACK) != 0);
		/* Every route ends its response; this is a safety net. */
		http_out_end(true);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	pgstat_report_activity(STATE_IDLE, "codesight: waiting for a request");
}

/* The transaction body of the upload sweep: how many it aborted. */
static void
sweep_body(void *arg)
{
	int64	   *n = arg;
	Oid			t[1] = {INT4OID};
	Datum		v[1] = {Int32GetDatum(cs_upload_lifetime)};
	bool		isnull;

	if (SPI_execute_with_args("SELECT count(*) FROM codesight.abort_stale_uploads(make_interval(secs => $1))",
							  1, t, v, NULL, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "abort_stale_uploads failed");
	*n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Aborts on S3 the multipart uploads nobody touched for
 * codesight.upload_lifetime, and the orphans S3 lists (docs/s3.md,
 * "Abandoned uploads"): S3 keeps and bills their parts until then.  The
 * first HTTP worker does it between requests; the others serve meanwhile.
 * Without codesight.s3_bucket the function does nothing.
 */
static void
sweep_uploads(void)
{
	ErrorData  *edata;
	int64		n = 0;

	if (!run_in_xact("codesight: aborting stale uploads", "codesight_api", UPLOAD_SWEEP_TIMEOUT_MS,
					 sweep_body, &n, &edata))
		xact_log_error("codesight: aborting stale uploads failed", edata);
	else if (n > 0)
		ereport(LOG,
				(errmsg("codesight: aborted %lld stale multipart uploads on S3", (long long) n)));
	pgstat_report_activity(STATE_IDLE, "codesight: waiting for a request");
}

/* How long an idle worker may wait: until its next check or sweep. */
static long
sweep_wait_ms(TimestampTz now, TimestampTz next_sweep, int sweep_every)
{
	long		ms = EXTENSION_CHECK_MS;

	if (pool_self->index == 0 && sweep_every > 0)
		ms = Min(ms, Max(TimestampDifferenceMilliseconds(now, next_sweep), 1));
	return ms;
}

/* Entry point of an HTTP worker. */
void
codesight_http_main(Datum main_arg)
{
	bool		ready = false;
	TimestampTz next_check = 0;
	TimestampTz next_sweep = 0;
	int			sweep_every = -1;

	/*
	 * Exports build documents of tens of megabytes, over and over in this
	 * process: keeping freed memory spares faulting them in again each time
	 * (heap.c).  Only here: a pooled backend that ran one export through
	 * SQL does not keep it for life.
	 */
	heap_keep_freed_memory(HEAP_KEEP_EXPORT);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, http_sigterm);
	BackgroundWorkerUnblockSignals();
	pool_worker_attach(main_arg, POOL_HTTP);
	BackgroundWorkerInitializeConnection(cs_database, NULL, 0);
	pgstat_report_appname("codesight http");

	while (!got_sigterm && !network_gone)
	{
		WireHeader	h;
		char	   *payload;
		int			r;
		TimestampTz now = GetCurrentTimestamp();

		/*
		 * Serve only while the extension exists (the network process sends
		 * requests to ready workers only); waiting for it, look again at
		 * every wakeup: CREATE EXTENSION sets our latch.
		 */
		if (!ready || now >= next_check)
		{
			bool		present = xact_extension_exists();

			if (present != ready)
			{
				ready = present;
				pool_worker_set_state(ready ? PS_READY : PS_WAITING);
			}
			next_check = TimestampTzPlusMilliseconds(now, EXTENSION_CHECK_MS);
			pgstat_report_activity(STATE_IDLE, ready ? "codesight: waiting for a request" :
								   "codesight: waiting for CREATE EXTENSION codesight");
		}
		r = pool_worker_receive(&h, &payload);
		if (r < 0)
			break;
		if (r > 0)
		{
			if (h.kind == W_HTTP_REQUEST)
				answer(&h, payload);
			/* A cancel for a request already answered needs nothing. */
			continue;
		}
		/* Idle: the first worker sweeps stale uploads when it is time. */
		if (ready && pool_self->index == 0)
		{
			if (sweep_every != cs_upload_sweep_interval)
			{
				/* Started, or the interval was reloaded: count from now. */
				sweep_every = cs_upload_sweep_interval;
				next_sweep = TimestampTzPlusMilliseconds(now, Min(UPLOAD_SWEEP_FIRST_MS,
																  sweep_every * 1000L));
			}
			if (sweep_every > 0 && now >= next_sweep)
			{
				sweep_uploads();
				next_sweep = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), sweep_every * 1000L);
				continue;
			}
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ready ? sweep_wait_ms(now, next_sweep, sweep_every) : 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		codesight_apply_reload();
	}
	proc_exit(0);
}
