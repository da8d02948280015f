/*-------------------------------------------------------------------------
 *
 * ingest.c
 *	  Group commit of stream messages from all connections.
 *
 * A batch is a list of complete messages from any number of connections.
 * They are parsed, validated and sanitized (protocol.c, pure), then stored
 * in ONE transaction: session rows are upserted as messages require, and
 * all events go in with a single INSERT ... SELECT FROM unnest(...) of a
 * saved plan, whose RETURNING feeds the session counters in the same
 * statement.  Only after COMMIT are acks and other answers queued to the
 * connections, so an ack always means "stored".
 *
 * The table is the only truth about what is stored.  A batch locks the row
 * of every session it names (FOR NO KEY UPDATE) when it reads their state,
 * so no delete, stop or reuse of a session id can change them before it
 * commits, and computes each session's new last_seq (the value acked: every
 * seq up to it is stored or rejected) from the row, its own seqs and, only
 * when the row says seqs above last_seq were handled before, the table's
 * seqs above it.  Nothing in memory can make an ack claim a seq that is not
 * in the table.  In memory the worker keeps only which connections use a
 * session, to mark sessions disconnected.
 *
 * If a batch fails, each message is retried alone; a message that still
 * fails is answered with store_failed and its connection closed with 1011,
 * so the client reconnects and resends what was not acked.
 *
 * Each ingest worker runs this for the sessions routed to it (a session
 * always goes to the same worker: pool_ingest_for_session), so no two
 * batches ever work on one session at the same time.  Answers go to the
 * network process through ingest_send (ingest_worker.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "auth.h"
#include "guc.h"
#include "ingest.h"
#include "jsonb_build.h"
#include "pool.h"
#include "protocol.h"
#include "shmem.h"
#include "xact.h"

typedef enum SessionStatus
{
	SS_ACTIVE,
	SS_COMPLETED,
	SS_DISCONNECTED,
	SS_ABANDONED
} SessionStatus;

static const char *const status_names[] = {"active", "completed", "disconnected", "abandoned"};

/*
 * What the worker remembers about a session between batches: only which
 * connections use it, for disconnect tracking.  Never used to decide what
 * is stored.
 */
typedef struct SessionState
{
	char		session_id[PROTO_SESSION_ID_MAX + 1];	/* hash key */
	SessionStatus status;		/* as of the last batch that named it */
	int			nconns;			/* live connections that use the session */
	TimestampTz unbound_since;	/* when nconns dropped to 0 */
	TimestampTz last_used;
} SessionState;

/* A session's row as a batch read (and locked) it. */
typedef struct SessionRow
{
	char		session_id[PROTO_SESSION_ID_MAX + 1];
	SessionStatus status;
	int64		worker_id;		/* 0: none */
	int64		last_seq;		/* every seq <= last_seq is stored or rejected */
	int64		max_seq;		/* highest seq stored or rejected */
} SessionRow;

/* A batch's working copy of one session. */
typedef struct BatchSession
{
	char		session_id[PROTO_SESSION_ID_MAX + 1];
	SessionRow	st;				/* the row, updated as the batch goes */
	int64		base_last_seq;	/* last_seq in the table when the batch began */
	int64		base_max_seq;	/* max_seq in the table when the batch began */
	int64	   *new_seqs;		/* seqs stored or rejected by this batch */
	int			nnew;
	int			cap;
	int64		max_new;		/* highest of new_seqs (0: none) */
	int64		new_last_seq;	/* last_seq once the batch commits */
	bool		touched_events;
	int			pending_binds;	/* connections bound before the cache had it */
	struct AckTarget *last_ack; /* the ack this batch owes for it, latest */
	struct BatchSession *next;
} BatchSession;

typedef enum ReplyKind
{
	REPLY_TEXT,					/* text is ready */
	REPLY_AUTH_OK,				/* text is ready: a hello was accepted */
	REPLY_AUTH_FAILED,			/* text is ready: a hello was refused */
	REPLY_SESSION_STARTED,		/* written after commit from bs */
	REPLY_SESSION_STOPPED,
	REPLY_SESSION_COMPLETE
} ReplyKind;

/* One answer to send; after_commit answers are dropped if the batch fails. */
typedef struct Reply
{
	ReplyKind	kind;
	IngestConn *conn;
	struct BatchSession *bs;
	char	   *text;
	size_t		len;
	bool		after_commit;
	int			close_code;		/* > 0: close the connection after sending */
	struct Reply *next;
} Reply;

/* A connection's pending ack for a session. */
typedef struct AckTarget
{
	IngestConn *conn;
	BatchSession *bs;
	bool		v1;				/* answer event_received instead of ack */
	struct AckTarget *next;
} AckTarget;

/* Sessions bound to a connection, to count live connections per session. */
typedef struct ConnSessions
{
	int			n;
	int			cap;
	char		(*ids)[PROTO_SESSION_ID_MAX + 1];
} ConnSessions;

/* A message parsed up front, so its session can be loaded with the others. */
typedef struct Parsed
{
	ProtoMessage msg;
	ProtoError	err;
	const char *detail;
} Parsed;

/* Index of the batch's sessions by id. */
typedef struct BatchSessionRef
{
	char		session_id[PROTO_SESSION_ID_MAX + 1];
	struct BatchSession *bs;
} BatchSessionRef;

typedef struct Batch
{
	JsonArena	arena;
	Parsed	   *parsed;			/* one per message of the batch */
	HTAB	   *session_index;	/* session_id -> BatchSession */
	bool		maybe_duplicates;	/* some row's seq may already be stored */
	BatchSession *sessions;
	Reply	   *replies;
	Reply	  **reply_tail;
	AckTarget  *acks;
	/* event rows */
	int			nrows;
	int			caprows;
	Datum	   *r_session;
	Datum	   *r_seq;
	Datum	   *r_type;
	Datum	   *r_ts;
	bool	   *r_ts_null;
	Datum	   *r_url;
	bool	   *r_url_null;
	Datum	   *r_selector;
	bool	   *r_selector_null;
	Datum	   *r_payload;
	/* rejected events (rare): session, seq, code, message */
	int			nrej;
	int			caprej;
	Datum	   *j_session;
	Datum	   *j_seq;
	Datum	   *j_code;
	Datum	   *j_message;
	int64		events_received;
	int64		events_duplicate;
	int64		rejected[PERR__COUNT];
} Batch;

static HTAB *session_cache = NULL;
static HTAB *conn_table = NULL;
static MemoryContext batch_context = NULL;
static int	my_index = 0;
static int	nworkers = 1;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr insert_conflict_plan = NULL;
static SPIPlanPtr lookup_plan = NULL;

/*
 * Set when a batch failed on a duplicate event it did not expect (someone
 * else inserted events): the next batches check for conflicts until one
 * commits.
 */
static bool next_batch_checks_conflicts = false;
static SPIPlanPtr preload_plan = NULL;
static SPIPlanPtr probe_plan = NULL;
static SPIPlanPtr reject_plan = NULL;
static SPIPlanPtr start_plan = NULL;
static SPIPlanPtr stop_plan = NULL;
static SPIPlanPtr complete_plan = NULL;

#define SESSION_CACHE_MAX 100000
#define PROBE_CHUNK 1000

/*
 * Creates the session cache, the connection table and the batch memory
 * context.  This worker is worker_index of workers: the sessions it owns.
 */
void
ingest_init(int worker_index, int workers)
{
	HASHCTL		ctl;

	my_index = worker_index;
	nworkers = workers;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = PROTO_SESSION_ID_MAX + 1;
	ctl.entrysize = sizeof(SessionState);
	session_cache = hash_create("codesight sessions", 1024, &ctl, HASH_ELEM | HASH_STRINGS);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(IngestConn);
	conn_table = hash_create("codesight connections", 1024, &ctl, HASH_ELEM | HASH_BLOBS);
	batch_context = AllocSetContextCreate(TopMemoryContext, "codesight batch",
										  ALLOCSET_DEFAULT_SIZES);
}

/* The record of a connection; created on its first message if create. */
IngestConn *
ingest_conn(uint64 id, bool create)
{
	bool		found;
	IngestConn *c = hash_search(conn_table, &id, create ? HASH_ENTER : HASH_FIND, &found);

	if (c != NULL && !found)
	{
		memset(c, 0, sizeof(*c));
		c->id = id;
	}
	return c;
}

