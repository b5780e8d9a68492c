/* page_cut.c - functions across page boundaries, written and re-protected a page at a time (SpiderMonkey's W^X).
 *
 * The area is executable from the start, as SpiderMonkey's is.  Each
 * function is placed across a page boundary at an offset that changes from
 * run to run (the cut would move with the code's address).  The two pages
 * are made writable together, the function written, then made executable
 * one page at a time: the first exec grant shows only one half of the
 * function.  Half the functions grant the page of their head first, half
 * the page of their tail.  Between functions, single pages are made
 * writable and executable again with nothing changed (SpiderMonkey's
 * patches), which must not cut anything either.  Every function is hot:
 * each must be one piece, with the same name in every run. */
#include "jitlib.h"

#define PAGES 16
#define FUNCS 6

int main(int argc, char **argv)
{
	size_t pg = jl_page(), len = PAGES * pg;
	double slice = jl_seconds(1.2) / FUNCS;
	struct jl_func f[FUNCS];
	struct jl_buf b;
	uint8_t *area;
	unsigned shift = (unsigned)(jl_mono_ns() / 1000 % 6) * 8; /* per run */
	uint32_t id = 40;
	int k;

	jl_init(argv[0]);
	area = jl_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(area, 0xcc, len);
	jl_mprotect(area, len, PROT_READ | PROT_EXEC);
	jl_buf_init(&b, area, (uintptr_t)area, len);
	for (k = 0; k < FUNCS; k++) {
		size_t page = (size_t)(2 * k + 1) * pg, head = page - pg, off = page - 48 - shift;
		char label[32];

		snprintf(label, sizeof(label), "page_cut_%d", k);
		while (jl_params_of(++id).nfill < 5) /* 113 bytes or more */
			;
		jl_mprotect(area + head, 2 * pg, PROT_READ | PROT_WRITE);
		f[k] = jl_place(&b, off, id, label);
		if (f[k].size <= 48 + shift)
			jl_die("%s (%zu bytes) does not cross the page boundary", label, f[k].size);
		if (k % 2 == 0) {
			jl_mprotect(area + head, pg, PROT_READ | PROT_EXEC);
			jl_mprotect(area + page, pg, PROT_READ | PROT_EXEC);
		} else {
			jl_mprotect(area + page, pg, PROT_READ | PROT_EXEC);
			jl_mprotect(area + head, pg, PROT_READ | PROT_EXEC);
		}
		/* A patch that changes nothing, a page at a time. */
		jl_mprotect(area + page, pg, PROT_READ | PROT_WRITE);
		jl_mprotect(area + page, pg, PROT_READ | PROT_EXEC);
		jl_check(&f[k]);
	}
	for (k = 0; k < FUNCS; k++)
		jl_run_for(&f[k], slice);
	for (k = 0; k < FUNCS; k++)
		jl_report(&f[k], 1);
	return 0;
}
