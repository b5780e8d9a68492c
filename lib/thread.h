/* thread.h - jitperf's own background thread: every signal blocked, its
 * sleep the one place it can be asked to end.
 *
 * The capture thread must end and be gone (joined) before a call that
 * needs a single-threaded process: unshare(CLONE_NEWUSER), setns into a
 * user or mount namespace fail with EINVAL while another thread exists.  A
 * stop request wakes the sleep at once (a futex, no signal: the host's
 * signal handlers never see us) and the thread returns from there, never
 * in the middle of a pass that holds a lock.
 *
 * Contract: no malloc of ours (pthread_create allocates the stack); one
 * starter and one stopper at a time (the capture engine's lock serialises
 * them); jp_thread_stop must not be called by a holder of a lock the
 * thread takes. */
#ifndef JITPERF_THREAD_H
#define JITPERF_THREAD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct jp_thread {
	pthread_t th;
	int running; /* started and not joined */
	int stop;    /* futex word: 1 asks the thread to end */
	/* CPU time the thread spent awake (between its sleeps), written by
	 * the thread only: its whole work, for the shim's own cost figure. */
	uint64_t busy_ns;
	uint64_t woke_cpu; /* the thread's CPU clock when it last woke */
};

/* Start fn(arg), joinable, with every signal blocked and a stack of
 * stack bytes.  0 or an error number (pthread_create's). */
int jp_thread_start(struct jp_thread *t, void *(*fn)(void *), void *arg, size_t stack);

/* In the thread: sleep ns, or less when asked to end.  Returns 1 when the
 * thread is to end (return from fn), 0 after a full sleep.  Adds the CPU
 * time since the last wake to busy_ns. */
int jp_thread_sleep(struct jp_thread *t, uint64_t ns);

/* Ask the thread to end and wait until it is gone.  Nothing when it does
 * not run. */
void jp_thread_stop(struct jp_thread *t);

#endif
