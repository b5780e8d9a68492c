/* deepbind_plugin.c - the JIT of a plugin the host loads with RTLD_DEEPBIND (built as deepbind_plugin.so, not a program).
 *
 * Its own mmap/mprotect calls bind to libc inside its deep scope, past any
 * LD_PRELOAD interposer (LD_DEBUG=bindings shows "binding file
 * .../deepbind_plugin.so to /lib/.../libc.so.6: normal symbol `mprotect'").
 * Like a scripting engine's JIT extension: one 192 MiB MAP_SHARED|
 * MAP_ANONYMOUS area whose last 64 MiB hold code, toggled between RW and RX
 * as a whole for every batch of code. */
#include "jitlib.h"

#define AREA (192u << 20)
#define CODE (64u << 20)
#define ROUNDS 6
#define PER_ROUND 3

__attribute__((visibility("default"))) int deepbind_jit_run(double seconds);

int deepbind_jit_run(double seconds)
{
	double slice = seconds / ROUNDS;
	struct jl_func f[ROUNDS][PER_ROUND];
	struct jl_buf b;
	uint8_t *area, *code;
	int r, i;

	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	code = area + AREA - CODE;
	jl_buf_init(&b, code, (uintptr_t)code, CODE);
	for (r = 0; r < ROUNDS; r++) {
		char label[32];

		if (r)
			jl_mprotect(code, CODE, PROT_READ | PROT_WRITE);
		/* Each batch on a fresh stretch of the code area, as a bump
		 * allocator leaves it. */
		b.len = (size_t)r * (CODE / ROUNDS);
		for (i = 0; i < PER_ROUND; i++) {
			snprintf(label, sizeof(label), "deep_r%d_%d", r, i);
			f[r][i] = jl_add(&b, 50 + 10 * r + i, label);
		}
		jl_mprotect(code, CODE, PROT_READ | PROT_EXEC);
		for (i = 0; i < PER_ROUND; i++)
			jl_check(&f[r][i]);
		jl_run_for(&f[r][0], slice);
	}
	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < PER_ROUND; i++)
			jl_report(&f[r][i], i == 0);
	return 0;
}
