/* unseen.h - the net under the hooks: executable JIT memory no call announced.
 *
 * Memory made executable by a raw system call (a syscall instruction of the
 * program's own), by a library that binds past the hooks, or before jitperf
 * was loaded reaches no hook.  At each pass the capture thread asks the
 * kernel for the executable mappings (PROCMAP_QUERY skips the others
 * in the kernel: one call per executable mapping, none formatted; older
 * kernels: the text of /proc/self/maps) and hands back the parts of JIT
 * memory (lib/memkind.c: anonymous, shared anonymous, [heap], memfd) that
 * the region table does not hold as executable.  The engine tracks them
 * like any other region.
 *
 * Contract: reads the table, never changes it; no malloc, errno kept; the
 * caller holds the engine lock and lends a scratch buffer (>= 4 KiB). */
#ifndef JITPERF_UNSEEN_H
#define JITPERF_UNSEEN_H

#include <stddef.h>
#include <stdint.h>

#include "region.h"

#define JP_UNSEEN_MAX 64 /* ranges handed back per look; the rest next time */

struct jp_unseen_hit {
	uint64_t start, end;
	int kind; /* enum jp_region_kind */
};

/* Executable JIT memory in [start, end) that t does not hold as
 * executable, in address order: at most max ranges into out.  Returns
 * their number or -errno.  A hook that saw a range made executable asks
 * the same question about that range. */
long jp_unseen_find(const struct jp_regions *t, uint64_t start, uint64_t end, char *buf, size_t bufsz,
		    struct jp_unseen_hit *out, size_t max);

/* One look over the whole address space: take(start, len, prot) for each
 * hit (prot: readable, writable, executable -- code may be written with no
 * call we see).  Returns the number of hits. */
unsigned jp_unseen_take(const struct jp_regions *t, char *buf, size_t bufsz,
			void (*take)(uint64_t start, uint64_t len, int prot));

/* Is look number n (1 first) due?  Each look asks the kernel about every
 * executable mapping, and scans each private file mapping's page table for
 * written pages (filepriv.h): 0.1-0.3 ms an epoch in a program with many
 * libraries, which a program whose JIT memory every hook saw pays for
 * nothing.  The quick looks at start are all made; after them, once 4
 * looks in a row found nothing, every 2nd epoch, after 8, every 4th.  A
 * look that finds something brings it back to every epoch.  (What it would
 * have found is found at the next look, dated as before: from the dump's
 * start or the region's last kernel event.) */
int jp_unseen_due(unsigned n, unsigned epoch_ms);

/* jp_unseen_due's rule over the caller's state (pace.h, after 4 empty
 * looks): the engine's is kept here, updated by jp_unseen_take; tests
 * drive their own and record each look with jp_pace_looked. */
int jp_unseen_pace_due(struct jp_pace *p, unsigned n, unsigned epoch_ms);

/* How long the capture thread sleeps before look number n (0 first):
 * quickly at first (1, 2, 4 ... ms: most JITs make their first code at
 * start-up, and what runs before the look is unnamed), then every epoch. */
uint64_t jp_unseen_delay_ns(unsigned n, unsigned epoch_ms);

#endif
