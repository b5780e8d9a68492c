/* pagescan.h - one question to the kernel's page tables: PAGEMAP_SCAN on
 * /proc/self/pagemap (Linux 6.7), the ranges of pages that match.
 *
 * Both of its users ask it: write tracking (lib/wtrack.c: pages written
 * since the last scan, re-armed by the same call) and private file
 * mappings (lib/filepriv.c: pages the process wrote, now anonymous).
 *
 * Contract: no allocation, errno preserved, may run in a hook. */
#ifndef JITPERF_PAGESCAN_H
#define JITPERF_PAGESCAN_H

#include <stddef.h>
#include <stdint.h>

#include "range.h"

/* What to ask: struct pm_scan_arg's flags and category masks (kabi.h). */
struct jp_pagescan_q {
	uint64_t flags;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

/* The matching ranges of [start, end) into out[0, max), adjacent ones
 * merged, in as many ioctls as the kernel's vector needs.  A full out
 * stops the walk early: *resume (if not NULL) says where the next call
 * starts, end when the walk got there (pages not reached keep their
 * state: nothing is lost by stopping).  Returns the count, or -errno. */
long jp_pagescan(int fd, uint64_t start, uint64_t end, const struct jp_pagescan_q *q, struct jp_range *out,
		 size_t max, uint64_t *resume);

#endif
