/*-------------------------------------------------------------------------
 *
 * json.c
 *	  A small, strict JSON parser into an arena-allocated tree.
 *
 * Pure C with no PostgreSQL dependency: see json.h for why.  The parser is
 * a recursive descent with an explicit depth limit, validates UTF-8 in
 * strings, and rejects numbers that jsonb could not store, so that turning
 * the tree into jsonb later can not fail on the input's account.
 *
 *-------------------------------------------------------------------------
 */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE 8192

struct JsonArenaBlock
{
	JsonArenaBlock *next;
	size_t		size;
	size_t		used;
	/* data follows, max-aligned */
	long double data[];
};

/* Prepares an empty arena. */
void
json_arena_init(JsonArena *arena)
{
	arena->head = NULL;
	arena->used_bytes = 0;
}

/* Hands out size bytes, 16-byte aligned, or NULL when malloc fails. */
void *
json_arena_alloc(JsonArena *arena, size_t size)
{
	JsonArenaBlock *b = arena->head;
	void	   *p;

	size = (size + 15) & ~(size_t) 15;
	if (b == NULL || b->size - b->used < size)
	{
		size_t		bsize = size > ARENA_BLOCK_SIZE / 2 ? size : ARENA_BLOCK_SIZE;

		b = malloc(sizeof(JsonArenaBlock) + bsize);
		if (b == NULL)
			return NULL;
		b->size = bsize;
		b->used = 0;
		/* Oversized blocks go second so the current block keeps its room. */
		if (bsize > ARENA_BLOCK_SIZE && arena->head != NULL)
		{
			b->next = arena->head->next;
			arena->head->next = b;
		}
		else
		{
			b->next = arena->head;
			arena->head = b;
		}
	}
	p = (char *) b->data + b->used;
	b->used += size;
	arena->used_bytes += size;
	return p;
}

/* Releases every block of the arena. */
void
json_arena_free(JsonArena *arena)
{
	JsonArenaBlock *b = arena->head;

	while (b)
	{
		JsonArenaBlock *next = b->next;

		free(b);
		b = next;
	}
	arena->head = NULL;
	arena->used_bytes = 0;
}

typedef struct Parser
{
	const char *p;
	const char *start;
	const char *end;
	const JsonLimits *limits;
	JsonArena  *arena;
	size_t		nvalues;
	JsonError	err;
} Parser;

static JsonValue *parse_value(Parser *ps, int depth);

