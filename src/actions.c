/*-------------------------------------------------------------------------
 *
 * actions.c
 *	  codesight._actions(session_id): a session's events turned into the
 *	  user actions every training-data export is built from; and the
 *	  exports built straight from that scan: training_data's document
 *	  (_training_data), dataset_session and export_dataset.
 *
 * One pass over the session's events in seq order, read through an SPI
 * cursor in batches so that memory stays bounded whatever the session's
 * size.  One action is held back ("pending") so that the next event can
 * still merge into it: keystrokes in the same field, a click that only
 * focused the field typed into next, the two clicks of a double click, a
 * run of scroll events.  docs/exports.md states the rules; the SQL of
 * every comparison (text equality, numeric and boolean casts, lower()) is
 * reproduced with the same backend functions so that the output matches
 * what the rules say in SQL terms, errors included.
 *
 * Memory: the current event's data lives in one context, the pending
 * action's in another; when the current action becomes the pending one
 * the two swap, so neither copying nor leaking happens per event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "actions.h"
#include "jsonb_build.h"
#include "protocol.h"

/* Events fetched from the cursor at a time. */
#define ACTIONS_BATCH 1000

/* A navigation this soon after a click, submit or Enter is its effect. */
#define CAUSE_WINDOW_USEC	INT64CONST(5000000)
/* Two clicks on one element this close may be a double click. */
#define DOUBLE_CLICK_USEC	INT64CONST(600000)

typedef enum ActionOp
{
	OP_NONE,
	OP_CLICK,
	OP_TYPE,
	OP_SELECT,
	OP_HOVER,
	OP_PRESS,
	OP_SCROLL,
	OP_NAVIGATE,
	OP_DRAG
} ActionOp;

static const char *const op_names[] = {
	NULL, "CLICK", "TYPE", "SELECT", "HOVER", "PRESS", "SCROLL", "NAVIGATE", "DRAG"
};
static const char *const op_lower_names[] = {
	NULL, "click", "type", "select", "hover", "press", "scroll", "navigate", "drag"
};

/* Which keys the action's detail object has. */
#define DET_TRANSITION	0x01	/* transitionType */
#define DET_BUTTON		0x02	/* button */
#define DET_CLICKCOUNT2 0x04	/* clickCount: 2 */
#define DET_DBLCLICK	0x08	/* dblclick: true */
#define DET_OPTIONTEXT	0x10	/* optionText */
#define DET_SCROLL		0x20	/* x, y, h0, needed */
#define DET_POSITION	0x40	/* position: where in the element a click landed */
#define DET_DRAG		0x80	/* to, sourcePosition, targetPosition */
#define DET_CONTAINER	0x100	/* container: the scrolled element's CSS */

/* One action; NULL pointers are SQL NULLs. */
typedef struct Action
{
	ActionOp	op;
	int64		seq;
	TimestampTz ts;
	char	   *value;
	char	   *masked;
	char	   *url;
	Jsonb	   *frame_path;
	Jsonb	   *selectors;
	char	   *selector;
	Jsonb	   *element;
	Jsonb	   *coordinates;
	Jsonb	   *locators;		/* data.locators: ranked alternatives */
	bool		implicit;
	/* the detail object */
	int			detail;
	Jsonb	   *position;
	Jsonb	   *drag_to;
	Jsonb	   *source_position;
	Jsonb	   *target_position;
	char	   *container;
	char	   *transition;
	Jsonb	   *button;
	char	   *option_text;
	Numeric		x;
	Numeric		y;
	Numeric		h0;
	bool		needed;
} Action;

/* The state of one pass over a session. */
typedef struct ActionScan
{
	Datum		session_id;
	ActionEmit	emit;
	void	   *emit_arg;
	int32		n_ord;
	int32		n_step;
	MemoryContext evcxt;		/* the current event; reset per event */
	MemoryContext pendcxt;		/* the pending action */
	MemoryContext rowcxt;		/* one emitted row */
	MemoryContext urlcxt;		/* cur_url */
	MemoryContext typedcxt;		/* typed_key, typed_value */
	Action		pending;
	char	   *pkey;			/* field key of the pending action */
	char	   *cur_url;		/* the top document's URL as far as known */
	bool		has_last_cause;
	TimestampTz last_cause;		/* last click, submit or Enter */
	char	   *typed_key;		/* field and value of the last TYPE, so that */
	char	   *typed_value;	/* a change event repeating it is dropped */
	Jsonb	   *empty_array;	/* '[]' */
} ActionScan;

/* One event as the rules read it. */
typedef struct Event
{
	int64		seq;
	const char *type;
	TimestampTz ts;
	JsonbContainer *root;		/* the payload */
	JsonbContainer *data;		/* payload->'data'; NULL stands for {} */
	JsonbContainer *fp;			/* data->'framePath' when an array */
	uint32		fp_len;			/* its size in bytes */
	char	   *url;			/* coalesce(data->>'url', page_url) */
	char	   *selector_col;	/* events.selector */
	char	   *fkey;			/* framePath::text || '|' || selector */
} Event;

/* The member key of object c (NULL when c is not an object or lacks it). */
static JsonbValue *
jb_get(JsonbContainer *c, const char *key)
{
	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* The container a value holds, or NULL for a scalar or a missing value. */
static JsonbContainer *
jb_container(JsonbValue *v)
{
	return (v != NULL && v->type == jbvBinary) ? v->val.binary.data : NULL;
}

/* The object a value holds, or NULL: jsonb_typeof(v) = 'object'. */
static JsonbContainer *
jb_object(JsonbValue *v)
{
	JsonbContainer *c = jb_container(v);

	return (c != NULL && JsonContainerIsObject(c)) ? c : NULL;
}

/* A standalone copy of the array a value holds, or NULL. */
static Jsonb *
jb_array_copy(JsonbValue *v)
{
	JsonbContainer *c = jb_container(v);

	return c != NULL && JsonContainerIsArray(c) ? JsonbValueToJsonb(v) : NULL;
}

/* A value as the ->> operator returns it: NULL for a missing value or null. */
static char *
jb_text(JsonbValue *v)
{
	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;
}

/* c ->> key. */
static char *
jb_get_text(JsonbContainer *c, const char *key)
{
	return jb_text(jb_get(c, key));
}

/* c #>> '{key1,key2}' for keys that are not array subscripts. */
static char *
jb_path_text(JsonbContainer *c, const char *key1, const char *key2)
{
	return jb_text(jb_get(jb_container(jb_get(c, key1)), key2));
}

/* A standalone copy of the object a value holds, or NULL. */
static Jsonb *
jb_object_copy(JsonbValue *v)
{
	return jb_object(v) != NULL ? JsonbValueToJsonb(v) : NULL;
}

/* lower(s) with the database's default collation, as SQL's lower(). */
static char *
sql_lower(const char *s)
{
	if (s == NULL)
		return NULL;
	return TextDatumGetCString(DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID,
													   CStringGetTextDatum(s)));
}

/* s::numeric, with numeric_in's errors for what is not a number. */
static Numeric
text_numeric(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* s::boolean, with boolin's errors for what is not a boolean. */
static bool
text_bool(const char *s)
{
	return DatumGetBool(DirectFunctionCall1(boolin, CStringGetDatum(s)));
}

/* a - b <= limit for timestamps, as the interval comparison in SQL. */
static bool
ts_within(TimestampTz a, TimestampTz b, int64 limit)
{
	if (TIMESTAMP_NOT_FINITE(a) || TIMESTAMP_NOT_FINITE(b))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cannot subtract infinite timestamps")));
	return a - b <= limit;
}

/* Navigations of these transition types are caused by a click or submit. */
static bool
caused_transition(const char *t)
{
	return strcmp(t, "link") == 0 || strcmp(t, "form_submit") == 0 ||
		strcmp(t, "auto_subframe") == 0 || strcmp(t, "manual_subframe") == 0;
}

/* Copies a numeric into cxt. */
static Numeric
numeric_copy_to(MemoryContext cxt, Numeric n)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Numeric		res = DatumGetNumeric(datumCopy(NumericGetDatum(n), false, -1));

	MemoryContextSwitchTo(old);
	return res;
}

/* Copies a nullable string into cxt. */
static char *
str_copy_to(MemoryContext cxt, const char *s)
{
	return s != NULL ? MemoryContextStrdup(cxt, s) : NULL;
}

