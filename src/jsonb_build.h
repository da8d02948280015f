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

#endif							/* CODESIGHT_JSONB_BUILD_H */
