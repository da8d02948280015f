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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sanitize.h"

/* Parser limits for one message; the byte size is limited by the caller. */
static const JsonLimits proto_json_limits = {
	.max_depth = PROTO_MAX_DEPTH,
	.max_values = 1000000,
	.max_number_len = PROTO_MAX_NUMBER_LEN,
};

/* Why a message or event holding a number that prints too long is refused. */
#define LONG_NUMBER_DETAIL "a number may print as at most 40 characters in plain decimal " \
	"(1e39 and 1e-38 are the largest and smallest powers of ten)"

/*
 * Event types the server stores (docs/events.md), and what the exports
 * make of each: the one list the allow-list and src/actions.c read.
 */
static const struct
{
	const char *name;
	int			flags;
}			event_types[] = {
	{"click", PROTO_EVT_ACTION},
	{"dblclick", PROTO_EVT_ACTION},
	{"drag", PROTO_EVT_ACTION},
	{"input", PROTO_EVT_ACTION},
	{"change", PROTO_EVT_ACTION},
	{"select", PROTO_EVT_ACTION},
	{"submit", PROTO_EVT_ACTION},
	{"keypress", PROTO_EVT_ACTION},
	{"scroll", PROTO_EVT_ACTION},
	{"hover", PROTO_EVT_ACTION},
	{"navigation", PROTO_EVT_ACTION},
	{"page", PROTO_EVT_ACTION},
	{"tab", 0},
	{"focus", 0},
	{"blur", 0},
	{"visibility", 0},
	{"pause", 0},
	{"resume", 0},
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
	[PERR_INVALID_NUMBER] = "invalid_number",
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

/* The PROTO_EVT_* flags of an event type; -1 when it is not allowed. */
int
proto_event_type_flags(const char *type)
{
	for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (strcmp(type, event_types[i].name) == 0)
			return event_types[i].flags;
	return -1;
}

/* True when type is in the allow-list. */
bool
proto_event_type_allowed(const char *type)
{
	return proto_event_type_flags(type) >= 0;
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
		if (!isfinite(d) || fabs(d) > PROTO_MAX_ABS_TIMESTAMP_MS)
			return false;
		*ms = d;
		*has = true;
		return true;
	}
	if (v->type == JV_STRING && proto_parse_iso8601(v->u.str.ptr, ms))
	{
		if (fabs(*ms) > PROTO_MAX_ABS_TIMESTAMP_MS)
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

static ProtoError sanitize_session_fields(JsonArena *arena, ProtoMessage *msg,
										  const char **detail);

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
		if (jerr == JSON_ERR_NUMBER)
		{
			*detail = "a number may have at most 100 characters and an exponent of at most 1000";
			return PERR_INVALID_NUMBER;
		}
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
		return sanitize_session_fields(arena, msg, detail);
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
		return sanitize_session_fields(arena, msg, detail);
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

/*
 * Keys whose string values are URLs, masked with the URL rules: the
 * extension's url, href, src, referrer, action, baseURI and pageUrl, and any
 * key ending in "url", "uri" or "href" (topUrl, frameUrl, redirect_uri).
 * Absolute URLs under any other key get the URL rules through the text
 * rules; this list matters for relative ones.
 */
bool
proto_is_url_key(const char *key, size_t len)
{
	static const char *const keys[] = {"url", "href", "src", "referrer", "action", "baseURI", NULL};
	static const char *const suffixes[] = {"url", "uri", "href", NULL};

	for (int i = 0; keys[i]; i++)
		if (strlen(keys[i]) == len && strncasecmp(key, keys[i], len) == 0)
			return true;
	for (int i = 0; suffixes[i]; i++)
	{
		size_t		n = strlen(suffixes[i]);

		if (len > n && strncasecmp(key + len - n, suffixes[i], n) == 0)
			return true;
	}
	return false;
}

typedef struct SanitizeCtx
{
	JsonArena  *arena;
	bool		oom;
	bool		long_number;	/* a number prints longer than PROTO_MAX_NUMBER_PLAIN */
} SanitizeCtx;

/*
 * True when a number prints (in jsonb's plain decimal) longer than
 * PROTO_MAX_NUMBER_PLAIN: a short lexeme such as 1e1000 must not become a
 * thousand characters in every answer that prints it.  Without an exponent
 * a number prints no longer than it is written, which settles most.
 */
static bool
number_too_long(const JsonValue *v)
{
	if (v->u.str.len <= PROTO_MAX_NUMBER_PLAIN &&
		memchr(v->u.str.ptr, 'e', v->u.str.len) == NULL &&
		memchr(v->u.str.ptr, 'E', v->u.str.len) == NULL)
		return false;
	return json_number_plain_len(v->u.str.ptr, v->u.str.len) > PROTO_MAX_NUMBER_PLAIN;
}

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
	return v->type == JV_STRING && san_is_placeholder(v->u.str.ptr, v->u.str.len);
}

/*
 * What the masking rules make of an object key: the placeholder for values
 * stored under it (a key already holding a placeholder is never classified:
 * "<EMAIL>" must not read as "email" on a second pass), whether its values
 * are URLs, and whether the key itself holds something the text rules mask
 * (personal data in object keys).
 */
typedef struct KeyInfo
{
	const char *placeholder;
	bool		url;
	bool		clean;
} KeyInfo;

/* Computes a key's KeyInfo; false when out of memory. */
static bool
classify_key(const char *key, size_t len, KeyInfo *ki)
{
	char	   *out = NULL;
	size_t		outlen;
	int			rc = san_mask_text(key, len, &out, &outlen);

	if (rc < 0)
		return false;
	free(out);
	ki->clean = (rc == 0);
	ki->placeholder = san_contains_placeholder(key, len) ? NULL : san_placeholder_for_key(key, len);
	ki->url = proto_is_url_key(key, len);
	return true;
}

/*
 * Memo of classify_key by key name.  Event data repeats a small vocabulary
 * of keys (selector, url, element, x, y, ...) in every event, and
 * classifying a name scans dozens of rules: remembering the answer takes
 * that out of the per-event cost.  Fixed size; when a probe run is full the
 * name is simply classified again.
 */
#define KEY_MEMO_SLOTS 1024
#define KEY_MEMO_PROBES 8
#define KEY_MEMO_MAX_LEN 47

typedef struct KeyMemo
{
	bool		used;
	unsigned char len;
	char		key[KEY_MEMO_MAX_LEN];
	KeyInfo		info;
} KeyMemo;

static KeyMemo key_memo[KEY_MEMO_SLOTS];

/* A hash of s[0..len) for the memos, eight bytes at a time. */
static uint32_t
memo_hash(const char *s, size_t len)
{
	uint64_t	h = UINT64_C(0x9E3779B97F4A7C15) ^ len;

	while (len > 0)
	{
		uint64_t	w = 0;
		size_t		n = len < 8 ? len : 8;

		memcpy(&w, s, n);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 32;
		s += n;
		len -= n;
	}
	return (uint32_t) h;
}

/* A key's KeyInfo, via the memo; false when out of memory. */
static bool
key_info(const char *key, size_t len, KeyInfo *ki)
{
	uint32_t	h;

	if (len > KEY_MEMO_MAX_LEN)
		return classify_key(key, len, ki);
	h = memo_hash(key, len);
	for (int probe = 0; probe < KEY_MEMO_PROBES; probe++)
	{
		KeyMemo    *m = &key_memo[(h + probe) % KEY_MEMO_SLOTS];

		if (m->used && m->len == len && memcmp(m->key, key, len) == 0)
		{
			*ki = m->info;
			return true;
		}
		if (!m->used)
		{
			if (!classify_key(key, len, ki))
				return false;
			m->used = true;
			m->len = (unsigned char) len;
			memcpy(m->key, key, len);
			m->info = *ki;
			return true;
		}
	}
	return classify_key(key, len, ki);
}

/*
 * Memo of strings the text or URL rules leave unchanged.  Most strings of
 * an event repeat from the events before it (the page's URL in every event,
 * selectors, labels and element texts of the same page): looking them up
 * costs a hash and a comparison instead of a scan.  Direct-mapped, a new
 * string replacing the one in its slot, so it follows what the current
 * sessions send; only unchanged strings are kept, so a hit means "nothing
 * to mask".
 */
#define VALUE_MEMO_SLOTS 1024
#define VALUE_MEMO_MAX_LEN 246

typedef struct ValueMemo
{
	uint16_t	len;			/* 0: empty slot */
	bool		url;			/* checked with the URL rules, else the text rules */
	char		s[VALUE_MEMO_MAX_LEN];
} ValueMemo;

static ValueMemo value_memo[VALUE_MEMO_SLOTS];

/* The memo slot of a string, and whether it holds the string. */
static ValueMemo *
value_memo_slot(const char *s, size_t len, bool url, bool *hit)
{
	ValueMemo  *m;

	*hit = false;
	if (len == 0 || len > VALUE_MEMO_MAX_LEN)
		return NULL;
	m = &value_memo[(memo_hash(s, len) ^ (url ? 0x5bd1e995u : 0)) % VALUE_MEMO_SLOTS];
	*hit = (m->len == len && m->url == url && memcmp(m->s, s, len) == 0);
	return m;
}

/* Applies the masking rules to the string or number in *slot under a key. */
static void
sanitize_scalar(SanitizeCtx *cx, const KeyInfo *ki, JsonValue **slot)
{
	JsonValue  *v = *slot;
	const char *placeholder = ki ? ki->placeholder : NULL;
	char	   *out = NULL;
	size_t		outlen = 0;
	int			rc;
	bool		url,
				hit;
	ValueMemo  *memo;

	if (is_placeholder(v))
		return;
	if (v->type == JV_NUMBER && placeholder == NULL)
		placeholder = san_placeholder_for_number(v->u.str.ptr, v->u.str.len);
	if (placeholder != NULL &&
		((v->type == JV_STRING && v->u.str.len > 0) || v->type == JV_NUMBER))
	{
		replace_string(cx, slot, placeholder, strlen(placeholder));
		return;
	}
	if (v->type == JV_NUMBER && number_too_long(v))
		cx->long_number = true;
	if (v->type != JV_STRING || v->u.str.len == 0)
		return;
	url = (ki != NULL && ki->url);
	memo = value_memo_slot(v->u.str.ptr, v->u.str.len, url, &hit);
	if (hit)
		return;
	if (url)
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
	else if (memo != NULL)
	{
		memo->len = (uint16_t) v->u.str.len;
		memo->url = url;
		memcpy(memo->s, v->u.str.ptr, v->u.str.len);
	}
}

/*
 * Masks an object key that holds personal data ({"ann@example.com": 1}):
 * the key gets the text rules.  Masked keys may collide; jsonb then keeps
 * the last member, as for any duplicate key.
 */
static void
sanitize_key(SanitizeCtx *cx, JsonMember *m)
{
	char	   *out = NULL;
	size_t		outlen = 0;
	int			rc = san_mask_text(m->key, m->keylen, &out, &outlen);

	if (rc < 0)
		cx->oom = true;
	else if (rc > 0)
	{
		JsonValue  *copy = json_make_string(cx->arena, out, outlen);

		if (copy == NULL)
			cx->oom = true;
		else
		{
			m->key = copy->u.str.ptr;
			m->keylen = copy->u.str.len;
		}
		free(out);
	}
}

/* Walks a value: every string, number and key gets the masking rules. */
static void
sanitize_walk(SanitizeCtx *cx, const KeyInfo *ki, JsonValue **slot, int depth)
{
	JsonValue  *v = *slot;

	if (depth > PROTO_MAX_DEPTH + 1 || cx->oom)
		return;
	switch (v->type)
	{
		case JV_OBJECT:
			for (size_t i = 0; i < v->u.object.count && !cx->oom; i++)
			{
				JsonMember *m = &v->u.object.members[i];
				KeyInfo		mki;

				if (!key_info(m->key, m->keylen, &mki))
				{
					cx->oom = true;
					break;
				}
				if (!mki.clean)
					sanitize_key(cx, m);
				sanitize_walk(cx, &mki, &m->value, depth + 1);
			}
			break;
		case JV_ARRAY:
			for (size_t i = 0; i < v->u.array.count; i++)
				sanitize_walk(cx, ki, &v->u.array.items[i], depth + 1);
			break;
		case JV_STRING:
		case JV_NUMBER:
			sanitize_scalar(cx, ki, slot);
			break;
		default:
			break;
	}
}

/*
 * Reads the members named in names (a NULL-terminated list) of obj in one
 * pass: out[k] is the last member named names[k], or NULL.  Event data is
 * read this way, not with one json_get per name, because field_mask looks
 * at some twenty members of every event.
 */
typedef struct MemberName
{
	const char *name;
	size_t		len;
} MemberName;

#define MN(s) {s, sizeof(s) - 1}

static void
pick_members(const JsonValue *obj, const MemberName *names, JsonValue **out)
{
	int			n = 0;

	while (names[n].name)
		out[n++] = NULL;
	if (obj == NULL || obj->type != JV_OBJECT)
		return;
	for (size_t i = 0; i < obj->u.object.count; i++)
	{
		const JsonMember *m = &obj->u.object.members[i];

		for (int k = 0; k < n; k++)
			if (m->keylen == names[k].len && memcmp(m->key, names[k].name, m->keylen) == 0)
			{
				out[k] = m->value;
				break;
			}
	}
}

/* Adds v, when it is a non-empty string, as a part of a SanField. */
static bool
field_part(const JsonValue *v, const char **s, size_t *len)
{
	if (v == NULL || v->type != JV_STRING || v->u.str.len == 0)
		return false;
	*s = v->u.str.ptr;
	*len = v->u.str.len;
	return true;
}

/* Adds v to the field's texts. */
static void
field_text(SanField *f, const JsonValue *v)
{
	if (f->ntexts < SAN_FIELD_MAX_TEXTS &&
		field_part(v, &f->text[f->ntexts], &f->text_len[f->ntexts]))
		f->ntexts++;
}

/* Adds v to the field's types. */
static void
field_type(SanField *f, const JsonValue *v)
{
	if (f->ntypes < SAN_FIELD_MAX_TYPES &&
		field_part(v, &f->type[f->ntypes], &f->type_len[f->ntypes]))
		f->ntypes++;
}

/*
 * Memo of san_field_placeholder by the field's description.  A worker types
 * into the same few fields many times (one event per edit, and the original
 * extension one per key), so most field events repeat a description.
 */
#define FIELD_MEMO_SLOTS 256
#define FIELD_MEMO_MAX_LEN 230

typedef struct FieldMemo
{
	bool		used;
	unsigned char len;
	char		desc[FIELD_MEMO_MAX_LEN];
	const char *placeholder;
} FieldMemo;

static FieldMemo field_memo[FIELD_MEMO_SLOTS];

/*
 * san_field_placeholder of the field with every part masked by the text
 * rules first: the walk masks the parts as it masks all text, and a second
 * pass must classify the field as the first did.  Sets *oom.
 */
static const char *
classify_field(const SanField *f, bool *oom)
{
	SanField	m = *f;
	const char **parts[2 + SAN_FIELD_MAX_TYPES + SAN_FIELD_MAX_TEXTS];
	size_t	   *lens[2 + SAN_FIELD_MAX_TYPES + SAN_FIELD_MAX_TEXTS];
	char	   *bufs[2 + SAN_FIELD_MAX_TYPES + SAN_FIELD_MAX_TEXTS];
	int			np = 0,
				nb = 0;
	const char *ph = NULL;

	parts[np] = &m.autocomplete, lens[np++] = &m.autocomplete_len;
	parts[np] = &m.role, lens[np++] = &m.role_len;
	for (int k = 0; k < m.ntypes; k++)
		parts[np] = &m.type[k], lens[np++] = &m.type_len[k];
	for (int k = 0; k < m.ntexts; k++)
		parts[np] = &m.text[k], lens[np++] = &m.text_len[k];
	for (int k = 0; k < np; k++)
	{
		char	   *out = NULL;
		size_t		outlen = 0;
		int			rc;

		if (*parts[k] == NULL)
			continue;
		rc = san_mask_text(*parts[k], *lens[k], &out, &outlen);
		if (rc < 0)
		{
			*oom = true;
			goto done;
		}
		if (rc > 0)
		{
			bufs[nb++] = out;
			*parts[k] = out;
			*lens[k] = outlen;
		}
	}
	ph = san_field_placeholder(&m);
done:
	for (int k = 0; k < nb; k++)
		free(bufs[k]);
	return ph;
}

/* classify_field via the memo; sets *oom. */
static const char *
field_placeholder(const SanField *f, bool *oom)
{
	char		desc[FIELD_MEMO_MAX_LEN];
	size_t		n = 0;
	const char *parts[2 + SAN_FIELD_MAX_TYPES + SAN_FIELD_MAX_TEXTS];
	size_t		lens[2 + SAN_FIELD_MAX_TYPES + SAN_FIELD_MAX_TEXTS];
	int			np = 0;
	uint32_t	h;
	FieldMemo  *m;
	const char *ph;

	parts[np] = f->autocomplete;
	lens[np++] = f->autocomplete ? f->autocomplete_len : 0;
	parts[np] = f->role;
	lens[np++] = f->role ? f->role_len : 0;
	for (int k = 0; k < f->ntypes; k++, np++)
		parts[np] = f->type[k], lens[np] = f->type_len[k];
	desc[n++] = (char) ('0' + f->ntypes);
	for (int k = 0; k < f->ntexts; k++, np++)
		parts[np] = f->text[k], lens[np] = f->text_len[k];
	for (int k = 0; k < np; k++)
	{
		if (n + lens[k] + 1 > FIELD_MEMO_MAX_LEN)
			return classify_field(f, oom);
		if (lens[k] > 0)
			memcpy(desc + n, parts[k], lens[k]);
		n += lens[k];
		desc[n++] = '\x1f';
	}
	h = memo_hash(desc, n);
	m = &field_memo[h % FIELD_MEMO_SLOTS];
	if (m->used && m->len == n && memcmp(m->desc, desc, n) == 0)
		return m->placeholder;
	ph = classify_field(f, oom);
	if (*oom)
		return NULL;
	m->used = true;
	m->len = (unsigned char) n;
	memcpy(m->desc, desc, n);
	m->placeholder = ph;
	return ph;
}

/* Replaces the value of every member key of obj with ph (see field_mask). */
static void
mask_members(SanitizeCtx *cx, JsonValue *obj, const char *key, const char *ph)
{
	size_t		klen = strlen(key);

	if (obj == NULL || obj->type != JV_OBJECT)
		return;
	for (size_t i = 0; i < obj->u.object.count; i++)
	{
		JsonMember *m = &obj->u.object.members[i];
		JsonValue  *v = m->value;

		if (m->keylen != klen || memcmp(m->key, key, klen) != 0)
			continue;
		if (v->type == JV_ARRAY)
		{
			for (size_t k = 0; k < v->u.array.count; k++)
			{
				JsonValue  *item = v->u.array.items[k];

				if ((item->type == JV_STRING && item->u.str.len > 0 && !is_placeholder(item)) ||
					item->type == JV_NUMBER)
					replace_string(cx, &v->u.array.items[k], ph, strlen(ph));
			}
		}
		else if ((v->type == JV_STRING && v->u.str.len > 0 && !is_placeholder(v)) ||
				 v->type == JV_NUMBER)
			replace_string(cx, &m->value, ph, strlen(ph));
	}
}

/*
 * The placeholder for a kind the extension named in `masked`: one of
 * sanitize.h's, or "<KIND>" for another kind spelled like a placeholder
 * (a newer extension's); NULL for anything else.
 */
static const char *
masked_kind_placeholder(SanitizeCtx *cx, const JsonValue *masked)
{
	const char *ph;
	char	   *buf;
	size_t		n;

	if (masked == NULL || masked->type != JV_STRING)
		return NULL;
	n = masked->u.str.len;
	if ((ph = san_placeholder_for_kind(masked->u.str.ptr, n)) != NULL)
		return ph;
	if (n == 0 || n > 30)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!((masked->u.str.ptr[i] >= 'A' && masked->u.str.ptr[i] <= 'Z') ||
			  masked->u.str.ptr[i] == '_'))
			return NULL;
	buf = json_arena_alloc(cx->arena, n + 3);
	if (buf == NULL)
	{
		cx->oom = true;
		return NULL;
	}
	buf[0] = '<';
	memcpy(buf + 1, masked->u.str.ptr, n);
	buf[n + 1] = '>';
	buf[n + 2] = '\0';
	return buf;
}

