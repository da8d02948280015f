/*-------------------------------------------------------------------------
 *
 * static_files.h
 *	  Serves the built web page (codesight.static_dir) from the worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_STATIC_FILES_H
#define CODESIGHT_STATIC_FILES_H

#include <stdbool.h>
#include <stddef.h>

struct lws;

extern bool static_resolve(const char *root, const char *url_path, char *out, size_t outlen,
						   const char **mime, bool *immutable);
extern int	static_serve(struct lws *wsi, const char *url_path, const char *root);

#endif							/* CODESIGHT_STATIC_FILES_H */
