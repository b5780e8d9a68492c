/* thread.c - start, sleep and stop jitperf's background thread. */
#include "thread.h"
#include "sys.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

int jp_thread_start(struct jp_thread *t, void *(*fn)(void *), void *arg, size_t stack)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	__atomic_store_n(&t->stop, 0, __ATOMIC_RELEASE);
	t->woke_cpu = 0; /* a new thread's CPU clock starts at 0 */
	/* The host's signals must never land on our thread: it inherits
	 * this mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack);
	r = pthread_create(&t->th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	t->running = r == 0;
	return r;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int jp_thread_sleep(struct jp_thread *t, uint64_t ns)
{
	uint64_t end = mono_ns() + ns, now;
	int saved = errno;

	__atomic_store_n(&t->busy_ns, t->busy_ns + (jp_thread_cpu_ns() - t->woke_cpu), __ATOMIC_RELAXED);
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) && (now = mono_ns()) < end) {
		struct timespec ts = { (time_t)((end - now) / 1000000000u), (long)((end - now) % 1000000000u) };

		/* Returns at once when stop is no longer 0 or a wake came. */
		jp_syscall(SYS_futex, &t->stop, FUTEX_WAIT_PRIVATE, 0, &ts);
	}
	t->woke_cpu = jp_thread_cpu_ns();
	errno = saved;
	return __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) != 0;
}

void jp_thread_stop(struct jp_thread *t)
{
	int saved = errno;

	if (!t->running)
		return;
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
	jp_syscall(SYS_futex, &t->stop, FUTEX_WAKE_PRIVATE, 1);
	pthread_join(t->th, NULL);
	t->running = 0;
	errno = saved;
}