/*
 * Masking by what a field is (docs/sanitization.md, "Form fields"): when
 * the event describes a form field (it has a value, an input type, or its
 * element is an input, textarea or select) whose autocomplete token, type,
 * name, id, label, placeholder or the like says it holds personal data,
 * its value (value, optionText, the element's text and value attribute,
 * the text locator) becomes the placeholder of that kind.  A kind the
 * extension named in `masked` is used when the server finds none.
 */
static void
field_mask(SanitizeCtx *cx, JsonValue *data)
{
	enum
	{
		D_VALUE, D_OPTION_TEXT, D_INPUT_TYPE, D_FIELD_TYPE, D_ELEMENT, D_SELECTORS, D_MASKED
	};
	enum
	{
		E_TAG, E_ROLE, E_TYPE, E_LABEL, E_LABEL_TEXT, E_NAME, E_ATTRIBUTES
	};
	enum
	{
		A_AUTOCOMPLETE, A_ROLE, A_TYPE, A_NAME, A_ID, A_ARIA_LABEL, A_PLACEHOLDER, A_TITLE
	};
	enum
	{
		S_LABEL, S_PLACEHOLDER, S_TEST_ID
	};
	static const MemberName data_names[] = {MN("value"), MN("optionText"), MN("inputType"),
	MN("fieldType"), MN("element"), MN("selectors"), MN("masked"), {NULL, 0}};
	static const MemberName element_names[] = {MN("tag"), MN("role"), MN("type"), MN("label"),
	MN("labelText"), MN("name"), MN("attributes"), {NULL, 0}};
	static const MemberName attr_names[] = {MN("autocomplete"), MN("role"), MN("type"),
		MN("name"), MN("id"), MN("aria-label"), MN("placeholder"), MN("title"),
	{NULL, 0}};
	static const MemberName selector_names[] = {MN("label"), MN("placeholder"), MN("testId"),
	{NULL, 0}};
	static const MemberName test_id_names[] = {MN("value"), {NULL, 0}};
	JsonValue  *d[8],
			   *e[8],
			   *a[9],
			   *sel[4],
			   *tid[2];
	const JsonValue *tag;
	const char *ph;
	SanField	f;

	pick_members(data, data_names, d);
	pick_members(d[D_ELEMENT], element_names, e);
	tag = e[E_TAG];
	if (d[D_VALUE] == NULL && d[D_OPTION_TEXT] == NULL &&
		(d[D_INPUT_TYPE] == NULL || d[D_INPUT_TYPE]->type != JV_STRING) &&
		(tag == NULL || tag->type != JV_STRING ||
		 (strcmp(tag->u.str.ptr, "input") != 0 && strcmp(tag->u.str.ptr, "textarea") != 0 &&
		  strcmp(tag->u.str.ptr, "select") != 0)))
		return;
	pick_members(e[E_ATTRIBUTES], attr_names, a);
	pick_members(d[D_SELECTORS], selector_names, sel);
	pick_members(sel[S_TEST_ID], test_id_names, tid);

	memset(&f, 0, sizeof(f));
	if (!field_part(a[A_AUTOCOMPLETE], &f.autocomplete, &f.autocomplete_len))
		f.autocomplete = NULL;
	if (!field_part(e[E_ROLE], &f.role, &f.role_len) &&
		!field_part(a[A_ROLE], &f.role, &f.role_len))
		f.role = NULL;
	field_type(&f, a[A_TYPE]);
	field_type(&f, e[E_TYPE]);
	field_type(&f, d[D_INPUT_TYPE]);
	field_type(&f, d[D_FIELD_TYPE]);
	field_text(&f, a[A_NAME]);
	field_text(&f, a[A_ID]);
	field_text(&f, a[A_ARIA_LABEL]);
	field_text(&f, a[A_PLACEHOLDER]);
	field_text(&f, a[A_TITLE]);
	field_text(&f, e[E_LABEL]);
	field_text(&f, e[E_LABEL_TEXT]);
	field_text(&f, e[E_NAME]);
	field_text(&f, sel[S_LABEL]);
	field_text(&f, sel[S_PLACEHOLDER]);
	field_text(&f, sel[S_TEST_ID] && sel[S_TEST_ID]->type == JV_OBJECT ? tid[0] : sel[S_TEST_ID]);
	ph = field_placeholder(&f, &cx->oom);
	if (ph == NULL && !cx->oom)
		ph = masked_kind_placeholder(cx, d[D_MASKED]);
	if (ph == NULL)
		return;
	mask_members(cx, data, "value", ph);
	mask_members(cx, data, "optionText", ph);
	mask_members(cx, d[D_ELEMENT], "text", ph);
	mask_members(cx, e[E_ATTRIBUTES], "value", ph);
	mask_members(cx, d[D_SELECTORS], "text", ph);
}

