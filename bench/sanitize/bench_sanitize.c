/*
 * bench_sanitize.c
 *	  The cost of parsing and masking on ingest, on a realistic event mix:
 *	  the recorded flows of test/fixtures/sessions/ (navigation, page,
 *	  click, input with typed text, change, select, scroll, hover, submit),
 *	  sent as the extension sends them (v2 `events` messages of 50 events).
 *
 *	  For each message the worker's pure path runs as in ingest.c:
 *	  proto_parse_message, then proto_sanitize_event on every event.  The
 *	  same loop without proto_sanitize_event gives the parse cost alone; the
 *	  difference is the cost of masking.  Built and run by run.sh, which
 *	  also counts instructions with callgrind (independent of the machine's
 *	  load).
 *
 *	  bench_sanitize [-n ITERATIONS] [-m parse|both] FLOW.json...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "protocol.h"

#define BATCH 50

/* Reads a whole file into a malloc'd buffer. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t) n + 1)) == NULL ||
		fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/* The events messages built from the flows. */
typedef struct Msg
{
	char	   *text;
	size_t		len;
	size_t		nevents;
} Msg;

/* Appends one v2 events message holding items[from..to) of a flow. */
static void
build_message(Msg *m, const JsonValue *items, size_t from, size_t to)
{
	StrBuf		sb;

	strbuf_init(&sb);
	strbuf_appends(&sb, "{\"type\":\"events\",\"sessionId\":\"bench_session\",\"events\":[");
	for (size_t i = from; i < to; i++)
	{
		const JsonValue *e = items->u.array.items[i];

		if (i > from)
			strbuf_append(&sb, ",", 1);
		strbuf_printf(&sb, "{\"seq\":%zu,\"type\":", i + 1);
		json_append_value(&sb, json_get(e, "type"));
		strbuf_appends(&sb, ",\"timestamp\":");
		json_append_value(&sb, json_get(e, "timestamp"));
		strbuf_appends(&sb, ",\"data\":");
		json_append_value(&sb, json_get(e, "data"));
		strbuf_append(&sb, "}", 1);
	}
	strbuf_appends(&sb, "]}");
	m->text = sb.data;
	m->len = sb.len;
	m->nevents = to - from;
}

/* CPU seconds used by the process. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the messages iterations times; returns the events processed. */
static size_t
run(const Msg *msgs, size_t nmsgs, int iterations, int sanitize)
{
	size_t		events = 0;

	for (int it = 0; it < iterations; it++)
		for (size_t k = 0; k < nmsgs; k++)
		{
			JsonArena	arena;
			ProtoMessage msg;
			const char *detail;

			json_arena_init(&arena);
			if (proto_parse_message(msgs[k].text, msgs[k].len, &arena, &msg, &detail) != PERR_OK)
			{
				fprintf(stderr, "message %zu refused: %s\n", k, detail ? detail : "?");
				exit(1);
			}
			for (size_t i = 0; i < msg.nevents; i++)
				if (sanitize && msg.events[i].error == PERR_OK &&
					proto_sanitize_event(&arena, &msg.events[i]) != PERR_OK)
				{
					fprintf(stderr, "sanitize failed\n");
					exit(1);
				}
			events += msg.nevents;
			json_arena_free(&arena);
		}
	return events;
}

int
main(int argc, char **argv)
{
	static const JsonLimits limits = {.max_depth = 64, .max_values = 10000000, .max_number_len = 1000};
	int			iterations = 2000;
	const char *mode = "both";
	Msg		   *msgs = NULL;
	size_t		nmsgs = 0,
				bytes = 0,
				nev = 0;
	int			a;

	for (a = 1; a < argc && argv[a][0] == '-'; a++)
	{
		if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
			iterations = atoi(argv[++a]);
		else if (strcmp(argv[a], "-m") == 0 && a + 1 < argc)
			mode = argv[++a];
		else
		{
			fprintf(stderr, "usage: bench_sanitize [-n N] [-m parse|both] FLOW.json...\n");
			return 2;
		}
	}
	for (; a < argc; a++)
	{
		size_t		len;
		char	   *text = read_file(argv[a], &len);
		JsonArena	arena;
		JsonValue  *root;
		const JsonValue *items;

		json_arena_init(&arena);
		if (json_parse(text, len, &limits, &arena, &root, NULL) != JSON_OK ||
			(items = json_get(root, "events")) == NULL || items->type != JV_ARRAY)
		{
			fprintf(stderr, "%s: not a flow with an events array\n", argv[a]);
			return 2;
		}
		for (size_t i = 0; i < items->u.array.count; i += BATCH)
		{
			size_t		to = i + BATCH < items->u.array.count ? i + BATCH : items->u.array.count;

			msgs = realloc(msgs, (nmsgs + 1) * sizeof(Msg));
			build_message(&msgs[nmsgs], items, i, to);
			bytes += msgs[nmsgs].len;
			nev += msgs[nmsgs].nevents;
			nmsgs++;
		}
		json_arena_free(&arena);
		free(text);
	}
	if (nmsgs == 0)
	{
		fprintf(stderr, "no flows given\n");
		return 2;
	}
	printf("mix: %zu events in %zu messages, %zu bytes (%.0f bytes/event)\n",
		   nev, nmsgs, bytes, (double) bytes / nev);

	/* warm up, then time parse alone and parse + sanitize */
	run(msgs, nmsgs, iterations / 10 + 1, 1);
	{
		double		t0 = cpu_now();
		size_t		n1 = run(msgs, nmsgs, iterations, 0);
		double		t1 = cpu_now();
		size_t		n2 = strcmp(mode, "both") == 0 ? run(msgs, nmsgs, iterations, 1) : 0;
		double		t2 = cpu_now();
		double		parse_ns = (t1 - t0) * 1e9 / n1;

		printf("parse:            %8.0f ns/event\n", parse_ns);
		if (n2)
		{
			double		both_ns = (t2 - t1) * 1e9 / n2;

			printf("parse + sanitize: %8.0f ns/event\n", both_ns);
			printf("sanitize:         %8.0f ns/event (%.0f%% of parse + sanitize)\n",
				   both_ns - parse_ns, 100 * (both_ns - parse_ns) / both_ns);
		}
	}
	return 0;
}