static void free_bound(IngestConn *c);
static void check_tokens(IngestConn **conns, int n, uint64 epoch);

/* Logs a failed unit of work with its SQLSTATE, detail and context. */
static void
log_failure(const char *what, ErrorData *edata)
{
	xact_log_error(what, edata);
}

/*
 * Tells a connection whose token was revoked (or whose worker was
 * disabled) that it is signed out; the network process closes it.
 */
static void
send_revoked(IngestConn *c)
{
	StrBuf		sb;

	if (c->told_revoked)
		return;
	c->told_revoked = true;
	strbuf_init(&sb);
	proto_write_error(&sb, PERR_UNAUTHORIZED,
					  "the token was revoked or its worker disabled; sign in again with a valid token",
					  NULL, 0, false);
	if (!sb.failed)
		ingest_send(c, sb.data, sb.len, 1008);
	strbuf_free(&sb);
}

/* Forgets cached sessions and plans, e.g. after DROP EXTENSION. */
void
ingest_reset(void)
{
	SPIPlanPtr *plans[] = {&insert_plan, &insert_conflict_plan, &lookup_plan, &preload_plan,
	&probe_plan, &reject_plan, &start_plan, &stop_plan, &complete_plan};
	HASH_SEQ_STATUS seq;
	IngestConn *c;

	hash_seq_init(&seq, conn_table);
	while ((c = hash_seq_search(&seq)) != NULL)
		free_bound(c);
	hash_destroy(session_cache);
	hash_destroy(conn_table);
	MemoryContextDelete(batch_context);
	ingest_init(my_index, nworkers);
	for (size_t i = 0; i < lengthof(plans); i++)
	{
		if (*plans[i])
			SPI_freeplan(*plans[i]);
		*plans[i] = NULL;
	}
}

/* Prepares and keeps a plan the first time it is needed. */
static SPIPlanPtr
keep_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		MemoryContext cxt = CurrentMemoryContext;
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		/* Like every SPI call, SPI_prepare leaves SPI's context current. */
		MemoryContextSwitchTo(cxt);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for codesight ingest: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		*slot = p;
	}
	return *slot;
}

/*
 * Runs a saved plan.  SPI leaves its own procedure context current after
 * every call; the batch's structures must live in batch_context until the
 * replies are sent after COMMIT, so the caller's context is restored.
 */
static int
exec_plan(SPIPlanPtr p, Datum *args, const char *nulls, bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			ret = SPI_execute_plan(p, args, nulls, read_only, count);

	MemoryContextSwitchTo(cxt);
	return ret;
}

/* Queues an answer to a connection, in order. */
static Reply *
reply(Batch *b, IngestConn *c, StrBuf *sb, bool after_commit, int close_code)
{
	Reply	   *r = palloc(sizeof(Reply));

	if (sb->failed)
		elog(ERROR, "out of memory building a reply");
	r->kind = REPLY_TEXT;
	r->bs = NULL;
	r->conn = c;
	r->len = sb->len;
	r->text = palloc(sb->len + 1);
	memcpy(r->text, sb->data ? sb->data : "", sb->len);
	r->text[sb->len] = '\0';
	r->after_commit = after_commit;
	r->close_code = close_code;
	r->next = NULL;
	*b->reply_tail = r;
	b->reply_tail = &r->next;
	strbuf_free(sb);
	return r;
}

/* Queues an answer written after commit from the session's committed state. */
static void
reply_session(Batch *b, IngestConn *c, ReplyKind kind, BatchSession *bs)
{
	Reply	   *r = palloc0(sizeof(Reply));

	r->kind = kind;
	r->conn = c;
	r->bs = bs;
	r->after_commit = true;
	*b->reply_tail = r;
	b->reply_tail = &r->next;
}

/*
 * Queues an error answer, counted by code.  A dropped event's answer is
 * sent only after commit, with the ack that passes it: before that, its
 * rejection is not yet recorded.
 */
static void
reply_error_ex(Batch *b, IngestConn *c, ProtoError err, const char *message,
			   const char *session_id, int64 seq, int close_code, bool dropped)
{
	StrBuf		sb;

	strbuf_init(&sb);
	proto_write_error(&sb, err, message, session_id, seq, dropped);
	b->rejected[err]++;
	reply(b, c, &sb, dropped, close_code);
}

/* Queues an error answer about a message or an event that is not recorded. */
static void
reply_error(Batch *b, IngestConn *c, ProtoError err, const char *message,
			const char *session_id, int64 seq, int close_code)
{
	reply_error_ex(b, c, err, message, session_id, seq, close_code, false);
}

/* Records that a connection uses a session (for disconnect tracking). */
static void
bind_session(IngestConn *c, BatchSession *bs)
{
	const char *session_id = bs->session_id;
	ConnSessions *cs = c->bound_sessions;
	SessionState *s;

	if (cs == NULL)
	{
		cs = calloc(1, sizeof(ConnSessions));
		if (cs == NULL)
			return;
		c->bound_sessions = cs;
	}
	for (int i = 0; i < cs->n; i++)
		if (strcmp(cs->ids[i], session_id) == 0)
			return;
	if (cs->n == cs->cap)
	{
		int			ncap = cs->cap ? cs->cap * 2 : 4;
		void	   *n = realloc(cs->ids, ncap * sizeof(*cs->ids));

		if (n == NULL)
			return;
		cs->ids = n;
		cs->cap = ncap;
	}
	strlcpy(cs->ids[cs->n++], session_id, PROTO_SESSION_ID_MAX + 1);
	s = hash_search(session_cache, session_id, HASH_FIND, NULL);
	if (s)
		s->nconns++;
	else
		bs->pending_binds++;
	strlcpy(c->last_session, session_id, sizeof(c->last_session));
}

/* Fills st from a row of (session_id, status, worker_id, last_seq, max_seq). */
static void
row_to_session(HeapTuple tup, TupleDesc desc, int first, SessionRow *st)
{
	bool		isnull;
	char	   *status;

	memset(st, 0, sizeof(*st));
	strlcpy(st->session_id, TextDatumGetCString(SPI_getbinval(tup, desc, first, &isnull)),
			sizeof(st->session_id));
	status = TextDatumGetCString(SPI_getbinval(tup, desc, first + 1, &isnull));
	st->status = SS_ACTIVE;
	for (int i = 0; i < 4; i++)
		if (strcmp(status, status_names[i]) == 0)
			st->status = (SessionStatus) i;
	st->worker_id = DatumGetInt64(SPI_getbinval(tup, desc, first + 2, &isnull));
	st->last_seq = DatumGetInt64(SPI_getbinval(tup, desc, first + 3, &isnull));
	st->max_seq = DatumGetInt64(SPI_getbinval(tup, desc, first + 4, &isnull));
}

/*
 * Loads and locks a session's row into st; false if it does not exist.
 * The lock holds it still until the batch commits (see the file header).
 */
static bool
load_session(const char *session_id, SessionRow *st)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		arg = CStringGetTextDatum(session_id);
	SPIPlanPtr	p = keep_plan(&lookup_plan,
							  "SELECT session_id, status, coalesce(worker_id, 0), last_seq, max_seq "
							  "FROM codesight.sessions WHERE session_id = $1 FOR NO KEY UPDATE",
							  1, argtypes);
	int			ret;

	ret = exec_plan(p, &arg, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "session lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	row_to_session(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, st);
	return true;
}

