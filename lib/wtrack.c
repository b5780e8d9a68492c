/* wtrack.c - userfaultfd async write-protect + PAGEMAP_SCAN write tracking. */
#include "wtrack.h"
#include "kabi.h"
#include "pagescan.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_userfaultfd
#define SYS_userfaultfd 323
#endif

static int fail(struct jp_wtrack *t, int err, const char *why)
{
	if (t->uffd >= 0)
		jp_close_if_ours(t->uffd, &t->uffd_id);
	if (t->pagemap >= 0)
		jp_close_if_ours(t->pagemap, &t->pagemap_id);
	t->uffd = t->pagemap = -1;
	t->state = -1;
	t->err = err;
	t->why = why;
	return err;
}

int jp_wtrack_init(struct jp_wtrack *t)
{
	struct uffdio_api api;
	struct pm_scan_arg probe;
	int saved = errno, fd;
	long r;

	if (t->state == 1)
		return 0;
	if (t->state == -1)
		return t->err;
	t->uffd = t->pagemap = -1;
	/* User-mode-only faults are all that asynchronous write-protect needs,
	 * and they are allowed to unprivileged processes even when
	 * vm.unprivileged_userfaultfd is 0. */
	r = jp_syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (r < 0) {
		int e = -errno;

		errno = saved;
		return fail(t, e, e == -ENOSYS ? "userfaultfd is not available" : "userfaultfd was refused");
	}
	fd = jp_fd_high((int)r);
	if (fd < 0) {
		errno = saved;
		return fail(t, fd, "no descriptor for userfaultfd");
	}
	t->uffd = fd;
	jp_fdid_get(fd, &t->uffd_id);
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	if (ioctl(t->uffd, UFFDIO_API, &api) < 0) {
		/* Retry without shared-memory support before giving up. */
		int e = -errno;

		jp_close(t->uffd);
		r = jp_syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		t->uffd = r < 0 ? -1 : jp_fd_high((int)r);
		if (t->uffd >= 0)
			jp_fdid_get(t->uffd, &t->uffd_id);
		memset(&api, 0, sizeof(api));
		api.api = UFFD_API;
		api.features = UFFD_FEATURE_WP_ASYNC;
		if (t->uffd < 0 || ioctl(t->uffd, UFFDIO_API, &api) < 0) {
			errno = saved;
			return fail(t, e, "the kernel lacks asynchronous userfaultfd write-protect (Linux 6.7)");
		}
		t->shmem_ok = 0;
	} else {
		t->shmem_ok = 1;
	}
	t->pagemap = jp_fd_high(jp_open("/proc/self/pagemap", O_RDONLY, 0));
	if (t->pagemap < 0) {
		errno = saved;
		return fail(t, t->pagemap, "cannot open /proc/self/pagemap");
	}
	jp_fdid_get(t->pagemap, &t->pagemap_id);
	/* An empty scan tells whether PAGEMAP_SCAN exists (ENOTTY before 6.7). */
	memset(&probe, 0, sizeof(probe));
	probe.size = sizeof(probe);
	probe.start = probe.end = 0;
	if (ioctl(t->pagemap, PAGEMAP_SCAN, &probe) < 0 && errno != EINVAL) {
		int e = -errno;

		errno = saved;
		return fail(t, e, "the kernel lacks PAGEMAP_SCAN (Linux 6.7)");
	}
	t->state = 1;
	errno = saved;
	return 0;
}

int jp_wtrack_check(struct jp_wtrack *t)
{
	if (t->state != 1)
		return 0;
	if (jp_fdid_same(t->uffd, &t->uffd_id) && jp_fdid_same(t->pagemap, &t->pagemap_id))
		return 1;
	/* Never touch the numbers again: they are the program's now. */
	t->uffd = t->pagemap = -1;
	t->state = -1;
	t->err = -EBADF;
	t->why = "the program closed jitperf's descriptors";
	return 0;
}

int jp_wtrack_register(struct jp_wtrack *t, uint64_t start, uint64_t end)
{
	struct uffdio_register reg;
	int saved = errno, e = 0;

	if (!jp_wtrack_check(t))
		return -ENODEV;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = start;
	reg.range.len = end - start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	/* EBUSY: the host registered this range with its own userfaultfd
	 * (CRIU, live migration); EINVAL: memory that cannot be tracked.  The
	 * caller hashes such regions instead. */
	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg) < 0)
		e = -errno;
	errno = saved;
	return e;
}

int jp_wtrack_add(struct jp_wtrack *t, uint64_t start, uint64_t end)
{
	struct jp_range scratch[64];
	uint64_t at = start;
	int saved = errno, e = jp_wtrack_register(t, start, end);

	if (e < 0)
		return e;
	/* Arm only the pages that exist, by a scan that write-protects what
	 * it matches.  UFFDIO_WRITEPROTECT over the range would allocate page
	 * tables for all of it (128 MiB of them for a 64 GiB reservation);
	 * pages touched later appear without the protection bit, which is
	 * exactly what "written" means to the next scan. */
	while (at < end) {
		uint64_t resume = end;
		int n = jp_wtrack_scan(t, at, end, scratch, 64, &resume);

		if (n < 0) {
			struct uffdio_range ur = { start, end - start };

			ioctl(t->uffd, UFFDIO_UNREGISTER, &ur);
			errno = saved;
			return n;
		}
		if (resume <= at)
			break;
		at = resume;
	}
	errno = saved;
	return 0;
}

int jp_wtrack_remove(struct jp_wtrack *t, uint64_t start, uint64_t end)
{
	struct uffdio_range ur = { start, end - start };
	int saved = errno, r = 0;

	if (t->state != 1)
		return -ENODEV;
	if (ioctl(t->uffd, UFFDIO_UNREGISTER, &ur) < 0)
		r = -errno;
	errno = saved;
	return r;
}

static int scan(struct jp_wtrack *t, uint64_t start, uint64_t end, struct jp_range *out, size_t max,
		uint64_t *resume, uint64_t skip)
{
	/* Written, and present or swapped: holes (never touched, or
	 * discarded) hold no code, and matching them would make the kernel
	 * write-protect them, allocating page tables.  The zero page (a read
	 * of untouched memory) is not a write.  The same call re-arms what it
	 * reports. */
	const struct jp_pagescan_q q = {
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.category_inverted = PAGE_IS_PFNZERO | skip,
		.category_mask = PAGE_IS_WRITTEN | PAGE_IS_PFNZERO | skip,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN,
	};

	if (resume)
		*resume = end;
	if (t->state != 1)
		return -ENODEV;
	return (int)jp_pagescan(t->pagemap, start, end, &q, out, max, resume);
}

int jp_wtrack_scan(struct jp_wtrack *t, uint64_t start, uint64_t end, struct jp_range *out, size_t max,
		   uint64_t *resume)
{
	return scan(t, start, end, out, max, resume, 0);
}

int jp_wtrack_scan_anon(struct jp_wtrack *t, uint64_t start, uint64_t end, struct jp_range *out, size_t max,
			uint64_t *resume)
{
	/* A file page mapped by a read never had the protection bit: it would
	 * count as written. */
	return scan(t, start, end, out, max, resume, PAGE_IS_FILE);
}

void jp_wtrack_forget(struct jp_wtrack *t)
{
	if (t->uffd >= 0)
		jp_close_if_ours(t->uffd, &t->uffd_id);
	if (t->pagemap >= 0)
		jp_close_if_ours(t->pagemap, &t->pagemap_id);
	t->uffd = t->pagemap = -1;
	t->state = 0;
	t->err = 0;
	t->why = NULL;
}
