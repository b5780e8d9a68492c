/* single_thread.c - calls that need a single-threaded process (setns into a mount namespace, unshare of a user namespace), made after JIT activity started jitperf's thread: their results must be the same with the shim. */
#include <fcntl.h>
#include <sched.h>

#include "../jit/jitlib.h"

static void jit_once(uint32_t id)
{
	uint8_t *m = jl_mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct jl_buf b;
	struct jl_func f;

	jl_buf_init(&b, m, (uintptr_t)m, 4096);
	f = jl_add(&b, id, "once");
	jl_check(&f);
	printf("code %u ran\n", id);
}

int main(int argc, char **argv)
{
	int fd, r;

	jl_init(argv[0]);
	jit_once(1);
	usleep(50000); /* a pass or two of the capture thread */
	fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	errno = 0;
	r = setns(fd, CLONE_NEWNS);
	printf("setns(own mount namespace) = %d errno=%s\n", r, r ? strerror(errno) : "-");
	errno = 0;
	r = unshare(CLONE_NEWUSER);
	printf("unshare(CLONE_NEWUSER) = %d errno=%s\n", r, r ? strerror(errno) : "-");
	jit_once(2);
	return 0;
}
