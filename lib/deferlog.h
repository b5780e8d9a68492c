/* deferlog.h - a description left for after the run (JITPERF_DESCRIBE=after).
 *
 * Describing code (cutting it into pieces, fingerprinting them, building
 * their unwinding data) is most of what jitperf costs a program.  With
 * JITPERF_DESCRIBE=after the engine describes nothing: it writes into the
 * dump, as jitperf's own records (jd_format.h: JD_JP_*), what each pass
 * read and what it would have described, and everything else that changes
 * what the reconciler decides (regions gone, moved, names published).
 * jitperf-dump --describe (lib/jd_describe.c) replays them through the same
 * reconciler after the run, out of the program, and writes the LOADs.
 *
 * Contract: as lib/output.c: no locking of its own (the engine's lock), no
 * malloc, errno preserved, may run in a hook.  Records go through the dump
 * writer, which reports its own failures (the engine then turns off). */
#ifndef JITPERF_DEFERLOG_H
#define JITPERF_DEFERLOG_H

#include <stdint.h>

#include "output.h"
#include "region.h"

/* A JIT writes its code once, then patches some of it; a runtime whose heap
 * is executable (lib/budget.h) rewrites it over and over, and recorded
 * whole that is hundreds of MB of dump a second.  Past this many bytes
 * recorded for one creator (by name), its code is described in the
 * program again, from the next pass on. */
#define JP_DEFERLOG_CREATOR_MAX (32ull << 20)

/* Memory [addr, addr+len) of creator's as just read. */
void jp_deferlog_pages(struct jp_output *o, const char *creator, uint64_t addr, const void *bytes, uint64_t len,
		       uint64_t ts);

/* Has creator recorded more than JP_DEFERLOG_CREATOR_MAX?  Said once per
 * creator (JITPERF_VERBOSE=2). */
int jp_deferlog_over(const char *creator);

/* What jp_reconcile(r, a, b, now, ts_new) would have been asked (id
 * JD_JP_CAPTURE), or jp_reconcile_reannounce(r, now) (JD_JP_REANNOUNCE);
 * flags: JD_JP_F_*. */
void jp_deferlog_capture(struct jp_output *o, uint32_t id, const struct jp_region *r, const char *creator,
			 uint64_t a, uint64_t b, uint64_t now, uint64_t ts_new, uint32_t flags);

/* Regions within [start, end) gone (JD_JP_FORGET), or the pieces within it
 * forgotten (JD_JP_DROP).  Nothing when no dump is open: nothing to forget. */
void jp_deferlog_span(struct jp_output *o, uint32_t id, uint64_t start, uint64_t end, uint64_t ts);

/* Region [old_start, old_end) moved to [new_start, new_end), keeping its
 * pieces within its first keep bytes (jp_regions_move). */
void jp_deferlog_move(struct jp_output *o, uint64_t old_start, uint64_t old_end, uint64_t new_start,
		      uint64_t new_end, uint64_t keep, uint64_t ts);

/* A name the process published (jp_known_add's arguments). */
void jp_deferlog_known(struct jp_output *o, uint64_t addr, uint64_t size, const char *name, uint32_t flags,
		       uint64_t ts);

#endif
