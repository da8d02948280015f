/*-------------------------------------------------------------------------
 *
 * heap.c
 *	  Keeps the memory of large, repeated allocations in the process.
 *
 * The worker's batches and the exports allocate megabytes (jsonb arrays,
 * whole documents), free them at the end, and do it again.  glibc serves
 * blocks that large with mmap and returns them with munmap, and trims the
 * heap's free top, so each batch or export page-faulted its memory back in:
 * at 50 connections that cost two thirds of the worker's throughput, and a
 * repeated training_data of a 100,000-event session, sent to psql, took
 * 0.5 s instead of 0.2 s (bench/README.md).  The thresholds are per
 * process, set once at the start of the processes that do this over and
 * over: the ingest workers and the HTTP workers.  Not in backends: one
 * that ran a single export for a pooled client would keep the memory for
 * life, and not in the network process, whose messages are small and
 * which holds every idle connection.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <malloc.h>

#include "heap.h"

#define HEAP_MMAP_THRESHOLD (32 * 1024 * 1024)

/*
 * Serves blocks below 32 MB from the heap and keeps up to keep_free bytes
 * of it free, so that freed batches and documents are reused rather than
 * faulted in.
 */
void
heap_keep_freed_memory(size_t keep_free)
{
	static bool done = false;

	if (done)
		return;
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, (int) keep_free);
	done = true;
}
