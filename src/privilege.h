/*-------------------------------------------------------------------------
 *
 * privilege.h
 *	  Runs the worker's database work as the least-privileged role for the
 *	  job (codesight_ingest, codesight_api) instead of as a superuser.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_PRIVILEGE_H
#define CODESIGHT_PRIVILEGE_H

#include "postgres.h"

typedef struct RoleSwitch
{
	Oid			save_user;
	int			save_sec_context;
} RoleSwitch;

extern void role_enter(const char *rolname, RoleSwitch *rs);
extern void role_exit(RoleSwitch *rs);

#endif							/* CODESIGHT_PRIVILEGE_H */
