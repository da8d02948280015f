/*-------------------------------------------------------------------------
 *
 * http_api.c
 *	  Routes of the HTTP API (docs/http-api.md), run by the HTTP workers
 *	  (http_worker.c), one request at a time, each in its own transaction.
 *
 * Each route authenticates the bearer token, turns path, query and JSON
 * body into arguments, and calls the SQL function of the same meaning;
 * there is no second implementation of any behaviour here.  SQL errors
 * become JSON errors with a status chosen from their SQLSTATE.  What needs
 * no database (preflights, refused hosts and origins, rate limits,
 * /health) the network process answers before a request gets here.
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
#include "utils/json.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "auth.h"
#include "guc.h"
#include "http_api.h"
#include "http_util.h"
#include "json.h"
#include "jsonb_text.h"
#include "metrics.h"
#include "protocol.h"
#include "s3.h"
#include "shmem.h"
#include "xact.h"

typedef enum RouteAuth
{
	RA_NONE,					/* public */
	RA_WORKER,					/* worker token (or admin); anonymous when auth is off */
	RA_ADMIN					/* admin token */
} RouteAuth;

/* Route properties. */
#define RF_SESSION		0x01	/* {id} is a session the caller must own */
#define RF_LOOPBACK_OK	0x02	/* admin route open to loopback clients (/metrics) */
#define RF_S3			0x04	/* calls S3: the request may also take codesight.s3_timeout */
#define RF_NETWORK		0x08	/* answered by the network process, never here */

/* What a handler gets. */
typedef struct Request
{
	HttpRequest *http;
	bool		peer_loopback;
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
	int			flags;			/* RF_* */
	RouteHandler handler;
	const char *sql;			/* for h_session_sql: the call, $1 = {id} */
} Route;

/*
 * The status and code of the client error being raised: set by HTTP_ERROR
 * right before its ereport and read by the request's error boundary, so a
 * handler's 4xx is carried as data, never parsed back out of message text.
 */
static int	error_status = 0;
static const char *error_code = NULL;

/* Raised inside handlers for client errors, caught in http_api_handle. */
#define HTTP_ERROR(status, code, ...) \
	do { \
		error_status = (status); \
		error_code = (code); \
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg(__VA_ARGS__))); \
	} while (0)

/*
 * Runs a query with SPI_execute_with_args.  Every SPI call leaves SPI's
 * procedure context current, which SPI_finish frees at the end of the
 * transaction; what a handler allocates afterwards (a stream's buffer, a
 * copied filter) must outlive it, so the caller's context is restored.
 */
static int
spi_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
		 bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			ret = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, count);

	MemoryContextSwitchTo(cxt);
	return ret;
}

/* Runs a query returning one json/jsonb/text value; NULL if no row. */
static char *
sql_value(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	int			ret = spi_exec(sql, nargs, types, values, nulls, false, 0);
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
 * copy into an SPI tuple table and jsonb_out (jsonb_text.c); a json (or
 * text holding JSON) is copied in as it is.
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
	else if (type == JSONOID || type == TEXTOID)
	{
		/* JSON text as it is: json_out would copy it once more. */
		text	   *t = DatumGetTextPP(d);

		appendBinaryStringInfo(r->out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
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
	MemoryContext cxt = CurrentMemoryContext;
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
	MemoryContextSwitchTo(cxt);
	if (ret < 0)
		elog(ERROR, "SPI failed: %s", SPI_result_code_string(ret));
	if (!r.done)
		appendStringInfoString(&resp->body, "null");
}

/* A query parameter's value (decoded once, by libwebsockets), or NULL. */
static const char *
query_param(Request *req, const char *name)
{
	return http_query_param(req->http->query, req->http->query_len, name);
}

/* Reads an integer query parameter with a default and bounds. */
static int
query_int(Request *req, const char *name, int dflt, int min, int max)
{
	const char *s = query_param(req, name);
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

/*
 * POST /api/workers: open registration of a worker.  Only the display name
 * is read; an "email" sent by an older page is ignored, never stored.
 */
static void
h_register(Request *req, Response *resp)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1];
	const char *name = body_string(req, "displayName");

	if (!codesight_registration_open() && !req->auth.admin)
		HTTP_ERROR(403, "forbidden", "registration is closed; ask an admin for a worker token");
	if (name == NULL)
		HTTP_ERROR(400, "bad_request", "displayName is required");
	v[0] = CStringGetTextDatum(name);
	resp->status = 201;
	respond_sql(resp, "SELECT codesight.register_worker($1)", 1, t, v, NULL);
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
	const char *status = query_param(req, "status");

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
	int			ret = spi_exec("SELECT coalesce(worker_id, 0) FROM codesight.sessions "
							   "WHERE session_id = $1", 1, t, v, NULL, true, 1);
	bool		isnull;
	int64		owner;

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "session lookup failed");
	if (SPI_processed == 0)
		HTTP_ERROR(404, "not_found", "no session %s", session_id);
	owner = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (req->auth.admin || (owner != 0 && owner == req->auth.worker_id))
		return;
	/* A session without an owner: anyone's while no token is required, else an admin's. */
	if (owner == 0 && !codesight_auth_required())
		return;
	if (owner == 0)
		HTTP_ERROR(403, "forbidden", "session %s has no owner; only an admin may use it", session_id);
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

/*
 * The body's uploadId, once the caller is known to own its session: 400
 * without one, 404 for an unknown upload, 403 for another worker's.
 */
static const char *
owned_upload_id(Request *req)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1];
	const char *upload_id = body_string(req, "uploadId");
	char	   *owner_session;

	if (upload_id == NULL)
		HTTP_ERROR(400, "bad_request", "uploadId is required");
	v[0] = CStringGetTextDatum(upload_id);
	owner_session = sql_value("SELECT session_id FROM codesight.uploads WHERE upload_id::text = $1",
							  1, t, v, NULL);
	if (owner_session == NULL)
		HTTP_ERROR(404, "not_found", "no upload %s", upload_id);
	check_session_owner(req, owner_session);
	return upload_id;
}

