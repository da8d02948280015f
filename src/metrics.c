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

/* Writes a counter or gauge with its HELP and TYPE lines. */
static void
metric(StringInfo out, const char *name, const char *type, const char *help, int64 v)
{
	appendStringInfo(out, "# HELP %s %s\n# TYPE %s %s\n%s " INT64_FORMAT "\n",
					 name, help, name, type, name, v);
}

/* Appends every metric from a consistent copy of the shared state. */
void
metrics_append(StringInfo out)
{
	CodesightShared s;
	int64		cum;
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

	appendStringInfoString(out, "# HELP codesight_batch_size Events per committed batch.\n"
						   "# TYPE codesight_batch_size histogram\n");
	cum = 0;
	for (int i = 0; i < CS_BATCH_BUCKETS; i++)
	{
		cum += s.batch_size_buckets[i];
		if (i < CS_BATCH_BUCKETS - 1)
			appendStringInfo(out, "codesight_batch_size_bucket{le=\"%d\"} " INT64_FORMAT "\n",
							 cs_batch_bucket_bounds[i], cum);
		else
			appendStringInfo(out, "codesight_batch_size_bucket{le=\"+Inf\"} " INT64_FORMAT "\n", cum);
	}
	appendStringInfo(out, "codesight_batch_size_sum " INT64_FORMAT "\ncodesight_batch_size_count " INT64_FORMAT "\n",
					 s.batch_size_sum, s.batches);

	appendStringInfoString(out, "# HELP codesight_commit_seconds Time to store and commit a batch.\n"
						   "# TYPE codesight_commit_seconds histogram\n");
	cum = 0;
	for (int i = 0; i < CS_LATENCY_BUCKETS; i++)
	{
		cum += s.commit_ms_buckets[i];
		if (i < CS_LATENCY_BUCKETS - 1)
			appendStringInfo(out, "codesight_commit_seconds_bucket{le=\"%g\"} " INT64_FORMAT "\n",
							 cs_latency_bucket_bounds[i] / 1000.0, cum);
		else
			appendStringInfo(out, "codesight_commit_seconds_bucket{le=\"+Inf\"} " INT64_FORMAT "\n", cum);
	}
	appendStringInfo(out, "codesight_commit_seconds_sum %g\ncodesight_commit_seconds_count " INT64_FORMAT "\n",
					 s.commit_ms_sum / 1000.0, s.batches);

	appendStringInfoString(out, "# HELP codesight_http_requests_total HTTP API responses by status class.\n"
						   "# TYPE codesight_http_requests_total counter\n");
	for (int i = 0; i < 6; i++)
		appendStringInfo(out, "codesight_http_requests_total{status=\"%s\"} " INT64_FORMAT "\n",
						 classes[i], s.http_requests[i]);
}
