/* burn.h - the C end of the call-graph test JITs (fp_chain, nofp): burn() is called from JIT code and takes most samples, run_jit() keeps a C frame between main and the JIT code. */
#ifndef JITPERF_TESTS_BURN_H
#define JITPERF_TESTS_BURN_H

#include "jitlib.h"

uint64_t burn(uint64_t n);
uint64_t __attribute__((noinline, used)) burn(uint64_t n)
{
	uint64_t x = n;

	for (uint64_t i = 0; i < 2 * n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		x ^= x >> 17;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static inline uint64_t burn_ref(uint64_t n)
{
	uint64_t x = n;

	for (uint64_t i = 0; i < 2 * n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		x ^= x >> 17;
	}
	return x;
}

/* Keeps a C frame (with its return address in main) between main and the
 * JIT code. */
static uint64_t __attribute__((noinline)) run_jit(jl_entry f, uint64_t n)
{
	uint64_t r = f(n);

	__asm__ volatile("" : "+r"(r));
	return r;
}

#endif