/* POST /api/upload/complete */
static void
h_upload_complete(Request *req, Response *resp)
{
	Oid			t[2] = {TEXTOID, TEXTOID};
	Datum		v[2];
	char		n[3] = "  ";

	v[0] = CStringGetTextDatum(owned_upload_id(req));
	v[1] = text_or_null(body_json(req, "parts"), &n[1]);
	respond_sql(resp, "SELECT codesight.complete_upload($1::uuid, $2::jsonb)", 2, t, v, n);
}

/* POST /api/upload/part-urls {uploadId, partNumbers} */
static void
h_upload_part_urls(Request *req, Response *resp)
{
	Oid			t[2] = {TEXTOID, TEXTOID};
	Datum		v[2];
	char		n[3] = "  ";

	v[0] = CStringGetTextDatum(owned_upload_id(req));
	v[1] = text_or_null(body_json(req, "partNumbers"), &n[1]);
	respond_sql(resp, "SELECT codesight.upload_part_urls($1::uuid, "
				"ARRAY(SELECT jsonb_array_elements_text($2::jsonb)::int))", 2, t, v, n);
}

/* POST /api/upload/parts {uploadId} */
static void
h_upload_parts(Request *req, Response *resp)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1] = {CStringGetTextDatum(owned_upload_id(req))};

	respond_sql(resp, "SELECT codesight.upload_parts($1::uuid)", 1, t, v, NULL);
}

/* POST /api/upload/abort {uploadId} */
static void
h_upload_abort(Request *req, Response *resp)
{
	Oid			t[1] = {TEXTOID};
	Datum		v[1] = {CStringGetTextDatum(owned_upload_id(req))};

	respond_sql(resp, "SELECT codesight.abort_upload($1::uuid)", 1, t, v, NULL);
}

/*
 * A dataset export, streamed: the sessions (keyset on started_at,
 * session_id) are read a few at a time, each turn in a short transaction
 * of its own, and their lines are sent between turns, so a large export
 * neither sits whole in memory nor holds one transaction open for its
 * whole length.
 */
typedef struct DatasetStream
{
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
	char		done_session_id[PROTO_SESSION_ID_MAX + 1];	/* last one sent whole */
	char		buffered_done[PROTO_SESSION_ID_MAX + 1];	/* ... whole in `out` */
	StringInfoData out;			/* lines of this turn not yet sent */
	bool		cancelled;		/* the client went away */
} DatasetStream;

#define STREAM_LINES_PER_TURN 5000
#define STREAM_FLUSH_BYTES (1024 * 1024)
#define STREAM_SESSIONS_PER_TURN 50

/* Reads a timestamptz query parameter; false when absent or empty. */
static bool
query_time(Request *req, const char *name, TimestampTz *out)
{
	const char *s = query_param(req, name);

	if (s == NULL || *s == '\0')
		return false;
	*out = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	return true;
}

