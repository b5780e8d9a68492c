/* pace.c - back off from a periodic look that keeps finding nothing. */
#include "pace.h"

int jp_pace_due(struct jp_pace *p, unsigned after)
{
	unsigned every = p->quiet >= 2u * after ? JP_PACE_SLOWEST : p->quiet >= after ? 2u : 1u;

	if (p->skipped + 1u >= every) {
		p->skipped = 0;
		return 1;
	}
	p->skipped++;
	return 0;
}

void jp_pace_looked(struct jp_pace *p, unsigned long hits)
{
	p->quiet = hits ? 0 : (uint8_t)(p->quiet + (p->quiet < UINT8_MAX));
	p->skipped = 0;
}
