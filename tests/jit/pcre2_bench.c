/* pcre2_bench.c - CPU-bound workload on the real PCRE2 JIT: pcre2_jit_match of a few patterns over a large subject. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "jitlib.h"

#define SUBJECT (2u << 20)

static const char *const patterns[] = {
	"\\b\\w+ing\\b",
	"(\\d{3})-(\\d{4})",
	"(?i)jit(?:perf|dump)[0-9]",
	"[A-Z][a-z]+ [A-Z][a-z]{3,}son",
};
#define NPAT (sizeof(patterns) / sizeof(patterns[0]))

/* Where the JIT code of a compiled pattern is.  PCRE2 does not say, so
 * this reads its private layout (10.3x/10.4x): pcre2_real_code starts with
 * the memory control (3 pointers), the tables, then executable_jit, whose
 * first member is executable_funcs[3] and fourth executable_sizes[3].  The
 * result is checked against /proc/self/maps before anyone relies on it. */
static int jit_code_of(const pcre2_code *code, uintptr_t *addr, size_t *size)
{
	void *const *ej = *(void *const *const *)((const char *)code + 4 * sizeof(void *));
	uintptr_t a;
	size_t s;
	char line[512];
	FILE *maps;
	int ok = 0;

	if (!ej)
		return -1;
	a = (uintptr_t)ej[0];
	s = (size_t)(uintptr_t)ej[6];
	if (!a || !s || s > (16u << 20))
		return -1;
	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo &&
		    a + s <= hi && perms[2] == 'x')
			ok = 1;
	}
	fclose(maps);
	if (!ok)
		return -1;
	*addr = a;
	*size = s;
	return 0;
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
		jl_die("malloc failed");
	while (o < SUBJECT) {
		const char *w;

		r = jl_splitmix(r);
		w = words[r % (sizeof(words) / sizeof(words[0]))];
		o += (size_t)sprintf(s + o, "%s%c", w, (r >> 20) % 7 ? ' ' : '\n');
	}
	s[SUBJECT] = 0;
	return s;
}

static unsigned long count_matches(pcre2_code *re, pcre2_match_data *md, const char *s,
				   size_t len, int jit)
{
	PCRE2_SIZE off = 0, *ov;
	unsigned long n = 0;
	int rc;

	for (;;) {
		if (jit)
			rc = pcre2_jit_match(re, (PCRE2_SPTR)s, len, off, 0, md, NULL);
		else
			rc = pcre2_match(re, (PCRE2_SPTR)s, len, off, PCRE2_NO_JIT, md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH)
			return n;
		if (rc < 0)
			jl_die("match failed: %d", rc);
		n++;
		ov = pcre2_get_ovector_pointer(md);
		off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (off >= len)
			return n;
	}
}

int main(int argc, char **argv)
{
	double each = jl_seconds(1.5) / NPAT;
	pcre2_code *re[NPAT];
	struct jl_func f[NPAT];
	char *subject;
	unsigned i;

	jl_init(argv[0]);
	subject = make_subject();
	for (i = 0; i < NPAT; i++) {
		pcre2_match_data *md;
		PCRE2_SIZE erroff;
		unsigned long total = 0, small_jit, small_interp;
		uint64_t budget = (uint64_t)(each * 1e9), start;
		int err;

		re[i] = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED, 0, &err,
				      &erroff, NULL);
		if (!re[i])
			jl_die("pcre2_compile %s failed: %d", patterns[i], err);
		err = pcre2_jit_compile(re[i], PCRE2_JIT_COMPLETE);
		if (err)
			jl_die("pcre2_jit_compile %s failed: %d", patterns[i], err);
		memset(&f[i], 0, sizeof(f[i]));
		snprintf(f[i].label, sizeof(f[i].label), "pcre2_pattern%u", i);
		if (jit_code_of(re[i], &f[i].addr, &f[i].size))
			jl_die("cannot locate the JIT code of %s (PCRE2 layout changed?)", patterns[i]);

		md = pcre2_match_data_create_from_pattern(re[i], NULL);
		if (!md)
			jl_die("pcre2_match_data_create failed");
		small_jit = count_matches(re[i], md, subject, 65536, 1);
		small_interp = count_matches(re[i], md, subject, 65536, 0);
		if (small_jit != small_interp || !small_jit)
			jl_die("%s: JIT found %lu matches, interpreter %lu", patterns[i], small_jit,
			       small_interp);
		f[i].t0 = jl_mono_ns();
		start = jl_cpu_ns();
		do
			total += count_matches(re[i], md, subject, SUBJECT, 1);
		while (jl_cpu_ns() - start < budget);
		f[i].t1 = jl_mono_ns();
		pcre2_match_data_free(md);
		fprintf(stderr, "pcre2_bench: /%s/ %lu matches\n", patterns[i], total);
	}
	for (i = 0; i < NPAT; i++)
		jl_report(&f[i], 1);
	for (i = 0; i < NPAT; i++)
		pcre2_code_free(re[i]);
	free(subject);
	return 0;
}
