/* filepriv.c - the written pages of a private file mapping, from the kernel's page tables. */
#include "filepriv.h"
#include "kabi.h"
#include "pagescan.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_FILE (1ull << 61) /* file page or shared anonymous */
#define ENTRIES 256          /* pagemap entries read at a time (2 KiB of stack) */

static int pm_fd = -1;
static pid_t pm_pid;
static int scan_missing; /* the kernel has no PAGEMAP_SCAN */
static int in_look;      /* keep the descriptor until the look ends */

/* A descriptor of /proc/self/pagemap for one question, or for one look:
 * held no longer, so that a process (or a fork child) that has no such
 * mapping never sees one of jitperf's.  One left open in a parent (a fork
 * from a signal handler mid-look) describes the parent: not used. */
static int pagemap(void)
{
	pid_t pid = jp_sys_getpid();

	if (pm_fd >= 0 && pm_pid != pid)
		pm_fd = -1; /* the parent's; closing the copy could close a reused number */
	if (pm_fd < 0) {
		pm_fd = jp_open("/proc/self/pagemap", O_RDONLY, 0);
		pm_pid = pid;
	}
	return pm_fd;
}

static void pagemap_done(void)
{
	if (pm_fd >= 0 && !in_look) {
		jp_close(pm_fd);
		pm_fd = -1;
	}
}

static size_t add(struct jp_range *out, size_t n, uint64_t a, uint64_t b)
{
	if (n && out[n - 1].end == a) {
		out[n - 1].end = b;
		return n;
	}
	out[n].start = a;
	out[n].end = b;
	return n + 1;
}

/* Pages present, not a file page, not the zero page: what the process
 * wrote (copied on write into anonymous pages). */
static long by_scan(int fd, uint64_t start, uint64_t end, struct jp_range *out, size_t max, uint64_t *resume)
{
	static const struct jp_pagescan_q q = {
		.category_inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PRESENT | PAGE_IS_FILE | PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_PRESENT,
	};

	return jp_pagescan(fd, start, end, &q, out, max, resume);
}

/* Older kernels: eight bytes a page, read in batches. */
static long by_read(int fd, uint64_t start, uint64_t end, struct jp_range *out, size_t max, uint64_t *resume)
{
	uint64_t e[ENTRIES], pg = (uint64_t)getpagesize(), a = start;
	size_t n = 0;

	while (a < end) {
		uint64_t pages = (end - a) / pg < ENTRIES ? (end - a) / pg : ENTRIES;
		ssize_t got = pread(fd, e, pages * 8, (off_t)(a / pg * 8));

		if (got < 8)
			return got < 0 ? -errno : -EIO;
		for (ssize_t i = 0; i < got / 8; i++, a += pg) {
			if ((e[i] & (PM_PRESENT | PM_FILE)) != PM_PRESENT)
				continue;
			if (n >= max && out[n - 1].end != a) {
				*resume = a;
				return (long)n;
			}
			n = add(out, n, a, a + pg);
		}
	}
	*resume = end;
	return (long)n;
}

long jp_filepriv_written_how(uint64_t start, uint64_t end, struct jp_range *out, size_t max, uint64_t *resume,
			     int scan)
{
	uint64_t at;
	int saved = errno, fd = pagemap();
	long r = -ENOTTY;

	if (!resume)
		resume = &at;
	*resume = end;
	if (fd < 0)
		return fd;
	if (!max || start >= end) {
		pagemap_done();
		return 0;
	}
	if (scan && !scan_missing) {
		r = by_scan(fd, start, end, out, max, resume);
		if (r == -ENOTTY || r == -EINVAL)
			scan_missing = 1;
	}
	if (r == -ENOTTY || r == -EINVAL)
		r = by_read(fd, start, end, out, max, resume);
	pagemap_done();
	errno = saved;
	return r;
}

