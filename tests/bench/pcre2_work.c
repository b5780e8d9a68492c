/* pcre2_work.c - a fixed amount of work on the real PCRE2 JIT (sljit: RWX chunks written with no system call): a few hot patterns over a large subject, and a stream of patterns compiled, used briefly and freed.
 *
 * Usage: pcre2_work [SCALE]   (SCALE 1 is about 2 s on this machine kind)
 * Prints the number of matches, which must not depend on the shim. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBJECT (1u << 20)

static const char *const hot[] = {
	"\\b\\w+ing\\b",
	"(\\d{3})-(\\d{4})",
	"(?i)jit(?:perf|dump)[0-9]",
	"[A-Z][a-z]+ [A-Z][a-z]{3,}son",
};

static void die(const char *what)
{
	fprintf(stderr, "pcre2_work: %s\n", what);
	exit(1);
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static char *make_subject(void)
{
	static const char *const words[] = {
		"the", "perf", "Record", "sampling", "code", "jitted", "Smith", "Johnson",
		"running", "of", "memory", "Anderson", "a", "Mapping", "trace", "555-1234",
		"JITdump7", "executable", "is", "writing",
	};
	char *s = malloc(SUBJECT + 64);
	size_t o = 0;
	uint64_t r = 1;

	if (!s)
		die("out of memory");
	while (o < SUBJECT) {
		r = splitmix(r);
		o += (size_t)sprintf(s + o, "%s%c", words[r % (sizeof(words) / sizeof(words[0]))],
				     (r >> 20) % 7 ? ' ' : '\n');
	}
	s[SUBJECT] = 0;
	return s;
}

static pcre2_code *compile(const char *pat)
{
	PCRE2_SIZE erroff;
	int err;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &err, &erroff, NULL);

	if (!re)
		die(pat);
	if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE))
		die("pcre2_jit_compile failed");
	return re;
}

static unsigned long count(pcre2_code *re, const char *s, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	PCRE2_SIZE off = 0, *ov;
	unsigned long n = 0;

	if (!md)
		die("out of memory");
	for (;;) {
		int rc = pcre2_jit_match(re, (PCRE2_SPTR)s, len, off, 0, md, NULL);

		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0)
			die("match failed");
		n++;
		ov = pcre2_get_ovector_pointer(md);
		off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (off >= len)
			break;
	}
	pcre2_match_data_free(md);
	return n;
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	int rounds = (int)(1000 * scale + 0.5);
	unsigned long total = 0;
	pcre2_code *re[4];
	char *s = make_subject();

	for (int i = 0; i < 4; i++)
		re[i] = compile(hot[i]);
	for (int r = 0; r < rounds; r++) {
		total += count(re[r % 4], s, SUBJECT);
		/* New patterns: code appears in the RWX chunks, old code is
		 * freed and its space reused. */
		for (int k = 0; k < 8; k++) {
			char pat[96];
			pcre2_code *t;

			snprintf(pat, sizeof(pat), "(?:%s|[A-Z]%c+%d)\\s+(\\w{%d,%d})", hot[(r + k) % 4], 'a' + (r * 8 + k) % 26,
				 r * 8 + k, 1 + k % 3, 4 + k);
			t = compile(pat);
			total += count(t, s, 32768);
			pcre2_code_free(t);
		}
	}
	for (int i = 0; i < 4; i++)
		pcre2_code_free(re[i]);
	free(s);
	printf("pcre2_work: rounds=%d matches=%lu\n", rounds, total);
	return 0;
}
