/*-------------------------------------------------------------------------
 *
 * pool.c
 *	  The ingest and HTTP workers behind the network process, and the
 *	  shm_mq queues between them (see pool.h).
 *
 * The network process creates one dynamic shared memory segment holding a
 * PoolSlot per worker and two queues per worker, and registers each worker
 * as a dynamic background worker with the segment's handle in bgw_extra
 * and its slot number as bgw_main_arg; bgw_notify_pid makes the postmaster
 * signal (and so wake) the network process whenever one starts or stops.
 * A worker that stops is started again on fresh queues by pool_supervise;
 * what was in its queues is dropped, and the network process closes the
 * connections that had used it, so their clients resend what was not
 * acknowledged.  When the network process exits, the segment goes with
 * it: the workers see their queues detached and exit too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pool.h"
#include "shmem.h"

#define POOL_MAGIC 0x63737031	/* "csp1" */

/*
 * Queue sizes.  An ingest worker's inbound queue holds a few batches of
 * messages (a full one makes the network process keep what follows in its
 * own list and, past max_queue_events, stop reading from clients); its
 * outbound queue carries small acks.  An HTTP worker's queues carry one
 * request and one response at a time, in pieces.
 */
#define INGEST_IN_SIZE (4 * 1024 * 1024)
#define INGEST_OUT_SIZE (1024 * 1024)
#define HTTP_IN_SIZE (256 * 1024)
#define HTTP_OUT_SIZE (256 * 1024)

/* A failed launch (no free worker slot) is tried again this much later. */
#define RELAUNCH_DELAY_MS 5000

typedef struct PoolHeader
{
	uint32		magic;
	int			nslots;
	int			ningest;
	int			nhttp;
	PGPROC	   *network;		/* whose latch a worker sets on a state change */
	PoolSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} PoolHeader;

/* What the network process keeps about one worker. */
typedef struct Outbound
{
	struct Outbound *next;
	WireHeader	h;
	const char *payload;
	void		(*release) (void *);	/* frees owner once sent or dropped */
	void	   *owner;
} Outbound;

typedef struct Member
{
	BackgroundWorkerHandle *handle; /* NULL: not running (launch pending) */
	shm_mq_handle *to;			/* network -> worker */
	shm_mq_handle *from;		/* worker -> network */
	Outbound   *head;			/* waiting for room in `to`; head may be half sent */
	Outbound   *tail;
	int64		nqueued;
	Size		qbytes;
	bool		lost;			/* its queue detached: supervise restarts it */
	TimestampTz launch_at;		/* when to try a pending launch */
} Member;

static dsm_segment *segment = NULL;
static PoolHeader *header = NULL;
static Member *members = NULL;
static MemoryContext pool_context = NULL;

/* Worker side. */
PoolSlot   *pool_self = NULL;
int			pool_ningest = 0;
static shm_mq_handle *my_in = NULL;
static shm_mq_handle *my_out = NULL;
static PGPROC *network_proc = NULL;

/*
 * The ingest worker of a session: every message of one session goes
 * through the same worker, so its order, dedupe and lastSeq stay exact.
 */
int
pool_ingest_for_session(const char *session_id, size_t len, int ningest)
{
	if (ningest <= 1)
		return 0;
	return (int) (hash_bytes((const unsigned char *) session_id, (int) len) % (uint32) ningest);
}

/* The segment's base address plus an offset. */
static inline void *
seg_at(Size off)
{
	return (char *) header + off;
}

/* Frees an outbound message and what it carried. */
static void
outbound_free(Outbound *o)
{
	if (o->release)
		o->release(o->owner);
	pfree(o);
}

