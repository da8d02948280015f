/*-------------------------------------------------------------------------
 *
 * ingest_worker.c
 *	  An ingest worker: takes stream messages from the network process's
 *	  queue, commits them in batches (ingest.c) and sends the answers back.
 *
 * There are codesight.ingest_workers of them; the network process routes
 * every message of a session to the same one, so each owns its sessions
 * and they commit side by side on as many cores.  A batch is whatever the
 * queue holds when the worker comes to it, up to batch_max_events
 * messages: idle, each message is committed at once; under load, what
 * arrives during one commit is the next batch.  Answers are written to the
 * outgoing queue as the batch produces them and flushed once at its end,
 * so the network process wakes once per batch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
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
#include "ingest.h"
#include "pool.h"
#include "shmem.h"
#include "xact.h"

PGDLLEXPORT void codesight_ingest_main(Datum main_arg);

#define HOUSEKEEPING_INTERVAL_MS 5000
#define SHUTDOWN_DRAIN_MS 2000		/* at SIGTERM: what still comes is handled */
#define SHUTDOWN_QUIET_MS 50		/* ... until the queue stays empty this long */

typedef enum ServeEnd
{
	SERVE_EXIT,					/* shutdown, or the network process is gone */
	SERVE_DROPPED				/* the extension was dropped */
} ServeEnd;

static volatile sig_atomic_t got_sigterm = false;

/*
 * The last answer queued, not yet written: answers go out unflushed, the
 * last one of a batch with a flush (pool_worker_send), so it is held back
 * until the next one comes or the batch ends.
 */
static WireHeader held_h;
static StringInfoData held_payload;
static bool have_held = false;
static bool network_gone = false;

/* SIGTERM: finish what is queued, then exit. */
static void
ingest_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Writes the held answer; with flush, wakes the network process. */
static void
write_held(bool flush)
{
	if (!have_held)
		return;
	have_held = false;
	if (!network_gone && !pool_worker_send(&held_h, held_payload.data, flush))
		network_gone = true;
}

/* Queues an answer for the network process (see held_h). */
static void
queue_out(const WireHeader *h, const char *payload)
{
	write_held(false);
	held_h = *h;
	resetStringInfo(&held_payload);
	if (h->len > 0)
		appendBinaryStringInfo(&held_payload, payload, (int) h->len);
	have_held = true;
}

/* ingest.h: sends text to a connection, closing it after if close_code. */
void
ingest_send(IngestConn *c, const char *text, size_t len, int close_code)
{
	WireHeader	h;

	memset(&h, 0, sizeof(h));
	h.kind = W_SEND;
	h.conn_id = c->id;
	h.code = close_code;
	h.len = (uint32) len;
	queue_out(&h, text);
}

/* ingest.h: tells the network process a hello's outcome, with its answer. */
void
ingest_send_auth(IngestConn *c, bool ok, const char *text, size_t len, int close_code)
{
	WireHeader	h;

	memset(&h, 0, sizeof(h));
	h.kind = W_AUTH_RESULT;
	h.conn_id = c->id;
	h.code = close_code;
	h.len = (uint32) len;
	if (ok)
	{
		h.flags = WF_AUTH_OK | (c->admin ? WF_ADMIN : 0);
		h.worker_id = c->worker_id;
		strlcpy(h.token_id, c->token_id, sizeof(h.token_id));
	}
	queue_out(&h, text);
}

/* Takes the connection's authentication from a message's header. */
static IngestConn *
stamped_conn(const WireHeader *h)
{
	IngestConn *c = ingest_conn(h->conn_id, true);

	/* A connection found revoked stays so: the network process closes it. */
	if (!c->revoked)
	{
		c->authenticated = (h->flags & WF_AUTHENTICATED) != 0;
		c->admin = (h->flags & WF_ADMIN) != 0;
		c->worker_id = h->worker_id;
		strlcpy(c->token_id, h->token_id, sizeof(c->token_id));
	}
	return c;
}

/* After a wait: interrupts (a cancel means nothing between batches). */
static void
after_wait(void)
{
	ResetLatch(MyLatch);
	QueryCancelPending = false;
	CHECK_FOR_INTERRUPTS();
	codesight_apply_reload();
}

/*
 * Takes what the queue holds, up to a batch, and handles it: stream
 * messages are committed as one batch (ingest.c); a closed connection is
 * forgotten after the messages before it; token rechecks are answered.
 * Returns how many queue messages it took (0: the queue was empty).
 */
static int
take_and_handle(IngestMsg **batch, uint64 *rechecks)
{
	int			n = 0;
	int			nrecheck = 0;
	int			taken = 0;

	while (n < cs_batch_max_events && nrecheck < cs_batch_max_events)
	{
		WireHeader	h;
		char	   *payload;
		int			r = pool_worker_receive(&h, &payload);
		IngestMsg  *m;

		if (r < 0)
			network_gone = true;
		if (r <= 0)
			break;
		taken++;
		switch (h.kind)
		{
			case W_WS_MESSAGE:
				m = palloc(sizeof(IngestMsg));
				m->conn = stamped_conn(&h);
				m->hello = (h.flags & WF_HELLO) != 0;
				m->received_ms = h.received_ms;
				m->len = h.len;
				m->data = palloc(h.len + 1);
				memcpy(m->data, payload, h.len);
				m->data[h.len] = '\0';
				batch[n++] = m;
				break;
			case W_CONN_CLOSED:
				/* Its messages before the close are committed first. */
				if (n > 0)
				{
					ingest_process_batch(batch, n);
					pool_worker_done(n);
					n = 0;
				}
				ingest_conn_closed(h.conn_id);
				break;
			case W_AUTH_RECHECK:
				(void) stamped_conn(&h);
				rechecks[nrecheck++] = h.conn_id;
				break;
			default:
				elog(LOG, "codesight: unexpected message kind %d for an ingest worker", h.kind);
		}
	}
	if (n > 0)
	{
		ingest_process_batch(batch, n);
		pool_worker_done(n);
	}
	if (nrecheck > 0)
		ingest_recheck_tokens(rechecks, nrecheck);
	write_held(true);
	return taken;
}

