/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory for the server's health and metrics, and for waking its
 *	  processes.
 *
 * The network process and the pool workers write their own figures and
 * add to the counters under the spinlock; readers take it for a
 * consistent copy.  The area exists only when the library is preloaded;
 * without it, health() reports the worker as not running.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "shmem.h"

CodesightShared *cs_shared = NULL;

const double cs_batch_bucket_bounds[CS_BATCH_BUCKETS - 1] = {1, 10, 50, 100, 500, 1000, 5000};
const double cs_latency_bucket_bounds[CS_LATENCY_BUCKETS - 1] = {1, 2, 5, 10, 25, 50, 100, 250};

/* The histogram bucket v falls in: the first bound it does not exceed. */
int
cs_histogram_bucket(const double *bounds, int nbuckets, double v)
{
	int			k = 0;

	while (k < nbuckets - 1 && v > bounds[k])
		k++;
	return k;
}

/* Asks the postmaster for our area; called from the shmem_request hook. */
void
codesight_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(CodesightShared)));
}

/* Creates or attaches the area; called from the shmem_startup hook. */
void
codesight_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	cs_shared = ShmemInitStruct("codesight", sizeof(CodesightShared), &found);
	if (!found)
	{
		memset(cs_shared, 0, sizeof(CodesightShared));
		SpinLockInit(&cs_shared->mutex);
		pg_atomic_init_u64(&cs_shared->auth_epoch, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}
