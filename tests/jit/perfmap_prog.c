/* perfmap_prog.c - a JIT that names its code in its own /tmp/perf-<pid>.map, as node --perf-basic-prof does. */
#include "jitlib.h"

#include <fcntl.h>
#include <sys/stat.h>

#define AREA (1u << 16)

static int map_fd = -1;

/* One "START SIZE name" line, written at once as V8's perf-basic-prof
 * logger does for every code object it creates.  The line goes to stdout as
 * well (PMLINE ...) so the test can check the file was left as written. */
static void map_add(const struct jl_func *f, const char *name)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%lx %zx %s\n", (unsigned long)f->addr, f->size, name);
	ssize_t w;

	if (n <= 0 || (size_t)n >= sizeof(line))
		jl_die("map line too long");
	w = write(map_fd, line, (size_t)n);
	if (w != n)
		jl_die("write /tmp/perf-%d.map: %s", (int)getpid(), w < 0 ? strerror(errno) : "short write");
	printf("PMLINE %s", line);
}

int main(int argc, char **argv)
{
	double total = jl_seconds(1.5);
	struct jl_func hot, cold, late;
	struct jl_buf b;
	struct stat st;
	char path[64];
	void *area;

	jl_init(argv[0]);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	map_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (map_fd < 0)
		jl_die("open %s: %s", path, strerror(errno));
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	/* Names as node writes them: tier marker, function, script:line; the
	 * space is what perf map readers must cope with. */
	hot = jl_add(&b, 400, "pm_hot");
	cold = jl_add(&b, 401, "pm_cold");
	jl_check(&hot);
	jl_check(&cold);
	map_add(&hot, "LazyCompile:*pm_hot perfmap.js:1");
	map_add(&cold, "LazyCompile:~pm_cold perfmap.js:7");
	jl_run_for(&hot, total * 0.6);

	/* Code compiled later, in the same area with no system call, and its
	 * line appended to the map: the map must be read incrementally. */
	late = jl_add(&b, 402, "pm_late");
	jl_check(&late);
	map_add(&late, "LazyCompile:*pm_late perfmap.js:13");
	jl_run_for(&late, total * 0.4);

	if (fstat(map_fd, &st) < 0)
		jl_die("fstat %s: %s", path, strerror(errno));
	printf("PMSTAT path=%s size=%lld mtime=%lld.%09ld\n", path, (long long)st.st_size,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	close(map_fd);
	jl_report(&hot, 1);
	jl_report(&cold, 0);
	jl_report(&late, 1);
	return 0;
}
