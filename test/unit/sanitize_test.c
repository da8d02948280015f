/*
 * sanitize_test.c
 *	  Standalone tests of src/sanitize.c: tables of inputs and hand-written
 *	  expected outputs for free text (what must be masked and what must be
 *	  kept: prices, dates, ids, coordinates), URLs, key and parameter names,
 *	  form fields, the extension's kinds and JSON numbers, then properties
 *	  (idempotence, NUL-termination, no masked value left behind) over
 *	  seeded random inputs, and linear-time checks on pathological inputs.
 *	  Built by test/suites/sanitize-unit.sh with ASan and UBSan.  Prints
 *	  "N passed, M failed" and exits non-zero on any failure.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef SAN_OOM_TEST
/*
 * Built with -DSAN_OOM_TEST, the module is compiled into this file with
 * malloc and realloc replaced by versions that fail on the k-th call, to
 * check that every allocation failure is reported as -1 without a leak.
 */
static long oom_countdown = -1;	/* calls left before failing; -1: never */

/* malloc that fails when the countdown reaches 0. */
static void *
oom_malloc(size_t n)
{
	if (oom_countdown == 0)
		return NULL;
	if (oom_countdown > 0)
		oom_countdown--;
	return malloc(n);
}

/* realloc that fails when the countdown reaches 0. */
static void *
oom_realloc(void *p, size_t n)
{
	if (oom_countdown == 0)
		return NULL;
	if (oom_countdown > 0)
		oom_countdown--;
	return realloc(p, n);
}

#define malloc(n) oom_malloc(n)
#define realloc(p, n) oom_realloc(p, n)
#include "../../src/sanitize.c"
#undef malloc
#undef realloc
#else
#include "sanitize.h"
#endif

static int	passed = 0;
static int	failed = 0;