/* Adds a batch copy of a session whose state was read from the table. */
static BatchSession *
add_batch_session(Batch *b, const SessionRow *st)
{
	BatchSession *bs = palloc0(sizeof(BatchSession));
	BatchSessionRef *ref;

	if (b->session_index == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = PROTO_SESSION_ID_MAX + 1;
		ctl.entrysize = sizeof(BatchSessionRef);
		ctl.hcxt = batch_context;
		b->session_index = hash_create("codesight batch sessions", 64, &ctl,
									   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	ref = hash_search(b->session_index, st->session_id, HASH_ENTER, NULL);
	ref->bs = bs;
	strlcpy(bs->session_id, st->session_id, sizeof(bs->session_id));
	bs->st = *st;
	bs->base_last_seq = st->last_seq;
	bs->new_last_seq = st->last_seq;
	bs->base_max_seq = st->max_seq;
	bs->next = b->sessions;
	b->sessions = bs;
	return bs;
}

/*
 * Finds the batch's copy of a session: the batch read every session it
 * names from the table when it began (preload_sessions); a session created
 * by a session_start in this batch is read now.  Returns NULL if the
 * session does not exist.
 */
static BatchSession *
batch_session(Batch *b, const char *session_id)
{
	SessionRow	st;

	if (b->session_index)
	{
		BatchSessionRef *ref = hash_search(b->session_index, session_id, HASH_FIND, NULL);

		if (ref)
			return ref->bs;
	}
	if (!load_session(session_id, &st))
		return NULL;
	return add_batch_session(b, &st);
}

/*
 * Reads and locks the row of every session the batch's messages name, with
 * one query, in session_id order (two batches, or a batch and housekeeping,
 * lock common rows in the same order).  The table is the truth for status,
 * owner and seq marks: an admin may have stopped or deleted a session.
 */
static void
preload_sessions(Batch *b, int nmsgs)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	SPIPlanPtr	p;
	Datum	   *ids = palloc(sizeof(Datum) * Max(nmsgs, 1));
	const char *prev = NULL;
	int			nids = 0;
	Datum		arg;
	int			ret;

	/* Duplicates only cost a little in = ANY; skip the common runs of them. */
	for (int i = 0; i < nmsgs; i++)
	{
		const char *sid = b->parsed[i].err == PERR_OK ? b->parsed[i].msg.session_id : NULL;

		if (sid == NULL || (prev && strcmp(prev, sid) == 0))
			continue;
		ids[nids++] = CStringGetTextDatum(sid);
		prev = sid;
	}
	if (nids == 0)
		return;
	p = keep_plan(&preload_plan,
				  "SELECT session_id, status, coalesce(worker_id, 0), last_seq, max_seq "
				  "FROM codesight.sessions WHERE session_id = ANY ($1) "
				  "ORDER BY session_id FOR NO KEY UPDATE",
				  1, argtypes);
	arg = PointerGetDatum(construct_array(ids, nids, TEXTOID, -1, false, TYPALIGN_INT));
	ret = exec_plan(p, &arg, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "session preload failed: %s", SPI_result_code_string(ret));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		SessionRow	st;

		row_to_session(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &st);
		add_batch_session(b, &st);
	}
}

/*
 * True when seq is known to be handled: at or below the row's last_seq, or
 * taken earlier in this batch.  A seq between last_seq and the row's
 * max_seq may be stored too; those rows go in with ON CONFLICT DO NOTHING.
 */
static bool
seq_seen(BatchSession *bs, int64 seq)
{
	if (seq <= bs->base_last_seq)
		return true;
	/* Clients send seqs in order: a seq above all of the batch's is new. */
	if (seq > bs->max_new)
		return false;
	for (int i = 0; i < bs->nnew; i++)
		if (bs->new_seqs[i] == seq)
			return true;
	return false;
}

/* Remembers a seq this batch stores, rejects, or found already stored. */
static void
note_seq(BatchSession *bs, int64 seq)
{
	if (bs->nnew == bs->cap)
	{
		bs->cap = bs->cap ? bs->cap * 2 : 64;
		bs->new_seqs = bs->new_seqs ? repalloc(bs->new_seqs, bs->cap * sizeof(int64))
			: palloc(bs->cap * sizeof(int64));
	}
	bs->new_seqs[bs->nnew++] = seq;
	if (seq > bs->max_new)
		bs->max_new = seq;
	if (seq > bs->st.max_seq)
		bs->st.max_seq = seq;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * Reads up to PROBE_CHUNK seqs above `after` that the table holds for the
 * session, stored or rejected, in order.  Returns how many; *out is palloc'd.
 */
static int
probe_handled(const char *session_id, int64 after, int64 **out)
{
	Oid			argtypes[3] = {TEXTOID, INT8OID, INT8OID};
	Datum		args[3];
	SPIPlanPtr	p = keep_plan(&probe_plan,
							  "SELECT seq FROM codesight.events WHERE session_id = $1 AND seq > $2 "
							  "AND seq <= $2 + $3 "
							  "UNION SELECT seq FROM codesight.rejected_events "
							  "WHERE session_id = $1 AND seq > $2 AND seq <= $2 + $3 "
							  "ORDER BY 1",
							  3, argtypes);
	int			ret;
	int			n;

	args[0] = CStringGetTextDatum(session_id);
	args[1] = Int64GetDatum(after);
	args[2] = Int64GetDatum(PROBE_CHUNK);
	ret = exec_plan(p, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "seq probe failed: %s", SPI_result_code_string(ret));
	n = (int) SPI_processed;
	*out = palloc(Max(n, 1) * sizeof(int64));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		(*out)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	return n;
}

/*
 * Computes the session's new last_seq: from the row's last_seq, advanced
 * while the next seq is one this batch stores or rejects, or one the table
 * already holds.  The table is read only when its max_seq says seqs above
 * the mark were handled before (a gap the client is filling), a window of
 * PROBE_CHUNK seqs at a time.  Runs in the batch's transaction, with the
 * session's row locked, before the batch's own rows go in.
 */
static int64
compute_mark(BatchSession *bs)
{
	int64	   *seqs = NULL;
	int64	   *probe = NULL;
	int			n = bs->nnew;
	int			nprobe = 0;
	int			j = 0;
	int			k = 0;
	int64		mark = bs->base_last_seq;
	int64		probed_to = mark;	/* the table was read up to here */

	if (n > 0)
	{
		seqs = palloc(n * sizeof(int64));
		memcpy(seqs, bs->new_seqs, n * sizeof(int64));
		qsort(seqs, n, sizeof(int64), cmp_int64);
	}
	for (;;)
	{
		while (j < n && seqs[j] <= mark)
			j++;
		while (k < nprobe && probe[k] <= mark)
			k++;
		if ((j < n && seqs[j] == mark + 1) || (k < nprobe && probe[k] == mark + 1))
		{
			mark++;
			continue;
		}
		/* mark + 1 is in neither: is it in the table, not read yet? */
		if (mark + 1 <= probed_to || mark + 1 > bs->base_max_seq)
			break;
		if (probe)
			pfree(probe);
		nprobe = probe_handled(bs->session_id, mark, &probe);
		probed_to = mark + PROBE_CHUNK;
		k = 0;
	}
	if (seqs)
		pfree(seqs);
	if (probe)
		pfree(probe);
	return mark;
}

/* Grows the event row arrays. */
static void
ensure_rows(Batch *b, int more)
{
	int			need = b->nrows + more;

	if (need <= b->caprows)
		return;
	b->caprows = Max(need, b->caprows ? b->caprows * 2 : 256);
#define GROW(f, T) b->f = b->f ? repalloc(b->f, b->caprows * sizeof(T)) : palloc(b->caprows * sizeof(T))
	GROW(r_session, Datum);
	GROW(r_seq, Datum);
	GROW(r_type, Datum);
	GROW(r_ts, Datum);
	GROW(r_ts_null, bool);
	GROW(r_url, Datum);
	GROW(r_url_null, bool);
	GROW(r_selector, Datum);
	GROW(r_selector_null, bool);
	GROW(r_payload, Datum);
#undef GROW
}

/*
 * Converts a client time (ms since the epoch) to a timestamptz datum; false
 * when there is none or it lies outside timestamptz's range (the protocol
 * takes JavaScript's whole Date range, which reaches back further).  The
 * event's payload keeps the number as sent either way.
 */
static bool
client_time(bool has, double ms, Datum *out)
{
	TimestampTz ts;

	if (!has)
		return false;
	ts = (TimestampTz) ((ms / 1000.0 - ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)) * USECS_PER_SEC);
	if (!IS_VALID_TIMESTAMP(ts))
		return false;
	*out = TimestampTzGetDatum(ts);
	return true;
}

