/* mremap_multi.c - code in two adjacent mappings (RX and RWX) moved by one mremap(MREMAP_MAYMOVE|MREMAP_FIXED) across both (Linux 6.17 and later), then run at its new address. */
#include "jitlib.h"

#define AREA (64u << 10)

int main(int argc, char **argv)
{
	double third = jl_seconds(1.5) / 3;
	struct jl_func f[2], moved[2];
	uint8_t *old, *dst;
	struct jl_buf b0, b1;
	int i;

	jl_init(argv[0]);
	old = jl_mmap(NULL, 2 * AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b0, old, (uintptr_t)old, AREA);
	jl_buf_init(&b1, old + AREA, (uintptr_t)old + AREA, AREA);
	f[0] = jl_add(&b0, 900, "first_mapping");
	f[1] = jl_add(&b1, 901, "second_mapping");
	/* Two mappings: RX below, RWX above. */
	jl_mprotect(old, AREA, PROT_READ | PROT_EXEC);
	jl_mprotect(old + AREA, AREA, PROT_READ | PROT_WRITE | PROT_EXEC);
	for (i = 0; i < 2; i++)
		jl_check(&f[i]);
	jl_run_for(&f[1], third);

	dst = jl_mmap(NULL, 6 * AREA, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst += 3 * AREA;
	jl_mremap_to(old, 2 * AREA, dst);
	moved[0] = jl_moved(&f[0], old, dst, "moved_0");
	moved[1] = jl_moved(&f[1], old, dst, "moved_1");
	jl_run_for(&moved[0], third);
	jl_run_for(&moved[1], third);
	for (i = 0; i < 2; i++) {
		jl_report(&f[i], i == 1);
		jl_report(&moved[i], 1);
	}
	return 0;
}
