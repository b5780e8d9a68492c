/* tracked.h - where the capture engine tracks memory, published for the
 * hooks' fast path: a hook decides with a few loads and no lock whether a
 * call can concern JIT memory at all.
 *
 * Contract: one writer (the engine, under its lock: jp_tracked_publish,
 * jp_tracked_clear); any number of readers in any thread, signal handlers
 * included, through the inline functions below, which never block and
 * answer "yes" when unsure. */
#ifndef JITPERF_TRACKED_H
#define JITPERF_TRACKED_H

#include <stdint.h>

struct jp_regions;

/* Where tracked regions are, for the hooks' fast path: their bounds, and
 * the union of their ranges as at most JP_PUB_MAX sorted intervals behind
 * a sequence lock (the engine writes under its lock; hooks read without
 * one).  More intervals than fit are folded into the last one, so the
 * table always covers every region: a call it clears touches none. */
#define JP_PUB_MAX 256
struct jp_pub {
	uint64_t seq; /* odd while being written */
	uint64_t n;
	uint64_t start[JP_PUB_MAX], end[JP_PUB_MAX];
};
extern uint64_t jp_tracked_lo, jp_tracked_hi;
extern struct jp_pub jp_pub;

/* The last free gap between published intervals this thread found, and the
 * table version it was found in: a program that keeps mapping in one hole
 * between JIT regions (a heap arena, a stack) is answered by two compares
 * while the table is unchanged. */
struct jp_pub_gap {
	uint64_t seq, lo, hi;
};
extern __thread struct jp_pub_gap jp_pub_gap __attribute__((tls_model("initial-exec")));

/* Does [start, start+len) meet a published interval?  Conservative: while
 * the table is being rewritten, or after retries, it answers yes. */
static inline int jp_pub_overlaps(uint64_t start, uint64_t len)
{
	uint64_t end = start + len;

	if (end >= start && __atomic_load_n(&jp_pub.seq, __ATOMIC_ACQUIRE) == jp_pub_gap.seq && start >= jp_pub_gap.lo &&
	    end <= jp_pub_gap.hi)
		return 0;
	for (int tries = 0; tries < 4; tries++) {
		uint64_t s1 = __atomic_load_n(&jp_pub.seq, __ATOMIC_ACQUIRE), s2;
		uint64_t n = __atomic_load_n(&jp_pub.n, __ATOMIC_ACQUIRE), lo = 0, hi, gap_lo, gap_hi;
		int hit = 0;

		if (s1 & 1)
			continue;
		if (n > JP_PUB_MAX)
			n = JP_PUB_MAX;
		/* First interval ending after start; it overlaps if it begins
		 * before end. */
		hi = n;
		while (lo < hi) {
			uint64_t mid = (lo + hi) / 2;

			if (__atomic_load_n(&jp_pub.end[mid], __ATOMIC_ACQUIRE) <= start)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* The gap around [start, end): from the end of the interval
		 * before to the start of the first one ending after start. */
		gap_hi = lo < n ? __atomic_load_n(&jp_pub.start[lo], __ATOMIC_ACQUIRE) : UINT64_MAX;
		gap_lo = lo ? __atomic_load_n(&jp_pub.end[lo - 1], __ATOMIC_ACQUIRE) : 0;
		if (lo < n && gap_hi < end)
			hit = 1;
		/* Acquire loads of the table (plain moves on x86-64) keep the
		 * second read of seq after them; no fences (which TSan cannot
		 * follow). */
		s2 = __atomic_load_n(&jp_pub.seq, __ATOMIC_ACQUIRE);
		if (s1 == s2) {
			if (!hit && end >= start) {
				jp_pub_gap.seq = s1;
				jp_pub_gap.lo = gap_lo;
				jp_pub_gap.hi = gap_hi;
			}
			return hit;
		}
	}
	return 1;
}

/* Can a call on [start, start+len) concern tracked memory?  (0: surely
 * not.) */
static inline int jp_capture_overlaps(uint64_t start, uint64_t len)
{
	uint64_t lo = __atomic_load_n(&jp_tracked_lo, __ATOMIC_RELAXED);
	uint64_t hi = __atomic_load_n(&jp_tracked_hi, __ATOMIC_RELAXED);

	if (!(lo < hi && start < hi && start + len > lo))
		return 0;
	return jp_pub_overlaps(start, len);
}

/* Publish the regions of t (sorted, as region.c keeps them). */
void jp_tracked_publish(const struct jp_regions *t);

/* Publish "nothing tracked": every hook takes its fast path. */
void jp_tracked_clear(void);

#endif
