/* fingerprint.h - a hash of a piece of code that survives ASLR.
 *
 * Contract
 * - jp_fingerprint() is a pure function: no allocation, no locks, no system
 *   calls, about 1 KiB of stack; safe in hooks, signal handlers, any thread.
 *   [code, code+len) must be readable (pass a private copy).
 * - The same instructions generated at another address, in another run,
 *   give the same value: before hashing, every field whose bytes depend on
 *   where things sit is replaced by zeros:
 *     - relative branch and call targets that leave [addr, addr+len);
 *     - RIP-relative displacements whose target leaves [addr, addr+len);
 *     - 64-bit immediates and moffs addresses that look like user-space
 *       pointers (0x10000 <= v < 2^47), or like NaN-boxed pointers (top 16
 *       bits 0xfff8..0xfffe over such an address), as JS engines embed them.
 *   Branches and RIP-relative references inside the piece are kept: they do
 *   not move with the piece and they are part of the function's shape.
 * - Bytes that do not decode are hashed as they are, one at a time.
 * - The hash is XXH3-64 of the masked byte stream (XXH3's output is frozen
 *   since xxHash 0.8.0, so names stay the same across jitperf builds).
 * - addr is where the code runs.  The result does not depend on it (all
 *   tests are relative to the piece); it is part of the signature so a
 *   future rule (e.g. masking absolute targets inside the piece) needs no
 *   change at the call sites.
 * - Known limit: 32-bit immediates are kept, so code that embeds run-varying
 *   32-bit values (V8's compressed heap pointers, MAP_32BIT addresses) gets
 *   a different fingerprint each run. */
#ifndef JITPERF_FINGERPRINT_H
#define JITPERF_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

uint64_t jp_fingerprint(const uint8_t *code, size_t len, uint64_t addr);

/* The masking rule for absolute 64-bit values, exposed for tests. */
int jp_fingerprint_looks_like_pointer(uint64_t v);

#endif