/* Builds the payload {type, timestamp, data} of an event as jsonb. */
static Datum
event_payload(const ProtoEvent *ev)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	JsonbValue	jb;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	jsonb_push_string_pair(&state, "type", ev->type);
	if (ev->has_ts)
	{
		jsonb_push_key(&state, "timestamp");
		jb.type = jbvNumeric;
		/* Clients send whole milliseconds: skip float8_numeric's text round trip. */
		if (ev->ts_ms == floor(ev->ts_ms))
			jb.val.numeric = int64_to_numeric((int64) ev->ts_ms);
		else
			jb.val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
																 Float8GetDatum(ev->ts_ms)));
		pushJsonbValue(&state, WJB_VALUE, &jb);
	}
	jsonb_push_key(&state, "data");
	jsonb_push_tree(&state, WJB_VALUE, ev->data);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

/* Truncates a string for an indexed text column. */
static Datum
short_text(const char *s, int max)
{
	int			len = strlen(s);

	if (len > max)
		len = pg_mbcliplen(s, len, max);
	return PointerGetDatum(cstring_to_text_with_len(s, len));
}

/* Adds a parsed, sanitized event to the batch's rows. */
static void
add_row(Batch *b, BatchSession *bs, ProtoEvent *ev)
{
	int			i;

	ensure_rows(b, 1);
	i = b->nrows++;
	b->r_session[i] = CStringGetTextDatum(bs->session_id);
	b->r_seq[i] = Int64GetDatum(ev->seq);
	b->r_type[i] = CStringGetTextDatum(ev->type);
	b->r_ts[i] = (Datum) 0;
	b->r_ts_null[i] = !client_time(ev->has_ts, ev->ts_ms, &b->r_ts[i]);
	b->r_url_null[i] = ev->url == NULL;
	b->r_url[i] = ev->url ? short_text(ev->url, 2048) : (Datum) 0;
	b->r_selector_null[i] = ev->selector == NULL;
	b->r_selector[i] = ev->selector ? short_text(ev->selector, 2048) : (Datum) 0;
	b->r_payload[i] = event_payload(ev);
}

/* Registers that conn should get an ack for bs after commit. */
static void
want_ack(Batch *b, IngestConn *c, BatchSession *bs, bool v1)
{
	AckTarget  *a = bs->last_ack;

	/* A session is nearly always fed by one connection: check it first. */
	if (a && a->conn == c && a->v1 == v1)
		return;
	for (a = b->acks; a; a = a->next)
		if (a->conn == c && a->bs == bs && a->v1 == v1)
			return;
	a = palloc(sizeof(AckTarget));
	a->conn = c;
	a->bs = bs;
	a->v1 = v1;
	a->next = b->acks;
	b->acks = a;
	bs->last_ack = a;
}

/*
 * Checks that the connection may write to the session: a session owned by
 * a worker is written only with that worker's token (or an admin's); one
 * without an owner by anyone allowed to connect.
 */
static bool
may_use_session(IngestConn *c, BatchSession *bs)
{
	if (bs->st.worker_id == 0 || (c->authenticated && c->admin))
		return true;
	return c->authenticated && c->worker_id == bs->st.worker_id;
}

/* Grows the rejected-event arrays. */
static void
ensure_rejections(Batch *b)
{
	if (b->nrej < b->caprej)
		return;
	b->caprej = b->caprej ? b->caprej * 2 : 16;
#define GROW(f) b->f = b->f ? repalloc(b->f, b->caprej * sizeof(Datum)) : palloc(b->caprej * sizeof(Datum))
	GROW(j_session);
	GROW(j_seq);
	GROW(j_code);
	GROW(j_message);
#undef GROW
}

/*
 * Records an event refused for good: its seq is handled (the ack passes
 * it) and the client is told to drop it once that is committed.  An event
 * without a seq (v1) is only answered.
 */
static void
reject_event(Batch *b, IngestConn *c, BatchSession *bs, int64 seq, ProtoError err,
			 const char *message)
{
	int			i;

	if (seq <= 0)
	{
		reply_error(b, c, err, message, bs->session_id, 0, 0);
		return;
	}
	ensure_rejections(b);
	i = b->nrej++;
	b->j_session[i] = CStringGetTextDatum(bs->session_id);
	b->j_seq[i] = Int64GetDatum(seq);
	b->j_code[i] = CStringGetTextDatum(proto_error_code(err));
	b->j_message[i] = CStringGetTextDatum(message);
	note_seq(bs, seq);
	bs->touched_events = true;
	want_ack(b, c, bs, false);
	reply_error_ex(b, c, err, message, bs->session_id, seq, 0, true);
}

/* Handles interaction_event and events messages. */
static void
handle_events(Batch *b, IngestConn *c, ProtoMessage *msg)
{
	BatchSession *bs = batch_session(b, msg->session_id);

	if (bs == NULL)
	{
		reply_error(b, c, PERR_UNKNOWN_SESSION,
					"no such session; send session_start first", msg->session_id, 0, 0);
		return;
	}
	if (!may_use_session(c, bs))
	{
		reply_error(b, c, PERR_FORBIDDEN, "the session belongs to another worker",
					msg->session_id, 0, 0);
		return;
	}
	bind_session(c, bs);
	for (size_t i = 0; i < msg->nevents; i++)
	{
		ProtoEvent *ev = &msg->events[i];
		ProtoError	err;

		b->events_received++;
		c->events_in++;
		if (ev->seq > 0 && seq_seen(bs, ev->seq))
		{
			/* A resend: already handled, counts as handled for the ack. */
			b->events_duplicate++;
			want_ack(b, c, bs, false);
			continue;
		}
		if (ev->error != PERR_OK)
		{
			reject_event(b, c, bs, ev->seq, ev->error, "event rejected; it will not be stored");
			continue;
		}
		if (bs->st.status != SS_ACTIVE)
		{
			reject_event(b, c, bs, ev->seq, PERR_SESSION_NOT_ACTIVE,
						 "the session is no longer active; the event will not be stored");
			continue;
		}
		err = proto_sanitize_event(&b->arena, ev);
		if (err != PERR_OK)
		{
			reject_event(b, c, bs, ev->seq, err, "event could not be processed; it will not be stored");
			continue;
		}
		if (ev->seq == 0)
		{
			ev->seq = bs->st.max_seq + 1;
			want_ack(b, c, bs, true);
		}
		else
			want_ack(b, c, bs, false);
		note_seq(bs, ev->seq);
		bs->touched_events = true;
		if (ev->seq <= bs->base_max_seq)
			b->maybe_duplicates = true;
		add_row(b, bs, ev);
	}
}

/* Handles session_start: creates the session or resumes it. */
static void
handle_session_start(Batch *b, IngestConn *c, ProtoMessage *msg)
{
	Oid			argtypes[5] = {TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID, JSONBOID};
	SPIPlanPtr	p = keep_plan(&start_plan,
							  "INSERT INTO codesight.sessions AS s "
							  "(session_id, worker_id, started_at, user_agent, extension) "
							  "VALUES ($1, $2, coalesce($3, now()), $4, $5) "
							  "ON CONFLICT (session_id) DO UPDATE SET "
							  "status = CASE WHEN s.status IN ('disconnected', 'abandoned') "
							  "THEN 'active' ELSE s.status END, "
							  "ended_at = CASE WHEN s.status IN ('disconnected', 'abandoned') "
							  "THEN NULL ELSE s.ended_at END, "
							  "worker_id = coalesce(s.worker_id, EXCLUDED.worker_id), "
							  "user_agent = coalesce(s.user_agent, EXCLUDED.user_agent), "
							  "extension = coalesce(EXCLUDED.extension, s.extension), "
							  "updated_at = now()",
							  5, argtypes);
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	BatchSession *bs;
	int			ret;

	bs = batch_session(b, msg->session_id);
	if (bs != NULL && !may_use_session(c, bs))
	{
		reply_error(b, c, PERR_FORBIDDEN, "the session belongs to another worker",
					msg->session_id, 0, 0);
		return;
	}
	args[0] = CStringGetTextDatum(msg->session_id);
	args[1] = Int64GetDatum(c->worker_id);
	if (!c->authenticated || c->worker_id == 0)
		nulls[1] = 'n';
	if (!client_time(msg->has_ts, msg->ts_ms, &args[2]))
		nulls[2] = 'n';
	if (msg->user_agent)
		args[3] = short_text(msg->user_agent, 1024);
	else
		nulls[3] = 'n';
	if (msg->extension)
		args[4] = JsonbPGetDatum(jsonb_from_tree(msg->extension));
	else
		nulls[4] = 'n';
	ret = exec_plan(p, args, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "session upsert failed: %s", SPI_result_code_string(ret));
	if (bs == NULL)
	{
		bs = batch_session(b, msg->session_id);
		if (bs == NULL)
			elog(ERROR, "session %s vanished after upsert", msg->session_id);
	}
	else if (bs->st.status == SS_DISCONNECTED || bs->st.status == SS_ABANDONED)
		bs->st.status = SS_ACTIVE;
	if (bs->st.worker_id == 0 && c->authenticated)
		bs->st.worker_id = c->worker_id;
	bind_session(c, bs);
	reply_session(b, c, REPLY_SESSION_STARTED, bs);
}

