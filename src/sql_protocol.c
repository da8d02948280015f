/*-------------------------------------------------------------------------
 *
 * sql_protocol.c
 *	  SQL access to the stream protocol's parser, validator and masking, so
 *	  admins can see what the worker would do with a message, and the
 *	  regression tests can pin the rules down.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "jsonb_build.h"
#include "protocol.h"
#include "sanitize.h"

PG_FUNCTION_INFO_V1(codesight_parse_message);

/*
 * parse_message(text) returns what the worker makes of one client message:
 * {ok, type, sessionId, userAgent, extension, summary, events: [{seq, type,
 * error, data, url, selector}]} with the session fields and each event's
 * data masked as they would be stored, or {ok: false, code, message} when
 * the message is rejected as a whole.
 */
Datum
codesight_parse_message(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	JsonArena	arena;
	ProtoMessage msg;
	const char *detail;
	ProtoError	err;
	JsonbParseState *st = NULL;
	JsonbValue *res;
	Jsonb	   *out;

	json_arena_init(&arena);
	err = proto_parse_message(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &arena, &msg, &detail);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	jsonb_push_bool_pair(&st, "ok", err == PERR_OK);
	if (err != PERR_OK)
	{
		jsonb_push_string_pair(&st, "code", proto_error_code(err));
		jsonb_push_string_pair(&st, "message", detail ? detail : proto_error_code(err));
	}
	else
	{
		jsonb_push_string_pair(&st, "type", proto_message_type_name(msg.type));
		jsonb_push_string_pair(&st, "sessionId", msg.session_id);
		if (msg.user_agent)
			jsonb_push_string_pair(&st, "userAgent", msg.user_agent);
		if (msg.extension)
		{
			jsonb_push_key(&st, "extension");
			jsonb_push_tree(&st, WJB_VALUE, msg.extension);
		}
		if (msg.summary)
		{
			jsonb_push_key(&st, "summary");
			jsonb_push_tree(&st, WJB_VALUE, msg.summary);
		}
		jsonb_push_key(&st, "events");
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		for (size_t i = 0; i < msg.nevents; i++)
		{
			ProtoEvent *ev = &msg.events[i];

			if (ev->error == PERR_OK)
				ev->error = proto_sanitize_event(&arena, ev);
			pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
			jsonb_push_int_pair(&st, "seq", ev->seq);
			jsonb_push_string_pair(&st, "type", ev->type);
			jsonb_push_string_pair(&st, "error", ev->error == PERR_OK ? NULL : proto_error_code(ev->error));
			if (ev->error == PERR_OK)
			{
				jsonb_push_key(&st, "data");
				jsonb_push_tree(&st, WJB_VALUE, ev->data);
				jsonb_push_string_pair(&st, "url", ev->url);
				jsonb_push_string_pair(&st, "selector", ev->selector);
			}
			pushJsonbValue(&st, WJB_END_OBJECT, NULL);
		}
		pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	out = JsonbValueToJsonb(res);
	json_arena_free(&arena);
	PG_RETURN_JSONB_P(out);
}

typedef int (*MaskFn) (const char *s, size_t len, char **out, size_t *out_len);

/* Applies one of sanitize.c's maskers to a text value. */
static text *
mask_with(text *t, MaskFn fn)
{
	char	   *out = NULL;
	size_t		outlen = 0;
	int			rc = fn(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &out, &outlen);
	text	   *result;

	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while masking a value")));
	if (rc == 0)
		return t;
	result = cstring_to_text_with_len(out, outlen);
	free(out);
	return result;
}

PG_FUNCTION_INFO_V1(codesight_mask_text);

/* mask_text(text): free text with the text rules applied (docs/sanitization.md). */
Datum
codesight_mask_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(mask_with(PG_GETARG_TEXT_PP(0), san_mask_text));
}

PG_FUNCTION_INFO_V1(codesight_mask_url);

/* mask_url(text): a URL with the URL rules applied (docs/sanitization.md). */
Datum
codesight_mask_url(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(mask_with(PG_GETARG_TEXT_PP(0), san_mask_url));
}
