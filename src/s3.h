/*
 * s3.h
 *	  S3 configuration (codesight.s3_* settings) and the SQL functions that
 *	  presign browser uploads, verify them and write exports to S3.
 */
#ifndef CODESIGHT_S3_H
#define CODESIGHT_S3_H

/*
 * Defines the codesight.s3_* settings; called once from _PG_init, before
 * MarkGUCPrefixReserved("codesight"), which would drop their values from
 * postgresql.conf if it ran first.
 */
extern void s3_define_gucs(void);

/* codesight.s3_timeout, in ms: the HTTP workers give S3 routes this long more. */
extern int	s3_timeout_ms;

/*
 * The SQLSTATE of an S3 request that timed out (codesight.s3_timeout): its
 * own, so callers can tell a store that did not answer (HTTP 504) from one
 * that refused (502).
 */
#define ERRCODE_CS_S3_TIMEOUT MAKE_SQLSTATE('C','S','5','0','4')

#endif							/* CODESIGHT_S3_H */