/* Pushes "key": v where v is a standalone jsonb (scalar or container). */
static void
push_jsonb_pair(JsonbParseState **st, const char *key, Jsonb *jb)
{
	JsonbValue	v;

	jsonb_push_key(st, key);
	if (JB_ROOT_IS_SCALAR(jb))
	{
		if (!JsonbExtractScalar(&jb->root, &v))
			elog(ERROR, "could not extract a jsonb scalar");
	}
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &jb->root;
		v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* Pushes "key": v for a scalar JsonbValue. */
static void
push_scalar_pair(JsonbParseState **st, const char *key, JsonbValue *v)
{
	jsonb_push_key(st, key);
	pushJsonbValue(st, WJB_VALUE, v);
}

/* Pushes "key": n (NULL pushes null). */
static void
push_numeric_pair(JsonbParseState **st, const char *key, Numeric n)
{
	JsonbValue	v;

	if (n == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = n;
	}
	push_scalar_pair(st, key, &v);
}

/* The action's detail object (jsonb sorts the keys). */
static Jsonb *
build_detail(const Action *a)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	if (a->detail & DET_TRANSITION)
		jsonb_push_string_pair(&st, "transitionType", a->transition);
	if (a->detail & DET_BUTTON)
		push_jsonb_pair(&st, "button", a->button);
	if (a->detail & DET_CLICKCOUNT2)
		push_numeric_pair(&st, "clickCount", int64_to_numeric(2));
	if (a->detail & DET_DBLCLICK)
		jsonb_push_bool_pair(&st, "dblclick", true);
	if (a->detail & DET_OPTIONTEXT)
		jsonb_push_string_pair(&st, "optionText", a->option_text);
	if (a->detail & DET_SCROLL)
	{
		push_numeric_pair(&st, "x", a->x);
		push_numeric_pair(&st, "y", a->y);
		push_numeric_pair(&st, "h0", a->h0);
		jsonb_push_bool_pair(&st, "needed", a->needed);
	}
	if (a->detail & DET_CONTAINER)
		jsonb_push_string_pair(&st, "container", a->container);
	if ((a->detail & DET_POSITION) && a->position != NULL)
		push_jsonb_pair(&st, "position", a->position);
	if (a->detail & DET_DRAG)
	{
		if (a->drag_to != NULL)
			push_jsonb_pair(&st, "to", a->drag_to);
		if (a->source_position != NULL)
			push_jsonb_pair(&st, "sourcePosition", a->source_position);
		if (a->target_position != NULL)
			push_jsonb_pair(&st, "targetPosition", a->target_position);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* Hands one row to the receiver; step 0 is a NULL step (implicit rows). */
static void
emit_row(ActionScan *s, const Action *a, int32 ord, int32 step)
{
	MemoryContext old = MemoryContextSwitchTo(s->rowcxt);
	Datum		values[ACTION_NCOLS];
	bool		nulls[ACTION_NCOLS];

	memset(nulls, 0, sizeof(nulls));
	values[ACOL_SESSION_ID] = s->session_id;
	values[ACOL_ORD] = Int32GetDatum(ord);
	values[ACOL_STEP] = Int32GetDatum(step);
	nulls[ACOL_STEP] = (step == 0);
	values[ACOL_SEQ] = Int64GetDatum(a->seq);
	values[ACOL_TS] = TimestampTzGetDatum(a->ts);
	values[ACOL_OP] = CStringGetTextDatum(op_names[a->op]);

#define TEXT_COL(col, s_) \
	do { \
		nulls[col] = ((s_) == NULL); \
		values[col] = (s_) != NULL ? CStringGetTextDatum(s_) : (Datum) 0; \
	} while (0)
#define JSONB_COL(col, j_) \
	do { \
		nulls[col] = ((j_) == NULL); \
		values[col] = JsonbPGetDatum(j_); \
	} while (0)

	TEXT_COL(ACOL_VALUE, a->value);
	TEXT_COL(ACOL_MASKED, a->masked);
	TEXT_COL(ACOL_URL, a->url);
	JSONB_COL(ACOL_FRAME_PATH, a->frame_path);
	JSONB_COL(ACOL_SELECTORS, a->selectors);
	TEXT_COL(ACOL_SELECTOR, a->selector);
	JSONB_COL(ACOL_ELEMENT, a->element);
	JSONB_COL(ACOL_COORDINATES, a->coordinates);
	values[ACOL_IMPLICIT] = BoolGetDatum(a->implicit);
	values[ACOL_DETAIL] = JsonbPGetDatum(build_detail(a));
	JSONB_COL(ACOL_LOCATORS, a->locators);
#undef TEXT_COL
#undef JSONB_COL

	s->emit(values, nulls, s->emit_arg);
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->rowcxt);
}

/*
 * Emits the pending action unless it is a scroll that loaded nothing; a
 * pair of clicks that never became a dblclick is emitted twice.  Leaves
 * pending empty.
 */
static void
flush_pending(ActionScan *s)
{
	Action	   *p = &s->pending;

	if (p->op == OP_NONE)
		return;
	if (p->op != OP_SCROLL || p->needed)
	{
		s->n_ord++;
		emit_row(s, p, s->n_ord, p->implicit ? 0 : ++s->n_step);
		if ((p->detail & DET_CLICKCOUNT2) && !(p->detail & DET_DBLCLICK))
		{
			s->n_ord++;
			s->n_step++;
			emit_row(s, p, s->n_ord, s->n_step);
		}
	}
	p->op = OP_NONE;
}

/* Fills the fields every new action takes from its event. */
static void
init_action(ActionScan *s, const Event *e, Action *a, ActionOp op)
{
	JsonbValue	fpv;

	memset(a, 0, sizeof(Action));
	a->op = op;
	a->seq = e->seq;
	a->ts = e->ts;
	a->url = e->url;
	if (e->fp != NULL)
	{
		fpv.type = jbvBinary;
		fpv.val.binary.data = e->fp;
		fpv.val.binary.len = e->fp_len;
		a->frame_path = JsonbValueToJsonb(&fpv);
	}
	else
		a->frame_path = s->empty_array;
	a->selectors = jb_object_copy(jb_get(e->data, "selectors"));
	a->selector = e->selector_col != NULL ? e->selector_col : jb_get_text(e->data, "selector");
	a->element = jb_object_copy(jb_get(e->data, "element"));
	a->coordinates = jb_object_copy(jb_get(e->data, "coordinates"));
	a->locators = jb_array_copy(jb_get(e->data, "locators"));
}

/* Makes cur the pending action, keyed by the current event's field key. */
static void
set_pending(ActionScan *s, const Event *e, const Action *cur)
{
	MemoryContext tmp;

	s->pending = *cur;
	s->pkey = e->fkey;
	/* cur lives in evcxt: that context now holds the pending action */
	tmp = s->pendcxt;
	s->pendcxt = s->evcxt;
	s->evcxt = tmp;
}

/* Whether the pending action is op on the current event's field. */
static bool
pending_is(const ActionScan *s, const Event *e, ActionOp op)
{
	return s->pending.op == op && strcmp(s->pkey, e->fkey) == 0;
}

/* A navigation event: a NAVIGATE row, or nothing when it is an effect. */
static void
navigation_event(ActionScan *s, const Event *e)
{
	char	   *frame_id = jb_get_text(e->data, "frameId");
	char	   *transition;
	bool		is_implicit;
	Action		cur;

	if (frame_id == NULL)
		frame_id = jb_get_text(e->root, "frameId");
	/* iframe loads are part of the page, not something to replay */
	if (frame_id != NULL && strcmp(frame_id, "0") != 0)
		return;
	if (e->url == NULL)
		return;
	transition = jb_get_text(e->data, "transitionType");
	is_implicit = s->cur_url != NULL &&
		((transition != NULL && caused_transition(transition)) ||
		 /* the original extension sends no transitionType */
		 (transition == NULL && s->has_last_cause &&
		  ts_within(e->ts, s->last_cause, CAUSE_WINDOW_USEC)));
	/* a second report of the page we are on (not a reload) */
	if (!is_implicit && s->cur_url != NULL && strcmp(e->url, s->cur_url) == 0 &&
		(transition == NULL || strcmp(transition, "reload") != 0))
		return;

	flush_pending(s);

	init_action(s, e, &cur, OP_NAVIGATE);
	cur.value = e->url;
	cur.implicit = is_implicit;
	cur.selectors = NULL;
	cur.selector = NULL;
	cur.element = NULL;
	cur.coordinates = NULL;
	cur.detail = DET_TRANSITION;
	cur.transition = transition;
	s->n_ord++;
	emit_row(s, &cur, s->n_ord, is_implicit ? 0 : ++s->n_step);

	MemoryContextReset(s->urlcxt);
	s->cur_url = MemoryContextStrdup(s->urlcxt, e->url);
	s->has_last_cause = false;
}

/* Scroll fields of cur from the event (x, y, h0, needed, value). */
static void
scroll_action(const Event *e, Action *cur, Numeric *dh_out)
{
	char	   *ytext = jb_path_text(e->data, "scroll", "y");
	char	   *vhtext = jb_path_text(e->data, "viewport", "height");
	char	   *dhtext = jb_get_text(e->data, "documentHeight");
	char	   *xtext = jb_path_text(e->data, "scroll", "x");
	Numeric		y = ytext != NULL ? text_numeric(ytext) : int64_to_numeric(0);
	Numeric		vh = vhtext != NULL ? text_numeric(vhtext) : NULL;
	Numeric		dh = dhtext != NULL ? text_numeric(dhtext) : NULL;

	cur->value = psprintf("%s,%s", xtext != NULL ? xtext : "0",
						  DatumGetCString(DirectFunctionCall1(numeric_out,
															  NumericGetDatum(y))));
	cur->detail = DET_SCROLL;
	cur->x = xtext != NULL ? text_numeric(xtext) : int64_to_numeric(0);
	cur->y = y;
	cur->h0 = dh;
	/* reached the bottom, where content may load */
	cur->needed = vh != NULL && dh != NULL &&
		DatumGetBool(DirectFunctionCall2(numeric_ge,
										 DirectFunctionCall2(numeric_add,
															 NumericGetDatum(y),
															 NumericGetDatum(vh)),
										 DirectFunctionCall2(numeric_sub,
															 NumericGetDatum(dh),
															 NumericGetDatum(int64_to_numeric(100)))));
	*dh_out = dh;
}

/* The position of a click in its element, when the recorder kept it. */
static void
click_position(const Event *e, Action *cur)
{
	cur->position = jb_object_copy(jb_get(e->data, "position"));
	if (cur->position != NULL)
		cur->detail |= DET_POSITION;
}

/* lower(data #>> '{element,tag}'). */
static char *
event_tag(const Event *e)
{
	return sql_lower(jb_path_text(e->data, "element", "tag"));
}

/* Applies the rules to one event. */
static void
process_event(ActionScan *s, Event *e)
{
	const char *type = e->type;
	Action		cur;
	char	   *tag = NULL;

	if (strcmp(type, "navigation") == 0)
	{
		navigation_event(s, e);
		return;
	}
	if (proto_event_type_flags(type) <= 0)
		return;					/* not allowed, or no part of an action */

	/* A session that starts on an open page: its first URL is the goto. */
	if (s->cur_url == NULL && e->url != NULL &&
		(e->fp == NULL || JsonContainerSize(e->fp) == 0))
	{
		memset(&cur, 0, sizeof(cur));
		cur.op = OP_NAVIGATE;
		cur.seq = e->seq;
		cur.ts = e->ts;
		cur.value = e->url;
		cur.url = e->url;
		cur.frame_path = s->empty_array;
		cur.detail = DET_TRANSITION;
		s->cur_url = MemoryContextStrdup(s->urlcxt, e->url);
		s->n_ord++;
		s->n_step++;
		emit_row(s, &cur, s->n_ord, s->n_step);
	}
	if (strcmp(type, "page") == 0)
		return;
	if (strcmp(type, "submit") == 0)
	{
		/* the click or Enter that submitted the form is the action */
		s->last_cause = e->ts;
		s->has_last_cause = true;
		return;
	}

	/* Decide what the event becomes, possibly merging into pending. */
	if (strcmp(type, "input") == 0 || strcmp(type, "change") == 0)
	{
		char	   *itype = jb_get_text(e->data, "inputType");
		char	   *value;
		char	   *masked;
		ActionOp	op;

		tag = event_tag(e);

		if (itype == NULL)
			itype = jb_path_text(jb_container(jb_get(e->data, "element")),
								 "attributes", "type");
		itype = sql_lower(itype);
		/* checkboxes and radios: the click that toggled them is replayed */
		if (itype != NULL && (strcmp(itype, "checkbox") == 0 || strcmp(itype, "radio") == 0))
			return;
		op = (tag != NULL && strcmp(tag, "select") == 0) ? OP_SELECT : OP_TYPE;
		value = jb_get_text(e->data, "value");
		if (value == NULL)
			value = "";
		masked = jb_get_text(e->data, "masked");
		if (masked != NULL && masked[0] == '\0')
			masked = NULL;
		/* the change that follows typing once the field loses focus */
		if (strcmp(type, "change") == 0 && s->typed_key != NULL &&
			strcmp(s->typed_key, e->fkey) == 0 && strcmp(s->typed_value, value) == 0)
			return;
		if (op == OP_TYPE)
		{
			MemoryContextReset(s->typedcxt);
			s->typed_key = MemoryContextStrdup(s->typedcxt, e->fkey);
			s->typed_value = MemoryContextStrdup(s->typedcxt, value);
		}
		if (pending_is(s, e, op))
		{
			/* the same field again: keep only the final value */
			s->pending.value = str_copy_to(s->pendcxt, value);
			if (masked != NULL)
				s->pending.masked = str_copy_to(s->pendcxt, masked);
			s->pending.seq = e->seq;
			s->pending.ts = e->ts;
			return;
		}
		init_action(s, e, &cur, op);
		cur.value = value;
		cur.masked = masked;
	}
	else if (strcmp(type, "select") == 0)
	{
		char	   *option_text = jb_get_text(e->data, "optionText");
		char	   *value = jb_get_text(e->data, "value");

		if (value == NULL)
			value = option_text != NULL ? option_text : "";
		if (pending_is(s, e, OP_SELECT))
		{
			s->pending.value = str_copy_to(s->pendcxt, value);
			s->pending.detail = DET_OPTIONTEXT;
			s->pending.option_text = str_copy_to(s->pendcxt, option_text);
			s->pending.seq = e->seq;
			s->pending.ts = e->ts;
			return;
		}
		s->last_cause = e->ts;
		s->has_last_cause = true;
		init_action(s, e, &cur, OP_SELECT);
		cur.value = value;
		cur.detail = DET_OPTIONTEXT;
		cur.option_text = option_text;
	}
	else if (strcmp(type, "click") == 0)
	{
		JsonbValue *button;

		tag = event_tag(e);
		/* opening a select is not an action; choosing the option is */
		if (tag != NULL && (strcmp(tag, "select") == 0 || strcmp(tag, "option") == 0))
			return;
		s->last_cause = e->ts;
		s->has_last_cause = true;
		if (pending_is(s, e, OP_CLICK) &&
			ts_within(e->ts, s->pending.ts, DOUBLE_CLICK_USEC) &&
			!(s->pending.detail & DET_CLICKCOUNT2))
		{
			/* maybe the first half of a double click: wait for dblclick */
			s->pending.detail |= DET_CLICKCOUNT2;
			s->pending.seq = e->seq;
			s->pending.ts = e->ts;
			return;
		}
		init_action(s, e, &cur, OP_CLICK);
		click_position(e, &cur);
		/* jsonb_strip_nulls(jsonb_build_object('button', d -> 'button')) */
		button = jb_get(e->data, "button");
		if (button != NULL && button->type != jbvNull)
		{
			cur.detail |= DET_BUTTON;
			cur.button = JsonbValueToJsonb(button);
			if (button->type == jbvBinary)
				cur.button = DatumGetJsonbP(DirectFunctionCall1(jsonb_strip_nulls,
																JsonbPGetDatum(cur.button)));
		}
	}
	else if (strcmp(type, "dblclick") == 0)
	{
		s->last_cause = e->ts;
		s->has_last_cause = true;
		if (pending_is(s, e, OP_CLICK))
		{
			s->pending.detail |= DET_DBLCLICK;
			s->pending.seq = e->seq;
			s->pending.ts = e->ts;
			return;
		}
		init_action(s, e, &cur, OP_CLICK);
		cur.detail = DET_DBLCLICK;
		click_position(e, &cur);
	}
	else if (strcmp(type, "drag") == 0)
	{
		init_action(s, e, &cur, OP_DRAG);
		cur.detail = DET_DRAG;
		cur.drag_to = jb_object_copy(jb_get(e->data, "to"));
		cur.source_position = jb_object_copy(jb_get(e->data, "sourcePosition"));
		cur.target_position = jb_object_copy(jb_get(e->data, "targetPosition"));
	}
	else if (strcmp(type, "keypress") == 0)
	{
		char	   *key = jb_get_text(e->data, "key");

		if (key == NULL || key[0] == '\0')
			return;
		tag = event_tag(e);
		/* arrows in a select change its value: the select event has the result */
		if (tag != NULL && strcmp(tag, "select") == 0 && strncmp(key, "Arrow", 5) == 0)
			return;
		init_action(s, e, &cur, OP_PRESS);
		cur.value = key;
		if (strcmp(key, "Enter") == 0)
		{
			s->last_cause = e->ts;
			s->has_last_cause = true;
		}
	}
	else if (strcmp(type, "hover") == 0)
	{
		char	   *revealed = jb_get_text(e->data, "revealed");

		/* only hovers that opened something (menus, tooltips) matter */
		if (revealed == NULL || !text_bool(revealed))
			return;
		/* hovering the same element again opens nothing new */
		if (pending_is(s, e, OP_HOVER))
			return;
		init_action(s, e, &cur, OP_HOVER);
	}
	else
	{
		Numeric		dh;

		Assert(strcmp(type, "scroll") == 0);
		/* scrolls inside frames are not replayed; clicks scroll by themselves */
		if (e->fp != NULL && JsonContainerSize(e->fp) > 0)
			return;
		init_action(s, e, &cur, OP_SCROLL);
		cur.selectors = NULL;
		cur.selector = NULL;
		cur.element = NULL;
		cur.locators = NULL;
		scroll_action(e, &cur, &dh);
		if ((cur.container = jb_get_text(e->data, "container")) != NULL)
		{
			/* a list scrolled inside the page may render rows only then */
			cur.detail |= DET_CONTAINER;
			cur.needed = true;
		}
		if (s->pending.op == OP_SCROLL &&
			(s->pending.container == NULL) == (cur.container == NULL) &&
			(cur.container == NULL || strcmp(s->pending.container, cur.container) == 0))
		{
			Action	   *p = &s->pending;

			/* the run goes on: it is needed if the page grew meanwhile */
			p->needed = p->needed || cur.needed ||
				(dh != NULL && p->h0 != NULL &&
				 DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(dh),
												  NumericGetDatum(p->h0))));
			p->value = str_copy_to(s->pendcxt, cur.value);
			p->x = numeric_copy_to(s->pendcxt, cur.x);
			p->y = numeric_copy_to(s->pendcxt, cur.y);
			p->seq = e->seq;
			p->ts = e->ts;
			return;
		}
	}

	/*
	 * cur is a new action.  A click that only focused the field now typed
	 * into, or opened the select now chosen from, is dropped.
	 */
	if ((cur.op == OP_TYPE || cur.op == OP_SELECT) && pending_is(s, e, OP_CLICK) &&
		!(s->pending.detail & DET_DBLCLICK))
		s->pending.op = OP_NONE;
	flush_pending(s);
	set_pending(s, e, &cur);
}

