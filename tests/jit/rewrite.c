/* rewrite.c - code rewritten in place with no call: A runs, then B is written over it at the same address and runs; last, C is written over B and never runs (a version no sample hits). */
#include "jitlib.h"

#define AREA (256u << 10)

int main(int argc, char **argv)
{
	double half = jl_seconds(1.5) / 2;
	struct jl_func a, b, c, neighbour;
	struct jl_buf buf;
	uint8_t *area;

	jl_init(argv[0]);
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&buf, area, (uintptr_t)area, AREA);
	/* 4 KiB in, so the piece does not start at the mapping's start. */
	buf.len = 4096;
	a = jl_add(&buf, 300, "phase1_A");
	neighbour = jl_add(&buf, 301, "neighbour");
	jl_check(&a);
	jl_check(&neighbour);
	jl_run_for(&a, half);

	/* Same address, different bytes and size; int3 over the rest of A. */
	memset(area + 4096, 0xcc, neighbour.addr - a.addr);
	b = jl_place(&buf, 4096, 302, "phase2_B");
	if (b.size == a.size)
		jl_die("A and B should differ in size");
	jl_check(&b);
	jl_run_for(&b, half);
	jl_check(&neighbour);

	/* C over B, described at exit: after every sample of B. */
	memset(area + 4096, 0xcc, neighbour.addr - a.addr);
	c = jl_place(&buf, 4096, 303, "phase3_C");
	(void)c;

	jl_report(&a, 1);
	jl_report(&b, 1);
	jl_report(&neighbour, 0);
	return 0;
}
