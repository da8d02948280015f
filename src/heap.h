/*-------------------------------------------------------------------------
 *
 * heap.h
 *	  Keeps the memory of large, repeated allocations in the process.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_HEAP_H
#define CODESIGHT_HEAP_H

/*
 * How much freed heap a process keeps.  An ingest worker's batches need a
 * few MB; an export of a 100,000-event session peaks near 75 MB (its 16 MB
 * document, then PostgreSQL's jsonb_out copies of it), which an HTTP
 * worker keeps for its next export.
 */
#define HEAP_KEEP_WORKER	(64 * 1024 * 1024)
#define HEAP_KEEP_EXPORT	(128 * 1024 * 1024)

extern void heap_keep_freed_memory(size_t keep_free);

#endif							/* CODESIGHT_HEAP_H */