/* Reads one event row of the cursor into e (allocating in evcxt). */
static void
read_event(HeapTuple tup, TupleDesc td, Event *e)
{
	bool		isnull;
	Datum		d;
	Jsonb	   *payload;
	JsonbValue *data;
	JsonbValue *fp;
	char	   *fptext;
	char	   *sel;

	e->seq = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
	e->type = TextDatumGetCString(SPI_getbinval(tup, td, 2, &isnull));
	e->ts = DatumGetTimestampTz(SPI_getbinval(tup, td, 3, &isnull));
	d = SPI_getbinval(tup, td, 4, &isnull);
	e->url = isnull ? NULL : TextDatumGetCString(d);
	d = SPI_getbinval(tup, td, 5, &isnull);
	e->selector_col = isnull ? NULL : TextDatumGetCString(d);
	payload = DatumGetJsonbP(SPI_getbinval(tup, td, 6, &isnull));
	e->root = &payload->root;

	/* coalesce(payload -> 'data', '{}'), which must be an object */
	data = jb_get(e->root, "data");
	e->data = jb_object(data);
	if (data != NULL && e->data == NULL)
	{
		e->type = "";			/* skipped */
		return;
	}
	if ((sel = jb_get_text(e->data, "url")) != NULL)
		e->url = sel;
	fp = jb_get(e->data, "framePath");
	e->fp = jb_container(fp);
	if (e->fp != NULL && !JsonContainerIsArray(e->fp))
		e->fp = NULL;
	e->fp_len = e->fp != NULL ? fp->val.binary.len : 0;
	fptext = (e->fp == NULL || JsonContainerSize(e->fp) == 0) ? "[]" :
		JsonbToCString(NULL, e->fp, fp->val.binary.len);
	sel = e->selector_col;
	if (sel == NULL)
		sel = jb_get_text(e->data, "selector");
	if (sel == NULL)
		sel = jb_get_text(jb_container(jb_get(e->data, "selectors")), "css");
	if (sel == NULL && (fp = jb_get(e->data, "locators")) != NULL && jb_container(fp) != NULL)
		sel = JsonbToCString(NULL, jb_container(fp), fp->val.binary.len);
	e->fkey = psprintf("%s|%s", fptext, sel != NULL ? sel : "");
}

/*
 * Runs the rules over the events of a session, handing each action row to
 * emit in order.  Reads through an SPI cursor in batches; every row is
 * handed on before the next batch is read.
 */
void
actions_scan(text *session_id, ActionEmit emit, void *arg)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext scancxt;
	ActionScan	s;
	SPIPlanPtr	plan;
	Portal		portal;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			guc_level;

	scancxt = AllocSetContextCreate(callercxt, "codesight actions",
									ALLOCSET_DEFAULT_SIZES);
	memset(&s, 0, sizeof(s));
	s.session_id = PointerGetDatum(session_id);
	s.emit = emit;
	s.emit_arg = arg;
	s.evcxt = AllocSetContextCreate(scancxt, "codesight actions event",
									ALLOCSET_DEFAULT_SIZES);
	s.pendcxt = AllocSetContextCreate(scancxt, "codesight actions pending",
									  ALLOCSET_DEFAULT_SIZES);
	s.rowcxt = AllocSetContextCreate(scancxt, "codesight actions row",
									 ALLOCSET_DEFAULT_SIZES);
	s.urlcxt = AllocSetContextCreate(scancxt, "codesight actions url",
									 ALLOCSET_SMALL_SIZES);
	s.typedcxt = AllocSetContextCreate(scancxt, "codesight actions typed",
									   ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(scancxt);
	s.empty_array = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The primary key gives the events in seq order.  On a table larger than
	 * shared_buffers the planner prefers a bitmap scan and a sort, which
	 * spills a 100,000-event session to disk (0.38 s against 0.04 s for the
	 * index scan), and the plan's cost then switches on JIT, which cost
	 * 0.15 s a call more than it saved.  Both are off while the cursor's
	 * plan is made; an error restores them with the transaction.
	 */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	plan = SPI_prepare("SELECT ev.seq, ev.type, coalesce(ev.client_ts, ev.received_at),"
					   "       ev.page_url, ev.selector, ev.payload"
					   "  FROM codesight.events ev"
					   " WHERE ev.session_id = $1"
					   " ORDER BY ev.seq", 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	args[0] = PointerGetDatum(session_id);
	portal = SPI_cursor_open(NULL, plan, args, NULL, true);
	AtEOXact_GUC(true, guc_level);

	for (;;)
	{
		SPITupleTable *tuptable;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, ACTIONS_BATCH);
		/* SPI left its own context current; events are read in ours */
		if (SPI_processed == 0)
			break;
		tuptable = SPI_tuptable;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			Event		e;

			MemoryContextReset(s.evcxt);
			MemoryContextSwitchTo(s.evcxt);
			read_event(tuptable->vals[i], tuptable->tupdesc, &e);
			process_event(&s, &e);
		}
		SPI_freetuptable(tuptable);
	}
	SPI_cursor_close(portal);

	MemoryContextSwitchTo(scancxt);
	flush_pending(&s);

	SPI_finish();
	MemoryContextSwitchTo(callercxt);
	MemoryContextDelete(scancxt);
}

