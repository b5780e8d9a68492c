/* test_capstats.c - the exit summary line: the wording the engine tests and make bench parse (" N ms capturing"), every counter in it, silence below JITPERF_VERBOSE=2 (lib/capstats.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capstats.h"
#include "log.h"

static const struct jp_capture_stats S = {
	.regions_total = 7, .unseen = 2, .captures = 31, .epochs = 12, .dirty_pages = 400,
	.loads = 9214, .load_bytes = 3270000, .moves = 5, .patched = 3, .rewritten = 2, .capture_ns = 126400000,
};

START_TEST(line_as_parsed)
{
	char line[512];
	double ms = 0;
	const char *p;

	jp_capstats_format(line, sizeof(line), &S, "/d/jit-1.dump");
	ck_assert_str_eq(line, "7 regions (2 found by the scan), 31 captures, 12 epochs, 400 pages read, 9214 LOADs "
			       "(3270000 bytes), 5 MOVEs, 3 patched in place, 2 rewritten, 126.4 ms capturing; dump /d/jit-1.dump");
	/* What tests/lib/engine.sh's sed takes: the number before " ms capturing". */
	p = strstr(line, " ms capturing");
	ck_assert_ptr_nonnull(p);
	while (p > line && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')))
		p--;
	ck_assert_int_eq(sscanf(p, "%lf", &ms), 1);
	ck_assert(ms > 126.3 && ms < 126.5);
	jp_capstats_format(line, sizeof(line), &S, NULL);
	ck_assert_ptr_null(strstr(line, "dump"));
	/* Cut to the buffer, always terminated. */
	ck_assert_int_gt(jp_capstats_format(line, 10, &S, NULL), 10);
	ck_assert_uint_eq(strlen(line), 9);
}
END_TEST

/* JITPERF_DESCRIBE=after: what is left to describe, before the time. */
START_TEST(line_with_description_after_the_run)
{
	struct jp_capture_stats s = S;
	char line[512];

	s.loads = s.load_bytes = s.patched = s.rewritten = s.moves = 0;
	s.deferred_bytes = 4775936;
	s.capture_ns = 7200000;
	jp_capstats_format(line, sizeof(line), &s, NULL);
	ck_assert_str_eq(line, "7 regions (2 found by the scan), 31 captures, 12 epochs, 400 pages read, 0 LOADs "
			       "(0 bytes), 0 MOVEs, 0 patched in place, 0 rewritten, 4775936 bytes to describe after "
			       "the run, 7.2 ms capturing");
}
END_TEST

static size_t said(int level)
{
	char path[] = "/tmp/jpcapstatsXXXXXX", buf[1024];
	int fd = mkstemp(path);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	jp_log_set_level(level);
	jp_log_set_fd(fd);
	jp_capstats_say(&S, NULL);
	jp_log_set_fd(-1);
	jp_log_set_level(JP_LOG_ERROR);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	if (n > 0)
		ck_assert_ptr_nonnull(strstr(buf, "jitperf: 7 regions"));
	return n > 0 ? (size_t)n : 0;
}

START_TEST(said_only_when_asked)
{
	ck_assert_uint_eq(said(JP_LOG_ERROR), 0);
	ck_assert_uint_gt(said(JP_LOG_INFO), 0);
}
END_TEST

Suite *make_capstats_suite(void)
{
	Suite *s = suite_create("capstats");
	TCase *tc = tcase_create("capstats");

	tcase_add_test(tc, line_as_parsed);
	tcase_add_test(tc, line_with_description_after_the_run);
	tcase_add_test(tc, said_only_when_asked);
	suite_add_tcase(s, tc);
	return s;
}
