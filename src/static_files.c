/*-------------------------------------------------------------------------
 *
 * static_files.c
 *	  Maps a URL path to a file under codesight.static_dir and serves it.
 *
 * Runs inside libwebsockets callbacks, so it uses no PostgreSQL facility.
 * A path can never escape the folder: ".." segments, backslashes and NULs
 * are refused before touching the file system, and the resolved real path
 * must still lie under the folder's real path (symlinks included).
 * Client-side routes (no file extension) fall back to index.html.
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libwebsockets.h>

#include "static_files.h"

static const struct
{
	const char *ext;
	const char *mime;
}			mime_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".map", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".jpg", "image/jpeg"},
	{".jpeg", "image/jpeg"},
	{".gif", "image/gif"},
	{".webp", "image/webp"},
	{".ico", "image/x-icon"},
	{".txt", "text/plain; charset=utf-8"},
	{".woff", "font/woff"},
	{".woff2", "font/woff2"},
	{".webm", "video/webm"},
	{".wasm", "application/wasm"},
};

/* The content type for a file name, by extension. */
static const char *
mime_for(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
			if (strcasecmp(dot, mime_types[i].ext) == 0)
				return mime_types[i].mime;
	return "application/octet-stream";
}

/*
 * True when path has a segment starting with a dot (".", "..", and the
 * dotfiles and folders a build may leave behind: .env, .git), a backslash
 * or a control character.
 */
static bool
unsafe_path(const char *p)
{
	const char *seg = p;

	for (const char *q = p;; q++)
	{
		if (*q == '/' || *q == '\0')
		{
			if (q > seg && seg[0] == '.')
				return true;
			if (*q == '\0')
				return false;
			seg = q + 1;
			continue;
		}
		if (*q == '\\' || (unsigned char) *q < 0x20)
			return true;
	}
}

/*
 * Resolves url_path under root into out.  Returns false when there is no
 * such file or the path is not allowed.  Paths with no extension that name
 * no file resolve to index.html, for client-side routes.
 */
bool
static_resolve(const char *root, const char *url_path, char *out, size_t outlen,
			   const char **mime, bool *immutable)
{
	char		real_root[PATH_MAX];
	char		candidate[PATH_MAX];
	char		real[PATH_MAX];
	struct stat st;
	const char *last;

	if (root == NULL || root[0] == '\0' || url_path[0] != '/' || unsafe_path(url_path))
		return false;
	if (realpath(root, real_root) == NULL)
		return false;
	if (strcmp(url_path, "/") == 0)
		url_path = "/index.html";
	if (snprintf(candidate, sizeof(candidate), "%s%s", real_root, url_path) >= (int) sizeof(candidate))
		return false;
	if (stat(candidate, &st) != 0 || !S_ISREG(st.st_mode))
	{
		last = strrchr(url_path, '/');
		if (last && strchr(last, '.') != NULL)
			return false;		/* a missing asset is a 404, not the app */
		snprintf(candidate, sizeof(candidate), "%s/index.html", real_root);
	}
	if (realpath(candidate, real) == NULL)
		return false;
	if (strncmp(real, real_root, strlen(real_root)) != 0 || real[strlen(real_root)] != '/')
		return false;
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	if (strlen(real) >= outlen)
		return false;
	strcpy(out, real);
	*mime = mime_for(real);
	/* Vite puts content hashes in the names under /assets/. */
	*immutable = strstr(url_path, "/assets/") == url_path;
	return true;
}

/* Serves url_path from root, or a 404; returns the lws callback result. */
int
static_serve(struct lws *wsi, const char *url_path, const char *root)
{
	char		path[PATH_MAX];
	const char *mime;
	bool		immutable;
	const char *headers;

	if (!static_resolve(root, url_path, path, sizeof(path), &mime, &immutable))
	{
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	headers = immutable ? "Cache-Control: public, max-age=31536000, immutable\r\n"
		"X-Content-Type-Options: nosniff\r\n"
		: "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n";
	if (lws_serve_http_file(wsi, path, mime, headers, (int) strlen(headers)) < 0)
		return -1;
	return 0;
}
