/*-------------------------------------------------------------------------
 *
 * auth.h
 *	  Bearer tokens: cs_<w|a>_<token_id>_<secret>, stored as sha256(secret).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_AUTH_H
#define CODESIGHT_AUTH_H

#include "postgres.h"

typedef struct AuthInfo
{
	bool		valid;
	bool		admin;
	int64		worker_id;		/* 0 for admin tokens */
	char		token_id[32];
} AuthInfo;

extern bool auth_parse_token(const char *token, char *kind, char *token_id, size_t idlen,
							 const char **secret);
extern bool auth_verify_token(const char *token, AuthInfo *out);

#endif							/* CODESIGHT_AUTH_H */
