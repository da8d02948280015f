/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  The server's state in shared memory: what health(), counts() and
 *	  /metrics read from other processes, and what wakes the network
 *	  process and its pool of workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_SHMEM_H
#define CODESIGHT_SHMEM_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "protocol.h"

#define CS_BATCH_BUCKETS 8		/* batch size: 1, 10, 50, 100, 500, 1000, 5000, +Inf */
#define CS_LATENCY_BUCKETS 9	/* commit ms: 1, 2, 5, 10, 25, 50, 100, 250, +Inf */
#define CS_MAX_ROUTES 32
#define CS_S3_OUTCOMES 4		/* ok, http_error, network_error, interrupted */
#define CS_MAX_POOL 96			/* ingest + HTTP workers */
#define CS_MAX_INGEST 32

/*
 * Counters are added to by the process that counts (the network process,
 * any ingest or HTTP worker) under the spinlock; readers copy the whole
 * struct under it.
 */
typedef struct CodesightShared
{
	slock_t		mutex;
	pid_t		pid;			/* the network process; 0 when not running */
	Latch	   *latch;			/* set to wake the network process */
	PGPROC	   *pool_procs[CS_MAX_POOL];	/* running pool workers, to wake */
	int			ingest_workers; /* running, as the network process started them */
	int			http_workers;
	int64		ingest_events[CS_MAX_INGEST];	/* events committed, per ingest worker */
	pg_atomic_uint64 auth_epoch;	/* moves when a token or worker is revoked */
	bool		listening;
	int			port;
	TimestampTz started_at;
	int64		connections;
	int64		events_received;
	int64		events_committed;
	int64		events_duplicate;
	int64		events_rejected[PERR__COUNT];
	int64		batches;
	int64		batch_failures;
	TimestampTz last_commit_at;
	int64		queue_depth;	/* events received, not yet committed */
	int64		batch_size_buckets[CS_BATCH_BUCKETS];
	int64		batch_size_sum;
	int64		commit_ms_buckets[CS_LATENCY_BUCKETS];
	double		commit_ms_sum;
	int64		http_requests[CS_MAX_ROUTES + 1][6];	/* by route (last: none), by status class */
	int64		s3_calls[CS_S3_OUTCOMES];	/* by outcome, from any process */
} CodesightShared;

extern CodesightShared *cs_shared;
extern const double cs_batch_bucket_bounds[CS_BATCH_BUCKETS - 1];
extern const double cs_latency_bucket_bounds[CS_LATENCY_BUCKETS - 1];

extern int	cs_histogram_bucket(const double *bounds, int nbuckets, double v);

extern void codesight_shmem_request(void);
extern void codesight_shmem_startup(void);

#endif							/* CODESIGHT_SHMEM_H */
