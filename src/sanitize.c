/*-------------------------------------------------------------------------
 *
 * sanitize.c
 *	  Server-side masking rules (docs/sanitization.md), pure C.
 *
 * Free text is scanned in linear passes, each over the gaps the passes
 * before it left: URLs first (each gets the URL rules), then placeholders
 * already in the text (kept as they are), then "words" (JWTs, bearer
 * credentials, cloud and service keys, private key blocks, IBANs), then
 * emails, then "chains" of digit groups joined by short separator runs, in
 * which phone numbers, card numbers and SSNs are looked for.  The result is
 * a sorted list of non-overlapping spans, each replaced by its placeholder.
 * Placeholders start with '<' and end with '>', which no rule ever matches
 * or extends across, so masking is idempotent.
 *
 * URLs are split into userinfo, path, query and fragment; each piece is
 * percent-decoded with a map back to the original bytes, the text rules run
 * on the decoded text (so a URL inside a parameter gets the URL rules too,
 * up to SAN_URL_DEPTH levels), and matches are replaced in the original
 * bytes, so everything that is not masked stays byte-identical.
 *
 * Names (JSON keys, URL parameters, form field descriptions) are
 * classified by one table of rules, each valid for some of the three.
 *
 *-------------------------------------------------------------------------
 */
#include "sanitize.h"

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

/* Levels of URLs nested in URL parameters that get the URL rules. */
#define SAN_URL_DEPTH 3

/* Scan flags: '/' does not join digit groups (URL paths). */
#define SCAN_PATH 1

/* A digit group of a chain; its digit values are in SanCtx.dig. */
typedef struct Group
{
	size_t		start;			/* bytes of the digits */
	size_t		end;
	size_t		dig;			/* offset of the first digit value */
	size_t		ndig;
	unsigned	sep;			/* SEP_* bits of the separator run before it */
	int			sepn;			/* characters in that run; 0 for the first */
} Group;

/* Scratch of one URL nesting level. */
#define LEVEL_INLINE 256
typedef struct Level
{
	unsigned char *dec;			/* decoded bytes of the current URL piece */
	size_t	   *map;			/* map[i]: offset of decoded byte i in the input */
	size_t		cap;			/* bytes dec can hold */
	/* short URLs (most) are decoded here, without malloc */
	unsigned char dec_inline[LEVEL_INLINE];
	size_t		map_inline[LEVEL_INLINE + 1];
	SanSpans	found;			/* matches in the decoded piece */
	SanSpans	urls;			/* scan_text: URL extents */
	SanSpans	words;			/* scan_text: word matches */
	SanSpans	emails;			/* scan_text: emails */
} Level;

/* State of one top-level call. */
#define GROUPS_INLINE 32
#define DIGITS_INLINE 128
typedef struct SanCtx
{
	Level		lv[SAN_URL_DEPTH + 1];
	Group	   *g;				/* the chain being read */
	size_t		gcap;
	unsigned char *dig;
	size_t		dcap;
	Group		g_inline[GROUPS_INLINE];
	unsigned char dig_inline[DIGITS_INLINE];
} SanCtx;

static int	scan_text(SanCtx *cx, int d, const unsigned char *s, size_t from, size_t to,
					  int flags, SanSpans *out);
static int	scan_url(SanCtx *cx, int d, const unsigned char *s, size_t a, size_t b,
					 SanSpans *out);

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

/* Prepares a context: nothing is allocated until needed. */
static void
ctx_init(SanCtx *cx)
{
	for (int d = 0; d <= SAN_URL_DEPTH; d++)
	{
		Level	   *lv = &cx->lv[d];

		lv->dec = lv->dec_inline;
		lv->map = lv->map_inline;
		lv->cap = LEVEL_INLINE;
		memset(&lv->found, 0, sizeof(SanSpans));
		memset(&lv->urls, 0, sizeof(SanSpans));
		memset(&lv->words, 0, sizeof(SanSpans));
		memset(&lv->emails, 0, sizeof(SanSpans));
	}
	cx->g = cx->g_inline;
	cx->gcap = GROUPS_INLINE;
	cx->dig = cx->dig_inline;
	cx->dcap = DIGITS_INLINE;
}

/* Releases what a context allocated. */
static void
ctx_free(SanCtx *cx)
{
	for (int d = 0; d <= SAN_URL_DEPTH; d++)
	{
		Level	   *lv = &cx->lv[d];

		if (lv->dec != lv->dec_inline)
			free(lv->dec);
		if (lv->map != lv->map_inline)
			free(lv->map);
		free(lv->found.v);
		free(lv->urls.v);
		free(lv->words.v);
		free(lv->emails.v);
	}
	if (cx->g != cx->g_inline)
		free(cx->g);
	if (cx->dig != cx->dig_inline)
		free(cx->dig);
}

/* ---------------------------------------------------------------------
 * Byte classes
 * ---------------------------------------------------------------------
 */

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

/* True for an ASCII upper-case letter. */
static inline bool
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

/* True for an ASCII lower-case letter. */
static inline bool
is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

/* True for an ASCII letter or digit. */
static inline bool
is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

