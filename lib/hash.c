/* hash.c - XXH3 dispatch: AVX2 where the CPU has it (lib/hash_avx2.c is
 * built with -mavx2), SSE2 (every x86-64) elsewhere.  On a 4 KiB page the
 * AVX2 loop takes about half the instructions. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "hash.h"

static uint64_t (*impl)(const void *, size_t);

uint64_t jp_hash_sse2(const void *p, size_t n)
{
	uint64_t h = XXH3_64bits(p, n);

	return h ? h : 1;
}

int jp_hash_have_avx2(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

void jp_hash_init(void)
{
	if (!__atomic_load_n(&impl, __ATOMIC_ACQUIRE))
		__atomic_store_n(&impl, jp_hash_have_avx2() ? jp_hash_avx2 : jp_hash_sse2, __ATOMIC_RELEASE);
}

uint64_t jp_hash(const void *p, size_t n)
{
	uint64_t (*f)(const void *, size_t) = __atomic_load_n(&impl, __ATOMIC_RELAXED);

	return f ? f(p, n) : jp_hash_sse2(p, n);
}
