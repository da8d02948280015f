/*-------------------------------------------------------------------------
 *
 * protocol.c
 *	  Parses and validates client messages of the stream protocol, sanitizes
 *	  event data, and writes server messages.  See docs/protocol.md.
 *
 * Pure C: no PostgreSQL calls, no errors thrown (see protocol.h).
 *
 *-------------------------------------------------------------------------
 */
#include "protocol.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sanitize.h"

/* Parser limits for one message; the byte size is limited by the caller. */
static const JsonLimits proto_json_limits = {
	.max_depth = PROTO_MAX_DEPTH,
	.max_values = 1000000,
	.max_number_len = 100,
};

/* Event types the server stores; the extension and exports use the same. */
static const char *const allowed_event_types[] = {
	"click", "dblclick", "drag", "input", "change", "select", "submit", "keypress",
	"scroll", "hover", "navigation", "tab", "page", "focus", "blur",
	"visibility", "pause", "resume", NULL
};

/* Stable error codes, indexed by ProtoError. */
static const char *const error_codes[PERR__COUNT] = {
	[PERR_OK] = "ok",
	[PERR_INVALID_JSON] = "invalid_json",
	[PERR_INVALID_MESSAGE] = "invalid_message",
	[PERR_UNKNOWN_MESSAGE_TYPE] = "unknown_message_type",
	[PERR_INVALID_SESSION_ID] = "invalid_session_id",
	[PERR_UNKNOWN_SESSION] = "unknown_session",
	[PERR_SESSION_NOT_ACTIVE] = "session_not_active",
	[PERR_INVALID_EVENT] = "invalid_event",
	[PERR_UNKNOWN_EVENT_TYPE] = "unknown_event_type",
	[PERR_INVALID_SEQ] = "invalid_seq",
	[PERR_INVALID_TIMESTAMP] = "invalid_timestamp",
	[PERR_TOO_DEEP] = "too_deep",
	[PERR_TOO_MANY_EVENTS] = "too_many_events",
	[PERR_UNAUTHORIZED] = "unauthorized",
	[PERR_FORBIDDEN] = "forbidden",
	[PERR_STORE_FAILED] = "store_failed",
	[PERR_SERVER_BUSY] = "server_busy",
	[PERR_OUT_OF_MEMORY] = "out_of_memory",
};

/* The wire name of an error code. */
const char *
proto_error_code(ProtoError err)
{
	if (err < 0 || err >= PERR__COUNT)
		return "internal_error";
	return error_codes[err];
}

/* The wire name of a message type, for logs. */
const char *
proto_message_type_name(ProtoMsgType t)
{
	switch (t)
	{
		case MSG_HELLO:
			return "hello";
		case MSG_SESSION_START:
			return "session_start";
		case MSG_INTERACTION_EVENT:
			return "interaction_event";
		case MSG_EVENTS:
			return "events";
		case MSG_SESSION_STOP:
			return "session_stop";
		case MSG_SESSION_COMPLETE:
			return "session_complete";
		case MSG_PONG:
			return "pong";
		case MSG_PING:
			return "ping";
	}
	return "unknown";
}

/* True when s matches ^[A-Za-z0-9_-]{1,64}$. */
bool
proto_valid_session_id(const char *s, size_t len)
{
	if (len < 1 || len > PROTO_SESSION_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* True when type is in the allow-list. */
bool
proto_event_type_allowed(const char *type)
{
	for (int i = 0; allowed_event_types[i]; i++)
		if (strcmp(type, allowed_event_types[i]) == 0)
			return true;
	return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's method). */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long		era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long) doe - 719468;
}

/* Reads exactly n digits at *p into *out, advancing *p. */
static bool
read_digits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		char		c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * Parses an ISO 8601 timestamp as JavaScript's Date.toISOString() writes it
 * (YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM]) into ms since the epoch.  Done here
 * rather than with timestamptz_in so a bad value can never raise an error.
 */
bool
proto_parse_iso8601(const char *s, double *ms)
{
	const char *p = s;
	int			y,
				mo,
				d,
				h,
				mi,
				sec,
				offh = 0,
				offm = 0;
	double		frac = 0;
	int			sign = 0;

	if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) ||
		*p++ != '-' || !read_digits(&p, 2, &d) || (*p != 'T' && *p != ' '))
		return false;
	p++;
	if (!read_digits(&p, 2, &h) || *p++ != ':' || !read_digits(&p, 2, &mi) ||
		*p++ != ':' || !read_digits(&p, 2, &sec))
		return false;
	if (*p == '.')
	{
		double		scale = 0.1;

		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
		{
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		sign = *p++ == '-' ? -1 : 1;
		if (!read_digits(&p, 2, &offh))
			return false;
		if (*p == ':')
			p++;
		if (!read_digits(&p, 2, &offm))
			return false;
	}
	if (*p != '\0')
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
		offh > 23 || offm > 59)
		return false;
	*ms = ((double) days_from_civil(y, (unsigned) mo, (unsigned) d) * 86400.0 +
		   h * 3600.0 + mi * 60.0 + sec - sign * (offh * 3600.0 + offm * 60.0) + frac) * 1000.0;
	return true;
}

