/* engine.h - the capture engine's state and the steps its two halves share.
 * Private to lib/capture.c (the core: lock, passes, epoch thread, exit,
 * fork) and lib/mapcalls.c (what each memory call does to the region
 * table); everything else goes through capture.h.
 *
 * Every function here expects the engine lock (jp_engine_enter() returned
 * 1) unless it says otherwise. */
#ifndef JITPERF_ENGINE_H
#define JITPERF_ENGINE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "capstats.h"
#include "config.h"
#include "dirty.h"
#include "output.h"
#include "reconcile.h"
#include "region.h"
#include "thread.h"
#include "wtrack.h"

#define JP_ENGINE_CHUNK JP_RECONCILE_CHUNK /* the scratch buffer's size */


enum { ST_UNINIT = 0, ST_INITIALIZING, ST_ACTIVE, ST_OFF };

struct jp_engine {
	pthread_mutex_t lock;
	int state;
	struct jp_config cfg;
	uint64_t pagesz;
	pid_t pid;
	int child_pending;  /* fork child that has not touched JIT memory yet */
	int grant_prot;     /* protection of the exec grant being recorded */
	volatile int *wipe; /* MADV_WIPEONFORK page holding 1; 0 in any child */
	struct jp_output out;
	struct jp_wtrack wt;
	struct jp_regions regs;
	int thread_state;   /* 0 none, 1 running, 2 paused, 3 to start at once, -1 failed */
	struct jp_thread thr;
	uint64_t thread_gen; /* bumped at fork and exit: a stale thread stops */
	uint8_t *scratch;    /* CHUNK bytes: code being read, /proc/self/maps text */
	struct jp_dirty dirty;
	struct jp_reconciler rec;
	struct jp_capture_stats st;
};

extern struct jp_engine jp_eng;

static inline uint64_t jp_engine_page_down(uint64_t a)
{
	return a & ~(jp_eng.pagesz - 1);
}

static inline uint64_t jp_engine_page_up(uint64_t a)
{
	return (a + jp_eng.pagesz - 1) & ~(jp_eng.pagesz - 1);
}

/* Take the engine lock (not taken again inside jp_capture_hold());
 * 0 when the engine is not active: do nothing then. */
int jp_engine_enter(void);
void jp_engine_leave(void);
/* Off for good, after a failure that was already reported. */
void jp_engine_turn_off(void);
/* The region table changed: publish its bounds to the hooks' fast path. */
void jp_engine_publish_bounds(void);
/* Open the dump before code exists, so every LOAD can be dated from the
 * moment code appears. */
void jp_engine_ensure_output(void);
/* In a hook: leave the records batched for the epoch thread. */
void jp_engine_hook_flush(void);
/* Start the epoch thread if it is not running and may run. */
void jp_engine_ensure_thread(void);
/* A capture pass over the regions in [start, end) (grant: 1 at an exec
 * grant, 0 at a call that may end code, -1 the epoch's pass). */
void jp_engine_capture_range(uint64_t start, uint64_t end, uint64_t now, int grant);
/* One capture pass over region i, looking for changes in [lo, hi). */
void jp_engine_capture_region(size_t i, uint64_t now, int reannounce, uint64_t lo, uint64_t hi);
/* JITPERF_DESCRIBE: is region r described in the program, recorded for
 * after the run (NULL: is anything recorded)? */
int jp_engine_describe_now(const struct jp_region *r);
int jp_engine_describe_after(const struct jp_region *r);
/* Delete region i / forget its pieces within [start, end), and say so in
 * the records for a description after the run. */
void jp_engine_delete_region(size_t i);
void jp_engine_drop_pieces(size_t i, uint64_t start, uint64_t end);
/* Give back the write-tracking registrations in [start, end). */
void jp_engine_release_range(uint64_t start, uint64_t end);

#endif