/* Puts one action row into the SRF's tuplestore. */
static void
emit_to_tuplestore(Datum *values, bool *nulls, void *arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * codesight._actions(session_id text) RETURNS SETOF codesight.action: the
 * action list of a session, materialized (the exports read it whole).
 */
PG_FUNCTION_INFO_V1(codesight_actions);
Datum
codesight_actions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != ACTION_NCOLS)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("type codesight.action has %d columns, expected %d",
						rsinfo->setDesc->natts, ACTION_NCOLS),
				 errdetail("The extension's library and its SQL script are of different versions."),
				 errhint("Run ALTER EXTENSION codesight UPDATE, or reinstall the extension.")));
	actions_scan(PG_GETARG_TEXT_P(0), emit_to_tuplestore, rsinfo);
	return (Datum) 0;
}

/*
 * The Training Data Format, built in one pass over the actions: each
 * annotation is encoded as it comes, in the row's context, and its bytes
 * appended to the annotations array (jsonb_build.h), so the document never
 * exists as a JsonbValue tree (docs/exports.md).
 */
typedef struct TrainingBuild
{
	JsonbArrayBuild annotations;
	bool		has_video;
	TimestampTz video_start;
} TrainingBuild;

/* Pushes a nullable string as an array element or object value. */
static void
push_text(JsonbParseState **st, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	if (s == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) s;
		v.val.string.len = strlen(s);
	}
	pushJsonbValue(st, tok, &v);
}

/* Pushes a nullable numeric as an array element or object value. */
static void
push_numeric(JsonbParseState **st, JsonbIteratorToken tok, Numeric n)
{
	JsonbValue	v;

	if (n == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = n;
	}
	pushJsonbValue(st, tok, &v);
}

/* Pushes a value found in a jsonb as an array element; NULL pushes null. */
static void
push_found_elem(JsonbParseState **st, JsonbValue *v)
{
	JsonbValue	null;

	if (v == NULL)
	{
		null.type = jbvNull;
		v = &null;
	}
	pushJsonbValue(st, WJB_ELEM, v);
}

/* round(x) of a microsecond count as milliseconds, halves away from zero. */
static int64
usec_to_msec_rounded(int64 us)
{
	int64		q = us / 1000;
	int64		r = us % 1000;

	if (r >= 500)
		q++;
	else if (r <= -500)
		q--;
	return q;
}

/* A nullable jsonb column of an action row (not copied). */
static Jsonb *
row_jsonb(Datum *values, bool *nulls, ActionColumn col)
{
	return nulls[col] ? NULL : DatumGetJsonbP(values[col]);
}

/* A nullable text column of an action row, copied into the current context. */
static char *
row_text(Datum *values, bool *nulls, ActionColumn col)
{
	return nulls[col] ? NULL : TextDatumGetCString(values[col]);
}

/*
 * round(bb #>> '{key}')::numeric + coalesce((bb #>> '{size}')::numeric, 0) / 2):
 * the centre of a bounding box along one axis; NULL without key.
 */
static Numeric
box_centre(JsonbContainer *bb, const char *key, const char *size)
{
	char	   *pos = jb_get_text(bb, key);
	char	   *len = jb_get_text(bb, size);
	Numeric		half;

	if (pos == NULL)
	{
		if (len != NULL)
			(void) text_numeric(len);	/* the same errors as the SQL */
		return NULL;
	}
	half = DatumGetNumeric(DirectFunctionCall2(numeric_div,
											   NumericGetDatum(len != NULL ? text_numeric(len) :
															   int64_to_numeric(0)),
											   NumericGetDatum(int64_to_numeric(2))));
	return DatumGetNumeric(DirectFunctionCall2(numeric_round,
											   DirectFunctionCall2(numeric_add,
																   NumericGetDatum(text_numeric(pos)),
																   NumericGetDatum(half)),
											   Int32GetDatum(0)));
}

/* The op an _actions row names (its op column back to the enum). */
static ActionOp
op_from_name(const char *op)
{
	for (int i = 1; i < lengthof(op_names); i++)
		if (strcmp(op, op_names[i]) == 0)
			return (ActionOp) i;
	elog(ERROR, "unknown action op \"%s\"", op);
	return OP_NONE;
}

/*
 * Adds one annotation for a real (not implicit) action.  It is built and
 * encoded in the row's context (reset after the call); only its encoded
 * bytes are kept, in the annotations array.
 */
static void
training_emit(Datum *values, bool *nulls, void *arg)
{
	TrainingBuild *b = (TrainingBuild *) arg;
	JsonbParseState *parse = NULL;
	JsonbParseState **st = &parse;
	TimestampTz ts = DatumGetTimestampTz(values[ACOL_TS]);
	Jsonb	   *selectors;
	Jsonb	   *element;
	Jsonb	   *coords;
	JsonbContainer *bb;
	const char *action_type;
	char	   *value;
	char	   *target;
	char	   *elem_text;
	char	   *page_url;
	JsonbValue *found_x = NULL;
	JsonbValue *found_y = NULL;
	Numeric		cx = NULL;
	Numeric		cy = NULL;
	bool		has_coords = false;
	bool		has_offset = false;

	if (DatumGetBool(values[ACOL_IMPLICIT]))
		return;
	selectors = row_jsonb(values, nulls, ACOL_SELECTORS);
	element = row_jsonb(values, nulls, ACOL_ELEMENT);
	coords = row_jsonb(values, nulls, ACOL_COORDINATES);

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("cannot convert infinity to bigint")));
	action_type = op_lower_names[op_from_name(TextDatumGetCString(values[ACOL_OP]))];
	value = row_text(values, nulls, ACOL_VALUE);

	target = row_text(values, nulls, ACOL_SELECTOR);
	if (target == NULL && selectors != NULL)
		target = jb_get_text(&selectors->root, "css");

	/* the click's point, else the centre of the element's box */
	bb = element != NULL ? jb_container(jb_get(&element->root, "boundingBox")) : NULL;
	if (coords != NULL)
	{
		found_x = jb_get(&coords->root, "x");
		found_y = jb_get(&coords->root, "y");
	}
	else if (bb != NULL && jb_get(bb, "x") != NULL)
	{
		cx = box_centre(bb, "x", "width");
		cy = box_centre(bb, "y", "height");
		has_coords = true;
	}

	elem_text = NULL;
	if (element != NULL)
	{
		elem_text = jb_get_text(&element->root, "text");
		if (elem_text == NULL)
			elem_text = jb_get_text(&element->root, "name");
	}
	page_url = row_text(values, nulls, ACOL_URL);

	if (b->has_video && ts >= b->video_start)
	{
		if (TIMESTAMP_NOT_FINITE(ts) || TIMESTAMP_NOT_FINITE(b->video_start))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("cannot subtract infinite timestamps")));
		has_offset = true;
	}

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);

	jsonb_push_key(st, "timestamp");
	push_numeric(st, WJB_VALUE, int64_to_numeric(usec_to_msec_rounded(
		ts + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)));

	jsonb_push_key(st, "action_type");
	push_text(st, WJB_VALUE, action_type);

	jsonb_push_key(st, "value");
	push_text(st, WJB_VALUE, value);

	jsonb_push_key(st, "target_selector");
	push_text(st, WJB_VALUE, target);

	jsonb_push_key(st, "coordinates");
	if (coords != NULL)
	{
		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		push_found_elem(st, found_x);
		push_found_elem(st, found_y);
		pushJsonbValue(st, WJB_END_ARRAY, NULL);
	}
	else if (has_coords)
	{
		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		push_numeric(st, WJB_ELEM, cx);
		push_numeric(st, WJB_ELEM, cy);
		pushJsonbValue(st, WJB_END_ARRAY, NULL);
	}
	else
		push_text(st, WJB_VALUE, NULL);

	jsonb_push_key(st, "element_text");
	push_text(st, WJB_VALUE, elem_text);

	jsonb_push_key(st, "page_url");
	push_text(st, WJB_VALUE, page_url);

	jsonb_push_key(st, "video_offset_ms");
	if (has_offset)
		push_numeric(st, WJB_VALUE,
					 int64_to_numeric(usec_to_msec_rounded(ts - b->video_start)));
	else
		push_text(st, WJB_VALUE, NULL);

	jsonb_array_build_add(&b->annotations,
						  JsonbValueToJsonb(pushJsonbValue(st, WJB_END_OBJECT, NULL)));
}

/*
 * What training_data needs before its scan: the paths of the session's
 * video and audio (NULL when none) and when the video started, as
 * codesight._media finds them for every export, the session's task as
 * picked and as confirmed, and its event count, to size the document.  For
 * an unknown session it raises the exports' error, from
 * codesight._export_session_check.  The strings are copied into the
 * caller's context.
 */
static void
training_media(text *session_id, TrainingBuild *b, char **video_path, char **audio_path,
			   char **task, char **confirmed_task, int64 *event_count)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(session_id)};
	HeapTuple	tup;
	TupleDesc	desc;
	Datum		d;
	bool		isnull;
	char	   *path;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* The exports' errors: no such session, or one too large to build whole. */
	SPI_execute_with_args("SELECT codesight._export_session_check($1)",
						  1, argtypes, args, NULL, true, 0);
	if (SPI_execute_with_args("SELECT v.path, v.started_at, a.path, s.event_count,"
							  "       s.task, s.confirmed_task"
							  "  FROM codesight.sessions s,"
							  "       codesight._media($1, 'video') v,"
							  "       codesight._media($1, 'audio') a"
							  " WHERE s.session_id = $1",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_processed == 0)
		elog(ERROR, "session vanished during the media lookup");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	path = SPI_getvalue(tup, desc, 1);
	*video_path = path != NULL ? MemoryContextStrdup(callercxt, path) : NULL;
	d = SPI_getbinval(tup, desc, 2, &isnull);
	b->has_video = !isnull;
	b->video_start = isnull ? 0 : DatumGetTimestampTz(d);
	path = SPI_getvalue(tup, desc, 3);
	*audio_path = path != NULL ? MemoryContextStrdup(callercxt, path) : NULL;
	d = SPI_getbinval(tup, desc, 4, &isnull);
	*event_count = isnull ? 0 : DatumGetInt64(d);
	path = SPI_getvalue(tup, desc, 5);
	*task = path != NULL ? MemoryContextStrdup(callercxt, path) : NULL;
	path = SPI_getvalue(tup, desc, 6);
	*confirmed_task = path != NULL ? MemoryContextStrdup(callercxt, path) : NULL;
	SPI_finish();
}

/*
 * About how many encoded bytes an event becomes in the training data, to
 * size the document's buffer: about 165 in bench/run.js's shopping session,
 * where two events in three are actions of about 260 bytes.  A wrong guess
 * costs a move of the document or untouched address space, not an error.
 */
#define TRAINING_BYTES_PER_EVENT 192

/*
 * codesight.training_data(session_id) RETURNS jsonb: the Training Data
 * Format, {video_path, audio_path, task, confirmed_task, annotations}.  A C
 * function, not a PL/pgSQL wrapper, because PL/pgSQL copies its result out
 * of its own context: 16 MB for a 100,000-event session.
 */
PG_FUNCTION_INFO_V1(codesight_training_data);
Datum
codesight_training_data(PG_FUNCTION_ARGS)
{
	text	   *session_id = PG_GETARG_TEXT_P(0);
	TrainingBuild b;
	const char *keys[4] = {"video_path", "audio_path", "task", "confirmed_task"};
	char	   *fields[4];
	int64		event_count;
	int			expect;

	training_media(session_id, &b, &fields[0], &fields[1], &fields[2], &fields[3], &event_count);
	expect = (int) Min(event_count, 1000000);
	jsonb_array_build_init(&b.annotations, "annotations", 4, keys, (const char *const *) fields,
						   expect, (Size) expect * TRAINING_BYTES_PER_EVENT);
	actions_scan(session_id, training_emit, &b);
	PG_RETURN_JSONB_P(jsonb_array_build_finish(&b.annotations));
}

