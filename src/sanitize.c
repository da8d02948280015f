/*-------------------------------------------------------------------------
 *
 * sanitize.c
 *	  Server-side masking rules (docs/sanitization.md), pure C.
 *
 * Free text is scanned in two linear passes: first emails (found from each
 * '@', extending left over the local part and right over the domain labels),
 * then, in the gaps between emails, "chains" of digit groups joined by single
 * spaces or dashes, in which card numbers and SSNs are looked for.  The
 * result is a sorted list of non-overlapping spans, each replaced by its
 * placeholder.  Placeholders start with '<' and end with '>', which no rule
 * ever matches or extends across, so masking is idempotent.
 *
 * URLs are split into userinfo, path, query and fragment; each piece is
 * percent-decoded with a map back to the original bytes, the text rules run
 * on the decoded text, and matches are replaced in the original bytes, so
 * everything that is not masked stays byte-identical.
 *
 *-------------------------------------------------------------------------
 */
#include "sanitize.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One replacement: bytes [start, end) of the input become ph. */
typedef struct SanSpan
{
	size_t		start;
	size_t		end;
	const char *ph;
} SanSpan;

/* A growable list of spans in input order. */
typedef struct SanSpans
{
	SanSpan    *v;
	size_t		n;
	size_t		cap;
} SanSpans;

/* Longest and shortest card numbers, in digits. */
#define CARD_MIN_DIGITS 13
#define CARD_MAX_DIGITS 19

/* Appends a span; returns -1 if the list cannot grow. */
static int
spans_push(SanSpans *l, size_t start, size_t end, const char *ph)
{
	if (l->n == l->cap)
	{
		size_t		cap = l->cap ? l->cap * 2 : 16;
		SanSpan    *v;

		if (cap > SIZE_MAX / sizeof(SanSpan))
			return -1;
		v = realloc(l->v, cap * sizeof(SanSpan));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].start = start;
	l->v[l->n].end = end;
	l->v[l->n].ph = ph;
	l->n++;
	return 0;
}

/* ASCII classification without locale dependence (bytes may be >= 0x80). */
static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* True for an ASCII letter. */
static inline bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* True for an ASCII letter or digit. */
static inline bool
is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

/* Lower-cases an ASCII letter, leaves every other byte alone. */
static inline unsigned char
to_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + 32) : c;
}

/*
 * A byte of an email's local part.  Non-ASCII bytes count, so that
 * "josé@example.com" is masked whole (at the price of also masking letters
 * of scripts written without spaces right before an address).
 */
static inline bool
is_local_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
		c == '-' || c >= 0x80;
}

/* A byte of a domain label (ASCII only; see docs/sanitization.md). */
static inline bool
is_label_char(unsigned char c)
{
	return is_alnum(c) || c == '-';
}

/* A top-level domain: two or more ASCII letters. */
static bool
is_tld(const unsigned char *s, size_t len)
{
	if (len < 2)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alpha(s[i]))
			return false;
	return true;
}

/*
 * Finds the emails in s[0..len) and appends them to l in order.  Each '@'
 * extends left over local-part bytes (never past the previous match) and
 * right over dot-separated labels; the match ends after the last label that
 * is a TLD, and needs at least two labels.  '@' belongs to neither class,
 * so every byte is visited at most twice: linear time.
 */
static int
find_emails(const unsigned char *s, size_t len, SanSpans *l)
{
	size_t		floor = 0;		/* end of the previous match */
	size_t		i = 0;

	while (i < len)
	{
		const unsigned char *at = memchr(s + i, '@', len - i);
		size_t		a,
					j,
					end = 0;
		int			labels = 0;

		if (at == NULL)
			break;
		i = (size_t) (at - s);
		a = i;
		while (a > floor && is_local_char(s[a - 1]))
			a--;
		while (a < i && s[a] == '.')
			a++;
		j = i + 1;
		if (a < i)
		{
			for (;;)
			{
				size_t		k = j;

				while (j < len && is_label_char(s[j]))
					j++;
				if (j == k)
					break;
				labels++;
				if (labels >= 2 && is_tld(s + k, j - k))
					end = j;
				if (j + 1 < len && s[j] == '.' && is_label_char(s[j + 1]))
					j++;
				else
					break;
			}
		}
		if (end > 0)
		{
			if (spans_push(l, a, end, SAN_EMAIL) < 0)
				return -1;
			floor = end;
			i = end;
		}
		else
			i++;
	}
	return 0;
}

