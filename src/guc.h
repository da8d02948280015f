/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  Configuration parameters of the codesight extension (README.md lists
 *	  them with their defaults).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_GUC_H
#define CODESIGHT_GUC_H

#include <stdbool.h>

typedef enum RequireAuth
{
	REQUIRE_AUTH_AUTO,			/* on unless listening on loopback only */
	REQUIRE_AUTH_ON,
	REQUIRE_AUTH_OFF
} RequireAuth;

/* Fixed at server start (they decide what the worker binds and serves). */
extern char *cs_listen_address;
extern int	cs_port;
extern char *cs_database;
extern char *cs_tls_cert_file;
extern char *cs_tls_key_file;
extern int	cs_max_connections;
extern int	cs_ingest_workers;
extern int	cs_http_workers;

/* Take effect on reload (SIGHUP). */
extern int	cs_max_message_bytes;
extern int	cs_batch_max_events;
extern int	cs_max_queue_events;
extern char *cs_allowed_origins;
extern char *cs_allowed_hosts;
extern int	cs_require_auth;
extern int	cs_session_idle_timeout;
extern int	cs_disconnect_grace;
extern int	cs_connection_idle_timeout;
extern int	cs_max_tx_bytes;
extern char *cs_static_dir;
extern int	cs_max_http_body_bytes;
extern int	cs_open_registration;
extern int	cs_http_rate_limit;
extern int	cs_http_statement_timeout;
extern int	cs_max_export_events;
extern int	cs_upload_lifetime;
extern int	cs_upload_sweep_interval;

extern void codesight_define_gucs(void);
extern void codesight_apply_reload(void);
extern bool codesight_auth_required(void);
extern bool codesight_registration_open(void);
extern bool codesight_origin_allowed(const char *origin);
extern bool codesight_host_allowed(const char *host);
extern int	codesight_ingest_worker_count(void);

#endif							/* CODESIGHT_GUC_H */
