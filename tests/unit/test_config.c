/* test_config.c - JITPERF_* parsing: good values, garbage, defaults. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char logbuf[4096];

/* Load config from envp, capturing what jitperf says. */
static void load(struct jp_config *c, char **envp)
{
	char path[] = "/tmp/jpcfgXXXXXX";
	int fd = mkstemp(path);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	jp_log_set_fd(fd);
	jp_config_load(c, envp);
	jp_log_set_fd(-1);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, logbuf, sizeof(logbuf) - 1);
	logbuf[n > 0 ? n : 0] = 0;
	close(fd);
}

START_TEST(defaults)
{
	struct jp_config c;
	char *env[] = { "HOME=/home/u", NULL };

	load(&c, env);
	ck_assert_int_eq(c.enabled, 1);
	ck_assert_str_eq(c.dir, "/home/u/.cache/jitperf");
	ck_assert_uint_eq(c.epoch_ms, JP_DEFAULT_EPOCH_MS);
	ck_assert_int_eq(c.track, JP_TRACK_AUTO);
	ck_assert_int_eq(c.jitdump, 1);
	ck_assert_int_eq(c.perfmap, 0);
	ck_assert_str_eq(logbuf, "");
}
END_TEST

START_TEST(no_home_uses_tmp)
{
	struct jp_config c;
	char *env[] = { NULL };
	char want[64];

	load(&c, env);
	snprintf(want, sizeof(want), "/tmp/jitperf-%u", (unsigned)geteuid());
	ck_assert_str_eq(c.dir, want);
}
END_TEST

START_TEST(good_values)
{
	struct jp_config c;
	char *env[] = { "JITPERF_DIR=/x/y", "JITPERF_EPOCH_MS=250", "JITPERF_TRACK=hash", "JITPERF_PERFMAP=yes",
			"JITPERF_UNWIND=empty", "XDG_CACHE_HOME=/c", NULL };

	load(&c, env);
	ck_assert_str_eq(c.dir, "/x/y");
	ck_assert_uint_eq(c.epoch_ms, 250);
	ck_assert_int_eq(c.track, JP_TRACK_HASH);
	ck_assert_int_eq(c.perfmap, 1);
	ck_assert_int_eq(c.unwind, JP_UNWIND_MODE_EMPTY);
	ck_assert_str_eq(logbuf, "");
}
END_TEST

START_TEST(garbage_values_get_defaults_and_one_message_each)
{
	struct jp_config c;
	char *env[] = { "JITPERF_EPOCH_MS=ten", "JITPERF_TRACK=magic", "JITPERF_PERFMAP=maybe",
			"JITPERF_UNWIND=sideways", "JITPERF_DIR=", "JITPERF_VERBOSE=1", NULL };

	load(&c, env);
	ck_assert_uint_eq(c.epoch_ms, JP_DEFAULT_EPOCH_MS);
	ck_assert_int_eq(c.track, JP_TRACK_AUTO);
	ck_assert_int_eq(c.perfmap, 0);
	ck_assert_ptr_nonnull(strstr(logbuf, "jitperf: JITPERF_EPOCH_MS='ten' is not a number"));
	ck_assert_ptr_nonnull(strstr(logbuf, "jitperf: JITPERF_TRACK='magic'"));
	ck_assert_ptr_nonnull(strstr(logbuf, "jitperf: JITPERF_PERFMAP='maybe' is not a boolean"));
	ck_assert_ptr_nonnull(strstr(logbuf, "jitperf: JITPERF_UNWIND='sideways' is not one of auto, empty"));
	ck_assert_ptr_nonnull(strstr(logbuf, "jitperf: JITPERF_DIR is empty"));
}
END_TEST

START_TEST(describe_after_needs_the_dump_alone)
{
	struct jp_config c;
	char *after[] = { "JITPERF_DESCRIBE=after", NULL };
	char *both[] = { "JITPERF_DESCRIBE=both", NULL };
	char *bad[] = { "JITPERF_DESCRIBE=later", NULL };
	char *with_map[] = { "JITPERF_DESCRIBE=after", "JITPERF_PERFMAP=1", NULL };

	load(&c, after);
	ck_assert_int_eq(c.describe, JP_DESCRIBE_AFTER);
	ck_assert_str_eq(logbuf, "");
	load(&c, both);
	ck_assert_int_eq(c.describe, JP_DESCRIBE_BOTH);
	load(&c, bad);
	ck_assert_int_eq(c.describe, JP_DESCRIBE_NOW);
	ck_assert_ptr_nonnull(strstr(logbuf, "jitperf: JITPERF_DESCRIBE='later' is not one of now, after, both"));
	/* A perf map is written as the program runs: nothing to describe after. */
	load(&c, with_map);
	ck_assert_int_eq(c.describe, JP_DESCRIBE_NOW);
	ck_assert_ptr_nonnull(strstr(logbuf, "JITPERF_DESCRIBE=after needs the jitdump and no perf map; using now"));
}
END_TEST

START_TEST(hostile_strings)
{
	static char longdir[8200];
	static char ctl[] = "JITPERF_DIR=/tmp/a\nb";
	struct jp_config c;
	char *env[] = { longdir, ctl, "JITPERF_EPOCH_MS=-5", "JITPERF_EPOCH_MS=99999999", NULL };

	memcpy(longdir, "JITPERF_DIR=/", 13);
	memset(longdir + 13, 'a', sizeof(longdir) - 14);
	load(&c, env);
	/* First JITPERF_DIR wins (like getenv) and is refused as too long. */
	ck_assert_ptr_nonnull(strstr(logbuf, "is too long"));
	ck_assert_uint_eq(strlen(c.dir) < 4096, 1);
	ck_assert_uint_eq(c.epoch_ms, JP_DEFAULT_EPOCH_MS);
	/* Messages never echo more than a short, printable prefix. */
	ck_assert_uint_lt(strlen(logbuf), 1024);
}
END_TEST

START_TEST(nothing_to_write_turns_off)
{
	struct jp_config c;
	char *env[] = { "JITPERF_JITDUMP=0", "JITPERF_VERBOSE=2", NULL };

	load(&c, env);
	ck_assert_int_eq(c.enabled, 0);
	ck_assert_ptr_nonnull(strstr(logbuf, "nothing to write"));
}
END_TEST

START_TEST(disable)
{
	struct jp_config c;
	char *env[] = { "JITPERF_DISABLE=1", NULL };

	load(&c, env);
	ck_assert_int_eq(c.enabled, 0);
}
END_TEST

Suite *make_config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("env");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, no_home_uses_tmp);
	tcase_add_test(tc, good_values);
	tcase_add_test(tc, describe_after_needs_the_dump_alone);
	tcase_add_test(tc, garbage_values_get_defaults_and_one_message_each);
	tcase_add_test(tc, hostile_strings);
	tcase_add_test(tc, nothing_to_write_turns_off);
	tcase_add_test(tc, disable);
	suite_add_tcase(s, tc);
	return s;
}
