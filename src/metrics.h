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

typedef enum S3Outcome
{
	S3_OK,
	S3_HTTP_ERROR,
	S3_NETWORK_ERROR,
	S3_INTERRUPTED
} S3Outcome;

extern void metrics_append(StringInfo out);
extern void metrics_count_http(int route, int status);
extern void metrics_count_s3(S3Outcome outcome);
extern void metrics_set_route_names(const char *const *names, int n);

#endif							/* CODESIGHT_METRICS_H */
