/* known.h - names the process publishes for its own JIT code.
 *
 * Functions registered through the GDB JIT interface (lib/gdbjit.c) and a
 * runtime's own /tmp/perf-<pid>.map (lib/perfmap_read.c) carry real names
 * with their own boundaries.  This module keeps them in one table sorted by
 * address, without overlaps (a newer name over the same bytes replaces the
 * older: the runtime reused the address).
 *
 * Contract: one table per process, no locking of its own (the capture
 * engine calls everything under its lock), no malloc (jp_sys_alloc), errno
 * preserved.  Indexes into the table (struct jp_view_piece.known) stay
 * valid until the next jp_known_add or jp_known_refresh.  jp_known_refresh
 * reads files and other objects' memory: it is meant for the epoch thread,
 * not for hooks. */
#ifndef JITPERF_KNOWN_H
#define JITPERF_KNOWN_H

#include <stddef.h>
#include <stdint.h>

#include "range.h"

struct jp_known {
	uint64_t addr, size;
	uint32_t name;  /* offset in the string pool (jp_known_name) */
	uint32_t nhash; /* hash of the name, never 0 */
	uint32_t flags; /* JP_KNOWN_* */
};

/* The piece under this name gets the empty unwinding table, not one made
 * from its code: its frame is not what the code's first byte implies
 * (HotSpot's methods compiled for on-stack replacement, lib/hotspot.c). */
#define JP_KNOWN_NO_UNWIND 1u

/* A name jitperf read from the runtime's heap (lib/hotspot.c, lib/v8.c), not
 * one the process published: it yields to what the process publishes itself
 * (its perf map, the GDB JIT interface) over any of its bytes, and is
 * replaced by it, so that a run gets the process's names whichever came
 * first. */
#define JP_KNOWN_FROM_HEAP 2u

/* A published symbol larger than this names an area, not a function: QEMU
 * registers its whole 128 MiB translation buffer as one function,
 * code_gen_buffer.  Code in an area is cut into pieces as anywhere else, and
 * the area's name stands in for their creator (jp_known_area_name). */
#define JP_KNOWN_FUNCTION_MAX (1u << 20)
#define JP_KNOWN_AREAS 8
#define JP_KNOWN_AREA_NAME 64

/* Add (or rename) a published symbol.  Returns 1 when the table changed,
 * 0 when it was known already, names an area, or was refused (bad extent,
 * empty name, a heap name over the process's own), -ENOMEM when the table
 * is full (said once). */
int jp_known_add(uint64_t addr, uint64_t size, const char *name);

/* jp_known_add with JP_KNOWN_* flags (another flag over the same extent and
 * name changes the table too). */
int jp_known_add_flags(uint64_t addr, uint64_t size, const char *name, uint32_t flags);

/* A heap reader's callback (lib/v8.h, lib/mozjs.h): name found over
 * [addr, addr + size), added with JP_KNOWN_FROM_HEAP; *(int *)changed
 * counts the names that changed the table. */
void jp_known_heap_found(void *changed, uint64_t addr, uint64_t size, const char *name);

/* Call fn with every name that changes the table (or an area), as
 * sanitised: JITPERF_DESCRIBE=after records them (lib/deferlog.h).  NULL:
 * none.  jp_known_reset keeps it. */
void jp_known_observe(void (*fn)(uint64_t addr, uint64_t size, const char *name, uint32_t flags));

/* The name of the published area holding addr, NULL when none. */
const char *jp_known_area_name(uint64_t addr);

/* The table, sorted by address; *n receives its length. */
const struct jp_known *jp_known_table(size_t *n);

/* Index of the first entry ending above addr (the table's length when
 * none). */
size_t jp_known_lower(uint64_t addr);

/* Does a published name overlap [addr, addr+len)? */
int jp_known_overlap(uint64_t addr, uint64_t len);

/* The name and name hash of entry i (NULL and 0 when out of range). */
const char *jp_known_name(size_t i);
uint32_t jp_known_nhash(size_t i);
uint32_t jp_known_flags(size_t i);

/* Read newly published names (GDB JIT objects; the runtime's own perf map
 * unless skip_perfmap, which the engine sets when it writes that very file
 * itself).  Returns the number of ranges that got a name they did not
 * have, in the order they were added, and points *changed at them; the
 * array is valid until the next call.  Nothing is lost when memory runs
 * short: the last range then widens to cover the rest. */
size_t jp_known_refresh(int skip_perfmap, const struct jp_range **changed);

/* Has the process's own perf map named code yet?  Then names read from
 * its heap are not needed (lib/v8.c is not asked): the map names every
 * function the runtime makes, and a heap name that came before the map's
 * line would name the code until the next refresh. */
int jp_known_runtime_map(void);

/* Fork child: names stay valid (same address space); only the perf-map
 * read position, and whether it named code, are forgotten (a new pid, a
 * new map file). */
void jp_known_fork_child(void);

/* Forget every name (tests). */
void jp_known_reset(void);

#endif
