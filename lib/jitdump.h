/* jitdump.h - the jitdump writer: jit-<pid>.dump files perf inject --jit reads.
 *
 * Contract
 * - Functions return 0 (or a count) on success and -errno on failure; the
 *   caller's errno is preserved.  Nothing here allocates with malloc or uses
 *   stdio: the writer runs inside hooks, fork children and the epoch thread.
 * - A struct jp_dump is thread-safe once opened: records are appended under
 *   its lock, so an UNWINDING_INFO and the LOAD it belongs to are always
 *   adjacent and no record is ever torn.
 * - On the first failure (disk full, descriptor closed by the host, ...) the
 *   writer says why once on stderr, cuts the file back to its last whole
 *   record, and refuses further records (jp_dump_ok() turns false).  What was
 *   written before stays readable by perf.
 * - Records are buffered only between jp_dump_flush() calls (the capture code
 *   flushes at the end of every pass), so a host killed by SIGKILL loses at
 *   most the pass in progress. */
#ifndef JITPERF_JITDUMP_H
#define JITPERF_JITDUMP_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "jd_format.h"

enum jp_unwind {
	JP_UNWIND_EMPTY = 0, /* empty .eh_frame_hdr table: perf falls back to frame pointers */
	JP_UNWIND_FP_FDE = 1, /* CIE+FDE for code starting with push rbp; mov rbp,rsp */
	JP_UNWIND_NONE = 2,   /* no record (tests only: perf would reuse an earlier one) */
	JP_UNWIND_CFI = 3,    /* the caller's .eh_frame + .eh_frame_hdr (jp_code.cfi, lib/cfi.h) */
	JP_UNWIND_AUTO = 4,   /* not for the writer: lib/output.c analyses the code and picks CFI or EMPTY */
};

struct jp_code {
	uint64_t addr;       /* where the code runs */
	const void *code;    /* a copy of its bytes */
	uint64_t size;
	const char *name;    /* symbol name perf will show */
	uint64_t timestamp;  /* CLOCK_MONOTONIC ns; 0 means now */
	uint32_t tid;        /* 0 means the calling thread */
	int unwind;          /* enum jp_unwind */
	/* JP_UNWIND_CFI: cfi_size bytes, the last cfi_hdr_size of them the
	 * .eh_frame_hdr; perf maps them right after the 8-aligned code, so the
	 * caller makes sure that much room is free there. */
	const uint8_t *cfi;
	uint32_t cfi_size, cfi_hdr_size;
};

struct jp_dump {
	pthread_mutex_t lock;
	int fd;              /* -1 when closed */
	int failed;          /* set once after a reported failure */
	pid_t pid;
	void *marker;        /* PROT_READ|PROT_EXEC mapping perf discovers us by */
	size_t marker_len;
	uint64_t size;       /* bytes of whole records on disk */
	uint64_t next_index; /* code_index is unique within a dump */
	uint32_t tid;        /* records' tid; 0: the calling thread's (jp_dump_adopt's user sets it) */
	uint64_t open_ts;    /* time of the header, just before the marker mmap */
	uint64_t loads, moves, bytes; /* statistics */
	dev_t dev;           /* identity of our file, to notice a host that */
	ino_t ino;           /* closed our fd and reused the number */
	char *buf;           /* batch of whole records not yet written */
	size_t buf_len, buf_cap;
	char path[PATH_MAX];
};

/* Create <dir>/jit-<pid>.dump (or, if that name is taken, by an earlier
 * process instance with the same pid, <dir>/jitperf-<pid>.<n>/jit-<pid>.dump),
 * write the header and map the marker.  dir is created (private) when
 * missing; a directory owned by another user (other than a root-owned sticky
 * one such as /tmp) is refused.  Existing files are never truncated or
 * followed through symlinks.  Reports failures on stderr. */
int jp_dump_open(struct jp_dump *d, const char *dir, pid_t pid);

/* Append UNWINDING_INFO + LOAD for one piece of code; *index (if non-NULL)
 * receives its code_index. */
int jp_dump_load(struct jp_dump *d, const struct jp_code *c, uint64_t *index);

/* Append a MOVE: the code of an earlier LOAD now (also) lives at new_addr.
 * With new_addr == old_addr it re-announces code hidden by a later kernel
 * mmap event perf keeps (e.g. executable [heap] re-mprotected). */
int jp_dump_move(struct jp_dump *d, uint64_t index, uint64_t old_addr, uint64_t new_addr,
		 uint64_t size, uint64_t timestamp);

/* Append one record of jitperf's own (jd_format.h: JD_JP_*), given as
 * iovecs whose first starts with its prefix; whole or not at all. */
int jp_dump_raw(struct jp_dump *d, const struct iovec *iov, int n);

/* Offline (jitperf-dump): write records to fd, whose header is written
 * already (size bytes so far), as pid's dump.  No marker, no lock needed;
 * jp_dump_close() closes fd. */
int jp_dump_adopt(struct jp_dump *d, int fd, pid_t pid, uint64_t size);

/* Write buffered records to the file. */
int jp_dump_flush(struct jp_dump *d);

/* Flush, append CLOSE, close the descriptor.  The marker stays mapped: perf
 * needs nothing more from it, and a mapping that vanishes early is harmless. */
void jp_dump_close(struct jp_dump *d);

/* In a fork child: forget the parent's dump without writing to it, unmap the
 * inherited marker and reset the lock. */
void jp_dump_abandon(struct jp_dump *d);

static inline int jp_dump_ok(const struct jp_dump *d)
{
	return d->fd >= 0 && !__atomic_load_n(&d->failed, __ATOMIC_RELAXED);
}

/* The unwinding payloads, exposed for tests and the reader: write the
 * UNWINDING_INFO record for kind into out (which must hold
 * JD_FDE_UNWIND_RECORD bytes); returns its size. */
size_t jp_unwind_record(void *out, int kind, uint64_t code_size, uint64_t timestamp);

#endif
