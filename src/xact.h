/*-------------------------------------------------------------------------
 *
 * xact.h
 *	  The worker's error boundary: one unit of database work in its own
 *	  transaction, as a given role, whose errors are caught.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_XACT_H
#define CODESIGHT_XACT_H

#include "postgres.h"

typedef void (*XactWork) (void *arg);

extern bool run_in_xact(const char *activity, const char *rolname, int timeout_ms,
						XactWork work, void *arg, ErrorData **error);
extern void xact_log_error(const char *what, ErrorData *edata);
extern bool xact_extension_exists(void);

#endif							/* CODESIGHT_XACT_H */
