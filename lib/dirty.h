/* dirty.h - which pages of a JIT region changed since the last pass.
 *
 * Kernel write tracking (lib/wtrack.c) where it can see the writes:
 * writable and executable private or shared anonymous memory.  Elsewhere
 * (W^X memory, views of a file another mapping writes, kernels that refuse)
 * resident pages (mincore) are hashed and compared with last time's hashes.
 * Either way a region whose memory vanished behind our back (glibc's free
 * and raw system calls unmap without a hook) is marked dead rather than
 * read as code.
 *
 * Inputs are explicit (struct jp_dirty): the page size, our pid (for the
 * fault-free copy), the tracking mode, the write-tracking descriptors and a
 * scratch buffer; the region's tracking state (track, needs_full, phash,
 * vouched) is read and updated.  No engine, no lock of its own: the capture
 * engine calls it under its lock.  No malloc (jp_sys_alloc), errno kept. */
#ifndef JITPERF_DIRTY_H
#define JITPERF_DIRTY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "range.h"
#include "readcache.h"
#include "region.h"
#include "wtrack.h"

/* Dirty ranges handled per region pass: more are merged into the last
 * (reads more, loses nothing). */
#define JP_DIRTY_MAX 512

struct jp_dirty {
	/* Inputs. */
	uint64_t pagesz;
	pid_t pid;
	int mode;              /* JP_TRACK_* (config.h) */
	struct jp_wtrack *wt;
	uint8_t *buf;          /* scratch for page copies and /proc/self/maps text */
	size_t buf_len;
	/* The page copies of the latest collection, over buf: the reconciler
	 * reads through it (jp_readcache_read), so a page is read once a
	 * pass.  The owner resets it before using buf otherwise. */
	struct jp_readcache cache;
	int arm_suspended;     /* read, but arm nothing yet (mprotect(PROT_GROWSDOWN)) */
	/* Output of jp_dirty_collect: page-aligned, sorted, merged. */
	struct jp_range *out;
	/* Workspace and counters. */
	struct jp_range *resident;
	unsigned char *mvec;
	uint64_t wp_regions, hash_regions; /* regions armed each way */
};

/* Allocate the workspace; the inputs are the caller's to set, buf and
 * buf_len before this call (the page copies are kept there).  0 or
 * -ENOMEM. */
int jp_dirty_init(struct jp_dirty *d);

/* Start change tracking for r (nothing when it is tracked already). */
void jp_dirty_arm(struct jp_dirty *d, struct jp_region *r);

/* Give back r's write-tracking registration (the memory is about to move,
 * be forked, or stop being code): it is armed again, and read whole, on
 * its next pass. */
void jp_dirty_disarm(struct jp_dirty *d, struct jp_region *r);

/* r stops being executable: give back its write-tracking registration
 * (the kernel never merges a registered mapping with its neighbours, so
 * keeping it on memory that is now plain data would change the program's
 * mappings: an mremap across them fails), but for a large W^X region,
 * which keeps it so that its next exec grant reads only the pages written
 * meanwhile, not all of it. */
void jp_dirty_dormant(struct jp_dirty *d, struct jp_region *r);

/* heap: r's creator writes far more data than code into it (lib/budget.h).
 * Such a region is hashed from then on, never write-tracked: every page
 * the program writes after a pass costs it a fault under write tracking,
 * and a heap rewrites most of its pages between two passes (a collected
 * heap ran 3.4x the program's CPU so, 1.5x hashed). */
void jp_dirty_heap(struct jp_dirty *d, struct jp_region *r, int heap);

/* Can r not have changed since it was last read?  Private memory that is
 * executable but not writable changes only after a call a hook sees. */
int jp_dirty_frozen(const struct jp_region *r);

/* Is a periodic pass (the epoch thread's) due over r?  A hashed region's
 * look reads and hashes every resident page whether or not anything was
 * written (BEAM's 8 MiB code view: about 1 ms an epoch), so one whose last
 * passes found nothing is looked at every 2nd, then every 4th epoch
 * (pace.h, after one empty look); any change found, by any pass, brings it back to
 * every epoch.  Nothing written is lost (the next look finds it, dated from
 * the last one); code that replaces other code in a quiet hashed region is
 * dated when found, so its first samples can carry the old name for up to
 * that many epochs.  Write-tracked regions and private file views are
 * looked at every epoch; passes a hook runs (unmap, mprotect, exit) always
 * look.  Counts the skip when it says no. */
int jp_dirty_due(struct jp_region *r);

/* The ranges of r to read again, into d->out; returns their number.  The
 * first pass after r->needs_full arms it and reports every resident page.
 * Sets r->dead (and returns 0) when r's memory is no longer executable
 * memory we track. */
size_t jp_dirty_collect(struct jp_dirty *d, struct jp_region *r);

/* The same, but only pages in [lo, hi) are looked at (page hashes, write
 * tracking); the caller knows the rest cannot have changed.  A full read
 * (r->needs_full) still reads all of r. */
size_t jp_dirty_collect_in(struct jp_dirty *d, struct jp_region *r, uint64_t lo, uint64_t hi);

/* An exec grant over [start, end), regions there just made executable:
 * join them with each other and with their neighbours where they are one
 * mapping again in all but our table (SpiderMonkey makes one page writable
 * at a time, and each toggle split its region: a function across pages
 * was then cut at the page boundary, where the cut moved with the code's
 * address).  A neighbour is joined only when nothing in it can have
 * changed since its last pass (jp_dirty_frozen), so a pass of the joined
 * region still needs to look at [start, end) only (jp_dirty_collect_in). */
void jp_dirty_join(struct jp_dirty *d, struct jp_regions *t, uint64_t start, uint64_t end);

/* Our write-tracking descriptors are gone (the program closed them): every
 * region of t falls back to hashing, read whole once. */
void jp_dirty_wtrack_lost(struct jp_dirty *d, struct jp_regions *t);

#endif
