/*-------------------------------------------------------------------------
 *
 * protocol.h
 *	  The stream protocol's message shapes (docs/protocol.md): parsing,
 *	  validation and sanitization of client messages, and the text of
 *	  server messages.
 *
 * This is the only module that knows message shapes.  It is pure: it takes
 * bytes and returns a parsed message or a stable error code, never raises a
 * PostgreSQL error, and so can be fuzzed standalone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_PROTOCOL_H
#define CODESIGHT_PROTOCOL_H

#include "json.h"

#define PROTO_VERSION 2
#define PROTO_MAX_DEPTH 32
#define PROTO_MAX_BATCH_EVENTS 1000
#define PROTO_SESSION_ID_MAX 64
#define PROTO_MAX_SEQ ((int64_t) 9007199254740991)	/* 2^53 - 1 */
/* JavaScript's Date range (ECMA-262 TimeClip): any time a browser can write. */
#define PROTO_MAX_ABS_TIMESTAMP_MS 8.64e15
#define PROTO_MAX_NUMBER_LEN 100	/* characters of a number as sent */
#define PROTO_MAX_NUMBER_PLAIN 40	/* ... and as jsonb prints it (per event) */

/* Event type flags (proto_event_type_flags). */
#define PROTO_EVT_ACTION 0x01	/* the exports' actions are made of it */

typedef enum ProtoMsgType
{
	MSG_HELLO,
	MSG_SESSION_START,
	MSG_INTERACTION_EVENT,
	MSG_EVENTS,
	MSG_SESSION_STOP,
	MSG_SESSION_COMPLETE,
	MSG_PONG,
	MSG_PING
} ProtoMsgType;

/* Stable error codes sent in `error` messages; see docs/protocol.md. */
typedef enum ProtoError
{
	PERR_OK = 0,
	PERR_INVALID_JSON,
	PERR_INVALID_MESSAGE,
	PERR_UNKNOWN_MESSAGE_TYPE,
	PERR_INVALID_SESSION_ID,
	PERR_UNKNOWN_SESSION,
	PERR_SESSION_NOT_ACTIVE,
	PERR_INVALID_EVENT,
	PERR_UNKNOWN_EVENT_TYPE,
	PERR_INVALID_SEQ,
	PERR_INVALID_TIMESTAMP,
	PERR_TOO_DEEP,
	PERR_TOO_MANY_EVENTS,
	PERR_UNAUTHORIZED,
	PERR_FORBIDDEN,
	PERR_STORE_FAILED,
	PERR_SERVER_BUSY,
	PERR_OUT_OF_MEMORY,
	PERR_INVALID_NUMBER,
	PERR__COUNT
} ProtoError;

typedef struct ProtoEvent
{
	int64_t		seq;			/* 0 when the client sent none (v1) */
	const char *type;			/* from the allow-list */
	bool		has_ts;
	double		ts_ms;			/* client time, ms since the Unix epoch */
	JsonValue  *data;			/* an object, sanitized in place */
	const char *url;			/* data.url, or NULL */
	const char *selector;		/* data.selector, or NULL */
	ProtoError	error;			/* PERR_OK, or why this event is rejected */
} ProtoEvent;

typedef struct ProtoMessage
{
	ProtoMsgType type;
	const char *session_id;		/* validated; NULL for hello/ping/pong */
	bool		has_ts;
	double		ts_ms;
	const char *token;			/* hello */
	const char *user_agent;		/* session_start, masked */
	JsonValue  *extension;		/* session_start: {name, version}, masked */
	JsonValue  *summary;		/* session_complete, masked */
	size_t		complete_event_count;	/* session_complete: events[] length */
	ProtoEvent *events;			/* interaction_event (1) or events (n) */
	size_t		nevents;
} ProtoMessage;

/* What proto_peek finds at a message's top level (see protocol.c). */
typedef struct ProtoPeek
{
	char		type[24];		/* "" when absent, escaped or too long */
	char		session_id[PROTO_SESSION_ID_MAX + 1];	/* "" when none */
	char		event_session_id[PROTO_SESSION_ID_MAX + 1];
	bool		ambiguous;		/* two different sessionIds */
} ProtoPeek;

extern void proto_peek(const char *buf, size_t len, ProtoPeek *out);
extern ProtoError proto_parse_message(const char *buf, size_t len, JsonArena *arena,
									  ProtoMessage *msg, const char **detail);
extern ProtoError proto_sanitize_event(JsonArena *arena, ProtoEvent *ev);
extern bool proto_valid_session_id(const char *s, size_t len);
extern bool proto_event_type_allowed(const char *type);
extern int	proto_event_type_flags(const char *type);
extern bool proto_is_url_key(const char *key, size_t len);
extern const char *proto_error_code(ProtoError err);
extern const char *proto_message_type_name(ProtoMsgType t);
extern bool proto_parse_iso8601(const char *s, double *ms);

/* Server-to-client messages, appended to a StrBuf as JSON text. */
extern void proto_write_connected(StrBuf *sb, size_t max_message_bytes, bool auth_required);
extern void proto_write_error(StrBuf *sb, ProtoError err, const char *message,
							  const char *session_id, int64_t seq, bool dropped);
extern void proto_write_store_failed(StrBuf *sb, const char *reason, int retry_after_ms);
extern void proto_write_ack(StrBuf *sb, const char *session_id, int64_t seq);
extern void proto_write_session_started(StrBuf *sb, const char *session_id, int64_t last_seq,
										const char *status);
extern void proto_write_session_stopped(StrBuf *sb, const char *session_id, int64_t last_seq);
extern void proto_write_session_complete_ack(StrBuf *sb, const char *session_id, int64_t event_count);
extern void proto_write_event_received(StrBuf *sb, int64_t event_count);
extern void proto_write_ping(StrBuf *sb, double now_ms, bool pong);
extern void proto_write_hello_ok(StrBuf *sb, int64_t worker_id);
extern void proto_write_hello(StrBuf *sb, const char *token);

#endif							/* CODESIGHT_PROTOCOL_H */
