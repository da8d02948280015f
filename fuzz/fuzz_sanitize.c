/*
 * fuzz_sanitize.c
 *	  libFuzzer target for src/sanitize.c.
 *
 * The first input byte picks the function (text, URL, key names and
 * numbers, form fields), the rest is its argument.  The module is included as source so that the fuzzer can
 * use its internal scanner (scan_text) to check invariants:
 *
 *	 - results are 0/1/-1, outputs NUL-terminated, 1 only when bytes changed;
 *	 - masking is idempotent: masking the output again returns 0;
 *	 - every value matched in the input (emails, cards, phones, IBANs,
 *	   tokens, ...) occurs fewer times in the output than in the input (the
 *	   matched copy is gone), and the matches are sorted and disjoint;
 *	 - the output of the text rules holds no match at all;
 *	 - in a masked URL, every query parameter with a sensitive name has an
 *	   empty or placeholder value;
 *	 - a key named like a secret is also a secret as a URL parameter;
 *	 - name, field and number rules return only known placeholders, and a
 *	   checkbox's value is never masked.
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
	static const char *const all[] = {SAN_NAME, SAN_ADDRESS, SAN_POSTAL_CODE, SAN_PHONE,
		SAN_BIRTH_DATE, SAN_EMAIL, SAN_USERNAME, SAN_ONE_TIME_CODE, SAN_PASSWORD,
		SAN_CARD_NUMBER, SAN_CARD_EXPIRY, SAN_CVC, SAN_CARD_NAME, SAN_CARD_DATA, SAN_IBAN,
	SAN_SSN, SAN_TOKEN, SAN_SECRET, NULL};

	for (int i = 0; all[i]; i++)
		if (ph == all[i] || strcmp(ph, all[i]) == 0)
			return true;
	return false;
}

/* True when s[0..n) is made of the characters placeholders are made of. */
static bool
only_placeholder_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
			return false;
	return true;
}

/* The text rules' matches in s[0..len), as san_mask_text finds them. */
static int
text_spans(const uint8_t *s, size_t len, SanSpans *found)
{
	SanCtx		cx;
	int			rc;

	found->n = 0;
	if (len == 0)
		return 0;
	ctx_init(&cx);
	rc = scan_text(&cx, 0, s, 0, len, 0, found);
	ctx_free(&cx);
	return rc;
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

/*
 * Text rules: result checks, no match left, matched values removed.  URLs
 * in the text get the URL rules, whose matches stand inside them.
 */
static void
fuzz_text(const uint8_t *in, size_t len)
{
	char	   *out = NULL;
	size_t		outlen = 0;
	int			rc = san_mask_text((const char *) in, len, &out, &outlen);
	SanSpans	found = {0};

	check_result("text", san_mask_text, in, len, rc, out, outlen);
	if (rc == 1 && text_spans(in, len, &found) == 0)
	{
		if (found.n == 0)
			fail("masked without a match", in, len);
		for (size_t k = 0; k < found.n; k++)
		{
			const char *m = (const char *) in + found.v[k].start;
			size_t		ml = found.v[k].end - found.v[k].start;

			if (!known_placeholder(found.v[k].ph) || ml == 0 ||
				(k > 0 && found.v[k].start < found.v[k - 1].end))
				fail("bad match", in, len);
			/*
			 * A match holding no '<' or '>' and something else than [A-Z_]
			 * cannot be formed again by or across a placeholder (long inputs
			 * would make the counting quadratic).
			 */
			if (k < 64 && memchr(m, '<', ml) == NULL && memchr(m, '>', ml) == NULL &&
				!only_placeholder_chars(m, ml) &&
				occurrences(out, outlen, m, ml) >= occurrences((const char *) in, len, m, ml))
				fail("a masked value is still in the output", in, len);
		}
	}
	if (rc == 1 && text_spans((const uint8_t *) out, outlen, &found) == 0 && found.n != 0)
		fail("the output still holds a match", in, len);
	free(found.v);
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
		Level		lv = {0};
		size_t		i = q + 1;

		if (level_reserve(&lv, n) < 0)
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
				size_t		dn = url_decode(&lv, (const unsigned char *) s, i, ne, true);
				const char *ph = san_contains_placeholder((const char *) lv.dec, dn) ? NULL :
					san_placeholder_for_param((const char *) lv.dec, dn);

				if (ph != NULL)
				{
					size_t		vn = url_decode(&lv, (const unsigned char *) s, ne + 1, pe, true);

					if (vn > 0 && !san_is_placeholder((const char *) lv.dec, vn))
						fail("a sensitive parameter kept its value", in, len);
				}
			}
			i = pe + 1;
		}
		free(lv.dec);
		free(lv.map);
	}
	free(out);
}

/* Name rules: known placeholders only, keys a subset of parameters. */
static void
fuzz_keys(const uint8_t *in, size_t len)
{
	const char *k = san_placeholder_for_key((const char *) in, len);
	const char *p = san_placeholder_for_param((const char *) in, len);
	const char *n = san_placeholder_for_number((const char *) in, len);

	if (k != NULL && !known_placeholder(k))
		fail("unknown key placeholder", in, len);
	if (p != NULL && !known_placeholder(p))
		fail("unknown parameter placeholder", in, len);
	if (k != NULL && p == NULL)
		fail("a secret key is not a secret parameter", in, len);
	if (n != NULL && strcmp(n, SAN_CARD_NUMBER) != 0)
		fail("a number masked as something else than a card", in, len);
}

/*
 * Field rules: the input is the field's parts separated by 0x01
 * (autocomplete, role, a type, then texts); the result is NULL or a known
 * placeholder, and checkbox-like types always keep their value.
 */
static void
fuzz_field(const uint8_t *in, size_t len)
{
	SanField	f;
	const char *parts[3 + SAN_FIELD_MAX_TEXTS];
	size_t		plen[3 + SAN_FIELD_MAX_TEXTS];
	int			np = 0;
	size_t		st = 0;
	const char *ph;

	memset(&f, 0, sizeof(f));
	for (size_t i = 0; i <= len && np < 3 + SAN_FIELD_MAX_TEXTS; i++)
		if (i == len || in[i] == 1)
		{
			parts[np] = (const char *) in + st;
			plen[np++] = i - st;
			st = i + 1;
		}
	if (np > 0)
	{
		f.autocomplete = parts[0];
		f.autocomplete_len = plen[0];
	}
	if (np > 1)
	{
		f.role = parts[1];
		f.role_len = plen[1];
	}
	if (np > 2)
	{
		f.type[0] = parts[2];
		f.type_len[0] = plen[2];
		f.ntypes = 1;
	}
	for (int k = 3; k < np; k++)
	{
		f.text[f.ntexts] = parts[k];
		f.text_len[f.ntexts++] = plen[k];
	}
	ph = san_field_placeholder(&f);
	if (ph != NULL && !known_placeholder(ph))
		fail("unknown field placeholder", in, len);
	if (ph != NULL && np > 2 && plen[2] == 8 && memcmp(parts[2], "checkbox", 8) == 0)
		fail("a checkbox's value was masked", in, len);
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 4)
	{
		case 0:
			fuzz_text(data + 1, size - 1);
			break;
		case 1:
			fuzz_url(data + 1, size - 1);
			break;
		case 2:
			fuzz_keys(data + 1, size - 1);
			fuzz_text(data + 1, size - 1);
			break;
		default:
			fuzz_field(data + 1, size - 1);
			break;
	}
	return 0;
}
