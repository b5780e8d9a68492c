/* range.h - a half-open address range, the unit dirty pages and renamed
 * code are reported in. */
#ifndef JITPERF_RANGE_H
#define JITPERF_RANGE_H

#include <stdint.h>

struct jp_range {
	uint64_t start, end;
};

#endif
