/*-------------------------------------------------------------------------
 *
 * jsonb_build.c
 *	  Builds jsonb directly from the parsed tree, so an event's JSON is
 *	  parsed once (by json.c) and never re-parsed as text.
 *
 * Runs in the worker's batch transaction or in SQL functions, never inside
 * libwebsockets callbacks: it allocates with palloc and may raise errors.
 * json.c has already refused numbers that numeric could not hold.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "jsonb_build.h"

/* Converts a number lexeme to numeric, taking the fast path for integers. */
static Numeric
number_to_numeric(const JsonValue *v)
{
	int64_t		i;

	if (json_number_to_int64(v, &i))
		return int64_to_numeric(i);
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(v->u.str.ptr),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* Fills a scalar JsonbValue from a scalar tree node. */
static void
scalar_value(const JsonValue *v, JsonbValue *jb)
{
	switch (v->type)
	{
		case JV_NULL:
			jb->type = jbvNull;
			break;
		case JV_BOOL:
			jb->type = jbvBool;
			jb->val.boolean = v->u.boolean;
			break;
		case JV_NUMBER:
			jb->type = jbvNumeric;
			jb->val.numeric = number_to_numeric(v);
			break;
		case JV_STRING:
			jb->type = jbvString;
			jb->val.string.val = (char *) v->u.str.ptr;
			jb->val.string.len = (int) v->u.str.len;
			break;
		default:
			elog(ERROR, "not a scalar JSON value");
	}
}

/*
 * Pushes v into a jsonb under construction; tok is WJB_VALUE or WJB_ELEM
 * for a value inside a container, WJB_BEGIN_* is chosen for containers.
 */
JsonbValue *
jsonb_push_tree(JsonbParseState **state, JsonbIteratorToken tok, const JsonValue *v)
{
	JsonbValue	jb;
	JsonbValue *res;

	check_stack_depth();
	switch (v->type)
	{
		case JV_OBJECT:
			pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
			for (size_t i = 0; i < v->u.object.count; i++)
			{
				const JsonMember *m = &v->u.object.members[i];

				jb.type = jbvString;
				jb.val.string.val = (char *) m->key;
				jb.val.string.len = (int) m->keylen;
				pushJsonbValue(state, WJB_KEY, &jb);
				jsonb_push_tree(state, WJB_VALUE, m->value);
			}
			return pushJsonbValue(state, WJB_END_OBJECT, NULL);
		case JV_ARRAY:
			pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
			for (size_t i = 0; i < v->u.array.count; i++)
				jsonb_push_tree(state, WJB_ELEM, v->u.array.items[i]);
			return pushJsonbValue(state, WJB_END_ARRAY, NULL);
		default:
			scalar_value(v, &jb);
			if (*state == NULL)
			{
				/* A top-level scalar is stored as a one-element raw array. */
				pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
				(*state)->contVal.val.array.rawScalar = true;
				pushJsonbValue(state, WJB_ELEM, &jb);
				return pushJsonbValue(state, WJB_END_ARRAY, NULL);
			}
			res = pushJsonbValue(state, tok, &jb);
			return res;
	}
}

/* Pushes a key. */
void
jsonb_push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	jb;

	jb.type = jbvString;
	jb.val.string.val = (char *) key;
	jb.val.string.len = (int) strlen(key);
	pushJsonbValue(state, WJB_KEY, &jb);
}

/* Pushes "key": "val" (val NULL pushes null). */
void
jsonb_push_string_pair(JsonbParseState **state, const char *key, const char *val)
{
	JsonbValue	jb;

	jsonb_push_key(state, key);
	if (val == NULL)
		jb.type = jbvNull;
	else
	{
		jb.type = jbvString;
		jb.val.string.val = (char *) val;
		jb.val.string.len = (int) strlen(val);
	}
	pushJsonbValue(state, WJB_VALUE, &jb);
}

/* Builds a standalone jsonb from a tree. */
Jsonb *
jsonb_from_tree(const JsonValue *v)
{
	JsonbParseState *state = NULL;

	return JsonbValueToJsonb(jsonb_push_tree(&state, WJB_VALUE, v));
}

/* Pushes "key": v as a number. */
void
jsonb_push_int_pair(JsonbParseState **state, const char *key, int64 v)
{
	JsonbValue	jb;

	jsonb_push_key(state, key);
	jb.type = jbvNumeric;
	jb.val.numeric = int64_to_numeric(v);
	pushJsonbValue(state, WJB_VALUE, &jb);
}

/* Pushes "key": v as a boolean. */
void
jsonb_push_bool_pair(JsonbParseState **state, const char *key, bool v)
{
	JsonbValue	jb;

	jsonb_push_key(state, key);
	jb.type = jbvBool;
	jb.val.boolean = v;
	pushJsonbValue(state, WJB_VALUE, &jb);
}