/*
 * Reads an optional timestamp field: a number of ms, or an ISO string.
 * Returns false for a present but unusable value.
 */
static bool
read_timestamp(const JsonValue *v, bool *has, double *ms)
{
	*has = false;
	if (v == NULL || v->type == JV_NULL)
		return true;
	if (v->type == JV_NUMBER)
	{
		double		d;

		json_number_to_double(v, &d);
		/* Between 1970 and the year 5138: covers ms timestamps, rejects junk. */
		if (!isfinite(d) || d < 0 || d > 1e14)
			return false;
		*ms = d;
		*has = true;
		return true;
	}
	if (v->type == JV_STRING && proto_parse_iso8601(v->u.str.ptr, ms))
	{
		if (*ms < 0 || *ms > 1e14)
			return false;
		*has = true;
		return true;
	}
	return false;
}

/* Reads an optional seq: an integer from 1 to 2^53-1.  0 means absent. */
static bool
read_seq(const JsonValue *v, int64_t *seq)
{
	*seq = 0;
	if (v == NULL || v->type == JV_NULL)
		return true;
	if (!json_number_to_int64(v, seq) || *seq < 1 || *seq > PROTO_MAX_SEQ)
	{
		*seq = 0;
		return false;
	}
	return true;
}

/* Returns the string value of data[key] if it is a string. */
static const char *
data_string(const JsonValue *data, const char *key)
{
	return json_get_string(data, key);
}

/*
 * Fills ev from one event object.  v1 events nest their fields under
 * `data`; the original extension's navigation events come as a flat object
 * {url, tabId, timestamp}, which is taken as its own data.  Problems are
 * recorded in ev->error so the rest of a batch goes on.
 */
static void
parse_event(const JsonValue *obj, const JsonValue *outer_seq, const JsonValue *outer_ts,
			ProtoEvent *ev)
{
	const JsonValue *type;
	const JsonValue *data;

	memset(ev, 0, sizeof(*ev));
	if (obj == NULL || obj->type != JV_OBJECT)
	{
		ev->error = PERR_INVALID_EVENT;
		return;
	}
	/* seq first, so every later rejection can name the event it refers to */
	if (!read_seq(json_get(obj, "seq") ? json_get(obj, "seq") : outer_seq, &ev->seq))
	{
		ev->error = PERR_INVALID_SEQ;
		return;
	}
	data = json_get(obj, "data");
	type = json_get(obj, "type");
	if (data == NULL || data->type == JV_NULL)
	{
		/* A flat event: the object itself carries the data. */
		data = obj;
	}
	if (data->type != JV_OBJECT)
	{
		ev->error = PERR_INVALID_EVENT;
		return;
	}
	if (type == NULL && data == obj && data_string(obj, "url") != NULL)
		ev->type = "navigation";
	else if (type == NULL || type->type != JV_STRING)
	{
		ev->error = PERR_INVALID_EVENT;
		return;
	}
	else
		ev->type = type->u.str.ptr;
	if (!proto_event_type_allowed(ev->type))
	{
		ev->error = PERR_UNKNOWN_EVENT_TYPE;
		return;
	}
	{
		const JsonValue *ts = json_get(obj, "timestamp");

		if (ts == NULL)
			ts = outer_ts;
		if (ts == NULL)
			ts = json_get(data, "timestamp");
		if (!read_timestamp(ts, &ev->has_ts, &ev->ts_ms))
		{
			ev->error = PERR_INVALID_TIMESTAMP;
			return;
		}
	}
	ev->data = (JsonValue *) data;
}