/* Skips JSON whitespace. */
static void
skip_ws(Parser *ps)
{
	while (ps->p < ps->end &&
		   (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* Records the first error; later ones would only hide the cause. */
static void *
fail(Parser *ps, JsonError err)
{
	if (ps->err == JSON_OK)
		ps->err = err;
	return NULL;
}

/* Allocates a value node and counts it against the value limit. */
static JsonValue *
new_value(Parser *ps, JsonType type)
{
	JsonValue  *v;

	if (++ps->nvalues > ps->limits->max_values)
		return fail(ps, JSON_ERR_TOO_LARGE);
	v = json_arena_alloc(ps->arena, sizeof(JsonValue));
	if (v == NULL)
		return fail(ps, JSON_ERR_NOMEM);
	v->type = type;
	return v;
}

/* Appends the UTF-8 encoding of code point cp to out; returns bytes written. */
static int
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Returns the length of the valid UTF-8 sequence at p (at most end), or 0.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid, as
 * PostgreSQL's own verifier says.
 */
static int
utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	int			n;
	uint32_t	cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (end - p < n)
		return 0;
	for (int i = 1; i < n; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		(cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* Reads 4 hex digits at p; returns -1 if they are not. */
static int32_t
read_hex4(const char *p)
{
	int32_t		v = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Parses a string starting at the opening quote into a NUL-terminated UTF-8
 * copy.  \u0000 and lone surrogates become U+FFFD: PostgreSQL text can hold
 * neither, and rejecting a whole event for one such character would lose
 * the rest of it.
 */
static bool
parse_string_raw(Parser *ps, const char **out, size_t *outlen)
{
	const char *s = ++ps->p;
	const char *q = s;
	char	   *buf;
	char	   *w;
	bool		has_escape = false;

	/* First pass: find the end and validate, so the copy is sized exactly. */
	while (q < ps->end && *q != '"')
	{
		unsigned char c = (unsigned char) *q;

		if (c < 0x20)
			return fail(ps, JSON_ERR_SYNTAX), false;
		if (c == '\\')
		{
			has_escape = true;
			q++;
			if (q >= ps->end)
				return fail(ps, JSON_ERR_SYNTAX), false;
			if (*q == 'u')
			{
				if (ps->end - q < 5 || read_hex4(q + 1) < 0)
					return fail(ps, JSON_ERR_SYNTAX), false;
				q += 5;
				continue;
			}
			if (strchr("\"\\/bfnrt", *q) == NULL || *q == '\0')
				return fail(ps, JSON_ERR_SYNTAX), false;
			q++;
			continue;
		}
		if (c >= 0x80)
		{
			int			n = utf8_seq_len((const unsigned char *) q, (const unsigned char *) ps->end);

			if (n == 0)
				return fail(ps, JSON_ERR_UTF8), false;
			q += n;
			continue;
		}
		q++;
	}
	if (q >= ps->end)
		return fail(ps, JSON_ERR_SYNTAX), false;

	/* An escape never grows: \uXXXX (6 bytes) is at most 3 bytes of UTF-8,
	 * a surrogate pair (12 bytes) 4 bytes, U+FFFD for \u0000 is 3 bytes. */
	buf = json_arena_alloc(ps->arena, (size_t) (q - s) + 1);
	if (buf == NULL)
		return fail(ps, JSON_ERR_NOMEM), false;
	if (!has_escape)
	{
		memcpy(buf, s, q - s);
		buf[q - s] = '\0';
		*out = buf;
		*outlen = q - s;
		ps->p = q + 1;
		return true;
	}
	w = buf;
	for (const char *r = s; r < q;)
	{
		if (*r != '\\')
		{
			*w++ = *r++;
			continue;
		}
		r++;
		switch (*r)
		{
			case '"':
				*w++ = '"';
				break;
			case '\\':
				*w++ = '\\';
				break;
			case '/':
				*w++ = '/';
				break;
			case 'b':
				*w++ = '\b';
				break;
			case 'f':
				*w++ = '\f';
				break;
			case 'n':
				*w++ = '\n';
				break;
			case 'r':
				*w++ = '\r';
				break;
			case 't':
				*w++ = '\t';
				break;
			case 'u':
				{
					uint32_t	cp = (uint32_t) read_hex4(r + 1);

					r += 4;
					if (cp >= 0xD800 && cp <= 0xDBFF && q - r >= 7 && r[1] == '\\' && r[2] == 'u')
					{
						int32_t		lo = read_hex4(r + 3);

						if (lo >= 0xDC00 && lo <= 0xDFFF)
						{
							cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t) lo - 0xDC00);
							r += 6;
						}
					}
					if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
						cp = 0xFFFD;
					w += put_utf8(w, cp);
					break;
				}
		}
		r++;
	}
	*w = '\0';
	*out = buf;
	*outlen = w - buf;
	ps->p = q + 1;
	return true;
}

/*
 * The length of a valid JSON number's plain decimal form, as PostgreSQL's
 * numeric prints it (numeric_out never uses an exponent): the sign of a
 * value that is not zero, the integer digits without leading zeros (at
 * least one), and a point and dscale fraction digits, where dscale is the
 * number of fraction digits written minus the exponent, at least 0.  So
 * "1e30" prints 31 characters and "1e-30" 32 ("0.000...1"), while "1.50"
 * prints 4.  Exponents are taken up to 100000, which is enough to exceed
 * every limit.
 */
size_t
json_number_plain_len(const char *lexeme, size_t len)
{
	const char *p = lexeme,
			   *end = lexeme + len;
	bool		neg = false,
				nonzero = false,
				leading = true;
	long		intdigits = 0,
				fracdigits = 0,
				zeros = 0,		/* leading zeros of all the digits */
				exp = 0,
				intlen,
				dscale;

	if (p < end && *p == '-')
		neg = true, p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++, intdigits++)
	{
		if (*p != '0')
			nonzero = true, leading = false;
		else if (leading)
			zeros++;
	}
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, fracdigits++)
		{
			if (*p != '0')
				nonzero = true, leading = false;
			else if (leading)
				zeros++;
		}
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		bool		eneg = false;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = (*p++ == '-');
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (exp < 100000)
				exp = exp * 10 + (*p - '0');
		if (eneg)
			exp = -exp;
	}
	dscale = fracdigits - exp > 0 ? fracdigits - exp : 0;
	intlen = nonzero ? intdigits + exp - zeros : 1;
	if (intlen < 1)
		intlen = 1;
	return (size_t) ((neg && nonzero ? 1 : 0) + intlen + (dscale > 0 ? dscale + 1 : 0));
}

/*
 * Parses a number.  The lexeme is kept; numbers longer than the limit or
 * with an exponent past +-1000 (numeric_in's limit) are refused because
 * jsonb's numeric could not hold them and would raise an error at insert
 * time.  What a number may expand to when printed is the caller's to bound
 * (json_number_plain_len).
 */
static JsonValue *
parse_number(Parser *ps)
{
	const char *s = ps->p;
	const char *q = s;
	long		exp = 0;
	JsonValue  *v;
	char	   *copy;

	if (q < ps->end && *q == '-')
		q++;
	if (q >= ps->end)
		return fail(ps, JSON_ERR_SYNTAX);
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	else
		return fail(ps, JSON_ERR_SYNTAX);
	if (q < ps->end && *q == '.')
	{
		q++;
		if (q >= ps->end || !(*q >= '0' && *q <= '9'))
			return fail(ps, JSON_ERR_SYNTAX);
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E'))
	{
		bool		neg = false;

		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			neg = (*q++ == '-');
		if (q >= ps->end || !(*q >= '0' && *q <= '9'))
			return fail(ps, JSON_ERR_SYNTAX);
		while (q < ps->end && *q >= '0' && *q <= '9')
		{
			if (exp < 100000)
				exp = exp * 10 + (*q - '0');
			q++;
		}
		if (neg)
			exp = -exp;
	}
	if ((size_t) (q - s) > ps->limits->max_number_len || exp > 1000 || exp < -1000)
		return fail(ps, JSON_ERR_NUMBER);
	v = new_value(ps, JV_NUMBER);
	if (v == NULL)
		return NULL;
	copy = json_arena_alloc(ps->arena, (size_t) (q - s) + 1);
	if (copy == NULL)
		return fail(ps, JSON_ERR_NOMEM);
	memcpy(copy, s, q - s);
	copy[q - s] = '\0';
	v->u.str.ptr = copy;
	v->u.str.len = q - s;
	ps->p = q;
	return v;
}

/* Matches a literal such as "true" at the current position. */
static bool
match_literal(Parser *ps, const char *lit, size_t n)
{
	if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0)
		return false;
	ps->p += n;
	return true;
}

/* A temporary growable array of elements (pointers or members). */
typedef struct PtrVec
{
	void	  **items;
	size_t		count;
	size_t		cap;
	size_t		elem;
} PtrVec;

static bool
vec_push(PtrVec *v, const void *elem)
{
	if (v->count == v->cap)
	{
		size_t		ncap = v->cap ? v->cap * 2 : 8;
		void	   *n = realloc(v->items, ncap * v->elem);

		if (n == NULL)
			return false;
		v->items = n;
		v->cap = ncap;
	}
	memcpy((char *) v->items + v->count * v->elem, elem, v->elem);
	v->count++;
	return true;
}

typedef bool (*ElemParser) (Parser *ps, int depth, void *out);

/*
 * Parses the elements of an array or object up to its closing character:
 * parse_elem reads one element into a temporary growable array, which is
 * copied into the arena once the count is known.
 */
static bool
parse_container(Parser *ps, int depth, char close, size_t elem_size,
				ElemParser parse_elem, void **items, size_t *count)
{
	PtrVec		vec = {NULL, 0, 0, elem_size};
	char		elem[sizeof(JsonMember)];

	*items = NULL;
	*count = 0;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close)
	{
		ps->p++;
		return true;
	}
	for (;;)
	{
		if (!parse_elem(ps, depth, elem))
			goto error;
		if (!vec_push(&vec, elem))
		{
			fail(ps, JSON_ERR_NOMEM);
			goto error;
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close)
		{
			ps->p++;
			break;
		}
		fail(ps, JSON_ERR_SYNTAX);
		goto error;
	}
	*items = json_arena_alloc(ps->arena, vec.count * elem_size);
	if (*items == NULL)
	{
		fail(ps, JSON_ERR_NOMEM);
		goto error;
	}
	memcpy(*items, vec.items, vec.count * elem_size);
	*count = vec.count;
	free(vec.items);
	return true;

error:
	free(vec.items);
	return false;
}

