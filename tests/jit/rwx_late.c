/* rwx_late.c - one RWX mapping made first, code written into it later with no further call (PCRE2, V8). */
#include "jitlib.h"

#define AREA (1u << 20)

int main(int argc, char **argv)
{
	struct jl_buf b;
	uint64_t until;
	void *area;

	jl_init(argv[0]);
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Other work first: the mapping's only call is long past by the time
	 * any code exists in it. */
	until = jl_cpu_ns() + 30000000;
	while (jl_cpu_ns() < until)
		;
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	jl_late_workload(&b, jl_seconds(1.5), 100, "late");
	return 0;
}
