/*
 * fuzz_protocol.c
 *	  libFuzzer target for the worker's message path: src/json.c parses the
 *	  bytes, src/protocol.c validates the message, and every accepted event
 *	  is sanitized (src/sanitize.c) as the ingest code does.
 *
 * Invariants checked (a violation aborts):
 *	 - parse results are in range, and a message is accepted only if its
 *	   JSON is an object with a string "type";
 *	 - accepted messages have a valid session id where one is required, at
 *	   most PROTO_MAX_BATCH_EVENTS events, allowed event types and seqs in
 *	   1..2^53-1;
 *	 - sanitized event data serializes to JSON that parses again and
 *	   serializes to the same text, and sanitizing it a second time changes
 *	   nothing (idempotence);
 *	 - no string in sanitized data still holds an email, card number or SSN
 *	   under the text rules (strings under URL keys are checked by the URL
 *	   rules' idempotence instead);
 *	 - every server message writer produces JSON that parses.
 */
#include "json.h"
#include "protocol.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Aborts: an invariant does not hold. */
static void
fail(const char *what)
{
	fprintf(stderr, "invariant violated: %s\n", what);
	abort();
}

static const JsonLimits loose_limits = {PROTO_MAX_DEPTH + 8, 10000000, 1000};

/* Serializes v to a fresh buffer; aborts if serialization failed. */
static void
serialize(const JsonValue *v, StrBuf *sb)
{
	strbuf_init(sb);
	json_append_value(sb, v);
	if (sb->failed)
		fail("serialization ran out of memory");
}

/* Parses text and checks that it re-serializes to the same text. */
static void
check_roundtrip(const StrBuf *sb)
{
	JsonArena	arena;
	JsonValue  *v = NULL;
	StrBuf		again;

	json_arena_init(&arena);
	if (json_parse(sb->data, sb->len, &loose_limits, &arena, &v, NULL) != JSON_OK)
	{
		fprintf(stderr, "does not parse: %.*s\n", (int) sb->len, sb->data);
		fail("serialized JSON does not parse");
	}
	serialize(v, &again);
	if (again.len != sb->len || memcmp(again.data, sb->data, sb->len) != 0)
		fail("JSON round trip changed the text");
	strbuf_free(&again);
	json_arena_free(&arena);
}

/* Keys whose strings are URLs (must match protocol.c's is_url_key). */
static bool
url_key(const char *key, size_t len)
{
	static const char *const keys[] = {"url", "href", "src", "referrer", "action", "pageUrl", "baseURI", NULL};

	for (int i = 0; keys[i]; i++)
		if (strlen(keys[i]) == len && strncasecmp(key, keys[i], len) == 0)
			return true;
	return false;
}

/* Checks that no text string under v still holds a match. */
static void
check_no_match(const JsonValue *v, const char *key, size_t keylen, int depth)
{
	if (depth > PROTO_MAX_DEPTH + 4)
		return;
	switch (v->type)
	{
		case JV_OBJECT:
			for (size_t i = 0; i < v->u.object.count; i++)
				check_no_match(v->u.object.members[i].value, v->u.object.members[i].key,
							   v->u.object.members[i].keylen, depth + 1);
			break;
		case JV_ARRAY:
			for (size_t i = 0; i < v->u.array.count; i++)
				check_no_match(v->u.array.items[i], key, keylen, depth + 1);
			break;
		case JV_STRING:
			{
				char	   *out = NULL;
				size_t		outlen;
				int			rc;

				if (key != NULL && url_key(key, keylen))
					rc = san_mask_url(v->u.str.ptr, v->u.str.len, &out, &outlen);
				else
					rc = san_mask_text(v->u.str.ptr, v->u.str.len, &out, &outlen);
				free(out);
				if (rc == 1)
				{
					fprintf(stderr, "unmasked under \"%.*s\": %.*s\n", (int) keylen,
							key ? key : "", (int) v->u.str.len, v->u.str.ptr);
					fail("sanitized data still holds a match");
				}
				if (key != NULL && v->u.str.len > 0)
				{
					const char *ph = san_placeholder_for_key(key, keylen);

					if (ph != NULL && strcmp(ph, v->u.str.ptr) != 0)
						fail("a secret-named key kept its value");
				}
			}
			break;
		case JV_NUMBER:
			if (key != NULL && san_placeholder_for_key(key, keylen) != NULL)
				fail("a secret-named key kept a number");
			break;
		default:
			break;
	}
}