/* Creates a slot's two queues afresh and attaches the network's ends. */
static void
create_queues(int i)
{
	PoolSlot   *s = &header->slots[i];
	Member	   *m = &members[i];
	shm_mq	   *in = shm_mq_create(seg_at(s->in_offset), s->in_size);
	shm_mq	   *out = shm_mq_create(seg_at(s->out_offset), s->out_size);
	MemoryContext old = MemoryContextSwitchTo(pool_context);

	shm_mq_set_sender(in, MyProc);
	shm_mq_set_receiver(out, MyProc);
	m->to = shm_mq_attach(in, segment, NULL);
	m->from = shm_mq_attach(out, segment, NULL);
	MemoryContextSwitchTo(old);
	pg_atomic_write_u32(&s->state, PS_STARTING);
	pg_atomic_write_u32(&s->pid, 0);
	pg_atomic_write_u64(&s->done, 0);
	m->lost = false;
}

/*
 * Registers slot i's worker.  False when the postmaster has no free
 * background worker slot (max_worker_processes): tried again later.
 */
static bool
launch(int i)
{
	PoolSlot   *s = &header->slots[i];
	Member	   *m = &members[i];
	BackgroundWorker w;
	dsm_handle	h = dsm_segment_handle(segment);
	const char *what = s->kind == POOL_INGEST ? "ingest" : "http";
	MemoryContext old;
	bool		ok;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "codesight");
	snprintf(w.bgw_function_name, BGW_MAXLEN,
			 s->kind == POOL_INGEST ? "codesight_ingest_main" : "codesight_http_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "codesight %s %d", what, s->index + 1);
	snprintf(w.bgw_type, BGW_MAXLEN, "codesight %s", what);
	w.bgw_main_arg = Int32GetDatum(i);
	memcpy(w.bgw_extra, &h, sizeof(h));
	w.bgw_notify_pid = MyProcPid;
	old = MemoryContextSwitchTo(pool_context);
	ok = RegisterDynamicBackgroundWorker(&w, &m->handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		m->handle = NULL;
		m->launch_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), RELAUNCH_DELAY_MS);
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("codesight: could not start %s worker %d", what, s->index + 1),
				 errdetail("No background worker slot is free."),
				 errhint("Raise max_worker_processes (codesight needs 1 + codesight.ingest_workers + codesight.http_workers), or lower those settings; trying again in %d s.",
						 RELAUNCH_DELAY_MS / 1000)));
		return false;
	}
	shm_mq_set_handle(m->to, m->handle);
	shm_mq_set_handle(m->from, m->handle);
	return true;
}

/*
 * Creates the segment and starts the workers: ningest ingest workers and
 * nhttp HTTP workers.  Called once by the network process.
 */
void
pool_start(int ningest, int nhttp)
{
	int			nslots = ningest + nhttp;
	Size		size = MAXALIGN(offsetof(PoolHeader, slots) + sizeof(PoolSlot) * nslots);
	Size		off;

	pool_context = AllocSetContextCreate(TopMemoryContext, "codesight pool",
										 ALLOCSET_DEFAULT_SIZES);
	size += (Size) ningest * (INGEST_IN_SIZE + INGEST_OUT_SIZE) +
		(Size) nhttp * (HTTP_IN_SIZE + HTTP_OUT_SIZE);
	segment = dsm_create(size, 0);
	dsm_pin_mapping(segment);
	header = dsm_segment_address(segment);
	header->magic = POOL_MAGIC;
	header->nslots = nslots;
	header->ningest = ningest;
	header->nhttp = nhttp;
	header->network = MyProc;
	members = MemoryContextAllocZero(pool_context, sizeof(Member) * nslots);
	off = MAXALIGN(offsetof(PoolHeader, slots) + sizeof(PoolSlot) * nslots);
	for (int i = 0; i < nslots; i++)
	{
		PoolSlot   *s = &header->slots[i];
		bool		ingest = i < ningest;

		s->kind = ingest ? POOL_INGEST : POOL_HTTP;
		s->index = ingest ? i : i - ningest;
		s->in_offset = off;
		s->in_size = ingest ? INGEST_IN_SIZE : HTTP_IN_SIZE;
		off += s->in_size;
		s->out_offset = off;
		s->out_size = ingest ? INGEST_OUT_SIZE : HTTP_OUT_SIZE;
		off += s->out_size;
		pg_atomic_init_u32(&s->state, PS_STARTING);
		pg_atomic_init_u32(&s->pid, 0);
		pg_atomic_init_u64(&s->done, 0);
		create_queues(i);
		launch(i);
	}
}

