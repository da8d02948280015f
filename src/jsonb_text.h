/*-------------------------------------------------------------------------
 *
 * jsonb_text.h
 *	  Writes a jsonb as JSON text, for HTTP responses.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_JSONB_TEXT_H
#define CODESIGHT_JSONB_TEXT_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

extern void jsonb_write_text(StringInfo out, const Jsonb *jb);

#endif							/* CODESIGHT_JSONB_TEXT_H */
