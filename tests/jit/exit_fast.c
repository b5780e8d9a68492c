/* exit_fast.c - code written with no call and run until the program leaves by _exit or _Exit (as QEMU's linux-user does), with no capture pass in between.
 *
 * Usage: exit_fast [_exit|_Exit|vfork] [STATUS]
 *
 * Maps an RWX area, writes one hot function into it (no further call),
 * runs it for JIT_SECONDS (0.5) and leaves by _exit(STATUS) (_Exit for
 * "_Exit"): no atexit handler, no destructor.  "vfork" first makes a vfork
 * child that leaves by _exit at once; the child shares the program's
 * memory, so jitperf must leave the parent's capture as it was.  The test
 * (tests/e2e/capture_exit_fast.sh) runs it with no capture thread
 * (JITPERF_EPOCH_MS=0), so only the exit path can describe the code. */
#include "jitlib.h"

#include <sys/wait.h>

#define AREA (1u << 16)

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "_exit";
	int status = argc > 2 ? atoi(argv[2]) : 0;
	struct jl_buf b;
	struct jl_func f;
	void *area;

	jl_init(argv[0]);
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	f = jl_add(&b, 7, "exit_hot");
	jl_check(&f);
	if (!strcmp(mode, "vfork")) {
		int ws;
		pid_t pid = vfork();

		if (pid < 0)
			jl_die("vfork: %s", strerror(errno));
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) || WEXITSTATUS(ws))
			jl_die("the vfork child did not exit with 0");
	} else if (strcmp(mode, "_exit") && strcmp(mode, "_Exit")) {
		jl_die("unknown mode '%s'", mode);
	}
	jl_run_for(&f, jl_seconds(0.5));
	jl_report(&f, 1);
	if (!strcmp(mode, "_Exit"))
		_Exit(status);
	_exit(status);
}