/* A byte of base64url text (JWT segments, most API keys). */
static inline bool
is_b64url(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

/* A byte of an HTTP token68 credential, before its '=' padding. */
static inline bool
is_token68_char(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* ASCII whitespace. */
static inline bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Lower-cases an ASCII letter, leaves every other byte alone. */
static inline unsigned char
to_lower(unsigned char c)
{
	return is_upper(c) ? (unsigned char) (c + 32) : c;
}

/* Upper-cases an ASCII letter, leaves every other byte alone. */
static inline unsigned char
to_upper(unsigned char c)
{
	return is_lower(c) ? (unsigned char) (c - 32) : c;
}

/*
 * Decodes the UTF-8 sequence at s[i] (within to) into *cp; returns its
 * length, or 0 when the bytes are not a sequence.
 */
static int
utf8_at(const unsigned char *s, size_t i, size_t to, uint32_t *cp)
{
	unsigned char c = s[i];
	int			n;
	uint32_t	v;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, v = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, v = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, v = c & 0x07;
	else
		return 0;
	if (to - i < (size_t) n)
		return 0;
	for (int k = 1; k < n; k++)
	{
		if ((s[i + k] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i + k] & 0x3F);
	}
	*cp = v;
	return n;
}

/*
 * The zeros of Unicode's decimal digit blocks (general category Nd) that
 * people type numbers in: Arabic-Indic, Devanagari and the other Indic
 * scripts, Thai, Lao, Tibetan, Myanmar, Khmer, Mongolian, ..., full-width
 * (Japanese and Chinese input methods) and the mathematical digits.
 */
static const uint32_t digit_zeros[] = {
	0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6,
	0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090,
	0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40,
	0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
	0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
};

/* The value of a non-ASCII decimal digit at s[i], setting *n; or -1. */
static int
udigit_at(const unsigned char *s, size_t i, size_t to, int *n)
{
	uint32_t	cp;
	int			len = utf8_at(s, i, to, &cp);

	if (len == 0 || cp < 0x0660 || (cp > 0xABF9 && cp < 0xFF10) ||
		(cp > 0xFF19 && cp < 0x1D7CE) || cp > 0x1D7FF)
		return -1;
	for (size_t k = 0; k < sizeof(digit_zeros) / sizeof(digit_zeros[0]); k++)
		if (cp >= digit_zeros[k] && cp <= digit_zeros[k] + 9)
		{
			*n = len;
			return (int) (cp - digit_zeros[k]);
		}
	return -1;
}

/*
 * The value of the decimal digit at s[i], in any script, setting *n to its
 * length in bytes; -1 when there is none.
 */
static inline int
digit_at(const unsigned char *s, size_t i, size_t to, int *n)
{
	unsigned char c = s[i];

	if (is_digit(c))
	{
		*n = 1;
		return c - '0';
	}
	if (c < 0xD9)				/* U+0660, the first non-ASCII digit, is D9 A0 */
		return -1;
	return udigit_at(s, i, to, n);
}

/* Kinds of separator characters between digit groups. */
#define SEP_SPACE 1
#define SEP_DASH 2
#define SEP_DOT 4
#define SEP_SLASH 8
#define SEP_PAREN 16

/*
 * The length in bytes of the separator character at s[i] and its kind, or
 * 0: space, no-break and other fixed spaces, ideographic space, '-' and
 * the Unicode hyphens and en dash, '.', '/', '(' and ')'.
 */
static int
sep_at(const unsigned char *s, size_t i, size_t to, unsigned *kind)
{
	switch (s[i])
	{
		case ' ':
			*kind = SEP_SPACE;
			return 1;
		case '-':
			*kind = SEP_DASH;
			return 1;
		case '.':
			*kind = SEP_DOT;
			return 1;
		case '/':
			*kind = SEP_SLASH;
			return 1;
		case '(':
		case ')':
			*kind = SEP_PAREN;
			return 1;
		case 0xC2:				/* U+00A0 no-break space */
			if (i + 1 < to && s[i + 1] == 0xA0)
			{
				*kind = SEP_SPACE;
				return 2;
			}
			return 0;
		case 0xE2:
			if (i + 2 < to && s[i + 1] == 0x80)
			{
				unsigned char c = s[i + 2];

				/* U+2007 figure, U+2009 thin, U+200A hair, U+202F narrow no-break */
				if (c == 0x87 || c == 0x89 || c == 0x8A || c == 0xAF)
				{
					*kind = SEP_SPACE;
					return 3;
				}
				/* U+2010 to U+2013: hyphen, non-breaking hyphen, figure and en dash */
				if (c >= 0x90 && c <= 0x93)
				{
					*kind = SEP_DASH;
					return 3;
				}
			}
			return 0;
		case 0xE3:				/* U+3000 ideographic space */
			if (i + 2 < to && s[i + 1] == 0x80 && s[i + 2] == 0x80)
			{
				*kind = SEP_SPACE;
				return 3;
			}
			return 0;
		case 0xEF:				/* U+FF0D full-width hyphen-minus */
			if (i + 2 < to && s[i + 1] == 0xBC && s[i + 2] == 0x8D)
			{
				*kind = SEP_DASH;
				return 3;
			}
			return 0;
		default:
			return 0;
	}
}

/* ---------------------------------------------------------------------
 * Placeholders
 * ---------------------------------------------------------------------
 */

/* True when s[0..n) is a placeholder: '<', one or more [A-Z_], '>'. */
bool
san_is_placeholder(const char *str, size_t n)
{
	const unsigned char *d = (const unsigned char *) str;

	if (n < 3 || d[0] != '<' || d[n - 1] != '>')
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!(is_upper(d[i]) || d[i] == '_'))
			return false;
	return true;
}

/*
 * The end of the placeholder starting at s[i] (s[i] == '<') within to, or
 * 0 when there is none.
 */
static size_t
placeholder_end(const unsigned char *s, size_t i, size_t to)
{
	size_t		j = i + 1;

	while (j < to && (is_upper(s[j]) || s[j] == '_'))
		j++;
	return (j > i + 1 && j < to && s[j] == '>') ? j + 1 : 0;
}

/*
 * True when s[0..n) contains a placeholder.  A name holding one was masked
 * by the text rules, and is never classified as sensitive: otherwise
 * "<EMAIL>" in a masked name would make the name look like "email" on a
 * second pass, and masking would not be idempotent.
 */
bool
san_contains_placeholder(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t		i = 0;

	while (i < n)
	{
		const unsigned char *lt = memchr(s + i, '<', n - i);

		if (lt == NULL)
			return false;
		i = (size_t) (lt - s);
		if (placeholder_end(s, i, n) > 0)
			return true;
		i++;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Emails
 * ---------------------------------------------------------------------
 */

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
 * Finds the emails in s[from..to) and appends them to l in order.  Each '@'
 * extends left over local-part bytes (never past from or the previous
 * match) and right over dot-separated labels; the match ends after the last
 * label that is a TLD, and needs at least two labels.  '@' belongs to
 * neither class, so every byte is visited at most twice: linear time.
 */
static int
find_emails(const unsigned char *s, size_t from, size_t to, SanSpans *l)
{
	size_t		floor = from;	/* start, or the end of the previous match */
	size_t		i = from;

	while (i < to)
	{
		const unsigned char *at = memchr(s + i, '@', to - i);
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

				while (j < to && is_label_char(s[j]))
					j++;
				if (j == k)
					break;
				labels++;
				if (labels >= 2 && is_tld(s + k, j - k))
					end = j;
				if (j + 1 < to && s[j] == '.' && is_label_char(s[j + 1]))
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

/* ---------------------------------------------------------------------
 * Words: tokens, keys, private key blocks, IBANs
 * ---------------------------------------------------------------------
 */

/* True when s[i..to) starts with the ASCII string p. */
static inline bool
starts(const unsigned char *s, size_t i, size_t to, const char *p, size_t pl)
{
	return to - i >= pl && memcmp(s + i, p, pl) == 0;
}

/* True when s[i..to) starts with p (lower-case), ignoring ASCII case. */
static bool
starts_ci(const unsigned char *s, size_t i, size_t to, const char *p, size_t pl)
{
	if (to - i < pl)
		return false;
	for (size_t k = 0; k < pl; k++)
		if (to_lower(s[i + k]) != (unsigned char) p[k])
			return false;
	return true;
}

#define STARTS(s, i, to, lit) starts((s), (i), (to), (lit), sizeof(lit) - 1)

/* Length of the run of base64url bytes at s[i..to). */
static size_t
b64url_run(const unsigned char *s, size_t i, size_t to)
{
	size_t		j = i;

	while (j < to && is_b64url(s[j]))
		j++;
	return j - i;
}

/* Length of the run of ASCII letters and digits at s[i..to). */
static size_t
alnum_run(const unsigned char *s, size_t i, size_t to)
{
	size_t		j = i;

	while (j < to && is_alnum(s[j]))
		j++;
	return j - i;
}

/*
 * A JSON Web Token at s[i]: "eyJ" (base64 of '{"'), then two or more
 * further base64url segments joined by '.' (header.payload.signature; an
 * unsigned token ends with the '.'; JWE has five).  Returns its end or 0.
 */
static size_t
match_jwt(const unsigned char *s, size_t i, size_t to)
{
	size_t		j = i;
	int			segs = 0;

	if (!STARTS(s, i, to, "eyJ"))
		return 0;
	for (;;)
	{
		size_t		n = b64url_run(s, j, to);

		if ((segs == 0 && n < 10) || (segs == 1 && n < 2))
			return 0;
		segs++;
		j += n;
		if (segs >= 5 || j >= to || s[j] != '.')
			break;
		if (j + 1 < to && is_b64url(s[j + 1]))
		{
			j++;
			continue;
		}
		if (segs == 2)
		{
			j++;				/* an unsigned token: empty signature */
			segs++;
		}
		break;
	}
	return segs >= 3 ? j : 0;
}

/*
 * A credential after an HTTP authentication scheme at s[i] ("Bearer
 * <token>", "Basic <base64 of user:password>"), case-insensitive, with the
 * scheme kept.  Sets *start to the credential and returns its end, or 0.
 * A bearer token has 16 or more token68 bytes with a letter and a digit (so
 * prose such as "bearer authentication" is not one); a basic credential
 * decodes to printable text holding a ':'.
 */
static size_t
match_auth_scheme(const unsigned char *s, size_t i, size_t to, size_t *start)
{
	bool		bearer;
	size_t		j,
				k;

	if (starts_ci(s, i, to, "bearer", 6))
		bearer = true, j = i + 6;
	else if (starts_ci(s, i, to, "basic", 5))
		bearer = false, j = i + 5;
	else
		return 0;
	k = j;
	while (k < to && k - j < 4 && s[k] == ' ')
		k++;
	if (k == j)
		return 0;
	j = k;
	if (bearer)
	{
		bool		letter = false,
					digit = false;

		while (k < to && is_token68_char(s[k]))
		{
			letter |= is_alpha(s[k]);
			digit |= is_digit(s[k]);
			k++;
		}
		while (k > j && s[k - 1] == '.')
			k--;				/* a sentence's full stop, not the token's */
		if (k - j < 16 || !letter || !digit)
			return 0;
		while (k < to && s[k] == '=')
			k++;
	}
	else
	{
		uint32_t	acc = 0;
		int			bits = 0;
		bool		colon = false;

		while (k < to && (is_alnum(s[k]) || s[k] == '+' || s[k] == '/'))
		{
			int			v = is_upper(s[k]) ? s[k] - 'A' : is_lower(s[k]) ? s[k] - 'a' + 26 :
				is_digit(s[k]) ? s[k] - '0' + 52 : s[k] == '+' ? 62 : 63;

			acc = (acc << 6) | (uint32_t) v;
			bits += 6;
			if (bits >= 8)
			{
				unsigned char b = (unsigned char) (acc >> (bits - 8));

				bits -= 8;
				if (b < 0x20 || b > 0x7E)
					return 0;
				colon |= b == ':';
			}
			k++;
		}
		while (k < to && s[k] == '=' && (k - j) % 4 != 0)
			k++;
		if (k - j < 8 || (k - j) % 4 != 0 || !colon)
			return 0;
	}
	*start = j;
	return k;
}

/*
 * A private key block: "-----BEGIN ...PRIVATE KEY...-----" up to the
 * matching "-----END ...-----", or to the end of the text when that was cut
 * off.  Returns its end or 0.
 */
static size_t
match_private_key(const unsigned char *s, size_t i, size_t to)
{
	size_t		j = i + 11,
				lim;
	bool		private_key = false;

	if (!STARTS(s, i, to, "-----BEGIN "))
		return 0;
	lim = (to - j > 64) ? j + 64 : to;
	for (; j + 5 <= lim; j++)
	{
		if (STARTS(s, j, to, "PRIVATE KEY"))
			private_key = true;
		if (STARTS(s, j, to, "-----"))
			break;
	}
	if (!private_key || j + 5 > lim)
		return 0;
	for (j += 5; j + 9 <= to; j++)
	{
		const unsigned char *p = memchr(s + j, '-', to - j);

		if (p == NULL)
			break;
		j = (size_t) (p - s);
		if (STARTS(s, j, to, "-----END "))
		{
			size_t		e = j + 9;

			lim = (to - e > 64) ? e + 64 : to;
			for (; e + 5 <= lim; e++)
				if (STARTS(s, e, to, "-----"))
					return e + 5;
			return to;
		}
	}
	return to;
}

/*
 * A service's access key or token, recognised by its documented prefix
 * and length, at s[i]: AWS access key ids, Google API keys and OAuth access
 * tokens, GitHub, GitLab, Slack, npm, Stripe, SendGrid and OpenAI-style
 * keys.  Returns the end and sets *ph, or returns 0.
 */
static size_t
match_service_key(const unsigned char *s, size_t i, size_t to, const char **ph)
{
	static const char aws[][5] = {"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA",
	"ANPA", "ANVA", "APKA", "AROA", "ASCA"};
	size_t		n;

	switch (s[i])
	{
		case 'A':
			for (size_t k = 0; k < sizeof(aws) / sizeof(aws[0]); k++)
				if (starts(s, i, to, aws[k], 4))
				{
					size_t		j = i + 4;

					while (j < to && j < i + 21 && (is_upper(s[j]) || is_digit(s[j])))
						j++;
					if (j == i + 20 && (j == to || !is_alnum(s[j])))
					{
						*ph = SAN_SECRET;
						return j;
					}
					return 0;
				}
			if (STARTS(s, i, to, "AIza") && b64url_run(s, i + 4, to) == 35)
			{
				*ph = SAN_SECRET;
				return i + 39;
			}
			return 0;
		case 'g':
			if ((STARTS(s, i, to, "ghp_") || STARTS(s, i, to, "gho_") || STARTS(s, i, to, "ghu_") ||
				 STARTS(s, i, to, "ghs_") || STARTS(s, i, to, "ghr_")) &&
				(n = alnum_run(s, i + 4, to)) >= 30)
			{
				*ph = SAN_TOKEN;
				return i + 4 + n;
			}
			if (STARTS(s, i, to, "github_pat_") && (n = b64url_run(s, i + 11, to)) >= 50)
			{
				*ph = SAN_TOKEN;
				return i + 11 + n;
			}
			if (STARTS(s, i, to, "glpat-") && (n = b64url_run(s, i + 6, to)) >= 20)
			{
				*ph = SAN_TOKEN;
				return i + 6 + n;
			}
			return 0;
		case 'x':
			if (STARTS(s, i, to, "xox") && i + 4 < to && strchr("abeoprs", s[i + 3]) != NULL &&
				s[i + 3] != '\0' && s[i + 4] == '-')
			{
				size_t		j = i + 5;

				while (j < to && (is_alnum(s[j]) || s[j] == '-'))
					j++;
				if (j - (i + 5) >= 10)
				{
					*ph = SAN_TOKEN;
					return j;
				}
			}
			return 0;
		case 's':
		case 'r':
		case 'p':
			if ((STARTS(s, i + 1, to, "k_live_") || STARTS(s, i + 1, to, "k_test_")) &&
				(n = alnum_run(s, i + 8, to)) >= 10)
			{
				*ph = SAN_SECRET;
				return i + 8 + n;
			}
			if (s[i] == 's' && STARTS(s, i, to, "sk-") && (n = b64url_run(s, i + 3, to)) >= 32)
			{
				*ph = SAN_SECRET;
				return i + 3 + n;
			}
			return 0;
		case 'w':
			if (STARTS(s, i, to, "whsec_") && (n = alnum_run(s, i + 6, to)) >= 20)
			{
				*ph = SAN_SECRET;
				return i + 6 + n;
			}
			return 0;
		case 'n':
			if (STARTS(s, i, to, "npm_") && (n = alnum_run(s, i + 4, to)) >= 30)
			{
				*ph = SAN_TOKEN;
				return i + 4 + n;
			}
			return 0;
		case 'y':
			if (STARTS(s, i, to, "ya29.") && (n = b64url_run(s, i + 5, to)) >= 20)
			{
				*ph = SAN_TOKEN;
				return i + 5 + n;
			}
			return 0;
		case 'S':
			if (STARTS(s, i, to, "SG.") && (n = b64url_run(s, i + 3, to)) >= 16 &&
				i + 3 + n + 1 < to && s[i + 3 + n] == '.')
			{
				size_t		m = b64url_run(s, i + 4 + n, to);

				if (m >= 16)
				{
					*ph = SAN_SECRET;
					return i + 4 + n + m;
				}
			}
			return 0;
		default:
			return 0;
	}
}

/* IBAN lengths by country (SWIFT's IBAN registry). */
static const struct
{
	char		cc[3];
	unsigned char len;
}			iban_lengths[] = {
	{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
	{"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
	{"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
	{"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
	{"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
	{"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
	{"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
	{"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
	{"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
	{"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
	{"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
	{"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
	{"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

/* The IBAN length of a country (upper-case code), or 0. */
static int
iban_length(unsigned char a, unsigned char b)
{
	for (size_t k = 0; k < sizeof(iban_lengths) / sizeof(iban_lengths[0]); k++)
		if (iban_lengths[k].cc[0] == a && iban_lengths[k].cc[1] == b)
			return iban_lengths[k].len;
	return 0;
}

/*
 * An IBAN at s[i]: a country code, two check digits and the rest, as many
 * letters and digits as the country's IBANs have, optionally in groups
 * joined by single spaces or no-break spaces, not followed by a letter or
 * digit, and passing the ISO 7064 mod 97 check.  Returns its end or 0.
 */
static size_t
match_iban(const unsigned char *s, size_t i, size_t to)
{
	unsigned char ch[34];
	int			len,
				n = 0;
	size_t		j = i;
	unsigned	r = 0;

	if (to - i < 15 || !is_alpha(s[i]) || !is_alpha(s[i + 1]) || !is_digit(s[i + 2]) ||
		!is_digit(s[i + 3]))
		return 0;
	len = iban_length(to_upper(s[i]), to_upper(s[i + 1]));
	if (len == 0)
		return 0;
	while (n < len && j < to)
	{
		size_t		sl;

		if (is_alnum(s[j]))
		{
			ch[n++] = to_upper(s[j++]);
			continue;
		}
		sl = (s[j] == ' ') ? 1 : (s[j] == 0xC2 && j + 1 < to && s[j + 1] == 0xA0) ? 2 : 0;
		if (sl == 0 || j + sl >= to || !is_alnum(s[j + sl]))
			return 0;
		j += sl;
	}
	if (n < len || (j < to && is_alnum(s[j])))
		return 0;
	for (int k = 4; k < len + 4; k++)
	{
		unsigned char c = ch[k % len];

		if (is_digit(c))
			r = (r * 10 + (unsigned) (c - '0')) % 97;
		else
			r = (r * 100 + (unsigned) (c - 'A' + 10)) % 97;
	}
	return r == 1 ? j : 0;
}

/*
 * Finds tokens, keys, private key blocks and IBANs in s[from..to): each
 * but the key blocks starts a word (no ASCII letter or digit before it,
 * the edges and the end of a previous match count as boundaries) and is
 * recognised by its prefix, shape and, for IBANs, its checksum.  Key
 * blocks need no boundary because a number may end right before their
 * dashes; every other match ends where its characters end, so none ends
 * right before a letter or digit except after '=' padding, and emails and
 * numbers never do: whether a word starts thus does not change when masked
 * text is masked again (a placeholder's '>' then stands before it).
 */
static int
find_words(const unsigned char *s, size_t from, size_t to, SanSpans *l)
{
	size_t		i = from,
				edge = from;	/* start, or the end of the previous match */

	while (i < to)
	{
		unsigned char c = s[i];
		const char *ph = NULL;
		size_t		start = i,
					end = 0;

		if (c == '-')
		{
			/* a key block needs no boundary: numbers may end right before it */
			if ((end = match_private_key(s, i, to)) > 0)
				ph = SAN_SECRET;
		}
		else if (!is_alnum(c))
		{
			i++;
			continue;
		}
		else if (i > edge && is_alnum(s[i - 1]))
		{
			i += alnum_run(s, i, to);
			continue;
		}
		else if (c == 'e' && (end = match_jwt(s, i, to)) > 0)
			ph = SAN_TOKEN;
		else if ((c == 'B' || c == 'b') && (end = match_auth_scheme(s, i, to, &start)) > 0)
			ph = SAN_TOKEN;
		else if ((end = match_service_key(s, i, to, &ph)) > 0)
			;
		else if ((end = match_iban(s, i, to)) > 0)
			ph = SAN_IBAN;
		if (end > 0)
		{
			if (spans_push(l, start, end, ph) < 0)
				return -1;
			i = edge = end;
		}
		else
			i += (c == '-') ? 1 : alnum_run(s, i, to);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Numbers: phone numbers, card numbers, SSNs
 * ---------------------------------------------------------------------
 */

/* True when the n digit values at d pass the Luhn check. */
static bool
luhn_valid(const unsigned char *d, size_t n)
{
	int			sum = 0;

	for (size_t k = 0; k < n; k++)
	{
		int			v = d[n - 1 - k];

		if (k % 2 == 1)
		{
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* True when the n digit values at d pass the GTIN (EAN, UPC) check. */
static bool
gtin_valid(const unsigned char *d, size_t n)
{
	int			sum = 0;

	for (size_t k = 0; k < n; k++)
		sum += d[n - 1 - k] * (k % 2 == 1 ? 3 : 1);
	return sum % 10 == 0;
}

/*
 * True when the n digit values at d could be a card number: 13 to 19
 * digits, Luhn-valid, not starting with 0 (no issuer uses major industry
 * identifier 0), starting with 1 only with 15 digits (UATP; this keeps epoch
 * timestamps in ms, us and ns, which start with 1 until 2033, unmasked),
 * and not a valid 13-digit EAN barcode or ISBN (13-digit cards are no
 * longer issued; product codes are common on shop pages).
 */
static bool
card_digits_ok(const unsigned char *d, size_t n)
{
	if (n < CARD_MIN_DIGITS || n > CARD_MAX_DIGITS || d[0] == 0 || (d[0] == 1 && n != 15))
		return false;
	if (!luhn_valid(d, n))
		return false;
	return !(n == 13 && gtin_valid(d, n));
}

/* The value of the n digit values at d (n is at most 4 here). */
static int
digits_value(const unsigned char *d, size_t n)
{
	int			v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + d[i];
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

/* Makes room for group number ng (counting from 0). */
static int
grow_groups(SanCtx *cx, size_t ng)
{
	size_t		cap;
	Group	   *g;

	if (ng < cx->gcap)
		return 0;
	cap = cx->gcap * 2;
	g = (cx->g == cx->g_inline) ? malloc(cap * sizeof(Group)) : realloc(cx->g, cap * sizeof(Group));
	if (g == NULL)
		return -1;
	if (cx->g == cx->g_inline)
		memcpy(g, cx->g_inline, sizeof(cx->g_inline));
	cx->g = g;
	cx->gcap = cap;
	return 0;
}

/* Makes room for digit value number nd (counting from 0). */
static int
grow_digits(SanCtx *cx, size_t nd)
{
	size_t		cap;
	unsigned char *d;

	if (nd < cx->dcap)
		return 0;
	cap = cx->dcap * 2;
	d = (cx->dig == cx->dig_inline) ? malloc(cap) : realloc(cx->dig, cap);
	if (d == NULL)
		return -1;
	if (cx->dig == cx->dig_inline)
		memcpy(d, cx->dig_inline, nd);
	cx->dig = d;
	cx->dcap = cap;
	return 0;
}

/*
 * Reads the chain starting at the digit at s[i]: digit groups joined by
 * runs of one to three separator characters.  Fills cx->g and cx->dig;
 * returns the number of groups, or 0 when out of memory.
 */
static size_t
read_chain(SanCtx *cx, const unsigned char *s, size_t i, size_t to, int flags)
{
	size_t		ng = 0,
				nd = 0;
	unsigned	sep = 0;
	int			sepn = 0;

	for (;;)
	{
		Group	   *g;
		size_t		j;
		int			len;
		int			v;

		if (grow_groups(cx, ng) < 0)
			return 0;
		g = &cx->g[ng++];
		g->start = i;
		g->dig = nd;
		g->sep = sep;
		g->sepn = sepn;
		while (i < to && (v = digit_at(s, i, to, &len)) >= 0)
		{
			if (grow_digits(cx, nd) < 0)
				return 0;
			cx->dig[nd++] = (unsigned char) v;
			i += (size_t) len;
		}
		g = &cx->g[ng - 1];
		g->end = i;
		g->ndig = nd - g->dig;

		sep = 0;
		sepn = 0;
		j = i;
		while (j < to && sepn < 3)
		{
			unsigned	kind;
			int			sl = sep_at(s, j, to, &kind);

			if (sl == 0 || (kind == SEP_SLASH && (flags & SCAN_PATH)))
				break;
			sep |= kind;
			sepn++;
			j += (size_t) sl;
		}
		if (sepn == 0 || j >= to || digit_at(s, j, to, &len) < 0)
			break;
		i = j;
	}
	return ng;
}

/* True when a group's separator run is exactly one '.' (a decimal point). */
static inline bool
decimal_point_before(const Group *g)
{
	return g->sepn == 1 && g->sep == SEP_DOT;
}

/*
 * True when the whole chain is a phone number.  lead is '+' or '(' when
 * that character (preceded by a word boundary) stands right before the
 * chain, else 0.  Shapes:
 *	 - "+" and 8 to 15 digits in all (E.164);
 *	 - "(" 2 to 5 digits ")" and more groups, 9 to 12 digits in all;
 *	 - North American: [1] NPA NXX XXXX (3-3-4 digits, area code and
 *	   exchange starting with 2-9);
 *	 - national with a trunk prefix: a first group of 2 to 5 digits starting
 *	   with 0 (not followed by another 0: area codes never start with 0) and
 *	   more groups, 10 to 12 digits in all, the groups after the second
 *	   joined by one kind of separator; or the same after an international
 *	   prefix "00" and a country code, 10 to 17 digits in all.
 * National shapes need one separator character between groups.
 */
static bool
phone_chain(const unsigned char *s, const Group *g, size_t ng, const unsigned char *dig,
			unsigned char lead)
{
	size_t		total = 0;
	size_t		o;

	for (size_t k = 0; k < ng; k++)
		total += g[k].ndig;
	if (lead == '+')
		return total >= 8 && total <= 15;
	for (size_t k = 1; k < ng; k++)
	{
		bool		paren_run = (lead == '(' && k == 1 && s[g[0].end] == ')');

		if ((g[k].sepn != 1 || (g[k].sep & SEP_PAREN)) && !paren_run)
			return false;
	}
	if (lead == '(')
		return ng >= 2 && g[0].ndig >= 2 && g[0].ndig <= 5 && s[g[0].end] == ')' &&
			total >= 9 && total <= 12;

	o = (ng == 4 && g[0].ndig == 1 && dig[g[0].dig] == 1) ? 1 : 0;
	if (ng - o == 3 && g[o].ndig == 3 && g[o + 1].ndig == 3 && g[o + 2].ndig == 4 &&
		dig[g[o].dig] >= 2 && dig[g[o + 1].dig] >= 2 &&
		!(g[o + 1].sep & SEP_SLASH) && !(g[o + 2].sep & SEP_SLASH) &&
		!(o == 1 && (g[1].sep & SEP_SLASH)))
		return true;

	if (ng >= 2 && g[0].ndig >= 2 && g[0].ndig <= 5 && dig[g[0].dig] == 0)
	{
		bool		intl = dig[g[0].dig + 1] == 0;

		/* area and country codes never start with 0 */
		if (dig[g[0].dig + (intl ? 2 : 1)] == 0)
			return false;
		if (total < 10 || total > (intl ? 17 : 12))
			return false;
		for (size_t k = 2; k < ng; k++)
			if (g[k].sep != g[2].sep || g[k].sep == SEP_SLASH)
				return false;
		return true;
	}
	return false;
}

/*
 * Looks for a card number or SSN starting at group a of the chain, whose
 * groups up to last may be used.  Returns the index of the last group of
 * the match and sets *ph, or returns -1.  A card is the longest run of
 * whole groups with 13-19 digits in all, every group of a multi-group run
 * having at least 3 digits, no parentheses inside, not ending before a
 * decimal point, passing card_digits_ok; an SSN is exactly the groups
 * ddd-dd-dddd joined by single '-'.  At most 20 groups are examined from
 * each start, so the cost per start is bounded.
 */
static long
match_card_ssn(const unsigned char *s, const Group *g, size_t ng, size_t a, size_t last,
			   const unsigned char *dig, const char **ph)
{
	size_t		total = 0;
	long		best = -1;

	for (size_t b = a; b <= last; b++)
	{
		total += g[b].ndig;
		if (total > CARD_MAX_DIGITS)
			break;
		if (b > a && (g[b].ndig < 3 || g[a].ndig < 3 || (g[b].sep & SEP_PAREN)))
			break;
		if (total >= CARD_MIN_DIGITS && !(b + 1 < ng && decimal_point_before(&g[b + 1])) &&
			card_digits_ok(dig + g[a].dig, total))
			best = (long) b;
	}
	if (best >= 0)
	{
		*ph = SAN_CARD_NUMBER;
		return best;
	}
	if (a + 2 <= last && g[a].ndig == 3 && g[a + 1].ndig == 2 && g[a + 2].ndig == 4 &&
		g[a + 1].sepn == 1 && s[g[a + 1].start - 1] == '-' &&
		g[a + 2].sepn == 1 && s[g[a + 2].start - 1] == '-' &&
		ssn_valid(dig + g[a].dig, dig + g[a + 1].dig, dig + g[a + 2].dig))
	{
		*ph = SAN_SSN;
		return (long) (a + 2);
	}
	return -1;
}

/*
 * Masks groups lo..hi of a chain as a phone number when they are one: the
 * whole chain, or a part of it before, between or after card numbers and
 * SSNs, which a second pass sees as a chain of its own (so the part gets
 * the edges that chain would have).  lead, first_ok and last_ok are the
 * chain's; sets *found.
 */
static int
phone_part(const unsigned char *s, const Group *g, size_t ng, size_t lo, size_t hi,
		   const unsigned char *dig, unsigned char lead, bool first_ok, bool last_ok,
		   SanSpans *l, bool *found)
{
	if (lo > 0)
	{
		lead = (s[g[lo].start - 1] == '(') ? '(' : 0;
		first_ok = true;
	}
	if (hi < ng - 1)
		last_ok = true;
	*found = last_ok && (first_ok || lead != 0) && phone_chain(s, g + lo, hi - lo + 1, dig, lead);
	if (!*found)
		return 0;
	return spans_push(l, lead ? g[lo].start - 1 : g[lo].start, g[hi].end, SAN_PHONE);
}

/*
 * Finds phone numbers, card numbers and SSNs in s[from..to) and appends
 * them to l.  The edges of the range count as boundaries (they are
 * placeholders or other matches in the output).  A chain is a phone number
 * as a whole, or else cards and SSNs are looked for in it left to right,
 * the longest match at each start winning, and the parts between them may
 * be phone numbers.  A chain's first group is
 * unusable when a letter, a '+' (a phone number's country code), or a '.'
 * or ',' after a digit (a decimal number) precedes it; symmetrically its
 * last group is unusable when a letter, or '.'/',' and a digit, follow it.
 * The end of a match counts as an edge too, as its placeholder will on a
 * second pass: so whether a group is usable depends only on bytes that
 * masking never changes, and masking is idempotent.
 */
static int
find_numbers(SanCtx *cx, const unsigned char *s, size_t from, size_t to, int flags, SanSpans *l)
{
	size_t		i = from,
				edge = from;	/* start, or the end of the previous match */

	while (i < to)
	{
		size_t		ng,
					cs,
					ce,
					a,
					last,
					after = 0;	/* the group right after a match in this chain */
		unsigned char lead = 0;
		bool		first_ok = true,
					last_ok = true,
					found;
		int			len;
		const Group *g;

		if (!is_digit(s[i]) && (s[i] < 0xD9 || digit_at(s, i, to, &len) < 0))
		{
			i++;
			continue;
		}
		ng = read_chain(cx, s, i, to, flags);
		if (ng == 0)
			return -1;
		g = cx->g;
		cs = g[0].start;
		ce = g[ng - 1].end;

		if (cs > edge)
		{
			unsigned char c = s[cs - 1];

			if (is_alpha(c) || c == '+' ||
				((c == '.' || c == ',') && cs - 1 > edge && is_digit(s[cs - 2])))
				first_ok = false;
			if ((c == '+' || c == '(') && (cs - 1 == edge || !is_alnum(s[cs - 2])))
				lead = c;
		}
		if (ce < to)
		{
			unsigned char c = s[ce];

			if (is_alpha(c) ||
				((c == '.' || c == ',') && ce + 1 < to && is_digit(s[ce + 1])))
				last_ok = false;
		}

		if (phone_part(s, g, ng, 0, ng - 1, cx->dig, lead, first_ok, last_ok, l, &found) < 0)
			return -1;
		if (found)
		{
			i = edge = ce;
			continue;
		}

		a = first_ok ? 0 : 1;
		if (!last_ok && ng == 1)
		{
			i = ce;
			continue;
		}
		last = last_ok ? ng - 1 : ng - 2;
		while (a <= last)
		{
			const char *ph = NULL;
			long		b;

			if (a > 0 && a != after && decimal_point_before(&g[a]))
			{
				a++;
				continue;
			}
			b = match_card_ssn(s, g, ng, a, last, cx->dig, &ph);
			if (b >= 0)
			{
				if ((a > after &&
					 phone_part(s, g, ng, after, a - 1, cx->dig, lead, first_ok, true, l, &found) < 0) ||
					spans_push(l, g[a].start, g[b].end, ph) < 0)
					return -1;
				edge = g[b].end;
				a = after = (size_t) b + 1;
			}
			else
				a++;
		}
		if (after > 0 && after < ng)
		{
			if (phone_part(s, g, ng, after, ng - 1, cx->dig, lead, true, last_ok, l, &found) < 0)
				return -1;
			if (found)
				edge = ce;
		}
		i = ce;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Free text
 * ---------------------------------------------------------------------
 */

/* A byte of a URL scheme. */
static inline bool
is_scheme_char(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '-' || c == '.';
}

/* A byte that ends a URL inside text: whitespace, controls, quotes. */
static inline bool
is_url_end(unsigned char c)
{
	return c <= 0x20 || c == 0x7F || c == '"' || c == '\'' || c == '`';
}

/*
 * Finds the absolute URLs ("scheme://...") in s[from..to): the scheme is
 * the run of scheme bytes before "://" from its first letter; the URL ends
 * at whitespace, a control character or a quote.  Placeholders do not end
 * a URL, so a URL with masked parts is found whole again.
 */
static int
find_urls(const unsigned char *s, size_t from, size_t to, SanSpans *l)
{
	size_t		i = from,
				floor = from;

	while (i + 3 <= to)
	{
		const unsigned char *p = memchr(s + i, ':', to - i - 2);
		size_t		k,
					a,
					e;

		if (p == NULL)
			break;
		k = (size_t) (p - s);
		if (s[k + 1] != '/' || s[k + 2] != '/')
		{
			i = k + 1;
			continue;
		}
		a = k;
		while (a > floor && is_scheme_char(s[a - 1]))
			a--;
		while (a < k && !is_alpha(s[a]))
			a++;
		if (a == k)
		{
			i = k + 3;
			continue;
		}
		e = k + 3;
		while (e < to && !is_url_end(s[e]))
			e++;
		if (spans_push(l, a, e, NULL) < 0)
			return -1;
		floor = i = e;
	}
	return 0;
}

/* Emails, then numbers in the gaps between them, over s[from..to). */
static int
scan_emails_numbers(SanCtx *cx, int d, const unsigned char *s, size_t from, size_t to,
					int flags, SanSpans *out)
{
	SanSpans   *emails = &cx->lv[d].emails;
	size_t		prev = from;

	emails->n = 0;
	if (find_emails(s, from, to, emails) < 0)
		return -1;
	for (size_t k = 0; k < emails->n; k++)
	{
		if (find_numbers(cx, s, prev, emails->v[k].start, flags, out) < 0 ||
			spans_push(out, emails->v[k].start, emails->v[k].end, SAN_EMAIL) < 0)
			return -1;
		prev = emails->v[k].end;
	}
	return find_numbers(cx, s, prev, to, flags, out);
}

/* Words, then emails and numbers in the gaps, over s[from..to). */
static int
scan_plain(SanCtx *cx, int d, const unsigned char *s, size_t from, size_t to, int flags,
		   SanSpans *out)
{
	SanSpans   *words = &cx->lv[d].words;
	size_t		prev = from;

	if (from >= to)
		return 0;
	words->n = 0;
	if (find_words(s, from, to, words) < 0)
		return -1;
	for (size_t k = 0; k < words->n; k++)
	{
		if (scan_emails_numbers(cx, d, s, prev, words->v[k].start, flags, out) < 0 ||
			spans_push(out, words->v[k].start, words->v[k].end, words->v[k].ph) < 0)
			return -1;
		prev = words->v[k].end;
	}
	return scan_emails_numbers(cx, d, s, prev, to, flags, out);
}

/*
 * The text rules outside URLs: s[from..to) is split at the placeholders it
 * already holds, which are kept, and each piece between them is scanned.
 */
static int
scan_between_placeholders(SanCtx *cx, int d, const unsigned char *s, size_t from, size_t to,
						  int flags, SanSpans *out)
{
	size_t		i = from,
				seg = from;

	while (i < to)
	{
		const unsigned char *lt = memchr(s + i, '<', to - i);
		size_t		e;

		if (lt == NULL)
			break;
		i = (size_t) (lt - s);
		e = placeholder_end(s, i, to);
		if (e == 0)
		{
			i++;
			continue;
		}
		if (scan_plain(cx, d, s, seg, i, flags, out) < 0)
			return -1;
		seg = i = e;
	}
	return scan_plain(cx, d, s, seg, to, flags, out);
}

/*
 * The text rules over s[from..to) at URL nesting level d: URLs get the URL
 * rules (up to SAN_URL_DEPTH levels), the rest the text rules.  Matches are
 * appended to out in order.
 */
static int
scan_text(SanCtx *cx, int d, const unsigned char *s, size_t from, size_t to, int flags,
		  SanSpans *out)
{
	SanSpans   *urls = &cx->lv[d].urls;
	size_t		prev = from;

	if (from >= to)
		return 0;
	urls->n = 0;
	if (d < SAN_URL_DEPTH && find_urls(s, from, to, urls) < 0)
		return -1;
	for (size_t k = 0; k < urls->n; k++)
	{
		if (scan_between_placeholders(cx, d, s, prev, urls->v[k].start, flags, out) < 0 ||
			scan_url(cx, d, s, urls->v[k].start, urls->v[k].end, out) < 0)
			return -1;
		prev = urls->v[k].end;
	}
	return scan_between_placeholders(cx, d, s, prev, to, flags, out);
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

/* Runs scan (text or URL rules) over s and builds the output; see sanitize.h. */
static int
mask_with(const char *s, size_t len, bool url, char **out, size_t *out_len)
{
	SanCtx		cx;
	SanSpans	spans = {0};
	size_t		dummy;
	int			rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (s == NULL || len == 0)
		return 0;
	ctx_init(&cx);
	if (url)
		rc = scan_url(&cx, 0, (const unsigned char *) s, 0, len, &spans);
	else
		rc = scan_text(&cx, 0, (const unsigned char *) s, 0, len, 0, &spans);
	if (rc == 0 && spans.n > 0)
		rc = apply_spans(s, len, &spans, out, out_len ? out_len : &dummy);
	free(spans.v);
	ctx_free(&cx);
	return rc;
}

/* Masks personal data in free text; see sanitize.h. */
int
san_mask_text(const char *s, size_t len, char **out, size_t *out_len)
{
	return mask_with(s, len, false, out, out_len);
}

/* Masks personal data in a URL; see sanitize.h and docs/sanitization.md. */
int
san_mask_url(const char *s, size_t len, char **out, size_t *out_len)
{
	return mask_with(s, len, true, out, out_len);
}

/* ---------------------------------------------------------------------
 * URLs
 * ---------------------------------------------------------------------
 */

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
 * Percent-decodes s[a..b) into lv->dec, recording for each decoded byte
 * where it starts in the input (map[n] = b).  plus_space decodes '+' as a
 * space (form encoding, for query and fragment parameters).  Malformed
 * escapes are kept literally.  Returns the decoded length.
 */
static size_t
url_decode(Level *lv, const unsigned char *s, size_t a, size_t b, bool plus_space)
{
	size_t		n = 0;
	size_t		i = a;

	while (i < b)
	{
		unsigned char c = s[i];
		int			h,
					lo;

		lv->map[n] = i;
		if (c == '%' && i + 2 < b &&
			(h = hex_val(s[i + 1])) >= 0 &&
			(lo = hex_val(s[i + 2])) >= 0)
		{
			lv->dec[n++] = (unsigned char) (h * 16 + lo);
			i += 3;
			continue;
		}
		lv->dec[n++] = (plus_space && c == '+') ? ' ' : c;
		i++;
	}
	lv->map[n] = b;
	return n;
}

/* Applies the text rules to the decoded piece s[a..b) of a level-d URL. */
static int
url_piece(SanCtx *cx, int d, const unsigned char *s, size_t a, size_t b, bool plus_space,
		  int flags, SanSpans *out)
{
	Level	   *lv = &cx->lv[d];
	size_t		n;

	if (a >= b)
		return 0;
	n = url_decode(lv, s, a, b, plus_space);
	lv->found.n = 0;
	if (scan_text(cx, d + 1, lv->dec, 0, n, flags, &lv->found) < 0)
		return -1;
	for (size_t k = 0; k < lv->found.n; k++)
	{
		SanSpan    *sp = &lv->found.v[k];

		if (spans_push(out, lv->map[sp->start], lv->map[sp->end], sp->ph) < 0)
			return -1;
	}
	return 0;
}

/*
 * Masks the parameters in s[a..b), separated by '&': a sensitive name gets
 * its non-empty value replaced by the placeholder (unless the value already
 * is one); any other value gets the text rules, and so does every name.
 */
static int
url_params(SanCtx *cx, int d, const unsigned char *s, size_t a, size_t b, SanSpans *out)
{
	Level	   *lv = &cx->lv[d];
	size_t		i = a;

	while (i <= b)
	{
		const unsigned char *amp = (i < b) ? memchr(s + i, '&', b - i) : NULL;
		size_t		pe = amp ? (size_t) (amp - s) : b;
		const unsigned char *eq = (i < pe) ? memchr(s + i, '=', pe - i) : NULL;

		if (eq != NULL)
		{
			size_t		ne = (size_t) (eq - s);
			size_t		dn = url_decode(lv, s, i, ne, true);
			const char *ph = san_contains_placeholder((const char *) lv->dec, dn) ? NULL :
				san_placeholder_for_param((const char *) lv->dec, dn);

			if (url_piece(cx, d, s, i, ne, true, 0, out) < 0)
				return -1;
			if (ph != NULL)
			{
				size_t		vn = url_decode(lv, s, ne + 1, pe, true);

				if (vn > 0 && !san_is_placeholder((const char *) lv->dec, vn) &&
					spans_push(out, ne + 1, pe, ph) < 0)
					return -1;
			}
			else if (url_piece(cx, d, s, ne + 1, pe, true, 0, out) < 0)
				return -1;
		}
		else if (url_piece(cx, d, s, i, pe, true, 0, out) < 0)
			return -1;
		if (amp == NULL)
			break;
		i = pe + 1;
	}
	return 0;
}

/*
 * The user name of a URL's userinfo, s[a..b): replaced as a whole, by the
 * placeholder of what the text rules find when that is all it is (an email
 * address: <EMAIL>), else by <USERNAME>.  Kept when it already is a
 * placeholder.
 */
static int
url_user(SanCtx *cx, int d, const unsigned char *s, size_t a, size_t b, SanSpans *out)
{
	Level	   *lv = &cx->lv[d];
	const char *ph = SAN_USERNAME;
	size_t		n;

	if (a >= b)
		return 0;
	n = url_decode(lv, s, a, b, false);
	if (san_is_placeholder((const char *) lv->dec, n))
		return 0;
	lv->found.n = 0;
	if (scan_text(cx, d + 1, lv->dec, 0, n, 0, &lv->found) < 0)
		return -1;
	if (lv->found.n == 1 && lv->found.v[0].start == 0 && lv->found.v[0].end == n)
		ph = lv->found.v[0].ph;
	return spans_push(out, a, b, ph);
}

/* True when s[0..n) starts with a URL scheme followed by "://"; sets *end. */
static bool
url_scheme(const unsigned char *s, size_t n, size_t *end)
{
	size_t		i = 0;

	if (n == 0 || !is_alpha(s[0]))
		return false;
	while (i < n && is_scheme_char(s[i]))
		i++;
	if (i + 3 <= n && s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
	{
		*end = i + 3;
		return true;
	}
	return false;
}

/* Makes level d's decode buffers hold n bytes. */
static int
level_reserve(Level *lv, size_t n)
{
	unsigned char *dec;
	size_t	   *map;

	if (lv->cap >= n)
		return 0;
	if (n >= SIZE_MAX / sizeof(size_t) - 1)
		return -1;
	dec = realloc(lv->dec == lv->dec_inline ? NULL : lv->dec, n);
	if (dec == NULL)
		return -1;
	lv->dec = dec;
	map = realloc(lv->map == lv->map_inline ? NULL : lv->map, (n + 1) * sizeof(size_t));
	if (map == NULL)
	{
		lv->cap = 0;			/* dec is not the inline buffer any more */
		return -1;
	}
	lv->map = map;
	lv->cap = n;
	return 0;
}

/*
 * The URL rules over s[a..b), at nesting level d: userinfo, path, query and
 * fragment (docs/sanitization.md).  Matches are appended to out in order.
 */
static int
scan_url(SanCtx *cx, int d, const unsigned char *s, size_t a, size_t b, SanSpans *out)
{
	Level	   *lv = &cx->lv[d];
	size_t		path_start = a,
				query,
				frag,
				off,
				i;

	if (a >= b)
		return 0;
	if (level_reserve(lv, b - a) < 0)
		return -1;

	/* Fragment and query delimiters. */
	frag = b;
	for (i = a; i < b; i++)
		if (s[i] == '#')
		{
			frag = i;
			break;
		}
	query = frag;
	for (i = a; i < frag; i++)
		if (s[i] == '?')
		{
			query = i;
			break;
		}

	/* Authority: the userinfo before the last '@' is masked. */
	if (url_scheme(s + a, query - a, &off))
	{
		size_t		auth = a + off,
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
				size_t		dn = url_decode(lv, s, pw, at, false);
				bool		mask_pw = dn > 0 && !san_is_placeholder((const char *) lv->dec, dn);

				/* url_user reuses lv->dec, so decide first */
				if (url_user(cx, d, s, auth, pw - 1, out) < 0 ||
					(mask_pw && spans_push(out, pw, at, SAN_PASSWORD) < 0))
					return -1;
			}
			else if (url_user(cx, d, s, auth, at, out) < 0)
				return -1;
		}
		path_start = ae;
	}

	/* Path, query, fragment. */
	if (url_piece(cx, d, s, path_start, query, false, SCAN_PATH, out) < 0)
		return -1;
	if (query < frag && url_params(cx, d, s, query + 1, frag, out) < 0)
		return -1;
	if (frag < b)
	{
		const unsigned char *q = memchr(s + frag + 1, '?', b - frag - 1);

		if (q != NULL)
		{
			size_t		qi = (size_t) (q - s);

			if (url_piece(cx, d, s, frag + 1, qi, false, SCAN_PATH, out) < 0 ||
				url_params(cx, d, s, qi + 1, b, out) < 0)
				return -1;
		}
		else if (memchr(s + frag + 1, '=', b - frag - 1) != NULL)
		{
			if (url_params(cx, d, s, frag + 1, b, out) < 0)
				return -1;
		}
		else if (url_piece(cx, d, s, frag + 1, b, false, SCAN_PATH, out) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Names: JSON keys, URL parameters, form field descriptions
 * ---------------------------------------------------------------------
 */

/*
 * What a name can say, in priority order: the first kind a name matches
 * decides its placeholder.  The weak kinds become ADDRESS and NAME unless
 * the name also says NOT_ADDRESS ("IP address") or NOT_NAME ("company
 * name"); SEARCH marks a search field, never a personal one.
 */
typedef enum Kind
{
	K_PASSWORD,
	K_ONE_TIME_CODE,
	K_CVC,
	K_CARD_EXPIRY,
	K_CARD_NAME,
	K_CARD_NUMBER,
	K_IBAN,
	K_SSN,
	K_TOKEN,
	K_SECRET,
	K_BIRTH_DATE,
	K_EMAIL,
	K_PHONE,
	K_USERNAME,
	K_POSTAL_CODE,
	K_ADDRESS,
	K_NAME,
	K_CARD_DATA,
	K__PLACEHOLDERS,
	K_WEAK_ADDRESS = K__PLACEHOLDERS,
	K_WEAK_NAME,
	K_NOT_ADDRESS,
	K_NOT_NAME,
	K_SEARCH
} Kind;

static const char *const kind_placeholder[K__PLACEHOLDERS] = {
	[K_PASSWORD] = SAN_PASSWORD,
	[K_ONE_TIME_CODE] = SAN_ONE_TIME_CODE,
	[K_CVC] = SAN_CVC,
	[K_CARD_EXPIRY] = SAN_CARD_EXPIRY,
	[K_CARD_NAME] = SAN_CARD_NAME,
	[K_CARD_NUMBER] = SAN_CARD_NUMBER,
	[K_IBAN] = SAN_IBAN,
	[K_SSN] = SAN_SSN,
	[K_TOKEN] = SAN_TOKEN,
	[K_SECRET] = SAN_SECRET,
	[K_BIRTH_DATE] = SAN_BIRTH_DATE,
	[K_EMAIL] = SAN_EMAIL,
	[K_PHONE] = SAN_PHONE,
	[K_USERNAME] = SAN_USERNAME,
	[K_POSTAL_CODE] = SAN_POSTAL_CODE,
	[K_ADDRESS] = SAN_ADDRESS,
	[K_NAME] = SAN_NAME,
	[K_CARD_DATA] = SAN_CARD_DATA,
};

/* Where a rule applies: JSON keys, URL parameters, form field texts. */
#define M_KEY 1
#define M_PARAM 2
#define M_FIELD 4
#define M_PF (M_PARAM | M_FIELD)
#define M_ALL (M_KEY | M_PARAM | M_FIELD)

/* How a rule compares with a normalized name (see normalize_name). */
typedef enum How
{
	CONTAINS,					/* the words joined contain the needle */
	WORD,						/* one of the words is the needle */
	EQUALS						/* the words joined are the needle */
} How;

typedef struct NameRule
{
	unsigned char kind;
	unsigned char how;
	unsigned char modes;
	unsigned char len;
	uint32_t	letters;		/* bits of the needle's first, second and last letters */
	const char *needle;			/* lower-case; UTF-8 for non-ASCII letters */
} NameRule;

/* The bit of a lower-case ASCII letter (0 for any other byte), at compile time. */
#define LETTER_BIT(c) \
	((c) >= 'a' && (c) <= 'z' ? UINT32_C(1) << (((c) - 'a') & 31) : UINT32_C(0))
#define R(kind, how, modes, needle) \
	{kind, how, modes, sizeof(needle) - 1, \
	 LETTER_BIT((needle)[0]) | LETTER_BIT((needle)[sizeof(needle) > 2 ? 1 : 0]) | \
	 LETTER_BIT((needle)[sizeof(needle) - 2]), needle}

/*
 * The rules, listed in docs/sanitization.md.  JSON keys get only names that
 * never occur in the extension's own event data; URL parameters also get
 * the names of form fields (GET forms put them there) and the URL-only
 * secrets; field texts (labels, placeholders, ...) also get words of
 * labels in a few languages.
 */
static const NameRule name_rules[] = {
	R(K_PASSWORD, CONTAINS, M_ALL, "password"),
	R(K_PASSWORD, CONTAINS, M_ALL, "passwd"),
	R(K_PASSWORD, CONTAINS, M_ALL, "passphrase"),
	R(K_PASSWORD, CONTAINS, M_ALL, "passcode"),
	R(K_PASSWORD, CONTAINS, M_ALL, "passwort"),
	R(K_PASSWORD, CONTAINS, M_ALL, "kennwort"),
	R(K_PASSWORD, CONTAINS, M_PF, "contrase\xc3\xb1" "a"),
	R(K_PASSWORD, CONTAINS, M_PF, "contrasena"),
	R(K_PASSWORD, CONTAINS, M_PF, "motdepasse"),
	R(K_PASSWORD, CONTAINS, M_PF, "wachtwoord"),
	R(K_PASSWORD, CONTAINS, M_PF, "senha"),
	R(K_PASSWORD, WORD, M_ALL, "pwd"),
	R(K_PASSWORD, WORD, M_ALL, "pass"),
	R(K_PASSWORD, WORD, M_ALL, "pw"),
	R(K_PASSWORD, WORD, M_ALL, "pin"),

	R(K_ONE_TIME_CODE, CONTAINS, M_ALL, "onetimecode"),
	R(K_ONE_TIME_CODE, CONTAINS, M_ALL, "verificationcode"),
	R(K_ONE_TIME_CODE, CONTAINS, M_PF, "otpcode"),
	R(K_ONE_TIME_CODE, CONTAINS, M_PF, "smscode"),
	R(K_ONE_TIME_CODE, CONTAINS, M_PF, "best\xc3\xa4tigungscode"),
	R(K_ONE_TIME_CODE, WORD, M_ALL, "otp"),
	R(K_ONE_TIME_CODE, WORD, M_ALL, "totp"),
	R(K_ONE_TIME_CODE, WORD, M_PF, "2fa"),
	R(K_ONE_TIME_CODE, WORD, M_PF, "mfa"),

	R(K_CVC, CONTAINS, M_ALL, "cvc"),
	R(K_CVC, CONTAINS, M_ALL, "cvv"),
	R(K_CVC, CONTAINS, M_ALL, "securitycode"),
	R(K_CVC, CONTAINS, M_ALL, "cardcode"),
	R(K_CVC, CONTAINS, M_ALL, "cardverification"),
	R(K_CVC, CONTAINS, M_PF, "cardsecurity"),
	R(K_CVC, CONTAINS, M_PF, "pr\xc3\xbc" "fnummer"),
	R(K_CVC, CONTAINS, M_PF, "prufnummer"),
	R(K_CVC, WORD, M_ALL, "csc"),
	R(K_CVC, WORD, M_ALL, "cvn"),
	R(K_CVC, WORD, M_PF, "cvd"),

	R(K_CARD_EXPIRY, CONTAINS, M_ALL, "ccexp"),
	R(K_CARD_EXPIRY, CONTAINS, M_ALL, "cardexp"),
	R(K_CARD_EXPIRY, CONTAINS, M_ALL, "expdate"),
	R(K_CARD_EXPIRY, CONTAINS, M_ALL, "expirydate"),
	R(K_CARD_EXPIRY, CONTAINS, M_ALL, "expirationdate"),
	R(K_CARD_EXPIRY, CONTAINS, M_PF, "expmonth"),
	R(K_CARD_EXPIRY, CONTAINS, M_PF, "expyear"),
	R(K_CARD_EXPIRY, CONTAINS, M_PF, "validthru"),
	R(K_CARD_EXPIRY, CONTAINS, M_PF, "ablaufdatum"),
	R(K_CARD_EXPIRY, CONTAINS, M_FIELD, "mmyy"),
	R(K_CARD_EXPIRY, CONTAINS, M_FIELD, "mmjj"),
	R(K_CARD_EXPIRY, CONTAINS, M_FIELD, "mmaa"),
	R(K_CARD_EXPIRY, WORD, M_FIELD, "exp"),
	R(K_CARD_EXPIRY, WORD, M_FIELD, "expiry"),
	R(K_CARD_EXPIRY, WORD, M_FIELD, "expiration"),
	R(K_CARD_EXPIRY, WORD, M_FIELD, "expires"),

	R(K_CARD_NAME, CONTAINS, M_ALL, "nameoncard"),
	R(K_CARD_NAME, CONTAINS, M_ALL, "cardholder"),
	R(K_CARD_NAME, CONTAINS, M_ALL, "cardname"),
	R(K_CARD_NAME, CONTAINS, M_ALL, "ccname"),
	R(K_CARD_NAME, CONTAINS, M_PF, "karteninhaber"),

	R(K_CARD_NUMBER, CONTAINS, M_ALL, "cardnumber"),
	R(K_CARD_NUMBER, CONTAINS, M_ALL, "cardnum"),
	R(K_CARD_NUMBER, CONTAINS, M_ALL, "ccnumber"),
	R(K_CARD_NUMBER, CONTAINS, M_ALL, "ccnum"),
	R(K_CARD_NUMBER, CONTAINS, M_ALL, "creditcard"),
	R(K_CARD_NUMBER, CONTAINS, M_ALL, "debitcard"),
	R(K_CARD_NUMBER, CONTAINS, M_PF, "kartennummer"),
	R(K_CARD_NUMBER, CONTAINS, M_PF, "num\xc3\xa9rodecarte"),
	R(K_CARD_NUMBER, CONTAINS, M_PF, "numerodecarte"),
	R(K_CARD_NUMBER, CONTAINS, M_PF, "numerodetarjeta"),
	R(K_CARD_NUMBER, EQUALS, M_ALL, "cardno"),
	R(K_CARD_NUMBER, EQUALS, M_ALL, "ccno"),
	R(K_CARD_NUMBER, EQUALS, M_ALL, "pan"),
	R(K_CARD_NUMBER, EQUALS, M_PARAM, "card"),
	R(K_CARD_NUMBER, EQUALS, M_PARAM, "cc"),

	R(K_IBAN, CONTAINS, M_ALL, "iban"),
	R(K_IBAN, CONTAINS, M_ALL, "bankaccount"),
	R(K_IBAN, CONTAINS, M_ALL, "routingnumber"),
	R(K_IBAN, CONTAINS, M_PF, "kontonummer"),

	R(K_SSN, WORD, M_ALL, "ssn"),
	R(K_SSN, CONTAINS, M_ALL, "socialsecurity"),
	R(K_SSN, CONTAINS, M_PF, "sozialversicherung"),
	R(K_SSN, CONTAINS, M_PF, "nationalinsurance"),
	R(K_SSN, CONTAINS, M_PF, "personnummer"),
	R(K_SSN, CONTAINS, M_PF, "codicefiscale"),
	R(K_SSN, WORD, M_PF, "cpf"),
	R(K_SSN, WORD, M_PF, "dni"),
	R(K_SSN, WORD, M_PF, "pesel"),

	R(K_TOKEN, CONTAINS, M_ALL, "token"),
	R(K_TOKEN, CONTAINS, M_ALL, "authorization"),
	R(K_TOKEN, WORD, M_ALL, "auth"),
	R(K_TOKEN, WORD, M_ALL, "jwt"),
	R(K_TOKEN, WORD, M_ALL, "bearer"),

	R(K_SECRET, CONTAINS, M_ALL, "secret"),
	R(K_SECRET, CONTAINS, M_ALL, "apikey"),
	R(K_SECRET, CONTAINS, M_ALL, "privatekey"),
	R(K_SECRET, CONTAINS, M_ALL, "accesskey"),
	R(K_SECRET, CONTAINS, M_ALL, "credential"),
	R(K_SECRET, CONTAINS, M_PARAM, "sessionid"),
	R(K_SECRET, CONTAINS, M_PARAM, "sessid"),
	R(K_SECRET, CONTAINS, M_PARAM, "signature"),
	R(K_SECRET, EQUALS, M_PARAM, "key"),
	R(K_SECRET, EQUALS, M_PARAM, "session"),
	R(K_SECRET, EQUALS, M_PARAM, "sid"),
	R(K_SECRET, EQUALS, M_PARAM, "sig"),

	R(K_BIRTH_DATE, CONTAINS, M_ALL, "birth"),
	R(K_BIRTH_DATE, CONTAINS, M_ALL, "bday"),
	R(K_BIRTH_DATE, CONTAINS, M_PF, "geburt"),
	R(K_BIRTH_DATE, CONTAINS, M_PF, "naissance"),
	R(K_BIRTH_DATE, CONTAINS, M_PF, "nacimiento"),
	R(K_BIRTH_DATE, WORD, M_ALL, "dob"),

	R(K_EMAIL, CONTAINS, M_ALL, "email"),
	R(K_EMAIL, CONTAINS, M_PF, "courriel"),
	R(K_EMAIL, CONTAINS, M_PF, "correo"),
	R(K_EMAIL, EQUALS, M_PARAM, "mail"),
	R(K_EMAIL, WORD, M_FIELD, "mail"),

	R(K_PHONE, CONTAINS, M_ALL, "phone"),
	R(K_PHONE, CONTAINS, M_ALL, "telefon"),
	R(K_PHONE, CONTAINS, M_PF, "tel\xc3\xa9" "fono"),
	R(K_PHONE, CONTAINS, M_PF, "mobilenumber"),
	R(K_PHONE, CONTAINS, M_PF, "cellnumber"),
	R(K_PHONE, CONTAINS, M_PF, "handynummer"),
	R(K_PHONE, EQUALS, M_ALL, "tel"),
	R(K_PHONE, EQUALS, M_ALL, "mobile"),
	R(K_PHONE, EQUALS, M_ALL, "msisdn"),
	R(K_PHONE, WORD, M_FIELD, "tel"),
	R(K_PHONE, WORD, M_FIELD, "mobile"),
	R(K_PHONE, WORD, M_FIELD, "mobil"),
	R(K_PHONE, WORD, M_FIELD, "cell"),
	R(K_PHONE, WORD, M_FIELD, "fax"),
	R(K_PHONE, WORD, M_FIELD, "handy"),

	R(K_USERNAME, CONTAINS, M_ALL, "username"),
	R(K_USERNAME, CONTAINS, M_ALL, "loginname"),
	R(K_USERNAME, CONTAINS, M_ALL, "screenname"),
	R(K_USERNAME, CONTAINS, M_PF, "nickname"),
	R(K_USERNAME, CONTAINS, M_PF, "userid"),
	R(K_USERNAME, CONTAINS, M_PF, "loginid"),
	R(K_USERNAME, CONTAINS, M_PF, "benutzername"),
	R(K_USERNAME, CONTAINS, M_PF, "nombredeusuario"),
	R(K_USERNAME, WORD, M_PF, "login"),
	R(K_USERNAME, WORD, M_PF, "user"),
	R(K_USERNAME, WORD, M_PF, "usuario"),
	R(K_USERNAME, WORD, M_PF, "benutzer"),

	R(K_POSTAL_CODE, CONTAINS, M_ALL, "postalcode"),
	R(K_POSTAL_CODE, CONTAINS, M_ALL, "postcode"),
	R(K_POSTAL_CODE, CONTAINS, M_ALL, "zipcode"),
	R(K_POSTAL_CODE, CONTAINS, M_PF, "postleitzahl"),
	R(K_POSTAL_CODE, CONTAINS, M_PF, "codepostal"),
	R(K_POSTAL_CODE, CONTAINS, M_PF, "codigopostal"),
	R(K_POSTAL_CODE, WORD, M_ALL, "zip"),
	R(K_POSTAL_CODE, WORD, M_PF, "plz"),
	R(K_POSTAL_CODE, WORD, M_PF, "postal"),
	R(K_POSTAL_CODE, WORD, M_PF, "eircode"),

	R(K_ADDRESS, CONTAINS, M_ALL, "streetaddress"),
	R(K_ADDRESS, CONTAINS, M_ALL, "addressline"),
	R(K_ADDRESS, CONTAINS, M_ALL, "street"),
	R(K_ADDRESS, CONTAINS, M_PF, "strasse"),
	R(K_ADDRESS, CONTAINS, M_PF, "stra\xc3\x9f" "e"),
	R(K_ADDRESS, CONTAINS, M_PF, "housenumber"),
	R(K_ADDRESS, CONTAINS, M_PF, "hausnummer"),
	R(K_ADDRESS, CONTAINS, M_PF, "direccion"),
	R(K_ADDRESS, CONTAINS, M_PF, "direcci\xc3\xb3n"),
	R(K_ADDRESS, EQUALS, M_KEY, "address"),
	R(K_ADDRESS, EQUALS, M_KEY, "address1"),
	R(K_ADDRESS, EQUALS, M_KEY, "address2"),
	R(K_ADDRESS, WORD, M_ALL, "addr"),
	R(K_WEAK_ADDRESS, CONTAINS, M_PF, "address"),
	R(K_WEAK_ADDRESS, CONTAINS, M_PF, "adresse"),
	R(K_NOT_ADDRESS, WORD, M_PF, "ip"),
	R(K_NOT_ADDRESS, WORD, M_PF, "ipv4"),
	R(K_NOT_ADDRESS, WORD, M_PF, "ipv6"),
	R(K_NOT_ADDRESS, WORD, M_PF, "mac"),
	R(K_NOT_ADDRESS, WORD, M_PF, "web"),
	R(K_NOT_ADDRESS, WORD, M_PF, "website"),
	R(K_NOT_ADDRESS, WORD, M_PF, "url"),
	R(K_NOT_ADDRESS, WORD, M_PF, "server"),
	R(K_NOT_ADDRESS, WORD, M_PF, "host"),
	R(K_NOT_ADDRESS, WORD, M_PF, "remote"),
	R(K_NOT_ADDRESS, WORD, M_PF, "wallet"),

	R(K_NAME, CONTAINS, M_ALL, "fullname"),
	R(K_NAME, CONTAINS, M_ALL, "firstname"),
	R(K_NAME, CONTAINS, M_ALL, "lastname"),
	R(K_NAME, CONTAINS, M_ALL, "surname"),
	R(K_NAME, CONTAINS, M_ALL, "givenname"),
	R(K_NAME, CONTAINS, M_ALL, "familyname"),
	R(K_NAME, CONTAINS, M_ALL, "middlename"),
	R(K_NAME, CONTAINS, M_ALL, "maidenname"),
	R(K_NAME, CONTAINS, M_PF, "forename"),
	R(K_NAME, CONTAINS, M_PF, "vorname"),
	R(K_NAME, CONTAINS, M_PF, "nachname"),
	R(K_NAME, CONTAINS, M_PF, "pr\xc3\xa9nom"),
	R(K_NAME, CONTAINS, M_PF, "prenom"),
	R(K_NAME, CONTAINS, M_PF, "apellido"),
	R(K_NAME, CONTAINS, M_PF, "yourname"),
	R(K_NAME, EQUALS, M_PF, "fname"),
	R(K_NAME, EQUALS, M_PF, "lname"),
	R(K_WEAK_NAME, WORD, M_PF, "name"),
	R(K_WEAK_NAME, WORD, M_FIELD, "nom"),
	R(K_WEAK_NAME, WORD, M_FIELD, "nombre"),
	R(K_WEAK_NAME, WORD, M_FIELD, "nome"),
	R(K_WEAK_NAME, WORD, M_FIELD, "naam"),
#define NOT_NAME(w) R(K_NOT_NAME, WORD, M_PF, w)
	NOT_NAME("company"), NOT_NAME("business"), NOT_NAME("organization"),
	NOT_NAME("organisation"), NOT_NAME("org"), NOT_NAME("firm"), NOT_NAME("firma"),
	NOT_NAME("product"), NOT_NAME("item"), NOT_NAME("article"), NOT_NAME("list"),
	NOT_NAME("wishlist"), NOT_NAME("registry"), NOT_NAME("file"), NOT_NAME("coupon"),
	NOT_NAME("promo"), NOT_NAME("discount"), NOT_NAME("voucher"), NOT_NAME("store"),
	NOT_NAME("shop"), NOT_NAME("brand"), NOT_NAME("category"), NOT_NAME("tag"),
	NOT_NAME("event"), NOT_NAME("project"), NOT_NAME("team"), NOT_NAME("group"),
	NOT_NAME("domain"), NOT_NAME("host"), NOT_NAME("server"), NOT_NAME("app"),
	NOT_NAME("device"), NOT_NAME("network"), NOT_NAME("wifi"), NOT_NAME("pet"),
	NOT_NAME("field"), NOT_NAME("attribute"), NOT_NAME("option"), NOT_NAME("variant"),
	NOT_NAME("color"), NOT_NAME("colour"), NOT_NAME("size"), NOT_NAME("model"),
	NOT_NAME("style"), NOT_NAME("plan"), NOT_NAME("campaign"), NOT_NAME("utm"),
	NOT_NAME("class"), NOT_NAME("template"), NOT_NAME("theme"), NOT_NAME("page"),
	NOT_NAME("site"), NOT_NAME("font"), NOT_NAME("city"), NOT_NAME("town"),
	NOT_NAME("country"), NOT_NAME("state"), NOT_NAME("region"), NOT_NAME("bank"),
	NOT_NAME("hotel"), NOT_NAME("sort"), NOT_NAME("filter"), NOT_NAME("order"),
	NOT_NAME("tab"), NOT_NAME("window"), NOT_NAME("frame"), NOT_NAME("cookie"),
	NOT_NAME("key"), NOT_NAME("param"), NOT_NAME("folder"), NOT_NAME("path"),
	NOT_NAME("image"), NOT_NAME("song"), NOT_NAME("playlist"), NOT_NAME("channel"),
	NOT_NAME("course"),
#undef NOT_NAME

	R(K_SEARCH, WORD, M_FIELD, "search"),
	R(K_SEARCH, WORD, M_FIELD, "suche"),
	R(K_SEARCH, WORD, M_FIELD, "suchen"),
	R(K_SEARCH, WORD, M_FIELD, "buscar"),
	R(K_SEARCH, WORD, M_FIELD, "recherche"),
	R(K_SEARCH, WORD, M_FIELD, "rechercher"),
	R(K_SEARCH, WORD, M_FIELD, "query"),
	R(K_SEARCH, WORD, M_FIELD, "keyword"),
	R(K_SEARCH, WORD, M_FIELD, "keywords"),
	R(K_SEARCH, EQUALS, M_FIELD, "q"),
};

#undef R

/* A name as bytes compared by the rules. */
#define NAME_MAX_BYTES 256
#define NAME_MAX_WORDS 48
typedef struct NormName
{
	unsigned char b[NAME_MAX_BYTES];	/* the words, lower-cased, joined */
	size_t		n;
	size_t		ws[NAME_MAX_WORDS + 1]; /* word k is b[ws[k]..ws[k+1]) */
	int			nw;
	uint32_t	letters;		/* bit c - 'a' for each letter in b */
	uint32_t	wordlens;		/* bit k for each word of k bytes (k < 32) */
} NormName;

/* A byte of a word of a name: an ASCII letter or digit, or non-ASCII. */
static inline bool
is_name_char(unsigned char c)
{
	return is_alnum(c) || c >= 0x80;
}

/*
 * Splits a name into words, at bytes that are not word bytes and at
 * camelCase humps ("cardCvc" -> card, cvc; "APIKey" -> api, key), lower-
 * cases them and joins them (card_number, card-number and cardNumber all
 * become "cardnumber").  Placeholders are skipped.  Only the first
 * NAME_MAX_BYTES bytes and NAME_MAX_WORDS words count.
 */
static void
normalize_name(const char *name, size_t len, NormName *nm)
{
	const unsigned char *s = (const unsigned char *) name;
	size_t		i = 0;

	nm->n = 0;
	nm->nw = 0;
	while (i < len && nm->nw < NAME_MAX_WORDS && nm->n < NAME_MAX_BYTES)
	{
		while (i < len && !is_name_char(s[i]))
		{
			size_t		e = (s[i] == '<') ? placeholder_end(s, i, len) : 0;

			i = e > 0 ? e : i + 1;	/* a placeholder says nothing of the name */
		}
		if (i >= len)
			break;
		nm->ws[nm->nw++] = nm->n;
		nm->b[nm->n++] = to_lower(s[i++]);
		while (i < len && is_name_char(s[i]) && nm->n < NAME_MAX_BYTES)
		{
			unsigned char prev = s[i - 1],
						c = s[i];

			if (is_upper(c) && (is_lower(prev) || is_digit(prev)))
				break;
			if (is_upper(c) && is_upper(prev) && i + 1 < len && is_lower(s[i + 1]))
				break;
			nm->b[nm->n++] = to_lower(c);
			i++;
		}
	}
	nm->ws[nm->nw] = nm->n;
	nm->letters = 0;
	nm->wordlens = 0;
	for (size_t k = 0; k < nm->n; k++)
		if (is_lower(nm->b[k]))
			nm->letters |= UINT32_C(1) << (nm->b[k] - 'a');
	for (int k = 0; k < nm->nw; k++)
		if (nm->ws[k + 1] - nm->ws[k] < 32)
			nm->wordlens |= UINT32_C(1) << (nm->ws[k + 1] - nm->ws[k]);
}

/*
 * True when the rule matches the normalized name.  Cheap tests first: the
 * needle's first, second and last letters must occur in the name, a WORD
 * needs a word of its length and an EQUALS needle the name's length; most
 * rules fail there.
 */
static bool
rule_matches(const NameRule *r, const NormName *nm)
{
	if ((r->letters & nm->letters) != r->letters || r->len > nm->n)
		return false;
	switch ((How) r->how)
	{
		case CONTAINS:
			for (size_t i = 0; i + r->len <= nm->n; i++)
			{
				const unsigned char *p = memchr(nm->b + i, r->needle[0], nm->n - r->len + 1 - i);

				if (p == NULL)
					return false;
				i = (size_t) (p - nm->b);
				if (memcmp(p, r->needle, r->len) == 0)
					return true;
			}
			return false;
		case WORD:
			if (r->len < 32 && !(nm->wordlens & (UINT32_C(1) << r->len)))
				return false;
			for (int k = 0; k < nm->nw; k++)
				if (nm->ws[k + 1] - nm->ws[k] == r->len &&
					memcmp(nm->b + nm->ws[k], r->needle, r->len) == 0)
					return true;
			return false;
		case EQUALS:
			return nm->n == r->len && memcmp(nm->b, r->needle, r->len) == 0;
	}
	return false;
}

/* The kinds (bits by Kind) a normalized name says, for mode. */
static uint32_t
name_kinds(const NormName *nm, unsigned mode)
{
	uint32_t	bits = 0;

	if (nm->n == 0)
		return 0;
	for (size_t k = 0; k < sizeof(name_rules) / sizeof(name_rules[0]); k++)
	{
		const NameRule *r = &name_rules[k];

		if ((r->modes & mode) && !(bits & (UINT32_C(1) << r->kind)) && rule_matches(r, nm))
			bits |= UINT32_C(1) << r->kind;
	}
	if ((bits & (UINT32_C(1) << K_WEAK_ADDRESS)) && !(bits & (UINT32_C(1) << K_NOT_ADDRESS)))
		bits |= UINT32_C(1) << K_ADDRESS;
	if ((bits & (UINT32_C(1) << K_WEAK_NAME)) && !(bits & (UINT32_C(1) << K_NOT_NAME)))
		bits |= UINT32_C(1) << K_NAME;
	return bits;
}

/* The placeholder of the first kind set in bits, or NULL. */
static const char *
first_placeholder(uint32_t bits)
{
	for (int k = 0; k < K__PLACEHOLDERS; k++)
		if (bits & (UINT32_C(1) << k))
			return kind_placeholder[k];
	return NULL;
}

/* Classifies a name for mode (M_KEY or M_PARAM). */
static const char *
classify_name(const char *name, size_t len, unsigned mode)
{
	NormName	nm;

	if (name == NULL || len == 0)
		return NULL;
	normalize_name(name, len, &nm);
	return first_placeholder(name_kinds(&nm, mode));
}

/* The placeholder for a value under a JSON key named like personal data. */
const char *
san_placeholder_for_key(const char *key, size_t keylen)
{
	return classify_name(key, keylen, M_KEY);
}

/* The placeholder for the value of a URL query parameter name. */
const char *
san_placeholder_for_param(const char *name, size_t namelen)
{
	return classify_name(name, namelen, M_PARAM);
}

/* True when s[0..len) equals w (lower-case) ignoring ASCII case. */
static bool
equals_ci(const char *s, size_t len, const char *w)
{
	size_t		wl = strlen(w);

	if (len != wl)
		return false;
	for (size_t i = 0; i < len; i++)
		if (to_lower((unsigned char) s[i]) != (unsigned char) w[i])
			return false;
	return true;
}

/*
 * The placeholder for one autocomplete token (WHATWG autofill field names),
 * or NULL for the tokens that are not personal (country, organization,
 * language, ...) and for section-, shipping, billing and the like.
 */
static const char *
autocomplete_placeholder(const char *t, size_t n)
{
	static const struct
	{
		const char *token;
		const char *ph;
	}			tokens[] = {
		{"name", SAN_NAME}, {"given-name", SAN_NAME}, {"additional-name", SAN_NAME},
		{"family-name", SAN_NAME}, {"nickname", SAN_NAME},
		{"username", SAN_USERNAME}, {"impp", SAN_USERNAME},
		{"new-password", SAN_PASSWORD}, {"current-password", SAN_PASSWORD},
		{"one-time-code", SAN_ONE_TIME_CODE},
		{"street-address", SAN_ADDRESS}, {"address-line1", SAN_ADDRESS},
		{"address-line2", SAN_ADDRESS}, {"address-line3", SAN_ADDRESS},
		{"postal-code", SAN_POSTAL_CODE},
		{"cc-name", SAN_CARD_NAME}, {"cc-given-name", SAN_CARD_NAME},
		{"cc-additional-name", SAN_CARD_NAME}, {"cc-family-name", SAN_CARD_NAME},
		{"cc-number", SAN_CARD_NUMBER},
		{"cc-exp", SAN_CARD_EXPIRY}, {"cc-exp-month", SAN_CARD_EXPIRY},
		{"cc-exp-year", SAN_CARD_EXPIRY},
		{"cc-csc", SAN_CVC},
		{"bday", SAN_BIRTH_DATE}, {"bday-day", SAN_BIRTH_DATE},
		{"bday-month", SAN_BIRTH_DATE}, {"bday-year", SAN_BIRTH_DATE},
		{"email", SAN_EMAIL},
	};

	for (size_t k = 0; k < sizeof(tokens) / sizeof(tokens[0]); k++)
		if (equals_ci(t, n, tokens[k].token))
			return tokens[k].ph;
	if (n >= 3 && equals_ci(t, 3, "cc-"))
		return SAN_CARD_DATA;
	if (equals_ci(t, n, "tel") || (n > 4 && equals_ci(t, 4, "tel-")))
		return SAN_PHONE;
	return NULL;
}

/* The placeholder for a form field's value; see sanitize.h. */
const char *
san_field_placeholder(const SanField *f)
{
	static const char *const not_values[] = {"checkbox", "radio", "submit", "button", "reset",
	"image", "range", "color", "file", "hidden", NULL};
	uint32_t	bits = 0;

	for (int t = 0; t < f->ntypes; t++)
		for (int k = 0; not_values[k]; k++)
			if (equals_ci(f->type[t], f->type_len[t], not_values[k]))
				return NULL;
	if (f->autocomplete != NULL)
	{
		const char *s = f->autocomplete;
		size_t		i = 0,
					n = f->autocomplete_len;

		while (i < n)
		{
			size_t		st;
			const char *ph;

			while (i < n && is_space((unsigned char) s[i]))
				i++;
			st = i;
			while (i < n && !is_space((unsigned char) s[i]))
				i++;
			if (i > st && (ph = autocomplete_placeholder(s + st, i - st)) != NULL)
				return ph;
		}
	}
	for (int t = 0; t < f->ntypes; t++)
	{
		if (equals_ci(f->type[t], f->type_len[t], "password"))
			return SAN_PASSWORD;
		if (equals_ci(f->type[t], f->type_len[t], "email"))
			return SAN_EMAIL;
		if (equals_ci(f->type[t], f->type_len[t], "tel"))
			return SAN_PHONE;
		if (equals_ci(f->type[t], f->type_len[t], "search"))
			return NULL;
	}
	if (f->role != NULL && equals_ci(f->role, f->role_len, "searchbox"))
		return NULL;
	for (int k = 0; k < f->ntexts; k++)
	{
		NormName	nm;

		if (f->text[k] == NULL || f->text_len[k] == 0)
			continue;
		normalize_name(f->text[k], f->text_len[k], &nm);
		bits |= name_kinds(&nm, M_FIELD);
	}
	if (bits & (UINT32_C(1) << K_SEARCH))
		return NULL;
	return first_placeholder(bits);
}

/* The placeholder for a kind named in an event's `masked` field. */
const char *
san_placeholder_for_kind(const char *kind, size_t len)
{
	if (kind == NULL)
		return NULL;
	for (int k = 0; k < K__PLACEHOLDERS; k++)
	{
		const char *ph = kind_placeholder[k];
		size_t		pl = strlen(ph);

		if (pl == len + 2 && memcmp(ph + 1, kind, len) == 0)
			return ph;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * JSON numbers
 * ---------------------------------------------------------------------
 */

/*
 * The placeholder for a JSON number: <CARD_NUMBER> when its value is an
 * integer of 13 to 19 digits that passes the card test of the text rules
 * (4111111111111111, 4.111111111111111e15, -4111111111111111), else NULL.
 */
const char *
san_placeholder_for_number(const char *lexeme, size_t len)
{
	const unsigned char *s = (const unsigned char *) lexeme;
	unsigned char mant[64],
				d[CARD_MAX_DIGITS];
	size_t		nm = 0,
				point,
				i = 0,
				n = 0;
	long		exp = 0,
				intlen;
	bool		neg = false;

	/* fast path: written without an exponent, fewer than 13 digits */
	if (len < CARD_MIN_DIGITS + 1 && memchr(s, 'e', len) == NULL && memchr(s, 'E', len) == NULL &&
		(len < CARD_MIN_DIGITS || s[0] == '-' || memchr(s, '.', len) != NULL))
		return NULL;
	if (i < len && s[i] == '-')
		i++;
	for (; i < len && is_digit(s[i]); i++)
	{
		if (nm == sizeof(mant))
			return NULL;
		mant[nm++] = (unsigned char) (s[i] - '0');
	}
	point = nm;
	if (i < len && s[i] == '.')
	{
		for (i++; i < len && is_digit(s[i]); i++)
		{
			if (nm == sizeof(mant))
				return NULL;
			mant[nm++] = (unsigned char) (s[i] - '0');
		}
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			neg = s[i++] == '-';
		for (; i < len && is_digit(s[i]); i++)
			if ((exp = exp * 10 + (s[i] - '0')) > 100)
				return NULL;
		if (neg)
			exp = -exp;
	}
	if (i != len || nm == 0)
		return NULL;
	/* the integer part is mant[0..point + exp), padded with zeros */
	intlen = (long) point + exp;
	if (intlen <= 0)
		return NULL;
	for (size_t k = (size_t) intlen; k < nm; k++)
		if (mant[k] != 0)
			return NULL;		/* a fraction */
	for (long k = 0; k < intlen; k++)
	{
		unsigned char v = ((size_t) k < nm) ? mant[k] : 0;

		if (n == 0 && v == 0)
			continue;			/* leading zeros */
		if (n == sizeof(d))
			return NULL;
		d[n++] = v;
	}
	return card_digits_ok(d, n) ? SAN_CARD_NUMBER : NULL;
}
