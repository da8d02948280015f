/*-------------------------------------------------------------------------
 *
 * http_api.c
 *	  Routes of the HTTP API (docs/http-api.md), run by the worker outside
 *	  libwebsockets callbacks, one transaction per request.
 *
 * Each route authenticates the bearer token, turns path, query and JSON
 * body into arguments, and calls the SQL function of the same meaning;
 * there is no second implementation of any behaviour here.  SQL errors
 * become JSON errors with a status chosen from their SQLSTATE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "auth.h"
#include "guc.h"
#include "http_api.h"
#include "json.h"
#include "jsonb_text.h"
#include "metrics.h"
#include "protocol.h"
#include "xact.h"
#include "ratelimit.h"
#include "shmem.h"

typedef enum RouteAuth
{
	RA_NONE,					/* public */
	RA_WORKER,					/* worker token (or admin); anonymous when auth is off */
	RA_ADMIN					/* admin token */
} RouteAuth;

/* What a handler gets. */
typedef struct Request
{
	Conn	   *conn;
	HttpRequest *http;
	const char *id;				/* the {id} path segment, if any */
	const struct Route *route;
	AuthInfo	auth;
	JsonValue  *body;			/* parsed JSON body, or NULL */
	JsonArena	arena;
} Request;

/* What a handler returns. */
typedef struct Response
{
	int			status;
	const char *content_type;
	StringInfoData body;
	struct DatasetStream *stream;	/* set by routes that stream their body */
} Response;

typedef void (*RouteHandler) (Request *req, Response *resp);

typedef struct Route
{
	HttpMethod	method;
	const char *pattern;		/* "{id}" matches one path segment */
	RouteAuth	auth;
	bool		session_scoped; /* {id} is a session the caller must own */
	RouteHandler handler;
	const char *sql;			/* for h_session_sql: the call, $1 = {id} */
} Route;

/* Raised inside handlers for client errors, caught in http_api_handle. */
#define HTTP_ERROR(status, code, ...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
					errmsg(__VA_ARGS__), errdetail_internal("http:%d:%s", status, code)))

