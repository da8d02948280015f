/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  Renders the shared-memory figures in the Prometheus text format.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "metrics.h"
#include "protocol.h"
#include "shmem.h"

static const char *const *route_names = NULL;
static int	nroutes = 0;

/* Remembers the route patterns, used as the route label. */
void
metrics_set_route_names(const char *const *names, int n)
{
	route_names = names;
	nroutes = Min(n, CS_MAX_ROUTES);
}

/* Counts an HTTP response; route is an index into the names, or -1. */
void
metrics_count_http(int route, int status)
{
	int			k = status / 100;

	if (cs_shared == NULL)
		return;
	if (k < 1 || k > 5)
		k = 0;
	if (route < 0 || route >= CS_MAX_ROUTES)
		route = CS_MAX_ROUTES;
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->http_requests[route][k]++;
	SpinLockRelease(&cs_shared->mutex);
}

/* Counts an S3 call by outcome; any process may call it. */
void
metrics_count_s3(S3Outcome outcome)
{
	if (cs_shared == NULL)
		return;
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->s3_calls[outcome]++;
	SpinLockRelease(&cs_shared->mutex);
}

/* Writes a counter or gauge with its HELP and TYPE lines. */
static void
metric(StringInfo out, const char *name, const char *type, const char *help, int64 v)
{
	appendStringInfo(out, "# HELP %s %s\n# TYPE %s %s\n%s " INT64_FORMAT "\n",
					 name, help, name, type, name, v);
}

/*
 * Writes a histogram: cumulative buckets, sum and count.  Bounds and sum
 * are divided by scale (milliseconds kept, seconds exported).  The sum is
 * printed with all the digits a double keeps, so that the differences
 * between two scrapes (bench/run.js) stay exact.
 */
static void
histogram(StringInfo out, const char *name, const char *help, const int64 *buckets,
		  const double *bounds, int nbuckets, double scale, double sum, int64 count)
{
	int64		cum = 0;

	appendStringInfo(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < nbuckets; i++)
	{
		cum += buckets[i];
		if (i < nbuckets - 1)
			appendStringInfo(out, "%s_bucket{le=\"%g\"} " INT64_FORMAT "\n", name, bounds[i] / scale, cum);
		else
			appendStringInfo(out, "%s_bucket{le=\"+Inf\"} " INT64_FORMAT "\n", name, cum);
	}
	appendStringInfo(out, "%s_sum %.15g\n%s_count " INT64_FORMAT "\n", name, sum / scale, name, count);
}

/* Appends every metric from a consistent copy of the shared state. */
void
metrics_append(StringInfo out)
{
	CodesightShared s;
	static const char *const classes[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

	if (cs_shared == NULL)
	{
		appendStringInfoString(out, "# codesight is not preloaded; no worker metrics\n");
		return;
	}
	SpinLockAcquire(&cs_shared->mutex);
	memcpy(&s, cs_shared, sizeof(s));
	SpinLockRelease(&cs_shared->mutex);

	metric(out, "codesight_worker_up", "gauge", "1 when the worker listens.", s.listening ? 1 : 0);
	metric(out, "codesight_connections_open", "gauge", "Open WebSocket and HTTP connections.", s.connections);
	metric(out, "codesight_events_received_total", "counter", "Events received.", s.events_received);
	metric(out, "codesight_events_committed_total", "counter", "Events stored and acknowledged.", s.events_committed);
	metric(out, "codesight_events_duplicate_total", "counter", "Resent events that were already stored.", s.events_duplicate);
	appendStringInfoString(out, "# HELP codesight_events_rejected_total Messages and events rejected, by error code.\n"
						   "# TYPE codesight_events_rejected_total counter\n");
	for (int i = 1; i < PERR__COUNT; i++)
		appendStringInfo(out, "codesight_events_rejected_total{code=\"%s\"} " INT64_FORMAT "\n",
						 proto_error_code((ProtoError) i), s.events_rejected[i]);
	metric(out, "codesight_batch_failures_total", "counter", "Batches rolled back.", s.batch_failures);
	metric(out, "codesight_queue_depth", "gauge", "Messages received and not yet committed.", s.queue_depth);

	histogram(out, "codesight_batch_size", "Events per committed batch.",
			  s.batch_size_buckets, cs_batch_bucket_bounds, CS_BATCH_BUCKETS, 1.0,
			  (double) s.batch_size_sum, s.batches);
	histogram(out, "codesight_commit_seconds", "Time to store and commit a batch.",
			  s.commit_ms_buckets, cs_latency_bucket_bounds, CS_LATENCY_BUCKETS, 1000.0,
			  s.commit_ms_sum, s.batches);

	appendStringInfoString(out, "# HELP codesight_http_requests_total HTTP API responses by route and status class.\n"
						   "# TYPE codesight_http_requests_total counter\n");
	for (int r = 0; r <= CS_MAX_ROUTES; r++)
	{
		const char *name = r < nroutes ? route_names[r] : (r == CS_MAX_ROUTES ? "other" : NULL);

		if (name == NULL)
			continue;
		for (int i = 0; i < 6; i++)
			if (s.http_requests[r][i] > 0)
				appendStringInfo(out, "codesight_http_requests_total{route=\"%s\",status=\"%s\"} " INT64_FORMAT "\n",
								 name, classes[i], s.http_requests[r][i]);
	}
	appendStringInfoString(out, "# HELP codesight_s3_calls_total Calls from the server to S3 by outcome.\n"
						   "# TYPE codesight_s3_calls_total counter\n");
	{
		static const char *const outcomes[CS_S3_OUTCOMES] = {"ok", "http_error", "network_error", "interrupted"};

		for (int i = 0; i < CS_S3_OUTCOMES; i++)
			appendStringInfo(out, "codesight_s3_calls_total{outcome=\"%s\"} " INT64_FORMAT "\n",
							 outcomes[i], s.s3_calls[i]);
	}
}