/* Reads and validates the sessionId field of a message. */
static ProtoError
read_session_id(const JsonValue *root, const char **out, const char **detail)
{
	const JsonValue *v = json_get(root, "sessionId");

	if (v == NULL || v->type != JV_STRING)
	{
		*detail = "sessionId is required and must be a string";
		return PERR_INVALID_MESSAGE;
	}
	if (!proto_valid_session_id(v->u.str.ptr, v->u.str.len))
	{
		*detail = "sessionId must match ^[A-Za-z0-9_-]{1,64}$";
		return PERR_INVALID_SESSION_ID;
	}
	*out = v->u.str.ptr;
	return PERR_OK;
}

/*
 * Parses one client message.  On success fills msg; events that failed
 * validation carry their own error.  On failure returns the error code and
 * a static detail text.
 */
ProtoError
proto_parse_message(const char *buf, size_t len, JsonArena *arena,
					ProtoMessage *msg, const char **detail)
{
	JsonValue  *root;
	const char *type;
	JsonError	jerr;
	ProtoError	err;
	const JsonValue *v;

	memset(msg, 0, sizeof(*msg));
	*detail = NULL;

	jerr = json_parse(buf, len, &proto_json_limits, arena, &root, NULL);
	if (jerr != JSON_OK)
	{
		*detail = json_error_text(jerr);
		if (jerr == JSON_ERR_DEPTH)
			return PERR_TOO_DEEP;
		if (jerr == JSON_ERR_NOMEM)
			return PERR_OUT_OF_MEMORY;
		return PERR_INVALID_JSON;
	}
	if (root->type != JV_OBJECT)
	{
		*detail = "a message must be a JSON object";
		return PERR_INVALID_JSON;
	}
	type = json_get_string(root, "type");
	if (type == NULL)
	{
		*detail = "type is required and must be a string";
		return PERR_INVALID_MESSAGE;
	}

	if (!read_timestamp(json_get(root, "timestamp"), &msg->has_ts, &msg->ts_ms))
	{
		*detail = "timestamp must be milliseconds since the epoch or an ISO 8601 string";
		return PERR_INVALID_TIMESTAMP;
	}

	if (strcmp(type, "pong") == 0)
	{
		msg->type = MSG_PONG;
		return PERR_OK;
	}
	if (strcmp(type, "ping") == 0)
	{
		msg->type = MSG_PING;
		return PERR_OK;
	}
	if (strcmp(type, "hello") == 0)
	{
		msg->type = MSG_HELLO;
		msg->token = json_get_string(root, "token");
		if (msg->token == NULL)
		{
			*detail = "hello needs a token string";
			return PERR_INVALID_MESSAGE;
		}
		return PERR_OK;
	}
	if (strcmp(type, "session_start") == 0)
	{
		msg->type = MSG_SESSION_START;
		if ((err = read_session_id(root, &msg->session_id, detail)) != PERR_OK)
			return err;
		msg->user_agent = json_get_string(root, "userAgent");
		v = json_get(root, "extension");
		msg->extension = (v && v->type == JV_OBJECT) ? (JsonValue *) v : NULL;
		return PERR_OK;
	}
	if (strcmp(type, "session_stop") == 0)
	{
		msg->type = MSG_SESSION_STOP;
		return read_session_id(root, &msg->session_id, detail);
	}
	if (strcmp(type, "session_complete") == 0)
	{
		msg->type = MSG_SESSION_COMPLETE;
		if ((err = read_session_id(root, &msg->session_id, detail)) != PERR_OK)
			return err;
		v = json_get(root, "events");
		msg->complete_event_count = (v && v->type == JV_ARRAY) ? v->u.array.count : 0;
		v = json_get(root, "summary");
		msg->summary = (v && v->type == JV_OBJECT) ? (JsonValue *) v : NULL;
		return PERR_OK;
	}
	if (strcmp(type, "interaction_event") == 0)
	{
		const JsonValue *event = json_get(root, "event");

		msg->type = MSG_INTERACTION_EVENT;
		/* The original extension repeats sessionId inside the event. */
		if (json_get(root, "sessionId") == NULL && event && json_get(event, "sessionId"))
			err = read_session_id(event, &msg->session_id, detail);
		else
			err = read_session_id(root, &msg->session_id, detail);
		if (err != PERR_OK)
			return err;
		msg->events = json_arena_alloc(arena, sizeof(ProtoEvent));
		if (msg->events == NULL)
			return PERR_OUT_OF_MEMORY;
		msg->nevents = 1;
		parse_event(event, json_get(root, "seq"), json_get(root, "timestamp"), &msg->events[0]);
		return PERR_OK;
	}
	if (strcmp(type, "events") == 0)
	{
		msg->type = MSG_EVENTS;
		if ((err = read_session_id(root, &msg->session_id, detail)) != PERR_OK)
			return err;
		v = json_get(root, "events");
		if (v == NULL || v->type != JV_ARRAY)
		{
			*detail = "events must be an array";
			return PERR_INVALID_MESSAGE;
		}
		if (v->u.array.count > PROTO_MAX_BATCH_EVENTS)
		{
			*detail = "a batch may hold at most 1000 events";
			return PERR_TOO_MANY_EVENTS;
		}
		msg->nevents = v->u.array.count;
		msg->events = json_arena_alloc(arena, sizeof(ProtoEvent) * (msg->nevents ? msg->nevents : 1));
		if (msg->events == NULL)
			return PERR_OUT_OF_MEMORY;
		for (size_t i = 0; i < msg->nevents; i++)
		{
			ProtoEvent *ev = &msg->events[i];

			parse_event(v->u.array.items[i], NULL, NULL, ev);
			/* v2 batches exist for durability: each event needs its seq. */
			if (ev->error == PERR_OK && ev->seq == 0)
				ev->error = PERR_INVALID_SEQ;
		}
		return PERR_OK;
	}
	*detail = "unknown message type";
	return PERR_UNKNOWN_MESSAGE_TYPE;
}

