/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  The worker's state in shared memory: only what health(), counts()
 *	  and /metrics must read from other processes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_SHMEM_H
#define CODESIGHT_SHMEM_H

#include "postgres.h"

#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "protocol.h"

#define CS_BATCH_BUCKETS 8		/* batch size: 1, 10, 50, 100, 500, 1000, 5000, +Inf */
#define CS_LATENCY_BUCKETS 9	/* commit ms: 1, 2, 5, 10, 25, 50, 100, 250, +Inf */
#define CS_MAX_ROUTES 32
#define CS_S3_OUTCOMES 4		/* ok, http_error, network_error, interrupted */

typedef struct CodesightShared
{
	slock_t		mutex;
	pid_t		pid;			/* 0 when the worker is not running */
	Latch	   *latch;			/* set to wake the worker */
	bool		listening;
	int			port;
	TimestampTz started_at;
	int64		connections;
	int64		connections_total;
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
	int64		ws_rx_paused;	/* times backpressure paused a client */
} CodesightShared;

extern CodesightShared *cs_shared;
extern const double cs_batch_bucket_bounds[CS_BATCH_BUCKETS - 1];
extern const double cs_latency_bucket_bounds[CS_LATENCY_BUCKETS - 1];

extern int	cs_histogram_bucket(const double *bounds, int nbuckets, double v);

extern void codesight_shmem_request(void);
extern void codesight_shmem_startup(void);

#endif							/* CODESIGHT_SHMEM_H */
