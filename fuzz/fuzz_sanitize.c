/*
 * fuzz_sanitize.c
 *	  libFuzzer target for src/sanitize.c.
 *
 * The first input byte picks the function (text, URL, key names), the rest
 * is its argument.  The module is included as source so that the fuzzer can
 * use its internal scanner (find_all) to check invariants:
 *
 *	 - results are 0/1/-1, outputs NUL-terminated, 1 only when bytes changed;
 *	 - masking is idempotent: masking the output again returns 0;
 *	 - every email, card number and SSN found in the input occurs fewer times
 *	   in the output than in the input (the matched copy is gone; matches
 *	   hold no '<' or '>', so no copy can be formed across a placeholder);
 *	 - the output of the text rules holds no match at all;
 *	 - in a masked URL, every query parameter with a sensitive name has an
 *	   empty or placeholder value;
 *	 - a key named like a secret is also a secret as a URL parameter.
 *
 * Any violation aborts, which libFuzzer reports as a crash.
 */
#include "../src/sanitize.c"

#include <stdio.h>

/* Aborts with a message: an invariant does not hold. */
static void
fail(const char *what, const uint8_t *in, size_t len)
{
	fprintf(stderr, "invariant violated: %s (input %zu bytes)\n", what, len);
	(void) in;
	abort();
}

/* Counts (possibly overlapping) occurrences of needle in hay. */
static size_t
occurrences(const char *hay, size_t hl, const char *needle, size_t nl)
{
	size_t		n = 0;

	if (nl == 0 || nl > hl)
		return 0;
	for (size_t i = 0; i + nl <= hl; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
			n++;
	return n;
}

/* True when ph is one of the placeholders the module writes. */
static bool
known_placeholder(const char *ph)
{
	static const char *const all[] = {SAN_EMAIL, SAN_CARD_NUMBER, SAN_SSN, SAN_PASSWORD,
	SAN_CVC, SAN_TOKEN, SAN_SECRET, SAN_PHONE, NULL};

	for (int i = 0; all[i]; i++)
		if (ph == all[i] || strcmp(ph, all[i]) == 0)
			return true;
	return false;
}

/* Common checks of a mask function's result, then idempotence. */
static void
check_result(const char *what, int (*fn) (const char *, size_t, char **, size_t *),
			 const uint8_t *in, size_t len, int rc, char *out, size_t outlen)
{
	char	   *again = NULL;
	size_t		againlen = 0;
	int			rc2;

	if (rc < -1 || rc > 1)
		fail("return code", in, len);
	if (rc != 1)
	{
		if (out != NULL)
			fail("output set without masking", in, len);
		return;
	}
	if (out == NULL || out[outlen] != '\0')
		fail("output not NUL-terminated", in, len);
	if (outlen == len && memcmp(out, in, len) == 0)
		fail("returned 1 but nothing changed", in, len);
	rc2 = fn(out, outlen, &again, &againlen);
	if (rc2 == 1)
	{
		fprintf(stderr, "%s not idempotent:\n  out   [%.*s]\n  again [%.*s]\n", what,
				(int) outlen, out, (int) againlen, again);
		fail("not idempotent", in, len);
	}
	free(again);
}

/* Text rules: result checks, no match left, matched values removed. */
static void
fuzz_text(const uint8_t *in, size_t len)
{
	char	   *out = NULL;
	size_t		outlen = 0;
	int			rc = san_mask_text((const char *) in, len, &out, &outlen);
	SanSpans	emails = {0},
				found = {0};

	check_result("text", san_mask_text, in, len, rc, out, outlen);
	if (rc == 1 && find_all((const unsigned char *) in, len, &emails, &found) == 0)
	{
		if (found.n == 0)
			fail("masked without a match", in, len);
		for (size_t k = 0; k < found.n; k++)
		{
			const char *m = (const char *) in + found.v[k].start;
			size_t		ml = found.v[k].end - found.v[k].start;

			if (!known_placeholder(found.v[k].ph) || ml == 0 ||
				memchr(m, '<', ml) != NULL || memchr(m, '>', ml) != NULL)
				fail("bad match", in, len);
			/* long inputs would make the counting quadratic */
			if (k < 64 &&
				occurrences(out, outlen, m, ml) >= occurrences((const char *) in, len, m, ml))
				fail("a masked value is still in the output", in, len);
		}
	}
	free(emails.v);
	free(found.v);
	if (rc == 1)
	{
		emails.v = NULL;
		found.v = NULL;
		emails.n = emails.cap = found.n = found.cap = 0;
		if (find_all((const unsigned char *) out, outlen, &emails, &found) == 0 && found.n != 0)
			fail("the output still holds a match", in, len);
		free(emails.v);
		free(found.v);
	}
	free(out);
}

/*
 * URL rules: result checks, then every parameter of the output's query
 * (split independently of the module's parser) whose name is sensitive
 * has an empty value or a placeholder.
 */
static void
fuzz_url(const uint8_t *in, size_t len)
{
	char	   *out = NULL;
	size_t		outlen = 0;
	int			rc = san_mask_url((const char *) in, len, &out, &outlen);
	const char *s;
	size_t		n,
				q,
				e;

	check_result("url", san_mask_url, in, len, rc, out, outlen);
	s = (rc == 1) ? out : (const char *) in;
	n = (rc == 1) ? outlen : len;
	for (e = 0; e < n && s[e] != '#'; e++)
		;
	for (q = 0; q < e && s[q] != '?'; q++)
		;
	if (q < e && n > 0)
	{
		UrlCtx		cx = {0};
		size_t		i = q + 1;

		cx.s = (const unsigned char *) s;
		cx.len = n;
		cx.dec = malloc(n);
		cx.map = malloc((n + 1) * sizeof(size_t));
		if (cx.dec == NULL || cx.map == NULL)
			abort();
		while (i <= e)
		{
			size_t		pe = i,
						ne;

			while (pe < e && s[pe] != '&')
				pe++;
			for (ne = i; ne < pe && s[ne] != '='; ne++)
				;
			if (ne < pe)
			{
				size_t		dn = url_decode(&cx, i, ne, true);
				const char *ph = contains_placeholder(cx.dec, dn) ? NULL :
					san_placeholder_for_param((const char *) cx.dec, dn);

				if (ph != NULL)
				{
					size_t		vn = url_decode(&cx, ne + 1, pe, true);

					if (vn > 0 && !is_placeholder(cx.dec, vn))
						fail("a sensitive parameter kept its value", in, len);
				}
			}
			i = pe + 1;
		}
		free(cx.dec);
		free(cx.map);
	}
	free(out);
}

/* Name rules: known placeholders only, keys a subset of parameters. */
static void
fuzz_keys(const uint8_t *in, size_t len)
{
	const char *k = san_placeholder_for_key((const char *) in, len);
	const char *p = san_placeholder_for_param((const char *) in, len);

	if (k != NULL && !known_placeholder(k))
		fail("unknown key placeholder", in, len);
	if (p != NULL && !known_placeholder(p))
		fail("unknown parameter placeholder", in, len);
	if (k != NULL && p == NULL)
		fail("a secret key is not a secret parameter", in, len);
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3)
	{
		case 0:
			fuzz_text(data + 1, size - 1);
			break;
		case 1:
			fuzz_url(data + 1, size - 1);
			break;
		default:
			fuzz_keys(data + 1, size - 1);
			fuzz_text(data + 1, size - 1);
			break;
	}
	return 0;
}
