/* unlinked_dual.c - dual mapping of an unlinked temporary file (liborc): written via RW, run via RX. */
#include "jitlib.h"

int main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	jl_init(argv[0]);
	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/orcexec.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		jl_die("mkstemp %s: %s", path, strerror(errno));
	if (unlink(path))
		jl_die("unlink %s: %s", path, strerror(errno));
	jl_dual_workload(fd, 256u << 10, 0, jl_seconds(1.5), 700, "orc");
	return 0;
}
