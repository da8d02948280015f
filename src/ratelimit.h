/*-------------------------------------------------------------------------
 *
 * ratelimit.h
 *	  Per-key request counting in one-second windows (HTTP API limits per
 *	  client address and per token).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_RATELIMIT_H
#define CODESIGHT_RATELIMIT_H

#include "postgres.h"

extern bool ratelimit_allow(const char *key, int per_second);
extern void ratelimit_prune(void);

#endif							/* CODESIGHT_RATELIMIT_H */
