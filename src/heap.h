/*-------------------------------------------------------------------------
 *
 * heap.h
 *	  Keeps the memory of large, repeated allocations in the process.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_HEAP_H
#define CODESIGHT_HEAP_H

extern void heap_keep_freed_memory(void);

#endif							/* CODESIGHT_HEAP_H */
