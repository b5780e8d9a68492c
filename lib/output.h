/* output.h - where the capture engine's records go: the jitdump and, when
 * asked, a perf map, opened when there is first something to say.
 *
 * Contract: no locking of its own (the engine calls it under its lock),
 * no malloc, errno preserved, may run in a hook.  The writers report their
 * own failures once; this module only remembers which outputs still work
 * and tells the engine when none ever will (-ESHUTDOWN: turn off). */
#ifndef JITPERF_OUTPUT_H
#define JITPERF_OUTPUT_H

#include <stdint.h>
#include <sys/types.h>

#include "cfi.h"
#include "config.h"
#include "jitdump.h"
#include "perfmap_write.h"
#include "reconcile.h"

enum { JP_OUT_NONE = 0, JP_OUT_OPEN, JP_OUT_FAILED };

struct jp_output {
	const struct jp_config *cfg; /* jitdump, perfmap, dir, perfmap_dir */
	pid_t pid;                   /* whose files: set again in a fork child */
	int dump_state, pmap_state;  /* JP_OUT_* */
	struct jp_dump dump;
	struct jp_perfmap pmap;
	uint64_t loads, load_bytes, moves; /* records written */
	uint64_t deferred_bytes;     /* memory written for a description after the run (lib/deferlog.h) */
	int shutdown;                /* nothing will ever be written: the engine turns off */
	struct jp_cfi_work *cfi;     /* unwinding data from the code (JP_UNWIND_AUTO), made on first need */
	int cfi_failed;              /* no memory for it: empty tables */
};

/* Open what is not open yet, notice a writer that failed.  Returns 0 when
 * something can be written, -EIO when nothing can now, -ESHUTDOWN when
 * nothing ever will (the engine then turns itself off). */
int jp_output_ready(struct jp_output *o);

/* Write out buffered records; the return value is jp_output_ready's after
 * a failure, else 0. */
int jp_output_flush(struct jp_output *o);

/* A LOAD (with its unwinding record) into the dump and a line into the
 * perf map, opening them first if need be (a failure for good sets
 * shutdown).  Returns the code index (0 when only the map took it),
 * JP_NO_INDEX when nothing was written. */
uint64_t jp_output_load(struct jp_output *o, const struct jp_load_rec *l);

/* A MOVE of a piece the dump announced (index from jp_output_load). */
void jp_output_move(struct jp_output *o, uint64_t index, uint64_t addr, uint64_t new_addr, uint32_t len, uint64_t ts);

/* Point the reconciler's records (load, move) at o; its reads are the
 * caller's business. */
void jp_output_sink(struct jp_output *o, struct jp_reconcile_sink *s);

/* Time of the dump's header and marker, 0 when no dump is open: nothing
 * may be dated before it. */
uint64_t jp_output_open_ts(const struct jp_output *o);

/* Path of the dump being written, NULL when none. */
const char *jp_output_dump_path(const struct jp_output *o);

/* At exit: write the last records and close. */
void jp_output_close(struct jp_output *o);

/* Fork child: the parent's files are the parent's.  The dump is left
 * untouched (jp_dump_abandon); the child opens its own when it has
 * something to say. */
void jp_output_forget(struct jp_output *o);

#endif