/*
 * The Mind2Web-style dataset: one jsonb per real action, built as the
 * actions come and put straight into the caller's tuplestore.
 */
typedef struct DatasetBuild
{
	Tuplestorestate *store;
	TupleDesc	desc;
	bool		has_video;
	TimestampTz video_start;
	int64		task_id;		/* 0: none */
	char	   *task;			/* the session's, NULL when none */
	char	   *confirmed_task;
	text	   *website_pattern;
	MemoryContext cxt;			/* holds the website of the last URL */
	char	   *last_url;
	char	   *last_website;
} DatasetBuild;

/* x ->> key for a nullable jsonb x. */
static char *
jsonb_get_text_or_null(Jsonb *x, const char *key)
{
	return x != NULL ? jb_get_text(&x->root, key) : NULL;
}

/* x #>> '{key1,key2}' for a nullable jsonb x. */
static char *
jsonb_path_text_or_null(Jsonb *x, const char *key1, const char *key2)
{
	return x != NULL ? jb_path_text(&x->root, key1, key2) : NULL;
}

/* NULL for an empty string, as nullif(s, ''). */
static char *
null_if_empty(char *s)
{
	return (s != NULL && s[0] == '\0') ? NULL : s;
}

/*
 * The dataset's "target" object of an action on an element.  Its selectors
 * are coalesce(selectors, '{}') || jsonb_strip_nulls(jsonb_build_object(
 * 'selector', selector, 'framePath', <frame_path when not empty>)), built by
 * pushing the recorded pairs and then the extra ones: pushJsonbValue keeps
 * the last of equal keys, as || does.
 */
static void
push_dataset_target(JsonbParseState **st, Datum *values, bool *nulls,
					Jsonb *selectors, Jsonb *element)
{
	Jsonb	   *frame_path = DatumGetJsonbP(values[ACOL_FRAME_PATH]);
	char	   *selector = row_text(values, nulls, ACOL_SELECTOR);
	JsonbValue *bbox;
	char	   *s;

	jsonb_push_key(st, "target");
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	jsonb_push_key(st, "selectors");
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	if (selectors != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(&selectors->root);
		JsonbValue	v;
		JsonbIteratorToken tok;

		/* the top level's keys and values, containers as jbvBinary */
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (tok == WJB_KEY || tok == WJB_VALUE)
				pushJsonbValue(st, tok, &v);
	}
	if (selector != NULL)
		jsonb_push_string_pair(st, "selector", selector);
	if (JsonContainerSize(&frame_path->root) > 0)
		push_jsonb_pair(st, "framePath", frame_path);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
	jsonb_push_string_pair(st, "tag", jsonb_get_text_or_null(element, "tag"));
	jsonb_push_string_pair(st, "text", jsonb_get_text_or_null(element, "text"));
	s = jsonb_get_text_or_null(element, "role");
	jsonb_push_string_pair(st, "role", s != NULL ? s : jsonb_path_text_or_null(selectors, "role", "role"));
	s = jsonb_get_text_or_null(element, "name");
	jsonb_push_string_pair(st, "name", s != NULL ? s : jsonb_path_text_or_null(selectors, "role", "name"));
	bbox = element != NULL ? jb_get(&element->root, "boundingBox") : NULL;
	if (bbox == NULL)
		jsonb_push_string_pair(st, "bbox", NULL);
	else
	{
		jsonb_push_key(st, "bbox");
		pushJsonbValue(st, WJB_VALUE, bbox);
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/*
 * lower(substring(url FROM '^scheme://(?:userinfo@)?(host)')): the website
 * of an action's URL, NULL without one.  Consecutive actions are mostly on
 * one page, so the last URL's answer is kept: the regular expression per
 * action was a fifth of the dataset's time.
 */
static char *
dataset_website(DatasetBuild *b, Datum url_datum, const char *url)
{
	LOCAL_FCINFO(rfcinfo, 2);
	Datum		host;
	char	   *website = NULL;

	if (url == NULL)
		return NULL;
	if (b->last_url != NULL && strcmp(url, b->last_url) == 0)
		return b->last_website;

	/* substring() is NULL without a match: no DirectFunctionCall */
	InitFunctionCallInfoData(*rfcinfo, NULL, 2, DEFAULT_COLLATION_OID, NULL, NULL);
	rfcinfo->args[0].value = url_datum;
	rfcinfo->args[0].isnull = false;
	rfcinfo->args[1].value = PointerGetDatum(b->website_pattern);
	rfcinfo->args[1].isnull = false;
	host = textregexsubstr(rfcinfo);
	if (!rfcinfo->isnull)
		website = sql_lower(TextDatumGetCString(host));

	if (b->last_url != NULL)
		pfree(b->last_url);
	if (b->last_website != NULL)
		pfree(b->last_website);
	b->last_url = MemoryContextStrdup(b->cxt, url);
	b->last_website = website != NULL ? MemoryContextStrdup(b->cxt, website) : NULL;
	return website;
}

/* Puts the dataset line of one real (not implicit) action. */
static void
dataset_emit(Datum *values, bool *nulls, void *arg)
{
	DatasetBuild *b = (DatasetBuild *) arg;
	JsonbParseState *st = NULL;
	TimestampTz ts = DatumGetTimestampTz(values[ACOL_TS]);
	char	   *op = TextDatumGetCString(values[ACOL_OP]);
	char	   *value = row_text(values, nulls, ACOL_VALUE);
	char	   *url = row_text(values, nulls, ACOL_URL);
	Jsonb	   *selectors = nulls[ACOL_SELECTORS] ? NULL : DatumGetJsonbP(values[ACOL_SELECTORS]);
	Jsonb	   *element = nulls[ACOL_ELEMENT] ? NULL : DatumGetJsonbP(values[ACOL_ELEMENT]);
	bool		on_page = strcmp(op, "NAVIGATE") == 0 || strcmp(op, "SCROLL") == 0;
	char	   *website = NULL;
	char	   *kind;
	char	   *label;
	StringInfoData repr;
	Datum		line;
	bool		line_null = false;

	if (DatumGetBool(values[ACOL_IMPLICIT]))
		return;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	jsonb_push_string_pair(&st, "session_id", TextDatumGetCString(values[ACOL_SESSION_ID]));
	push_numeric_pair(&st, "step", int64_to_numeric(DatumGetInt32(values[ACOL_STEP])));

	website = dataset_website(b, values[ACOL_URL], url);
	jsonb_push_string_pair(&st, "website", website);
	jsonb_push_string_pair(&st, "url", url);

	jsonb_push_key(&st, "action");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	jsonb_push_string_pair(&st, "op", op);
	jsonb_push_string_pair(&st, "value", value);
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);

	if (on_page)
		jsonb_push_string_pair(&st, "target", NULL);
	else
		push_dataset_target(&st, values, nulls, selectors, element);

	/* "[role] name -> OP: value" */
	kind = on_page ? "page" : jsonb_get_text_or_null(element, "role");
	if (kind == NULL)
		kind = jsonb_path_text_or_null(selectors, "role", "role");
	if (kind == NULL)
		kind = jsonb_get_text_or_null(element, "tag");
	if (kind == NULL)
		kind = "element";
	label = null_if_empty(jsonb_get_text_or_null(element, "name"));
	if (label == NULL)
		label = null_if_empty(jsonb_get_text_or_null(element, "text"));
	if (label == NULL)
		label = null_if_empty(jsonb_get_text_or_null(selectors, "label"));
	if (label == NULL)
		label = null_if_empty(jsonb_get_text_or_null(selectors, "placeholder"));
	initStringInfo(&repr);
	appendStringInfo(&repr, "[%s] ", kind);
	if (label != NULL)
		appendStringInfo(&repr, "%s ", label);
	appendStringInfo(&repr, "-> %s", op);
	if (value != NULL)
		appendStringInfo(&repr, ": %s", value);
	jsonb_push_string_pair(&st, "action_repr", repr.data);

	jsonb_push_key(&st, "task_id");
	if (b->task_id != 0)
		push_numeric(&st, WJB_VALUE, int64_to_numeric(b->task_id));
	else
		push_text(&st, WJB_VALUE, NULL);
	jsonb_push_string_pair(&st, "task", b->task);
	jsonb_push_string_pair(&st, "confirmed_task", b->confirmed_task);

	jsonb_push_key(&st, "video_offset_ms");
	if (b->has_video && ts >= b->video_start)
	{
		if (TIMESTAMP_NOT_FINITE(ts) || TIMESTAMP_NOT_FINITE(b->video_start))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("cannot subtract infinite timestamps")));
		push_numeric(&st, WJB_VALUE,
					 int64_to_numeric(usec_to_msec_rounded(ts - b->video_start)));
	}
	else
		push_text(&st, WJB_VALUE, NULL);

	line = JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
	tuplestore_putvalues(b->store, b->desc, &line, &line_null);
}

/*
 * Appends the dataset lines of one session to b->store: finds the start of
 * its video (codesight._media) and its task, and runs the action scan.
 */
static void
dataset_session_rows(DatasetBuild *b, text *session_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(session_id)};
	bool		isnull = true;
	bool		no_task;
	Datum		d;
	char	   *v;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT m.started_at, s.task_id, s.task, s.confirmed_task"
							  "  FROM codesight.sessions s, codesight._media($1, 'video') m"
							  " WHERE s.session_id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "video and task lookup failed");
	b->task_id = 0;
	if (b->task != NULL)
		pfree(b->task);
	if (b->confirmed_task != NULL)
		pfree(b->confirmed_task);
	b->task = b->confirmed_task = NULL;
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		b->video_start = DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull));
		d = SPI_getbinval(tup, desc, 2, &no_task);
		b->task_id = no_task ? 0 : DatumGetInt64(d);
		v = SPI_getvalue(tup, desc, 3);
		b->task = v != NULL ? MemoryContextStrdup(b->cxt, v) : NULL;
		v = SPI_getvalue(tup, desc, 4);
		b->confirmed_task = v != NULL ? MemoryContextStrdup(b->cxt, v) : NULL;
	}
	b->has_video = !isnull;
	SPI_finish();
	MemoryContextSwitchTo(cxt);

	actions_scan(session_id, dataset_emit, b);
}

/* Sets up a materialized SETOF jsonb result and the build state for it. */
static void
dataset_init(FunctionCallInfo fcinfo, DatasetBuild *b)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	memset(b, 0, sizeof(*b));
	b->store = rsinfo->setResult;
	b->desc = rsinfo->setDesc;
	b->website_pattern = cstring_to_text("^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)");
	b->cxt = CurrentMemoryContext;
}

/*
 * codesight.dataset_session(session_id text) RETURNS SETOF jsonb: the
 * dataset lines of one session, in action order.
 */
PG_FUNCTION_INFO_V1(codesight_dataset_session);
Datum
codesight_dataset_session(PG_FUNCTION_ARGS)
{
	DatasetBuild b;

	dataset_init(fcinfo, &b);
	dataset_session_rows(&b, PG_GETARG_TEXT_P(0));
	return (Datum) 0;
}

