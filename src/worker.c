/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The codesight background worker: waits for the extension, serves the
 *	  WebSocket stream and HTTP API, and commits what it receives.
 *
 * The loop waits in ONE WaitEventSet on the process latch, postmaster death
 * and the libuv loop's backend fd (an epoll fd that becomes readable when
 * any socket libwebsockets watches is ready), with libuv's next timer as
 * the timeout.  Signals set the latch, so SIGTERM and SIGHUP are handled
 * within milliseconds without polling.  After each wait, uv_run(NOWAIT)
 * lets libwebsockets move bytes; then, outside any libwebsockets or libuv
 * frame, the worker commits queued messages (ingest.c) and answers HTTP
 * requests (http_api.c), each inside its own error boundary.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <uv.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "heap.h"
#include "http_api.h"
#include "ingest.h"
#include "net.h"
#include "ratelimit.h"
#include "shmem.h"
#include "worker.h"

PGDLLEXPORT void codesight_worker_main(Datum main_arg);

static volatile sig_atomic_t got_sigterm = false;

#define PING_INTERVAL_MS 30000
#define SWEEP_INTERVAL_MS 1000
#define HOUSEKEEPING_INTERVAL_MS 5000
#define SHUTDOWN_FLUSH_MS 3000

/* Pending WebSocket messages waiting for their batch. */
typedef struct Pending
{
	InMsg	  **msgs;
	int			n;
	int			cap;
	size_t		bytes;
	double		oldest_ms;
} Pending;

/* SIGTERM: ask the loop to shut down cleanly. */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Registers the worker with the postmaster; called from _PG_init. */
void
codesight_register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "codesight");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "codesight_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "codesight worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "codesight worker");
	RegisterBackgroundWorker(&worker);
}

/* Applies a pending reload. */
static void
handle_sighup(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* True when the codesight extension exists in our database. */
static bool
extension_exists(void)
{
	bool		exists;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	exists = OidIsValid(get_extension_oid("codesight", true));
	CommitTransactionCommand();
	return exists;
}

/* Publishes whether the worker listens. */
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

/*
 * Waits until CREATE EXTENSION codesight has committed.  The extension
 * script sets our latch at commit; the one-second timeout only covers an
 * extension created while the worker was restarting.
 */
static bool
wait_for_extension(void)
{
	pgstat_report_activity(STATE_IDLE, "codesight: waiting for CREATE EXTENSION codesight");
	for (;;)
	{
		int			rc;

		CHECK_FOR_INTERRUPTS();
		handle_sighup();
		if (got_sigterm)
			return false;
		if (extension_exists())
			return true;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   1000, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
	}
}

/* Adds a message to the pending batch. */
static void
pending_add(Pending *p, InMsg *m)
{
	if (p->n == p->cap)
	{
		p->cap = p->cap ? p->cap * 2 : 256;
		p->msgs = p->msgs ? repalloc(p->msgs, p->cap * sizeof(InMsg *))
			: MemoryContextAlloc(TopMemoryContext, p->cap * sizeof(InMsg *));
	}
	if (p->n == 0)
		p->oldest_ms = m->received_ms;
	p->msgs[p->n++] = m;
	p->bytes += m->len;
}

/* Commits pending messages (ingest.c batches them), then frees them. */
static void
flush_pending(Pending *p)
{
	ingest_process_batch(p->msgs, p->n);
	for (int i = 0; i < p->n; i++)
		net_free_message(p->msgs[i]);
	p->n = 0;
	p->bytes = 0;
}

/* Takes what the network loop queued: closes, HTTP requests, messages. */
static void
collect(Pending *p, InMsg **http_head)
{
	InMsg	   *m = net_take_messages();
	InMsg	  **http_tail = http_head;

	while (*http_tail)
		http_tail = &(*http_tail)->next;
	while (m)
	{
		InMsg	   *next = m->next;

		m->next = NULL;
		switch (m->kind)
		{
			case IN_WS_TEXT:
				pending_add(p, m);
				break;
			case IN_HTTP:
				*http_tail = m;
				http_tail = &m->next;
				break;
			case IN_OPENED:
				ereport(LOG,
						(errmsg("codesight: connection %llu opened from %s%s%s",
								(unsigned long long) m->conn->id, m->conn->peer,
								m->conn->origin[0] ? " origin " : "", m->conn->origin)));
				net_free_message(m);
				break;
			case IN_CLOSED:
				ingest_conn_closed(m->conn);
				net_free_message(m);
				break;
		}
		m = next;
	}
}

/* Answers queued HTTP requests, each in its own transaction. */
static void
serve_http(InMsg **http_head)
{
	InMsg	   *m = *http_head;

	*http_head = NULL;
	while (m)
	{
		InMsg	   *next = m->next;

		http_api_handle(m->conn);
		net_free_message(m);
		m = next;
	}
}

/* Publishes connection and queue figures. */
static void
publish_net_stats(Pending *p)
{
	NetStats	st;

	if (cs_shared == NULL)
		return;
	net_get_stats(&st);
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->connections = st.connections;
	cs_shared->queue_depth = p->n + st.queued_messages;
	SpinLockRelease(&cs_shared->mutex);
}

/* Runs the loop once without blocking. */
static void
pump(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_NOWAIT);
}