/*
 * Masks personal data in ev->data in place (see docs/sanitization.md) and
 * picks out url and selector.  Returns PERR_INVALID_NUMBER when a number
 * of the data prints longer than PROTO_MAX_NUMBER_PLAIN (the event is not
 * to be stored), PERR_OUT_OF_MEMORY if an allocation failed; either leaves
 * the event unusable.
 */
ProtoError
proto_sanitize_event(JsonArena *arena, ProtoEvent *ev)
{
	SanitizeCtx cx = {arena, false, false};

	field_mask(&cx, ev->data);
	sanitize_walk(&cx, NULL, &ev->data, 0);
	if (cx.oom)
		return PERR_OUT_OF_MEMORY;
	if (cx.long_number)
		return PERR_INVALID_NUMBER;
	ev->url = json_get_string(ev->data, "url");
	ev->selector = json_get_string(ev->data, "selector");
	return PERR_OK;
}

/*
 * Masks the session-level fields a session_start or session_complete
 * stores: the user agent gets the text rules, the extension object and the
 * summary the rules of event data.  Done at parse time, so that whatever
 * stores the message only ever sees masked values.  A number that prints
 * too long refuses the message.
 */
static ProtoError
sanitize_session_fields(JsonArena *arena, ProtoMessage *msg, const char **detail)
{
	SanitizeCtx cx = {arena, false, false};

	if (msg->user_agent != NULL)
	{
		char	   *out = NULL;
		size_t		outlen;
		int			rc = san_mask_text(msg->user_agent, strlen(msg->user_agent), &out, &outlen);

		if (rc < 0)
			return PERR_OUT_OF_MEMORY;
		if (rc > 0)
		{
			JsonValue  *copy = json_make_string(arena, out, outlen);

			free(out);
			if (copy == NULL)
				return PERR_OUT_OF_MEMORY;
			msg->user_agent = copy->u.str.ptr;
		}
	}
	if (msg->extension != NULL)
		sanitize_walk(&cx, NULL, &msg->extension, 0);
	if (msg->summary != NULL)
		sanitize_walk(&cx, NULL, &msg->summary, 0);
	if (cx.oom)
		return PERR_OUT_OF_MEMORY;
	if (cx.long_number)
	{
		*detail = LONG_NUMBER_DETAIL;
		return PERR_INVALID_NUMBER;
	}
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

/*
 * Writes an error message; session_id and seq are optional (NULL, 0).
 * dropped says the event was recorded as rejected: its seq counts as
 * handled, the acks pass it, and the client must not send it again.
 */
void
proto_write_error(StrBuf *sb, ProtoError err, const char *message,
				  const char *session_id, int64_t seq, bool dropped)
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
	if (dropped)
		strbuf_appends(sb, ",\"dropped\":true");
	strbuf_append(sb, "}", 1);
}