/* Runs a query returning one json/jsonb/text value; NULL if no row. */
static char *
sql_value(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	char	   *v;

	if (ret < 0)
		elog(ERROR, "SPI failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return v;
}

/*
 * Receives respond_sql's result: the first column of the first row goes
 * into the response as JSON text.  A jsonb is written by jsonb_write_text
 * straight from the executor's slot, which spares a 16 MB export both a
 * copy into an SPI tuple table and jsonb_out (jsonb_text.c).
 */
typedef struct JsonReceiver
{
	DestReceiver pub;
	StringInfo	out;
	bool		done;			/* a row was written */
} JsonReceiver;

/* Writes the first row's value; later rows are ignored. */
static bool
json_receive(TupleTableSlot *slot, DestReceiver *self)
{
	JsonReceiver *r = (JsonReceiver *) self;
	Oid			type = TupleDescAttr(slot->tts_tupleDescriptor, 0)->atttypid;
	Datum		d;
	bool		isnull;

	if (r->done)
		return true;
	r->done = true;
	d = slot_getattr(slot, 1, &isnull);
	if (isnull)
		appendStringInfoString(r->out, "null");
	else if (type == JSONBOID)
		jsonb_write_text(r->out, DatumGetJsonbP(d));
	else
	{
		Oid			outfunc;
		bool		varlena;

		getTypeOutputInfo(type, &outfunc, &varlena);
		appendStringInfoString(r->out, OidOutputFunctionCall(outfunc, d));
	}
	return true;
}

/* DestReceiver callbacks with nothing to do. */
static void
json_receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
json_receiver_noop(DestReceiver *self)
{
}

/*
 * Appends the SQL result, one json or jsonb value, to the response as JSON
 * (null when none).  nulls is SPI's: 'n' marks a NULL argument.
 */
static void
respond_sql(Response *resp, const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	JsonReceiver r;
	SPIExecuteOptions opts;
	ParamListInfo params = makeParamList(nargs);
	int			ret;

	for (int i = 0; i < nargs; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls != NULL && nulls[i] == 'n';
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = json_receive;
	r.pub.rStartup = json_receiver_startup;
	r.pub.rShutdown = json_receiver_noop;
	r.pub.rDestroy = json_receiver_noop;
	r.pub.mydest = DestNone;
	r.out = &resp->body;
	memset(&opts, 0, sizeof(opts));
	opts.params = params;
	opts.dest = (DestReceiver *) &r;

	ret = SPI_execute_extended(sql, &opts);
	if (ret < 0)
		elog(ERROR, "SPI failed: %s", SPI_result_code_string(ret));
	if (!r.done)
		appendStringInfoString(&resp->body, "null");
}

/* Reads a query-string parameter (URL-decoded into a palloc'd string). */
static char *
query_param(Request *req, const char *name)
{
	const char *q = req->http->query;
	size_t		nlen = strlen(name);

	while (q && *q)
	{
		const char *amp = strchr(q, '&');
		const char *end = amp ? amp : q + strlen(q);

		if ((size_t) (end - q) > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=')
		{
			const char *v = q + nlen + 1;
			StringInfoData out;

			initStringInfo(&out);
			while (v < end)
			{
				if (*v == '%' && end - v >= 3 && isxdigit((unsigned char) v[1]) &&
					isxdigit((unsigned char) v[2]))
				{
					char		hex[3] = {v[1], v[2], 0};

					appendStringInfoChar(&out, (char) strtol(hex, NULL, 16));
					v += 3;
				}
				else
				{
					appendStringInfoChar(&out, *v == '+' ? ' ' : *v);
					v++;
				}
			}
			return out.data;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

/* Reads an integer query parameter with a default and bounds. */
static int
query_int(Request *req, const char *name, int dflt, int min, int max)
{
	char	   *s = query_param(req, name);
	char	   *end;
	long		v;

	if (s == NULL || *s == '\0')
		return dflt;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		HTTP_ERROR(400, "bad_request", "query parameter %s must be an integer from %d to %d", name, min, max);
	return (int) v;
}

/* A string field of the JSON body, or NULL. */
static const char *
body_string(Request *req, const char *key)
{
	JsonValue  *v = json_get(req->body, key);

	if (v == NULL || v->type == JV_NULL)
		return NULL;
	if (v->type != JV_STRING)
		HTTP_ERROR(400, "bad_request", "%s must be a string", key);
	return v->u.str.ptr;
}

/* The JSON text of a body field, or NULL. */
static char *
body_json(Request *req, const char *key)
{
	JsonValue  *v = json_get(req->body, key);
	StrBuf		sb;
	char	   *out;

	if (v == NULL || v->type == JV_NULL)
		return NULL;
	strbuf_init(&sb);
	json_append_value(&sb, v);
	if (sb.failed)
		elog(ERROR, "out of memory");
	out = pstrdup(sb.data);
	strbuf_free(&sb);
	return out;
}

/* Datum helpers for nullable text arguments. */
static Datum
text_or_null(const char *s, char *null_flag)
{
	*null_flag = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* Worker id to pass to SQL functions: NULL for admins (no restriction). */
static Datum
owner_arg(Request *req, char *null_flag)
{
	if (req->auth.admin || req->auth.worker_id == 0)
	{
		*null_flag = 'n';
		return (Datum) 0;
	}
	*null_flag = ' ';
	return Int64GetDatum(req->auth.worker_id);
}

/* GET /health: public liveness. */
static void
h_health_public(Request *req, Response *resp)
{
	appendStringInfoString(&resp->body, "{\"status\":\"ok\"}");
}

/* GET /api/health */
static void
h_health(Request *req, Response *resp)
{
	respond_sql(resp, "SELECT codesight.health()", 0, NULL, NULL, NULL);
}

/* GET /api/debug/counts */
static void
h_counts(Request *req, Response *resp)
{
	respond_sql(resp, "SELECT codesight.counts()", 0, NULL, NULL, NULL);
}

/* GET /api/admin/recent */
static void
h_recent(Request *req, Response *resp)
{
	Oid			t[1] = {INT4OID};
	Datum		v[1] = {Int32GetDatum(query_int(req, "limit", 50, 1, 1000))};

	respond_sql(resp, "SELECT codesight.recent_activity($1)", 1, t, v, NULL);
}

/* POST /api/workers: open registration of a worker. */
static void
h_register(Request *req, Response *resp)
{
	Oid			t[2] = {TEXTOID, TEXTOID};
	Datum		v[2];
	char		n[3] = "  ";
	const char *name = body_string(req, "displayName");

	if (!cs_open_registration && !req->auth.admin)
		HTTP_ERROR(403, "forbidden", "registration is closed; ask an admin for a worker token");
	if (name == NULL)
		HTTP_ERROR(400, "bad_request", "displayName is required");
	v[0] = CStringGetTextDatum(name);
	v[1] = text_or_null(body_string(req, "email"), &n[1]);
	resp->status = 201;
	respond_sql(resp, "SELECT codesight.register_worker($1, $2)", 2, t, v, n);
}

/* GET /api/me */
static void
h_me(Request *req, Response *resp)
{
	Oid			t[1] = {INT8OID};
	Datum		v[1] = {Int64GetDatum(req->auth.worker_id)};

	if (!req->auth.valid)
	{
		appendStringInfoString(&resp->body, "{\"kind\":\"anonymous\",\"workerId\":null}");
		return;
	}
	if (req->auth.admin)
	{
		appendStringInfoString(&resp->body, "{\"kind\":\"admin\",\"workerId\":null}");
		return;
	}
	respond_sql(resp, "SELECT jsonb_build_object('kind', 'worker', 'workerId', worker_id, "
				"'displayName', display_name) FROM codesight.workers WHERE worker_id = $1",
				1, t, v, NULL);
}

/* POST /api/sessions */
static void
h_create_session(Request *req, Response *resp)
{
	Oid			t[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		v[3];
	char		n[4] = "   ";

	v[0] = owner_arg(req, &n[0]);
	if (req->auth.admin)
		HTTP_ERROR(403, "forbidden", "sessions are created with a worker token, not an admin token");
	v[1] = text_or_null(body_string(req, "sessionId"), &n[1]);
	v[2] = text_or_null(body_string(req, "userAgent"), &n[2]);
	resp->status = 201;
	respond_sql(resp, "SELECT codesight.create_session_for_worker($1, $2, $3)", 3, t, v, n);
}

/* GET /api/sessions and GET /api/extension/sessions */
static void
h_list_sessions(Request *req, Response *resp)
{
	Oid			t[4] = {TEXTOID, INT4OID, INT4OID, INT8OID};
	Datum		v[4];
	char		n[5] = "    ";
	char	   *status = query_param(req, "status");

	v[0] = text_or_null(status && *status ? status : NULL, &n[0]);
	v[1] = Int32GetDatum(query_int(req, "limit", 100, 1, 1000));
	v[2] = Int32GetDatum(query_int(req, "offset", 0, 0, INT_MAX));
	v[3] = owner_arg(req, &n[3]);
	respond_sql(resp, "SELECT codesight.list_sessions($1, $2, $3, $4)", 4, t, v, n);
}

/* Session-scoped JSON routes: the route's SQL call with the session id. */
static void
h_session_sql(Request *req, Response *resp)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1] = {CStringGetTextDatum(req->id)};

	respond_sql(resp, req->route->sql, 1, t, v, NULL);
}

/*
 * Routes whose SQL reads the request body: the route's SQL call with $1 =
 * the {id} segment (NULL without one), $2 = the body as jsonb ('{}'
 * without one) and $3 = the caller's worker id (NULL for admins).
 */
static void
h_body_sql(Request *req, Response *resp)
{
	Oid			t[3] = {TEXTOID, JSONBOID, INT8OID};
	Datum		v[3];
	char		n[4] = "   ";
	char	   *body = req->http->body_len > 0 ? pnstrdup(req->http->body, req->http->body_len) : "{}";

	v[0] = text_or_null(req->id, &n[0]);
	v[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(body));
	v[2] = owner_arg(req, &n[2]);
	respond_sql(resp, req->route->sql, 3, t, v, n);
}

/* GET .../playwright: the script as JavaScript text. */
static void
h_playwright(Request *req, Response *resp)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1] = {CStringGetTextDatum(req->id)};
	char	   *s = sql_value("SELECT codesight.export_playwright($1)", 1, t, v, NULL);

	resp->content_type = "text/javascript; charset=utf-8";
	appendStringInfoString(&resp->body, s ? s : "");
}

/* GET .../events?after=&limit= */
static void
h_session_events(Request *req, Response *resp)
{
	Oid			t[3] = {TEXTOID, INT8OID, INT4OID};
	Datum		v[3];

	v[0] = CStringGetTextDatum(req->id);
	v[1] = Int64GetDatum(query_int(req, "after", 0, 0, INT_MAX));
	v[2] = Int32GetDatum(query_int(req, "limit", 500, 1, 5000));
	respond_sql(resp, "SELECT codesight.session_events($1, $2, $3)", 3, t, v, NULL);
}

/* DELETE /api/sessions/{id} */
static void
h_delete_session(Request *req, Response *resp)
{
	Oid			t[2] = {TEXTOID, INT8OID};
	Datum		v[2];
	char		n[3] = "  ";

	v[0] = CStringGetTextDatum(req->id);
	v[1] = owner_arg(req, &n[1]);
	respond_sql(resp, "SELECT jsonb_build_object('deleted', codesight.delete_session($1, $2))",
				2, t, v, n);
}

/* POST /api/sessions/{id}/stop */
static void
h_stop_session(Request *req, Response *resp)
{
	Oid			t[2] = {TEXTOID, INT8OID};
	Datum		v[2];
	char		n[3] = "  ";

	v[0] = CStringGetTextDatum(req->id);
	v[1] = owner_arg(req, &n[1]);
	respond_sql(resp, "SELECT codesight.stop_session($1, $2)", 2, t, v, n);
}

/*
 * POST /api/sessions/{id}/events/delete and .../restore {seqs:[...]}: the
 * route's SQL call with $1 = the session, $2 = the seqs as a JSON array
 * and $3 = the caller's worker id (NULL for admins).
 */
static void
h_event_seqs(Request *req, Response *resp)
{
	Oid			t[3] = {TEXTOID, TEXTOID, INT8OID};
	Datum		v[3];
	char		n[4] = "   ";
	char	   *seqs = body_json(req, "seqs");

	if (seqs == NULL)
		HTTP_ERROR(400, "bad_request", "seqs is required: an array of event seq numbers");
	v[0] = CStringGetTextDatum(req->id);
	v[1] = CStringGetTextDatum(seqs);
	v[2] = owner_arg(req, &n[2]);
	respond_sql(resp, req->route->sql, 3, t, v, n);
}

/* Checks that the caller may act on a session: 404 if absent, 403 if not theirs. */
static void
check_session_owner(Request *req, const char *session_id)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1] = {CStringGetTextDatum(session_id)};
	int			ret = SPI_execute_with_args("SELECT coalesce(worker_id, 0) FROM codesight.sessions "
											"WHERE session_id = $1", 1, t, v, NULL, true, 1);
	bool		isnull;
	int64		owner;

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "session lookup failed");
	if (SPI_processed == 0)
		HTTP_ERROR(404, "not_found", "no session %s", session_id);
	owner = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (req->auth.admin || owner == 0 || owner == req->auth.worker_id)
		return;
	HTTP_ERROR(403, "forbidden", "session %s belongs to another worker", session_id);
}

/* POST /api/upload/url */
static void
h_upload_url(Request *req, Response *resp)
{
	Oid			t[5] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID};
	Datum		v[5];
	char		n[6] = "     ";
	const char *session_id = body_string(req, "sessionId");
	JsonValue  *size = json_get(req->body, "sizeBytes");
	const char *started = body_string(req, "recordingStartedAt");
	int64_t		size_bytes;

	if (session_id == NULL || body_string(req, "kind") == NULL ||
		body_string(req, "contentType") == NULL || !json_number_to_int64(size, &size_bytes))
		HTTP_ERROR(400, "bad_request", "sessionId, kind, contentType and sizeBytes are required");
	check_session_owner(req, session_id);
	v[0] = CStringGetTextDatum(session_id);
	v[1] = CStringGetTextDatum(body_string(req, "kind"));
	v[2] = CStringGetTextDatum(body_string(req, "contentType"));
	v[3] = Int64GetDatum(size_bytes);
	if (started)
		v[4] = DirectFunctionCall3(timestamptz_in, CStringGetDatum(started),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	else
		n[4] = 'n';
	respond_sql(resp, "SELECT codesight.presign_upload($1, $2, $3, $4, $5)", 5, t, v, n);
}

/* POST /api/upload/complete */
static void
h_upload_complete(Request *req, Response *resp)
{
	Oid			t[2] = {TEXTOID, TEXTOID};
	Datum		v[2];
	char		n[3] = "  ";
	const char *upload_id = body_string(req, "uploadId");
	char	   *parts = body_json(req, "parts");
	char	   *owner_session;

	if (upload_id == NULL)
		HTTP_ERROR(400, "bad_request", "uploadId is required");
	v[0] = CStringGetTextDatum(upload_id);
	owner_session = sql_value("SELECT session_id FROM codesight.uploads WHERE upload_id::text = $1",
							  1, t, v, NULL);
	if (owner_session == NULL)
		HTTP_ERROR(404, "not_found", "no upload %s", upload_id);
	check_session_owner(req, owner_session);
	v[1] = text_or_null(parts, &n[1]);
	respond_sql(resp, "SELECT codesight.complete_upload($1::uuid, $2::jsonb)", 2, t, v, n);
}

/*
 * A dataset export streamed over several turns of the worker's loop: each
 * turn reads the next sessions (keyset on started_at, session_id) in a
 * short transaction, so a large export neither sits whole in memory nor
 * holds back ingestion.
 */
typedef struct DatasetStream
{
	Conn	   *conn;
	bool		has_since;
	TimestampTz since;
	bool		has_until;
	TimestampTz until;
	char	   *status;			/* NULL: any status */
	int64		task_id;		/* 0: any task */
	int			min_score;		/* 0: any score */
	bool		started;		/* a key below is set */
	TimestampTz last_started_at;
	char		last_session_id[PROTO_SESSION_ID_MAX + 1];
	struct DatasetStream *next;
} DatasetStream;

static DatasetStream *streams = NULL;

#define STREAM_MAX_PENDING (512 * 1024)
#define STREAM_LINES_PER_TURN 5000

/* Reads a timestamptz query parameter; false when absent or empty. */
static bool
query_time(Request *req, const char *name, TimestampTz *out)
{
	char	   *s = query_param(req, name);

	if (s == NULL || *s == '\0')
		return false;
	*out = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	return true;
}

/*
 * GET /api/export/dataset.jsonl?since=&until=&status=&task=&minScore=:
 * validates the filters (the status with codesight._dataset_status_ok),
 * then streams after commit.
 */
static void
h_dataset(Request *req, Response *resp)
{
	char	   *status = query_param(req, "status");
	char	   *task = query_param(req, "task");
	DatasetStream ds;

	memset(&ds, 0, sizeof(ds));
	ds.has_since = query_time(req, "since", &ds.since);
	ds.has_until = query_time(req, "until", &ds.until);
	if (status == NULL || *status == '\0')
		status = "completed";
	if (strcmp(status, "any") != 0)
	{
		Oid			t[1] = {TEXTOID};
		Datum		v[1] = {CStringGetTextDatum(status)};

		sql_value("SELECT codesight._dataset_status_ok($1)", 1, t, v, NULL);
	}
	if (task && *task)
	{
		char	   *end;

		errno = 0;
		ds.task_id = strtoll(task, &end, 10);
		if (*end != '\0' || errno != 0 || ds.task_id < 1)
			HTTP_ERROR(400, "bad_request", "query parameter task must be a task id");
	}
	ds.min_score = query_int(req, "minScore", 0, 1, 5);
	/* Nothing can fail past here: the stream's state outlives the request. */
	if (strcmp(status, "any") != 0)
		ds.status = MemoryContextStrdup(TopMemoryContext, status);
	resp->stream = MemoryContextAlloc(TopMemoryContext, sizeof(DatasetStream));
	*resp->stream = ds;
	resp->content_type = "application/x-ndjson";
}

/* Frees a stream's state. */
static void
stream_free(DatasetStream *ds)
{
	if (ds->status)
		pfree(ds->status);
	pfree(ds);
}

/*
 * Produces the next part of one stream; returns true when it is finished.
 * Runs inside a transaction as codesight_api.
 */
static bool
stream_step(DatasetStream *ds)
{
	Oid			t[8] = {BOOLOID, TIMESTAMPTZOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TEXTOID, INT8OID, INT4OID};
	Datum		v[8];
	char		n[9] = "        ";
	int			lines = 0;
	uint64		nsessions;
	SPITupleTable *sessions;

	v[0] = BoolGetDatum(ds->started);
	v[1] = TimestampTzGetDatum(ds->last_started_at);
	v[2] = CStringGetTextDatum(ds->last_session_id);
	if (ds->has_since)
		v[3] = TimestampTzGetDatum(ds->since);
	else
		n[3] = 'n';
	if (ds->has_until)
		v[4] = TimestampTzGetDatum(ds->until);
	else
		n[4] = 'n';
	if (ds->status)
		v[5] = CStringGetTextDatum(ds->status);
	else
		n[5] = 'n';
	if (ds->task_id)
		v[6] = Int64GetDatum(ds->task_id);
	else
		n[6] = 'n';
	if (ds->min_score)
		v[7] = Int32GetDatum(ds->min_score);
	else
		n[7] = 'n';
	if (SPI_execute_with_args("SELECT d.session_id, d.started_at "
							  "FROM codesight._dataset_sessions($4, $5, $6, $7, $8) d "
							  "WHERE (NOT $1 OR (d.started_at, d.session_id) > ($2, $3)) "
							  "ORDER BY d.started_at, d.session_id LIMIT 50",
							  8, t, v, n, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "dataset session listing failed");
	sessions = SPI_tuptable;
	nsessions = SPI_processed;
	for (uint64 i = 0; i < nsessions && lines < STREAM_LINES_PER_TURN; i++)
	{
		bool		isnull;
		char	   *sid = SPI_getvalue(sessions->vals[i], sessions->tupdesc, 1);
		Datum		started = SPI_getbinval(sessions->vals[i], sessions->tupdesc, 2, &isnull);
		Oid			st[1] = {TEXTOID};
		Datum		sv[1] = {CStringGetTextDatum(sid)};
		Portal		portal = SPI_cursor_open_with_args(NULL,
													   "SELECT codesight.dataset_session($1)",
													   1, st, sv, NULL, true, 0);
		StringInfoData buf;

		initStringInfo(&buf);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 1000);
			if (SPI_processed == 0)
				break;
			resetStringInfo(&buf);
			for (uint64 k = 0; k < SPI_processed; k++)
			{
				Datum		line = SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc,
												 1, &isnull);

				if (isnull)
					continue;
				jsonb_write_text(&buf, DatumGetJsonbP(line));
				appendStringInfoChar(&buf, '\n');
				lines++;
			}
			net_http_stream_write(ds->conn, buf.data, buf.len);
			SPI_freetuptable(SPI_tuptable);
		}
		pfree(buf.data);
		SPI_cursor_close(portal);
		ds->started = true;
		ds->last_started_at = DatumGetTimestampTz(started);
		strlcpy(ds->last_session_id, sid, sizeof(ds->last_session_id));
		if (i + 1 == nsessions && nsessions < 50)
			return true;
	}
	return nsessions == 0;
}

