/* pagescan.c - PAGEMAP_SCAN walks, batch by batch. */
#include "pagescan.h"
#include "kabi.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define VEC 64 /* ranges the kernel fills per ioctl (1.5 KiB of stack) */

long jp_pagescan(int fd, uint64_t start, uint64_t end, const struct jp_pagescan_q *q, struct jp_range *out,
		 size_t max, uint64_t *resume)
{
	struct page_region vec[VEC];
	struct pm_scan_arg a;
	size_t n = 0;
	int saved = errno;

	while (start < end && n < max) {
		long r;

		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.flags = q->flags;
		a.start = start;
		a.end = end;
		a.vec = (uint64_t)(uintptr_t)vec;
		/* Every reported range may need its own slot in out. */
		a.vec_len = max - n < VEC ? max - n : VEC;
		a.category_inverted = q->category_inverted;
		a.category_mask = q->category_mask;
		a.category_anyof_mask = q->category_anyof_mask;
		a.return_mask = q->return_mask;
		r = ioctl(fd, PAGEMAP_SCAN, &a);
		if (r < 0) {
			int e = -errno;

			errno = saved;
			return e;
		}
		for (long i = 0; i < r && n < max; i++) {
			if (n && out[n - 1].end == vec[i].start) {
				out[n - 1].end = vec[i].end;
			} else {
				out[n].start = vec[i].start;
				out[n].end = vec[i].end;
				n++;
			}
		}
		/* walk_end is where the kernel stopped: end, or earlier when
		 * the vector filled. */
		if (a.walk_end <= start || a.walk_end >= end) {
			start = end;
			break;
		}
		start = a.walk_end;
	}
	if (resume)
		*resume = start < end ? start : end;
	errno = saved;
	return (long)n;
}
