/* budget.h - keep the work of describing executable memory in proportion to the code found there.
 *
 * A runtime that keeps its whole heap RWX (a Scheme with a copying
 * collector) writes hundreds of MB of data per second into executable
 * memory and a few KB of code.  Every written page is read and cut again
 * at each pass; described as code, that data cost more CPU than the
 * program itself and tens of thousands of LOADs (tests/jit/gc_heap.c).
 *
 * The budget keeps, per creator (by name: a runtime maps its heap from
 * many call sites), the bytes of the pieces cut (filler left out: a JIT
 * that puts one small function on a page of its own is no heap) and the
 * bytes of plausible code among them (lib/codeplausible.h).  Once a
 * creator has had HEAP_MIN bytes of pieces and under one byte of code in
 * HEAP_RATIO, it is a heap: it is
 * said once (JITPERF_VERBOSE=2), and from then on its memory is described
 * sparingly:
 * - 64-byte blocks that are mostly pointers and small integers (at least
 *   6 of their 8 aligned words have their top 16 bits zero) are not
 *   decoded at all: code has that shape almost never (libc, libjvm, node:
 *   see the unit suite), a heap of pairs and vectors nearly always;
 * - pieces under JP_SPLIT_DATA_MAX bytes are data: a flonum or a header
 *   that decodes as a short jump is the rule there, a real stub the
 *   exception.
 * - its regions are hashed, not write-tracked (lib/dirty.h).
 * Code is still found wherever it is written: the cost follows the blocks
 * that could be code, not the data written around them.
 *
 * Contract: called under the capture engine's lock (one caller at a
 * time): jp_budget_begin() before a region's pass, jp_budget_end() after;
 * lib/pieces.c asks and accounts in between.  No allocation, errno
 * preserved. */
#ifndef JITPERF_BUDGET_H
#define JITPERF_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* Bytes cut before a creator can be judged a heap, and the share of code
 * under which it is one (1 byte in HEAP_RATIO). */
#define JP_BUDGET_HEAP_MIN (512u << 10)
#define JP_BUDGET_HEAP_RATIO 64u

/* The pass over a region of this creator (its name) starts / ends.
 * Returns 1 when the creator is a heap (then the region is hashed rather
 * than write-tracked, lib/dirty.h). */
int jp_budget_begin(const char *creator);
void jp_budget_end(void);

/* Is the current creator a heap (describe sparingly)? */
int jp_budget_heap(void);

/* Account a cut: bytes of its pieces (filler left out), bytes of those
 * taken for code. */
void jp_budget_account(uint64_t cut, uint64_t code);

/* Is the 64-byte block at p (8-byte aligned address) mostly pointers and
 * small integers? */
int jp_budget_data_block(const uint8_t *p);

/* Within buf[from, to) (buf holds the bytes of addr onwards), the first
 * span at or after from that may hold code: blocks that are not data
 * blocks, widened by one block on each side (a code object's header, a
 * function's first bytes).  Returns 0 and sets [*s, *e) or returns -1
 * when there is none. */
int jp_budget_next_span(const uint8_t *buf, uint64_t addr, size_t from, size_t to, size_t *s, size_t *e);

/* For tests: forget every creator. */
void jp_budget_reset(void);

#endif