/*
 * Stops every worker (the network process is exiting): they would see
 * their queues detached anyway, but a worker busy in a long statement
 * would only notice when it ends.
 */
void
pool_stop(void)
{
	if (members == NULL)
		return;
	for (int i = 0; i < header->nslots; i++)
		if (members[i].handle)
			TerminateBackgroundWorker(members[i].handle);
}

int
pool_slot_count(void)
{
	return header ? header->nslots : 0;
}

PoolKind
pool_slot_kind(int slot)
{
	return header->slots[slot].kind;
}

/* The slot of the index-th worker of a kind. */
int
pool_slot_of(PoolKind kind, int index)
{
	return kind == POOL_INGEST ? index : header->ningest + index;
}

bool
pool_slot_ready(int slot)
{
	return !members[slot].lost && members[slot].handle != NULL &&
		pg_atomic_read_u32(&header->slots[slot].state) == PS_READY;
}

pid_t
pool_slot_pid(int slot)
{
	return (pid_t) pg_atomic_read_u32(&header->slots[slot].pid);
}

/* How many stream messages the slot's worker has handled since it started. */
uint64
pool_slot_done(int slot)
{
	return pg_atomic_read_u64(&header->slots[slot].done);
}

/* True when every worker of the kind serves. */
bool
pool_all_ready(PoolKind kind)
{
	for (int i = 0; i < header->nslots; i++)
		if (header->slots[i].kind == kind && !pool_slot_ready(i))
			return false;
	return true;
}

/* Drops what waits for a worker that is gone. */
static void
drop_outbound(Member *m)
{
	while (m->head)
	{
		Outbound   *o = m->head;

		m->head = o->next;
		outbound_free(o);
	}
	m->tail = NULL;
	m->nqueued = 0;
	m->qbytes = 0;
}

/*
 * Notices workers that stopped and starts them again on fresh queues, and
 * retries launches that found no free slot.  Fills lost[] with the slots
 * whose worker was replaced (the caller answers for what they held) and
 * returns how many.  Cheap: called every turn of the network loop.
 */
int
pool_supervise(int *lost, int maxlost)
{
	int			n = 0;
	TimestampTz now = 0;

	for (int i = 0; i < header->nslots; i++)
	{
		Member	   *m = &members[i];
		pid_t		pid;

		if (m->handle != NULL)
		{
			BgwHandleStatus st = GetBackgroundWorkerPid(m->handle, &pid);

			if (st == BGWH_POSTMASTER_DIED)
				proc_exit(1);
			if (st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED)
			{
				if (!m->lost)
					continue;
				/* Its queue detached while it runs: make it go. */
				TerminateBackgroundWorker(m->handle);
				continue;
			}
			ereport(LOG,
					(errmsg("codesight: %s worker %d stopped; starting it again",
							header->slots[i].kind == POOL_INGEST ? "ingest" : "http",
							header->slots[i].index + 1)));
			pfree(m->handle);
			m->handle = NULL;
			shm_mq_detach(m->to);
			shm_mq_detach(m->from);
			drop_outbound(m);
			create_queues(i);
			if (n < maxlost)
				lost[n++] = i;
			launch(i);
			continue;
		}
		if (now == 0)
			now = GetCurrentTimestamp();
		if (now >= m->launch_at)
			launch(i);
	}
	return n;
}

