/* mremap_move.c - executable code moved with mremap(MREMAP_MAYMOVE|MREMAP_FIXED) and run at its new address. */
#include "jitlib.h"

#define AREA (64u << 10)

int main(int argc, char **argv)
{
	double half = jl_seconds(1.5) / 2;
	struct jl_func f[3], moved[3];
	uint8_t *old, *dst;
	struct jl_buf b;
	int i;

	jl_init(argv[0]);
	/* W^X: written RW, then RX. */
	old = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, old, (uintptr_t)old, AREA);
	for (i = 0; i < 3; i++) {
		char label[32];

		snprintf(label, sizeof(label), "before_move_%d", i);
		f[i] = jl_add(&b, 800 + i, label);
	}
	jl_mprotect(old, AREA, PROT_READ | PROT_EXEC);
	for (i = 0; i < 3; i++)
		jl_check(&f[i]);
	jl_run_for(&f[1], half);

	/* A destination well away from the old place, held by a placeholder
	 * the move replaces. */
	dst = jl_mmap(NULL, 4 * AREA, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst += 2 * AREA;
	jl_mremap_to(old, AREA, dst);
	for (i = 0; i < 3; i++) {
		char label[32];

		snprintf(label, sizeof(label), "after_move_%d", i);
		moved[i] = jl_moved(&f[i], old, dst, label);
	}
	jl_run_for(&moved[1], half);
	for (i = 0; i < 3; i++) {
		jl_report(&f[i], i == 1);
		jl_report(&moved[i], i == 1);
	}
	return 0;
}
