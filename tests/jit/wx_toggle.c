/* wx_toggle.c - W^X toggling: code written into RW pages then made RX, again for every batch (LuaJIT, SpiderMonkey). */
#include "jitlib.h"

#define PAGES 16
#define ROUNDS 6
#define PER_ROUND 3

int main(int argc, char **argv)
{
	size_t pg = jl_page(), len = PAGES * pg;
	double slice = jl_seconds(1.5) / ROUNDS;
	struct jl_func f[ROUNDS][PER_ROUND];
	struct jl_buf b;
	uint8_t *area;
	int r, i;

	jl_init(argv[0]);
	area = jl_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, area, (uintptr_t)area, len);
	for (r = 0; r < ROUNDS; r++) {
		/* Even rounds toggle the whole area (LuaJIT's mcode area), odd
		 * rounds only the pages being written (SpiderMonkey's
		 * page-sized toggles); earlier code stays in place. */
		size_t lo = r % 2 ? b.len & ~(pg - 1) : 0;
		size_t hi;
		char label[32];

		/* Start each round on a new page half the time, so some pages
		 * hold functions from two batches. */
		if (r % 2 == 0 && b.len % pg)
			b.len = (b.len + pg - 1) & ~(pg - 1);
		if (r)
			jl_mprotect(area + lo, len - lo, PROT_READ | PROT_WRITE);
		for (i = 0; i < PER_ROUND; i++) {
			snprintf(label, sizeof(label), "wx_r%d_%d", r, i);
			f[r][i] = jl_add(&b, 10 * r + i + 1, label);
		}
		hi = (b.len + pg - 1) & ~(pg - 1);
		jl_mprotect(area + lo, (r % 2 ? hi : len) - lo, PROT_READ | PROT_EXEC);
		if (r % 2)
			jl_mprotect(area + hi, len - hi, PROT_READ | PROT_EXEC);
		for (i = 0; i < PER_ROUND; i++)
			jl_check(&f[r][i]);
		/* The round's first function is its hot one. */
		jl_run_for(&f[r][0], slice);
	}
	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < PER_ROUND; i++)
			jl_report(&f[r][i], i == 0);
	return 0;
}
