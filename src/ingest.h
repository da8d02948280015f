/*-------------------------------------------------------------------------
 *
 * ingest.h
 *	  Turns received stream messages into rows, one transaction per batch,
 *	  and answers clients only after COMMIT.  Runs in the ingest workers
 *	  (ingest_worker.c); each worker owns the sessions routed to it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_INGEST_H
#define CODESIGHT_INGEST_H

#include "postgres.h"

#include "protocol.h"
#include "wire.h"

/*
 * What an ingest worker knows of a client connection.  Its authentication
 * is the network process's: every message carries it, and the record
 * takes it from each.
 */
typedef struct IngestConn
{
	uint64		id;				/* hash key: the network process's id */
	bool		closed;			/* the network process said it is gone */
	bool		authenticated;
	bool		admin;
	int64		worker_id;
	char		token_id[WIRE_TOKEN_ID_LEN];
	uint64		validated_epoch;	/* auth_epoch when its token was last checked */
	bool		revoked;		/* its token was found revoked: refuse all */
	bool		told_revoked;	/* ... and the network process was told */
	int64		events_in;
	int64		events_acked;
	char		last_session[PROTO_SESSION_ID_MAX + 1];
	void	   *bound_sessions; /* owned by ingest.c */
} IngestConn;

/* One complete WebSocket message from a connection. */
typedef struct IngestMsg
{
	IngestConn *conn;
	bool		hello;			/* routed as a hello: answered with its outcome */
	double		received_ms;
	size_t		len;
	char	   *data;			/* NUL-terminated */
} IngestMsg;

extern void ingest_init(int worker_index, int nworkers);
extern void ingest_reset(void);
extern IngestConn *ingest_conn(uint64 id, bool create);
extern int64 ingest_process_batch(IngestMsg **msgs, int nmsgs);
extern void ingest_conn_closed(uint64 id);
extern void ingest_recheck_tokens(uint64 *conn_ids, int n);
extern void ingest_housekeeping(bool global);

/* Provided by the worker loop: queue an answer to a connection. */
extern void ingest_send(IngestConn *c, const char *text, size_t len, int close_code);
extern void ingest_send_auth(IngestConn *c, bool ok, const char *text, size_t len, int close_code);

#endif							/* CODESIGHT_INGEST_H */
