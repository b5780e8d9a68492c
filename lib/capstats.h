/* capstats.h - the capture engine's account of its work, as the one line JITPERF_VERBOSE=2 prints at exit.
 *
 * Kept apart from the engine so that the line's wording, which the engine
 * tests and make bench read (" N ms capturing"), is pinned by a unit test. */
#ifndef JITPERF_CAPSTATS_H
#define JITPERF_CAPSTATS_H

#include <stddef.h>
#include <stdint.h>

struct jp_capture_stats {
	uint64_t regions;       /* regions tracked now */
	uint64_t regions_total; /* regions ever tracked */
	uint64_t epochs;        /* epoch passes */
	uint64_t captures;      /* capture passes over a region */
	uint64_t dirty_pages;   /* pages reported written or changed */
	uint64_t loads, moves, load_bytes;
	uint64_t patched;       /* pieces changed in place with an unchanged name: no LOAD */
	uint64_t rewritten;     /* pieces written over code announced before: a LOAD dated at the pass */
	uint64_t wp_regions, hash_regions;
	/* The capture thread's CPU time awake, plus the time of passes hooks
	 * ran on the program's threads (jp_log_work_ns: CPU time when the
	 * summary is printed, else wall time: a CPU clock is a system call). */
	uint64_t capture_ns;
	uint64_t unseen;        /* ranges the net found (executable with no call seen) */
	uint64_t deferred_bytes; /* memory recorded to be described after the run (JITPERF_DESCRIBE) */
};

/* The summary line (without "jitperf: ") into buf, NUL-terminated and cut
 * to len; dump_path may be NULL.  Returns what snprintf returns. */
int jp_capstats_format(char *buf, size_t len, const struct jp_capture_stats *s, const char *dump_path);

/* The same line at JP_LOG_INFO (formats nothing below that level). */
void jp_capstats_say(const struct jp_capture_stats *s, const char *dump_path);

#endif
