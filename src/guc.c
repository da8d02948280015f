/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Defines the codesight.* configuration parameters.
 *
 * What decides the listening socket is fixed at server start; limits,
 * origins, auth and timeouts are PGC_SIGHUP so a reload changes them
 * without dropping connections.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "utils/guc.h"

#include "guc.h"

char	   *cs_listen_address = NULL;
int			cs_port = 8787;
char	   *cs_database = NULL;
char	   *cs_tls_cert_file = NULL;
char	   *cs_tls_key_file = NULL;
int			cs_max_connections = 20000;
int			cs_ingest_workers = 0;
int			cs_http_workers = 2;

int			cs_max_message_bytes = 1024 * 1024;
int			cs_batch_max_events = 1000;
int			cs_max_queue_events = 50000;
char	   *cs_allowed_origins = NULL;
char	   *cs_allowed_hosts = NULL;
int			cs_require_auth = REQUIRE_AUTH_AUTO;
int			cs_session_idle_timeout = 1800;
int			cs_disconnect_grace = 120;
int			cs_connection_idle_timeout = 90;
int			cs_max_tx_bytes = 4 * 1024 * 1024;
char	   *cs_static_dir = NULL;
int			cs_max_http_body_bytes = 1024 * 1024;
int			cs_open_registration = REQUIRE_AUTH_AUTO;
int			cs_http_rate_limit = 100;
int			cs_http_statement_timeout = 5000;
int			cs_max_export_events = 200000;
int			cs_upload_lifetime = 7 * 24 * 3600;
int			cs_upload_sweep_interval = 3600;

static const struct config_enum_entry require_auth_options[] = {
	{"auto", REQUIRE_AUTH_AUTO, false},
	{"on", REQUIRE_AUTH_ON, false},
	{"off", REQUIRE_AUTH_OFF, false},
	{"true", REQUIRE_AUTH_ON, true},
	{"false", REQUIRE_AUTH_OFF, true},
	{NULL, 0, false}
};

static void define_postmaster_gucs(void);
static void define_reloadable_gucs(void);

/* Defines every codesight.* parameter; called from _PG_init. */
void
codesight_define_gucs(void)
{
	/*
	 * What decides the worker's socket exists only for a preloaded library:
	 * PostgreSQL refuses PGC_POSTMASTER parameters defined later, and
	 * without preloading there is no worker to configure.
	 */
	if (process_shared_preload_libraries_in_progress)
		define_postmaster_gucs();
	define_reloadable_gucs();
}

