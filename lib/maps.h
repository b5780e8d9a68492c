/* maps.h - classify our own mappings from /proc/self/maps.
 *
 * Used when a range we have never seen becomes executable (mprotect of
 * memory mapped earlier, malloc'd memory, a view mapped before jitperf
 * started): only the kernel knows whether it is anonymous, [heap], a memfd,
 * or a real file that perf can symbolize on its own.
 *
 * Contract: no allocation; the caller passes a scratch buffer (>= 4 KiB).
 * Returns the number of callbacks made or -errno.  Not async-signal-safe
 * (it reads a file), but needs no lock of its own. */
#ifndef JITPERF_MAPS_H
#define JITPERF_MAPS_H

#include <stddef.h>
#include <stdint.h>

enum jp_map_class {
	JP_MAP_ANON,   /* private anonymous, [anon:name] */
	JP_MAP_SHMEM,  /* shared anonymous (/dev/zero (deleted), /SYSV) */
	JP_MAP_HEAP,   /* [heap] */
	JP_MAP_DUAL,   /* memfd or unlinked file: JIT dual mapping */
	JP_MAP_FILE,   /* a real file: not JIT code */
	JP_MAP_SPECIAL /* [stack], [vdso], [vsyscall], ...: not ours */
};

struct jp_map {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	int prot;         /* PROT_* from the permission letters */
	int shared;       /* 's' */
	int cls;          /* enum jp_map_class */
};

/* Classify a pathname column (may be empty). */
int jp_map_classify(const char *path, size_t len);

/* Parse one line of /proc/<pid>/maps (without the newline); 0 or -EINVAL. */
int jp_map_parse_line(const char *line, size_t len, struct jp_map *m);

/* Call cb for each mapping overlapping [start, end), in address order,
 * until cb returns non-zero; buf (at least 4 KiB) is scratch.  Returns the
 * number of callbacks or -errno.  Asks the kernel one mapping at a time
 * (PROCMAP_QUERY, Linux 6.11): the cost follows the mappings in the range,
 * not all the process has (node has thousands).  Older kernels: the text
 * of /proc/self/maps. */
int jp_maps_each(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		 int (*cb)(const struct jp_map *m, void *arg), void *arg);

/* The executable mappings overlapping [start, end), in address order
 * (same returns).  With PROCMAP_QUERY the kernel skips the others. */
int jp_maps_each_exec(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		      int (*cb)(const struct jp_map *m, void *arg), void *arg);

/* Where the mapping holding addr begins (addr when none or unknown). */
uint64_t jp_maps_vma_start(uint64_t addr, char *buf, size_t bufsz);

/* The two ways, for tests: the query one returns -ENOTTY without it. */
int jp_maps_each_query(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		       int (*cb)(const struct jp_map *m, void *arg), void *arg);
int jp_maps_each_text(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		      int (*cb)(const struct jp_map *m, void *arg), void *arg);

#endif
