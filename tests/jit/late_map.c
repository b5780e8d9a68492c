/* late_map.c - a fake runtime that names its code only at exit, as HotSpot (-XX:+DumpPerfMapAtExit) and Mono (--jitmap, stdio-buffered) do.
 *
 * It plays .NET for jitperf-run: installed as DIR/dotnet next to
 * DIR/shared/Microsoft.NETCore.App/8.0.0/, it is a .NET 8 that jitperf-run
 * may ask for names with DOTNET_PerfMapEnabled.  The value decides:
 *   unset, 0  no map;
 *   3         /tmp/perf-<pid>.map, through stdio, complete only at exit;
 *   1, 2      .NET would also write its own jit-<pid>.dump: a wrapper must
 *             never ask for that, so the program fails (exit 3).
 * Code (RWX, written with no system call, like Mono's):
 *   - "W:Fib (int)"  hot for the whole run, listed;
 *   - "W:Old (int)"  hot first, then its address is reused by
 *   - "W:New (int)"  hot afterwards; the map lists Old, then New (append
 *                    only, as runtimes write): Old's samples must not take
 *                    New's name;
 *   - an unlisted hot function (runtime stubs): keeps jitperf's name.
 * Prints one result line, JITFUNC lines, and exits with argv[1] (default 0). */
#include "jitlib.h"

#define AREA (1u << 16)

int main(int argc, char **argv)
{
	double total = jl_seconds(1.2);
	const char *mode = getenv("DOTNET_PerfMapEnabled");
	struct jl_func fib, old, fresh, stub;
	struct jl_buf b;
	FILE *map = NULL;
	void *area;
	int status = argc > 1 ? atoi(argv[1]) : 0;

	jl_init(argv[0]);
	if (mode && (!strcmp(mode, "1") || !strcmp(mode, "2"))) {
		fprintf(stderr, "late_map: asked for a jitdump of my own (DOTNET_PerfMapEnabled=%s)\n", mode);
		return 3;
	}
	if (mode && !strcmp(mode, "3")) {
		char path[64];

		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		map = fopen(path, "we");
		if (!map)
			jl_die("open %s: %s", path, strerror(errno));
		/* fully buffered: nothing reaches the file before exit */
		setvbuf(map, NULL, _IOFBF, 1 << 16);
	}
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	fib = jl_add(&b, 700, "fib");
	stub = jl_add(&b, 701, "stub");
	old = jl_add(&b, 702, "old");
	jl_check(&fib);
	jl_check(&stub);
	jl_check(&old);
	if (map) {
		fprintf(map, "%lx %zx W:Fib (int)\n", (unsigned long)fib.addr, fib.size);
		fprintf(map, "%lx %zx W:Old (int)\n", (unsigned long)old.addr, old.size);
	}
	jl_run_for(&fib, total * 0.2);
	jl_run_for(&old, total * 0.25);
	jl_run_for(&stub, total * 0.15);
	/* the runtime frees Old and compiles New at its address */
	fresh = jl_place(&b, (size_t)(old.addr - (uintptr_t)area), 703, "new");
	jl_check(&fresh);
	if (map)
		fprintf(map, "%lx %zx W:New (int)\n", (unsigned long)fresh.addr, fresh.size);
	jl_run_for(&fresh, total * 0.25);
	jl_run_for(&fib, total * 0.15);
	jl_report(&fib, 1);
	jl_report(&stub, 1);
	jl_report(&old, 1);
	jl_report(&fresh, 1);
	printf("late_map: result=%llu\n", (unsigned long long)(jl_ref(700, 1000) ^ jl_ref(703, 1000)));
	if (map && fclose(map) != 0)
		jl_die("writing the map: %s", strerror(errno));
	return status;
}
