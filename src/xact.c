/*-------------------------------------------------------------------------
 *
 * xact.c
 *	  Runs one unit of the worker's database work in its own transaction.
 *
 * Every batch of events, HTTP request, export step and housekeeping pass
 * goes through here, so there is one place where an ERROR is caught: the
 * transaction is rolled back, a pending cancel is cleared (a cancel aborts
 * the unit of work, never the worker), and the caller gets the error to
 * answer its client with.  Work runs with SPI connected, a snapshot, and as
 * a least-privileged role (privilege.c), in the caller's memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "privilege.h"
#include "xact.h"

/*
 * Logs a unit of work's error at LOG with everything it carries: the
 * message prefixed with what failed and its SQLSTATE, and its detail, hint
 * and context lines, as the client of a backend would have seen it.  Frees
 * edata.
 */
void
xact_log_error(const char *what, ErrorData *edata)
{
	char	   *message = edata->message;

	edata->message = psprintf("%s: %s (SQLSTATE %s)", what, message,
							  unpack_sql_state(edata->sqlerrcode));
	pfree(message);
	edata->elevel = LOG;
	edata->output_to_client = false;
	edata->output_to_server = true;
	ThrowErrorData(edata);
	FreeErrorData(edata);
}

/*
 * True when the codesight extension exists in the database, read in a
 * short transaction of its own.
 */
bool
xact_extension_exists(void)
{
	bool		exists;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	exists = OidIsValid(get_extension_oid("codesight", true));
	CommitTransactionCommand();
	return exists;
}

/*
 * Runs work(arg) and commits; returns true if it committed.  On error
 * returns false and, if error is given, a copy of the error allocated in
 * the caller's memory context.  timeout_ms > 0 cancels work that runs
 * longer, as statement_timeout does for a client: a background worker's
 * SPI calls do not arm statement_timeout by themselves.
 */
bool
run_in_xact(const char *activity, const char *rolname, int timeout_ms,
			XactWork work, void *arg, ErrorData **error)
{
	MemoryContext cxt = CurrentMemoryContext;
	RoleSwitch	rs;

	if (error)
		*error = NULL;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* SPI made its own context current; the work's results live in ours. */
		MemoryContextSwitchTo(cxt);
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);
		role_enter(rolname, &rs);
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
		work(arg);
		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		role_exit(&rs);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		QueryCancelPending = false;
		/* AbortCurrentTransaction leaves TopMemoryContext current. */
		MemoryContextSwitchTo(cxt);
		if (error)
			*error = edata;
		else
			FreeErrorData(edata);
		pgstat_report_stat(false);
		return false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);

	/*
	 * A backend reports its table statistics when it goes idle; a worker
	 * must do it itself.  Without this the rows it writes never reach
	 * pg_stat_user_tables, so autovacuum never vacuums or analyzes the
	 * events and sessions tables, and their plans are made blind.  Not
	 * forced: at most one flush a second (housekeeping forces the rest).
	 */
	pgstat_report_stat(false);
	return true;
}