/* Handles session_stop and session_complete: the session is completed. */
static void
handle_session_end(Batch *b, IngestConn *c, ProtoMessage *msg)
{
	BatchSession *bs = batch_session(b, msg->session_id);
	int			ret;

	if (bs == NULL)
	{
		reply_error(b, c, PERR_UNKNOWN_SESSION, "no such session", msg->session_id, 0, 0);
		return;
	}
	if (!may_use_session(c, bs))
	{
		reply_error(b, c, PERR_FORBIDDEN, "the session belongs to another worker",
					msg->session_id, 0, 0);
		return;
	}
	if (msg->type == MSG_SESSION_STOP)
	{
		Oid			argtypes[2] = {TEXTOID, TIMESTAMPTZOID};
		SPIPlanPtr	p = keep_plan(&stop_plan,
								  "UPDATE codesight.sessions SET status = 'completed', "
								  "ended_at = coalesce(ended_at, $2, now()), updated_at = now() "
								  "WHERE session_id = $1",
								  2, argtypes);
		Datum		args[2];
		char		nulls[2] = {' ', ' '};

		args[0] = CStringGetTextDatum(msg->session_id);
		if (!client_time(msg->has_ts, msg->ts_ms, &args[1]))
			nulls[1] = 'n';
		ret = exec_plan(p, args, nulls, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "session stop failed: %s", SPI_result_code_string(ret));
		bs->st.status = SS_COMPLETED;
		reply_session(b, c, REPLY_SESSION_STOPPED, bs);
	}
	else
	{
		Oid			argtypes[2] = {TEXTOID, JSONBOID};
		SPIPlanPtr	p = keep_plan(&complete_plan,
								  "UPDATE codesight.sessions SET status = 'completed', "
								  "ended_at = coalesce(ended_at, now()), client_report = $2, "
								  "updated_at = now() WHERE session_id = $1",
								  2, argtypes);
		Datum		args[2];
		JsonbParseState *state = NULL;

		/* The client's summary is kept; its copy of the events is not. */
		args[0] = CStringGetTextDatum(msg->session_id);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		jsonb_push_int_pair(&state, "eventCount", (int64) msg->complete_event_count);
		if (msg->summary)
		{
			jsonb_push_key(&state, "summary");
			jsonb_push_tree(&state, WJB_VALUE, msg->summary);
		}
		args[1] = JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
		ret = exec_plan(p, args, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "session complete failed: %s", SPI_result_code_string(ret));
		bs->st.status = SS_COMPLETED;
		reply_session(b, c, REPLY_SESSION_COMPLETE, bs);
	}
	bind_session(c, bs);
}

/* Handles hello: authenticates the connection with a worker or admin token. */
static void
handle_hello(Batch *b, IngestConn *c, ProtoMessage *msg)
{
	AuthInfo	ai;
	StrBuf		sb;
	Reply	   *r;

	strbuf_init(&sb);
	if (!auth_verify_token(msg->token, &ai))
	{
		proto_write_error(&sb, PERR_UNAUTHORIZED, "the token was not accepted", NULL, 0, false);
		b->rejected[PERR_UNAUTHORIZED]++;
		r = reply(b, c, &sb, false, codesight_auth_required() ? 1008 : 0);
		r->kind = REPLY_AUTH_FAILED;
		return;
	}
	/*
	 * The network process holds the connection's later messages until it
	 * has this answer, and stamps them with what it says.
	 */
	c->authenticated = true;
	c->admin = ai.admin;
	c->worker_id = ai.worker_id;
	strlcpy(c->token_id, ai.token_id, sizeof(c->token_id));
	c->validated_epoch = cs_shared ? pg_atomic_read_u64(&cs_shared->auth_epoch) : 0;
	proto_write_hello_ok(&sb, ai.worker_id);
	r = reply(b, c, &sb, false, 0);
	r->kind = REPLY_AUTH_OK;
}

/* Handles one parsed WebSocket message. */
static void
handle_message(Batch *b, IngestMsg *m, Parsed *p)
{
	IngestConn *c = m->conn;
	ProtoMessage msg = p->msg;

	if (c->closed)
		return;					/* nobody to answer; v2 clients resend */
	if (c->revoked)
	{
		/* Nothing a signed-out connection sends is stored. */
		send_revoked(c);
		return;
	}

	/*
	 * The network process holds the connection's next messages until a
	 * hello is answered with its outcome: a "hello" the parser refuses
	 * still gets one.
	 */
	if (m->hello && (p->err != PERR_OK || msg.type != MSG_HELLO))
	{
		StrBuf		sb;
		ProtoError	err = p->err != PERR_OK ? p->err : PERR_INVALID_MESSAGE;

		strbuf_init(&sb);
		proto_write_error(&sb, err, p->detail ? p->detail : proto_error_code(err), NULL, 0, false);
		b->rejected[err]++;
		reply(b, c, &sb, false, 0)->kind = REPLY_AUTH_FAILED;
		return;
	}
	if (p->err != PERR_OK)
	{
		reply_error(b, c, p->err, p->detail ? p->detail : proto_error_code(p->err), NULL, 0, 0);
		return;
	}

	/*
	 * The network process routed the message by the sessionId it found; a
	 * message whose parsed session belongs to another worker (a sessionId
	 * written twice with two values) is refused, so a session is only ever
	 * written by its own worker.
	 */
	if (msg.session_id != NULL &&
		pool_ingest_for_session(msg.session_id, strlen(msg.session_id), nworkers) != my_index)
	{
		reply_error(b, c, PERR_INVALID_MESSAGE, "sessionId must appear once in a message",
					msg.session_id, 0, 0);
		return;
	}
	if (codesight_auth_required() && !c->authenticated &&
		msg.type != MSG_HELLO && msg.type != MSG_PING && msg.type != MSG_PONG)
	{
		reply_error(b, c, PERR_UNAUTHORIZED,
					"authenticate first: send hello with a worker token", NULL, 0, 1008);
		return;
	}
	switch (msg.type)
	{
		case MSG_HELLO:
			handle_hello(b, c, &msg);
			break;
		case MSG_PING:
		case MSG_PONG:
			/* The network process answers these itself. */
			break;
		case MSG_SESSION_START:
			handle_session_start(b, c, &msg);
			break;
		case MSG_INTERACTION_EVENT:
		case MSG_EVENTS:
			handle_events(b, c, &msg);
			break;
		case MSG_SESSION_STOP:
		case MSG_SESSION_COMPLETE:
			handle_session_end(b, c, &msg);
			break;
	}
}

/* Builds a one-dimensional array datum. */
static Datum
make_array(Datum *values, bool *nulls, int n, Oid elmtype, int elmlen, bool byval, char align)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};

	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs,
											  elmtype, elmlen, byval, align));
}

/*
 * The statement that stores a batch's events and session counters: the
 * INSERT's RETURNING tells how many rows were new per session, which the
 * UPDATE adds to event_count.  Batches that may repeat stored events
 * (resends) use ON CONFLICT DO NOTHING; the others skip its speculative
 * insertion, which costs more than the insert itself.  The redundant
 * "= ANY ($8)" gives the sessions side an index condition, so whatever join
 * the planner picks reads only the batch's sessions, never the table.
 */
#define INSERT_EVENTS_SQL(conflict) \
	"WITH ins AS (" \
	" INSERT INTO codesight.events " \
	" (session_id, seq, type, client_ts, page_url, selector, payload) " \
	" SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7) " \
	conflict " RETURNING session_id), " \
	"cnt AS (SELECT session_id, count(*) AS n FROM ins GROUP BY session_id) " \
	"UPDATE codesight.sessions s SET " \
	" last_seq = greatest(s.last_seq, u.last_seq), " \
	" max_seq = greatest(s.max_seq, u.max_seq), " \
	" event_count = s.event_count + coalesce(cnt.n, 0), " \
	" last_event_at = now(), updated_at = now() " \
	"FROM unnest($8, $9, $10) AS u(session_id, last_seq, max_seq) " \
	"LEFT JOIN cnt ON cnt.session_id = u.session_id " \
	"WHERE s.session_id = u.session_id AND s.session_id = ANY ($8)"