/* True while some dataset stream can make progress without waiting. */
bool
http_api_streams_ready(void)
{
	for (DatasetStream *ds = streams; ds; ds = ds->next)
		if (ds->conn->closed || net_http_stream_pending(ds->conn) < STREAM_MAX_PENDING)
			return true;
	return false;
}

/* What one turn of a stream works on. */
typedef struct StreamWork
{
	DatasetStream *ds;
	bool		finished;
} StreamWork;

/* The transaction body of a stream turn. */
static void
stream_body(void *arg)
{
	StreamWork *w = arg;

	w->finished = stream_step(w->ds);
}

/*
 * Runs one turn of a stream in its own transaction; returns true when the
 * stream is finished (or failed and was cut short).
 */
static bool
stream_turn(DatasetStream *ds)
{
	StreamWork	w = {ds, false};
	ErrorData  *edata;

	if (!run_in_xact("codesight: streaming the dataset export", "codesight_api",
					 cs_http_statement_timeout, stream_body, &w, &edata))
	{
		ereport(LOG, (errmsg("codesight: dataset export stopped: %s", edata->message)));
		FreeErrorData(edata);
		/* Headers are out: the only way to say "failed" is to cut it short. */
		net_kill(ds->conn);
		return true;
	}
	if (w.finished)
		net_http_stream_end(ds->conn);
	return w.finished;
}

