/* sampled.h - the addresses of one process's JIT code that a perf.data
 * file's samples can need a jitdump LOAD for, each with its sample's time.
 *
 * jd_prune.h keeps the LOADs that perf resolves a sampled address with at
 * its time; this module says which addresses and times those are, read
 * from perf.data (perfdata.h):
 * - each sample's ip (the leaf);
 * - each entry of its call chain (--call-graph fp), and the entry minus
 *   one (perf looks a return address up as the call before it, which can be
 *   the last byte of another LOAD);
 * - with --call-graph dwarf, where perf finds the JIT callers only after
 *   inject, by unwinding the copied user stack with the injected objects'
 *   unwinding data: every user register, and every 8-byte word of the
 *   stack copy (aligned to the stack pointer, as return addresses are), and
 *   each minus one.  No unwinding: a word that points into JIT code keeps
 *   the LOAD around it, return address or not.  That is a superset of the
 *   frames perf can unwind through, so no caller is lost; data words that
 *   happen to point at code keep a few LOADs more.
 * Only addresses inside the window given by jp_sampled_open (the span of
 * the dump's code) are kept: stacks hold many values, code few of them.
 *
 * Contract: tools only (malloc); 0 or -errno; -EBADMSG with *why from
 * jp_pd_walk when perf.data cannot be read whole (then prune nothing). */
#ifndef JITPERF_SAMPLED_H
#define JITPERF_SAMPLED_H

#include <stddef.h>
#include <stdint.h>

/* A sampled address and its sample's time; ts 0: at any time (a sample
 * without one, or an address from a text list). */
struct jp_sample_at {
	uint64_t addr, ts;
};

struct jp_sampled {
	uint32_t pid;
	uint64_t lo, hi;    /* the window: [lo, hi) */
	struct jp_sample_at *v; /* open-addressing set, addr 0 = empty */
	size_t n, cap;      /* cap: a power of two */
	uint64_t samples;   /* samples of pid seen */
	int oom;
};

/* Start an empty set for process pid and the window [lo, hi). */
void jp_sampled_open(struct jp_sampled *s, uint32_t pid, uint64_t lo, uint64_t hi);
void jp_sampled_close(struct jp_sampled *s);

/* Add the addresses of pid's samples in the perf.data file [buf, buf+len). */
int jp_sampled_read(struct jp_sampled *s, const void *buf, size_t len, const char **why);

/* The set, sorted by address then time, in a new array (*n entries;
 * free() it); NULL when out of memory. */
struct jp_sample_at *jp_sampled_sorted(const struct jp_sampled *s, size_t *n);

/* Order for qsort: by address, then time. */
int jp_sample_at_cmp(const void *x, const void *y);

#endif
