/*-------------------------------------------------------------------------
 *
 * jsonb_build.h
 *	  Turns a parsed JSON tree (json.h) into a jsonb datum.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_JSONB_BUILD_H
#define CODESIGHT_JSONB_BUILD_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "json.h"

extern JsonbValue *jsonb_push_tree(JsonbParseState **state, JsonbIteratorToken tok,
								   const JsonValue *v);
extern void jsonb_push_string_pair(JsonbParseState **state, const char *key, const char *val);
extern void jsonb_push_key(JsonbParseState **state, const char *key);
extern void jsonb_push_int_pair(JsonbParseState **state, const char *key, int64 v);
extern void jsonb_push_bool_pair(JsonbParseState **state, const char *key, bool v);
extern Jsonb *jsonb_from_tree(const JsonValue *v);

/* The most text fields a JsonbArrayBuild document has beside its array. */
#define JSONB_BUILD_MAX_FIELDS 8

typedef struct JsonbBuildMember
{
	const char *key;
	int			keylen;
	const char *value;			/* a text field's value; NULL is null */
} JsonbBuildMember;

/*
 * An object of text fields and one large array whose elements are added
 * encoded (see jsonb_array_build_init), written straight into one buffer.
 */
typedef struct JsonbArrayBuild
{
	JsonbBuildMember members[JSONB_BUILD_MAX_FIELDS + 1];	/* in key order */
	int			nmembers;
	int			array_index;	/* the array's place among the members */
	char	   *buf;			/* the document */
	Size		cap;
	Size		data_off;		/* where the elements' bytes start in buf */
	Size		len;			/* the elements' bytes */
	JEntry	   *entries;		/* one per element */
	int			count;
	int			size;			/* entries allocated */
} JsonbArrayBuild;

extern void jsonb_array_build_init(JsonbArrayBuild *ab, const char *array_key,
								   int nfields, const char *const *keys,
								   const char *const *values,
								   int expect_count, Size expect_bytes);
extern void jsonb_array_build_add(JsonbArrayBuild *ab, const Jsonb *elem);
extern Jsonb *jsonb_array_build_finish(JsonbArrayBuild *ab);

#endif							/* CODESIGHT_JSONB_BUILD_H */
