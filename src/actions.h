/*-------------------------------------------------------------------------
 *
 * actions.h
 *	  Turns a session's events into its action list (codesight._actions),
 *	  the one source of every training-data export (docs/exports.md).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_ACTIONS_H
#define CODESIGHT_ACTIONS_H

#include "postgres.h"

/* The columns of composite type codesight.action, in order. */
typedef enum ActionColumn
{
	ACOL_SESSION_ID,
	ACOL_ORD,
	ACOL_STEP,
	ACOL_SEQ,
	ACOL_TS,
	ACOL_OP,
	ACOL_VALUE,
	ACOL_MASKED,
	ACOL_URL,
	ACOL_FRAME_PATH,
	ACOL_SELECTORS,
	ACOL_SELECTOR,
	ACOL_ELEMENT,
	ACOL_COORDINATES,
	ACOL_IMPLICIT,
	ACOL_DETAIL,
	ACOL_LOCATORS,
	ACTION_NCOLS
} ActionColumn;

/*
 * Receives one action row.  The datums live in a context that is reset
 * after the call: copy what must last.
 */
typedef void (*ActionEmit) (Datum *values, bool *nulls, void *arg);

extern void actions_scan(text *session_id, ActionEmit emit, void *arg);

#endif							/* CODESIGHT_ACTIONS_H */
