/* reserve.c - huge PROT_NONE reservations with small parts made RWX (HotSpot, V8) or RWX whole (QEMU TCG). */
#include "jitlib.h"

#define RESERVE (256ul << 20)
#define PART (64ul << 10)
#define WHOLE (32ul << 20)

static void run_part(struct jl_buf *b, uint32_t id, const char *prefix, double seconds)
{
	struct jl_func f[3];
	char label[32];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(label, sizeof(label), "%s_%d", prefix, i);
		f[i] = jl_add(b, id + i, label);
		jl_check(&f[i]);
	}
	jl_run_for(&f[1], seconds);
	for (i = 0; i < 3; i++)
		jl_report(&f[i], i == 1);
}

int main(int argc, char **argv)
{
	double third = jl_seconds(1.5) / 3;
	const int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
	uint8_t *res, *part, *whole;
	struct jl_buf b;

	jl_init(argv[0]);
	res = jl_mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	/* HotSpot: commit a part of the reserved code cache with mprotect. */
	part = res + (100ul << 20);
	jl_mprotect(part, PART, rwx);
	jl_buf_init(&b, part, (uintptr_t)part, PART);
	b.len = 8192;
	run_part(&b, 400, "resv_mprotect", third);

	/* V8: map a fresh RWX chunk over the reservation. */
	part = res + (200ul << 20) + 3 * jl_page();
	jl_mmap(part, PART, rwx, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	jl_buf_init(&b, part, (uintptr_t)part, PART);
	run_part(&b, 410, "resv_fixed", third);

	/* QEMU: the whole buffer RWX at once, code only at its start. */
	whole = jl_mmap(NULL, WHOLE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	jl_mprotect(whole, WHOLE, rwx);
	jl_buf_init(&b, whole, (uintptr_t)whole, WHOLE);
	run_part(&b, 420, "resv_whole", third);
	return 0;
}