/*
 * codesight.export_dataset(since timestamptz, status text, task_id bigint,
 * until timestamptz, min_score int) RETURNS SETOF jsonb: the lines of every
 * session codesight._dataset_sessions picks (NULL filters nothing),
 * sessions in start order.  Sessions are read through a cursor and each session's
 * lines go to the result before the next is read; the result spills to
 * disk past work_mem, so memory stays bounded.
 */
PG_FUNCTION_INFO_V1(codesight_export_dataset);
Datum
codesight_export_dataset(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext batchcxt;
	DatasetBuild b;
	Oid			argtypes[5] = {TIMESTAMPTZOID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT4OID};
	Datum		args[5];
	char		argnulls[5];
	Portal		portal;

	dataset_init(fcinfo, &b);
	for (int i = 0; i < 5; i++)
	{
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		argnulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	batchcxt = AllocSetContextCreate(cxt, "codesight export_dataset",
									 ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT d.session_id"
									   "  FROM codesight._dataset_sessions($1, $4, $2, $3, $5) d"
									   " ORDER BY d.started_at, d.session_id",
									   5, argtypes, args, argnulls, true, 0);
	for (;;)
	{
		uint64		n;
		text	  **ids;

		SPI_cursor_fetch(portal, true, 100);
		/* SPI left its own context current; the ids are kept in ours */
		n = SPI_processed;
		if (n == 0)
			break;
		MemoryContextReset(batchcxt);
		MemoryContextSwitchTo(batchcxt);
		ids = palloc(n * sizeof(text *));
		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;

			ids[i] = DatumGetTextPCopy(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
		for (uint64 i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			dataset_session_rows(&b, ids[i]);
		}
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextSwitchTo(cxt);
	MemoryContextDelete(batchcxt);
	return (Datum) 0;
}

/*
 * The Playwright export: the test's body (one statement per action), the
 * helper functions it calls and the parameters its masked values became,
 * gathered in one pass over the actions.  docs/exports.md states the rules.
 *
 * Everything recorded is data from a client: it reaches the script only
 * as JSON string literals (valid JavaScript), numbers printed by
 * numeric_out, or comment text with line breaks removed, so no recorded
 * value can add code to the script.
 */

/* A parameter a masked value became: CS_<KIND>, CS_<KIND>_2, ... */
typedef struct PlaywrightParam
{
	char	   *kind;
	char	   *key;			/* the field it is typed into, and its place */
	char	   *name;
	char	   *description;	/* what the field is, for the header */
} PlaywrightParam;

typedef struct PlaywrightBuild
{
	MemoryContext cxt;			/* body, params */
	StringInfoData body;
	bool		has_body;		/* any line yet */
	int32		n_steps;
	bool		uses_locate;
	bool		uses_scroll;
	bool		uses_element_scroll;
	const char *prev_op;		/* op of the row before, NULL at first */
	List	   *params;			/* PlaywrightParam *, in order of first use */
} PlaywrightBuild;

/* Recorded alternatives a step tries at most (docs/exports.md). */
#define PLAYWRIGHT_MAX_CANDIDATES 4

static const char *const playwright_locate_helper =
"// The first of a step's recorded locators that finds exactly one element.\n"
"// The recorder ranked them and checked each against the page; the first\n"
"// gets a few seconds to appear before the others are tried.\n"
"async function locate(...candidates) {\n"
"  await candidates[0].first().waitFor({ state: 'attached', timeout: 5000 }).catch(() => {});\n"
"  await candidates.reduce((a, b) => a.or(b)).first().waitFor({ state: 'attached' });\n"
"  for (const candidate of candidates) if ((await candidate.count()) === 1) return candidate;\n"
"  return candidates[0];\n"
"}\n";

static const char *const playwright_scroll_helper =
"// Scrolls the window to (x, y) as the user did, waiting for content that\n"
"// loads on scroll to make the page tall enough.\n"
"async function scrollToPosition(page, x, y) {\n"
"  for (let i = 0; i < 50; i++) {\n"
"    const { top, height } = await page.evaluate(([sx, sy]) => {\n"
"      window.scrollTo(sx, sy);\n"
"      return { top: window.scrollY, height: document.documentElement.scrollHeight };\n"
"    }, [x, y]);\n"
"    if (top >= y - 1) return;\n"
"    const grew = await page.waitForFunction((h) => document.documentElement.scrollHeight > h,\n"
"      height, { timeout: 2000 }).then(() => true, () => false);\n"
"    if (!grew) return;\n"
"  }\n"
"}\n";

static const char *const playwright_element_scroll_helper =
"// Scrolls an element of the page (a list that renders its rows as they\n"
"// scroll into view) to (x, y) as the user did.\n"
"async function scrollElementTo(box, x, y) {\n"
"  await box.evaluate((el, [sx, sy]) => el.scrollTo(sx, sy), [x, y]);\n"
"}\n";

/* Appends _js(s): a JavaScript string literal, "" for NULL (to_json). */
static void
js_append(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "\"\"");
	else
		escape_json(buf, s);
}

/* Appends _js(s) for the first len bytes of s. */
static void
js_append_n(StringInfo buf, const char *s, int len)
{
	char	   *part = pnstrdup(s, len);

	escape_json(buf, part);
	pfree(part);
}

/*
 * Appends s as the text of a // comment: every control character and line
 * separator (which would end the comment) becomes a space.
 */
static void
comment_append(StringInfo buf, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		/* U+2028 and U+2029 are E2 80 A8 / A9 in UTF-8 */
		if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
		{
			appendStringInfoChar(buf, ' ');
			p += 2;
		}
		else
			appendStringInfoChar(buf, *p < 0x20 || *p == 0x7F ? ' ' : (char) *p);
	}
}

/* A harmless test value of a placeholder kind's shape. */
static const char *
mask_default(const char *kind)
{
	static const char *const defaults[][2] = {
		{"EMAIL", "user@example.com"},
		{"CARD_NUMBER", "4242424242424242"},
		{"CVC", "123"},
		{"PASSWORD", "Test-password-1"},
		{"SSN", "078-05-1120"},
		{"PHONE", "+15555550100"},
		{"CARD_EXPIRY", "12/34"},
		{"CARD_NAME", "Test User"},
		{"CARD_DATA", "0000"},
		{"NAME", "Test User"},
		{"ADDRESS", "1 Test Street"},
		{"POSTAL_CODE", "12345"},
		{"BIRTH_DATE", "1990-01-01"},
		{"USERNAME", "test-user"},
		{"ONE_TIME_CODE", "123456"},
		{"IBAN", "DE89370400440532013000"},
		{"TOKEN", "test-token"},
		{"SECRET", "test-secret"},
	};

	for (int i = 0; i < lengthof(defaults); i++)
		if (strcmp(kind, defaults[i][0]) == 0)
			return defaults[i][1];
	return "test-value";
}

/*
 * The first match of '<([A-Z][A-Z0-9_]{1,30})>' in s at or after from:
 * sets *start (the '<'), *kind and *kind_len; false when there is none.
 * The class excludes '>', so a run longer than 30 never matches.
 */
static bool
find_placeholder(const char *from, const char **start, const char **kind, int *kind_len)
{
	for (const char *p = from; *p != '\0'; p++)
	{
		const char *q;
		int			n = 0;

		if (p[0] != '<' || !(p[1] >= 'A' && p[1] <= 'Z'))
			continue;
		q = p + 2;
		while ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_')
		{
			q++;
			n++;
		}
		if (n >= 1 && n <= 30 && *q == '>')
		{
			*start = p;
			*kind = p + 1;
			*kind_len = n + 1;
			return true;
		}
	}
	return false;
}

/*
 * The parameter for the nth placeholder of kind in the value typed at key:
 * the same field keeps its parameter, another field of the same kind gets
 * the next number.
 */
static PlaywrightParam *
param_for(PlaywrightBuild *b, const char *kind, const char *key, int nth, const char *description)
{
	MemoryContext old;
	PlaywrightParam *p;
	char	   *full_key = psprintf("%s#%d", key, nth);
	int			same_kind = 0;
	ListCell   *lc;

	foreach(lc, b->params)
	{
		p = (PlaywrightParam *) lfirst(lc);
		if (strcmp(p->kind, kind) != 0)
			continue;
		if (strcmp(p->key, full_key) == 0)
			return p;
		same_kind++;
	}
	old = MemoryContextSwitchTo(b->cxt);
	p = palloc(sizeof(PlaywrightParam));
	p->kind = pstrdup(kind);
	p->key = pstrdup(full_key);
	p->name = same_kind == 0 ? psprintf("CS_%s", kind) : psprintf("CS_%s_%d", kind, same_kind + 1);
	p->description = pstrdup(description);
	b->params = lappend(b->params, p);
	MemoryContextSwitchTo(old);
	return p;
}

/*
 * Appends a recorded value as a JavaScript expression: its literal, with
 * each placeholder <KIND> turned into (process.env.CS_KIND ?? "<default>"),
 * joined by " + "; parameters are named for the field (key).
 */
static void
js_value_append(PlaywrightBuild *b, StringInfo buf, const char *s, const char *key,
				const char *description)
{
	const char *pos;
	const char *start;
	const char *kind;
	int			kind_len;
	int			n_expr = 0;
	int			nth = 0;

	if (s == NULL || !find_placeholder(s, &start, &kind, &kind_len))
	{
		js_append(buf, s != NULL ? s : "");
		return;
	}
	/* a single placeholder and nothing else: no parentheses */
	if (start == s && kind[kind_len + 1] == '\0')
	{
		char	   *k = pnstrdup(kind, kind_len);

		appendStringInfo(buf, "process.env.%s ?? ", param_for(b, k, key, 0, description)->name);
		js_append(buf, mask_default(k));
		return;
	}
	pos = s;
	for (;;)
	{
		bool		found = find_placeholder(pos, &start, &kind, &kind_len);
		const char *part_end = found ? start : pos + strlen(pos);

		if (part_end > pos)
		{
			if (n_expr++ > 0)
				appendStringInfoString(buf, " + ");
			js_append_n(buf, pos, part_end - pos);
		}
		if (!found)
			break;
		{
			char	   *k = pnstrdup(kind, kind_len);

			if (n_expr++ > 0)
				appendStringInfoString(buf, " + ");
			appendStringInfo(buf, "(process.env.%s ?? ", param_for(b, k, key, nth++, description)->name);
			js_append(buf, mask_default(k));
			appendStringInfoChar(buf, ')');
		}
		pos = kind + kind_len + 1;
	}
}

/* Whether s is neither NULL nor empty: coalesce(s, '') <> ''. */
static bool
non_empty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Whether a string anywhere in the container holds a placeholder. */
static bool
jsonb_has_placeholder(JsonbContainer *c)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken tok;
	const char *start;
	const char *kind;
	int			kind_len;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if ((tok == WJB_VALUE || tok == WJB_ELEM) && v.type == jbvString)
		{
			char	   *s = pnstrdup(v.val.string.val, v.val.string.len);

			if (find_placeholder(s, &start, &kind, &kind_len))
				return true;
		}
	}
	return false;
}

