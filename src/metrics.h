/*-------------------------------------------------------------------------
 *
 * metrics.h
 *	  The worker's figures in the Prometheus text format (GET /metrics).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_METRICS_H
#define CODESIGHT_METRICS_H

#include "postgres.h"

#include "lib/stringinfo.h"

extern void metrics_append(StringInfo out);

#endif							/* CODESIGHT_METRICS_H */
