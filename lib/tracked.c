/* tracked.c - the lock-free table of tracked ranges the hooks' fast path reads. */
#include "tracked.h"
#include "region.h"

uint64_t jp_tracked_lo, jp_tracked_hi;
struct jp_pub jp_pub;
/* seq 1 is odd, never a published version: nothing cached yet. */
__thread struct jp_pub_gap jp_pub_gap __attribute__((tls_model("initial-exec"))) = { 1, 0, 0 };

/* Rewrite the interval table (seqlock writer). */
static void publish_intervals(const struct jp_regions *t)
{
	uint64_t seq = __atomic_load_n(&jp_pub.seq, __ATOMIC_RELAXED), n = 0;

	/* Release stores (plain moves on x86-64) order the odd seq before the
	 * table and the table before the even seq. */
	__atomic_store_n(&jp_pub.seq, seq + 1, __ATOMIC_RELEASE);
	for (size_t i = 0; i < t->n; i++) {
		uint64_t s = t->r[i].start, e = t->r[i].end;

		if (n && s <= jp_pub.end[n - 1]) {
			/* Touching or overlapping the previous: one interval. */
			if (e > jp_pub.end[n - 1])
				__atomic_store_n(&jp_pub.end[n - 1], e, __ATOMIC_RELEASE);
		} else if (n == JP_PUB_MAX) {
			/* Full: the last interval grows over the rest. */
			__atomic_store_n(&jp_pub.end[n - 1], t->r[t->n - 1].end, __ATOMIC_RELEASE);
			break;
		} else {
			__atomic_store_n(&jp_pub.start[n], s, __ATOMIC_RELEASE);
			__atomic_store_n(&jp_pub.end[n], e, __ATOMIC_RELEASE);
			n++;
		}
	}
	__atomic_store_n(&jp_pub.n, n, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_pub.seq, seq + 2, __ATOMIC_RELEASE);
}

void jp_tracked_publish(const struct jp_regions *t)
{
	uint64_t lo, hi;

	publish_intervals(t);
	jp_regions_bounds(t, &lo, &hi);
	/* Publish hi before lo grows and lo before hi shrinks: a racing fast
	 * path may see a wider window than real (harmless, it takes the slow
	 * path), never a narrower one. */
	__atomic_store_n(&jp_tracked_hi, hi > jp_tracked_hi ? hi : jp_tracked_hi, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_tracked_lo, lo, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_tracked_hi, hi, __ATOMIC_RELEASE);
}

void jp_tracked_clear(void)
{
	__atomic_store_n(&jp_tracked_lo, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_tracked_hi, 0, __ATOMIC_RELEASE);
}
