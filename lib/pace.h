/* pace.h - back off from a periodic look that keeps finding nothing.
 *
 * Two of the capture thread's looks cost the same whether or not anything
 * changed: hashing a region no write tracking covers (dirty.h, BEAM's code
 * view) and asking the kernel for executable memory no hook announced
 * (unseen.h).  Once a look has found nothing `after` times in a row it is
 * made every 2nd epoch, after 2 x `after` times every 4th, never less
 * often; a look that finds something brings it back to every epoch.  What
 * a skipped look would have found, the next one finds.
 *
 * Contract: the caller owns the state and serialises calls on it. */
#ifndef JITPERF_PACE_H
#define JITPERF_PACE_H

#include <stdint.h>

#define JP_PACE_SLOWEST 4u /* at most every 4th epoch */

struct jp_pace {
	uint8_t quiet;   /* looks in a row that found nothing (saturates) */
	uint8_t skipped; /* periodic looks skipped since the last one made */
};

/* Is this epoch's look due?  Counts the skip when it says no. */
int jp_pace_due(struct jp_pace *p, unsigned after);

/* A look was made, periodic or not; hits is what it found. */
void jp_pace_looked(struct jp_pace *p, unsigned long hits);

#endif