/* Reads one array element. */
static bool
parse_item(Parser *ps, int depth, void *out)
{
	JsonValue  *item = parse_value(ps, depth + 1);

	memcpy(out, &item, sizeof(item));
	return item != NULL;
}

/* Reads one "key": value member. */
static bool
parse_member(Parser *ps, int depth, void *out)
{
	JsonMember	m;

	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '"')
		return fail(ps, JSON_ERR_SYNTAX), false;
	if (!parse_string_raw(ps, &m.key, &m.keylen))
		return false;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != ':')
		return fail(ps, JSON_ERR_SYNTAX), false;
	ps->p++;
	m.value = parse_value(ps, depth + 1);
	memcpy(out, &m, sizeof(m));
	return m.value != NULL;
}

/* Parses an array starting at '['. */
static JsonValue *
parse_array(Parser *ps, int depth)
{
	JsonValue  *v = new_value(ps, JV_ARRAY);
	void	   *items;

	if (v == NULL ||
		!parse_container(ps, depth, ']', sizeof(JsonValue *), parse_item,
						 &items, &v->u.array.count))
		return NULL;
	v->u.array.items = items;
	return v;
}

/* Parses an object starting at '{'. */
static JsonValue *
parse_object(Parser *ps, int depth)
{
	JsonValue  *v = new_value(ps, JV_OBJECT);
	void	   *members;

	if (v == NULL ||
		!parse_container(ps, depth, '}', sizeof(JsonMember), parse_member,
						 &members, &v->u.object.count))
		return NULL;
	v->u.object.members = members;
	return v;
}