/* Advances every stream whose client has taken what was sent so far. */
void
http_api_stream_step(void)
{
	DatasetStream **link = &streams;

	if (streams == NULL)
		return;
	while (*link)
	{
		DatasetStream *ds = *link;
		bool		finished = ds->conn->closed;

		if (!finished && net_http_stream_pending(ds->conn) >= STREAM_MAX_PENDING)
		{
			link = &ds->next;
			continue;
		}
		if (!finished)
			finished = stream_turn(ds);
		if (finished)
		{
			*link = ds->next;
			net_conn_release(ds->conn);
			stream_free(ds);
			continue;
		}
		link = &ds->next;
	}
	pgstat_report_activity(STATE_IDLE, "codesight: serving");
}

/* GET /metrics: Prometheus text format. */
static void
h_metrics(Request *req, Response *resp)
{
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_append(&resp->body);
}

/* The route being answered, for the per-route counters (-1: none). */
static int	current_route = -1;

static const Route routes[] = {
	{HTTP_M_GET, "/health", RA_NONE, false, h_health_public},
	{HTTP_M_GET, "/api/health", RA_NONE, false, h_health},
	{HTTP_M_GET, "/api/debug/counts", RA_ADMIN, false, h_counts},
	{HTTP_M_GET, "/api/admin/recent", RA_ADMIN, false, h_recent},
	{HTTP_M_POST, "/api/workers", RA_NONE, false, h_register},
	{HTTP_M_GET, "/api/me", RA_WORKER, false, h_me},
	{HTTP_M_POST, "/api/sessions", RA_WORKER, false, h_create_session},
	{HTTP_M_GET, "/api/sessions", RA_WORKER, false, h_list_sessions},
	{HTTP_M_DELETE, "/api/sessions/{id}", RA_WORKER, true, h_delete_session},
	{HTTP_M_POST, "/api/sessions/{id}/stop", RA_WORKER, true, h_stop_session},
	{HTTP_M_POST, "/api/sessions/{id}/events/delete", RA_WORKER, true, h_event_seqs,
	"SELECT jsonb_build_object('deleted', codesight.delete_events($1, "
	"ARRAY(SELECT jsonb_array_elements_text($2::jsonb)::bigint), $3))"},
	{HTTP_M_POST, "/api/sessions/{id}/events/restore", RA_WORKER, true, h_event_seqs,
	"SELECT jsonb_build_object('restored', codesight.restore_events($1, "
	"ARRAY(SELECT jsonb_array_elements_text($2::jsonb)::bigint), $3))"},
	{HTTP_M_POST, "/api/sessions/{id}/task", RA_WORKER, true, h_body_sql,
	"SELECT codesight.set_session_task($1, ($2->>'taskId')::bigint, $2->>'task', $3)"},
	{HTTP_M_POST, "/api/sessions/{id}/submit", RA_WORKER, true, h_body_sql,
	"SELECT codesight.submit_session($1, $2->>'confirmedTask', $3)"},
	{HTTP_M_GET, "/api/tasks", RA_WORKER, false, h_body_sql,
	"SELECT codesight.list_tasks(false)"},
	{HTTP_M_GET, "/api/admin/tasks", RA_ADMIN, false, h_body_sql,
	"SELECT codesight.list_tasks(true)"},
	{HTTP_M_POST, "/api/admin/tasks", RA_ADMIN, false, h_body_sql,
	"SELECT codesight.create_task($2->>'instruction', $2->>'site', "
	"codesight._json_strings($2->'tags', 'tags'), ($2->>'targetCount')::int)"},
	{HTTP_M_POST, "/api/admin/tasks/{id}", RA_ADMIN, false, h_body_sql,
	"SELECT codesight.update_task($1::bigint, $2)"},
	{HTTP_M_POST, "/api/admin/task-options", RA_ADMIN, false, h_body_sql,
	"SELECT codesight.set_task_options(($2->>'allowCustom')::boolean)"},
	{HTTP_M_POST, "/api/admin/sessions/{id}/score", RA_ADMIN, true, h_body_sql,
	"SELECT codesight.score_session($1, ($2->>'score')::int, $2->>'note')"},
	{HTTP_M_GET, "/api/sessions/{id}/media", RA_WORKER, true, h_session_sql,
	"SELECT codesight.media_urls($1)"},
	{HTTP_M_GET, "/api/extension/sessions", RA_ADMIN, false, h_list_sessions},
	{HTTP_M_GET, "/api/extension/sessions/{id}/data", RA_WORKER, true, h_session_sql,
	"SELECT codesight.session_data($1)"},
	{HTTP_M_GET, "/api/extension/sessions/{id}/summary", RA_WORKER, true, h_session_sql,
	"SELECT codesight.session_summary($1)"},
	{HTTP_M_GET, "/api/extension/sessions/{id}/events", RA_WORKER, true, h_session_events},
	{HTTP_M_GET, "/api/extension/sessions/{id}/training-data", RA_WORKER, true, h_session_sql,
	"SELECT codesight.training_data($1)"},
	{HTTP_M_GET, "/api/extension/sessions/{id}/playwright", RA_WORKER, true, h_playwright},
	{HTTP_M_GET, "/api/export/dataset.jsonl", RA_ADMIN, false, h_dataset},
	{HTTP_M_POST, "/api/upload/url", RA_WORKER, false, h_upload_url},
	{HTTP_M_POST, "/api/upload/complete", RA_WORKER, false, h_upload_complete},
	{HTTP_M_GET, "/metrics", RA_ADMIN, false, h_metrics},
};

