/*-------------------------------------------------------------------------
 *
 * sanitize.h
 *	  Server-side masking of personal data in recorded events: emails, card
 *	  numbers and US SSNs inside free text, sensitive URL query parameters,
 *	  and values stored under keys named like secrets.
 *
 * This module is pure: no PostgreSQL, no global state, malloc for the one
 * output string, failures reported by return code.  Every scanner is
 * hand-written and runs in time linear in its input; inputs are arbitrary
 * bytes (invalid UTF-8 and NUL bytes inside len are fine).
 *
 * The rules and the exact placeholders are in docs/sanitization.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CODESIGHT_SANITIZE_H
#define CODESIGHT_SANITIZE_H

#include <stddef.h>

/* The placeholders the server writes. */
#define SAN_EMAIL		"<EMAIL>"
#define SAN_CARD_NUMBER	"<CARD_NUMBER>"
#define SAN_SSN			"<SSN>"
#define SAN_PASSWORD	"<PASSWORD>"
#define SAN_CVC			"<CVC>"
#define SAN_TOKEN		"<TOKEN>"
#define SAN_SECRET		"<SECRET>"
#define SAN_PHONE		"<PHONE>"

/*
 * Return codes of san_mask_text and san_mask_url:
 *	 1 = masked: *out is a malloc'd NUL-terminated string of *out_len bytes
 *		 (it may contain NULs that were in the input); the caller free()s it;
 *	 0 = unchanged: *out is NULL;
 *	-1 = out of memory: *out is NULL.
 * s may be NULL when len is 0.  Both functions are idempotent: masking
 * their output again returns 0.
 */
extern int	san_mask_text(const char *s, size_t len, char **out, size_t *out_len);
extern int	san_mask_url(const char *s, size_t len, char **out, size_t *out_len);

/*
 * A static placeholder for a value stored under a JSON key named like a
 * secret ("password", "cvc", "cardNumber", "ssn", "securityCode", "apiKey",
 * "accessToken", ...), or NULL.  Deliberately narrower than the URL
 * parameter rules: plain "key" (keypress events), "session" and "sessionId"
 * are not secrets here.
 */
extern const char *san_placeholder_for_key(const char *key, size_t keylen);

/*
 * The placeholder for a URL query parameter name (already percent-decoded),
 * or NULL.  A superset of san_placeholder_for_key: also "key", "session",
 * "sid", "card", "cc", "sig", "signature", "mail", "tel", "mobile".
 */
extern const char *san_placeholder_for_param(const char *name, size_t namelen);

#endif							/* CODESIGHT_SANITIZE_H */