/* Sanitizes one accepted event and checks the invariants on its data. */
static void
check_event(JsonArena *arena, ProtoEvent *ev)
{
	StrBuf		first,
				second;
	ProtoError	err;

	if (ev->seq < 0 || ev->seq > PROTO_MAX_SEQ)
		fail("seq out of range");
	if (ev->type == NULL || !proto_event_type_allowed(ev->type))
		fail("accepted an event type outside the allow-list");
	if (ev->data == NULL || ev->data->type != JV_OBJECT)
		fail("accepted event data that is not an object");
	err = proto_sanitize_event(arena, ev);
	if (err == PERR_OUT_OF_MEMORY)
		return;
	if (err != PERR_OK)
		fail("sanitize returned an unexpected error");
	serialize(ev->data, &first);
	check_roundtrip(&first);
	check_no_match(ev->data, NULL, 0, 0);
	err = proto_sanitize_event(arena, ev);
	if (err != PERR_OK)
		return;
	serialize(ev->data, &second);
	if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
	{
		fprintf(stderr, "first  %.*s\nsecond %.*s\n", (int) first.len, first.data,
				(int) second.len, second.data);
		fail("sanitizing twice changed the data");
	}
	strbuf_free(&first);
	strbuf_free(&second);
}

/* Exercises the server message writers with values from the message. */
static void
check_writers(const ProtoMessage *msg, ProtoError err, const char *detail)
{
	StrBuf		sb;

	strbuf_init(&sb);
	proto_write_error(&sb, err == PERR_OK ? PERR_INVALID_EVENT : err,
					  detail ? detail : "accepted",
					  msg->session_id, msg->nevents > 0 ? msg->events[0].seq : 0,
					  msg->nevents > 0);
	if (!sb.failed)
		check_roundtrip(&sb);
	strbuf_free(&sb);
	strbuf_init(&sb);
	proto_write_store_failed(&sb, "transient", 2000);
	if (!sb.failed)
		check_roundtrip(&sb);
	strbuf_free(&sb);
	if (msg->session_id != NULL)
	{
		strbuf_init(&sb);
		proto_write_ack(&sb, msg->session_id, 1);
		if (!sb.failed)
			check_roundtrip(&sb);
		strbuf_free(&sb);
	}
	if (proto_error_code(err) == NULL)
		fail("error without a code");
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	JsonArena	arena;
	ProtoMessage msg;
	const char *detail = NULL;
	ProtoError	err;

	json_arena_init(&arena);
	err = proto_parse_message((const char *) data, size, &arena, &msg, &detail);
	if ((int) err < 0 || err >= PERR__COUNT)
		fail("error code out of range");
	if (err == PERR_OK)
	{
		switch (msg.type)
		{
			case MSG_SESSION_START:
			case MSG_INTERACTION_EVENT:
			case MSG_EVENTS:
			case MSG_SESSION_STOP:
			case MSG_SESSION_COMPLETE:
				if (msg.session_id == NULL ||
					!proto_valid_session_id(msg.session_id, strlen(msg.session_id)))
					fail("accepted an invalid session id");
				break;
			default:
				break;
		}
		if (msg.nevents > PROTO_MAX_BATCH_EVENTS)
			fail("accepted too many events");
		if (msg.nevents > 0 && msg.events == NULL)
			fail("events count without events");
		for (size_t i = 0; i < msg.nevents; i++)
			if (msg.events[i].error == PERR_OK)
				check_event(&arena, &msg.events[i]);
	}
	check_writers(&msg, err, detail);
	json_arena_free(&arena);
	return 0;
}