/* Sends what waits for one worker, as far as its queue takes it. */
static void
pump_member(Member *m)
{
	while (m->head && !m->lost)
	{
		Outbound   *o = m->head;
		shm_mq_iovec iov[2];
		shm_mq_result r;

		iov[0].data = (const char *) &o->h;
		iov[0].len = sizeof(WireHeader);
		iov[1].data = o->payload;
		iov[1].len = o->h.len;
		/* Flush with the last message: the worker wakes once per turn. */
		r = shm_mq_sendv(m->to, iov, o->h.len > 0 ? 2 : 1, true, o->next == NULL);
		if (r == SHM_MQ_WOULD_BLOCK)
			return;				/* sent again, the same bytes, next time */
		if (r == SHM_MQ_DETACHED)
		{
			m->lost = true;
			return;
		}
		m->head = o->next;
		if (m->head == NULL)
			m->tail = NULL;
		m->nqueued--;
		m->qbytes -= o->h.len;
		outbound_free(o);
	}
}

/*
 * Queues a message for a worker and sends it if the queue has room.  The
 * payload stays owned by the caller until release(owner) is called, once
 * it is sent or dropped (release may be NULL for static data).  False if
 * the worker is gone (the message is dropped and released).
 */
bool
pool_send(int slot, const WireHeader *h, const char *payload,
		  void (*release) (void *), void *owner)
{
	Member	   *m = &members[slot];
	Outbound   *o;

	if (m->lost || m->handle == NULL)
	{
		if (release)
			release(owner);
		return false;
	}
	o = MemoryContextAlloc(pool_context, sizeof(Outbound));
	o->next = NULL;
	o->h = *h;
	o->payload = payload;
	o->release = release;
	o->owner = owner;
	if (m->tail)
		m->tail->next = o;
	else
		m->head = o;
	m->tail = o;
	m->nqueued++;
	m->qbytes += h->len;
	if (m->head == o)
		pump_member(m);
	return true;
}

/* Sends what waits, for every worker. */
void
pool_pump(void)
{
	for (int i = 0; i < header->nslots; i++)
		pump_member(&members[i]);
}

/* Messages waiting in the network process for room in a queue. */
int64
pool_queued_messages(void)
{
	int64		n = 0;

	for (int i = 0; header && i < header->nslots; i++)
		n += members[i].nqueued;
	return n;
}

Size
pool_queued_bytes(void)
{
	Size		n = 0;

	for (int i = 0; header && i < header->nslots; i++)
		n += members[i].qbytes;
	return n;
}

/*
 * Hands up to max messages from a worker's queue to fn; the payload is
 * valid only during the call.  Returns how many it handed.
 */
int
pool_receive(int slot, PoolReceiver fn, int max)
{
	Member	   *m = &members[slot];
	int			k;

	for (k = 0; k < max && !m->lost && m->handle != NULL; k++)
	{
		Size		n;
		void	   *data;
		WireHeader	h;
		shm_mq_result r = shm_mq_receive(m->from, &n, &data, true);

		if (r == SHM_MQ_WOULD_BLOCK)
			break;
		if (r == SHM_MQ_DETACHED)
		{
			m->lost = true;
			break;
		}
		if (n < sizeof(WireHeader))
			elog(ERROR, "codesight: short message (%zu bytes) from a pool worker", n);
		memcpy(&h, data, sizeof(h));
		if (sizeof(WireHeader) + (Size) h.len != n)
			elog(ERROR, "codesight: malformed message from a pool worker");
		fn(slot, &h, (const char *) data + sizeof(WireHeader));
	}
	return k;
}

/* A worker leaves the list of processes CREATE EXTENSION wakes. */
static void
pool_worker_exit(int code, Datum arg)
{
	int			i = DatumGetInt32(arg);

	SpinLockAcquire(&cs_shared->mutex);
	if (cs_shared->pool_procs[i] == MyProc)
		cs_shared->pool_procs[i] = NULL;
	SpinLockRelease(&cs_shared->mutex);
}

/*
 * Worker side: maps the segment, attaches to the slot's queues and tells
 * the network process.  Errors here end the worker; the network process
 * starts another.
 */
