/* reconcile.h - compare what perf was told about a region with the code
 * there now, and decide which LOAD and MOVE records to write.
 *
 * Inputs: the region's table of announced pieces (struct jp_desc, kept by
 * lib/region.c), fresh bytes (read through the sink), and times: now, and
 * ts_new, the date new code may carry (just after the previous pass over
 * the region).  Outputs: the table updated in place, records through the
 * sink, and counters.  No engine, no environment, no file: a unit test
 * drives it with a fake sink (tests/unit/test_reconcile.c).
 *
 * What it decides, piece by piece (docs/how-it-works.md, "What to emit"):
 * - unchanged bytes and name: nothing;
 * - patched in place (only branch targets or fields the fingerprint leaves
 *   out changed, or only the first instruction was overwritten by code
 *   written just below): nothing, the piece keeps its LOAD (counted in
 *   patched);
 * - renamed (a published name appeared) or re-split over unchanged bytes: a
 *   LOAD dated just after the one it supersedes;
 * - rewritten: a LOAD dated now, and where it was written with no call
 *   (no exec grant since the previous pass), a jit:<creator>:replaced LOAD
 *   dated ts_new before it, for the samples no pass can attribute;
 * - new code: a LOAD dated ts_new;
 * - data between code: nothing; an FDE only where it fits.
 * No date is ever after now; callers keep ts_new at or above the floor
 * (the marker, the last kernel mmap event perf keeps).
 *
 * Contract: not thread-safe (the engine calls it under its lock), no
 * malloc (workspace from jp_sys_alloc), errno preserved, may run in a hook. */
#ifndef JITPERF_RECONCILE_H
#define JITPERF_RECONCILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "insn.h"
#include "pieces.h"
#include "region.h"

/* The engine's reconciler (lib/capture.c) and the one that replays its
 * work after the run (lib/jd_describe.c) must cut alike: the same read
 * step and the same cap on pieces per step. */
#define JP_RECONCILE_CHUNK (1u << 20)
#define JP_RECONCILE_MAX_PIECES 8192u

/* A LOAD to write: the writer puts an unwinding record before it. */
struct jp_load_rec {
	uint64_t addr;
	const uint8_t *code;
	uint32_t len;
	const char *name;
	uint64_t ts;
	int unwind; /* JP_UNWIND_* (jitdump.h) */
	uint64_t room; /* filler known to follow the code: unwinding data perf maps after it must fit there */
	struct jp_insn_memo *memo; /* decodes of the buffer code points into (insn.h), or NULL */
	uint32_t creator; /* who made the region (creator.h): code a dispatcher of the same JIT runs (cfi.h) */
};

/* Where the reconciler's bytes come from and its records go. */
struct jp_reconcile_sink {
	void *ctx;
	/* Copy live memory [addr, addr+len) into buf without faulting;
	 * returns the bytes copied (short at an unmapped page), <= 0 when
	 * none. */
	ssize_t (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	/* Write a LOAD; returns its code index, JP_NO_INDEX when nothing was
	 * written (the piece is then announced again next time). */
	uint64_t (*load)(void *ctx, const struct jp_load_rec *l);
	/* Write a MOVE of code index from addr to new_addr. */
	void (*move)(void *ctx, uint64_t index, uint64_t addr, uint64_t new_addr, uint32_t len, uint64_t ts);
};

struct jp_reconciler {
	struct jp_reconcile_sink sink;
	int fde;          /* 0: always the empty unwinding table (JITPERF_UNWIND=empty) */
	uint64_t patched; /* pieces changed in place that kept their LOAD */
	uint64_t rewritten; /* pieces over bytes announced before, that changed: a LOAD dated now */
	uint64_t replaced;  /* of them, written with no call: a ...:replaced LOAD before it */
	/* Patch checks, and how many the shape alone settled: it is asked
	 * first only while it settles at least a third (lib/reconcile.c). */
	uint32_t checks, by_shape;
	/* Workspace, from jp_reconciler_init. */
	uint8_t *buf;     /* the bytes being reconciled: the view's buffer */
	size_t chunk;     /* its size: memory is read in steps of this */
	struct jp_view_piece *pieces;
	struct jp_desc *nd;
	size_t max_pieces;
	struct jp_insn_memo memo; /* what cutting buf decoded, for the fingerprints */
	int memo_tried;
	/* The buffer's first (last) byte is next to bytes not read with it:
	 * a piece touching that end may go on there (JP_PIECE_OPEN_*). */
	int open_lo, open_hi;
};

/* Prepare rc over the caller's buffer buf[0, chunk) (the reconciler owns
 * it during each call; the caller may use it between calls), or with buf
 * NULL over one of its own, with room for max_pieces pieces per chunk.
 * Returns 0 or -ENOMEM. */
int jp_reconciler_init(struct jp_reconciler *rc, uint8_t *buf, size_t chunk, size_t max_pieces);

/* Re-read [a, b) of region r (creator: who made it) and announce what
 * changed.  Pieces crossing either end are reconciled whole. */
void jp_reconcile(struct jp_reconciler *rc, struct jp_region *r, uint64_t a, uint64_t b, uint64_t now,
		  uint64_t ts_new);

/* perf keeps a new kernel mmap event over [heap] and file views, and it
 * hides earlier LOADs there: announce every piece of r anew (a MOVE to the
 * same address, no new ELF for perf inject), dated now. */
void jp_reconcile_reannounce(struct jp_reconciler *rc, const struct jp_region *r, uint64_t now);

#endif
