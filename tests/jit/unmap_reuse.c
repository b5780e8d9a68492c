/* unmap_reuse.c - code unmapped, then its address mapped again (by hint, then MAP_FIXED) with other code. */
#include "jitlib.h"

#define AREA (128u << 10)

static struct jl_func fill(uint8_t *area, uint32_t id, const char *label)
{
	struct jl_buf b;
	struct jl_func f, cold;
	char name[48];

	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	b.len = 2048;
	f = jl_add(&b, id, label);
	snprintf(name, sizeof(name), "%s_cold", label);
	cold = jl_add(&b, id + 1, name);
	jl_report(&cold, 0);
	return f;
}

int main(int argc, char **argv)
{
	double third = jl_seconds(1.5) / 3;
	const int anon = MAP_PRIVATE | MAP_ANONYMOUS;
	struct jl_func f[3];
	uint8_t *a, *again;
	int i;

	jl_init(argv[0]);
	/* Generation 1: RWX mapping from the kernel. */
	a = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC, anon, -1, 0);
	f[0] = fill(a, 900, "gen1");
	jl_check(&f[0]);
	jl_run_for(&f[0], third);
	if (munmap(a, AREA))
		jl_die("munmap: %s", strerror(errno));

	/* Generation 2: the same address asked for as a hint, W^X. */
	again = jl_mmap(a, AREA, PROT_READ | PROT_WRITE, anon, -1, 0);
	if (again != a) {
		munmap(again, AREA);
		again = jl_mmap(a, AREA, PROT_READ | PROT_WRITE, anon | MAP_FIXED_NOREPLACE, -1, 0);
	}
	f[1] = fill(a, 910, "gen2");
	jl_mprotect(a, AREA, PROT_READ | PROT_EXEC);
	jl_check(&f[1]);
	jl_run_for(&f[1], third);
	if (munmap(a, AREA))
		jl_die("munmap: %s", strerror(errno));

	/* Generation 3: MAP_FIXED over the same range, RWX again. */
	jl_mmap(a, AREA, PROT_READ | PROT_WRITE | PROT_EXEC, anon | MAP_FIXED, -1, 0);
	f[2] = fill(a, 920, "gen3");
	jl_check(&f[2]);
	jl_run_for(&f[2], third);
	for (i = 0; i < 3; i++)
		jl_report(&f[i], 1);
	return 0;
}
