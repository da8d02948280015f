/*-------------------------------------------------------------------------
 *
 * ratelimit.c
 *	  Fixed one-second windows per key, kept in a hash table in the
 *	  worker's memory.  Cheap enough to run on every request; stale keys
 *	  are pruned so a scan of many addresses can not grow it without bound.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "utils/hsearch.h"

#include "ratelimit.h"

#define RL_KEY_LEN 80
#define RL_MAX_KEYS 100000

typedef struct RateEntry
{
	char		key[RL_KEY_LEN];	/* hash key */
	int64		window;			/* the second this count is for */
	int			count;
} RateEntry;

static HTAB *rate_table = NULL;

/* The current second. */
static int64
now_second(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec;
}

/* Creates the table on first use. */
static void
ensure_table(void)
{
	HASHCTL		ctl;

	if (rate_table)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = RL_KEY_LEN;
	ctl.entrysize = sizeof(RateEntry);
	rate_table = hash_create("codesight rate limits", 256, &ctl, HASH_ELEM | HASH_STRINGS);
}

/*
 * Counts one request for key; false when the key already made per_second
 * requests in this second.  per_second <= 0 means no limit.
 */
bool
ratelimit_allow(const char *key, int per_second)
{
	char		k[RL_KEY_LEN];
	RateEntry  *e;
	bool		found;
	int64		now = now_second();

	if (per_second <= 0)
		return true;
	ensure_table();
	strlcpy(k, key, sizeof(k));
	if (hash_get_num_entries(rate_table) >= RL_MAX_KEYS)
		ratelimit_prune();
	e = hash_search(rate_table, k, HASH_ENTER, &found);
	if (!found || e->window != now)
	{
		e->window = now;
		e->count = 0;
	}
	return ++e->count <= per_second;
}

/* Drops keys whose window has passed. */
void
ratelimit_prune(void)
{
	HASH_SEQ_STATUS seq;
	RateEntry  *e;
	int64		now = now_second();

	if (rate_table == NULL)
		return;
	hash_seq_init(&seq, rate_table);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->window < now)
			hash_search(rate_table, e->key, HASH_REMOVE, NULL);
}
