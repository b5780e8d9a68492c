/* alias.h - which pages of a dual-mapped region were written, told by the
 * kernel through the view the program writes.
 *
 * A JIT with a dual mapping (BEAM: a memfd mapped once MAP_SHARED RX, 8
 * MiB, once RW) writes its code through the writable view; the executable
 * view's page tables never see a store, so kernel write tracking of that
 * view sees nothing and the region was hashed whole at every pass (BEAM:
 * 3-4 MiB copied and hashed ten times a second, a third of jitperf's work
 * there, and in a long run nearly all of it).  This module finds the
 * writable shared views of the same file over the region's file range
 * (/proc/self/maps: same device and inode), registers them for write
 * tracking (lib/wtrack.c), and translates the pages written there into
 * the executable view's addresses by file offset.
 *
 * What it cannot see: a write(2)/pwrite(2) to the file, a writable view
 * mapped after the look, another process writing the file.  So every
 * JP_ALIAS_VERIFY passes the caller hashes the region as before (the
 * page hashes of the last hashing pass are still a correct baseline: a
 * page changed since then is reported), and a region made writable itself
 * is hashed.
 *
 * State: a small table of its own, keyed by the executable view's range,
 * so the region table stays as it is.  Entries made in another process
 * (a fork child inherits the table, not the registrations) are dropped
 * unused.  Not thread-safe: the capture engine calls it under its lock.
 * No allocation, errno preserved. */
#ifndef JITPERF_ALIAS_H
#define JITPERF_ALIAS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "range.h"
#include "region.h"
#include "wtrack.h"

/* Passes between two hashing passes of a region tracked through its alias. */
#define JP_ALIAS_VERIFY 16u
/* Writable views tracked per executable view, and regions tracked so. */
#define JP_ALIAS_VIEWS 4u
#define JP_ALIAS_MAX 16u

/* A mapping of a file, as the look-up needs it. */
struct jp_alias_view {
	uint64_t start, end, off; /* addresses, file offset of start */
};

/* The written pages of r within [lo, hi) into out (at most max ranges,
 * page aligned, in address order; the written state of r's other pages is
 * kept for a later call), or -1: hash r this pass (not a dual mapping, no
 * writable view, tracking refused or lost, its verification pass, its
 * first pass).
 * The first call for a region that qualifies sets its tracking up and
 * returns -1, so that pass's hashing is the baseline the tracking
 * continues from.  buf (bufsz >= 4 KiB) is scratch for the maps. */
long jp_alias_collect(struct jp_wtrack *wt, pid_t pid, char *buf, size_t bufsz, const struct jp_region *r,
		      uint64_t lo, uint64_t hi, struct jp_range *out, size_t max);

/* r's memory is going away, moving or stopping being code: stop tracking
 * its writable views. */
void jp_alias_drop(struct jp_wtrack *wt, uint64_t start, uint64_t end);

/* Tracking was lost for every region (the descriptors are gone): forget
 * every entry without touching the kernel. */
void jp_alias_forget(void);

/* For tests: written pages of the writable view v (file range [v->off, v->off
 * + (v->end - v->start))) as ranges of the executable view rx, clipped to
 * [a, b); appended to out[n...], merged with the last; returns the new n. */
size_t jp_alias_translate(const struct jp_alias_view *rx, const struct jp_alias_view *v, uint64_t a, uint64_t b,
			  const struct jp_range *written, size_t nw, struct jp_range *out, size_t n, size_t max);

#endif
