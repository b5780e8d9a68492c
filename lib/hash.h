/* hash.h - the hash of pages and pieces (change detection), at the speed of
 * the widest vector unit the CPU has.
 *
 * XXH3's result does not depend on the implementation, so the AVX2 build
 * and the SSE2 one agree: hashes stored by one are compared by the other. */
#ifndef JITPERF_HASH_H
#define JITPERF_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Pick the implementation; safe to call more than once. */
void jp_hash_init(void);

/* XXH3-64 of [p, p+n), never 0 (0 means "never seen" in hash arrays). */
uint64_t jp_hash(const void *p, size_t n);

/* The two implementations (for the unit test that they agree). */
uint64_t jp_hash_sse2(const void *p, size_t n);
uint64_t jp_hash_avx2(const void *p, size_t n);
int jp_hash_have_avx2(void);

#endif
