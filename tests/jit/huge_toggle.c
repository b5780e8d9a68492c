/* huge_toggle.c - a huge region pre-filled with one trap byte, each half toggled RW<->RX whole for every small batch of code.
 *
 * Some JITs map a large code area near their library, fill it with a trap
 * byte of their choice at start (every page is then resident) and make a
 * whole half writable, then executable again, around each small batch of
 * new functions.  The cost of a capture at each exec grant must follow the
 * few pages written, not the 128 MiB toggled.
 *
 * HUGE_FILL (default 0xf4, hlt: traps in user mode) picks the fill byte;
 * HUGE_ROUNDS (default 300: 150 toggles of each half) the batches. */
#include "jitlib.h"

#define AREA (256ul << 20)
#define HALF (AREA / 2)
#define PER_ROUND 2
#define STRIDE 1024u   /* bytes between batches: a few functions per page */
#define HOT_EVERY 50   /* one batch in this many runs its first function hot */
#define MAX_ROUNDS 1000

static struct jl_func funcs[MAX_ROUNDS][PER_ROUND];

static unsigned long env_ul(const char *name, unsigned long def, unsigned long max)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 0);
	if (*end || v > max)
		jl_die("bad %s '%s'", name, s);
	return v;
}

int main(int argc, char **argv)
{
	int fill = (int)env_ul("HUGE_FILL", 0xf4, 0xff);
	int rounds = (int)env_ul("HUGE_ROUNDS", 300, MAX_ROUNDS);
	int hot_rounds = (rounds + HOT_EVERY / 2) / HOT_EVERY;
	double slice = jl_seconds(1.5) / (hot_rounds ? hot_rounds : 1);
	size_t cursor[2] = { 0, 0 };
	uintptr_t near;
	uint8_t *area;
	int r, i;

	jl_init(argv[0]);
	/* Near the program's own code (rel32 calls into the runtime reach it). */
	near = ((uintptr_t)&main + (1ul << 30)) & ~(AREA - 1);
	area = jl_mmap((void *)near, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(area, fill, AREA);
	jl_mprotect(area, AREA, PROT_READ | PROT_EXEC);
	for (r = 0; r < rounds; r++) {
		int h = r & 1;
		uint8_t *half = area + (size_t)h * HALF;
		struct jl_buf b;
		char label[32];

		jl_mprotect(half, HALF, PROT_READ | PROT_WRITE);
		jl_buf_init(&b, half, (uintptr_t)half, HALF);
		for (i = 0; i < PER_ROUND; i++) {
			size_t off = cursor[h] + (size_t)i * (JL_FN_MAX + JL_ALIGN);

			snprintf(label, sizeof(label), "huge_r%d_%d", r, i);
			/* The fill byte stays between functions: no int3 padding. */
			funcs[r][i] = jl_place(&b, off, 1000 + 7 * (uint32_t)r + (uint32_t)i, label);
		}
		cursor[h] += STRIDE;
		jl_mprotect(half, HALF, PROT_READ | PROT_EXEC);
		for (i = 0; i < PER_ROUND; i++)
			jl_check(&funcs[r][i]);
		if (r % HOT_EVERY == HOT_EVERY / 2)
			jl_run_for(&funcs[r][0], slice);
	}
	for (r = 0; r < rounds; r++)
		for (i = 0; i < PER_ROUND; i++)
			jl_report(&funcs[r][i], i == 0 && funcs[r][i].t0);
	return 0;
}
