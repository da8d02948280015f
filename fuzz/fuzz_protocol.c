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
 *	 - nothing in sanitized data (event data, and the user agent, extension
 *	   and summary of session messages) still holds a match: no key, no
 *	   string under the text rules (URL keys: the URL rules), no value under
 *	   a key named like personal data, no card number as a JSON number, no
 *	   number longer than PROTO_MAX_NUMBER_PLAIN written out;
 *	 - every server message writer produces JSON that parses.
 */
#include "json.h"
#include "protocol.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Checks that nothing under v still holds a match: no key the text rules
 * would change, no string they (or, under URL keys, the URL rules) would
 * change, no value kept under a key named like personal data, no JSON
 * number that is a card number, and no number longer than the protocol's
 * plain-decimal bound.
 */
static void
check_no_match(const JsonValue *v, const char *key, size_t keylen, int depth)
{
	const char *key_ph = (key != NULL && !san_contains_placeholder(key, keylen)) ?
		san_placeholder_for_key(key, keylen) : NULL;

	if (depth > PROTO_MAX_DEPTH + 4)
		return;
	switch (v->type)
	{
		case JV_OBJECT:
			for (size_t i = 0; i < v->u.object.count; i++)
			{
				const JsonMember *m = &v->u.object.members[i];
				char	   *out = NULL;
				size_t		outlen;

				if (san_mask_text(m->key, m->keylen, &out, &outlen) == 1)
				{
					fprintf(stderr, "unmasked key: %.*s\n", (int) m->keylen, m->key);
					fail("sanitized data still holds a match in a key");
				}
				free(out);
				check_no_match(m->value, m->key, m->keylen, depth + 1);
			}
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

				if (key != NULL && proto_is_url_key(key, keylen))
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
				if (key_ph != NULL && v->u.str.len > 0 && strcmp(key_ph, v->u.str.ptr) != 0 &&
					!san_is_placeholder(v->u.str.ptr, v->u.str.len))
					fail("a secret-named key kept its value");
			}
			break;
		case JV_NUMBER:
			if (key_ph != NULL)
				fail("a secret-named key kept a number");
			if (san_placeholder_for_number(v->u.str.ptr, v->u.str.len) != NULL)
				fail("a card number kept as a JSON number");
			if (json_number_plain_len(v->u.str.ptr, v->u.str.len) > PROTO_MAX_NUMBER_PLAIN)
				fail("a number longer than the plain-decimal bound was accepted");
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
	if (err == PERR_OUT_OF_MEMORY || err == PERR_INVALID_NUMBER)
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
		/* session-level fields are masked at parse time */
		if (msg.user_agent != NULL)
		{
			char	   *out = NULL;
			size_t		outlen;

			if (san_mask_text(msg.user_agent, strlen(msg.user_agent), &out, &outlen) == 1)
				fail("the user agent was not masked");
			free(out);
		}
		if (msg.extension != NULL)
			check_no_match(msg.extension, NULL, 0, 0);
		if (msg.summary != NULL)
			check_no_match(msg.summary, NULL, 0, 0);
	}
	check_writers(&msg, err, detail);
	json_arena_free(&arena);
	return 0;
}