/* The numeric value of key in c printed by numeric_out, or NULL. */
static char *
jb_number(JsonbContainer *c, const char *key)
{
	JsonbValue *v = jb_get(c, key);

	if (v == NULL || v->type != jbvNumeric)
		return NULL;
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
}

/* Appends "{ x: X, y: Y }" for a recorded {x, y}; false unless both are numbers. */
static bool
point_append(StringInfo buf, Jsonb *point)
{
	char	   *x;
	char	   *y;

	if (point == NULL || !JsonContainerIsObject(&point->root))
		return false;
	x = jb_number(&point->root, "x");
	y = jb_number(&point->root, "y");
	if (x == NULL || y == NULL)
		return false;
	appendStringInfo(buf, "{ x: %s, y: %s }", x, y);
	return true;
}

/* Appends "page" and one .frameLocator(sel) per framePath entry. */
static void
frame_root_append(StringInfo buf, Jsonb *frame_path)
{
	appendStringInfoString(buf, "page");
	if (frame_path != NULL && JsonContainerIsArray(&frame_path->root) &&
		!JsonContainerIsScalar(&frame_path->root))
	{
		uint32		n = JsonContainerSize(&frame_path->root);

		for (uint32 i = 0; i < n; i++)
		{
			JsonbValue *f = getIthJsonbValueFromContainer(&frame_path->root, i);

			appendStringInfoString(buf, ".frameLocator(");
			js_append(buf, jb_text(f));
			appendStringInfoChar(buf, ')');
		}
	}
}

/*
 * Appends the call finding a test id: getByTestId for data-testid (what
 * Playwright's config uses unless told otherwise), else a CSS attribute
 * selector; false for no value or an attribute name that is not a name.
 */
static bool
testid_append(StringInfo buf, const char *attr, const char *value)
{
	StringInfoData css;

	if (!non_empty(value))
		return false;
	if (attr == NULL || strcmp(attr, "data-testid") == 0)
	{
		appendStringInfoString(buf, ".getByTestId(");
		js_append(buf, value);
		appendStringInfoChar(buf, ')');
		return true;
	}
	for (const char *p = attr; *p; p++)
		if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_')
			return false;
	initStringInfo(&css);
	appendStringInfo(&css, "[%s=\"", attr);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\\' || *p == '"')
			appendStringInfoChar(&css, '\\');
		appendStringInfoChar(&css, *p);
	}
	appendStringInfoString(&css, "\"]");
	appendStringInfoString(buf, ".locator(");
	js_append(buf, css.data);
	appendStringInfoChar(buf, ')');
	return true;
}

/*
 * Appends the Playwright calls of one recorded locator (docs/events.md,
 * "locators"): the calls of the scope it lies `within` first; false when
 * the locator is of no kind this export knows or lacks its fields.
 */
static bool
locator_call_append(StringInfo buf, JsonbContainer *loc)
{
	char	   *by = jb_get_text(loc, "by");
	JsonbContainer *within = jb_object(jb_get(loc, "within"));
	char	   *s;
	char	   *has_text;

	if (by == NULL)
		return false;
	if (within != NULL && !locator_call_append(buf, within))
		return false;
	if (strcmp(by, "testId") == 0)
	{
		if (!testid_append(buf, jb_get_text(loc, "attribute"), jb_get_text(loc, "value")))
			return false;
	}
	else if (strcmp(by, "role") == 0)
	{
		char	   *role = jb_get_text(loc, "role");
		char	   *name = jb_get_text(loc, "name");
		char	   *pattern = jb_get_text(loc, "pattern");

		if (!non_empty(role) || (!non_empty(name) && !non_empty(pattern)))
			return false;
		appendStringInfoString(buf, ".getByRole(");
		js_append(buf, role);
		if (non_empty(pattern))
		{
			/* a RegExp from a string literal: the pattern cannot end it */
			appendStringInfoString(buf, ", { name: new RegExp(");
			js_append(buf, pattern);
			appendStringInfoString(buf, ", \"u\") })");
		}
		else
		{
			appendStringInfoString(buf, ", { name: ");
			js_append(buf, name);
			appendStringInfoString(buf, ", exact: true })");
		}
	}
	else if (strcmp(by, "label") == 0 || strcmp(by, "placeholder") == 0 || strcmp(by, "text") == 0)
	{
		if (!non_empty(s = jb_get_text(loc, "text")))
			return false;
		appendStringInfoString(buf, strcmp(by, "label") == 0 ? ".getByLabel(" :
							   strcmp(by, "placeholder") == 0 ? ".getByPlaceholder(" : ".getByText(");
		js_append(buf, s);
		appendStringInfoString(buf, ", { exact: true })");
	}
	else if (strcmp(by, "css") == 0 || strcmp(by, "xpath") == 0)
	{
		if (!non_empty(s = jb_get_text(loc, "selector")))
			return false;
		appendStringInfoString(buf, ".locator(");
		js_append(buf, strcmp(by, "css") == 0 ? s : psprintf("xpath=%s", s));
		appendStringInfoChar(buf, ')');
	}
	else
		return false;
	if (non_empty(has_text = jb_get_text(loc, "hasText")))
	{
		appendStringInfoString(buf, ".filter({ hasText: ");
		js_append(buf, has_text);
		appendStringInfoString(buf, " })");
	}
	return true;
}

/* Recorded selector kinds that map to a Playwright text locator call. */
static const struct
{
	const char *key;
	const char *call;
}			text_locators[] = {
	{"placeholder", ".getByPlaceholder("},
	{"label", ".getByLabel("},
	{"text", ".getByText("},
};

/*
 * The locator of a target recorded before events carried ranked locators:
 * the first of data.selectors, ranked like codegen, else data.selector.
 * Appended after root; false when nothing usable was recorded.
 */
static bool
legacy_locator_append(StringInfo loc, Jsonb *selectors, const char *selector)
{
	if (selectors != NULL && JsonContainerIsObject(&selectors->root))
	{
		JsonbContainer *c = &selectors->root;
		JsonbValue *tid = jb_get(c, "testId");
		char	   *s;

		if (jb_object(tid) != NULL)
		{
			if (testid_append(loc, jb_get_text(jb_object(tid), "attribute"),
							  jb_get_text(jb_object(tid), "value")))
				return true;
		}
		else if (tid != NULL && tid->type == jbvString && non_empty(s = jb_text(tid)))
		{
			appendStringInfoString(loc, ".getByTestId(");
			js_append(loc, s);
			appendStringInfoChar(loc, ')');
			return true;
		}
		if (jb_object(jb_get(c, "role")) != NULL &&
			non_empty(jb_path_text(c, "role", "role")) &&
			non_empty(jb_path_text(c, "role", "name")))
		{
			appendStringInfoString(loc, ".getByRole(");
			js_append(loc, jb_path_text(c, "role", "role"));
			appendStringInfoString(loc, ", { name: ");
			js_append(loc, jb_path_text(c, "role", "name"));
			appendStringInfoString(loc, ", exact: true })");
			return true;
		}
		/* Then codegen's text-based locators, in its order. */
		for (int k = 0; k < lengthof(text_locators); k++)
		{
			if (non_empty(s = jb_get_text(c, text_locators[k].key)))
			{
				appendStringInfoString(loc, text_locators[k].call);
				js_append(loc, s);
				appendStringInfoString(loc, ", { exact: true })");
				return true;
			}
		}
		if (non_empty(s = jb_get_text(c, "css")))
		{
			appendStringInfoString(loc, ".locator(");
			js_append(loc, s);
			appendStringInfoChar(loc, ')');
			return true;
		}
		if (non_empty(s = jb_get_text(c, "xpath")))
		{
			appendStringInfoString(loc, ".locator(");
			js_append(loc, psprintf("xpath=%s", s));
			appendStringInfoChar(loc, ')');
			return true;
		}
	}
	if (non_empty(selector))
	{
		appendStringInfoString(loc, ".locator(");
		js_append(loc, selector);
		appendStringInfoChar(loc, ')');
		return true;
	}
	return false;
}

/*
 * Whether a locator finds its element by position among its siblings (a CSS
 * :nth-of-type or :nth-child, an XPath index), which picks another element
 * as soon as the list around it changes (a list that scrolled, a grid
 * sorted differently).
 */
static bool
locator_is_positional(JsonbContainer *loc)
{
	char	   *by = jb_get_text(loc, "by");
	char	   *sel = jb_get_text(loc, "selector");

	if (by == NULL || sel == NULL)
		return false;
	if (strcmp(by, "css") == 0)
		return strstr(sel, ":nth-") != NULL;
	if (strcmp(by, "xpath") == 0)
		return strchr(sel, '[') != NULL && strspn(strchr(sel, '[') + 1, "0123456789") > 0;
	return false;
}

/*
 * Appends the expression of a step's target: its recorded locators (up to
 * PLAYWRIGHT_MAX_CANDIDATES that hold no masked value, positional ones only
 * when nothing else is usable), one directly and several through locate(),
 * which takes the first that finds exactly one element; else the legacy
 * selectors.  false when nothing usable.
 */
static bool
target_append(PlaywrightBuild *b, StringInfo buf, Jsonb *locators, Jsonb *selectors,
			  const char *selector, Jsonb *frame_path)
{
	StringInfoData root;
	List	   *candidates = NIL;

	initStringInfo(&root);
	frame_root_append(&root, frame_path);
	if (locators != NULL && JsonContainerIsArray(&locators->root) && !JsonContainerIsScalar(&locators->root))
	{
		uint32		n = JsonContainerSize(&locators->root);
		bool		positional_ok = true;

		/* positions are a last resort: kept only when nothing else is usable */
		for (uint32 i = 0; i < n && positional_ok; i++)
		{
			JsonbContainer *loc = jb_container(getIthJsonbValueFromContainer(&locators->root, i));

			if (loc != NULL && JsonContainerIsObject(loc) && !jsonb_has_placeholder(loc) &&
				!locator_is_positional(loc))
			{
				StringInfoData probe;

				initStringInfo(&probe);
				positional_ok = !locator_call_append(&probe, loc);
			}
		}
		for (uint32 i = 0; i < n && list_length(candidates) < PLAYWRIGHT_MAX_CANDIDATES; i++)
		{
			JsonbContainer *loc = jb_container(getIthJsonbValueFromContainer(&locators->root, i));
			StringInfoData expr;
			ListCell   *lc;
			bool		seen = false;

			if (loc == NULL || !JsonContainerIsObject(loc) || jsonb_has_placeholder(loc) ||
				(!positional_ok && locator_is_positional(loc)))
				continue;
			initStringInfo(&expr);
			appendBinaryStringInfo(&expr, root.data, root.len);
			if (!locator_call_append(&expr, loc))
				continue;
			foreach(lc, candidates)
				seen = seen || strcmp((char *) lfirst(lc), expr.data) == 0;
			if (!seen)
				candidates = lappend(candidates, expr.data);
		}
	}
	if (list_length(candidates) == 1)
	{
		appendStringInfoString(buf, (char *) linitial(candidates));
		return true;
	}
	if (list_length(candidates) > 1)
	{
		ListCell   *lc;

		appendStringInfoString(buf, "(await locate(");
		foreach(lc, candidates)
		{
			if (lc != list_head(candidates))
				appendStringInfoString(buf, ", ");
			appendStringInfoString(buf, (char *) lfirst(lc));
		}
		appendStringInfoString(buf, "))");
		b->uses_locate = true;
		return true;
	}
	appendBinaryStringInfo(buf, root.data, root.len);
	if (legacy_locator_append(buf, selectors, selector))
		return true;
	buf->len -= root.len;
	buf->data[buf->len] = '\0';
	return false;
}