/* Parses any value, enforcing the depth limit before descending. */
static JsonValue *
parse_value(Parser *ps, int depth)
{
	JsonValue  *v;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, JSON_ERR_SYNTAX);
	switch (*ps->p)
	{
		case '{':
			if (depth >= ps->limits->max_depth)
				return fail(ps, JSON_ERR_DEPTH);
			return parse_object(ps, depth);
		case '[':
			if (depth >= ps->limits->max_depth)
				return fail(ps, JSON_ERR_DEPTH);
			return parse_array(ps, depth);
		case '"':
			v = new_value(ps, JV_STRING);
			if (v == NULL)
				return NULL;
			if (!parse_string_raw(ps, &v->u.str.ptr, &v->u.str.len))
				return NULL;
			return v;
		case 't':
			if (!match_literal(ps, "true", 4))
				return fail(ps, JSON_ERR_SYNTAX);
			v = new_value(ps, JV_BOOL);
			if (v)
				v->u.boolean = true;
			return v;
		case 'f':
			if (!match_literal(ps, "false", 5))
				return fail(ps, JSON_ERR_SYNTAX);
			v = new_value(ps, JV_BOOL);
			if (v)
				v->u.boolean = false;
			return v;
		case 'n':
			if (!match_literal(ps, "null", 4))
				return fail(ps, JSON_ERR_SYNTAX);
			return new_value(ps, JV_NULL);
		default:
			return parse_number(ps);
	}
}

