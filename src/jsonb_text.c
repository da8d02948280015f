/*-------------------------------------------------------------------------
 *
 * jsonb_text.c
 *	  Writes a jsonb as compact JSON text by walking its containers.
 *
 * The HTTP API answers with documents that SQL functions return as jsonb;
 * the training data of a 100,000-event session is 16 MB of them.  jsonb_out
 * goes through the jsonb iterator, copies every string before escaping it
 * and leaves the copies in the caller's context, so it took twice as long
 * as building the document and touched twice its size in fresh memory.
 * This reads the JEntries directly (utils/jsonb.h describes the layout),
 * escapes strings in runs, and writes into a buffer sized once.
 *
 * Strings are escaped by json.c's escaper, like every JSON the worker
 * writes; the text parses to the same value as jsonb_out's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "json.h"
#include "jsonb_text.h"

static void write_container(StringInfo out, const JsonbContainer *c);

/* json_escape_to's append for a StringInfo. */
static void
stringinfo_append_fn(void *dest, const char *s, size_t len)
{
	appendBinaryStringInfo((StringInfo) dest, s, (int) len);
}

/* Appends s[0..len) as a JSON string. */
static void
write_string(StringInfo out, const char *s, int len)
{
	json_escape_to(stringinfo_append_fn, out, s, len);
}

/*
 * Appends the child of c whose JEntry is je and whose data starts at
 * base + offset and runs len bytes.  Numerics and containers start at the
 * next 4-byte boundary; the padding counts in len.
 */
static void
write_child(StringInfo out, JEntry je, const char *base, uint32 offset, uint32 len)
{
	char	   *num;

	switch (je & JENTRY_TYPEMASK)
	{
		case JENTRY_ISSTRING:
			write_string(out, base + offset, len);
			break;
		case JENTRY_ISNUMERIC:
			num = DatumGetCString(DirectFunctionCall1(numeric_out,
													  PointerGetDatum(base + INTALIGN(offset))));
			appendStringInfoString(out, num);
			pfree(num);
			break;
		case JENTRY_ISBOOL_TRUE:
			appendBinaryStringInfo(out, "true", 4);
			break;
		case JENTRY_ISBOOL_FALSE:
			appendBinaryStringInfo(out, "false", 5);
			break;
		case JENTRY_ISNULL:
			appendBinaryStringInfo(out, "null", 4);
			break;
		case JENTRY_ISCONTAINER:
			write_container(out, (const JsonbContainer *) (base + INTALIGN(offset)));
			break;
		default:
			elog(ERROR, "unknown jsonb entry type 0x%08x", je);
	}
}

/*
 * Appends an array or object.  The children's data follow the JEntries in
 * their order (an object's keys, then its values); JBE_ADVANCE_OFFSET
 * steps from one child's start to the next, whether a JEntry holds a
 * length or (every JB_OFFSET_STRIDE'th) an end offset.
 */
static void
write_container(StringInfo out, const JsonbContainer *c)
{
	uint32		count = c->header & JB_CMASK;
	bool		object = (c->header & JB_FOBJECT) != 0;
	const char *base = (const char *) &c->children[object ? 2 * count : count];
	uint32		key_off = 0;
	uint32		value_off = 0;

	check_stack_depth();
	/* an object's values' data begin where its keys' end */
	if (object)
		for (uint32 i = 0; i < count; i++)
			JBE_ADVANCE_OFFSET(value_off, c->children[i]);

	appendStringInfoCharMacro(out, object ? '{' : '[');
	for (uint32 i = 0; i < count; i++)
	{
		JEntry		je = c->children[object ? count + i : i];
		uint32		start = value_off;

		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		if (object)
		{
			uint32		kstart = key_off;

			JBE_ADVANCE_OFFSET(key_off, c->children[i]);
			write_string(out, base + kstart, key_off - kstart);
			appendStringInfoCharMacro(out, ':');
		}
		JBE_ADVANCE_OFFSET(value_off, je);
		write_child(out, je, base, start, value_off - start);
	}
	appendStringInfoCharMacro(out, object ? '}' : ']');
}

/*
 * Appends jb as JSON text.  The buffer is first enlarged to the jsonb's
 * size, which the text rarely exceeds by much, so a large document is not
 * copied again and again as the buffer doubles.
 */
void
jsonb_write_text(StringInfo out, const Jsonb *jb)
{
	const JsonbContainer *root = &jb->root;

	enlargeStringInfo(out, VARSIZE(jb));
	if (JsonContainerIsScalar(root))
	{
		/* a raw scalar: a one-element array flagged as a scalar */
		JEntry		je = root->children[0];

		write_child(out, je, (const char *) &root->children[1], 0, JBE_OFFLENFLD(je));
	}
	else
		write_container(out, root);
}