/* True when the digits of s[start..end) (other bytes skipped) pass Luhn. */
static bool
luhn_valid(const unsigned char *s, size_t start, size_t end)
{
	int			sum = 0;
	int			pos = 0;

	for (size_t i = end; i > start; i--)
	{
		unsigned char c = s[i - 1];
		int			d;

		if (!is_digit(c))
			continue;
		d = c - '0';
		if (pos++ % 2 == 1)
		{
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/*
 * True when ndigits digits starting with first could be a card number.
 * No issuer uses major industry identifier 0, and the only cards starting
 * with 1 (UATP) have 15 digits; this keeps epoch timestamps in ms (13
 * digits), us (16) and ns (19), which start with 1 until 2033, unmasked.
 */
static bool
card_prefix_ok(unsigned char first, int ndigits)
{
	if (first == '0')
		return false;
	if (first == '1')
		return ndigits == 15;
	return true;
}

/* The value of the n ASCII digits at s (n is at most 4 here). */
static int
digits_value(const unsigned char *s, size_t n)
{
	int			v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* True for a valid SSN split as area(3)-group(2)-serial(4) digits. */
static bool
ssn_valid(const unsigned char *area, const unsigned char *group, const unsigned char *serial)
{
	int			a = digits_value(area, 3),
				g = digits_value(group, 2),
				s = digits_value(serial, 4);

	return a != 0 && a != 666 && a < 900 && g != 0 && s != 0;
}

/* A digit group: s[start..end) digits, sep the byte before it (0 if first). */
typedef struct Group
{
	size_t		start;
	size_t		end;
	unsigned char sep;
} Group;

/*
 * Reads the digit group starting at pos (s[pos] is a digit) within [.., to):
 * fills g and returns true when a next group follows (a single space or dash
 * then a digit), setting *next to its start.
 */
static bool
read_group(const unsigned char *s, size_t pos, size_t to, Group *g, size_t *next)
{
	size_t		e = pos;

	while (e < to && is_digit(s[e]))
		e++;
	g->start = pos;
	g->end = e;
	if (e + 1 < to && (s[e] == ' ' || s[e] == '-') && is_digit(s[e + 1]))
	{
		*next = e + 1;
		return true;
	}
	return false;
}

/*
 * Looks for a card number or SSN starting at the group at pos, within the
 * chain ending at chain_end (exclusive end of its last usable group).
 * Returns the end of the match and sets *ph, or returns 0.  A card is the
 * longest run of whole groups with 13-19 digits in all, every group of a
 * multi-group run having at least 3 digits, that passes the prefix rule and
 * Luhn; an SSN is exactly the groups ddd-dd-dddd joined by dashes.  At most
 * 19 digits are examined from each start, so the cost per start is bounded.
 */
static size_t
match_at(const unsigned char *s, size_t pos, size_t chain_end, const char **ph)
{
	Group		g[CARD_MAX_DIGITS + 1];
	int			ng = 0;
	int			digits = 0;
	size_t		next = pos;
	bool		more = true;

	while (more && ng <= CARD_MAX_DIGITS && next < chain_end)
	{
		size_t		start = next;

		more = read_group(s, start, chain_end, &g[ng], &next);
		g[ng].sep = (ng == 0) ? 0 : s[start - 1];
		digits += (int) (g[ng].end - g[ng].start);
		ng++;
		if (digits > CARD_MAX_DIGITS)
			break;
	}

	/* Cards, longest first. */
	{
		int			total = 0;
		int			best = -1;

		for (int k = 0; k < ng; k++)
		{
			int			glen = (int) (g[k].end - g[k].start);

			total += glen;
			if (total > CARD_MAX_DIGITS)
				break;
			if (k > 0 && (glen < 3 || g[0].end - g[0].start < 3))
				break;
			if (total >= CARD_MIN_DIGITS &&
				card_prefix_ok(s[g[0].start], total) &&
				luhn_valid(s, g[0].start, g[k].end))
				best = k;
		}
		if (best >= 0)
		{
			*ph = SAN_CARD_NUMBER;
			return g[best].end;
		}
	}

	/* SSN. */
	if (ng >= 3 &&
		g[0].end - g[0].start == 3 &&
		g[1].end - g[1].start == 2 && g[1].sep == '-' &&
		g[2].end - g[2].start == 4 && g[2].sep == '-' &&
		ssn_valid(s + g[0].start, s + g[1].start, s + g[2].start))
	{
		*ph = SAN_SSN;
		return g[2].end;
	}
	return 0;
}

/*
 * Finds card numbers and SSNs in s[from..to) and appends them to l.  The
 * edges of the range count as boundaries (they are placeholders in the
 * output).  A chain's first group is unusable when a letter, a '+' (the
 * country code of a phone number), or a '.' or ',' after a digit (a decimal
 * number) precedes it; symmetrically its last group is unusable when a
 * letter, or '.'/',' and a digit, follow it.  Whether a group is usable
 * thus depends only on bytes that masking never changes.
 */
static int
find_numbers(const unsigned char *s, size_t from, size_t to, SanSpans *l)
{
	size_t		i = from;

	while (i < to)
	{
		size_t		cs,
					ce,
					pos,
					next,
					last_start;
		bool		skip_first = false,
					skip_last = false;
		Group		g;

		if (!is_digit(s[i]))
		{
			i++;
			continue;
		}

		/* Delimit the chain [cs, ce) and its last group. */
		cs = i;
		pos = cs;
		last_start = cs;
		while (read_group(s, pos, to, &g, &next))
		{
			last_start = next;
			pos = next;
		}
		ce = g.end;

		if (cs > from)
		{
			unsigned char c = s[cs - 1];

			if (is_alpha(c) || c == '+' ||
				((c == '.' || c == ',') && cs - 1 > from && is_digit(s[cs - 2])))
				skip_first = true;
		}
		if (ce < to)
		{
			unsigned char c = s[ce];

			if (is_alpha(c) ||
				((c == '.' || c == ',') && ce + 1 < to && is_digit(s[ce + 1])))
				skip_last = true;
		}

		/* Try each usable group as a start, left to right. */
		{
			size_t		usable_end = ce;
			size_t		gpos = cs;

			if (skip_last)
			{
				if (last_start == cs)
				{
					i = ce;
					continue;
				}
				/* the group before the last ends just before its separator */
				usable_end = last_start - 1;
			}
			if (skip_first)
			{
				if (!read_group(s, cs, to, &g, &next) || next >= usable_end)
				{
					i = ce;
					continue;
				}
				gpos = next;
			}
			while (gpos < usable_end)
			{
				const char *ph = NULL;
				size_t		mend = match_at(s, gpos, usable_end, &ph);

				if (mend > 0)
				{
					if (spans_push(l, gpos, mend, ph) < 0)
						return -1;
					gpos = mend;
					/* skip the separator, if another group follows */
					if (gpos + 1 < usable_end && is_digit(s[gpos + 1]))
						gpos++;
					else
						break;
				}
				else if (read_group(s, gpos, usable_end, &g, &next))
					gpos = next;
				else
					break;
			}
		}
		i = ce;
	}
	return 0;
}

/* Finds every match in s[0..len): emails first, numbers between them. */
static int
find_all(const unsigned char *s, size_t len, SanSpans *emails, SanSpans *l)
{
	size_t		prev = 0;

	emails->n = 0;
	l->n = 0;
	if (len == 0)
		return 0;
	if (find_emails(s, len, emails) < 0)
		return -1;
	for (size_t k = 0; k < emails->n; k++)
	{
		if (find_numbers(s, prev, emails->v[k].start, l) < 0 ||
			spans_push(l, emails->v[k].start, emails->v[k].end, SAN_EMAIL) < 0)
			return -1;
		prev = emails->v[k].end;
	}
	return find_numbers(s, prev, len, l);
}

/*
 * Builds the output: s with each span replaced by its placeholder, as a
 * malloc'd NUL-terminated string.  Returns 1, or -1 when out of memory.
 */
static int
apply_spans(const char *s, size_t len, const SanSpans *l, char **out, size_t *out_len)
{
	size_t		n = len + 1;
	size_t		prev = 0;
	char	   *buf,
			   *p;

	for (size_t k = 0; k < l->n; k++)
		n = n - (l->v[k].end - l->v[k].start) + strlen(l->v[k].ph);
	buf = malloc(n);
	if (buf == NULL)
		return -1;
	p = buf;
	for (size_t k = 0; k < l->n; k++)
	{
		size_t		phl = strlen(l->v[k].ph);

		memcpy(p, s + prev, l->v[k].start - prev);
		p += l->v[k].start - prev;
		memcpy(p, l->v[k].ph, phl);
		p += phl;
		prev = l->v[k].end;
	}
	if (len > prev)
		memcpy(p, s + prev, len - prev);
	p += len - prev;
	*p = '\0';
	*out = buf;
	*out_len = (size_t) (p - buf);
	return 1;
}

/* Masks emails, card numbers and SSNs in free text; see sanitize.h. */
int
san_mask_text(const char *s, size_t len, char **out, size_t *out_len)
{
	SanSpans	emails = {0},
				l = {0};
	int			rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (s == NULL || len == 0)
		return 0;
	rc = find_all((const unsigned char *) s, len, &emails, &l);
	if (rc == 0 && l.n > 0)
	{
		size_t		dummy;

		rc = apply_spans(s, len, &l, out, out_len ? out_len : &dummy);
	}
	free(emails.v);
	free(l.v);
	return rc;
}

/* ---------------------------------------------------------------------
 * Key and parameter names
 * ---------------------------------------------------------------------
 */

/*
 * True when the name, with every non-alphanumeric byte dropped and letters
 * lower-cased, contains needle (lower-case alphanumeric).  Naive search:
 * needles are short, so this is linear in the name.
 */
static bool
norm_contains(const char *name, size_t len, const char *needle)
{
	size_t		nl = strlen(needle);

	for (size_t i = 0; i < len; i++)
	{
		size_t		j = i,
					k = 0;

		if (!is_alnum((unsigned char) name[i]))
			continue;
		while (k < nl && j < len)
		{
			unsigned char c = (unsigned char) name[j++];

			if (!is_alnum(c))
				continue;
			if (to_lower(c) != (unsigned char) needle[k])
				break;
			k++;
		}
		if (k == nl)
			return true;
	}
	return false;
}

/* True when the normalized name (see norm_contains) equals word. */
static bool
norm_equals(const char *name, size_t len, const char *word)
{
	size_t		k = 0,
				wl = strlen(word);

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) name[i];

		if (!is_alnum(c))
			continue;
		if (k >= wl || to_lower(c) != (unsigned char) word[k])
			return false;
		k++;
	}
	return k == wl;
}

/* True when the word s[0..n) equals w (lower-case) ignoring ASCII case. */
static bool
word_is(const char *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (to_lower((unsigned char) s[i]) != (unsigned char) w[i])
			return false;
	return true;
}

/*
 * True when one of the words of the name is in the NULL-terminated list.
 * Words are split at non-alphanumeric bytes and at camelCase humps
 * ("cardCvc" -> card, Cvc; "APIKey" -> API, Key).
 */
static bool
has_word(const char *name, size_t len, const char *const *words)
{
	size_t		i = 0;

	while (i < len)
	{
		size_t		st;

		while (i < len && !is_alnum((unsigned char) name[i]))
			i++;
		if (i >= len)
			break;
		st = i++;
		while (i < len && is_alnum((unsigned char) name[i]))
		{
			unsigned char prev = (unsigned char) name[i - 1],
						c = (unsigned char) name[i];
			bool		upper = c >= 'A' && c <= 'Z';

			if (upper && ((prev >= 'a' && prev <= 'z') || is_digit(prev)))
				break;
			if (upper && prev >= 'A' && prev <= 'Z' && i + 1 < len &&
				name[i + 1] >= 'a' && name[i + 1] <= 'z')
				break;
			i++;
		}
		for (int k = 0; words[k]; k++)
			if (word_is(name + st, i - st, words[k]))
				return true;
	}
	return false;
}

/* True when the normalized name contains one of the needles. */
static bool
contains_any(const char *name, size_t len, const char *const *needles)
{
	for (int k = 0; needles[k]; k++)
		if (norm_contains(name, len, needles[k]))
			return true;
	return false;
}

/* True when the normalized name equals one of the words. */
static bool
equals_any(const char *name, size_t len, const char *const *words)
{
	for (int k = 0; words[k]; k++)
		if (norm_equals(name, len, words[k]))
			return true;
	return false;
}

/*
 * Classifies a key or parameter name; url enables the broader names that
 * are only secrets in URLs.  The lists are documented in
 * docs/sanitization.md; the order decides for names matching several.
 */
static const char *
classify_name(const char *name, size_t len, bool url)
{
	static const char *const pw_contains[] = {"password", "passwd", "passphrase", "passcode",
	"passwort", "kennwort", "onetimecode", NULL};
	static const char *const pw_words[] = {"pwd", "pass", "pw", "pin", "otp", NULL};
	static const char *const cvc_contains[] = {"cvc", "cvv", "securitycode", "cardcode",
	"cardverification", NULL};
	static const char *const cvc_words[] = {"csc", "cvn", NULL};
	static const char *const card_contains[] = {"cardnumber", "cardnum", "ccnumber", "ccnum",
	"creditcard", "debitcard", NULL};
	static const char *const card_equals[] = {"cardno", "ccno", "pan", NULL};
	static const char *const card_equals_url[] = {"card", "cc", NULL};
	static const char *const ssn_words[] = {"ssn", NULL};
	static const char *const ssn_contains[] = {"socialsecurity", NULL};
	static const char *const token_contains[] = {"token", "authorization", NULL};
	static const char *const token_words[] = {"auth", "jwt", "bearer", NULL};
	static const char *const secret_contains[] = {"secret", "apikey", "privatekey", "accesskey",
	"credential", NULL};
	static const char *const secret_contains_url[] = {"sessionid", "sessid", "signature", NULL};
	static const char *const secret_equals_url[] = {"key", "session", "sid", "sig", NULL};
	static const char *const email_contains[] = {"email", NULL};
	static const char *const email_equals_url[] = {"mail", NULL};
	static const char *const phone_contains[] = {"phone", NULL};
	static const char *const phone_equals[] = {"tel", "mobile", "msisdn", NULL};

	if (name == NULL || len == 0)
		return NULL;
	if (contains_any(name, len, pw_contains) || has_word(name, len, pw_words))
		return SAN_PASSWORD;
	if (contains_any(name, len, cvc_contains) || has_word(name, len, cvc_words))
		return SAN_CVC;
	if (contains_any(name, len, card_contains) || equals_any(name, len, card_equals) ||
		(url && equals_any(name, len, card_equals_url)))
		return SAN_CARD_NUMBER;
	if (has_word(name, len, ssn_words) || contains_any(name, len, ssn_contains))
		return SAN_SSN;
	if (contains_any(name, len, token_contains) || has_word(name, len, token_words))
		return SAN_TOKEN;
	if (contains_any(name, len, secret_contains) ||
		(url && (contains_any(name, len, secret_contains_url) ||
				 equals_any(name, len, secret_equals_url))))
		return SAN_SECRET;
	if (contains_any(name, len, email_contains) ||
		(url && equals_any(name, len, email_equals_url)))
		return SAN_EMAIL;
	if (contains_any(name, len, phone_contains) || equals_any(name, len, phone_equals))
		return SAN_PHONE;
	return NULL;
}

/* The placeholder for a value under a JSON key named like a secret. */
const char *
san_placeholder_for_key(const char *key, size_t keylen)
{
	return classify_name(key, keylen, false);
}

/* The placeholder for the value of a URL query parameter name. */
const char *
san_placeholder_for_param(const char *name, size_t namelen)
{
	return classify_name(name, namelen, true);
}

/* ---------------------------------------------------------------------
 * URLs
 * ---------------------------------------------------------------------
 */

/* State of one san_mask_url call: scratch buffers and the output spans. */
typedef struct UrlCtx
{
	const unsigned char *s;
	size_t		len;
	unsigned char *dec;			/* decoded bytes of the current piece */
	size_t	   *map;			/* map[i]: input offset of decoded byte i */
	SanSpans	emails;			/* scratch for find_all */
	SanSpans	found;			/* matches in decoded text */
	SanSpans	out;			/* replacements, input offsets, in order */
} UrlCtx;

/* Value of a hex digit, or -1. */
static int
hex_val(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c = to_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decodes s[a..b) into cx->dec, recording for each decoded byte
 * where it starts in the input (map[n] = b).  plus_space decodes '+' as a
 * space (form encoding, for query and fragment parameters).  Malformed
 * escapes are kept literally.  Returns the decoded length.
 */
static size_t
url_decode(UrlCtx *cx, size_t a, size_t b, bool plus_space)
{
	size_t		n = 0;
	size_t		i = a;

	while (i < b)
	{
		unsigned char c = cx->s[i];
		int			h,
					lo;

		cx->map[n] = i;
		if (c == '%' && i + 2 < b &&
			(h = hex_val(cx->s[i + 1])) >= 0 &&
			(lo = hex_val(cx->s[i + 2])) >= 0)
		{
			cx->dec[n++] = (unsigned char) (h * 16 + lo);
			i += 3;
			continue;
		}
		cx->dec[n++] = (plus_space && c == '+') ? ' ' : c;
		i++;
	}
	cx->map[n] = b;
	return n;
}

/* True when d[0..n) is a placeholder: '<', one or more [A-Z_], '>'. */
static bool
is_placeholder(const unsigned char *d, size_t n)
{
	if (n < 3 || d[0] != '<' || d[n - 1] != '>')
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!((d[i] >= 'A' && d[i] <= 'Z') || d[i] == '_'))
			return false;
	return true;
}

/*
 * True when d[0..n) contains a placeholder.  A parameter name holding one
 * was masked by the text rules, and is never classified as sensitive:
 * otherwise "<EMAIL>" in a masked name would make the name look like
 * "email" on a second pass, and masking would not be idempotent.
 */
static bool
contains_placeholder(const unsigned char *d, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		size_t		j;

		if (d[i] != '<')
		{
			i++;
			continue;
		}
		j = i + 1;
		while (j < n && ((d[j] >= 'A' && d[j] <= 'Z') || d[j] == '_'))
			j++;
		if (j > i + 1 && j < n && d[j] == '>')
			return true;
		i = j;
	}
	return false;
}

/* Applies the text rules to the decoded input piece [a, b). */
static int
url_mask_piece(UrlCtx *cx, size_t a, size_t b, bool plus_space)
{
	size_t		n;

	if (a >= b)
		return 0;
	n = url_decode(cx, a, b, plus_space);
	if (find_all(cx->dec, n, &cx->emails, &cx->found) < 0)
		return -1;
	for (size_t k = 0; k < cx->found.n; k++)
	{
		SanSpan    *sp = &cx->found.v[k];

		if (spans_push(&cx->out, cx->map[sp->start], cx->map[sp->end], sp->ph) < 0)
			return -1;
	}
	return 0;
}

/*
 * Masks the parameters in [a, b), separated by '&': a sensitive name gets
 * its non-empty value replaced by the placeholder (unless the value already
 * is one); any other value gets the text rules, and so does every name.
 */
static int
url_mask_params(UrlCtx *cx, size_t a, size_t b)
{
	size_t		i = a;

	while (i <= b)
	{
		const unsigned char *amp = (i < b) ? memchr(cx->s + i, '&', b - i) : NULL;
		size_t		pe = amp ? (size_t) (amp - cx->s) : b;
		const unsigned char *eq = (i < pe) ? memchr(cx->s + i, '=', pe - i) : NULL;

		if (eq != NULL)
		{
			size_t		ne = (size_t) (eq - cx->s);
			size_t		dn = url_decode(cx, i, ne, true);
			const char *ph = contains_placeholder(cx->dec, dn) ? NULL :
				san_placeholder_for_param((const char *) cx->dec, dn);

			if (url_mask_piece(cx, i, ne, true) < 0)
				return -1;
			if (ph != NULL)
			{
				size_t		vn = url_decode(cx, ne + 1, pe, true);

				if (vn > 0 && !is_placeholder(cx->dec, vn) &&
					spans_push(&cx->out, ne + 1, pe, ph) < 0)
					return -1;
			}
			else if (url_mask_piece(cx, ne + 1, pe, true) < 0)
				return -1;
		}
		else if (url_mask_piece(cx, i, pe, true) < 0)
			return -1;
		if (amp == NULL)
			break;
		i = pe + 1;
	}
	return 0;
}

/* True when s[0..n) starts with a URL scheme followed by "://"; sets *end. */
static bool
url_scheme(const unsigned char *s, size_t n, size_t *end)
{
	size_t		i = 0;

	if (n == 0 || !is_alpha(s[0]))
		return false;
	while (i < n && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (i + 3 <= n && s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
	{
		*end = i + 3;
		return true;
	}
	return false;
}

/* Masks personal data in a URL; see sanitize.h and docs/sanitization.md. */
int
san_mask_url(const char *str, size_t len, char **out, size_t *out_len)
{
	UrlCtx		cx = {0};
	const unsigned char *s = (const unsigned char *) str;
	size_t		path_start = 0,
				query,
				frag,
				i;
	int			rc = 0;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (s == NULL || len == 0)
		return 0;
	cx.s = s;
	cx.len = len;
	cx.dec = malloc(len);
	cx.map = (len < SIZE_MAX / sizeof(size_t)) ? malloc((len + 1) * sizeof(size_t)) : NULL;
	if (cx.dec == NULL || cx.map == NULL)
	{
		rc = -1;
		goto done;
	}

	/* Fragment and query delimiters. */
	frag = len;
	for (i = 0; i < len; i++)
		if (s[i] == '#')
		{
			frag = i;
			break;
		}
	query = frag;
	for (i = 0; i < frag; i++)
		if (s[i] == '?')
		{
			query = i;
			break;
		}

	/* Authority: userinfo before the last '@' gets masked. */
	if (url_scheme(s, query, &path_start))
	{
		size_t		auth = path_start,
					ae = auth,
					at = SIZE_MAX;

		while (ae < query && s[ae] != '/')
		{
			if (s[ae] == '@')
				at = ae;
			ae++;
		}
		if (at != SIZE_MAX)
		{
			const unsigned char *colon = memchr(s + auth, ':', at - auth);

			if (colon != NULL)
			{
				size_t		pw = (size_t) (colon - s) + 1;
				size_t		dn = url_decode(&cx, pw, at, false);
				bool		mask_pw = dn > 0 && !is_placeholder(cx.dec, dn);

				/* url_mask_piece reuses cx.dec, so decide first */
				if (url_mask_piece(&cx, auth, pw - 1, false) < 0)
					rc = -1;
				else if (mask_pw && spans_push(&cx.out, pw, at, SAN_PASSWORD) < 0)
					rc = -1;
			}
			else if (url_mask_piece(&cx, auth, at, false) < 0)
				rc = -1;
		}
		path_start = ae;
	}
	if (rc < 0)
		goto done;

	/* Path, query, fragment. */
	if (url_mask_piece(&cx, path_start, query, false) < 0)
		rc = -1;
	else if (query < frag && url_mask_params(&cx, query + 1, frag) < 0)
		rc = -1;
	else if (frag < len)
	{
		const unsigned char *q = memchr(s + frag + 1, '?', len - frag - 1);

		if (q != NULL)
		{
			size_t		qi = (size_t) (q - s);

			if (url_mask_piece(&cx, frag + 1, qi, false) < 0 ||
				url_mask_params(&cx, qi + 1, len) < 0)
				rc = -1;
		}
		else if (memchr(s + frag + 1, '=', len - frag - 1) != NULL)
		{
			if (url_mask_params(&cx, frag + 1, len) < 0)
				rc = -1;
		}
		else if (url_mask_piece(&cx, frag + 1, len, false) < 0)
			rc = -1;
	}
	if (rc == 0 && cx.out.n > 0)
	{
		size_t		dummy;

		rc = apply_spans(str, len, &cx.out, out, out_len ? out_len : &dummy);
	}

done:
	free(cx.dec);
	free(cx.map);
	free(cx.emails.v);
	free(cx.found.v);
	free(cx.out.v);
	return rc;
}
