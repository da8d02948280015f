/*-------------------------------------------------------------------------
 *
 * json.h
 *	  A small JSON parser into an arena-allocated tree, and a string buffer.
 *
 * This module is pure: it uses no PostgreSQL facility, never raises an
 * error, and reports failure through return codes.  That lets the worker
 * parse untrusted bytes inside or outside transactions without any risk of a
 * longjmp, and lets the fuzzers and unit tests run it standalone.
 *
 * Numbers keep their source lexeme so that no precision is lost on the way
 * to jsonb; strings are decoded to UTF-8.  Duplicate object keys are kept in
 * order; lookups return the last one, as jsonb does.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_JSON_H
#define CODESIGHT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum JsonType
{
	JV_NULL,
	JV_BOOL,
	JV_NUMBER,
	JV_STRING,
	JV_ARRAY,
	JV_OBJECT
} JsonType;

typedef struct JsonValue JsonValue;

typedef struct JsonMember
{
	const char *key;
	size_t		keylen;
	JsonValue  *value;
} JsonMember;

struct JsonValue
{
	JsonType	type;
	union
	{
		bool		boolean;
		struct
		{
			const char *ptr;	/* NUL-terminated, may contain no NUL */
			size_t		len;
		}			str;		/* JV_STRING text, or JV_NUMBER lexeme */
		struct
		{
			JsonValue **items;
			size_t		count;
		}			array;
		struct
		{
			JsonMember *members;
			size_t		count;
		}			object;
	}			u;
};

/* Parse results. */
typedef enum JsonError
{
	JSON_OK = 0,
	JSON_ERR_SYNTAX,
	JSON_ERR_DEPTH,
	JSON_ERR_UTF8,
	JSON_ERR_NUMBER,			/* a number too long or too large for jsonb */
	JSON_ERR_TOO_LARGE,			/* too many values */
	JSON_ERR_NOMEM
} JsonError;

/* A chain of malloc'd blocks; everything parsed lives until json_arena_reset. */
typedef struct JsonArenaBlock JsonArenaBlock;
typedef struct JsonArena
{
	JsonArenaBlock *head;
	size_t		used_bytes;		/* total handed out, for limits */
} JsonArena;

typedef struct JsonLimits
{
	int			max_depth;		/* nesting depth of arrays and objects */
	size_t		max_values;		/* values in one document */
	size_t		max_number_len; /* characters in one number */
} JsonLimits;

extern void json_arena_init(JsonArena *arena);
extern void *json_arena_alloc(JsonArena *arena, size_t size);
extern void json_arena_free(JsonArena *arena);

extern JsonError json_parse(const char *buf, size_t len, const JsonLimits *limits,
							JsonArena *arena, JsonValue **result, size_t *error_offset);
extern const char *json_error_text(JsonError err);

extern JsonValue *json_get(const JsonValue *object, const char *key);
extern const char *json_get_string(const JsonValue *object, const char *key);
extern bool json_number_to_int64(const JsonValue *v, int64_t *out);
extern bool json_number_to_double(const JsonValue *v, double *out);
extern size_t json_number_plain_len(const char *lexeme, size_t len);
extern JsonValue *json_make_string(JsonArena *arena, const char *s, size_t len);

/* A growable malloc'd buffer for building JSON text. */
typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;			/* an allocation failed; contents are invalid */
} StrBuf;

extern void strbuf_init(StrBuf *sb);
extern void strbuf_free(StrBuf *sb);
extern void strbuf_append(StrBuf *sb, const char *s, size_t len);
extern void strbuf_appends(StrBuf *sb, const char *s);
extern void strbuf_printf(StrBuf *sb, const char *fmt,...) __attribute__((format(printf, 2, 3)));
/* Where json_escape_to writes: appends s[0..len) to dest. */
typedef void (*JsonAppendFn) (void *dest, const char *s, size_t len);

extern void json_escape_to(JsonAppendFn append, void *dest, const char *s, size_t len);
extern void json_append_string(StrBuf *sb, const char *s, size_t len);
extern void json_append_value(StrBuf *sb, const JsonValue *v);

#endif							/* CODESIGHT_JSON_H */
