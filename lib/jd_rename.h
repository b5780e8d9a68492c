/* jd_rename.h - give a jitdump's LOADs the names a runtime published late (its perf map).
 *
 * HotSpot (-XX:+DumpPerfMapAtExit) writes /tmp/perf-<pid>.map only at exit,
 * Mono (--jitmap) buffers it in stdio until exit: the names arrive after the
 * shim captured the code under synthetic names.  This module applies such a
 * map to the finished dump, after the run and before perf inject.
 *
 * What "the code the map describes" is:
 * - the map's view: entries in file order, a newer entry over any byte of an
 *   older one replaces it whole (the runtime reused the address: only the
 *   newest entry there still describes code).  Entries of size 0, larger
 *   than JP_RENAME_ENTRY_MAX (a whole buffer, as QEMU publishes, not a
 *   function) or wrapping around are ignored.
 * - the dump's view: LOADs and MOVEs in file order, a newer one owning the
 *   bytes it covers; for each byte, the newest owner is the code that was
 *   alive at the end.  LOADs stamped after before_ts (when non-zero: the map
 *   was written at that CLOCK_MONOTONIC time) are newer than the map and
 *   are left alone, as is code a MOVE put somewhere.
 * - an entry that touches no such LOAD byte points outside JIT memory (V8's
 *   builtins in node's text, bytecode on the heap) and is ignored.
 *
 * What is written:
 * - every record as it was, except LOADs all of whose bytes went to renamed
 *   code (they would only cost perf inject an object no sample resolves to),
 *   with the DEBUG_INFO and UNWINDING_INFO that belong to them; a LOAD whose
 *   code a MOVE refers to is always kept;
 * - at the end, one LOAD per run of contiguous renamed bytes of an entry
 *   (normally the whole entry): the entry's name and boundaries, the bytes
 *   the dump holds for them, the pid/tid of the first LOAD it draws from,
 *   the earliest timestamp among those LOADs (plus 1 ns when one of them
 *   stays, so that the renamed code is the later, winning map in perf for
 *   the bytes they share), a fresh code index above every index in the
 *   dump, and an empty unwinding table before it (perf then falls back to
 *   frame pointers, as for every LOAD the shim writes without an FDE);
 * - a CLOSE record last, after them: perf 6.1 reads no record after a
 *   CLOSE (checked: LOADs appended after the shim's CLOSE made no object);
 * - for older LOADs (code the shim described again later: the runtime
 *   patched it), the part an entry covers, when at least 90 % of its bytes
 *   equal the newest code's there, is the same function: a copy of that
 *   part with the LOAD's own bytes and time takes the entry's name (1 ns
 *   later when the LOAD keeps bytes outside the entry, which stays).
 *   Another function at a reused address has other bytes and stays as it
 *   was;
 * - nothing for an entry whose one LOAD already has exactly its name and
 *   boundaries (the shim merged a continuously written map while running).
 * Code the map no longer lists keeps its synthetic name.
 *
 * For tools only (stdio, malloc): never called inside a host. */
#ifndef JITPERF_JD_RENAME_H
#define JITPERF_JD_RENAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A map entry larger than this names an area, not a function (as
 * JP_KNOWN_FUNCTION_MAX in the shim). */
#define JP_RENAME_ENTRY_MAX (1u << 20)

struct jp_map_entry {
	uint64_t addr, size;
	const char *name;
};

struct jp_rename_stats {
	uint64_t entries;         /* map entries given */
	uint64_t entries_alive;   /* not replaced by a newer entry, sane size */
	uint64_t entries_jit;     /* of those, touching LOAD bytes alive at the end */
	uint64_t entries_named;   /* of those, named already (nothing to do) */
	uint64_t loads_in;
	uint64_t loads_dropped;   /* every byte renamed */
	uint64_t loads_added;     /* renamed code */
	uint64_t loads_older;     /* copies of older code renamed (same_code) */
	uint64_t bytes_renamed;
};

/* Write to out the dump in [buf, buf+len) with the n map entries (in the
 * map file's order) applied.  before_ts 0: every LOAD may be renamed.
 * Returns 0, -EBADMSG when the header is not a jitdump's (keep the
 * original), -EIO when writing failed, -ENOMEM. */
int jp_jd_apply_map(const void *buf, size_t len, const struct jp_map_entry *map, size_t n, uint64_t before_ts,
		    FILE *out, struct jp_rename_stats *st);

#endif
