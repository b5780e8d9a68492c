/* wtrack.h - kernel write tracking: which pages of JIT memory were written.
 *
 * Backed by userfaultfd in asynchronous write-protect mode plus PAGEMAP_SCAN
 * (Linux >= 6.7): the kernel marks a page written on the first store after we
 * armed it, with no fault delivered to anyone, and one ioctl both reports the
 * written pages and re-arms them.  Cost therefore follows the pages written,
 * not the size of the region.
 *
 * Contract: functions return 0 / a count, or -errno; errno is preserved; no
 * allocation.  Not thread-safe: the capture engine calls it under its lock.
 * jp_wtrack_init() is cheap to call again after it failed (it does nothing). */
#ifndef JITPERF_WTRACK_H
#define JITPERF_WTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "range.h"
#include "sys.h"

struct jp_wtrack {
	int uffd;      /* -1 when unavailable */
	int pagemap;   /* /proc/self/pagemap, -1 when unavailable */
	struct jp_fdid uffd_id, pagemap_id; /* what the numbers must still be */
	int state;     /* 0 untried, 1 working, -1 refused */
	int shmem_ok;  /* shared memory (memfd, MAP_SHARED|MAP_ANONYMOUS) can be tracked */
	int err;       /* why it was refused (-errno) */
	const char *why;
};

/* Open the userfaultfd and pagemap descriptors; returns 0 or -errno with
 * t->why set (a short reason for the one-time message). */
int jp_wtrack_init(struct jp_wtrack *t);

/* Start tracking [start, end): register, and write-protect the pages that
 * exist (never the holes: that would allocate page tables for the whole
 * range).  Writes after this returns are reported by jp_wtrack_scan(). */
int jp_wtrack_add(struct jp_wtrack *t, uint64_t start, uint64_t end);

/* Register [start, end) without arming a page: every page present now
 * counts as written until a scan reports (and arms) it.  For a private
 * file mapping (filepriv.h), whose written pages all hold code to read
 * and whose other pages jp_wtrack_scan_anon never matches. */
int jp_wtrack_register(struct jp_wtrack *t, uint64_t start, uint64_t end);

/* Stop tracking [start, end) (the memory is about to go away or move). */
int jp_wtrack_remove(struct jp_wtrack *t, uint64_t start, uint64_t end);

/* Report written page ranges in [start, end) into out (up to max entries,
 * merged and page aligned) and re-arm them.  Returns the count; when out is
 * too small, the scan stops early and *resume receives the address to
 * continue from (else end). */
int jp_wtrack_scan(struct jp_wtrack *t, uint64_t start, uint64_t end, struct jp_range *out, size_t max,
		   uint64_t *resume);

/* jp_wtrack_scan for a private file mapping: only the anonymous pages
 * (written copies), never the file's own pages. */
int jp_wtrack_scan_anon(struct jp_wtrack *t, uint64_t start, uint64_t end, struct jp_range *out, size_t max,
			uint64_t *resume);

/* Are both descriptors still ours?  A program may close them and get the
 * numbers back for files of its own (even a userfaultfd of its own, which
 * jitperf's ioctls would then arm in blocking mode).  When they are not,
 * tracking is off for good (state -1, why set) and 0 is returned. */
int jp_wtrack_check(struct jp_wtrack *t);

/* Drop descriptors without touching tracking state: in a fork child the
 * inherited userfaultfd and pagemap descriptors still refer to the parent's
 * address space, so they must never be used there.  Only descriptors that
 * are still ours are closed. */
void jp_wtrack_forget(struct jp_wtrack *t);

#endif
