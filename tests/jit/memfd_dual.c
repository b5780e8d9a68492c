/* memfd_dual.c - dual mapping of a syscall(SYS_memfd_create) memfd (Erlang BEAM): written via RW, run via RX. */
#include <sys/syscall.h>

#include "jitlib.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001u
#endif

int main(int argc, char **argv)
{
	int fd;

	jl_init(argv[0]);
	fd = (int)syscall(SYS_memfd_create, "jitdual", MFD_CLOEXEC);
	if (fd < 0)
		jl_die("memfd_create: %s", strerror(errno));
	jl_dual_workload(fd, 1u << 20, 1, jl_seconds(1.5), 600, "memfd");
	return 0;
}