/*
 * Parses buf[0..len) as one JSON document.  On failure returns the error
 * and, if error_offset is given, the byte offset where it was found.
 */
JsonError
json_parse(const char *buf, size_t len, const JsonLimits *limits,
		   JsonArena *arena, JsonValue **result, size_t *error_offset)
{
	Parser		ps;
	JsonValue  *v;

	ps.p = ps.start = buf;
	ps.end = buf + len;
	ps.limits = limits;
	ps.arena = arena;
	ps.nvalues = 0;
	ps.err = JSON_OK;
	*result = NULL;

	v = parse_value(&ps, 0);
	if (v != NULL)
	{
		skip_ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, JSON_ERR_SYNTAX);
	}
	if (ps.err != JSON_OK)
	{
		if (error_offset)
			*error_offset = ps.p - ps.start;
		return ps.err;
	}
	*result = v;
	return JSON_OK;
}

/* A short English description of a parse error, for error messages. */
const char *
json_error_text(JsonError err)
{
	switch (err)
	{
		case JSON_OK:
			return "no error";
		case JSON_ERR_SYNTAX:
			return "invalid JSON syntax";
		case JSON_ERR_DEPTH:
			return "JSON nested too deeply";
		case JSON_ERR_UTF8:
			return "invalid UTF-8 in a JSON string";
		case JSON_ERR_NUMBER:
			return "JSON number too long or out of range";
		case JSON_ERR_TOO_LARGE:
			return "JSON document has too many values";
		case JSON_ERR_NOMEM:
			return "out of memory while parsing JSON";
	}
	return "unknown JSON error";
}

/* Returns the value of the last member named key, or NULL. */
JsonValue *
json_get(const JsonValue *object, const char *key)
{
	size_t		klen;

	if (object == NULL || object->type != JV_OBJECT)
		return NULL;
	klen = strlen(key);
	for (size_t i = object->u.object.count; i > 0; i--)
	{
		const JsonMember *m = &object->u.object.members[i - 1];

		if (m->keylen == klen && memcmp(m->key, key, klen) == 0)
			return m->value;
	}
	return NULL;
}

/* Returns the string member named key, or NULL if absent or not a string. */
const char *
json_get_string(const JsonValue *object, const char *key)
{
	JsonValue  *v = json_get(object, key);

	return (v && v->type == JV_STRING) ? v->u.str.ptr : NULL;
}

/* Converts an integral number that fits in int64; false otherwise. */
bool
json_number_to_int64(const JsonValue *v, int64_t *out)
{
	const char *p;
	bool		neg = false;
	uint64_t	acc = 0;

	if (v == NULL || v->type != JV_NUMBER)
		return false;
	p = v->u.str.ptr;
	if (*p == '-')
		neg = true, p++;
	if (*p == '\0')
		return false;
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return false;		/* fraction or exponent */
		if (acc > (UINT64_MAX - 9) / 10)
			return false;
		acc = acc * 10 + (uint64_t) (*p - '0');
	}
	if (neg)
	{
		if (acc > (uint64_t) INT64_MAX + 1)
			return false;
		*out = acc == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) acc;
	}
	else
	{
		if (acc > (uint64_t) INT64_MAX)
			return false;
		*out = (int64_t) acc;
	}
	return true;
}

/* Converts any number to double (may round). */
bool
json_number_to_double(const JsonValue *v, double *out)
{
	if (v == NULL || v->type != JV_NUMBER)
		return false;
	*out = strtod(v->u.str.ptr, NULL);
	return true;
}

/* Makes a string node holding a copy of s. */
JsonValue *
json_make_string(JsonArena *arena, const char *s, size_t len)
{
	JsonValue  *v = json_arena_alloc(arena, sizeof(JsonValue));
	char	   *copy = json_arena_alloc(arena, len + 1);

	if (v == NULL || copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	v->type = JV_STRING;
	v->u.str.ptr = copy;
	v->u.str.len = len;
	return v;
}

/* Prepares an empty buffer. */
void
strbuf_init(StrBuf *sb)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->failed = false;
}

