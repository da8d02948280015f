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