/*
 * Closes every connection with code 1001 after what was received is
 * committed and acknowledged, waiting a bounded time for the close frames
 * to go out and the peers to answer.
 */
static void
drain_and_close(uv_loop_t *loop, WaitEventSet *set, Pending *p, InMsg **http_head,
				int code, const char *reason)
{
	TimestampTz deadline;

	pump(loop);
	collect(p, http_head);
	flush_pending(p);
	serve_http(http_head);
	net_begin_shutdown(code, reason);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SHUTDOWN_FLUSH_MS);
	while (net_open_connections() > 0)
	{
		long		timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		WaitEvent	ev;

		if (timeout <= 0)
			break;
		pump(loop);
		collect(p, http_head);
		flush_pending(p);
		serve_http(http_head);
		if (net_open_connections() == 0)
			break;
		(void) WaitEventSetWait(set, Min(timeout, 50), &ev, 1, PG_WAIT_EXTENSION);
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

/* The milliseconds until the next thing the loop must do by itself. */
static long
next_timeout(uv_loop_t *loop, Pending *p, double now, double next_sweep)
{
	long		t = uv_backend_timeout(loop);
	long		until;

	/*
	 * A batch waits for the rest of a message being received, at most until
	 * its deadline, rounded up: a WaitEventSet sleeps whole milliseconds,
	 * and a shorter wait would be a busy loop.  Messages collected after
	 * the commit decision, with nothing half received, go in right away.
	 */
	if (p->n > 0)
	{
		if (!net_receiving())
			return 0;
		until = (long) ceil(p->oldest_ms + cs_batch_max_delay_ms - now);
		if (until < 0)
			until = 0;
		if (t < 0 || until < t)
			t = until;
	}
	if (http_api_streams_ready())
		return 0;
	until = (long) (next_sweep - now);
	if (until < 0)
		until = 0;
	if (t < 0 || until < t)
		t = until;
	return t;
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
	Pending		pending = {0};
	InMsg	   *http_head = NULL;
	double		next_sweep = 0;
	double		next_ping;
	double		next_housekeeping;
	bool		extension_dropped = false;

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
	ereport(LOG, (errmsg("codesight: listening on %s:%d%s", cs_listen_address, cs_port,
						 (cs_tls_cert_file && *cs_tls_cert_file) ? " with TLS" : "")));
	publish_listening(true);

	set = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, uv_backend_fd(&loop), NULL, NULL);

	next_ping = net_now_ms() + PING_INTERVAL_MS;
	next_housekeeping = net_now_ms() + HOUSEKEEPING_INTERVAL_MS;
	pgstat_report_activity(STATE_IDLE, "codesight: serving");

	for (;;)
	{
		WaitEvent	ev;
		double		now = net_now_ms();
		long		timeout = next_timeout(&loop, &pending, now, next_sweep);

		(void) WaitEventSetWait(set, timeout, &ev, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		handle_sighup();
		if (got_sigterm)
			break;
		/* A cancel that arrives while idle has nothing to cancel. */
		QueryCancelPending = false;

		pump(&loop);
		collect(&pending, &http_head);
		now = net_now_ms();

		/*
		 * Commit when no message is half received (the batch is all
		 * there: committing now costs a client nothing), or when enough
		 * arrived, or when the oldest has waited batch_max_delay_ms for
		 * the rest of a stream that keeps coming.
		 */
		if (pending.n > 0 &&
			(!net_receiving() ||
			 pending.n >= cs_batch_max_events ||
			 now - pending.oldest_ms >= cs_batch_max_delay_ms))
		{
			flush_pending(&pending);
			pgstat_report_activity(STATE_IDLE, "codesight: serving");
		}
		serve_http(&http_head);
		http_api_stream_step();
		net_set_backpressure(pending.n >= cs_max_queue_events);

		/*
		 * Acks and answers queued above only ask libwebsockets for a
		 * writable callback; libuv applies that interest on its next run.
		 * Run it now, or the answers would wait for the next wakeup.
		 */
		pump(&loop);
		collect(&pending, &http_head);

		if (now >= next_sweep)
		{
			bool		ping = now >= next_ping;

			net_sweep(now, cs_connection_idle_timeout * 1000.0, ping);
			if (ping)
				next_ping = now + PING_INTERVAL_MS;
			next_sweep = now + SWEEP_INTERVAL_MS;
			publish_net_stats(&pending);
		}
		if (now >= next_housekeeping)
		{
			next_housekeeping = now + HOUSEKEEPING_INTERVAL_MS;
			if (!extension_exists())
			{
				extension_dropped = true;
				break;
			}
			ingest_housekeeping();
			ratelimit_prune();
			/* Flush statistics an unforced report left pending while busy. */
			pgstat_report_stat(true);
		}
	}

	if (extension_dropped)
		ereport(LOG, (errmsg("codesight: extension dropped; closing connections until it is created again")));
	drain_and_close(&loop, set, &pending, &http_head,
					extension_dropped ? 1011 : 1001,
					extension_dropped ? "codesight extension dropped" : "server shutting down");
	publish_listening(false);
	net_destroy();
	collect(&pending, &http_head);
	for (int i = 0; i < pending.n; i++)
		net_free_message(pending.msgs[i]);
	for (InMsg *m = http_head, *n; m; m = n)
	{
		n = m->next;
		net_free_message(m);
	}
	if (pending.msgs)
		pfree(pending.msgs);
	FreeWaitEventSet(set);
	close_loop(&loop);
	return extension_dropped;
}

/* Entry point of the background worker. */
void
codesight_worker_main(Datum main_arg)
{
	heap_keep_freed_memory(HEAP_KEEP_WORKER);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(cs_database, NULL, 0);
	pgstat_report_appname("codesight worker");

	if (cs_shared)
	{
		SpinLockAcquire(&cs_shared->mutex);
		cs_shared->pid = MyProcPid;
		cs_shared->latch = MyLatch;
		cs_shared->started_at = GetCurrentTimestamp();
		cs_shared->listening = false;
		SpinLockRelease(&cs_shared->mutex);
	}
	on_shmem_exit(codesight_worker_exit, (Datum) 0);
	ingest_init();

	while (!got_sigterm)
	{
		if (!wait_for_extension())
			break;
		if (!serve())
			break;
		ingest_reset();
	}
	proc_exit(1);
}

/* Clears the worker's entry in shared memory when it exits. */
void
codesight_worker_exit(int code, Datum arg)
{
	if (cs_shared == NULL)
		return;
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->pid = 0;
	cs_shared->latch = NULL;
	cs_shared->listening = false;
	cs_shared->connections = 0;
	SpinLockRelease(&cs_shared->mutex);
}