long jp_filepriv_written(uint64_t start, uint64_t end, struct jp_range *out, size_t max, uint64_t *resume)
{
	return jp_filepriv_written_how(start, end, out, max, resume, 1);
}

/* Read-only executable file mappings found clean, by address: the last
 * look's list (read with a cursor, as a look goes in address order) and
 * this one's. */
#define CLEAN_MAX 256

struct clean {
	uint64_t start, end, inode, offset;
	uint32_t until; /* look number from which it is asked again */
};

static struct clean clean[2][CLEAN_MAX];
static size_t nclean[2], cursor;
static int cur;
static uint32_t looks;
static pid_t clean_pid;

void jp_filepriv_look_begin(void)
{
	pid_t pid = jp_sys_getpid();

	/* A fork child's mappings are its own to ask about. */
	if (clean_pid != pid)
		nclean[0] = nclean[1] = 0;
	clean_pid = pid;
	looks++;
	nclean[!cur] = 0;
	cursor = 0;
	in_look = 1;
}

void jp_filepriv_look_end(void)
{
	cur = !cur;
	in_look = 0;
	pagemap_done();
}

static int same(const struct clean *c, const struct jp_map *m)
{
	return c->start == m->start && c->end == m->end && c->inode == m->inode && c->offset == m->offset;
}

/* Was m found clean lately?  Keeps it for the next look either way. */
static int known_clean(const struct jp_map *m, int written)
{
	const struct clean *prev = clean[cur];
	struct clean *next = clean[!cur];

	while (cursor < nclean[cur] && prev[cursor].start < m->start)
		cursor++;
	if (written < 0 && cursor < nclean[cur] && same(&prev[cursor], m) && prev[cursor].until > looks) {
		if (nclean[!cur] < CLEAN_MAX)
			next[nclean[!cur]++] = prev[cursor];
		return 1;
	}
	if (written == 0 && nclean[!cur] < CLEAN_MAX)
		next[nclean[!cur]++] = (struct clean){ m->start, m->end, m->inode, m->offset,
						       looks + JP_FILEPRIV_RECHECK / 2 +
							       (uint32_t)(m->start >> 12) % (JP_FILEPRIV_RECHECK / 2) };
	return 0;
}

int jp_filepriv_kind_of_map(const struct jp_map *m)
{
	struct jp_range one;
	long n;

	if (m->cls != JP_MAP_FILE || m->shared || !(m->prot & PROT_EXEC))
		return -1;
	if (m->prot & PROT_WRITE)
		return JP_RK_FPRIV;
	/* Read-only and executable: library text unless the process wrote
	 * into it before making it so (one ioctl; stops at the first). */
	if (in_look && known_clean(m, -1))
		return -1;
	n = jp_filepriv_written(m->start, m->end, &one, 1, NULL);
	if (in_look)
		known_clean(m, n > 0);
	return n > 0 ? JP_RK_FPRIV : -1;
}

void jp_filepriv_reannounce(const struct jp_regions *t, uint64_t start, uint64_t end, struct jp_reconciler *rc,
			    uint64_t now)
{
	size_t first = jp_regions_lower(t, start), i;
	uint64_t at;

	if (first >= t->n || t->r[first].start >= end || t->r[first].kind != JP_RK_FPRIV)
		return;
	/* Below the range, then above it, while the regions touch. */
	for (i = first, at = start; i-- > 0 && t->r[i].end == at && t->r[i].exec && t->r[i].kind == JP_RK_FPRIV;) {
		jp_reconcile_reannounce(rc, &t->r[i], now);
		at = t->r[i].start;
	}
	for (i = first; i < t->n && t->r[i].start < end; i++)
		;
	for (at = t->r[i - 1].end; i < t->n && t->r[i].start == at && t->r[i].exec && t->r[i].kind == JP_RK_FPRIV; i++) {
		jp_reconcile_reannounce(rc, &t->r[i], now);
		at = t->r[i].end;
	}
}
