/* jd_prune.h - keep only the LOADs of a jitdump that some sample falls in.
 *
 * perf inject --jit writes one ELF object per LOAD (about 0.3-0.5 ms each),
 * whether or not any sample lands in it: a BEAM or node run describes tens of
 * thousands of pieces, a few hundred of which ran while perf sampled.  perf
 * resolves a sample against the maps that cover its address at its time; a
 * LOAD that covers no sampled address never takes part in resolving any
 * sample.  So a dump pruned to the LOADs covering at least one sampled
 * address (leaf or caller frame) gives perf report, perf script and perf
 * annotate exactly the same symbols for every sample, at the cost of the
 * profile rather than of the program.
 *
 * Rules, per dump:
 * - a LOAD is kept when a sampled address lies in [code_addr, code_addr +
 *   code_size), or in the range of a MOVE of its code_index (the same code
 *   shown at another address);
 * - a MOVE is kept when its code_index is kept;
 * - DEBUG_INFO and UNWINDING_INFO attach to the next LOAD: they are kept
 *   with it and dropped with it, except an UNWINDING_INFO with
 *   eh_frame_hdr_size 0, which perf never clears (it applies to every later
 *   LOAD): that one is always kept, in place;
 * - CLOSE and unknown records are kept; the header is copied as it is;
 * - records perf itself skips or never reaches (contradictory fields, a
 *   record cut off at the end of the file) are left out.
 *
 * For tools only (stdio, malloc): never called inside a host. */
#ifndef JITPERF_JD_PRUNE_H
#define JITPERF_JD_PRUNE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct jp_prune_stats {
	uint64_t loads_in, loads_kept;
	uint64_t moves_in, moves_kept;
	uint64_t bytes_in, bytes_out;
};

/* Write to out the dump in [buf, buf+len) pruned to the LOADs that cover one
 * of the n sampled addresses in addrs (sorted ascending; duplicates fine).
 * Returns 0, -EBADMSG when the header is not a jitdump's (nothing useful was
 * written: keep the original), -EIO when writing failed,
 * -ENOMEM. */
int jp_jd_prune(const void *buf, size_t len, const uint64_t *addrs, size_t n, FILE *out,
		struct jp_prune_stats *st);

/* The span [*lo, *hi) of all code a dump describes (LOADs and MOVEs);
 * *lo = *hi = 0 when it describes none.  Returns 0 or -EBADMSG (not a
 * jitdump).  Sampled addresses outside it need no LOAD (sampled.h). */
int jp_jd_code_span(const void *buf, size_t len, uint64_t *lo, uint64_t *hi);

#endif
