/*-------------------------------------------------------------------------
 *
 * codesight.c
 *	  Module entry point: configuration, shared memory and the background
 *	  worker, plus the small SQL functions about the worker itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "jsonb_build.h"
#include "s3.h"
#include "shmem.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool loaded_at_startup = false;
static bool wake_registered = false;

/* shmem_request hook: reserves the worker's shared state. */
static void
codesight_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	codesight_shmem_request();
}

/* shmem_startup hook: creates the worker's shared state. */
static void
codesight_shmem_startup_hook(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	codesight_shmem_startup();
}

/*
 * Defines the parameters always (so SET works in any session); reserves
 * shared memory and registers the worker only when preloaded.
 */
void
_PG_init(void)
{
	codesight_define_gucs();
	s3_define_gucs();
	MarkGUCPrefixReserved("codesight");
	if (!process_shared_preload_libraries_in_progress)
		return;
	loaded_at_startup = true;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = codesight_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = codesight_shmem_startup_hook;
	if (cs_port > 0)
		codesight_register_worker();
}

/* What the current transaction must tell the server's processes at commit. */
static bool wake_at_commit = false;		/* CREATE EXTENSION */
static bool auth_changed_at_commit = false; /* a token revoked, a worker disabled */

/*
 * At commit, wakes the network process and its workers (they wait for
 * CREATE EXTENSION) and, after a revocation, moves auth_epoch so they
 * check the tokens of open connections.  Only for transactions that asked:
 * the callback stays registered for the life of the backend.
 */
static void
codesight_xact_callback(XactEvent event, void *arg)
{
	bool		wake = wake_at_commit;
	bool		auth = auth_changed_at_commit;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	wake_at_commit = false;
	auth_changed_at_commit = false;
	if (event != XACT_EVENT_COMMIT || cs_shared == NULL || !(wake || auth))
		return;
	if (auth)
		pg_atomic_fetch_add_u64(&cs_shared->auth_epoch, 1);
	SpinLockAcquire(&cs_shared->mutex);
	if (cs_shared->latch)
		SetLatch(cs_shared->latch);
	if (wake)
		for (int i = 0; i < CS_MAX_POOL; i++)
			if (cs_shared->pool_procs[i])
				SetLatch(&cs_shared->pool_procs[i]->procLatch);
	SpinLockRelease(&cs_shared->mutex);
}

/* Registers codesight_xact_callback once per backend. */
static void
register_xact_callback(void)
{
	if (!wake_registered)
	{
		RegisterXactCallback(codesight_xact_callback, NULL);
		wake_registered = true;
	}
}

PG_FUNCTION_INFO_V1(codesight_auth_changed);

/*
 * Trigger on tokens and workers: when the transaction that revoked a token
 * or disabled (or deleted) a worker commits, open connections signed in
 * with it are checked and closed within a second.
 */
Datum
codesight_auth_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("codesight._auth_changed() must be called as a trigger")));
	if (cs_shared != NULL)
	{
		register_xact_callback();
		auth_changed_at_commit = true;
	}
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(codesight_extension_created);

/*
 * Called by the extension script.  Warns when the library is not preloaded
 * (the SQL functions work, the worker does not run), and otherwise wakes
 * the worker when CREATE EXTENSION commits so it starts serving at once.
 */
Datum
codesight_extension_created(PG_FUNCTION_ARGS)
{
	if (cs_shared == NULL)
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the codesight worker is not running"),
				 errdetail("The codesight library was not loaded through shared_preload_libraries, so no background worker serves the WebSocket stream or the HTTP API."),
				 errhint("Add codesight to shared_preload_libraries in postgresql.conf and restart the server.")));
	else
	{
		register_xact_callback();
		wake_at_commit = true;
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(codesight_worker_status);

/*
 * The worker's state from shared memory as jsonb: whether it runs and
 * listens, its port, uptime, connections, events and queue depth.
 */
Datum
codesight_worker_status(PG_FUNCTION_ARGS)
{
	CodesightShared snap;
	JsonbParseState *st = NULL;
	JsonbValue *res;
	bool		running;
	TimestampTz now = GetCurrentTimestamp();
	int64		rejected = 0;

	if (cs_shared == NULL)
		memset(&snap, 0, sizeof(snap));
	else
	{
		SpinLockAcquire(&cs_shared->mutex);
		memcpy(&snap, cs_shared, sizeof(snap));
		SpinLockRelease(&cs_shared->mutex);
	}
	running = snap.pid != 0;
	for (int i = 0; i < PERR__COUNT; i++)
		rejected += snap.events_rejected[i];

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	jsonb_push_bool_pair(&st, "preloaded", cs_shared != NULL);
	jsonb_push_bool_pair(&st, "running", running);
	jsonb_push_bool_pair(&st, "listening", snap.listening);
	jsonb_push_int_pair(&st, "pid", snap.pid);
	jsonb_push_string_pair(&st, "listenAddress", cs_listen_address);
	jsonb_push_int_pair(&st, "port", cs_port);
	jsonb_push_string_pair(&st, "startedAt", running ? timestamptz_to_str(snap.started_at) : NULL);
	jsonb_push_int_pair(&st, "uptimeSeconds", running ? (now - snap.started_at) / USECS_PER_SEC : 0);
	jsonb_push_int_pair(&st, "connections", snap.connections);
	jsonb_push_int_pair(&st, "eventsReceived", snap.events_received);
	jsonb_push_int_pair(&st, "eventsCommitted", snap.events_committed);
	jsonb_push_int_pair(&st, "eventsDuplicate", snap.events_duplicate);
	jsonb_push_int_pair(&st, "eventsRejected", rejected);
	jsonb_push_int_pair(&st, "batches", snap.batches);
	jsonb_push_int_pair(&st, "batchFailures", snap.batch_failures);
	jsonb_push_string_pair(&st, "lastCommitAt", snap.last_commit_at ? timestamptz_to_str(snap.last_commit_at) : NULL);
	jsonb_push_int_pair(&st, "queueDepth", snap.queue_depth);
	jsonb_push_int_pair(&st, "ingestWorkers", running ? snap.ingest_workers : 0);
	jsonb_push_int_pair(&st, "httpWorkers", running ? snap.http_workers : 0);
	/* Per ingest worker: its pid (0 while it restarts) and what it committed. */
	jsonb_push_key(&st, "ingest");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; running && i < snap.ingest_workers && i < CS_MAX_INGEST; i++)
	{
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		jsonb_push_int_pair(&st, "pid", snap.pool_procs[i] ? snap.pool_procs[i]->pid : 0);
		jsonb_push_int_pair(&st, "eventsCommitted", snap.ingest_events[i]);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
