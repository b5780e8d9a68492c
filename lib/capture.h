/* capture.h - the capture engine: decides when JIT code is read and announced to perf.
 *
 * The preload hooks report every memory call that concerns executable
 * memory; the engine keeps the region table, snapshots code at the W^X
 * moment, runs deferred capture (an epoch thread using kernel write tracking
 * or page hashing) for memory that is written with no call at all, and
 * captures at every moment code is about to disappear.  Each pass runs one
 * way: which pages changed (lib/dirty.c), what to tell perf about them
 * (lib/reconcile.c), the records out (lib/output.c).
 *
 * Contract
 * - Every jp_capture_* entry point may be called from a hook: no malloc, no
 *   stdio, errno preserved, never fails visibly.  They serialise on one
 *   engine lock; the host's own result has already been decided by then.
 * - Callers must set the thread's guard (jp_guard) around calls so that
 *   memory calls made by the engine itself (or by libraries it uses) pass
 *   straight through the hooks.
 * - After an internal failure the engine reports once on stderr and turns
 *   itself off; calls then return at once. */
#ifndef JITPERF_CAPTURE_H
#define JITPERF_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capstats.h"
#include "tracked.h"

/* Per-thread recursion guard: non-zero while the thread runs jitperf code. */
extern __thread int jp_guard __attribute__((tls_model("initial-exec")));

/* Read the configuration and prepare; idempotent.  Returns 1 when jitperf
 * is active, 0 when it is off (disabled or failed). */
int jp_capture_init(void);
int jp_capture_active(void);

/* Hooks hold the engine lock across the real call of a slow path, so no
 * other thread can map, capture or describe the range in between (else data
 * mapped at a just-freed address could be described as code).  Returns a
 * token for jp_capture_release(); 0 when the engine is off (the jp_capture_*
 * calls inside are then no-ops).  Cancellation is disabled meanwhile. */
int jp_capture_hold(void);
void jp_capture_release(int token);

/* After a successful mmap with PROT_EXEC (the creator is found by unwinding
 * from here, so the hooked call's own frame needs no special care). */
void jp_capture_mmap_done(void *addr, size_t len, int prot, int flags, int fd, off_t off);

/* Before memory in [start, start+len) goes away (munmap, MAP_FIXED
 * replacement, mremap source, madvise discard): capture what is pending.
 * After the call succeeded: forget it. */
void jp_capture_unmap_before(uint64_t start, uint64_t len);
void jp_capture_unmap_done(uint64_t start, uint64_t len);

/* Before mremap of [start, start+len): capture, and drop the write-tracking
 * registration (the kernel refuses to move registered mappings together
 * with others); capture arms again afterwards. */
void jp_capture_mremap_before(uint64_t start, uint64_t len);

/* mprotect: before (capture when exec is being removed) and after success.
 * With PROT_GROWSDOWN, before moves *start (and grows *len) to where the
 * kernel will begin: the start of the mapping holding *start. */
void jp_capture_mprotect_before(uint64_t *start, uint64_t *len, int prot);
void jp_capture_mprotect_done(uint64_t start, uint64_t len, int prot);

/* After a successful mremap that returned new_addr. */
void jp_capture_mremap_done(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len);

/* After a successful madvise that discarded contents (DONTNEED, FREE, REMOVE). */
void jp_capture_discard_done(uint64_t start, uint64_t len);

/* Capture everything pending now: before execve, at exit (also _exit).
 * jp_capture_exit() does nothing in a process that does not own the
 * engine (a vfork child, a fork child that made no hooked call). */
void jp_capture_exec_before(void);
void jp_capture_exit(void);

/* Called by the capture thread after each pass, without the engine lock
 * (the preload's deep-bound dlopen follow-up); NULL: nothing. */
extern void (*jp_capture_epoch_extra)(void);

/* Around a call that needs a single-threaded process (unshare of a user
 * namespace, setns): pause 1 ends the capture thread and waits until it is
 * gone, pause 0 starts it again (also the first start, with the scan on). */
void jp_capture_thread_pause(int pause);

/* Fork handlers (pthread_atfork). */
void jp_capture_fork_prepare(void);
void jp_capture_fork_parent(void);
void jp_capture_fork_child(void);

void jp_capture_get_stats(struct jp_capture_stats *s);

#endif
