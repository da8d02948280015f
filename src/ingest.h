/*-------------------------------------------------------------------------
 *
 * ingest.h
 *	  Turns received stream messages into rows, one transaction per batch,
 *	  and answers clients only after COMMIT.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_INGEST_H
#define CODESIGHT_INGEST_H

#include "postgres.h"

#include "net.h"

extern void ingest_init(void);
extern void ingest_reset(void);
extern int64 ingest_process_batch(InMsg **msgs, int nmsgs);
extern void ingest_conn_closed(Conn *c);
extern void ingest_housekeeping(void);

#endif							/* CODESIGHT_INGEST_H */