/* Parameters fixed at server start: the worker's socket, database, TLS. */
static void
define_postmaster_gucs(void)
{
	DefineCustomStringVariable("codesight.listen_address",
							   "Address the codesight worker listens on.",
							   "Use 0.0.0.0 to listen on every IPv4 address; authentication is then required.",
							   &cs_listen_address, "127.0.0.1",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.port",
							"TCP port of the worker's WebSocket and HTTP server.",
							"0 disables the worker.",
							&cs_port, 8787, 0, 65535,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.database",
							   "Database the worker serves; CREATE EXTENSION codesight there.",
							   NULL, &cs_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.tls_cert_file",
							   "PEM certificate for wss:// and https://; empty serves plain ws:// and http://.",
							   NULL, &cs_tls_cert_file, "",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.tls_key_file",
							   "PEM private key matching codesight.tls_cert_file.",
							   NULL, &cs_tls_key_file, "",
							   PGC_POSTMASTER, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.max_connections",
							"Most concurrent connections the worker accepts.",
							NULL, &cs_max_connections, 20000, 10, 1000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.ingest_workers",
							"Processes that commit events in parallel; 0 picks one per CPU, up to 8.",
							"A session's events always go through the same one.  Each is a background worker: see max_worker_processes.",
							&cs_ingest_workers, 0, 0, 32,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.http_workers",
							"Processes that answer the HTTP API, run exports and call S3.",
							"Each is a background worker: see max_worker_processes.",
							&cs_http_workers, 2, 1, 64,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

/* Parameters that take effect on reload. */
static void
define_reloadable_gucs(void)
{
	DefineCustomIntVariable("codesight.max_message_bytes",
							"Largest WebSocket message accepted; larger ones close the connection with 1009.",
							NULL, &cs_max_message_bytes, 1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.batch_max_events",
							"Events committed in one transaction at most.",
							NULL, &cs_batch_max_events, 1000, 1, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.max_queue_events",
							"Stream messages received but not yet handled by the ingest workers above which the network process stops reading from clients.",
							NULL, &cs_max_queue_events, 50000, 100, 10000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.allowed_origins",
							   "Comma-separated browser origins allowed to connect and call the HTTP API; * allows any.",
							   "chrome-extension:// origins and the worker's own origin are always allowed.",
							   &cs_allowed_origins, "http://127.0.0.1:5173,http://localhost:5173",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.allowed_hosts",
							   "Comma-separated host names the HTTP API and WebSocket answer to, besides loopback names, IP addresses and the listen address; .example.com allows its subdomains, * any.",
							   "Requests naming any other host (DNS rebinding) get 403.",
							   &cs_allowed_hosts, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("codesight.require_auth",
							 "Whether streams and API calls need a token: on, off, or auto (on unless listening on loopback).",
							 NULL, &cs_require_auth, REQUIRE_AUTH_AUTO, require_auth_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.session_idle_timeout",
							"Active sessions with no event for this long are marked abandoned.",
							NULL, &cs_session_idle_timeout, 1800, 10, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.disconnect_grace",
							"How long after its connection closed without a stop a session is marked disconnected.",
							NULL, &cs_disconnect_grace, 120, 1, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.connection_idle_timeout",
							"Connections that send nothing for this long are closed.",
							NULL, &cs_connection_idle_timeout, 90, 5, 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.max_tx_bytes",
							"Unsent bytes queued for one client above which it is disconnected.",
							NULL, &cs_max_tx_bytes, 4 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomStringVariable("codesight.static_dir",
							   "Folder of the built web page served at /; empty serves none.",
							   NULL, &cs_static_dir, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.max_http_body_bytes",
							"Largest HTTP request body accepted.",
							NULL, &cs_max_http_body_bytes, 1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomEnumVariable("codesight.open_registration",
							 "Whether anyone who can reach the worker may register as a worker through POST /api/workers: on, off, or auto (on unless authentication is required).",
							 "With authentication required, open registration would hand a token to anyone who can reach the port.",
							 &cs_open_registration, REQUIRE_AUTH_AUTO, require_auth_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.http_statement_timeout",
							"Longest an HTTP request may work in the database (0 = no limit).",
							"Requests that take longer get 503; large sessions are read page by page through /events.  Calls to S3 have their own limit, codesight.s3_timeout.",
							&cs_http_statement_timeout, 5000, 0, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.max_export_events",
							"Largest session (in events) a whole-session export builds: session_data, training_data, export_playwright (0 = no limit).",
							"Larger sessions are read page by page or streamed as the dataset; a document is built whole in memory.",
							&cs_max_export_events, 200000, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.upload_lifetime",
							"How long a multipart upload may go untouched before the worker aborts it on S3.",
							"A recording left in a browser can be resumed this long after its last upload activity (docs/s3.md).",
							&cs_upload_lifetime, 7 * 24 * 3600, 60, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.upload_sweep_interval",
							"How often the worker aborts stale multipart uploads on S3 (0 = never).",
							"The first HTTP worker does it between requests, with codesight.abort_stale_uploads(codesight.upload_lifetime).",
							&cs_upload_sweep_interval, 3600, 0, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("codesight.http_rate_limit",
							"Requests per second one client address may make to the HTTP API before getting 429 (0 = no limit).",
							NULL, &cs_http_rate_limit, 100, 0, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

}

/* True when the worker only listens on a loopback address. */
static bool
listening_on_loopback(void)
{
	const char *a = cs_listen_address ? cs_listen_address : "";

	return strncmp(a, "127.", 4) == 0 || strcmp(a, "localhost") == 0 || strcmp(a, "::1") == 0;
}

/* Whether clients must authenticate, resolving "auto". */
bool
codesight_auth_required(void)
{
	if (cs_require_auth == REQUIRE_AUTH_ON)
		return true;
	if (cs_require_auth == REQUIRE_AUTH_OFF)
		return false;
	return !listening_on_loopback();
}

/* Whether anonymous registration is open, resolving "auto". */
bool
codesight_registration_open(void)
{
	if (cs_open_registration == REQUIRE_AUTH_ON)
		return true;
	if (cs_open_registration == REQUIRE_AUTH_OFF)
		return false;
	return !codesight_auth_required();
}

/* The number of ingest workers: the setting, or one per CPU (up to 8). */
int
codesight_ingest_worker_count(void)
{
	long		ncpu;

	if (cs_ingest_workers > 0)
		return cs_ingest_workers;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	return ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int) ncpu;
}

/* True when s is an IPv4 address or (bracketed) IPv6 address literal. */
static bool
is_ip_literal(const char *s, size_t n)
{
	bool		v6 = n >= 2 && s[0] == '[' && s[n - 1] == ']';
	int			dots = 0;

	if (n == 0)
		return false;
	for (size_t i = v6 ? 1 : 0; i < (v6 ? n - 1 : n); i++)
	{
		char		c = s[i];

		if (v6 ? !(isxdigit((unsigned char) c) || c == ':' || c == '.') :
			!(isdigit((unsigned char) c) || c == '.'))
			return false;
		dots += c == '.';
	}
	return v6 || dots == 3;
}

/* Case-insensitive match of host[0..n) against one allowed_hosts entry. */
static bool
host_matches(const char *host, size_t n, const char *pat, size_t plen)
{
	if (plen == 1 && pat[0] == '*')
		return true;
	if (plen > 1 && pat[0] == '.')
		return (n == plen - 1 && strncasecmp(host, pat + 1, n) == 0) ||
			(n > plen && strncasecmp(host + n - plen, pat, plen) == 0);
	return n == plen && strncasecmp(host, pat, n) == 0;
}

/*
 * Whether a Host header names this server, so a page on another name that
 * resolves here (DNS rebinding) reads nothing.  Allowed, as local
 * development servers do: IP address literals (a rebinding page always
 * uses a name), localhost and names under .localhost, the listen address,
 * and codesight.allowed_hosts.  The port is not compared.
 */
bool
codesight_host_allowed(const char *host)
{
	const char *list = cs_allowed_hosts ? cs_allowed_hosts : "";
	const char *addr = cs_listen_address ? cs_listen_address : "";
	size_t		n;

	if (host == NULL)
		return false;
	n = strlen(host);
	/* Without the port: "[::1]:8787", "127.0.0.1:8787", "name:8787". */
	if (host[0] == '[')
	{
		const char *close = strchr(host, ']');

		if (close == NULL)
			return false;
		n = close - host + 1;
	}
	else
	{
		const char *colon = strchr(host, ':');

		if (colon)
			n = colon - host;
	}
	if (n == 0 || n > 255)
		return false;
	if (is_ip_literal(host, n) || host_matches(host, n, "localhost", 9) ||
		host_matches(host, n, ".localhost", 10) ||
		(addr[0] && host_matches(host, n, addr, strlen(addr))))
		return true;
	while (*list)
	{
		const char *end;
		size_t		len;

		while (*list == ' ' || *list == ',')
			list++;
		end = list;
		while (*end && *end != ',')
			end++;
		len = end - list;
		while (len > 0 && list[len - 1] == ' ')
			len--;
		if (len > 0 && host_matches(host, n, list, len))
			return true;
		list = end;
	}
	return false;
}

/*
 * Whether a browser Origin may connect.  No Origin (a non-browser client)
 * and extension origins are allowed: an unpacked extension's id depends on
 * the folder it was loaded from, so ids can not be listed in advance.
 */
bool
codesight_origin_allowed(const char *origin)
{
	const char *list = cs_allowed_origins ? cs_allowed_origins : "";
	size_t		olen;

	if (origin == NULL || origin[0] == '\0')
		return true;
	if (strncmp(origin, "chrome-extension://", 19) == 0)
		return true;
	olen = strlen(origin);
	while (*list)
	{
		const char *end;
		size_t		n;

		while (*list == ' ' || *list == ',')
			list++;
		end = list;
		while (*end && *end != ',')
			end++;
		n = end - list;
		while (n > 0 && list[n - 1] == ' ')
			n--;
		if ((n == 1 && list[0] == '*') || (n == olen && strncmp(list, origin, n) == 0))
			return true;
		list = end;
	}
	return false;
}

/*
 * Applies a pending SIGHUP in one of codesight's processes (the network
 * process, ingest and HTTP workers all call it after their waits).
 */
void
codesight_apply_reload(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}