/*
 * Matches path against pattern; a {id} segment captures one non-empty
 * segment into id (palloc'd).
 */
static bool
match_route(const char *pattern, const char *path, char **id)
{
	*id = NULL;
	while (*pattern && *path)
	{
		if (strncmp(pattern, "{id}", 4) == 0)
		{
			const char *slash = strchr(path, '/');
			size_t		n = slash ? (size_t) (slash - path) : strlen(path);

			if (n == 0)
				return false;
			*id = pnstrdup(path, n);
			pattern += 4;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

/* The status for a SQL error, from its SQLSTATE. */
static int
status_for_sqlstate(int sqlerrcode, const char **code)
{
	switch (sqlerrcode)
	{
		case ERRCODE_NO_DATA_FOUND:
		case ERRCODE_UNDEFINED_OBJECT:
			*code = "not_found";
			return 404;
		case ERRCODE_INSUFFICIENT_PRIVILEGE:
			*code = "forbidden";
			return 403;
		case ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION:
			*code = "unauthorized";
			return 401;
		case ERRCODE_UNIQUE_VIOLATION:
		case ERRCODE_DUPLICATE_OBJECT:
		case ERRCODE_OBJECT_IN_USE:
			*code = "conflict";
			return 409;
		case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE:
			/* e.g. S3 not configured: the server, not the request, is at fault */
			*code = "unavailable";
			return 503;
		case ERRCODE_UNDEFINED_FUNCTION:
			*code = "unavailable";
			return 503;
		case ERRCODE_QUERY_CANCELED:
			*code = "unavailable";
			return 503;
	}
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:
			*code = "bad_request";
			return 400;
		case ERRCODE_EXTERNAL_ROUTINE_EXCEPTION:
		case ERRCODE_CONNECTION_EXCEPTION:
		case ERRCODE_SYSTEM_ERROR:
			*code = "s3_error";
			return 502;
	}
	if (sqlerrcode == ERRCODE_RAISE_EXCEPTION || sqlerrcode == ERRCODE_INVALID_PARAMETER_VALUE ||
		sqlerrcode == ERRCODE_INVALID_TEXT_REPRESENTATION)
	{
		*code = "bad_request";
		return 400;
	}
	*code = "internal_error";
	return 500;
}

/* Appends a JSON error body. */
static void
error_body(StringInfo out, const char *code, const char *message)
{
	StrBuf		sb;

	strbuf_init(&sb);
	strbuf_appends(&sb, "{\"error\":{\"code\":");
	json_append_string(&sb, code, strlen(code));
	strbuf_appends(&sb, ",\"message\":");
	json_append_string(&sb, message, strlen(message));
	strbuf_appends(&sb, "}}");
	if (!sb.failed)
		appendBinaryStringInfo(out, sb.data, sb.len);
	strbuf_free(&sb);
}

/*
 * True when the Origin is the worker's own (the page it serves).  It is
 * compared with the address and port the worker listens on, never with
 * the request's Host header: a DNS-rebinding page chooses that header.
 */
static bool
same_origin(HttpRequest *r)
{
	const char *o = r->origin;
	const char *addr = cs_listen_address ? cs_listen_address : "";
	char		own[300];
	bool		loopback = strncmp(addr, "127.", 4) == 0 || strcmp(addr, "localhost") == 0;

	if (o == NULL)
		return false;
	if (strncmp(o, "http://", 7) == 0)
		o += 7;
	else if (strncmp(o, "https://", 8) == 0)
		o += 8;
	else
		return false;
	snprintf(own, sizeof(own), "%s:%d", addr, cs_port);
	if (strcmp(o, own) == 0)
		return true;
	if (loopback)
	{
		snprintf(own, sizeof(own), "localhost:%d", cs_port);
		if (strcmp(o, own) == 0)
			return true;
		snprintf(own, sizeof(own), "127.0.0.1:%d", cs_port);
		if (strcmp(o, own) == 0)
			return true;
	}
	return false;
}

/* Headers for CORS when the Origin is allowed ("" otherwise). */
static void
cors_headers(HttpRequest *r, StringInfo h, bool preflight)
{
	if (r->origin == NULL || (!codesight_origin_allowed(r->origin) && !same_origin(r)))
		return;
	appendStringInfo(h, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", r->origin);
	if (preflight)
		appendStringInfoString(h,
							   "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n"
							   "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
							   "Access-Control-Max-Age: 600\r\n");
}

/* Sends a response with the standard headers. */
static void
send_response(Conn *c, int status, const char *content_type, const char *body, size_t len,
			  bool preflight)
{
	StringInfoData h;

	initStringInfo(&h);
	cors_headers(c->http_req, &h, preflight);
	appendStringInfoString(&h, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
	net_http_respond(c, status, content_type, h.data, body, len);
	metrics_count_http(current_route, status);
	pfree(h.data);
}

/* Sends a JSON error. */
static void
send_error(Conn *c, int status, const char *code, const char *message)
{
	StringInfoData b;

	initStringInfo(&b);
	error_body(&b, code, message);
	send_response(c, status, "application/json", b.data, b.len, false);
	pfree(b.data);
}

/* Authenticates the Authorization header into req->auth. */
static void
authenticate(Request *req)
{
	const char *a = req->http->authorization;

	if (a == NULL)
		return;
	if (strncasecmp(a, "Bearer ", 7) != 0)
		HTTP_ERROR(401, "unauthorized", "use an Authorization: Bearer <token> header");
	a += 7;
	while (*a == ' ')
		a++;
	if (!auth_verify_token(a, &req->auth))
		HTTP_ERROR(401, "unauthorized", "the token was not accepted; it may be revoked or mistyped");
}

/* True when the peer address is loopback. */
static bool
peer_is_loopback(Conn *c)
{
	return strncmp(c->peer, "127.", 4) == 0 || strcmp(c->peer, "::1") == 0 ||
		strncmp(c->peer, "::ffff:127.", 11) == 0;
}

/*
 * Hands the route patterns to metrics.c once, for its labels, written
 * with ":id" for "{id}" as most Prometheus tooling expects no braces in
 * label values.
 */
static void
init_route_names(void)
{
	static const char *names[lengthof(routes)];
	static bool done = false;

	if (done)
		return;
	for (size_t i = 0; i < lengthof(routes); i++)
	{
		const char *p = routes[i].pattern;
		const char *brace = strstr(p, "{id}");

		names[i] = brace == NULL ? p :
			MemoryContextStrdup(TopMemoryContext,
								psprintf("%.*s:id%s", (int) (brace - p), p, brace + 4));
	}
	metrics_set_route_names(names, lengthof(routes));
	done = true;
}

/* What one HTTP request's transaction works on. */
typedef struct RequestWork
{
	Request    *req;
	Response   *resp;
	const Route *route;
} RequestWork;

/* The transaction body of a request: authenticate, authorize, run the route. */
static void
request_body(void *arg)
{
	RequestWork *w = arg;
	Request    *req = w->req;
	const Route *route = w->route;

	authenticate(req);
	if (req->auth.valid)
	{
		char		key[48];

		/* A token is limited on its own too: it may come from many addresses. */
		snprintf(key, sizeof(key), "token:%s", req->auth.token_id);
		if (!ratelimit_allow(key, cs_http_rate_limit))
			HTTP_ERROR(429, "rate_limited", "too many requests with this token; slow down and retry in a second");
	}
	if (route->auth == RA_ADMIN && !req->auth.admin &&
		!(route->handler == h_metrics && peer_is_loopback(req->conn)))
		HTTP_ERROR(req->auth.valid ? 403 : 401, req->auth.valid ? "forbidden" : "unauthorized",
				   "this route needs an admin token");
	if (route->auth == RA_WORKER && !req->auth.valid && codesight_auth_required())
		HTTP_ERROR(401, "unauthorized", "this route needs a worker token");
	if (route->session_scoped)
		check_session_owner(req, req->id);
	route->handler(req, w->resp);
}

/*
 * Answers the connection's pending HTTP request.  All database work runs
 * in one transaction inside an error boundary: any error becomes a JSON
 * error response and the worker goes on.
 */
void
http_api_handle(Conn *c)
{
	HttpRequest *r = c->http_req;
	MemoryContext cxt;
	MemoryContext old;
	const Route *route = NULL;
	bool		path_known = false;
	char	   *id = NULL;
	Request		req;
	Response	resp;
	bool		ok;
	int			err_status = 500;
	char	   *err_code = NULL;
	char	   *err_msg = NULL;
	RequestWork w;
	ErrorData  *edata;

	if (c->closed || r == NULL)
		return;
	cxt = AllocSetContextCreate(TopMemoryContext, "codesight http", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	current_route = -1;
	init_route_names();

	if (!ratelimit_allow(c->peer, cs_http_rate_limit))
	{
		send_error(c, 429, "rate_limited", "too many requests from this address; slow down and retry in a second");
		goto done;
	}
	if (r->method == HTTP_M_OPTIONS)
	{
		if (r->origin && !codesight_origin_allowed(r->origin) && !same_origin(r))
			send_error(c, 403, "forbidden", "this origin is not in codesight.allowed_origins");
		else
			send_response(c, 204, "text/plain", "", 0, true);
		goto done;
	}
	if (r->origin && !codesight_origin_allowed(r->origin) && !same_origin(r))
	{
		send_error(c, 403, "forbidden", "this origin is not in codesight.allowed_origins");
		goto done;
	}
	for (size_t i = 0; i < lengthof(routes); i++)
	{
		if (!match_route(routes[i].pattern, r->path, &id))
			continue;
		path_known = true;
		if (routes[i].method == r->method ||
			(r->method == HTTP_M_HEAD && routes[i].method == HTTP_M_GET))
		{
			route = &routes[i];
			current_route = (int) i;
			break;
		}
	}
	if (route == NULL)
	{
		if (path_known)
			send_error(c, 405, "method_not_allowed", "this route does not take that method");
		else
			send_error(c, 404, "not_found", "no such route");
		goto done;
	}
	if (r->body_too_large)
	{
		send_error(c, 413, "payload_too_large", "the request body is larger than codesight.max_http_body_bytes");
		goto done;
	}

	/* Liveness must not depend on the database being healthy. */
	if (route->handler == h_health_public)
	{
		send_response(c, 200, "application/json", "{\"status\":\"ok\"}", 15, false);
		goto done;
	}

	memset(&req, 0, sizeof(req));
	req.conn = c;
	req.http = r;
	req.id = id;
	req.route = route;
	json_arena_init(&req.arena);
	if (r->body_len > 0)
	{
		static const JsonLimits limits = {32, 100000, 100};

		if (json_parse(r->body, r->body_len, &limits, &req.arena, &req.body, NULL) != JSON_OK ||
			req.body->type != JV_OBJECT)
		{
			json_arena_free(&req.arena);
			send_error(c, 400, "invalid_json", "the request body must be a JSON object");
			goto done;
		}
	}
	resp.status = 200;
	resp.content_type = "application/json";
	resp.stream = NULL;
	initStringInfo(&resp.body);

	w.req = &req;
	w.resp = &resp;
	w.route = route;
	ok = run_in_xact(r->path, "codesight_api", cs_http_statement_timeout,
					 request_body, &w, &edata);
	if (!ok)
	{
		const char *code;

		if (edata->detail && strncmp(edata->detail, "http:", 5) == 0)
		{
			char	   *colon;

			err_status = atoi(edata->detail + 5);
			colon = strchr(edata->detail + 5, ':');
			err_code = pstrdup(colon ? colon + 1 : "bad_request");
		}
		else
		{
			err_status = status_for_sqlstate(edata->sqlerrcode, &code);
			err_code = pstrdup(code);
			if (err_status >= 500)
				ereport(LOG,
						(errmsg("codesight: HTTP %s failed: %s", r->path, edata->message)));
		}
		/* Internal errors keep their details in the server log only. */
		err_msg = pstrdup(err_status == 500 ? "internal error; see the server log" : edata->message);
	}

	MemoryContextSwitchTo(cxt);
	json_arena_free(&req.arena);
	if (ok && resp.stream)
	{
		StringInfoData h;

		initStringInfo(&h);
		cors_headers(r, &h, false);
		appendStringInfoString(&h, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
		net_http_stream_begin(c, 200, resp.content_type, h.data);
		metrics_count_http(current_route, 200);
		/* The stream keeps the connection until it is finished. */
		c->refs++;
		resp.stream->conn = c;
		resp.stream->next = streams;
		streams = resp.stream;
	}
	else if (ok)
		send_response(c, resp.status, resp.content_type, resp.body.data, resp.body.len, false);
	else
		send_error(c, err_status, err_code, err_msg);

done:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	pgstat_report_activity(STATE_IDLE, "codesight: serving");
}
