/*-------------------------------------------------------------------------
 *
 * pool.h
 *	  The processes behind the network process: ingest workers, which
 *	  commit events, and HTTP workers, which answer the API, run exports and
 *	  talk to S3.  The network process starts them as dynamic background
 *	  workers and talks to each through a pair of shm_mq queues in one
 *	  dynamic shared memory segment, as parallel query does.
 *
 * The network side never blocks on a queue: what a queue can not take now
 * waits in a list in the network process's memory and is sent when the
 * worker has read.  A worker blocks on its queues, waiting on its latch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_POOL_H
#define CODESIGHT_POOL_H

#include "postgres.h"

#include "port/atomics.h"

#include "wire.h"

#define POOL_MAX_INGEST 32		/* a connection's ingest workers fit a uint32 mask */
#define POOL_MAX_HTTP 64

typedef enum PoolKind
{
	POOL_INGEST,
	POOL_HTTP
} PoolKind;

typedef enum PoolState
{
	PS_STARTING,				/* launched, not yet attached */
	PS_WAITING,					/* attached, waiting for CREATE EXTENSION */
	PS_READY					/* serving */
} PoolState;

/* What both sides see of one worker, in the shared segment. */
typedef struct PoolSlot
{
	PoolKind	kind;
	int			index;			/* among the workers of its kind */
	Size		in_offset;		/* network -> worker queue */
	Size		in_size;
	Size		out_offset;		/* worker -> network queue */
	Size		out_size;
	pg_atomic_uint32 state;		/* PoolState */
	pg_atomic_uint32 pid;		/* the worker's pid while it runs, else 0 */
	pg_atomic_uint64 done;		/* stream messages the worker has handled */
} PoolSlot;

/* Worker side. */
extern PoolSlot *pool_self;
extern int	pool_ningest;

extern void pool_worker_attach(Datum main_arg, PoolKind kind);
extern void pool_worker_set_state(PoolState st);
extern bool pool_worker_send(const WireHeader *h, const void *payload, bool flush);
extern int	pool_worker_receive(WireHeader *h, char **payload);
extern void pool_worker_done(uint64 n);
extern int	pool_ingest_for_session(const char *session_id, size_t len, int ningest);

/* Network side. */
typedef void (*PoolReceiver) (int slot, const WireHeader *h, const char *payload);

extern void pool_start(int ningest, int nhttp);
extern void pool_stop(void);
extern int	pool_slot_count(void);
extern PoolKind pool_slot_kind(int slot);
extern int	pool_slot_of(PoolKind kind, int index);
extern bool pool_slot_ready(int slot);
extern pid_t pool_slot_pid(int slot);
extern uint64 pool_slot_done(int slot);
extern bool pool_all_ready(PoolKind kind);
extern int	pool_supervise(int *lost, int maxlost);
extern bool pool_send(int slot, const WireHeader *h, const char *payload, void (*release) (void *), void *owner);
extern void pool_pump(void);
extern int	pool_receive(int slot, PoolReceiver fn, int max);
extern int64 pool_queued_messages(void);
extern Size pool_queued_bytes(void);

#endif							/* CODESIGHT_POOL_H */
