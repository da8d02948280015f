/*-------------------------------------------------------------------------
 *
 * sanitize.h
 *	  Server-side masking of personal data in recorded events: by value
 *	  (emails, card numbers, IBANs, phone numbers, SSNs, tokens and keys
 *	  inside free text and URLs) and by meaning (values stored under keys,
 *	  URL parameters and form fields whose names say what they hold).
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

#include <stdbool.h>
#include <stddef.h>

/*
 * The placeholders the server writes; the extension writes the same
 * (docs/sanitization.md).  A placeholder is '<', one or more of [A-Z_],
 * '>': no rule ever matches inside or across one.
 */
#define SAN_NAME			"<NAME>"
#define SAN_ADDRESS			"<ADDRESS>"
#define SAN_POSTAL_CODE		"<POSTAL_CODE>"
#define SAN_PHONE			"<PHONE>"
#define SAN_BIRTH_DATE		"<BIRTH_DATE>"
#define SAN_EMAIL			"<EMAIL>"
#define SAN_USERNAME		"<USERNAME>"
#define SAN_ONE_TIME_CODE	"<ONE_TIME_CODE>"
#define SAN_PASSWORD		"<PASSWORD>"
#define SAN_CARD_NUMBER		"<CARD_NUMBER>"
#define SAN_CARD_EXPIRY		"<CARD_EXPIRY>"
#define SAN_CVC				"<CVC>"
#define SAN_CARD_NAME		"<CARD_NAME>"
#define SAN_CARD_DATA		"<CARD_DATA>"
#define SAN_IBAN			"<IBAN>"
#define SAN_SSN				"<SSN>"
#define SAN_TOKEN			"<TOKEN>"
#define SAN_SECRET			"<SECRET>"

/*
 * Return codes of san_mask_text and san_mask_url:
 *	 1 = masked: *out is a malloc'd NUL-terminated string of *out_len bytes
 *		 (it may contain NULs that were in the input); the caller free()s it;
 *	 0 = unchanged: *out is NULL;
 *	-1 = out of memory: *out is NULL.
 * s may be NULL when len is 0.  Both functions are idempotent: masking
 * their output again returns 0.  URLs inside text get the URL rules.
 */
extern int	san_mask_text(const char *s, size_t len, char **out, size_t *out_len);
extern int	san_mask_url(const char *s, size_t len, char **out, size_t *out_len);

/*
 * A static placeholder for a value stored under a JSON key named like
 * personal data ("password", "cvc", "cardNumber", "iban", "firstName",
 * "postalCode", "apiKey", "accessToken", ...), or NULL.  Deliberately
 * narrower than the URL parameter rules: the extension's own keys ("key",
 * "name", "label", "value", "sessionId", ...) are never secrets.
 */
extern const char *san_placeholder_for_key(const char *key, size_t keylen);

/*
 * The placeholder for a URL query parameter name (already percent-decoded),
 * or NULL.  A superset of san_placeholder_for_key: the form field names of
 * GET forms ("name", "street", "zip", "user", ...) and the URL-only secret
 * names ("key", "session", "sid", "sig", "card", "cc", "mail", ...).
 */
extern const char *san_placeholder_for_param(const char *name, size_t namelen);

/* What the extension recorded about a form field (docs/events.md). */
#define SAN_FIELD_MAX_TYPES 4
#define SAN_FIELD_MAX_TEXTS 12
typedef struct SanField
{
	const char *autocomplete;	/* the autocomplete attribute, or NULL */
	size_t		autocomplete_len;
	const char *role;			/* the element's ARIA role, or NULL */
	size_t		role_len;
	/* input types: attributes.type, element.type, inputType, fieldType */
	const char *type[SAN_FIELD_MAX_TYPES];
	size_t		type_len[SAN_FIELD_MAX_TYPES];
	int			ntypes;
	/* name, id, label, placeholder, aria-label, title, test id, ... */
	const char *text[SAN_FIELD_MAX_TEXTS];
	size_t		text_len[SAN_FIELD_MAX_TEXTS];
	int			ntexts;
} SanField;

/*
 * The placeholder for the value of a form field, from what the field is:
 * its autocomplete tokens, its type, then the words of its name, id,
 * label, placeholder and the like; NULL when its value may be kept (after
 * the text rules).  Checkboxes, radios, buttons and search fields are
 * never personal fields.
 */
extern const char *san_field_placeholder(const SanField *field);

/*
 * The static placeholder for a kind as the extension names it in an
 * event's `masked` field ("PASSWORD" -> "<PASSWORD>"), or NULL when the
 * kind is not one of the placeholders above.
 */
extern const char *san_placeholder_for_kind(const char *kind, size_t len);

/*
 * The placeholder for a JSON number (its lexeme), or NULL: a number whose
 * integer value is a card number (the text rules' card test) is one.
 */
extern const char *san_placeholder_for_number(const char *lexeme, size_t len);

/* True when s[0..len) is a placeholder: '<', one or more [A-Z_], '>'. */
extern bool san_is_placeholder(const char *s, size_t len);

/* True when s[0..len) contains a placeholder. */
extern bool san_contains_placeholder(const char *s, size_t len);

#endif							/* CODESIGHT_SANITIZE_H */