/* True when the codesight extension exists in our database. */
static bool
extension_present(void)
{
	bool		present = xact_extension_exists();

	pgstat_report_activity(STATE_IDLE, present ? "codesight: ingesting" :
						   "codesight: waiting for CREATE EXTENSION codesight");
	return present;
}

/*
 * Commits what the network process sends until shutdown or until the
 * extension is dropped.
 */
static ServeEnd
serve(MemoryContext loop_cxt)
{
	IngestMsg **batch = MemoryContextAlloc(TopMemoryContext,
										   sizeof(IngestMsg *) * cs_batch_max_events);
	uint64	   *rechecks = MemoryContextAlloc(TopMemoryContext,
											  sizeof(uint64) * cs_batch_max_events);
	int			cap = cs_batch_max_events;
	TimestampTz next_housekeeping = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																HOUSEKEEPING_INTERVAL_MS);
	TimestampTz stop_at = 0;
	TimestampTz quiet_since = 0;
	ServeEnd	end = SERVE_EXIT;

	for (;;)
	{
		int			taken;
		long		timeout;
		TimestampTz now;

		/* batch_max_events may grow on reload. */
		if (cap < cs_batch_max_events)
		{
			cap = cs_batch_max_events;
			batch = repalloc(batch, sizeof(IngestMsg *) * cap);
			rechecks = repalloc(rechecks, sizeof(uint64) * cap);
		}
		MemoryContextReset(loop_cxt);
		{
			MemoryContext old = MemoryContextSwitchTo(loop_cxt);

			taken = take_and_handle(batch, rechecks);
			MemoryContextSwitchTo(old);
		}
		if (network_gone)
			break;
		now = GetCurrentTimestamp();
		if (got_sigterm && stop_at == 0)
			stop_at = TimestampTzPlusMilliseconds(now, SHUTDOWN_DRAIN_MS);
		if (stop_at != 0)
		{
			/* After SIGTERM: on while messages come, until quiet or out of time. */
			if (now >= stop_at)
				break;
			if (taken > 0)
				quiet_since = 0;
			else if (quiet_since == 0)
				quiet_since = now;
			else if (TimestampDifferenceExceeds(quiet_since, now, SHUTDOWN_QUIET_MS))
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 SHUTDOWN_QUIET_MS, PG_WAIT_EXTENSION);
			after_wait();
			continue;
		}
		if (taken > 0)
			continue;			/* more may have come meanwhile */
		if (now >= next_housekeeping)
		{
			MemoryContext old = MemoryContextSwitchTo(loop_cxt);
			bool		present = extension_present();

			if (present)
			{
				/* One worker marks idle sessions of all: the others' too. */
				ingest_housekeeping(pool_self->index == 0);
				pgstat_report_stat(true);
			}
			MemoryContextSwitchTo(old);
			next_housekeeping = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															HOUSEKEEPING_INTERVAL_MS);
			if (!present)
			{
				end = SERVE_DROPPED;
				break;
			}
			continue;
		}
		timeout = TimestampDifferenceMilliseconds(now, next_housekeeping);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(timeout, 1), PG_WAIT_EXTENSION);
		after_wait();
	}
	pfree(batch);
	pfree(rechecks);
	return end;
}

/*
 * Waits for CREATE EXTENSION codesight (its commit wakes us; the timeout
 * covers one created while we started).  Messages the network process sent
 * before it saw the extension go are dropped: it closes their connections.
 */
static bool
wait_for_extension(void)
{
	for (;;)
	{
		WireHeader	h;
		char	   *payload;
		int			r;

		if (got_sigterm)
			return false;
		while ((r = pool_worker_receive(&h, &payload)) > 0)
			if (h.kind == W_WS_MESSAGE)
				pool_worker_done(1);
		if (r < 0)
			return false;
		if (extension_present())
			return true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		after_wait();
	}
}

/* Entry point of an ingest worker. */
void
codesight_ingest_main(Datum main_arg)
{
	MemoryContext loop_cxt;

	/*
	 * A batch builds megabytes of arrays and jsonb and frees them at its
	 * end; keeping freed memory spares the page faults of each batch
	 * (heap.c: 17.7k -> 46.7k events/s at 50 connections when it came).
	 */
	heap_keep_freed_memory(HEAP_KEEP_WORKER);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, ingest_sigterm);
	BackgroundWorkerUnblockSignals();
	pool_worker_attach(main_arg, POOL_INGEST);
	BackgroundWorkerInitializeConnection(cs_database, NULL, 0);
	pgstat_report_appname("codesight ingest");
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&held_payload);
		MemoryContextSwitchTo(old);
	}
	ingest_init(pool_self->index, pool_ningest);
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "codesight ingest turn",
									 ALLOCSET_DEFAULT_SIZES);

	while (wait_for_extension())
	{
		pool_worker_set_state(PS_READY);
		if (serve(loop_cxt) != SERVE_DROPPED)
			break;
		ereport(LOG, (errmsg("codesight: extension dropped; the ingest worker waits for it")));
		pool_worker_set_state(PS_WAITING);
		ingest_reset();
	}
	proc_exit(0);
}
