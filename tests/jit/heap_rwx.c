/* heap_rwx.c - malloc'd memory made RWX by mprotect and filled with code, next to heap data (tcc -run). */
#include "jitlib.h"

#define CODE (48u << 10)

int main(int argc, char **argv)
{
	size_t pg = jl_page();
	double total = jl_seconds(1.5);
	struct jl_func f[4];
	struct jl_buf b;
	uint8_t *raw, *code;
	char *before, *after;
	int i;

	jl_init(argv[0]);
	/* Below the mmap threshold, so it comes from the brk heap; tcc
	 * over-allocates by a page and aligns by hand. */
	before = malloc(1000);
	raw = malloc(CODE + pg);
	after = malloc(1000);
	if (!before || !raw || !after)
		jl_die("malloc failed");
	code = (uint8_t *)(((uintptr_t)raw + pg - 1) & ~(pg - 1));
	jl_mprotect(code, CODE, PROT_READ | PROT_WRITE | PROT_EXEC);
	jl_buf_init(&b, code, (uintptr_t)code, CODE);
	for (i = 0; i < 3; i++) {
		char label[32];

		snprintf(label, sizeof(label), "heap_%d", i);
		f[i] = jl_add(&b, 500 + i, label);
		jl_check(&f[i]);
	}
	memset(before, 1, 1000);
	memset(after, 2, 1000);
	jl_run_for(&f[0], total * 0.6);

	/* More heap traffic (may move brk), then code added later with no call. */
	for (i = 0; i < 64; i++)
		free(malloc(4096 + 256 * (size_t)i));
	f[3] = jl_add(&b, 503, "heap_late");
	jl_check(&f[3]);
	jl_run_for(&f[3], total * 0.4);

	/* Like tcc_delete: back to RW before the memory returns to malloc. */
	jl_mprotect(code, CODE, PROT_READ | PROT_WRITE);
	free(raw);
	free(before);
	free(after);
	for (i = 0; i < 4; i++)
		jl_report(&f[i], i == 0 || i == 3);
	return 0;
}
