/* test_sys.c - the raw system-call layer: reads of memory that may vanish.
 * (jitperf's own memory is tested in test_arena.c.) */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

/* Reading memory that may vanish: whole copies, a short count at the first
 * unreadable page, 0 when nothing is readable, errno kept; the same with
 * the caller's pid. */
/* jitperf's own system calls never go through libc's syscall(), which the
 * shim interposes: they keep syscall()'s conventions. */
START_TEST(direct_system_calls)
{
	void *p;

	ck_assert_int_eq(jp_syscall(SYS_getpid), getpid());
	p = (void *)jp_syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	((volatile char *)p)[0] = 1;
	ck_assert_int_eq(jp_syscall(SYS_munmap, p, 4096), 0);
	errno = 0;
	ck_assert_int_eq(jp_syscall(SYS_munmap, (void *)1, 4096), -1); /* not page aligned */
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(jp_syscall(99999), -1);
	ck_assert_int_eq(errno, ENOSYS);
}
END_TEST

START_TEST(safe_copy_stops_at_unmapped)
{
	unsigned char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static unsigned char dst[3 * 4096];

	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 0x5a, 3 * 4096);
	ck_assert_int_eq(munmap(p + 2 * 4096, 4096), 0);
	ck_assert_int_eq(mprotect(p + 4096, 4096, PROT_NONE), 0);
	for (int self = 0; self < 2; self++) {
		memset(dst, 0, sizeof(dst));
		errno = 1234;
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p, 4096) : jp_safe_copy(dst, p, 4096), 4096);
		ck_assert_int_eq(errno, 1234);
		ck_assert_uint_eq(dst[0], 0x5a);
		ck_assert_uint_eq(dst[4095], 0x5a);
		/* the second page is PROT_NONE, the third unmapped */
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p, 3 * 4096) : jp_safe_copy(dst, p, 3 * 4096),
				 4096);
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p + 2 * 4096, 4096)
				      : jp_safe_copy(dst, p + 2 * 4096, 4096),
				 0);
		ck_assert_int_eq(errno, 1234);
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p, 0) : jp_safe_copy(dst, p, 0), 0);
	}
	munmap(p, 2 * 4096);
}
END_TEST

/* Every descriptor jp_open gives is high and close-on-exec, errno kept:
 * a host's dup2() onto a low number it thinks free must never hit one,
 * even one held only for a moment. */
START_TEST(open_gives_high_descriptors)
{
	struct rlimit rl, low;
	int fd, flags;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	errno = 1234;
	fd = jp_open("/proc/self/maps", O_RDONLY, 0);
	ck_assert_int_ge(fd, rl.rlim_cur >= 1032 ? 1000 : (long)rl.rlim_cur - 32);
	ck_assert_int_eq(errno, 1234);
	flags = fcntl(fd, F_GETFD);
	ck_assert(flags >= 0 && (flags & FD_CLOEXEC));
	close(fd);
	/* Under a low descriptor limit: just below it, still above stdio. */
	low = (struct rlimit){ 128, rl.rlim_max };
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	fd = jp_open("/proc/self/maps", O_RDONLY, 0);
	ck_assert_int_ge(fd, 96);
	ck_assert_int_lt(fd, 128);
	close(fd);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(jp_open("/nonexistent/x", O_RDONLY, 0), -ENOENT);
	ck_assert_int_eq(errno, 1234);
}
END_TEST

Suite *make_sys_suite(void)
{
	Suite *s = suite_create("sys");
	TCase *tc = tcase_create("copy");

	tcase_add_test(tc, direct_system_calls);
	tcase_add_test(tc, safe_copy_stops_at_unmapped);
	tcase_add_test(tc, open_gives_high_descriptors);
	suite_add_tcase(s, tc);
	return s;
}