/* Keys whose string values are URLs, masked with the URL rules. */
static bool
is_url_key(const char *key, size_t len)
{
	static const char *const keys[] = {"url", "href", "src", "referrer", "action", "pageUrl", "baseURI", NULL};

	for (int i = 0; keys[i]; i++)
		if (strlen(keys[i]) == len && strncasecmp(key, keys[i], len) == 0)
			return true;
	return false;
}

typedef struct SanitizeCtx
{
	JsonArena  *arena;
	bool		password_field; /* the event says its field is a password */
	bool		oom;
} SanitizeCtx;

/* Replaces *slot with a string node holding s, allocated in the arena. */
static void
replace_string(SanitizeCtx *cx, JsonValue **slot, const char *s, size_t len)
{
	JsonValue  *n = json_make_string(cx->arena, s, len);

	if (n == NULL)
		cx->oom = true;
	else
		*slot = n;
}

/* True for a placeholder such as <EMAIL>: already masked, by the extension or by us. */
static bool
is_placeholder(const JsonValue *v)
{
	size_t		n = v->u.str.len;

	if (n < 3 || v->u.str.ptr[0] != '<' || v->u.str.ptr[n - 1] != '>')
		return false;
	for (size_t i = 1; i < n - 1; i++)
	{
		char		c = v->u.str.ptr[i];

		if (!((c >= 'A' && c <= 'Z') || c == '_'))
			return false;
	}
	return true;
}

/*
 * Memo of san_placeholder_for_key by key name.  Event data repeats a small
 * vocabulary of keys (selector, url, element, x, y, ...) in every event,
 * and classifying a name scans dozens of patterns: remembering the answer
 * takes that out of the per-event cost.  Fixed size; when a probe run is
 * full the name is simply classified again.
 */
#define KEY_MEMO_SLOTS 1024
#define KEY_MEMO_PROBES 8
#define KEY_MEMO_MAX_LEN 47

typedef struct KeyMemo
{
	bool		used;
	unsigned char len;
	char		key[KEY_MEMO_MAX_LEN];
	const char *placeholder;
} KeyMemo;

