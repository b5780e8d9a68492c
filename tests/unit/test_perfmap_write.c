/* test_perfmap_write.c - perf-<pid>.map output: perf's line format, a
 * private file, a runtime's own map left alone, and never a write into a
 * file of the program's that got our descriptor number. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perfmap_write.h"
#include "scratch.h"

START_TEST(test_perfmap_format)
{
	struct jp_perfmap m;
	struct stat st;
	unsigned char *b;
	size_t len;
	static const char want[] = "7f0000001000 40 jit_fn\n"
				   "7f0000002000 1 a b(c)\n"
				   "0 ffffffff [unnamed]\n";

	ck_assert_int_eq(jp_perfmap_open(&m, tmp, 4242), 0);
	ck_assert_int_eq(jp_perfmap_add(&m, 0x7f0000001000, 0x40, "jit_fn"), 0);
	ck_assert_int_eq(jp_perfmap_add(&m, 0x7f0000002000, 1, "a\nb(c)"), 0);
	ck_assert_int_eq(jp_perfmap_add(&m, 0, 0xffffffff, "[unnamed]"), 0);
	jp_perfmap_close(&m);
	ck_assert_int_eq(stat(path_in("perf-4242.map"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	b = read_all(path_in("perf-4242.map"), &len);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	ck_assert_mem_eq(b, want, len);
	free(b);
	ck_assert_str_eq(logged(), "");
}
END_TEST

START_TEST(test_perfmap_existing_left_alone)
{
	static const char theirs[] = "1000 10 runtime_own_symbol\n";
	struct jp_perfmap m;
	unsigned char *b;
	size_t len;
	int fd = open(path_in("perf-4243.map"), O_WRONLY | O_CREAT | O_EXCL, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, theirs, sizeof(theirs) - 1), (ssize_t)sizeof(theirs) - 1);
	close(fd);
	ck_assert_int_eq(jp_perfmap_open(&m, tmp, 4243), -EEXIST);
	ck_assert_int_lt(jp_perfmap_add(&m, 0x2000, 0x10, "ours"), 0);
	jp_perfmap_close(&m);
	b = read_all(path_in("perf-4243.map"), &len);
	ck_assert_uint_eq(len, sizeof(theirs) - 1);
	ck_assert_mem_eq(b, theirs, len);
	free(b);
	ck_assert_ptr_nonnull(strstr(logged(), "already exists"));
	ck_assert_int_eq(count_lines(logged()), 1);
}
END_TEST

/* A program that closes every descriptor and opens its own files gets our
 * number back: the next line must not land in its file. */
START_TEST(test_perfmap_fd_reused_by_program)
{
	static const char theirs[] = "program data\n";
	struct jp_perfmap m;
	unsigned char *b;
	size_t len;
	int fd;

	ck_assert_int_eq(jp_perfmap_open(&m, tmp, 4244), 0);
	ck_assert_int_eq(jp_perfmap_add(&m, 0x1000, 0x10, "before"), 0);
	ck_assert_int_eq(close(m.fd), 0);
	fd = open(path_in("program.txt"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	if (fd != m.fd) {
		ck_assert_int_eq(dup2(fd, m.fd), m.fd);
		close(fd);
	}
	ck_assert_int_eq(write(m.fd, theirs, sizeof(theirs) - 1), (ssize_t)sizeof(theirs) - 1);
	ck_assert_int_eq(jp_perfmap_add(&m, 0x2000, 0x10, "after"), -EBADF);
	ck_assert_int_lt(jp_perfmap_add(&m, 0x3000, 0x10, "later"), 0);
	b = read_all(path_in("program.txt"), &len);
	ck_assert_uint_eq(len, sizeof(theirs) - 1);
	ck_assert_mem_eq(b, theirs, len);
	free(b);
	b = read_all(path_in("perf-4244.map"), &len);
	ck_assert_uint_eq(len, strlen("1000 10 before\n"));
	free(b);
	/* Said once, then quiet. */
	ck_assert_int_eq(count_lines(logged()), 1);
	ck_assert_ptr_nonnull(strstr(logged(), "perf map output is off"));
	fd = m.fd;
	jp_perfmap_close(&m); /* the program's file stays open */
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
	close(fd);
}
END_TEST

Suite *make_perfmap_write_suite(void)
{
	Suite *s = suite_create("perfmap_write");
	TCase *t = tcase_create("perfmap");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_perfmap_format);
	tcase_add_test(t, test_perfmap_existing_left_alone);
	tcase_add_test(t, test_perfmap_fd_reused_by_program);
	suite_add_tcase(s, t);
	return s;
}