/* Records the batch's rejected events (see reject_event). */
static void
store_rejections(Batch *b)
{
	Oid			argtypes[4] = {TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	SPIPlanPtr	p = keep_plan(&reject_plan,
							  "INSERT INTO codesight.rejected_events (session_id, seq, code, message) "
							  "SELECT * FROM unnest($1, $2, $3, $4) ON CONFLICT DO NOTHING",
							  4, argtypes);
	Datum		args[4];
	int			ret;

	args[0] = make_array(b->j_session, NULL, b->nrej, TEXTOID, -1, false, TYPALIGN_INT);
	args[1] = make_array(b->j_seq, NULL, b->nrej, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[2] = make_array(b->j_code, NULL, b->nrej, TEXTOID, -1, false, TYPALIGN_INT);
	args[3] = make_array(b->j_message, NULL, b->nrej, TEXTOID, -1, false, TYPALIGN_INT);
	ret = exec_plan(p, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "rejected event insert failed: %s", SPI_result_code_string(ret));
}

/*
 * Stores the batch's rows and session marks with one statement (see
 * INSERT_EVENTS_SQL), after its rejections.  Each session's new last_seq is
 * computed first, while the table holds only what earlier batches stored.
 */
static void
store_rows(Batch *b)
{
	Oid			argtypes[10] = {TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	bool		conflict = b->maybe_duplicates || next_batch_checks_conflicts;
	SPIPlanPtr	p = conflict
		? keep_plan(&insert_conflict_plan, INSERT_EVENTS_SQL(" ON CONFLICT DO NOTHING"), 10, argtypes)
		: keep_plan(&insert_plan, INSERT_EVENTS_SQL(""), 10, argtypes);
	Datum		args[10];
	int			nsess = 0;
	Datum	   *s_id,
			   *s_last,
			   *s_max;
	int			ret;

	for (BatchSession *bs = b->sessions; bs; bs = bs->next)
		if (bs->touched_events || bs->nnew > 0)
			nsess++;
	if (nsess == 0)
		return;
	s_id = palloc(nsess * sizeof(Datum));
	s_last = palloc(nsess * sizeof(Datum));
	s_max = palloc(nsess * sizeof(Datum));
	nsess = 0;
	for (BatchSession *bs = b->sessions; bs; bs = bs->next)
	{
		if (!(bs->touched_events || bs->nnew > 0))
			continue;
		bs->new_last_seq = compute_mark(bs);
		s_id[nsess] = CStringGetTextDatum(bs->session_id);
		s_last[nsess] = Int64GetDatum(bs->new_last_seq);
		s_max[nsess] = Int64GetDatum(bs->st.max_seq);
		nsess++;
	}
	if (b->nrej > 0)
		store_rejections(b);
	ensure_rows(b, 1);
	args[0] = make_array(b->r_session, NULL, b->nrows, TEXTOID, -1, false, TYPALIGN_INT);
	args[1] = make_array(b->r_seq, NULL, b->nrows, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[2] = make_array(b->r_type, NULL, b->nrows, TEXTOID, -1, false, TYPALIGN_INT);
	args[3] = make_array(b->r_ts, b->r_ts_null, b->nrows, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[4] = make_array(b->r_url, b->r_url_null, b->nrows, TEXTOID, -1, false, TYPALIGN_INT);
	args[5] = make_array(b->r_selector, b->r_selector_null, b->nrows, TEXTOID, -1, false, TYPALIGN_INT);
	args[6] = make_array(b->r_payload, NULL, b->nrows, JSONBOID, -1, false, TYPALIGN_INT);
	args[7] = make_array(s_id, NULL, nsess, TEXTOID, -1, false, TYPALIGN_INT);
	args[8] = make_array(s_last, NULL, nsess, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[9] = make_array(s_max, NULL, nsess, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	ret = exec_plan(p, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "event insert failed: %s", SPI_result_code_string(ret));
}

/*
 * After commit: the batch's sessions take their committed marks, and the
 * connection tracking learns of sessions it had not seen.
 */
static void
apply_sessions(Batch *b)
{
	TimestampTz now = GetCurrentTimestamp();

	for (BatchSession *bs = b->sessions; bs; bs = bs->next)
	{
		bool		found;
		SessionState *s = hash_search(session_cache, bs->session_id, HASH_ENTER, &found);

		if (!found)
		{
			s->nconns = bs->pending_binds;
			s->unbound_since = 0;
		}
		s->status = bs->st.status;
		s->last_used = now;
		bs->st.last_seq = bs->new_last_seq;
	}
}

/* Writes an after-commit answer from the session's committed state. */
static void
write_session_reply(Reply *r)
{
	StrBuf		sb;
	BatchSession *bs = r->bs;

	strbuf_init(&sb);
	switch (r->kind)
	{
		case REPLY_SESSION_STARTED:
			proto_write_session_started(&sb, bs->session_id, bs->st.last_seq,
										status_names[bs->st.status]);
			break;
		case REPLY_SESSION_STOPPED:
			proto_write_session_stopped(&sb, bs->session_id, bs->st.last_seq);
			break;
		case REPLY_SESSION_COMPLETE:
			proto_write_session_complete_ack(&sb, bs->session_id, bs->st.max_seq);
			break;
		case REPLY_TEXT:
		case REPLY_AUTH_OK:
		case REPLY_AUTH_FAILED:
			break;
	}
	if (r->kind == REPLY_SESSION_STOPPED || r->kind == REPLY_SESSION_COMPLETE)
		ereport(LOG,
				(errmsg("codesight: session %s completed with %lld events stored (connection %llu)",
						bs->session_id, (long long) bs->st.max_seq,
						(unsigned long long) r->conn->id)));
	if (sb.failed)
		elog(ERROR, "out of memory building a reply");
	r->text = pstrdup(sb.data);
	r->len = sb.len;
	strbuf_free(&sb);
}

/* Sends the batch's answers in order, then the acks (after commit only). */
static void
send_replies(Batch *b, bool committed)
{
	for (Reply *r = b->replies; r; r = r->next)
	{
		if (r->after_commit && !committed)
			continue;
		if (r->conn->closed)
			continue;
		if (r->kind == REPLY_AUTH_OK || r->kind == REPLY_AUTH_FAILED)
		{
			ingest_send_auth(r->conn, r->kind == REPLY_AUTH_OK, r->text, r->len, r->close_code);
			continue;
		}
		if (r->kind != REPLY_TEXT)
			write_session_reply(r);
		ingest_send(r->conn, r->text, r->len, r->close_code);
	}
	if (!committed)
		return;
	for (AckTarget *a = b->acks; a; a = a->next)
	{
		StrBuf		sb;

		if (a->conn->closed)
			continue;
		strbuf_init(&sb);
		if (a->v1)
			proto_write_event_received(&sb, a->bs->st.max_seq);
		else
			proto_write_ack(&sb, a->bs->session_id, a->bs->st.last_seq);
		if (!sb.failed)
			ingest_send(a->conn, sb.data, sb.len, 0);
		a->conn->events_acked = a->bs->st.last_seq;
		strbuf_free(&sb);
	}
}

/* Publishes the batch's figures to shared memory. */
static void
publish_stats(Batch *b, bool committed, double commit_ms, int64 stored)
{
	if (cs_shared == NULL)
		return;
	SpinLockAcquire(&cs_shared->mutex);
	cs_shared->events_received += b->events_received;
	cs_shared->events_duplicate += b->events_duplicate;
	for (int i = 0; i < PERR__COUNT; i++)
		cs_shared->events_rejected[i] += b->rejected[i];
	if (committed)
	{
		cs_shared->events_committed += stored;
		if (my_index < CS_MAX_INGEST)
			cs_shared->ingest_events[my_index] += stored;
		cs_shared->batches++;
		cs_shared->last_commit_at = GetCurrentTimestamp();
		cs_shared->batch_size_buckets[cs_histogram_bucket(cs_batch_bucket_bounds, CS_BATCH_BUCKETS,
														  (double) stored)]++;
		cs_shared->batch_size_sum += stored;
		cs_shared->commit_ms_buckets[cs_histogram_bucket(cs_latency_bucket_bounds, CS_LATENCY_BUCKETS,
														 commit_ms)]++;
		cs_shared->commit_ms_sum += commit_ms;
	}
	else
		cs_shared->batch_failures++;
	SpinLockRelease(&cs_shared->mutex);
}

/* What one batch transaction works on. */
typedef struct BatchWork
{
	Batch	   *b;
	IngestMsg	  **msgs;
	int			nmsgs;
	int			consumed;
} BatchWork;

/*
 * Once a token was revoked or a worker disabled (auth_epoch moved), checks
 * the tokens of the batch's connections before anything of theirs is
 * stored: a revoked one stores nothing from then on.
 */
static void
check_batch_tokens(IngestMsg **msgs, int n)
{
	uint64		epoch = cs_shared ? pg_atomic_read_u64(&cs_shared->auth_epoch) : 0;
	IngestConn **conns;

	if (epoch == 0)
		return;
	conns = palloc(sizeof(IngestConn *) * n);
	for (int i = 0; i < n; i++)
		conns[i] = msgs[i]->conn;
	check_tokens(conns, n, epoch);
}

/*
 * The transaction body of a batch: parses messages until they hold
 * batch_max_events events (all first, so their sessions are read with one
 * query), handles them in order, and stores the rows.
 */
static void
batch_body(void *arg)
{
	BatchWork  *w = arg;
	Batch	   *b = w->b;
	int			take = 0;
	size_t		events = 0;

	/*
	 * Sized for the messages the batch can take, not for all that are
	 * queued: the rest go to the next batches, which would zero them again.
	 */
	int			cap = Min(w->nmsgs, cs_batch_max_events);

	b->parsed = palloc(sizeof(Parsed) * cap);
	while (take < w->nmsgs && (take == 0 || events < (size_t) cs_batch_max_events))
	{
		Parsed	   *p;

		/* Refused messages add no events, so more may be taken. */
		if (take == cap)
		{
			cap = Min(w->nmsgs, cap * 2);
			b->parsed = repalloc(b->parsed, sizeof(Parsed) * cap);
		}
		p = &b->parsed[take];
		memset(p, 0, sizeof(Parsed));
		p->err = proto_parse_message(w->msgs[take]->data, w->msgs[take]->len, &b->arena,
									 &p->msg, &p->detail);
		if (p->err == PERR_OK)
			events += Max(p->msg.nevents, 1);
		take++;
	}
	w->consumed = take;
	check_batch_tokens(w->msgs, take);
	preload_sessions(b, take);
	for (int i = 0; i < take; i++)
		handle_message(b, w->msgs[i], &b->parsed[i]);
	if (b->nrows > 0 || b->nrej > 0)
		store_rows(b);
}

/*
 * The class of a failed store, for the client's backoff: a full disk or a
 * read-only server take long to mend, a conflict or a passing error not.
 */
static const char *
store_failure_class(int sqlerrcode, int *retry_after_ms)
{
	if (sqlerrcode == ERRCODE_DISK_FULL || sqlerrcode == ERRCODE_OUT_OF_MEMORY ||
		sqlerrcode == ERRCODE_INSUFFICIENT_RESOURCES)
	{
		*retry_after_ms = 30000;
		return "disk_full";
	}
	if (sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION || sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
		sqlerrcode == ERRCODE_CANNOT_CONNECT_NOW)
	{
		*retry_after_ms = 10000;
		return "read_only";
	}
	if (sqlerrcode == ERRCODE_UNIQUE_VIOLATION || sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
		sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED || sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
	{
		*retry_after_ms = 1000;
		return "conflict";
	}
	*retry_after_ms = 2000;
	return "transient";
}

/*
 * Runs one batch in one transaction.  Returns true if it committed; on
 * failure the transaction is rolled back and nothing of it is applied.
 * *consumed tells how many of the messages the batch took; last_try says
 * a retryable failure will not be retried, so it must be answered.
 */
static bool
run_batch(IngestMsg **msgs, int nmsgs, bool last_try, int64 *stored, bool *canceled, int *consumed)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	BatchWork	w;
	ErrorData  *edata;
	bool		ok;
	int			sqlerrcode = 0;
	instr_time	start,
				end;

	MemoryContextReset(batch_context);
	MemoryContextSwitchTo(batch_context);
	w.b = palloc0(sizeof(Batch));
	w.b->reply_tail = &w.b->replies;
	json_arena_init(&w.b->arena);
	w.msgs = msgs;
	w.nmsgs = nmsgs;
	w.consumed = nmsgs;
	*stored = 0;
	*canceled = false;

	INSTR_TIME_SET_CURRENT(start);
	ok = run_in_xact("codesight: storing a batch of events", "codesight_ingest", 0,
					 batch_body, &w, &edata);
	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_SUBTRACT(end, start);
	*consumed = w.consumed;
	if (!ok)
	{
		/*
		 * A cancel, a deadlock with an admin's statement, or a duplicate we
		 * did not expect (retried with conflict checks), is not the
		 * messages' fault: the batch is run again.
		 */
		sqlerrcode = edata->sqlerrcode;
		if (sqlerrcode == ERRCODE_UNIQUE_VIOLATION)
			next_batch_checks_conflicts = true;
		*canceled = sqlerrcode == ERRCODE_QUERY_CANCELED ||
			sqlerrcode == ERRCODE_UNIQUE_VIOLATION ||
			sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED;
		ereport(LOG,
				(errmsg("codesight: a batch of %d messages was rolled back: %s",
						w.consumed, edata->message),
				 errdetail("Nothing of it was acknowledged; its messages are retried one by one, and clients resend what was not acknowledged.")));
	}
	else
	{
		apply_sessions(w.b);
		*stored = w.b->nrows;
		if (w.b->nrows > 0)
			next_batch_checks_conflicts = false;
	}

	/*
	 * A failed multi-message batch is retried by the caller without replies;
	 * so is a canceled one, whatever its size, unless this was its last try:
	 * the cancel was not the messages' fault.
	 */
	if (ok || (w.consumed == 1 && (!*canceled || last_try)))
	{
		send_replies(w.b, ok);
		if (!ok)
		{
			IngestConn *c = msgs[0]->conn;
			StrBuf		sb;
			int			retry_ms;
			const char *why = store_failure_class(sqlerrcode, &retry_ms);

			/* The message is answered here; clients resend what was not acked. */
			strbuf_init(&sb);
			proto_write_store_failed(&sb, why, retry_ms);
			if (!sb.failed && !c->closed)
				ingest_send(c, sb.data, sb.len, 1011);
			strbuf_free(&sb);
		}
		publish_stats(w.b, ok, INSTR_TIME_GET_MILLISEC(end), *stored);
	}
	json_arena_free(&w.b->arena);
	MemoryContextSwitchTo(oldcxt);
	return ok;
}

/*
 * Stores WebSocket messages in batches of up to batch_max_events events.
 * If a batch fails, each of its messages is tried alone so one bad message
 * can not hold back the others; a canceled batch is simply run again.
 * Returns the number of event rows committed.
 */
int64
ingest_process_batch(IngestMsg **msgs, int nmsgs)
{
	int64		total = 0;
	int			done = 0;

	while (done < nmsgs)
	{
		int64		stored = 0;
		bool		canceled = false;
		int			consumed = 0;
		bool		ok = false;

		for (int attempt = 0; attempt < 3 && !ok; attempt++)
		{
			ok = run_batch(msgs + done, nmsgs - done, attempt == 2, &stored, &canceled, &consumed);
			if (!ok && !canceled)
				break;
		}
		if (ok)
			total += stored;
		else if (consumed > 1)
		{
			for (int i = done; i < done + consumed; i++)
			{
				int			one;

				for (int attempt = 0; attempt < 3; attempt++)
				{
					if (run_batch(&msgs[i], 1, attempt == 2, &stored, &canceled, &one))
					{
						total += stored;
						break;
					}
					if (!canceled)
						break;
				}
			}
		}
		done += Max(consumed, 1);
	}
	return total;
}

/* Unbinds a connection's sessions, for disconnect tracking. */
static void
free_bound(IngestConn *c)
{
	ConnSessions *cs = c->bound_sessions;
	TimestampTz now = GetCurrentTimestamp();

	if (cs == NULL)
		return;
	for (int i = 0; i < cs->n; i++)
	{
		SessionState *s = hash_search(session_cache, cs->ids[i], HASH_FIND, NULL);

		if (s && --s->nconns <= 0)
		{
			s->nconns = 0;
			s->unbound_since = now;
		}
	}
	free(cs->ids);
	free(cs);
	c->bound_sessions = NULL;
}

/*
 * Forgets a connection the network process closed, logging what it did
 * here; messages of it still in a batch are skipped (its client resends).
 */
void
ingest_conn_closed(uint64 id)
{
	IngestConn *c = ingest_conn(id, false);

	if (c == NULL)
		return;
	if (c->events_in > 0)
		ereport(LOG,
				(errmsg("codesight: connection %llu closed: session %s, %lld events received, acked up to %lld",
						(unsigned long long) c->id,
						c->last_session[0] ? c->last_session : "(none)",
						(long long) c->events_in, (long long) c->events_acked)));
	free_bound(c);
	hash_search(conn_table, &id, HASH_REMOVE, NULL);
}

/* What a housekeeping pass works on. */
typedef struct HousekeepingWork
{
	Datum	   *ids;			/* sessions to mark disconnected */
	int			nids;
	bool		global;			/* also mark every worker's idle sessions */
} HousekeepingWork;

/* The transaction body of housekeeping: the status updates. */
static void
housekeeping_body(void *arg)
{
	HousekeepingWork *w = arg;

	if (w->nids > 0)
	{
		Oid			argtypes[1] = {TEXTARRAYOID};
		Datum		ids = PointerGetDatum(construct_array(w->ids, w->nids, TEXTOID, -1, false,
														  TYPALIGN_INT));

		SPI_execute_with_args("UPDATE codesight.sessions SET status = 'disconnected', "
							  "ended_at = coalesce(last_event_at, now()), updated_at = now() "
							  "WHERE session_id = ANY ($1) AND status = 'active'",
							  1, argtypes, &ids, NULL, false, 0);
	}
	if (w->global)
	{
		Oid			argtypes[1] = {INT4OID};
		Datum		idle = Int32GetDatum(cs_session_idle_timeout);

		SPI_execute_with_args("UPDATE codesight.sessions SET status = 'abandoned', "
							  "ended_at = coalesce(last_event_at, started_at), updated_at = now() "
							  "WHERE status = 'active' AND coalesce(last_event_at, started_at) "
							  "< now() - make_interval(secs => $1)",
							  1, argtypes, &idle, NULL, false, 0);
	}
}

/*
 * Marks this worker's sessions disconnected (no connection for
 * disconnect_grace, no stop) and, if global, every session abandoned that
 * had no event for session_idle_timeout (one worker does that for all);
 * trims the cache.  Runs in its own transaction; errors are logged, never
 * fatal.  Allocates in the caller's context, which the loop resets.
 */
void
ingest_housekeeping(bool global)
{
	TimestampTz now = GetCurrentTimestamp();
	HASH_SEQ_STATUS seq;
	SessionState *s;
	long		nentries = hash_get_num_entries(session_cache);
	HousekeepingWork w;
	ErrorData  *edata;

	w.ids = palloc(sizeof(Datum) * Max(nentries, 1));
	w.nids = 0;
	w.global = global;
	hash_seq_init(&seq, session_cache);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		if (s->status == SS_ACTIVE && s->nconns == 0 && s->unbound_since != 0 &&
			TimestampDifferenceExceeds(s->unbound_since, now, cs_disconnect_grace * 1000))
			w.ids[w.nids++] = CStringGetTextDatum(s->session_id);
	}
	if (!run_in_xact("codesight: marking idle sessions", "codesight_ingest", 0,
					 housekeeping_body, &w, &edata))
	{
		log_failure("codesight: housekeeping failed", edata);
		return;
	}

	/* Statuses may have changed in the table: drop idle cache entries. */
	hash_seq_init(&seq, session_cache);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		if (s->nconns == 0 &&
			(nentries > SESSION_CACHE_MAX / 2 ||
			 s->status != SS_ACTIVE ||
			 TimestampDifferenceExceeds(s->unbound_since, now, cs_disconnect_grace * 1000)))
		{
			hash_search(session_cache, s->session_id, HASH_REMOVE, NULL);
		}
	}
}

/*
 * Which of these token ids are still good: not revoked, the worker not
 * disabled.  Runs inside a transaction; returns a palloc'd flag per id.
 */
static bool *
tokens_still_valid(Datum *token_ids, int n)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTARRAYOID};
	SPIPlanPtr	p = keep_plan(&plan,
							  "SELECT t.token_id FROM codesight.tokens t "
							  "LEFT JOIN codesight.workers w ON w.worker_id = t.worker_id "
							  "WHERE t.token_id = ANY ($1) AND t.revoked_at IS NULL "
							  "AND w.disabled_at IS NULL",
							  1, argtypes);
	Datum		arg = PointerGetDatum(construct_array(token_ids, n, TEXTOID, -1, false, TYPALIGN_INT));
	bool	   *ok = palloc0(sizeof(bool) * Max(n, 1));
	int			ret = exec_plan(p, &arg, NULL, true, 0);

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "token check failed: %s", SPI_result_code_string(ret));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *id = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);

		for (int i = 0; i < n; i++)
			if (strcmp(TextDatumGetCString(token_ids[i]), id) == 0)
				ok[i] = true;
	}
	return ok;
}