/*
 * GET /api/export/dataset.jsonl?since=&until=&status=&task=&minScore=&after=:
 * validates the filters (the status with codesight._dataset_status_ok),
 * then streams after commit.  after names the last session a broken
 * stream delivered whole (its error line says which): the export goes on
 * from the next one.
 */
static void
h_dataset(Request *req, Response *resp)
{
	const char *status = query_param(req, "status");
	const char *task = query_param(req, "task");
	const char *after = query_param(req, "after");
	DatasetStream *ds = palloc0(sizeof(DatasetStream));

	ds->has_since = query_time(req, "since", &ds->since);
	ds->has_until = query_time(req, "until", &ds->until);
	if (status == NULL || *status == '\0')
		status = "completed";
	if (strcmp(status, "any") != 0)
	{
		Oid			t[1] = {TEXTOID};
		Datum		v[1] = {CStringGetTextDatum(status)};

		sql_value("SELECT codesight._dataset_status_ok($1)", 1, t, v, NULL);
		ds->status = pstrdup(status);
	}
	if (task && *task)
	{
		char	   *end;

		errno = 0;
		ds->task_id = strtoll(task, &end, 10);
		if (*end != '\0' || errno != 0 || ds->task_id < 1)
			HTTP_ERROR(400, "bad_request", "query parameter task must be a task id");
	}
	ds->min_score = query_int(req, "minScore", 0, 1, 5);
	if (after && *after)
	{
		Oid			t[1] = {TEXTOID};
		Datum		v[1] = {CStringGetTextDatum(after)};
		bool		isnull;

		if (!proto_valid_session_id(after, strlen(after)))
			HTTP_ERROR(400, "bad_request", "after must be a session id");
		if (spi_exec("SELECT started_at FROM codesight.sessions WHERE session_id = $1",
					 1, t, v, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "session lookup failed");
		if (SPI_processed == 0)
			HTTP_ERROR(404, "not_found", "no session %s to resume after", after);
		ds->started = true;
		ds->last_started_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
																SPI_tuptable->tupdesc, 1, &isnull));
		strlcpy(ds->last_session_id, after, sizeof(ds->last_session_id));
		strlcpy(ds->done_session_id, after, sizeof(ds->done_session_id));
		strlcpy(ds->buffered_done, after, sizeof(ds->buffered_done));
	}
	initStringInfo(&ds->out);
	resp->stream = ds;
	resp->content_type = "application/x-ndjson";
}

/*
 * Sends the lines gathered so far.  Inside a turn's transaction the
 * statement timeout is paused while the client takes them, and resumed
 * with what was left of it: it bounds the database's work of the turn, not
 * the client's speed (a client that takes nothing is dropped by the
 * network process).
 */
static void
stream_flush(DatasetStream *ds, bool in_xact)
{
	long		left_ms = 0;
	bool		timed = in_xact && get_timeout_active(STATEMENT_TIMEOUT);

	if (ds->out.len == 0 || ds->cancelled)
		return;
	if (timed)
	{
		TimestampTz now = GetCurrentTimestamp();

		left_ms = TimestampDifferenceMilliseconds(now, get_timeout_finish_time(STATEMENT_TIMEOUT));
		disable_timeout(STATEMENT_TIMEOUT, false);
	}
	if (!http_out_body(ds->out.data, ds->out.len))
		ds->cancelled = true;
	else
		strlcpy(ds->done_session_id, ds->buffered_done, sizeof(ds->done_session_id));
	if (timed)
		enable_timeout_after(STATEMENT_TIMEOUT, Max(left_ms, 1));
	resetStringInfo(&ds->out);
}

