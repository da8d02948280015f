/*-------------------------------------------------------------------------
 *
 * auth.c
 *	  Verifies bearer tokens against codesight.tokens.
 *
 * Only sha256(secret) is stored.  The token id part is looked up through
 * the primary key and the hashes are compared with CRYPTO_memcmp, so the
 * time taken does not depend on how much of a guessed secret is right.
 * Callers run inside a transaction with SPI connected.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "auth.h"

/* True when c is a lowercase hex digit. */
static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * Splits cs_<kind>_<12 hex id>_<32 hex secret>.  Pure: no database access,
 * so malformed tokens are refused before any lookup.
 */
bool
auth_parse_token(const char *token, char *kind, char *token_id, size_t idlen,
				 const char **secret)
{
	if (token == NULL || strlen(token) != 3 + 1 + 1 + 12 + 1 + 32 ||
		strncmp(token, "cs_", 3) != 0 || (token[3] != 'w' && token[3] != 'a') ||
		token[4] != '_' || token[17] != '_' || idlen < 13)
		return false;
	for (int i = 5; i < 17; i++)
		if (!is_hex(token[i]))
			return false;
	for (int i = 18; i < 50; i++)
		if (!is_hex(token[i]))
			return false;
	*kind = token[3];
	memcpy(token_id, token + 5, 12);
	token_id[12] = '\0';
	*secret = token + 18;
	return true;
}

/*
 * Checks a token: known, not revoked, its worker not disabled, secret hash
 * equal.  Fills out and returns out->valid.
 */
bool
auth_verify_token(const char *token, AuthInfo *out)
{
	static SPIPlanPtr plan = NULL;
	char		kind;
	const char *secret;
	unsigned char digest[32];
	unsigned int dlen = 0;
	Datum		arg;
	bool		isnull;
	bytea	   *stored;
	char	   *stored_kind;
	int			ret;
	MemoryContext cxt;

	memset(out, 0, sizeof(*out));
	if (!auth_parse_token(token, &kind, out->token_id, sizeof(out->token_id), &secret))
		return false;
	/* Every SPI call leaves SPI's context current; the caller's is restored. */
	cxt = CurrentMemoryContext;
	if (plan == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	p = SPI_prepare("SELECT t.kind, t.secret_hash, coalesce(t.worker_id, 0) "
									"FROM codesight.tokens t "
									"LEFT JOIN codesight.workers w ON w.worker_id = t.worker_id "
									"WHERE t.token_id = $1 AND t.revoked_at IS NULL "
									"AND w.disabled_at IS NULL",
									1, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	MemoryContextSwitchTo(cxt);
	arg = CStringGetTextDatum(out->token_id);
	ret = SPI_execute_plan(plan, &arg, NULL, true, 1);
	MemoryContextSwitchTo(cxt);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "token lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		return false;
	stored_kind = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	stored = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (EVP_Digest(secret, 32, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32)
		return false;
	if (VARSIZE_ANY_EXHDR(stored) != 32 ||
		CRYPTO_memcmp(VARDATA_ANY(stored), digest, 32) != 0)
		return false;
	if ((kind == 'a') != (strcmp(stored_kind, "admin") == 0))
		return false;
	out->admin = (kind == 'a');
	out->worker_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	out->valid = true;
	return true;
}
