/* jd_describe.h - describe after the run what the program recorded with
 * JITPERF_DESCRIBE=after (lib/deferlog.h).
 *
 * The records say what each capture pass read and what the engine would
 * have asked its reconciler; this replays them, in order, through the same
 * reconciler (lib/reconcile.c) over an image of the program's memory built
 * from what was read, and writes the LOADs, MOVEs and unwinding records the
 * program would have written, with the same dates, code indexes in order.
 *
 * Contract: for jitperf-dump (a tool, not the shim): single-threaded, may
 * allocate.  It uses the core's process-wide tables (published names,
 * budgets, creators), so one description per process at a time. */
#ifndef JITPERF_JD_DESCRIBE_H
#define JITPERF_JD_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

struct jp_jd_describe_stats {
	uint64_t captures;    /* CAPTURE and REANNOUNCE records replayed */
	uint64_t bytes;       /* memory in PAGES records */
	uint64_t loads, moves, load_bytes; /* written */
	uint64_t dropped;     /* the program's own LOAD/MOVE/UNWINDING records left out (JITPERF_DESCRIBE=both) */
	uint64_t kept;        /* the program's own LOADs and MOVEs kept (code it described itself), renumbered */
};

/* Replay the dump buf[0, len) into fd: its header, then the records the
 * reconciler writes, then CLOSE; fd is closed.  The program's own LOAD,
 * MOVE and UNWINDING_INFO records (code it described itself, after
 * recording too much of its creator's) stay in place, their code indexes
 * renumbered into one sequence; with JITPERF_DESCRIBE=both they are left
 * out (the replay writes them again).  Other records are copied as they
 * come.  Returns 0, 1 when buf holds nothing to describe (fd is left
 * alone: the dump is fine as it is), or a negative errno with a reason in
 * err; fd is closed but when 1 is returned. */
int jp_jd_describe(const void *buf, size_t len, int fd, struct jp_jd_describe_stats *st, char *err, size_t errsz);

#endif