/*
 * Checks the tokens of authenticated connections against the table, after
 * a token was revoked or a worker disabled (auth_epoch moved): a
 * connection whose token is no longer good is marked revoked, and from
 * then on nothing it sends is stored.  Runs inside a transaction.
 */
static void
check_tokens(IngestConn **conns, int n, uint64 epoch)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(n, 1));
	IngestConn **asked = palloc(sizeof(IngestConn *) * Max(n, 1));
	int			nasked = 0;
	bool	   *ok;

	for (int i = 0; i < n; i++)
	{
		IngestConn *c = conns[i];
		bool		seen = false;

		if (!c->authenticated || c->revoked || c->validated_epoch >= epoch)
			continue;
		/* A batch's messages come from few connections. */
		for (int k = nasked - 1; k >= 0 && !seen; k--)
			seen = asked[k] == c;
		if (seen)
			continue;
		ids[nasked] = CStringGetTextDatum(c->token_id);
		asked[nasked++] = c;
	}
	if (nasked == 0)
		return;
	ok = tokens_still_valid(ids, nasked);
	for (int i = 0; i < nasked; i++)
	{
		if (ok[i])
			asked[i]->validated_epoch = epoch;
		else
			asked[i]->revoked = true;
	}
}

/* The transaction body of a recheck. */
typedef struct RecheckWork
{
	IngestConn **conns;
	int			n;
	uint64		epoch;
} RecheckWork;

static void
recheck_body(void *arg)
{
	RecheckWork *w = arg;

	check_tokens(w->conns, w->n, w->epoch);
}

/*
 * The network process asks, after a revocation, whether these connections
 * may go on: each one whose token is no longer good is told so and closed
 * with 1008.  Allocates in the caller's context, which the loop resets.
 */
void
ingest_recheck_tokens(uint64 *conn_ids, int n)
{
	RecheckWork w;
	ErrorData  *edata;

	w.conns = palloc(sizeof(IngestConn *) * Max(n, 1));
	w.n = 0;
	w.epoch = cs_shared ? pg_atomic_read_u64(&cs_shared->auth_epoch) : 0;
	for (int i = 0; i < n; i++)
	{
		IngestConn *c = ingest_conn(conn_ids[i], false);

		if (c && c->authenticated)
			w.conns[w.n++] = c;
	}
	if (w.n == 0)
		return;
	if (!run_in_xact("codesight: checking tokens", "codesight_ingest", 0, recheck_body, &w, &edata))
	{
		log_failure("codesight: token check failed", edata);
		return;
	}
	for (int i = 0; i < w.n; i++)
		if (w.conns[i]->revoked)
			send_revoked(w.conns[i]);
}
