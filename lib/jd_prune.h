/* jd_prune.h - keep only the LOADs of a jitdump that perf resolves some sample with.
 *
 * perf inject --jit writes one ELF object per LOAD (about 0.3-0.5 ms each),
 * whether or not any sample lands in it: a BEAM or node run describes tens of
 * thousands of pieces, a few hundred of which ran while perf sampled.  perf
 * resolves a sample with the newest map covering its address at its time:
 * a LOAD that is not that map for any sample takes no part in resolving
 * one.  So a dump pruned to those LOADs gives perf report, perf script and
 * perf annotate exactly the same symbols for every sample, at the cost of
 * the profile rather than of the program.
 *
 * Rules, per dump:
 * - a LOAD or MOVE is live for a sampled address at a time when it is the
 *   newest LOAD or MOVE covering the address ([code_addr, code_addr +
 *   code_size), a MOVE's at its new address) dated at or before that time
 *   (all of them dated alike when several are; every covering one for a
 *   sample of no time);
 * - a LOAD is kept when it, or a MOVE of its code_index, is live for a
 *   sample: code described again at the same address (rewritten, renamed)
 *   keeps only the versions that were in place while samples hit it;
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

#include "sampled.h"

struct jp_prune_stats {
	uint64_t loads_in, loads_kept;
	uint64_t moves_in, moves_kept;
	uint64_t bytes_in, bytes_out;
};

/* Write to out the dump in [buf, buf+len) pruned to the LOADs live for one
 * of the n sampled addresses and times in at (sorted by jp_sample_at_cmp).
 * Returns 0, -EBADMSG when the header is not a jitdump's (nothing useful was
 * written: keep the original), -EIO when writing failed,
 * -ENOMEM. */
int jp_jd_prune(const void *buf, size_t len, const struct jp_sample_at *at, size_t n, FILE *out,
		struct jp_prune_stats *st);

/* The span [*lo, *hi) of all code a dump describes (LOADs and MOVEs);
 * *lo = *hi = 0 when it describes none.  Returns 0 or -EBADMSG (not a
 * jitdump).  Sampled addresses outside it need no LOAD (sampled.h). */
int jp_jd_code_span(const void *buf, size_t len, uint64_t *lo, uint64_t *hi);

#endif
