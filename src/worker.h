/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The codesight server's processes: the network process (network.c),
 *	  registered at server start, and the ingest and HTTP workers it starts
 *	  (ingest_worker.c, http_worker.c; pool.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_WORKER_H
#define CODESIGHT_WORKER_H

#include "postgres.h"

extern void codesight_register_worker(void);

#endif							/* CODESIGHT_WORKER_H */