/*
 * Produces the next sessions of one stream; returns true when it is
 * finished.  Runs inside a transaction as codesight_api.
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
	if (spi_exec("SELECT d.session_id, d.started_at "
				 "FROM codesight._dataset_sessions($4, $5, $6, $7, $8) d "
				 "WHERE (NOT $1 OR (d.started_at, d.session_id) > ($2, $3)) "
				 "ORDER BY d.started_at, d.session_id LIMIT " CppAsString2(STREAM_SESSIONS_PER_TURN),
				 8, t, v, n, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "dataset session listing failed");
	sessions = SPI_tuptable;
	nsessions = SPI_processed;
	for (uint64 i = 0; i < nsessions && lines < STREAM_LINES_PER_TURN && !ds->cancelled; i++)
	{
		bool		isnull;
		char	   *sid = SPI_getvalue(sessions->vals[i], sessions->tupdesc, 1);
		Datum		started = SPI_getbinval(sessions->vals[i], sessions->tupdesc, 2, &isnull);
		Oid			st[1] = {TEXTOID};
		Datum		sv[1] = {CStringGetTextDatum(sid)};
		Portal		portal = SPI_cursor_open_with_args(NULL,
													   "SELECT codesight.dataset_session($1)",
													   1, st, sv, NULL, true, 0);

		for (;;)
		{
			SPI_cursor_fetch(portal, true, 1000);
			if (SPI_processed == 0)
				break;
			for (uint64 k = 0; k < SPI_processed; k++)
			{
				Datum		line = SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc,
												 1, &isnull);

				if (isnull)
					continue;
				jsonb_write_text(&ds->out, DatumGetJsonbP(line));
				appendStringInfoChar(&ds->out, '\n');
				lines++;
			}
			SPI_freetuptable(SPI_tuptable);
			if (ds->out.len >= STREAM_FLUSH_BYTES)
				stream_flush(ds, true);
		}
		SPI_cursor_close(portal);
		strlcpy(ds->buffered_done, sid, sizeof(ds->buffered_done));
		ds->started = true;
		ds->last_started_at = DatumGetTimestampTz(started);
		strlcpy(ds->last_session_id, sid, sizeof(ds->last_session_id));
		if (i + 1 == nsessions && nsessions < STREAM_SESSIONS_PER_TURN)
			return true;
	}
	return nsessions == 0;
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
 * Runs a stream to its end, a turn at a time, after its head went out.
 * A turn that fails ends the body with a line saying why and where to
 * resume, and the response is cut (no last chunk), so a client that only
 * checks the status still sees a broken transfer (docs/http-api.md).
 */
