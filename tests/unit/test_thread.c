/* test_thread.c - jitperf's background thread: signals blocked, a stop request ends even a long sleep at once, and it is gone after stop (lib/thread.c). */
#include <check.h>
#include <signal.h>
#include <time.h>

#include "thread.h"

static struct jp_thread T;
static int all_blocked, loops, full_sleeps;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *body(void *arg)
{
	sigset_t m;

	(void)arg;
	pthread_sigmask(SIG_SETMASK, NULL, &m);
	all_blocked = sigismember(&m, SIGINT) && sigismember(&m, SIGTERM) && sigismember(&m, SIGUSR1);
	__atomic_store_n(&loops, 1, __ATOMIC_RELEASE);
	/* Ten seconds a sleep: only a stop request ends it early. */
	while (!jp_thread_sleep(&T, 10000000000ull))
		full_sleeps++;
	return NULL;
}

START_TEST(stop_ends_a_long_sleep_at_once)
{
	uint64_t t0;

	ck_assert_int_eq(jp_thread_start(&T, body, NULL, 256u << 10), 0);
	ck_assert_int_eq(T.running, 1);
	while (!__atomic_load_n(&loops, __ATOMIC_ACQUIRE))
		;
	t0 = now_ns();
	jp_thread_stop(&T);
	ck_assert_uint_lt(now_ns() - t0, 1000000000ull);
	ck_assert_int_eq(T.running, 0);
	ck_assert_int_eq(full_sleeps, 0);
	ck_assert_int_eq(all_blocked, 1);
	/* The thread is gone: joined, and a second stop does nothing. */
	jp_thread_stop(&T);
	/* Started again after a stop, it sleeps again. */
	loops = 0;
	ck_assert_int_eq(jp_thread_start(&T, body, NULL, 256u << 10), 0);
	while (!__atomic_load_n(&loops, __ATOMIC_ACQUIRE))
		;
	jp_thread_stop(&T);
	ck_assert_int_eq(full_sleeps, 0);
}
END_TEST

START_TEST(full_sleep_without_a_request)
{
	struct jp_thread t = { 0 };
	uint64_t t0 = now_ns();

	ck_assert_int_eq(jp_thread_sleep(&t, 20000000u), 0);
	ck_assert_uint_ge(now_ns() - t0, 20000000u);
	t.stop = 1;
	t0 = now_ns();
	ck_assert_int_eq(jp_thread_sleep(&t, 10000000000ull), 1);
	ck_assert_uint_lt(now_ns() - t0, 1000000000ull);
}
END_TEST

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* busy_ns: the CPU the thread spent awake, not the time it slept */
START_TEST(busy_counts_cpu_between_sleeps)
{
	struct jp_thread t = { 0 };
	uint64_t spent;
	volatile uint64_t x = 0;

	t.woke_cpu = cpu_ns();
	ck_assert_int_eq(jp_thread_sleep(&t, 1000000u), 0);
	ck_assert_uint_lt(t.busy_ns, 5000000u);
	spent = cpu_ns();
	while (cpu_ns() - spent < 30000000u)
		x++;
	spent = cpu_ns() - spent;
	ck_assert_int_eq(jp_thread_sleep(&t, 50000000u), 0);
	ck_assert_uint_ge(t.busy_ns, spent);
	ck_assert_uint_lt(t.busy_ns, spent + 10000000u);
}
END_TEST

Suite *make_thread_suite(void)
{
	Suite *s = suite_create("thread");
	TCase *tc = tcase_create("thread");

	tcase_add_test(tc, stop_ends_a_long_sleep_at_once);
	tcase_add_test(tc, full_sleep_without_a_request);
	tcase_add_test(tc, busy_counts_cpu_between_sleeps);
	suite_add_tcase(s, tc);
	return s;
}