/* jsonb's order of object keys: shorter first, then bytewise. */
static int
member_cmp(const void *a, const void *b)
{
	const JsonbBuildMember *x = a;
	const JsonbBuildMember *y = b;

	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return memcmp(x->key, y->key, x->keylen);
}

/* The length of a text member's value (0 for null). */
static uint32
member_len(const JsonbBuildMember *m)
{
	return m->value != NULL ? strlen(m->value) : 0;
}

/* The bytes of the text values whose keys sort after the array's. */
static Size
tail_bytes(const JsonbArrayBuild *ab)
{
	Size		len = 0;

	for (int i = ab->array_index + 1; i < ab->nmembers; i++)
		len += member_len(&ab->members[i]);
	return len;
}

/*
 * The bytes before the elements of an array of count elements: the varlena
 * header, the object's header, JEntries, keys and the text values whose
 * keys sort before the array's, then the array's header and JEntries, as
 * convertToJsonb lays them out (utils/jsonb.h).  Returns their size; writes
 * them to out unless it is NULL, count being then the array's.  The text
 * values whose keys sort after the array's follow the elements
 * (jsonb_array_build_finish writes them).
 */
static Size
front_bytes(JsonbArrayBuild *ab, int count, char *out)
{
	int			n = ab->nmembers;
	int			ai = ab->array_index;
	Size		off = VARHDRSZ + sizeof(uint32) + 2 * n * sizeof(JEntry);
	Size		array_start;
	uint32		end = 0;
	uint32		header;
	JEntry		keys[JSONB_BUILD_MAX_FIELDS + 1];
	JEntry		vals[JSONB_BUILD_MAX_FIELDS + 1];

	for (int i = 0; i < n; i++)
	{
		end += ab->members[i].keylen;
		keys[i] = JENTRY_ISSTRING |
			(i % JB_OFFSET_STRIDE == 0 ? JENTRY_HAS_OFF | end : ab->members[i].keylen);
	}
	off += end;
	for (int i = 0; i < n; i++)
	{
		uint32		len;

		if (i == ai)
		{
			/* the array, aligned: its padding counts in its length */
			len = (INTALIGN(off) - off) + sizeof(uint32) + count * sizeof(JEntry) + ab->len;
			if ((Size) end + len + tail_bytes(ab) > JENTRY_OFFLENMASK)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("total size of jsonb object elements exceeds the maximum of %u bytes",
								JENTRY_OFFLENMASK),
						 errhint("Export the session's actions as the dataset, which is streamed.")));
			end += len;
			vals[i] = JENTRY_ISCONTAINER |
				((i + n) % JB_OFFSET_STRIDE == 0 ? JENTRY_HAS_OFF | end : len);
			continue;
		}
		len = member_len(&ab->members[i]);
		end += len;
		if (i < ai)
			off += len;
		vals[i] = (ab->members[i].value != NULL ? JENTRY_ISSTRING : JENTRY_ISNULL) |
			((i + n) % JB_OFFSET_STRIDE == 0 ? JENTRY_HAS_OFF | end : len);
	}
	array_start = INTALIGN(off);
	if (out == NULL)
		return array_start + sizeof(uint32) + count * sizeof(JEntry);

	SET_VARSIZE(out, array_start + sizeof(uint32) + count * sizeof(JEntry) + ab->len + tail_bytes(ab));
	off = VARHDRSZ;
	header = n | JB_FOBJECT;
	memcpy(out + off, &header, sizeof(uint32));
	off += sizeof(uint32);
	memcpy(out + off, keys, n * sizeof(JEntry));
	off += n * sizeof(JEntry);
	memcpy(out + off, vals, n * sizeof(JEntry));
	off += n * sizeof(JEntry);
	for (int i = 0; i < n; i++)
	{
		memcpy(out + off, ab->members[i].key, ab->members[i].keylen);
		off += ab->members[i].keylen;
	}
	for (int i = 0; i < ai; i++)
	{
		if (ab->members[i].value != NULL)
			memcpy(out + off, ab->members[i].value, member_len(&ab->members[i]));
		off += member_len(&ab->members[i]);
	}
	memset(out + off, 0, array_start - off);
	off = array_start;
	header = count | JB_FARRAY;
	memcpy(out + off, &header, sizeof(uint32));
	off += sizeof(uint32);
	memcpy(out + off, ab->entries, count * sizeof(JEntry));
	return off + count * sizeof(JEntry);
}

/*
 * Starts the document {keys[i]: values[i], ..., array_key: [...]} whose
 * array takes already-encoded elements, the form of a document with tens of
 * thousands of elements: as one JsonbValue tree it costs pushJsonbValue's
 * doubling arrays, a second pass to encode it and several times its size in
 * memory, which for a 100,000-event session's training data was most of the
 * export's time.  values[i] NULL is null; the strings must outlive the build.
 *
 * The elements' bytes are written once, into the document's own buffer,
 * after room for the JEntries of expect_count elements; expect_bytes sizes
 * the buffer.  Both are estimates: finishing moves the elements when the
 * room was wrong, and the buffer grows as needed.
 */