void
pool_worker_attach(Datum main_arg, PoolKind kind)
{
	dsm_handle	h;
	int			i = DatumGetInt32(main_arg);
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	memcpy(&h, MyBgworkerEntry->bgw_extra, sizeof(h));
	segment = dsm_attach(h);
	if (segment == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("codesight: could not map the network process's shared memory"),
				 errdetail("The network process that started this worker has exited.")));
	dsm_pin_mapping(segment);
	header = dsm_segment_address(segment);
	if (header->magic != POOL_MAGIC || i < 0 || i >= header->nslots ||
		header->slots[i].kind != kind)
		elog(ERROR, "codesight: bad pool segment or slot %d", i);
	pool_self = &header->slots[i];
	pool_ningest = header->ningest;
	network_proc = header->network;
	shm_mq_set_receiver(seg_at(pool_self->in_offset), MyProc);
	shm_mq_set_sender(seg_at(pool_self->out_offset), MyProc);
	my_in = shm_mq_attach(seg_at(pool_self->in_offset), segment, NULL);
	my_out = shm_mq_attach(seg_at(pool_self->out_offset), segment, NULL);
	MemoryContextSwitchTo(old);
	pg_atomic_write_u32(&pool_self->pid, (uint32) MyProcPid);
	if (cs_shared && i < CS_MAX_POOL)
	{
		SpinLockAcquire(&cs_shared->mutex);
		cs_shared->pool_procs[i] = MyProc;
		SpinLockRelease(&cs_shared->mutex);
		on_shmem_exit(pool_worker_exit, Int32GetDatum(i));
	}
	pool_worker_set_state(PS_WAITING);
}

/* Publishes the worker's state and wakes the network process. */
void
pool_worker_set_state(PoolState st)
{
	if (pool_self == NULL)
		return;
	pg_atomic_write_u32(&pool_self->state, st);
	SetLatch(&network_proc->procLatch);
}

/*
 * Sends one message to the network process, waiting while its queue is
 * full.  flush wakes the network process now; a worker sending several
 * messages flushes with the last.  False when the network process is gone.
 *
 * A message the queue took in part must be finished with the same bytes
 * before anything else is sent, or the network process reads the rest of
 * it as the start of the next one.  So no error may leave this loop: a
 * statement timeout or cancel that comes while it waits (a dataset stream
 * sends inside its transaction) is held until the message is whole, and
 * raised then.  The wait is bounded: the network process reads on, or
 * drops a client that stopped reading, or exits (and the queue detaches).
 */
bool
pool_worker_send(const WireHeader *h, const void *payload, bool flush)
{
	shm_mq_iovec iov[2];
	shm_mq_result r;

	iov[0].data = (const char *) h;
	iov[0].len = sizeof(WireHeader);
	iov[1].data = payload;
	iov[1].len = h->len;
	HOLD_INTERRUPTS();
	while ((r = shm_mq_sendv(my_out, iov, h->len > 0 ? 2 : 1, true, flush)) == SHM_MQ_WOULD_BLOCK)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	RESUME_INTERRUPTS();
	/* A cancel only ever aborts a transaction; between them it means nothing. */
	if (!IsTransactionState())
		QueryCancelPending = false;
	CHECK_FOR_INTERRUPTS();
	return r == SHM_MQ_SUCCESS;
}

/*
 * Takes the next message from the network process, without waiting: 1
 * when one came (*h filled, *payload valid until the next call), 0 when
 * none is waiting (the caller waits on its latch), -1 when the network
 * process is gone.
 */
int
pool_worker_receive(WireHeader *h, char **payload)
{
	Size		n;
	void	   *data;
	shm_mq_result r = shm_mq_receive(my_in, &n, &data, true);

	if (r == SHM_MQ_DETACHED)
		return -1;
	if (r != SHM_MQ_SUCCESS)
		return 0;
	if (n < sizeof(WireHeader))
		elog(ERROR, "codesight: short message (%zu bytes) from the network process", n);
	memcpy(h, data, sizeof(WireHeader));
	*payload = (char *) data + sizeof(WireHeader);
	return 1;
}

/* Counts stream messages handled (the network process drains by it). */
void
pool_worker_done(uint64 n)
{
	pg_atomic_fetch_add_u64(&pool_self->done, n);
}