/*
 * Writes store_failed: the database refused a message, for a reason of a
 * class the client can act on, and the least time to wait before trying
 * again.
 */
void
proto_write_store_failed(StrBuf *sb, const char *reason, int retry_after_ms)
{
	static const char message[] =
		"the database refused this message; reconnect after retryAfterMs and resend what was not acknowledged";

	strbuf_printf(sb, "{\"type\":\"error\",\"code\":\"store_failed\",\"reason\":\"%s\","
				  "\"retryAfterMs\":%d,\"message\":", reason, retry_after_ms);
	json_append_string(sb, message, sizeof(message) - 1);
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

/* Writes a hello (the network process's stand-in for a header token). */
void
proto_write_hello(StrBuf *sb, const char *token)
{
	strbuf_appends(sb, "{\"type\":\"hello\",\"token\":");
	json_append_string(sb, token, strlen(token));
	strbuf_append(sb, "}", 1);
}

/* Writes the answer to a valid hello. */
void
proto_write_hello_ok(StrBuf *sb, int64_t worker_id)
{
	strbuf_printf(sb, "{\"type\":\"hello_ok\",\"workerId\":%lld}", (long long) worker_id);
}

/*
 * The peek: a scan of a message's top level that finds its type and its
 * sessionId without building anything, so the network process can route
 * each message to the ingest worker of its session (and answer ping and
 * pong itself) without parsing it.  It is only a hint: the ingest worker
 * parses the message fully and refuses it if its session belongs to
 * another worker.  Values written with escapes are not taken.
 */
typedef struct PeekScan
{
	const char *p;
	const char *end;
} PeekScan;

/* Skips JSON whitespace. */
static void
peek_ws(PeekScan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/*
 * Reads a string at s->p (on its opening quote).  *raw and *rawlen get its
 * bytes when it holds no escape (else *raw is NULL).  False if unterminated.
 */
static bool
peek_string(PeekScan *s, const char **raw, size_t *rawlen)
{
	const char *start = ++s->p;
	bool		escaped = false;

	while (s->p < s->end && *s->p != '"')
	{
		if (*s->p == '\\')
		{
			escaped = true;
			s->p++;
		}
		s->p++;
	}
	if (s->p >= s->end)
		return false;
	*raw = escaped ? NULL : start;
	*rawlen = s->p - start;
	s->p++;
	return true;
}

/* Skips one value of any kind; false on malformed input or deep nesting. */
static bool
peek_skip(PeekScan *s)
{
	int			depth = 0;

	do
	{
		const char *raw;
		size_t		rawlen;

		peek_ws(s);
		if (s->p >= s->end)
			return false;
		switch (*s->p)
		{
			case '"':
				if (!peek_string(s, &raw, &rawlen))
					return false;
				break;
			case '{':
			case '[':
				if (++depth > PROTO_MAX_DEPTH)
					return false;
				s->p++;
				break;
			case '}':
			case ']':
				depth--;
				s->p++;
				break;
			case ',':
			case ':':
				s->p++;
				break;
			default:
				/* numbers, true, false, null */
				while (s->p < s->end && strchr(",:}] \t\r\n", *s->p) == NULL)
					s->p++;
				break;
		}
	} while (depth > 0);
	return true;
}

/*
 * Scans one object's members for "type" and "sessionId"; with `nested`,
 * also looks inside an "event" object for a sessionId (the original
 * extension's interaction_event may carry it only there).
 */
static void
peek_object(PeekScan *s, ProtoPeek *out, bool nested)
{
	peek_ws(s);
	if (s->p >= s->end || *s->p != '{')
		return;
	s->p++;
	for (;;)
	{
		const char *key;
		size_t		keylen;

		peek_ws(s);
		if (s->p >= s->end || *s->p != '"' || !peek_string(s, &key, &keylen))
			return;
		peek_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return;
		s->p++;
		peek_ws(s);
		if (s->p >= s->end)
			return;
		if (key && *s->p == '"' &&
			((keylen == 4 && memcmp(key, "type", 4) == 0 && out->type[0] == '\0') ||
			 (keylen == 9 && memcmp(key, "sessionId", 9) == 0)))
		{
			const char *v;
			size_t		vlen;

			if (!peek_string(s, &v, &vlen))
				return;
			if (keylen == 4 && v && vlen < sizeof(out->type))
			{
				memcpy(out->type, v, vlen);
				out->type[vlen] = '\0';
			}
			else if (keylen == 9 && v && proto_valid_session_id(v, vlen))
			{
				/* Two different sessionIds: no hint (the parser decides). */
				if (out->session_id[0] &&
					(strlen(out->session_id) != vlen || memcmp(out->session_id, v, vlen) != 0))
					out->ambiguous = true;
				memcpy(out->session_id, v, vlen);
				out->session_id[vlen] = '\0';
			}
		}
		else if (nested && key && keylen == 5 && memcmp(key, "event", 5) == 0 && *s->p == '{')
		{
			PeekScan	inner = *s;
			ProtoPeek	ev;

			memset(&ev, 0, sizeof(ev));
			peek_object(&inner, &ev, false);
			if (ev.session_id[0])
				memcpy(out->event_session_id, ev.session_id, sizeof(ev.session_id));
			/* Read to its closing brace: step over it, not through it again. */
			if (inner.p < inner.end && *inner.p == '}')
				s->p = inner.p + 1;
			else if (!peek_skip(s))
				return;
		}
		else if (!peek_skip(s))
			return;
		peek_ws(s);
		if (s->p >= s->end || *s->p != ',')
			return;
		s->p++;
	}
}

/*
 * Fills *out with the message's type and the sessionId to route it by
 * (empty when there is none or it is ambiguous).  Never fails: a message
 * it can not read is routed by its connection, and the ingest worker
 * answers it with the parser's error.
 */
void
proto_peek(const char *buf, size_t len, ProtoPeek *out)
{
	PeekScan	s = {buf, buf + len};

	memset(out, 0, sizeof(*out));
	peek_object(&s, out, true);
	if (out->session_id[0] == '\0' && out->event_session_id[0] != '\0')
		memcpy(out->session_id, out->event_session_id, sizeof(out->session_id));
	if (out->ambiguous)
		out->session_id[0] = '\0';
}