void
jsonb_array_build_init(JsonbArrayBuild *ab, const char *array_key,
					   int nfields, const char *const *keys, const char *const *values,
					   int expect_count, Size expect_bytes)
{
	if (nfields > JSONB_BUILD_MAX_FIELDS)
		elog(ERROR, "jsonb_array_build_init takes at most %d fields", JSONB_BUILD_MAX_FIELDS);
	ab->nmembers = nfields + 1;
	for (int i = 0; i < ab->nmembers; i++)
	{
		ab->members[i].key = i < nfields ? keys[i] : array_key;
		ab->members[i].keylen = strlen(ab->members[i].key);
		ab->members[i].value = i < nfields ? values[i] : NULL;
	}
	qsort(ab->members, ab->nmembers, sizeof(JsonbBuildMember), member_cmp);
	for (int i = 1; i < ab->nmembers; i++)
		if (member_cmp(&ab->members[i - 1], &ab->members[i]) == 0)
			elog(ERROR, "duplicate jsonb key \"%s\"", ab->members[i].key);
	for (int i = 0; i < ab->nmembers; i++)
		if (ab->members[i].key == array_key)
			ab->array_index = i;

	ab->count = 0;
	ab->len = 0;
	ab->size = Max(expect_count, 64);
	ab->entries = palloc(ab->size * sizeof(JEntry));
	ab->data_off = front_bytes(ab, ab->size, NULL);
	ab->cap = ab->data_off + Max(expect_bytes, 1024);
	ab->buf = palloc(ab->cap);
}

/*
 * Appends a copy of elem, an encoded object or array, as the next element.
 * The bytes and the JEntry are those convertToJsonb would write for it: the
 * element is padded to a 4-byte boundary, which counts in its length, and
 * every JB_OFFSET_STRIDE'th JEntry holds the end offset instead of the
 * length.  elem may be freed afterwards.
 */
void
jsonb_array_build_add(JsonbArrayBuild *ab, const Jsonb *elem)
{
	Size		clen = VARSIZE(elem) - VARHDRSZ;
	Size		start = ab->len;
	Size		pad = INTALIGN(start) - start;

	if (JB_ROOT_IS_SCALAR(elem))
		elog(ERROR, "jsonb_array_build_add takes an object or an array");
	if (ab->count >= (int) JB_CMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("number of jsonb array elements exceeds the maximum allowed (%zu)",
						(size_t) JB_CMASK)));
	if (start + pad + clen > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("total size of jsonb array elements exceeds the maximum of %u bytes",
						JENTRY_OFFLENMASK),
				 errhint("Export the session's actions as the dataset, which is streamed.")));
	if (ab->count == ab->size)
	{
		ab->size *= 2;
		ab->entries = repalloc(ab->entries, ab->size * sizeof(JEntry));
	}
	if (ab->data_off + start + pad + clen > ab->cap)
	{
		ab->cap = Max(ab->cap * 2, ab->data_off + start + pad + clen);
		ab->buf = repalloc(ab->buf, ab->cap);
	}
	memset(ab->buf + ab->data_off + start, 0, pad);
	memcpy(ab->buf + ab->data_off + start + pad, &elem->root, clen);
	ab->len = start + pad + clen;

	if (ab->count % JB_OFFSET_STRIDE == 0)
		ab->entries[ab->count] = JENTRY_ISCONTAINER | JENTRY_HAS_OFF | ab->len;
	else
		ab->entries[ab->count] = JENTRY_ISCONTAINER | (ab->len - start);
	ab->count++;
}

/*
 * Finishes the document: writes the bytes before the elements, moving the
 * elements first when the room left for the JEntries was not the room
 * needed, and the text values that follow the array.  The document is the
 * build's buffer; the JEntries are freed.
 */
Jsonb *
jsonb_array_build_finish(JsonbArrayBuild *ab)
{
	Size		front = front_bytes(ab, ab->count, NULL);
	Size		tail = tail_bytes(ab);
	char	   *p;

	if (front + ab->len + tail > ab->cap)
	{
		ab->cap = front + ab->len + tail;
		ab->buf = repalloc(ab->buf, ab->cap);
	}
	if (front != ab->data_off)
	{
		memmove(ab->buf + front, ab->buf + ab->data_off, ab->len);
		ab->data_off = front;
	}
	p = ab->buf + front + ab->len;
	for (int i = ab->array_index + 1; i < ab->nmembers; i++)
	{
		if (ab->members[i].value != NULL)
			memcpy(p, ab->members[i].value, member_len(&ab->members[i]));
		p += member_len(&ab->members[i]);
	}
	front_bytes(ab, ab->count, ab->buf);
	pfree(ab->entries);
	return (Jsonb *) ab->buf;
}
