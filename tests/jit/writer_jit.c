/* writer_jit.c - a tiny JIT that describes its own code with lib/jitdump, for the perf e2e test.
 *
 *   JITPERF_DIR=dir writer_jit [empty|fde]
 *
 * Emits three frame-pointer functions into one RWX mapping, writes them to
 * dir/jit-<pid>.dump with jp_dump_load (unwinding record: the empty table by
 * default, a CIE+FDE with "fde"), then runs jit_hot_loop for JIT_SECONDS CPU
 * seconds (default 1.5), jit_warm for a twentieth of that and jit_cold once.
 * Prints JITFUNC lines (see jitlib.h) and "DUMP <path>". */
#include "jitlib.h"

#include "jitdump.h"

/* The FDE variant makes perf map the unwinding data after each function
 * (80 bytes past the 8-aligned code), so functions sit far enough apart
 * that those extended maps never cover a neighbour. */
#define SPACING 512u

int main(int argc, char **argv)
{
	const char *dir = getenv("JITPERF_DIR");
	int unwind = JP_UNWIND_EMPTY;
	struct jl_func f[3];
	static const char *const names[3] = { "jit_hot_loop", "jit_warm", "jit_cold" };
	struct jl_buf b;
	struct jp_dump d;
	size_t len = 4 * jl_page();
	double seconds;
	void *mem;
	int r;

	jl_init(argv[0]);
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "empty") && strcmp(argv[1], "fde")))
		jl_die("usage: JITPERF_DIR=dir %s [empty|fde]", argv[0]);
	if (argc == 2 && !strcmp(argv[1], "fde"))
		unwind = JP_UNWIND_FP_FDE;
	if (!dir || !*dir)
		dir = ".";
	seconds = jl_seconds(1.5);

	mem = jl_mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(mem, 0xcc, len);
	jl_buf_init(&b, mem, (uintptr_t)mem, len);
	for (int i = 0; i < 3; i++) {
		f[i] = jl_place(&b, i * SPACING, 100 + (uint32_t)i, names[i]);
		jl_check(&f[i]);
	}

	/* The code exists before the dump (and its marker mmap), as in most
	 * engines; the LOADs come after the kernel's mmap event and win. */
	r = jp_dump_open(&d, dir, getpid());
	if (r < 0)
		jl_die("jp_dump_open(%s): %s", dir, strerror(-r));
	for (int i = 0; i < 3; i++) {
		struct jp_code c = {
			.addr = f[i].addr,
			.code = (const void *)f[i].addr,
			.size = f[i].size,
			.name = names[i],
			.unwind = unwind,
		};

		r = jp_dump_load(&d, &c, NULL);
		if (r < 0)
			jl_die("jp_dump_load(%s): %s", names[i], strerror(-r));
	}
	r = jp_dump_flush(&d);
	if (r < 0)
		jl_die("jp_dump_flush: %s", strerror(-r));
	printf("DUMP %s\n", d.path);

	jl_run_for(&f[0], seconds);
	jl_run_for(&f[1], seconds / 20);
	jl_check(&f[2]);
	jp_dump_close(&d);
	jl_report(&f[0], 1);
	jl_report(&f[1], 1);
	jl_report(&f[2], 0);
	return 0;
}
