/* config.h - JITPERF_* settings, read once from the environment.
 *
 * Contract: jp_config_load() never allocates and never fails: a bad value is
 * reported once on stderr ("jitperf: JITPERF_X=...: why; using default") and
 * replaced by its default.  It may run from the first hook, before any
 * constructor.  Not thread-safe; the caller runs it once. */
#ifndef JITPERF_CONFIG_H
#define JITPERF_CONFIG_H

#include <limits.h>
#include <stddef.h>

enum jp_track_mode {
	JP_TRACK_AUTO = 0, /* kernel write tracking where it works, else hashing */
	JP_TRACK_WP = 1,   /* write tracking only (regions that refuse it are hashed) */
	JP_TRACK_HASH = 2, /* resident-page hashing only */
};

enum jp_unwind_mode {
	JP_UNWIND_MODE_AUTO = 0,  /* CFI from the code (lib/stackheight.c, lib/cfi.c) where known and room allows */
	JP_UNWIND_MODE_EMPTY = 1, /* always the empty table (frame-pointer fallback) */
};

enum jp_describe_mode {
	JP_DESCRIBE_NOW = 0,   /* describe code in the program, as it is captured */
	JP_DESCRIBE_AFTER = 1, /* record what was read; jitperf-dump --describe describes it after the run */
	JP_DESCRIBE_BOTH = 2,  /* both (tests: the two must agree) */
};

struct jp_config {
	int enabled;           /* JITPERF_DISABLE=1 turns jitperf off */
	char dir[PATH_MAX];    /* JITPERF_DIR */
	unsigned epoch_ms;     /* JITPERF_EPOCH_MS: deferred-capture period; 0 = no epochs */
	int track;             /* JITPERF_TRACK: auto | wp | hash */
	int jitdump;           /* JITPERF_JITDUMP: write jit-<pid>.dump (default 1) */
	int perfmap;           /* JITPERF_PERFMAP: also write perf-<pid>.map (default 0) */
	char perfmap_dir[PATH_MAX]; /* JITPERF_PERFMAP_DIR (default /tmp, where perf looks) */
	int scan;              /* JITPERF_SCAN: look for executable JIT memory no call announced (default 1) */
	int unwind;            /* JITPERF_UNWIND: auto | empty */
	int describe;          /* JITPERF_DESCRIBE: now | after | both */
	int verbose;           /* JITPERF_VERBOSE: 0 quiet .. 3 debug (default 1: errors) */
};

#define JP_DEFAULT_EPOCH_MS 100u

/* Fill c from the environment (envp, or the process environment if NULL). */
void jp_config_load(struct jp_config *c, char *const *envp);

/* Default dump directory: $XDG_CACHE_HOME/jitperf, $HOME/.cache/jitperf, or
 * /tmp/jitperf-<uid>. */
void jp_config_default_dir(char *out, size_t size, char *const *envp);

#endif
