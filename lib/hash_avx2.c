/* hash_avx2.c - XXH3 built for AVX2 (this file alone is compiled with
 * -mavx2; lib/hash.c calls it only on CPUs that have AVX2). */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "hash.h"

uint64_t jp_hash_avx2(const void *p, size_t n)
{
	uint64_t h = XXH3_64bits(p, n);

	return h ? h : 1;
}