static void
run_stream(DatasetStream *ds)
{
	MemoryContext turn_context = AllocSetContextCreate(CurrentMemoryContext,
													   "codesight dataset turn",
													   ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(turn_context);

	for (;;)
	{
		StreamWork	w = {ds, false};
		ErrorData  *edata;
		bool		ok;

		/* What a turn reads (session ids, the error) is dropped the next. */
		MemoryContextReset(turn_context);
		ok = run_in_xact("codesight: streaming the dataset export", "codesight_api",
						 cs_http_statement_timeout, stream_body, &w, &edata);

		if (!ok)
		{
			StringInfoData line;

			initStringInfo(&line);
			appendStringInfoString(&line, "{\"error\":{\"code\":\"export_incomplete\",\"message\":");
			escape_json(&line, edata->message);
			appendStringInfoString(&line, ",\"resumeAfter\":");
			if (ds->done_session_id[0])
				escape_json(&line, ds->done_session_id);
			else
				appendStringInfoString(&line, "null");
			appendStringInfoString(&line, "}}\n");
			xact_log_error("codesight: dataset export cut short", edata);
			/* What the failed turn gathered is dropped: it resumes there. */
			resetStringInfo(&ds->out);
			appendBinaryStringInfo(&ds->out, line.data, line.len);
			stream_flush(ds, false);
			http_out_end(true);
			break;
		}
		stream_flush(ds, false);
		if (ds->cancelled || w.finished)
		{
			http_out_end(ds->cancelled);
			break;
		}
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(turn_context);
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
	{HTTP_M_GET, "/health", RA_NONE, RF_NETWORK, NULL},
	{HTTP_M_GET, "/api/health", RA_NONE, RF_S3, h_health},
	{HTTP_M_GET, "/api/debug/counts", RA_ADMIN, 0, h_counts},
	{HTTP_M_GET, "/api/admin/recent", RA_ADMIN, 0, h_recent},
	{HTTP_M_POST, "/api/workers", RA_NONE, 0, h_register},
	{HTTP_M_GET, "/api/me", RA_WORKER, 0, h_me},
	{HTTP_M_POST, "/api/sessions", RA_WORKER, 0, h_create_session},
	{HTTP_M_GET, "/api/sessions", RA_WORKER, 0, h_list_sessions},
	{HTTP_M_DELETE, "/api/sessions/{id}", RA_WORKER, RF_SESSION, h_delete_session},
	{HTTP_M_POST, "/api/sessions/{id}/stop", RA_WORKER, RF_SESSION, h_stop_session},
	{HTTP_M_POST, "/api/sessions/{id}/events/delete", RA_WORKER, RF_SESSION, h_event_seqs,
	"SELECT jsonb_build_object('deleted', codesight.delete_events($1, "
	"ARRAY(SELECT jsonb_array_elements_text($2::jsonb)::bigint), $3))"},
	{HTTP_M_POST, "/api/sessions/{id}/events/restore", RA_WORKER, RF_SESSION, h_event_seqs,
	"SELECT jsonb_build_object('restored', codesight.restore_events($1, "
	"ARRAY(SELECT jsonb_array_elements_text($2::jsonb)::bigint), $3))"},
	{HTTP_M_POST, "/api/sessions/{id}/task", RA_WORKER, RF_SESSION, h_body_sql,
	"SELECT codesight.set_session_task($1, ($2->>'taskId')::bigint, $2->>'task', $3)"},
	{HTTP_M_POST, "/api/sessions/{id}/submit", RA_WORKER, RF_SESSION, h_body_sql,
	"SELECT codesight.submit_session($1, $2->>'confirmedTask', $3)"},
	{HTTP_M_GET, "/api/tasks", RA_WORKER, 0, h_body_sql,
	"SELECT codesight.list_tasks(false)"},
	{HTTP_M_GET, "/api/admin/tasks", RA_ADMIN, 0, h_body_sql,
	"SELECT codesight.list_tasks(true)"},
	{HTTP_M_POST, "/api/admin/tasks", RA_ADMIN, 0, h_body_sql,
	"SELECT codesight.create_task($2->>'instruction', $2->>'site', "
	"codesight._json_strings($2->'tags', 'tags'), ($2->>'targetCount')::int)"},
	{HTTP_M_POST, "/api/admin/tasks/{id}", RA_ADMIN, 0, h_body_sql,
	"SELECT codesight.update_task($1::bigint, $2)"},
	{HTTP_M_POST, "/api/admin/task-options", RA_ADMIN, 0, h_body_sql,
	"SELECT codesight.set_task_options(($2->>'allowCustom')::boolean)"},
	{HTTP_M_POST, "/api/admin/sessions/{id}/score", RA_ADMIN, RF_SESSION, h_body_sql,
	"SELECT codesight.score_session($1, ($2->>'score')::int, $2->>'note')"},
	{HTTP_M_GET, "/api/sessions/{id}/media", RA_WORKER, RF_SESSION, h_session_sql,
	"SELECT codesight.media_urls($1)"},
	{HTTP_M_GET, "/api/extension/sessions", RA_ADMIN, 0, h_list_sessions},
	{HTTP_M_GET, "/api/extension/sessions/{id}/data", RA_WORKER, RF_SESSION, h_session_sql,
	"SELECT codesight.session_data_json($1)"},
	{HTTP_M_GET, "/api/extension/sessions/{id}/summary", RA_WORKER, RF_SESSION, h_session_sql,
	"SELECT codesight.session_summary($1)"},
	{HTTP_M_GET, "/api/extension/sessions/{id}/events", RA_WORKER, RF_SESSION, h_session_events},
	{HTTP_M_GET, "/api/extension/sessions/{id}/training-data", RA_WORKER, RF_SESSION, h_session_sql,
	"SELECT codesight.training_data($1)"},
	{HTTP_M_GET, "/api/extension/sessions/{id}/playwright", RA_WORKER, RF_SESSION, h_playwright},
	{HTTP_M_GET, "/api/export/dataset.jsonl", RA_ADMIN, 0, h_dataset},
	{HTTP_M_POST, "/api/upload/url", RA_WORKER, RF_S3, h_upload_url},
	{HTTP_M_POST, "/api/upload/complete", RA_WORKER, RF_S3, h_upload_complete},
	{HTTP_M_POST, "/api/upload/part-urls", RA_WORKER, 0, h_upload_part_urls},
	{HTTP_M_POST, "/api/upload/parts", RA_WORKER, RF_S3, h_upload_parts},
	{HTTP_M_POST, "/api/upload/abort", RA_WORKER, RF_S3, h_upload_abort},
	{HTTP_M_GET, "/metrics", RA_ADMIN, RF_LOOPBACK_OK, h_metrics},
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

/*
 * The index of the route a request names (for the per-route counters of
 * what the network process answers itself), or -1.
 */
int
http_api_route_of(const char *path, HttpMethod method)
{
	char	   *id;

	for (size_t i = 0; i < lengthof(routes); i++)
		if (match_route(routes[i].pattern, path, &id) &&
			(routes[i].method == method || (method == HTTP_M_HEAD && routes[i].method == HTTP_M_GET)))
			return (int) i;
	return -1;
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
		case ERRCODE_CS_S3_TIMEOUT:
			*code = "s3_timeout";
			return 504;
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			*code = "session_too_large";
			return 413;
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

/* Sends a whole response: head, body in pieces, end. */
static void
send_response(Request *req, int status, const char *content_type, const char *body, size_t len)
{
	StringInfoData h;

	initStringInfo(&h);
	http_cors_headers(req->http->origin, &h, false);
	appendStringInfoString(&h, HTTP_STD_HEADERS);
	http_out_head(status, content_type, h.data, (int64) len);
	if (len > 0)
		(void) http_out_body(body, len);
	http_out_end(false);
	metrics_count_http(current_route, status);
	pfree(h.data);
}

/* Sends a JSON error. */
static void
send_error(Request *req, int status, const char *code, const char *message)
{
	StringInfoData b;

	initStringInfo(&b);
	http_error_body(&b, code, message);
	send_response(req, status, "application/json", b.data, b.len);
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
	if (route->auth == RA_ADMIN && !req->auth.admin &&
		!((route->flags & RF_LOOPBACK_OK) && req->peer_loopback))
		HTTP_ERROR(req->auth.valid ? 403 : 401, req->auth.valid ? "forbidden" : "unauthorized",
				   "this route needs an admin token");
	if (route->auth == RA_WORKER && !req->auth.valid && codesight_auth_required())
		HTTP_ERROR(401, "unauthorized", "this route needs a worker token");
	if (route->flags & RF_SESSION)
		check_session_owner(req, req->id);
	route->handler(req, w->resp);
}

/*
 * Answers one request.  All database work runs in one transaction inside
 * an error boundary, limited to codesight.http_statement_timeout (plus
 * codesight.s3_timeout twice for routes that call S3): any error becomes
 * a JSON error response and the worker goes on.  Runs in the caller's
 * memory context, which the caller deletes afterwards.
 */
void
http_api_handle(HttpRequest *r, bool peer_loopback)
{
	const Route *route = NULL;
	bool		path_known = false;
	char	   *id = NULL;
	Request		req;
	Response	resp;
	RequestWork w;
	ErrorData  *edata;
	int			timeout;

	current_route = -1;
	init_route_names();
	memset(&req, 0, sizeof(req));
	req.http = r;
	req.peer_loopback = peer_loopback;
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
	if (route == NULL || (route->flags & RF_NETWORK))
	{
		if (path_known)
			send_error(&req, 405, "method_not_allowed", "this route does not take that method");
		else
			send_error(&req, 404, "not_found", "no such route");
		return;
	}
	if (r->body_too_large)
	{
		send_error(&req, 413, "payload_too_large", "the request body is larger than codesight.max_http_body_bytes");
		return;
	}

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
			send_error(&req, 400, "invalid_json", "the request body must be a JSON object");
			return;
		}
	}
	resp.status = 200;
	resp.content_type = "application/json";
	resp.stream = NULL;
	initStringInfo(&resp.body);

	w.req = &req;
	w.resp = &resp;
	w.route = route;
	error_status = 0;
	error_code = NULL;
	timeout = cs_http_statement_timeout;
	if (timeout > 0 && (route->flags & RF_S3))
		timeout += 2 * s3_timeout_ms;
	if (!run_in_xact(r->path, "codesight_api", timeout, request_body, &w, &edata))
	{
		const char *code = error_code;
		int			status = error_status;
		const char *message;

		json_arena_free(&req.arena);
		if (status == 0)
			status = status_for_sqlstate(edata->sqlerrcode, &code);
		/* Internal errors keep their details in the server log only. */
		message = status == 500 ? "internal error; see the server log" : pstrdup(edata->message);
		if (error_status == 0 && status >= 500)
			xact_log_error(psprintf("codesight: HTTP %s failed", r->path), edata);
		else
			FreeErrorData(edata);
		send_error(&req, status, code, message);
		return;
	}
	json_arena_free(&req.arena);
	if (resp.stream)
	{
		StringInfoData h;

		initStringInfo(&h);
		http_cors_headers(r->origin, &h, false);
		appendStringInfoString(&h, HTTP_STD_HEADERS);
		http_out_head(200, resp.content_type, h.data, -1);
		metrics_count_http(current_route, 200);
		run_stream(resp.stream);
		return;
	}
	send_response(&req, resp.status, resp.content_type, resp.body.data, resp.body.len);
}
