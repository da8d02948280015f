/*-------------------------------------------------------------------------
 *
 * heap.c
 *	  Keeps the memory of large, repeated allocations in the process.
 *
 * The worker's batches and the exports allocate megabytes (jsonb arrays,
 * whole documents), free them at the end, and do it again.  glibc serves
 * blocks that large with mmap and returns them with munmap, and trims the
 * heap's free top, so each batch or export page-faulted its memory back in:
 * at 50 connections that cost two thirds of the worker's throughput, and
 * training_data of a 100,000-event session took 0.81 s instead of 0.26 s
 * (bench/README.md).  The thresholds are per process: the worker sets them
 * once, a backend when it first runs an export.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <malloc.h>

#include "heap.h"

#define HEAP_MMAP_THRESHOLD (32 * 1024 * 1024)
#define HEAP_TRIM_THRESHOLD (64 * 1024 * 1024)

/*
 * Serves blocks below 32 MB from the heap and keeps up to 64 MB of it free,
 * so that freed batches and documents are reused rather than faulted in.
 */
void
heap_keep_freed_memory(void)
{
	static bool done = false;

	if (done)
		return;
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
	done = true;
}
