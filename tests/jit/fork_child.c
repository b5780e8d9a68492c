/* fork_child.c - a forked child runs inherited JIT code and makes its own while the parent runs its own. */
#include <sys/wait.h>

#include "jitlib.h"

#define AREA (64u << 10)

int main(int argc, char **argv)
{
	double total = jl_seconds(1.5);
	const int anon = MAP_PRIVATE | MAP_ANONYMOUS, rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
	struct jl_func p0, p1;
	struct jl_buf pb;
	uint8_t *parea;
	int status;
	pid_t pid;

	jl_init(argv[0]);
	parea = jl_mmap(NULL, AREA, rwx, anon, -1, 0);
	jl_buf_init(&pb, parea, (uintptr_t)parea, AREA);
	p0 = jl_add(&pb, 1000, "parent_0");
	jl_check(&p0);
	jl_run_for(&p0, total * 0.2);

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		jl_die("fork: %s", strerror(errno));
	if (pid == 0) {
		struct jl_func inherited = p0, c0, c1;
		struct jl_buf cb;
		uint8_t *carea;

		/* Code the child did not make but runs: its dump needs it. */
		inherited.t0 = inherited.t1 = inherited.cpu_ns = 0;
		snprintf(inherited.label, sizeof(inherited.label), "child_inherited");
		jl_run_for(&inherited, total * 0.1);

		carea = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE, anon, -1, 0);
		jl_buf_init(&cb, carea, (uintptr_t)carea, AREA);
		c0 = jl_add(&cb, 1100, "child_own");
		jl_mprotect(carea, AREA, PROT_READ | PROT_EXEC);
		jl_check(&c0);
		jl_run_for(&c0, total * 0.2);

		/* Written into the inherited RWX mapping (copy on write). */
		c1 = jl_add(&pb, 1101, "child_in_parent_area");
		jl_check(&c1);
		jl_run_for(&c1, total * 0.1);
		jl_report(&inherited, 1);
		jl_report(&c0, 1);
		jl_report(&c1, 1);
		fflush(stdout);
		_exit(0);
	}
	/* The parent adds code at the same offset the child used. */
	p1 = jl_add(&pb, 1001, "parent_1");
	jl_check(&p1);
	jl_run_for(&p1, total * 0.4);
	if (waitpid(pid, &status, 0) != pid)
		jl_die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		jl_die("child failed (status %#x)", status);
	jl_report(&p0, 1);
	jl_report(&p1, 1);
	return 0;
}
