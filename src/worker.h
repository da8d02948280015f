/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The codesight background worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_WORKER_H
#define CODESIGHT_WORKER_H

#include "postgres.h"

extern void codesight_register_worker(void);
extern void codesight_worker_exit(int code, Datum arg);

#endif							/* CODESIGHT_WORKER_H */