/* Records one check; prints the failure with its description. */
#define CHECK(cond, ...) \
	do { \
		if (cond) \
			passed++; \
		else \
		{ \
			failed++; \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

/* An input and its expected output; want NULL means "unchanged". */
typedef struct Case
{
	const char *in;
	const char *want;
} Case;

/* Prints bytes with non-printables escaped, for failure messages. */
static void
show(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 32 && c < 127)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

typedef int (*MaskFn) (const char *, size_t, char **, size_t *);

/*
 * Runs fn on in[0..inlen) and compares with want[0..wantlen) (want NULL:
 * expect return 0 and no output).  Also checks that masking the output again
 * changes nothing.
 */
static void
expect_bytes(const char *what, MaskFn fn, const char *in, size_t inlen,
			 const char *want, size_t wantlen)
{
	char	   *out = (char *) 1;
	size_t		outlen = 12345;
	int			rc = fn(in, inlen, &out, &outlen);
	bool		ok;

	if (want == NULL)
		ok = (rc == 0 && out == NULL);
	else
		ok = (rc == 1 && out != NULL && outlen == wantlen &&
			  memcmp(out, want, wantlen) == 0 && out[outlen] == '\0');
	if (ok)
		passed++;
	else
	{
		failed++;
		fprintf(stderr, "FAIL %s: input \"", what);
		show(stderr, in, inlen);
		fprintf(stderr, "\"\n  got  rc=%d \"", rc);
		if (rc == 1 && out != NULL)
			show(stderr, out, outlen);
		fprintf(stderr, "\"\n  want \"");
		if (want)
			show(stderr, want, wantlen);
		else
			fprintf(stderr, "(unchanged)");
		fprintf(stderr, "\"\n");
	}
	if (rc == 1 && out != NULL)
	{
		char	   *again = NULL;
		size_t		againlen = 0;
		int			rc2 = fn(out, outlen, &again, &againlen);

		CHECK(rc2 == 0 && again == NULL, "%s: not idempotent on output of \"%s\"", what, in);
		free(again);
		free(out);
	}
}

/* Runs a table of NUL-terminated cases through fn. */
static void
run_table(const char *what, MaskFn fn, const Case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_bytes(what, fn, cases[i].in, strlen(cases[i].in),
					 cases[i].want, cases[i].want ? strlen(cases[i].want) : 0);
}

static const Case text_cases[] = {
	/* nothing to mask */
	{"", NULL},
	{"hello world", NULL},
	{"Add to Cart", NULL},
	{"<EMAIL> and <CARD_NUMBER> and <SSN>", NULL},

	/* emails */
	{"Contact john.doe@example.com for help", "Contact <EMAIL> for help"},
	{"mail: JOHN+tag@sub.example.co.uk.", "mail: <EMAIL>."},
	{"john@example.com", "<EMAIL>"},
	{"two: a@x.io,b@y.org", "two: <EMAIL>,<EMAIL>"},
	{"(first_last-1@shop-example.com)", "(<EMAIL>)"},
	{"\"john@example.com\"", "\"<EMAIL>\""},
	{"<john@example.com>", "<<EMAIL>>"},
	{"Email:john@example.com;", "Email:<EMAIL>;"},
	{"...john@example.com", "...<EMAIL>"},
	{"jos\xc3\xa9@example.com", "<EMAIL>"},
	{"4111111111111111@example.com", "<EMAIL>"},
	{"john@example.com.", "<EMAIL>."},
	{"john@example.com.123", "<EMAIL>.123"},
	{"a@b.c", NULL},
	{"user@localhost", NULL},
	{"x@192.168.0.1", NULL},
	{"@example.com", NULL},
	{"john@", NULL},
	{"john@@example.com", NULL},
	{"john@.example.com", NULL},
	{"a@b@c.com", "a@<EMAIL>"},
	{"price @ 5.99", NULL},
	{"@@@@", NULL},

	/* card numbers */
	{"Card 4111 1111 1111 1111 exp 12/27", "Card <CARD_NUMBER> exp 12/27"},
	{"4111-1111-1111-1111", "<CARD_NUMBER>"},
	{"4111111111111111", "<CARD_NUMBER>"},
	{"5500 0000 0000 0004", "<CARD_NUMBER>"},
	{"amex 3782 822463 10005", "amex <CARD_NUMBER>"},
	{"4222222222222", "<CARD_NUMBER>"},	/* 13-digit Visa */
	{"6011111111111117.", "<CARD_NUMBER>."},
	{"4000000000000000006", "<CARD_NUMBER>"},	/* 19 digits */
	{"4111 1111-1111 1111", "<CARD_NUMBER>"},	/* mixed separators */
	{"4111111111111111 5500000000000004", "<CARD_NUMBER> <CARD_NUMBER>"},
	{"2 4111 1111 1111 1111", "2 <CARD_NUMBER>"},
	{"4111 1111 1111 1111 2", "<CARD_NUMBER> 2"},
	{"card:4111111111111111!", "card:<CARD_NUMBER>!"},
	{"123456789012347", "<CARD_NUMBER>"},	/* 15 digits starting with 1: UATP */
	{"4111111111111112", NULL},	/* Luhn fails */
	{"Order #4111111111111112 shipped", NULL},
	{"411111111111111100000", NULL},	/* 21 digits, one group */
	{"4111  1111  1111  1111", "<CARD_NUMBER>"},	/* double spaces */
	{"4111 - 1111 - 1111 - 1111", "<CARD_NUMBER>"},
	{"4111--1111--1111--1111", "<CARD_NUMBER>"},
	{"4111    1111    1111    1111", NULL},	/* four spaces split the groups */
	{"4111.1111.1111.1111", "<CARD_NUMBER>"},
	{"4111/1111/1111/1111", "<CARD_NUMBER>"},
	{"4111\xc2\xa0" "1111\xc2\xa0" "1111\xc2\xa0" "1111", "<CARD_NUMBER>"},	/* no-break spaces */
	{"4111\xe2\x80\xaf" "1111\xe2\x80\xaf" "1111\xe2\x80\xaf" "1111", "<CARD_NUMBER>"},	/* narrow */
	{"4111\xe2\x80\x93" "1111\xe2\x80\x93" "1111\xe2\x80\x93" "1111", "<CARD_NUMBER>"},	/* en dash */
	{"\xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91 \xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91 "
		"\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91 \xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91",
	"<CARD_NUMBER>"},			/* full-width digits */
	{"\xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91"
		"\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91",
	"<CARD_NUMBER>"},
	{"\xd9\xa4\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1"
		"\xd9\xa1\xd9\xa1\xd9\xa1\xd9\xa1", "<CARD_NUMBER>"},	/* Arabic-Indic */
	{"\xe7\x95\xaa\xe5\x8f\xb7" "4111111111111111", "\xe7\x95\xaa\xe5\x8f\xb7<CARD_NUMBER>"},	/* after CJK */
	{"12.4111111111111111", NULL},	/* a decimal number */
	{"4111.1111.1111.1111.5", NULL},
	{"id4111111111111111", NULL},
	{"4111111111111111abc", NULL},
	{"x4111 1111 1111 1111", NULL},
	{"4111 1111 1111 1111x", NULL},
	{"3.4111111111111111", NULL},	/* a decimal number */
	{"4111111111111111.5", NULL},
	{"1,4111111111111111", NULL},
	{"+4111111111111111", NULL},	/* a phone number */
	{"+86 138 0013 8000", "<PHONE>"},
	{"+1 4111 1111 1111 1111", "+1 <CARD_NUMBER>"},	/* only the country code is skipped */
	{"0000000000000", NULL},	/* MII 0, Luhn-valid */
	{"0000 0000 0000 0000", NULL},

	/* timestamps, phone numbers, prices, dates, lists */
	{"at 1732579200000 ms", NULL},
	{"at 1732579200004 ms", NULL},	/* Luhn-valid epoch ms */
	{"1000000000000008", NULL},	/* Luhn-valid epoch us */
	{"+1 415-555-0132", "<PHONE>"},
	{"(555) 123-4567", "<PHONE>"},
	{"$1,299.99", NULL},
	{"2024-11-26T10:00:00Z", NULL},
	{"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", NULL},
	{"12 34 56 78 90 12 34 56", NULL},

	/* phone numbers in free text */
	{"call +1 (415) 555-0132 now", "call <PHONE> now"},
	{"+44 20 7946 0958", "<PHONE>"},
	{"+49 (0)30 1234567", "<PHONE>"},
	{"+14155550132", "<PHONE>"},
	{"tel:+14155550132", "tel:<PHONE>"},
	{"415-555-0132", "<PHONE>"},
	{"415.555.0132", "<PHONE>"},
	{"415 555 0132", "<PHONE>"},
	{"1-415-555-0132", "<PHONE>"},
	{"(415) 555-0132", "<PHONE>"},
	{"020 7946 0958", "<PHONE>"},
	{"030 1234567", "<PHONE>"},
	{"0171 1234567", "<PHONE>"},
	{"06 12 34 56 78", "<PHONE>"},
	{"06.12.34.56.78", "<PHONE>"},
	{"089/1234567", "<PHONE>"},
	{"0049 30 1234567", "<PHONE>"},
	{"Tel.: 030-1234567, Fax: 030-1234568", "Tel.: <PHONE>, Fax: <PHONE>"},
	{"+1 415 555 0132 or 4111 1111 1111 1111", "<PHONE> or <CARD_NUMBER>"},
	{"4111111111111111 (415) 555-0132", "<CARD_NUMBER> <PHONE>"},
	{"123-456-7890", NULL},		/* not a NANP area code */
	{"555-1234", NULL},
	{"SKU 123-456-789", NULL},
	{"12 34 56 78", NULL},
	{"0000 0000 0000 0000", NULL},
	{"Order 4155550132", NULL},
	{"Order #123-4567890", NULL},
	{"01.02.2024 1530", NULL},
	{"2+2=4, 10+12345678", NULL},

	/* things that must stay: prices, quantities, dates, ids, coordinates */
	{"1.299,99 \xe2\x82\xac", NULL},
	{"Qty: 2 x $19.99 = $39.98", NULL},
	{"26.11.2024", NULL},
	{"11/26/2024", NULL},
	{"2024-11-26 10:30", NULL},
	{"Ordered on 2024-11-26, delivered 2024-11-29", NULL},
	{"ISBN 978-3-16-148410-0", NULL},
	{"EAN 4006381333931", NULL},	/* a valid EAN-13 that passes Luhn */
	{"B08N5WRWNW", NULL},
	{"p-12345 item 12345 of 67890", NULL},
	{"52.520008, 13.404954", NULL},
	{"52.520008 13.404954", NULL},
	{"1732579200.123", NULL},
	{"0.30000000000000004", NULL},
	{"192.168.100.200", NULL},
	{"v1.2.3", NULL},
	{"size 42 EU / 8.5 US", NULL},
	{"AB12CD34EF56GH78", NULL},

	/* IBANs */
	{"DE89 3704 0044 0532 0130 00", "<IBAN>"},
	{"DE89370400440532013000", "<IBAN>"},
	{"de89370400440532013000", "<IBAN>"},
	{"IBAN: GB82 WEST 1234 5698 7654 32.", "IBAN: <IBAN>."},
	{"FR14 2004 1010 0505 0001 3M02 606", "<IBAN>"},
	{"NO93 8601 1117 947", "<IBAN>"},
	{"DE89370400440532013001", NULL},	/* checksum */
	{"DE8937040044053201300", NULL},	/* one character short */
	{"DE893704004405320130001", NULL},	/* one character long */
	{"XX89370400440532013000", NULL},	/* no such country */

	/* tokens, keys, credentials */
	{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
	"<TOKEN>"},
	{"jwt=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end", "jwt=<TOKEN> end"},
	{"Authorization: Bearer abcdef0123456789abcdef", "Authorization: Bearer <TOKEN>"},
	{"Bearer abcdef0123456789abcdef. Next", "Bearer <TOKEN>. Next"},
	{"bearer mF_9.B5f-4.1JqM", NULL},	/* shorter than 16 */
	{"Bearer authentication is described in RFC 6750", NULL},
	{"Basic dXNlcjpwYXNzd29yZA==", "Basic <TOKEN>"},
	{"Basic Sneakers", NULL},
	{"Basic T-Shirt, basic 12345678", NULL},
	{"AKIAIOSFODNN7EXAMPLE", "<SECRET>"},
	{"key=ASIAIOSFODNN7EXAMPLE;", "key=<SECRET>;"},
	{"AKIAIOSFODNN7EXAMPLEX", NULL},
	{"AIzaSyA-1234567890abcdefghijklmnopqrstu", "<SECRET>"},
	{"ghp_0123456789abcdefghijABCDEFGHIJ012345", "<TOKEN>"},
	{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123", "<TOKEN>"},
	{"glpat-0123456789abcdefghij", "<TOKEN>"},
	{"xoxb-1234567890-abcdefghij", "<TOKEN>"},
	{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "<SECRET>"},
	{"pk_test_TYooMQauvdEDq54NiTphI7jx", "<SECRET>"},
	{"whsec_0123456789abcdefghijABCD", "<SECRET>"},
	{"npm_0123456789abcdefghijABCDEFGHIJ012345", "<TOKEN>"},
	{"ya29.a0AfH6SMBx0123456789abcdefgh", "<TOKEN>"},
	{"SG.0123456789abcdefgh.0123456789abcdefghijklmnop", "<SECRET>"},
	{"sk-proj-0123456789abcdefghijABCDEFGHIJ", "<SECRET>"},
	{"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nrest",
	"<SECRET>\nrest"},
	{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", "<SECRET>"},
	{"-----BEGIN CERTIFICATE-----\nMIIB", NULL},
	{"sk_live_ and ghp_short and AIza", NULL},

	/* URLs in text get the URL rules */
	{"reset: https://shop.example/reset?token=abc123&lang=en now",
	"reset: https://shop.example/reset?token=<TOKEN>&lang=en now"},
	{"<a href=\"https://u:hunter2@example.com/x\">", "<a href=\"https://<USERNAME>:<PASSWORD>@example.com/x\">"},
	{"iframe[src=\"https://pay.example/?cardnumber=4111&name=Ann\"]",
	"iframe[src=\"https://pay.example/?cardnumber=<CARD_NUMBER>&name=<NAME>\"]"},
	{"https://x.com/?q=<EMAIL>&password=hunter2", "https://x.com/?q=<EMAIL>&password=<PASSWORD>"},

	/* SSNs */
	{"SSN 123-45-6789.", "SSN <SSN>."},
	{"899-99-9999", "<SSN>"},
	{"078-05-1120", "<SSN>"},
	{"000-12-3456", NULL},
	{"666-12-3456", NULL},
	{"900-12-3456", NULL},
	{"999-12-3456", NULL},
	{"123-00-4567", NULL},
	{"123-45-0000", NULL},
	{"123 45 6789", NULL},
	{"123456789", NULL},
	{"123-45-67890", NULL},
	{"1234-56-7890", NULL},
	{"a123-45-6789", NULL},
	{"123-45-6789b", NULL},
	{"1.123-45-6789", NULL},

	/* everything together */
	{"email a@b.com card 5500-0000-0000-0004 ssn 078-05-1120 ok",
	"email <EMAIL> card <CARD_NUMBER> ssn <SSN> ok"},
	{"a@b.com4111111111111111", NULL},	/* no TLD, digits glued to letters */
	{"x@ab.cd-4111111111111111", "x@ab.cd-<CARD_NUMBER>"},
	{"\xff\xfe 4111111111111111 \xc3", "\xff\xfe <CARD_NUMBER> \xc3"},
};

static const Case url_cases[] = {
	{"", NULL},
	{"https://shop.example.com/search?q=shoes&page=2", NULL},
	{"https://shop.example.com/p/123456?ref=home#reviews", NULL},
	{"https://x.com/login?password=hunter2&next=/home",
	"https://x.com/login?password=<PASSWORD>&next=/home"},
	{"https://x.com/?Token=abc&API_KEY=zzz&e-mail=a%40b.com",
	"https://x.com/?Token=<TOKEN>&API_KEY=<SECRET>&e-mail=<EMAIL>"},
	{"https://x.com/?pass=1&pwd=2&passwd=3&access_token=4&auth=5",
	"https://x.com/?pass=<PASSWORD>&pwd=<PASSWORD>&passwd=<PASSWORD>&access_token=<TOKEN>&auth=<TOKEN>"},
	{"https://x.com/?key=AIza1&secret=s&session=t&email=u&phone=v",
	"https://x.com/?key=<SECRET>&secret=<SECRET>&session=<SECRET>&email=<EMAIL>&phone=<PHONE>"},
	{"https://x.com/pay?cardnumber=4111111111111111&cvc=123&cvv=456&ssn=123-45-6789",
	"https://x.com/pay?cardnumber=<CARD_NUMBER>&cvc=<CVC>&cvv=<CVC>&ssn=<SSN>"},
	{"https://x.com/pay?card=4111&cc=1&CardNumber=2",
	"https://x.com/pay?card=<CARD_NUMBER>&cc=<CARD_NUMBER>&CardNumber=<CARD_NUMBER>"},
	{"https://x.com/?user%5Bpassword%5D=x&user[email]=y",
	"https://x.com/?user%5Bpassword%5D=<PASSWORD>&user[email]=<EMAIL>"},
	{"https://x.com/?pass%77ord=x", "https://x.com/?pass%77ord=<PASSWORD>"},
	{"https://x.com/s?q=john%40example.com", "https://x.com/s?q=<EMAIL>"},
	{"https://x.com/s?q=john%40example.com+and+more", "https://x.com/s?q=<EMAIL>+and+more"},
	{"https://x.com/?q=4111+1111+1111+1111", "https://x.com/?q=<CARD_NUMBER>"},
	{"https://x.com/?q=4111%201111%201111%201111&p=2", "https://x.com/?q=<CARD_NUMBER>&p=2"},
	{"https://x.com/?q=%34111111111111111", "https://x.com/?q=<CARD_NUMBER>"},
	{"https://x.com/?q=4111111111111112", NULL},
	{"https://x.com/?ts=1732579200004", NULL},
	{"https://x.com/?pwd=", NULL},
	{"https://x.com/?password=%3CPASSWORD%3E", NULL},
	{"https://x.com/?token=<PASSWORD>", NULL},
	{"https://x.com/?keyword=shoes&monkey=1&passenger=2&author=3&sort_key=price", NULL},
	{"https://x.com/cb#access_token=abc&state=xyz", "https://x.com/cb#access_token=<TOKEN>&state=xyz"},
	{"https://x.com/#/checkout?email=a@b.com", "https://x.com/#/checkout?email=<EMAIL>"},
	{"https://x.com/#contact:john@example.com", "https://x.com/#contact:<EMAIL>"},
	{"https://x.com/#contact-john@example.com", "https://x.com/#<EMAIL>"},
	{"https://x.com/?john%40example.com+password=1", "https://x.com/?<EMAIL>+password=<PASSWORD>"},
	{"https://user:secret@x.com/", "https://<USERNAME>:<PASSWORD>@x.com/"},
	{"https://:secret@x.com/", "https://:<PASSWORD>@x.com/"},
	{"https://john%40example.com_x:pw@x.com/a", "https://<USERNAME>:<PASSWORD>@x.com/a"},
	{"https://john%40example.com:pw@x.com/a", "https://<EMAIL>:<PASSWORD>@x.com/a"},
	{"https://user@x.com/", "https://<USERNAME>@x.com/"},
	{"https://<USERNAME>@x.com/", NULL},
	{"https://x.com/users/john@example.com/orders", "https://x.com/users/<EMAIL>/orders"},
	{"https://x.com/users/john%40example.com", "https://x.com/users/<EMAIL>"},
	{"/relative/path?token=abc", "/relative/path?token=<TOKEN>"},
	{"mailto:john@example.com", "mailto:<EMAIL>"},
	{"https://x.com/?a=1&&b=&=c&token", NULL},
	{"https://x.com/?q=%zz%4&r=%", NULL},
	{"https://x.com/?session=abc&sessionId=def&sid=1",
	"https://x.com/?session=<SECRET>&sessionId=<SECRET>&sid=<SECRET>"},
	{"https://x.com/?redirect=https%3A%2F%2Fa.com%2F%3Fq%3Dj%40x.com",
	"https://x.com/?redirect=https%3A%2F%2Fa.com%2F%3Fq%3D<EMAIL>"},
	{"https://x.com/?phone=%2B1%20415%20555%200132", "https://x.com/?phone=<PHONE>"},
	{"https://x.com/?q=a=b=c&token=a=b", "https://x.com/?q=a=b=c&token=<TOKEN>"},
	{"https://x.com/?ssn=123-45-6789&note=ssn+123-45-6789",
	"https://x.com/?ssn=<SSN>&note=ssn+<SSN>"},
	/* GET forms: field names say what the values are */
	{"https://shop.example/thank-you.html?fullname=Ann+O%27Neil&street=1+Main+St&city=Springfield"
		"&zip=12345&country=de&email=ann%40example.com&qty=2",
		"https://shop.example/thank-you.html?fullname=<NAME>&street=<ADDRESS>&city=Springfield"
	"&zip=<POSTAL_CODE>&country=de&email=<EMAIL>&qty=2"},
	{"https://x.com/order?first_name=Ann&last_name=Buyer&phone=5550132&address_line1=1+Main",
	"https://x.com/order?first_name=<NAME>&last_name=<NAME>&phone=<PHONE>&address_line1=<ADDRESS>"},
	{"https://x.com/?name=Ann&dob=1990-01-01&username=ann&iban=DE89&otp=123456&pin=1234",
	"https://x.com/?name=<NAME>&dob=<BIRTH_DATE>&username=<USERNAME>&iban=<IBAN>&otp=<ONE_TIME_CODE>&pin=<PASSWORD>"},
	{"https://x.com/?cc_exp=12%2F27&cvv2=123&cardholder=Ann", "https://x.com/?cc_exp=<CARD_EXPIRY>&cvv2=<CVC>&cardholder=<CARD_NAME>"},
	{"https://x.com/s?q=shoes&sort=name&product_name=tee&code=SUMMER10&state=xyz&page=2", NULL},
	{"https://x.com/?company_name=ACME&ip_address=10.0.0.1&city=Berlin", NULL},
	{"https://x.com/#name=Ann&tab=2", "https://x.com/#name=<NAME>&tab=2"},
	{"https://x.com/p/4111111111111111/1234567/8901234", "https://x.com/p/<CARD_NUMBER>/1234567/8901234"},
	{"https://x.com/c?phone=%2B1+415+555+0132&q=%2B1+415+555+0132", "https://x.com/c?phone=<PHONE>&q=<PHONE>"},
	{"https://x.com/?iban=DE89+3704+0044+0532+0130+00&note=DE89%203704%200044%200532%200130%2000",
	"https://x.com/?iban=<IBAN>&note=<IBAN>"},
	{"https://x.com/cb?next=https%3A%2F%2Fa.com%2F%3Ftoken%3Dabc%26x%3D1",
	"https://x.com/cb?next=https%3A%2F%2Fa.com%2F%3Ftoken%3D<TOKEN>%26x%3D1"},
	{"https://x.com/?a=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig0123456", "https://x.com/?a=<TOKEN>"},
	{"https://x.com/?key=AIzaSyA-1234567890abcdefghijklmnopqrstu", "https://x.com/?key=<SECRET>"},
};

/* A key name and the placeholder expected from each classifier. */
typedef struct KeyCase
{
	const char *key;
	const char *as_key;			/* san_placeholder_for_key */
	const char *as_param;		/* san_placeholder_for_param */
} KeyCase;

static const KeyCase key_cases[] = {
	{"password", SAN_PASSWORD, SAN_PASSWORD},
	{"Password", SAN_PASSWORD, SAN_PASSWORD},
	{"newPassword", SAN_PASSWORD, SAN_PASSWORD},
	{"password_confirmation", SAN_PASSWORD, SAN_PASSWORD},
	{"passwd", SAN_PASSWORD, SAN_PASSWORD},
	{"pwd", SAN_PASSWORD, SAN_PASSWORD},
	{"user-pwd", SAN_PASSWORD, SAN_PASSWORD},
	{"pass", SAN_PASSWORD, SAN_PASSWORD},
	{"cvc", SAN_CVC, SAN_CVC},
	{"CVV", SAN_CVC, SAN_CVC},
	{"cvv2", SAN_CVC, SAN_CVC},
	{"cardCvc", SAN_CVC, SAN_CVC},
	{"csc", SAN_CVC, SAN_CVC},
	{"securityCode", SAN_CVC, SAN_CVC},
	{"security-code", SAN_CVC, SAN_CVC},
	{"SECURITY_CODE", SAN_CVC, SAN_CVC},
	{"cardNumber", SAN_CARD_NUMBER, SAN_CARD_NUMBER},
	{"card_number", SAN_CARD_NUMBER, SAN_CARD_NUMBER},
	{"card-number", SAN_CARD_NUMBER, SAN_CARD_NUMBER},
	{"ccnum", SAN_CARD_NUMBER, SAN_CARD_NUMBER},
	{"cc-number", SAN_CARD_NUMBER, SAN_CARD_NUMBER},
	{"creditCard", SAN_CARD_NUMBER, SAN_CARD_NUMBER},
	{"ssn", SAN_SSN, SAN_SSN},
	{"SSN", SAN_SSN, SAN_SSN},
	{"userSsn", SAN_SSN, SAN_SSN},
	{"social_security_number", SAN_SSN, SAN_SSN},
	{"accessToken", SAN_TOKEN, SAN_TOKEN},
	{"id_token", SAN_TOKEN, SAN_TOKEN},
	{"apiKey", SAN_SECRET, SAN_SECRET},
	{"API_KEY", SAN_SECRET, SAN_SECRET},
	{"clientSecret", SAN_SECRET, SAN_SECRET},
	{"email", SAN_EMAIL, SAN_EMAIL},
	{"userEmail", SAN_EMAIL, SAN_EMAIL},
	{"phone", SAN_PHONE, SAN_PHONE},
	{"phoneNumber", SAN_PHONE, SAN_PHONE},
	/* personal fields */
	{"firstName", SAN_NAME, SAN_NAME},
	{"last_name", SAN_NAME, SAN_NAME},
	{"fullName", SAN_NAME, SAN_NAME},
	{"surname", SAN_NAME, SAN_NAME},
	{"streetAddress", SAN_ADDRESS, SAN_ADDRESS},
	{"address_line1", SAN_ADDRESS, SAN_ADDRESS},
	{"address", SAN_ADDRESS, SAN_ADDRESS},
	{"postalCode", SAN_POSTAL_CODE, SAN_POSTAL_CODE},
	{"zip", SAN_POSTAL_CODE, SAN_POSTAL_CODE},
	{"zipCode", SAN_POSTAL_CODE, SAN_POSTAL_CODE},
	{"birthDate", SAN_BIRTH_DATE, SAN_BIRTH_DATE},
	{"dob", SAN_BIRTH_DATE, SAN_BIRTH_DATE},
	{"username", SAN_USERNAME, SAN_USERNAME},
	{"iban", SAN_IBAN, SAN_IBAN},
	{"otp", SAN_ONE_TIME_CODE, SAN_ONE_TIME_CODE},
	{"oneTimeCode", SAN_ONE_TIME_CODE, SAN_ONE_TIME_CODE},
	{"cardholderName", SAN_CARD_NAME, SAN_CARD_NAME},
	{"ccExp", SAN_CARD_EXPIRY, SAN_CARD_EXPIRY},
	{"emailAddress", SAN_EMAIL, SAN_EMAIL},
	{"phoneVerificationCode", SAN_ONE_TIME_CODE, SAN_ONE_TIME_CODE},
	/* URL-only names (form fields of GET forms and URL secrets) */
	{"name", NULL, SAN_NAME},
	{"user", NULL, SAN_USERNAME},
	{"login", NULL, SAN_USERNAME},
	{"user_name", SAN_USERNAME, SAN_USERNAME},
	{"addr", SAN_ADDRESS, SAN_ADDRESS},
	{"key", NULL, SAN_SECRET},
	{"session", NULL, SAN_SECRET},
	{"sessionId", NULL, SAN_SECRET},
	{"sid", NULL, SAN_SECRET},
	{"card", NULL, SAN_CARD_NUMBER},
	{"cc", NULL, SAN_CARD_NUMBER},
	{"mail", NULL, SAN_EMAIL},
	{"signature", NULL, SAN_SECRET},
	/* event data keys and look-alikes that are not secrets */
	{"value", NULL, NULL},
	{"type", NULL, NULL},
	{"text", NULL, NULL},
	{"selector", NULL, NULL},
	{"url", NULL, NULL},
	{"inputType", NULL, NULL},
	{"masked", NULL, NULL},
	{"placeholder", NULL, NULL},
	{"tabId", NULL, NULL},
	{"timestamp", NULL, NULL},
	{"keyword", NULL, NULL},
	{"passive", NULL, NULL},
	{"compass", NULL, NULL},
	{"passenger", NULL, NULL},
	{"className", NULL, NULL},
	{"author", NULL, NULL},
	{"spinner", NULL, NULL},
	{"cardType", NULL, NULL},
	{"city", NULL, NULL},
	{"country", NULL, NULL},
	{"state", NULL, NULL},
	{"code", NULL, NULL},
	{"q", NULL, NULL},
	{"qty", NULL, NULL},
	{"sort", NULL, NULL},
	{"company_name", NULL, NULL},
	{"productName", NULL, NULL},
	{"ip_address", NULL, NULL},
	{"title", NULL, NULL},
	{"label", NULL, NULL},
	{"role", NULL, NULL},
	{"testId", NULL, NULL},
	{"attributes", NULL, NULL},
	{"boundingBox", NULL, NULL},
	{"pageCoordinates", NULL, NULL},
	{"framePath", NULL, NULL},
	{"topUrl", NULL, NULL},
	{"optionText", NULL, NULL},
	{"selectedIndex", NULL, NULL},
	{"formSelector", NULL, NULL},
	{"fieldCount", NULL, NULL},
	{"transitionQualifiers", NULL, NULL},
	{"openerTabId", NULL, NULL},
	{"isWindowClosing", NULL, NULL},
	{"documentHeight", NULL, NULL},
	{"durationMs", NULL, NULL},
	{"revealedCount", NULL, NULL},
	{"direction", NULL, NULL},
	{"container", NULL, NULL},
	{"aria-label", NULL, NULL},
	{"data-testid", NULL, NULL},
	{"", NULL, NULL},
};

/* Checks both name classifiers against the table. */
static void
run_keys(void)
{
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++)
	{
		const KeyCase *k = &key_cases[i];
		const char *a = san_placeholder_for_key(k->key, strlen(k->key));
		const char *b = san_placeholder_for_param(k->key, strlen(k->key));

		CHECK((a == NULL && k->as_key == NULL) ||
			  (a && k->as_key && strcmp(a, k->as_key) == 0),
			  "key \"%s\": got %s, want %s", k->key, a ? a : "NULL",
			  k->as_key ? k->as_key : "NULL");
		CHECK((b == NULL && k->as_param == NULL) ||
			  (b && k->as_param && strcmp(b, k->as_param) == 0),
			  "param \"%s\": got %s, want %s", k->key, b ? b : "NULL",
			  k->as_param ? k->as_param : "NULL");
	}
	/* keylen is honoured: "passwordX" cut to "pass" */
	CHECK(san_placeholder_for_key("passwordX", 4) != NULL, "keylen 4");
	CHECK(san_placeholder_for_key("typeX", 4) == NULL, "keylen typeX");
	CHECK(san_placeholder_for_key(NULL, 0) == NULL, "NULL key");
}

/*
 * A form field as the extension describes it: autocomplete, type, role,
 * then up to four texts (name, id, label, placeholder, ...), and the
 * placeholder expected for its value (NULL: keep the value).
 */
typedef struct FieldCase
{
	const char *autocomplete;
	const char *type;
	const char *role;
	const char *texts[4];
	const char *want;
} FieldCase;

static const FieldCase field_cases[] = {
	/* by autocomplete token */
	{"cc-csc", NULL, NULL, {NULL}, SAN_CVC},
	{"cc-number", "text", NULL, {"pan_field"}, SAN_CARD_NUMBER},
	{"cc-exp", NULL, NULL, {NULL}, SAN_CARD_EXPIRY},
	{"cc-name", NULL, NULL, {NULL}, SAN_CARD_NAME},
	{"cc-type", NULL, NULL, {NULL}, SAN_CARD_DATA},
	{"shipping street-address", NULL, NULL, {NULL}, SAN_ADDRESS},
	{"section-a billing address-line2", NULL, NULL, {NULL}, SAN_ADDRESS},
	{"billing postal-code", NULL, NULL, {NULL}, SAN_POSTAL_CODE},
	{"Name", NULL, NULL, {NULL}, SAN_NAME},
	{"given-name", NULL, NULL, {NULL}, SAN_NAME},
	{"username", NULL, NULL, {NULL}, SAN_USERNAME},
	{"one-time-code", NULL, NULL, {NULL}, SAN_ONE_TIME_CODE},
	{"current-password", "text", NULL, {NULL}, SAN_PASSWORD},
	{"bday-year", NULL, NULL, {NULL}, SAN_BIRTH_DATE},
	{"home tel-national", NULL, NULL, {NULL}, SAN_PHONE},
	{"email", NULL, NULL, {NULL}, SAN_EMAIL},
	{"country", NULL, NULL, {"Country"}, NULL},
	{"address-level2", NULL, NULL, {"city"}, NULL},
	{"off", NULL, NULL, {"password"}, SAN_PASSWORD},
	/* by type */
	{NULL, "password", NULL, {"pin_field"}, SAN_PASSWORD},
	{NULL, "email", NULL, {NULL}, SAN_EMAIL},
	{NULL, "tel", NULL, {NULL}, SAN_PHONE},
	/* by name, id, label, placeholder */
	{NULL, "text", NULL, {"cvc"}, SAN_CVC},
	{NULL, "text", NULL, {"password"}, SAN_PASSWORD},
	{NULL, NULL, NULL, {"fullname", "Full name"}, SAN_NAME},
	{NULL, NULL, NULL, {"First name"}, SAN_NAME},
	{NULL, NULL, NULL, {"Name"}, SAN_NAME},
	{NULL, NULL, NULL, {"Your name (as on your ID)"}, SAN_NAME},
	{NULL, NULL, NULL, {"Name on card"}, SAN_CARD_NAME},
	{NULL, NULL, NULL, {"Email address"}, SAN_EMAIL},
	{NULL, NULL, NULL, {"E-Mail"}, SAN_EMAIL},
	{NULL, NULL, NULL, {"street", "Street"}, SAN_ADDRESS},
	{NULL, NULL, NULL, {"Address line 2 (optional)"}, SAN_ADDRESS},
	{NULL, NULL, NULL, {"zip", "ZIP code"}, SAN_POSTAL_CODE},
	{NULL, NULL, NULL, {"Card number"}, SAN_CARD_NUMBER},
	{NULL, NULL, NULL, {"exp", "MM / YY"}, SAN_CARD_EXPIRY},
	{NULL, "date", NULL, {"Date of birth"}, SAN_BIRTH_DATE},
	{NULL, NULL, NULL, {"Username"}, SAN_USERNAME},
	{NULL, NULL, NULL, {"Verification code"}, SAN_ONE_TIME_CODE},
	{NULL, NULL, NULL, {"Phone"}, SAN_PHONE},
	{NULL, NULL, NULL, {"Mobile number"}, SAN_PHONE},
	{NULL, NULL, NULL, {"IBAN"}, SAN_IBAN},
	{NULL, NULL, NULL, {"Social Security Number"}, SAN_SSN},
	{NULL, NULL, NULL, {"Vorname"}, SAN_NAME},
	{NULL, NULL, NULL, {"Stra\xc3\x9f" "e und Hausnummer"}, SAN_ADDRESS},
	{NULL, NULL, NULL, {"PLZ"}, SAN_POSTAL_CODE},
	{NULL, NULL, NULL, {"Passwort"}, SAN_PASSWORD},
	{NULL, NULL, NULL, {"T\xc3\xa9l\xc3\xa9phone"}, SAN_PHONE},
	{NULL, NULL, NULL, {"Pr\xc3\xa9nom"}, SAN_NAME},
	{NULL, NULL, NULL, {"cvc", "CVC"}, SAN_CVC},
	/* not personal fields */
	{NULL, NULL, NULL, {"City"}, NULL},
	{NULL, NULL, NULL, {"Company name"}, NULL},
	{NULL, NULL, NULL, {"Product name"}, NULL},
	{NULL, NULL, NULL, {"Promo code"}, NULL},
	{NULL, NULL, NULL, {"coupon", "Coupon code"}, NULL},
	{NULL, NULL, NULL, {"qty", "Quantity"}, NULL},
	{NULL, NULL, NULL, {"Quantity of Classic Tee XL Black"}, NULL},
	{NULL, NULL, NULL, {"Size"}, NULL},
	{NULL, NULL, NULL, {"Color"}, NULL},
	{NULL, NULL, NULL, {"Gift message"}, NULL},
	{NULL, NULL, NULL, {"Order notes"}, NULL},
	{NULL, NULL, NULL, {"Sort by"}, NULL},
	{NULL, NULL, NULL, {"q", "Search products"}, NULL},
	{NULL, "search", NULL, {"name"}, NULL},
	{NULL, NULL, "searchbox", {"Name"}, NULL},
	{NULL, NULL, "combobox", {"Search by name or email"}, NULL},
	{NULL, "checkbox", NULL, {"Email me offers"}, NULL},
	{NULL, "radio", NULL, {"address", "Use this address"}, NULL},
	{NULL, "submit", NULL, {"password"}, NULL},
	{NULL, NULL, NULL, {NULL}, NULL},
};

/* Checks san_field_placeholder against the table. */
static void
run_fields(void)
{
	for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++)
	{
		const FieldCase *c = &field_cases[i];
		SanField	f;
		const char *got;

		memset(&f, 0, sizeof(f));
		if (c->autocomplete)
		{
			f.autocomplete = c->autocomplete;
			f.autocomplete_len = strlen(c->autocomplete);
		}
		if (c->role)
		{
			f.role = c->role;
			f.role_len = strlen(c->role);
		}
		if (c->type)
		{
			f.type[0] = c->type;
			f.type_len[0] = strlen(c->type);
			f.ntypes = 1;
		}
		for (int k = 0; k < 4 && c->texts[k]; k++)
		{
			f.text[f.ntexts] = c->texts[k];
			f.text_len[f.ntexts++] = strlen(c->texts[k]);
		}
		got = san_field_placeholder(&f);
		CHECK((got == NULL && c->want == NULL) || (got && c->want && strcmp(got, c->want) == 0),
			  "field %zu (%s %s %s): got %s, want %s", i, c->autocomplete ? c->autocomplete : "-",
			  c->type ? c->type : "-", c->texts[0] ? c->texts[0] : "-",
			  got ? got : "NULL", c->want ? c->want : "NULL");
	}
}

/* The extension's kind names, and JSON numbers that are card numbers. */
static void
run_kinds_numbers(void)
{
	static const struct
	{
		const char *in;
		const char *want;
	}			kinds[] = {
		{"NAME", SAN_NAME}, {"PASSWORD", SAN_PASSWORD}, {"CARD_DATA", SAN_CARD_DATA},
		{"ONE_TIME_CODE", SAN_ONE_TIME_CODE}, {"IBAN", SAN_IBAN}, {"SECRET", SAN_SECRET},
		{"name", NULL}, {"FOO", NULL}, {"", NULL}, {"<NAME>", NULL},
	}, numbers[] = {
		{"4111111111111111", SAN_CARD_NUMBER}, {"-4111111111111111", SAN_CARD_NUMBER},
		{"4.111111111111111e15", SAN_CARD_NUMBER}, {"4.111111111111111E+15", SAN_CARD_NUMBER},
		{"41111111111111110e-1", SAN_CARD_NUMBER}, {"4111111111111111.0", SAN_CARD_NUMBER},
		{"0.4111111111111111e16", SAN_CARD_NUMBER}, {"378282246310005", SAN_CARD_NUMBER},
		{"4111111111111112", NULL}, {"4111111111111111.5", NULL}, {"1732579200004", NULL},
		{"1e15", NULL}, {"0", NULL}, {"12", NULL}, {"-1.5", NULL}, {"4006381333931", NULL},
		{"4.111111111111111e14", NULL}, {"4e100", NULL}, {"41111111111111111111", NULL},
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
	{
		const char *got = san_placeholder_for_kind(kinds[i].in, strlen(kinds[i].in));

		CHECK((got == NULL && kinds[i].want == NULL) ||
			  (got && kinds[i].want && strcmp(got, kinds[i].want) == 0),
			  "kind \"%s\": got %s", kinds[i].in, got ? got : "NULL");
	}
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
	{
		const char *got = san_placeholder_for_number(numbers[i].in, strlen(numbers[i].in));

		CHECK((got == NULL && numbers[i].want == NULL) ||
			  (got && numbers[i].want && strcmp(got, numbers[i].want) == 0),
			  "number %s: got %s", numbers[i].in, got ? got : "NULL");
	}
	CHECK(san_is_placeholder("<NAME>", 6) && !san_is_placeholder("<name>", 6) &&
		  !san_is_placeholder("<>", 2), "san_is_placeholder");
	CHECK(san_contains_placeholder("x<EMAIL>y", 9) && !san_contains_placeholder("a<b>", 4),
		  "san_contains_placeholder");
}

/* Inputs with NUL bytes inside len: the bytes around them are preserved. */
static void
run_nuls(void)
{
	static const char in1[] = "a\0john@example.com\0b";
	static const char want1[] = "a\0<EMAIL>\0b";
	static const char in2[] = "\0004111111111111111\0";
	static const char want2[] = "\0<CARD_NUMBER>\0";
	static const char in3[] = "john\0@example.com";
	static const char in4[] = "https://x.com/?token=a\0b&q=c";
	static const char want4[] = "https://x.com/?token=<TOKEN>&q=c";
	static const char in5[] = "\0\0\0";

	expect_bytes("nul", san_mask_text, in1, sizeof(in1) - 1, want1, sizeof(want1) - 1);
	expect_bytes("nul", san_mask_text, in2, sizeof(in2) - 1, want2, sizeof(want2) - 1);
	expect_bytes("nul", san_mask_text, in3, sizeof(in3) - 1, NULL, 0);
	expect_bytes("nul", san_mask_url, in4, sizeof(in4) - 1, want4, sizeof(want4) - 1);
	expect_bytes("nul", san_mask_text, in5, sizeof(in5) - 1, NULL, 0);
	expect_bytes("nul", san_mask_url, in5, sizeof(in5) - 1, NULL, 0);
	/* NULL with length 0 */
	expect_bytes("null", san_mask_text, NULL, 0, NULL, 0);
	expect_bytes("null", san_mask_url, NULL, 0, NULL, 0);
}

/* Counts occurrences of needle in hay (possibly overlapping). */
static size_t
count_occurrences(const char *hay, size_t hl, const char *needle, size_t nl)
{
	size_t		n = 0;

	if (nl == 0 || nl > hl)
		return 0;
	for (size_t i = 0; i + nl <= hl; i++)
		if (memcmp(hay + i, needle, nl) == 0)
			n++;
	return n;
}

/* Seeded xorshift, so failures are reproducible. */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

/* Next pseudo-random number. */
static unsigned long long
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Random inputs built from fragments that exercise the rules: the output
 * must be NUL-terminated, idempotent, and must hold fewer copies of each
 * planted secret than the input when the secret stands alone.
 */
static void
run_random(int iterations)
{
	static const char *const frags[] = {
		"john@example.com", "4111 1111 1111 1111", "4111111111111111", "123-45-6789",
		"@", ".", "-", " ", "+", "a", "7", "%40", "%", "?", "&", "=", "#", "/", "<", ">",
		"token=", "password=", "q=", "https://", "x.com", "\xc3\xa9", "\xff", "0",
		"5500-0000-0000-0004", "1732579200004", ":", "user:pw@", "_", ",", "\0",
		"+1 ", "(415) ", "555-0132", "0", "\xc2\xa0", "\xef\xbc\x94", "\xef\xbc\x91", "(", ")",
		"DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "eyJhbGciOiJIUzI1NiJ9",
		".eyJzdWIiOiIxIn0", ".sig", "Bearer ", "abcdef0123456789abcd", "AKIAIOSFODNN7EXAMPLE",
		"Basic dXNlcjpwYXNzd29yZA==", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
		"<EMAIL>", "<PHONE>", "x://", "?name=", "&zip=", "#", "%2B",
	};
	static const char *const secrets[] = {"john@example.com", "4111111111111111", "123-45-6789",
	"AKIAIOSFODNN7EXAMPLE", "DE89 3704 0044 0532 0130 00"};
	const size_t nfr = sizeof(frags) / sizeof(frags[0]);
	int			bad_idem = 0,
				bad_term = 0,
				bad_leak = 0;

	for (int it = 0; it < iterations; it++)
	{
		char		buf[1024];
		size_t		len = 0;
		int			parts = 1 + (int) (rnd() % 32);

		for (int p = 0; p < parts; p++)
		{
			const char *f = frags[rnd() % nfr];
			size_t		fl = (f[0] == '\0') ? 1 : strlen(f);

			if (len + fl > sizeof(buf))
				break;
			memcpy(buf + len, f, fl);
			len += fl;
		}
		for (int which = 0; which < 2; which++)
		{
			MaskFn		fn = which ? san_mask_url : san_mask_text;
			char	   *out = NULL,
					   *again = NULL;
			size_t		outlen = 0,
						againlen = 0;
			int			rc = fn(buf, len, &out, &outlen);

			if (rc != 1)
				continue;
			if (out[outlen] != '\0')
				bad_term++;
			if (fn(out, outlen, &again, &againlen) != 0)
			{
				if (bad_idem++ < 5)
				{
					fprintf(stderr, "not idempotent (%s): \"", which ? "url" : "text");
					show(stderr, buf, len);
					fprintf(stderr, "\" -> \"");
					show(stderr, out, outlen);
					fprintf(stderr, "\" -> \"");
					show(stderr, again, againlen);
					fprintf(stderr, "\"\n");
				}
			}
			/* a secret surrounded by spaces in the text is always masked */
			if (!which)
				for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
				{
					char		pat[64];
					size_t		pl = (size_t) snprintf(pat, sizeof(pat), " %s ", secrets[k]);

					if (count_occurrences(out, outlen, pat, pl) > 0 && bad_leak++ < 5)
					{
						fprintf(stderr, "kept \"%s\": \"", secrets[k]);
						show(stderr, buf, len);
						fprintf(stderr, "\" -> \"");
						show(stderr, out, outlen);
						fprintf(stderr, "\"\n");
					}
				}
			free(again);
			free(out);
		}
	}
	CHECK(bad_term == 0, "random: %d outputs not NUL-terminated", bad_term);
	CHECK(bad_idem == 0, "random: %d outputs not idempotent", bad_idem);
	CHECK(bad_leak == 0, "random: %d outputs kept a space-delimited secret", bad_leak);
}

/* Fills buf with n copies of pattern (buf must hold n*strlen+1 bytes). */
static size_t
repeat(char *buf, const char *pattern, size_t n)
{
	size_t		pl = strlen(pattern);

	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * pl, pattern, pl);
	buf[n * pl] = '\0';
	return n * pl;
}

/*
 * Fills buf with n copies of pattern and returns the best of three timings
 * of masking it as text and as a URL, in seconds of CPU time.
 */
static double
time_both(char *buf, const char *pattern, size_t n)
{
	size_t		len = repeat(buf, pattern, n);
	double		best = 1e9;

	for (int r = 0; r < 3; r++)
	{
		char	   *out = NULL;
		size_t		outlen;
		clock_t		c = clock();
		double		t;

		san_mask_text(buf, len, &out, &outlen);
		free(out);
		out = NULL;
		san_mask_url(buf, len, &out, &outlen);
		free(out);
		t = (double) (clock() - c) / CLOCKS_PER_SEC;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * Very long and pathological inputs: results are right and the time grows
 * linearly.
 */
static void
run_long(void)
{
	static const char *const patterns[] = {
		"a", "@", "a@", "a.", "a@b.", "1 ", "1-", "12 ", "4111 ", "1234567890",
		"a@b.cc", ".a@b", "%40", "a-", "@a.a",
		"+1 ", "(1) ", "1.", "1/", "\xef\xbc\x91 ", "\xc2\xa0" "1", "0 ", "DE89 ", "DE89",
		"eyJabcdefghij.", "Bearer a1", "Basic ", "AKIA", "ghp_", "http://", "x://?q=",
		"?a=https://b/?c=", "-----BEGIN PRIVATE KEY-----", "-", "<A>", "<",
	};
	size_t		big = 1 << 20;
	char	   *buf = malloc(big * 8 + 64);
	char	   *out = NULL;
	size_t		outlen = 0,
				len;
	int			rc;

	if (buf == NULL)
	{
		CHECK(0, "malloc");
		return;
	}

	/* a card at the end of 1 MB of text */
	memset(buf, 'x', big);
	buf[big - 1] = ' ';
	memcpy(buf + big, "4111111111111111", 17);
	rc = san_mask_text(buf, big + 16, &out, &outlen);
	CHECK(rc == 1 && outlen == big + strlen(SAN_CARD_NUMBER) &&
		  strcmp(out + big, SAN_CARD_NUMBER) == 0, "card after 1 MB");
	free(out);
	out = NULL;

	/* 100000 emails */
	len = repeat(buf, "a@b.cc ", 100000);
	rc = san_mask_text(buf, len, &out, &outlen);
	CHECK(rc == 1 && outlen == 100000 * strlen("<EMAIL> "), "100000 emails");
	free(out);
	out = NULL;

	/* 20000 cards in one URL parameter */
	len = (size_t) sprintf(buf, "https://x.com/?q=");
	len += repeat(buf + len, "4111111111111111+", 20000);
	rc = san_mask_url(buf, len, &out, &outlen);
	CHECK(rc == 1 && outlen == strlen("https://x.com/?q=") + 20000 * strlen("<CARD_NUMBER>+"),
		  "20000 cards in a URL");
	free(out);
	out = NULL;

	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++)
	{
		size_t		pl = strlen(patterns[p]);
		double		t1 = time_both(buf, patterns[p], (big / 16) / pl);
		double		t2 = time_both(buf, patterns[p], big / pl);

		/*
		 * 16 times the input: linear is ~16x the time, quadratic ~256x (and
		 * minutes in absolute terms).  Generous bounds for a loaded machine.
		 */
		CHECK(t2 < 3.0 && t2 < 64 * t1 + 0.25,
			  "pattern \"%s\": 64 KB %.3f s, 1 MB %.3f s (not linear)", patterns[p], t1, t2);
	}
	free(buf);
}

#ifdef SAN_OOM_TEST
/*
 * Fails the 1st, 2nd, ... allocation of each call: the result must be -1
 * with no output, or (once no allocation fails) the normal result.
 */
static void
run_oom(void)
{
	static const struct
	{
		MaskFn		fn;
		const char *in;
	}			cases[] = {
		{san_mask_text, "a@b.com 4111111111111111 123-45-6789 x@y.org"},
		{san_mask_url, "https://u:p@x.com/a@b.com?password=1&q=4111+1111+1111+1111#t=a%40b.com"},
		{san_mask_url, "/p?token=x"},
		{san_mask_text, "see https://a.com/?next=https%3A%2F%2Fb.com%2F%3Ftoken%3Dx&e=a%40b.com now"},
		{san_mask_text, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 "
		"31 32 33 34 35 +1 415 555 0132 4111111111111111 "
		"1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
		"1234567890123456789012345678901234567890"},
		{san_mask_text, "DE89 3704 0044 0532 0130 00 AKIAIOSFODNN7EXAMPLE Bearer abcdef0123456789abcd"},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		char	   *want = NULL;
		size_t		wantlen = 0;
		int			wrc,
					failures_seen = 0;

		oom_countdown = -1;
		wrc = cases[c].fn(cases[c].in, strlen(cases[c].in), &want, &wantlen);
		CHECK(wrc == 1, "oom reference %zu", c);
		for (long k = 0; k < 1000; k++)
		{
			char	   *out = (char *) 1;
			size_t		outlen = 0;
			int			rc;

			oom_countdown = k;
			rc = cases[c].fn(cases[c].in, strlen(cases[c].in), &out, &outlen);
			if (rc == -1)
			{
				CHECK(out == NULL, "oom case %zu at %ld: output set", c, k);
				failures_seen++;
				continue;
			}
			CHECK(rc == wrc && outlen == wantlen && memcmp(out, want, wantlen) == 0,
				  "oom case %zu at %ld: rc %d", c, k, rc);
			free(out);
			break;
		}
		CHECK(failures_seen > 0, "oom case %zu: no allocation failed", c);
		free(want);
	}
	oom_countdown = -1;
}
#endif

/* Runs every group of checks and prints the summary line. */
int
main(int argc, char **argv)
{
	int			iterations = (argc > 1) ? atoi(argv[1]) : 20000;

	run_table("text", san_mask_text, text_cases, sizeof(text_cases) / sizeof(text_cases[0]));
	run_table("url", san_mask_url, url_cases, sizeof(url_cases) / sizeof(url_cases[0]));
	run_keys();
	run_fields();
	run_kinds_numbers();
	run_nuls();
	run_random(iterations);
	run_long();
#ifdef SAN_OOM_TEST
	run_oom();
#endif
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
