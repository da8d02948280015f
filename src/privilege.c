/*-------------------------------------------------------------------------
 *
 * privilege.c
 *	  Switches the current user for the rest of a transaction.
 *
 * The worker connects as the bootstrap superuser (a background worker has
 * no login of its own), but what it does with client input runs as a role
 * that can only touch CodeSight's tables: a bug in parsing or a hostile
 * message can then never reach other databases' data, COPY PROGRAM or DDL.
 * An aborted transaction restores the previous user by itself; a committing
 * one must call role_exit first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/acl.h"

#include "privilege.h"

/* Becomes rolname; call inside a transaction. */
void
role_enter(const char *rolname, RoleSwitch *rs)
{
	Oid			roleid = get_role_oid(rolname, true);

	if (!OidIsValid(roleid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", rolname),
				 errdetail("The codesight worker runs its database work as this role."),
				 errhint("Recreate it with DROP EXTENSION codesight; CREATE EXTENSION codesight;")));
	GetUserIdAndSecContext(&rs->save_user, &rs->save_sec_context);
	SetUserIdAndSecContext(roleid, rs->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

/* Returns to the user before role_enter. */
void
role_exit(RoleSwitch *rs)
{
	SetUserIdAndSecContext(rs->save_user, rs->save_sec_context);
}