/*
 * What a field is, for the parameter list: its label, accessible name,
 * placeholder or name attribute as recorded, else the step.
 */
static char *
field_description(Jsonb *element, int32 step)
{
	const char *const keys[] = {"label", "name"};

	if (element != NULL && JsonContainerIsObject(&element->root))
	{
		JsonbContainer *attrs = jb_object(jb_get(&element->root, "attributes"));
		char	   *s;

		for (int i = 0; i < lengthof(keys); i++)
			if (non_empty(s = jb_get_text(&element->root, keys[i])))
				return s;
		if (attrs != NULL && (non_empty(s = jb_get_text(attrs, "placeholder")) ||
							  non_empty(s = jb_get_text(attrs, "name"))))
			return s;
	}
	return psprintf("step %d", step);
}

/*
 * The statement(s) replaying one action into line; false for none.  prev_op
 * is the op of the row before: an implicit navigation is awaited only after
 * what caused it.
 */
static bool
playwright_line(PlaywrightBuild *b, StringInfo line, Datum *values, bool *nulls, const char *op)
{
	char	   *value = row_text(values, nulls, ACOL_VALUE);
	Jsonb	   *detail = row_jsonb(values, nulls, ACOL_DETAIL);
	JsonbContainer *det = detail != NULL ? &detail->root : NULL;
	Jsonb	   *frame_path = row_jsonb(values, nulls, ACOL_FRAME_PATH);
	Jsonb	   *element = row_jsonb(values, nulls, ACOL_ELEMENT);
	int32		step = nulls[ACOL_STEP] ? 0 : DatumGetInt32(values[ACOL_STEP]);
	StringInfoData loc;
	bool		has_loc;

	if (strcmp(op, "NAVIGATE") == 0)
	{
		if (!DatumGetBool(values[ACOL_IMPLICIT]))
		{
			/* a masked query parameter becomes a parameter too */
			appendStringInfoString(line, "  await page.goto(");
			js_value_append(b, line, value, psprintf("goto %d", step), psprintf("in the URL of step %d", step));
			appendStringInfoString(line, ");");
			return true;
		}
		if (b->prev_op != NULL && (strcmp(b->prev_op, "CLICK") == 0 ||
								   strcmp(b->prev_op, "PRESS") == 0 ||
								   strcmp(b->prev_op, "SELECT") == 0))
		{
			/* origin + path only: the query may hold masked values */
			appendStringInfoString(line, "  await page.waitForURL((url) => url.origin + url.pathname === ");
			if (value == NULL)
				js_append(line, NULL);
			else
				js_append_n(line, value, strcspn(value, "?#"));
			appendStringInfoString(line, ");");
			return true;
		}
		return false;
	}
	if (strcmp(op, "SCROLL") == 0)
	{
		char	   *x = jb_get_text(det, "x");
		char	   *y = jb_get_text(det, "y");
		char	   *container = jb_get_text(det, "container");

		if (container != NULL)
		{
			appendStringInfoString(line, "  await scrollElementTo(");
			frame_root_append(line, frame_path);
			appendStringInfoString(line, ".locator(");
			js_append(line, container);
			appendStringInfoString(line, ")");
			b->uses_element_scroll = true;
		}
		else
		{
			appendStringInfoString(line, "  await scrollToPosition(page");
			b->uses_scroll = true;
		}
		appendStringInfo(line, ", %s, %s);", x != NULL ? x : "0", y != NULL ? y : "0");
		return true;
	}

	initStringInfo(&loc);
	has_loc = target_append(b, &loc, row_jsonb(values, nulls, ACOL_LOCATORS),
							row_jsonb(values, nulls, ACOL_SELECTORS),
							row_text(values, nulls, ACOL_SELECTOR), frame_path);
	if (strcmp(op, "PRESS") == 0 && !has_loc)
	{
		appendStringInfoString(line, "  await page.keyboard.press(");
		js_append(line, value);
		appendStringInfoString(line, ");");
		return true;
	}
	if (!has_loc)
	{
		appendStringInfo(line, "  // step %d: %s without a recorded target, skipped",
						 step, op_lower_names[op_from_name(op)]);
		return true;
	}
	appendStringInfo(line, "  await %s", loc.data);
	if (strcmp(op, "CLICK") == 0)
	{
		char	   *dbl = jb_get_text(det, "dblclick");
		char	   *button = jb_get_text(det, "button");
		bool		right = button != NULL && (strcmp(button, "right") == 0 || strcmp(button, "2") == 0);
		JsonbValue *pos = jb_get(det, "position");
		StringInfoData opts;

		initStringInfo(&opts);
		if (right)
			appendStringInfoString(&opts, "button: 'right'");
		if (pos != NULL && pos->type == jbvBinary)
		{
			StringInfoData point;

			initStringInfo(&point);
			if (point_append(&point, JsonbValueToJsonb(pos)))
				appendStringInfo(&opts, "%sposition: %s", opts.len > 0 ? ", " : "", point.data);
		}
		appendStringInfoString(line, dbl != NULL && text_bool(dbl) ? ".dblclick(" : ".click(");
		if (opts.len > 0)
			appendStringInfo(line, "{ %s }", opts.data);
		appendStringInfoChar(line, ')');
	}
	else if (strcmp(op, "DRAG") == 0)
	{
		JsonbContainer *to = jb_object(jb_get(det, "to"));
		JsonbValue *src_pos = jb_get(det, "sourcePosition");
		JsonbValue *dst_pos = jb_get(det, "targetPosition");
		StringInfoData dst;
		StringInfoData opts;

		initStringInfo(&dst);
		if (to == NULL ||
			!target_append(b, &dst, jb_array_copy(jb_get(to, "locators")),
						   jb_object_copy(jb_get(to, "selectors")), jb_get_text(to, "selector"), frame_path))
		{
			line->len = 0;
			line->data[0] = '\0';
			appendStringInfo(line, "  // step %d: drag without a recorded drop target, skipped", step);
			return true;
		}
		initStringInfo(&opts);
		if (src_pos != NULL && src_pos->type == jbvBinary)
		{
			appendStringInfoString(&opts, "sourcePosition: ");
			if (!point_append(&opts, JsonbValueToJsonb(src_pos)))
				opts.len = 0;
		}
		if (dst_pos != NULL && dst_pos->type == jbvBinary)
		{
			int			before = opts.len;

			appendStringInfo(&opts, "%stargetPosition: ", opts.len > 0 ? ", " : "");
			if (!point_append(&opts, JsonbValueToJsonb(dst_pos)))
				opts.len = before;
		}
		opts.data[opts.len] = '\0';
		appendStringInfo(line, ".dragTo(%s", dst.data);
		if (opts.len > 0)
			appendStringInfo(line, ", { %s }", opts.data);
		appendStringInfoChar(line, ')');
	}
	else if (strcmp(op, "TYPE") == 0 || strcmp(op, "SELECT") == 0)
	{
		appendStringInfoString(line, strcmp(op, "TYPE") == 0 ? ".fill(" : ".selectOption(");
		js_value_append(b, line, value, loc.data, field_description(element, step));
		appendStringInfoChar(line, ')');
	}
	else if (strcmp(op, "PRESS") == 0)
	{
		appendStringInfoString(line, ".press(");
		js_append(line, value);
		appendStringInfoChar(line, ')');
	}
	else if (strcmp(op, "HOVER") == 0)
		appendStringInfoString(line, ".hover()");
	else
		return false;
	appendStringInfoChar(line, ';');
	return true;
}

/* Adds one action's line to the body. */
static void
playwright_emit(Datum *values, bool *nulls, void *arg)
{
	PlaywrightBuild *b = (PlaywrightBuild *) arg;
	/* the static name, so that it outlives the row */
	const char *op = op_names[op_from_name(TextDatumGetCString(values[ACOL_OP]))];
	StringInfoData line;

	if (!DatumGetBool(values[ACOL_IMPLICIT]))
		b->n_steps++;
	initStringInfo(&line);
	if (playwright_line(b, &line, values, nulls, op))
	{
		if (b->has_body)
			appendStringInfoChar(&b->body, '\n');
		appendBinaryStringInfo(&b->body, line.data, line.len);
		b->has_body = true;
	}
	b->prev_op = op;
}

/*
 * codesight._playwright_body(session_id, OUT body, OUT n_steps, OUT
 * helpers, OUT params): the test body of export_playwright() (lines joined
 * by newlines, NULL without any), the number of real actions, the helper
 * functions the body calls (NULL for none) and the header's comment lines
 * naming the parameters masked values became (NULL for none).
 */
PG_FUNCTION_INFO_V1(codesight_playwright_body);
Datum
codesight_playwright_body(PG_FUNCTION_ARGS)
{
	PlaywrightBuild b;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4];
	StringInfoData helpers;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("function returning a record called in a context that cannot accept one"),
				 errdetail("codesight._playwright_body returns its four OUT parameters as a record."),
				 errhint("Call it in the FROM clause.")));
	memset(&b, 0, sizeof(b));
	b.cxt = CurrentMemoryContext;
	initStringInfo(&b.body);

	actions_scan(PG_GETARG_TEXT_P(0), playwright_emit, &b);

	memset(nulls, 0, sizeof(nulls));
	nulls[0] = !b.has_body;
	values[0] = b.has_body ? PointerGetDatum(cstring_to_text_with_len(b.body.data, b.body.len)) : (Datum) 0;
	values[1] = Int32GetDatum(b.n_steps);

	/* each ends with a newline; a blank line between them */
	initStringInfo(&helpers);
	if (b.uses_locate)
		appendStringInfoString(&helpers, playwright_locate_helper);
	if (b.uses_scroll)
		appendStringInfo(&helpers, "%s%s", helpers.len > 0 ? "\n" : "", playwright_scroll_helper);
	if (b.uses_element_scroll)
		appendStringInfo(&helpers, "%s%s", helpers.len > 0 ? "\n" : "", playwright_element_scroll_helper);
	nulls[2] = helpers.len == 0;
	values[2] = helpers.len > 0 ? CStringGetTextDatum(helpers.data) : (Datum) 0;

	nulls[3] = b.params == NIL;
	if (b.params != NIL)
	{
		StringInfoData params;
		ListCell   *lc;
		int			width = 0;

		foreach(lc, b.params)
			width = Max(width, (int) strlen(((PlaywrightParam *) lfirst(lc))->name));
		initStringInfo(&params);
		appendStringInfoString(&params,
							   "// Masked values are parameters: set these environment variables to replay\n"
							   "// with your own test data (each falls back to a harmless test value):");
		foreach(lc, b.params)
		{
			PlaywrightParam *p = (PlaywrightParam *) lfirst(lc);

			appendStringInfo(&params, "\n//   %-*s  ", width, p->name);
			comment_append(&params, p->description);
		}
		values[3] = CStringGetTextDatum(params.data);
	}
	else
		values[3] = (Datum) 0;
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
