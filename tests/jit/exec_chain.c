/* exec_chain.c - a JIT process that execve()s itself: the new image (same pid) makes and runs different code. */
#include "jitlib.h"

#define AREA (64u << 10)

static void stage(uint32_t id, const char *prefix, double seconds)
{
	struct jl_func f[2];
	struct jl_buf b;
	uint8_t *area;
	char label[32];
	int i;

	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	for (i = 0; i < 2; i++) {
		snprintf(label, sizeof(label), "%s_%d", prefix, i);
		f[i] = jl_add(&b, id + i, label);
		jl_check(&f[i]);
	}
	jl_run_for(&f[0], seconds);
	for (i = 0; i < 2; i++)
		jl_report(&f[i], i == 0);
}

int main(int argc, char **argv)
{
	double half = jl_seconds(1.5) / 2;

	jl_init(argv[0]);
	if (argc > 1 && !strcmp(argv[1], "second")) {
		stage(1310, "exec2", half);
		return 0;
	}
	stage(1300, "exec1", half);
	fflush(stdout);
	execl("/proc/self/exe", argv[0], "second", (char *)NULL);
	jl_die("execl /proc/self/exe: %s", strerror(errno));
}