static KeyMemo key_memo[KEY_MEMO_SLOTS];

/* The placeholder for a value under key, via the memo. */
static const char *
placeholder_for_key(const char *key, size_t len)
{
	uint32_t	h = 2166136261u;
	const char *p;

	if (len > KEY_MEMO_MAX_LEN)
		return san_placeholder_for_key(key, len);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) key[i]) * 16777619u;
	for (int probe = 0; probe < KEY_MEMO_PROBES; probe++)
	{
		KeyMemo    *m = &key_memo[(h + probe) % KEY_MEMO_SLOTS];

		if (m->used && m->len == len && memcmp(m->key, key, len) == 0)
			return m->placeholder;
		if (!m->used)
		{
			p = san_placeholder_for_key(key, len);
			m->used = true;
			m->len = (unsigned char) len;
			memcpy(m->key, key, len);
			m->placeholder = p;
			return p;
		}
	}
	return san_placeholder_for_key(key, len);
}

/* Applies the masking rules to the string or number in *slot under key. */
static void
sanitize_scalar(SanitizeCtx *cx, const char *key, size_t keylen, JsonValue **slot)
{
	JsonValue  *v = *slot;
	const char *placeholder = NULL;
	char	   *out = NULL;
	size_t		outlen = 0;
	int			rc;

	if (key != NULL)
	{
		placeholder = placeholder_for_key(key, keylen);
		if (placeholder == NULL && cx->password_field && keylen == 5 &&
			strncmp(key, "value", 5) == 0)
			placeholder = "<PASSWORD>";
	}
	if (v->type == JV_STRING && is_placeholder(v))
		return;
	if (placeholder != NULL &&
		((v->type == JV_STRING && v->u.str.len > 0) || v->type == JV_NUMBER))
	{
		replace_string(cx, slot, placeholder, strlen(placeholder));
		return;
	}
	if (v->type != JV_STRING || v->u.str.len == 0)
		return;
	if (key != NULL && is_url_key(key, keylen))
		rc = san_mask_url(v->u.str.ptr, v->u.str.len, &out, &outlen);
	else
		rc = san_mask_text(v->u.str.ptr, v->u.str.len, &out, &outlen);
	if (rc < 0)
		cx->oom = true;
	else if (rc > 0)
	{
		replace_string(cx, slot, out, outlen);
		free(out);
	}
}

/* Walks a value, masking every string and every secret-named member. */
static void
sanitize_walk(SanitizeCtx *cx, const char *key, size_t keylen, JsonValue **slot, int depth)
{
	JsonValue  *v = *slot;

	if (depth > PROTO_MAX_DEPTH + 1 || cx->oom)
		return;
	switch (v->type)
	{
		case JV_OBJECT:
			for (size_t i = 0; i < v->u.object.count; i++)
			{
				JsonMember *m = &v->u.object.members[i];

				sanitize_walk(cx, m->key, m->keylen, &m->value, depth + 1);
			}
			break;
		case JV_ARRAY:
			for (size_t i = 0; i < v->u.array.count; i++)
				sanitize_walk(cx, key, keylen, &v->u.array.items[i], depth + 1);
			break;
		case JV_STRING:
		case JV_NUMBER:
			sanitize_scalar(cx, key, keylen, slot);
			break;
		default:
			break;
	}
}

/* True when a string member equals "password" (case-insensitive). */
static bool
is_password_type(const JsonValue *obj, const char *key)
{
	const char *s = json_get_string(obj, key);

	return s != NULL && strcasecmp(s, "password") == 0;
}

/*
 * Masks sensitive values in ev->data in place (see docs/sanitization.md)
 * and picks out url and selector.  Returns PERR_OUT_OF_MEMORY if an
 * allocation failed, leaving the event unusable.
 */
ProtoError
proto_sanitize_event(JsonArena *arena, ProtoEvent *ev)
{
	SanitizeCtx cx = {arena, false, false};
	JsonValue  *data = ev->data;
	const JsonValue *element;

	element = json_get(data, "element");
	cx.password_field = is_password_type(data, "inputType") ||
		is_password_type(data, "fieldType") ||
		is_password_type(json_get(element, "attributes"), "type") ||
		is_password_type(element, "type");
	sanitize_walk(&cx, NULL, 0, &ev->data, 0);
	if (cx.oom)
		return PERR_OUT_OF_MEMORY;
	ev->url = json_get_string(ev->data, "url");
	ev->selector = json_get_string(ev->data, "selector");
	return PERR_OK;
}

