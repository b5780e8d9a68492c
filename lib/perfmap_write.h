/* perfmap_write.h - the perf map writer: "START SIZE name" lines in perf-<pid>.map.
 *
 * perf reads /tmp/perf-<pid>.map for samples in anonymous memory that no
 * jitdump covers; writing one (JITPERF_PERFMAP_DIR) gives tools that read
 * only perf maps our names too.  perfmap_read.h reads such files.
 *
 * Contract
 * - Functions return 0 on success and -errno on failure; the caller's errno
 *   is preserved.  No malloc, no stdio: the writer runs inside hooks, fork
 *   children and the epoch thread.
 * - The file is created fresh in a private directory (outdir.h): an existing
 *   perf-<pid>.map, a runtime's own, is left alone and reported.
 * - jp_perfmap_add is thread-safe (whole lines under the writer's lock).  On
 *   the first failure, or when the host closed our descriptor and reused its
 *   number, it says why once on stderr and writes nothing more. */
#ifndef JITPERF_PERFMAP_WRITE_H
#define JITPERF_PERFMAP_WRITE_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "sys.h"

struct jp_perfmap {
	int fd;
	struct jp_fdid id;   /* what fd must still be before each write */
	int failed;
	pthread_mutex_t lock;
	char path[PATH_MAX];
};

/* Create <dir>/perf-<pid>.map exclusively; an existing file (a runtime's own
 * map) is left alone and reported. */
int jp_perfmap_open(struct jp_perfmap *m, const char *dir, pid_t pid);
/* Append "START SIZE name\n" (hex, no 0x; a newline in name becomes a space). */
int jp_perfmap_add(struct jp_perfmap *m, uint64_t addr, uint64_t size, const char *name);
void jp_perfmap_close(struct jp_perfmap *m);

#endif
