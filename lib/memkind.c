/* memkind.c - which mappings hold JIT code nobody else can describe. */
#include "memkind.h"
#include "maps.h"
#include "region.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int jp_memkind_of_fd(int fd, int flags, int prot)
{
	struct stat st;
	int saved = errno, r;

	if (flags & MAP_ANONYMOUS || fd < 0)
		return (flags & MAP_SHARED) ? JP_RK_SHMEM : JP_RK_ANON;
	r = fstat(fd, &st);
	errno = saved;
	if (r < 0)
		return -1;
	/* memfd (however it was created) and unlinked files have no name
	 * left: nothing else can describe their code.  Real files are
	 * symbolized by perf from the file itself. */
	if (S_ISREG(st.st_mode) && st.st_nlink == 0)
		return JP_RK_FILE;
	/* A writable and executable private view of a real file: what the
	 * program writes there is its own code (lib/filepriv.h). */
	if (S_ISREG(st.st_mode) && (flags & MAP_TYPE) == MAP_PRIVATE && (prot & PROT_WRITE) && (prot & PROT_EXEC))
		return JP_RK_FPRIV;
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5)
		return (flags & MAP_SHARED) ? JP_RK_SHMEM : JP_RK_ANON; /* /dev/zero */
	return -1;
}

int jp_memkind_of_map(int cls)
{
	switch (cls) {
	case JP_MAP_ANON:
		return JP_RK_ANON;
	case JP_MAP_SHMEM:
		return JP_RK_SHMEM;
	case JP_MAP_HEAP:
		return JP_RK_HEAP;
	case JP_MAP_DUAL:
		return JP_RK_FILE;
	default:
		return -1;
	}
}