/* Appends `"key":` to sb. */
static void
put_key(StrBuf *sb, const char *key)
{
	json_append_string(sb, key, strlen(key));
	strbuf_append(sb, ":", 1);
}

/* Writes the greeting sent when a connection opens. */
void
proto_write_connected(StrBuf *sb, size_t max_message_bytes, bool auth_required)
{
	strbuf_printf(sb, "{\"type\":\"connected\",\"protocol\":%d,\"maxMessageBytes\":%zu,"
				  "\"maxBatchEvents\":%d,\"authRequired\":%s}",
				  PROTO_VERSION, max_message_bytes, PROTO_MAX_BATCH_EVENTS,
				  auth_required ? "true" : "false");
}

/* Writes an error message; session_id and seq are optional (NULL, 0). */
void
proto_write_error(StrBuf *sb, ProtoError err, const char *message,
				  const char *session_id, int64_t seq)
{
	if (message == NULL)
		message = proto_error_code(err);
	strbuf_appends(sb, "{\"type\":\"error\",");
	put_key(sb, "code");
	json_append_string(sb, proto_error_code(err), strlen(proto_error_code(err)));
	strbuf_append(sb, ",", 1);
	put_key(sb, "message");
	json_append_string(sb, message, strlen(message));
	if (session_id)
	{
		strbuf_append(sb, ",", 1);
		put_key(sb, "sessionId");
		json_append_string(sb, session_id, strlen(session_id));
	}
	if (seq > 0)
		strbuf_printf(sb, ",\"seq\":%lld", (long long) seq);
	strbuf_append(sb, "}", 1);
}

/*
 * Session ids are validated to [A-Za-z0-9_-] before any message naming
 * them is written, so they need no escaping below.
 */

/* Writes an ack: every seq up to seq is committed. */
void
proto_write_ack(StrBuf *sb, const char *session_id, int64_t seq)
{
	strbuf_printf(sb, "{\"type\":\"ack\",\"sessionId\":\"%s\",\"seq\":%lld}",
				  session_id, (long long) seq);
}

/* Writes session_started with the resume point for the client. */
void
proto_write_session_started(StrBuf *sb, const char *session_id, int64_t last_seq,
							const char *status)
{
	strbuf_printf(sb, "{\"type\":\"session_started\",\"sessionId\":\"%s\",\"lastSeq\":%lld,"
				  "\"status\":\"%s\"}",
				  session_id, (long long) last_seq, status);
}

/* Writes session_stopped. */
void
proto_write_session_stopped(StrBuf *sb, const char *session_id, int64_t last_seq)
{
	strbuf_printf(sb, "{\"type\":\"session_stopped\",\"sessionId\":\"%s\",\"lastSeq\":%lld}",
				  session_id, (long long) last_seq);
}

/* Writes session_complete_acknowledged. */
void
proto_write_session_complete_ack(StrBuf *sb, const char *session_id, int64_t event_count)
{
	strbuf_printf(sb, "{\"type\":\"session_complete_acknowledged\",\"sessionId\":\"%s\","
				  "\"eventCount\":%lld}",
				  session_id, (long long) event_count);
}

/* Writes the v1 receipt for interaction_events without seq. */
void
proto_write_event_received(StrBuf *sb, int64_t event_count)
{
	strbuf_printf(sb, "{\"type\":\"event_received\",\"eventCount\":%lld}", (long long) event_count);
}

/* Writes a ping (server keepalive) or a pong (answer to a client ping). */
void
proto_write_ping(StrBuf *sb, double now_ms, bool pong)
{
	strbuf_printf(sb, "{\"type\":\"%s\",\"timestamp\":%.0f}", pong ? "pong" : "ping", now_ms);
}

/* Writes the answer to a valid hello. */
void
proto_write_hello_ok(StrBuf *sb, int64_t worker_id)
{
	strbuf_printf(sb, "{\"type\":\"hello_ok\",\"workerId\":%lld}", (long long) worker_id);
}