/* Releases the buffer. */
void
strbuf_free(StrBuf *sb)
{
	free(sb->data);
	strbuf_init(sb);
}

/* Makes room for n more bytes plus a NUL; marks the buffer failed on OOM. */
static bool
strbuf_grow(StrBuf *sb, size_t n)
{
	size_t		need;

	if (sb->failed)
		return false;
	need = sb->len + n + 1;
	if (need > sb->cap)
	{
		size_t		ncap = sb->cap ? sb->cap : 256;
		char	   *nd;

		while (ncap < need)
			ncap *= 2;
		nd = realloc(sb->data, ncap);
		if (nd == NULL)
		{
			sb->failed = true;
			return false;
		}
		sb->data = nd;
		sb->cap = ncap;
	}
	return true;
}

/* Appends len bytes. */
void
strbuf_append(StrBuf *sb, const char *s, size_t len)
{
	if (!strbuf_grow(sb, len))
		return;
	memcpy(sb->data + sb->len, s, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

/* Appends a NUL-terminated string. */
void
strbuf_appends(StrBuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

/* Appends printf-formatted text. */
void
strbuf_printf(StrBuf *sb, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_grow(sb, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	sb->len += n;
}

/*
 * Writes s as a quoted, escaped JSON string through append, in runs: the
 * one escaper of every JSON writer, whatever buffer it writes to (StrBuf
 * here, a StringInfo in jsonb_text.c).
 */
void
json_escape_to(JsonAppendFn append, void *dest, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		run = 0;

	append(dest, "\"", 1);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		const char *esc = NULL;
		char		ubuf[7];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		append(dest, s + run, i - run);
		run = i + 1;
		switch (c)
		{
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			default:
				memcpy(ubuf, "\\u00", 4);
				ubuf[4] = hex[c >> 4];
				ubuf[5] = hex[c & 15];
				ubuf[6] = '\0';
				esc = ubuf;
		}
		append(dest, esc, strlen(esc));
	}
	append(dest, s + run, len - run);
	append(dest, "\"", 1);
}

/* json_escape_to's append for a StrBuf. */
static void
strbuf_append_fn(void *dest, const char *s, size_t len)
{
	strbuf_append((StrBuf *) dest, s, len);
}

/* Appends s as a quoted, escaped JSON string. */
void
json_append_string(StrBuf *sb, const char *s, size_t len)
{
	json_escape_to(strbuf_append_fn, sb, s, len);
}

/* Appends the JSON text of a parsed value. */
void
json_append_value(StrBuf *sb, const JsonValue *v)
{
	switch (v->type)
	{
		case JV_NULL:
			strbuf_appends(sb, "null");
			break;
		case JV_BOOL:
			strbuf_appends(sb, v->u.boolean ? "true" : "false");
			break;
		case JV_NUMBER:
			strbuf_append(sb, v->u.str.ptr, v->u.str.len);
			break;
		case JV_STRING:
			json_append_string(sb, v->u.str.ptr, v->u.str.len);
			break;
		case JV_ARRAY:
			strbuf_append(sb, "[", 1);
			for (size_t i = 0; i < v->u.array.count; i++)
			{
				if (i)
					strbuf_append(sb, ",", 1);
				json_append_value(sb, v->u.array.items[i]);
			}
			strbuf_append(sb, "]", 1);
			break;
		case JV_OBJECT:
			strbuf_append(sb, "{", 1);
			for (size_t i = 0; i < v->u.object.count; i++)
			{
				if (i)
					strbuf_append(sb, ",", 1);
				json_append_string(sb, v->u.object.members[i].key, v->u.object.members[i].keylen);
				strbuf_append(sb, ":", 1);
				json_append_value(sb, v->u.object.members[i].value);
			}
			strbuf_append(sb, "}", 1);
			break;
	}
}
