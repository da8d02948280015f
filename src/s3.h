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

#endif							/* CODESIGHT_S3_H */
