/* perfmap_read.h - names from a perf map a runtime writes itself (/tmp/perf-<pid>.map).
 *
 * node --perf-basic-prof, the JVM's perf-map-agent, .NET with
 * DOTNET_PerfMapEnabled and others write "START SIZE name" lines (hex, with
 * or without 0x).  perf reads that file for anonymous memory, but it has no
 * code bytes and no time; merging its names into our LOADs gives both.  We
 * only ever read it: the writer must never create or overwrite it.
 *
 * Contract
 * - For the epoch thread, not hooks (file I/O, a 64 KiB buffer from
 *   jp_sys_alloc).  No malloc, no stdio.  Thread-safe (no shared state).
 * - Returns the number of entries reported, or -errno; errno is preserved.
 * - Incremental: *offset is where to start and is advanced past the last
 *   complete line, so the next call reads only what the runtime appended.  A
 *   last line without its newline is left for next time (the runtime may be
 *   writing it).
 * - Bounded: at most max_bytes are read per call (0 means JP_PERFMAP_READ_MAX;
 *   values below JP_PERFMAP_LINE_MAX + 2 are raised to it so a call always
 *   gets past one line);
 *   lines longer than JP_PERFMAP_LINE_MAX and lines that do not parse are
 *   skipped.  The file must be a regular file owned by our effective user
 *   (anyone can create /tmp/perf-<pid>.map for a pid they can guess).
 * - Names handed to the callback are valid during the call only and are the
 *   runtime's bytes (they may hold spaces: "LazyCompile:~f a.js:1"). */
#ifndef JITPERF_PERFMAP_READ_H
#define JITPERF_PERFMAP_READ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JP_PERFMAP_LINE_MAX 4096
#define JP_PERFMAP_READ_MAX (256u << 20)

/* non-zero stops the read (jp_perfmap_read then returns -ECANCELED) */
typedef int (*jp_perfmap_cb)(void *arg, uint64_t addr, uint64_t size, const char *name);

/* Parse one line (without its newline; a trailing '\r' is ignored).
 * Returns 0 and sets *addr, *size, *name (pointing into line) and *name_len,
 * or -EINVAL. */
int jp_perfmap_parse_line(const char *line, size_t len, uint64_t *addr, uint64_t *size,
			  const char **name, size_t *name_len);

int jp_perfmap_read(const char *path, uint64_t *offset, size_t max_bytes, jp_perfmap_cb cb,
		    void *arg);

/* "/tmp/perf-<pid>.map" into buf; returns its length or -ENOSPC. */
int jp_perfmap_path(char *buf, size_t size, pid_t pid);

#endif
