/* test_perfmap_read.c - reading a runtime's own perf-<pid>.map: lines, garbage, increments, bounds. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perfmap_read.h"

START_TEST(test_parse_line)
{
	uint64_t a, s;
	const char *name;
	size_t nl;
	const char *l;

	l = "7f0000001000 40 foo";
	ck_assert_int_eq(jp_perfmap_parse_line(l, strlen(l), &a, &s, &name, &nl), 0);
	ck_assert_uint_eq(a, 0x7f0000001000ull);
	ck_assert_uint_eq(s, 0x40);
	ck_assert_uint_eq(nl, 3);
	ck_assert(!strncmp(name, "foo", nl));

	l = "0x7F00 0X10 LazyCompile:~f a.js:1  \r";
	ck_assert_int_eq(jp_perfmap_parse_line(l, strlen(l), &a, &s, &name, &nl), 0);
	ck_assert_uint_eq(a, 0x7f00);
	ck_assert_uint_eq(s, 0x10);
	ck_assert_uint_eq(nl, strlen("LazyCompile:~f a.js:1"));

	l = "\t1000\t20\tbar";
	ck_assert_int_eq(jp_perfmap_parse_line(l, strlen(l), &a, &s, &name, &nl), 0);
	ck_assert_uint_eq(s, 0x20);

	static const char *bad[] = {
		"", "xyz", "123", "123 45", "123 45 ", "g 1 name", "1 g name", "12345678901234567 1 x",
		"0x 10 x", "10x 1 name", "10 1x name",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(jp_perfmap_parse_line(bad[i], strlen(bad[i]), &a, &s, &name, &nl) ==
				      -EINVAL, "accepted '%s'", bad[i]);
	/* an embedded NUL is garbage */
	ck_assert_int_eq(jp_perfmap_parse_line("1 2 a\0b", 7, &a, &s, &name, &nl), -EINVAL);
}
END_TEST

struct seen {
	unsigned n;
	uint64_t addr[64], size[64];
	char name[64][64];
	char last[64];
	unsigned stop_after;
};

static int collect(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	struct seen *s = arg;

	if (s->n < 64) {
		s->addr[s->n] = addr;
		s->size[s->n] = size;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
	}
	snprintf(s->last, sizeof(s->last), "%s", name);
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

static char dir[64];

static void make_dir(void)
{
	strcpy(dir, "/tmp/jp-perfmap-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void append(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

START_TEST(test_read_incremental)
{
	char path[128];
	struct seen s;
	uint64_t off = 0;
	const char *part1 = "1000 10 first\ngarbage line\n\n2000 20 second one\n3000 30 thi";
	const char *part2 = "rd\n4000 40 fourth\n";

	make_dir();
	snprintf(path, sizeof(path), "%s/perf-1.map", dir);
	append(path, part1, strlen(part1));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), 2);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.name[0], "first");
	ck_assert_str_eq(s.name[1], "second one");
	ck_assert_uint_eq(s.addr[1], 0x2000);
	/* the unfinished line is left for later */
	ck_assert_uint_eq(off, strlen(part1) - strlen("3000 30 thi"));
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), 0);
	append(path, part2, strlen(part2));
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), 2);
	ck_assert_str_eq(s.name[2], "third");
	ck_assert_str_eq(s.name[3], "fourth");
	ck_assert_uint_eq(off, strlen(part1) + strlen(part2));
	/* rewritten shorter: start over */
	unlink(path);
	append(path, "5000 50 again\n", 14);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), 1);
	ck_assert_str_eq(s.name[0], "again");
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_read_long_lines_and_bounds)
{
	char path[128];
	struct seen s;
	uint64_t off = 0;
	size_t big = 200000, i;
	char *text = malloc(big + 100);
	int fd;

	ck_assert_ptr_nonnull(text);
	make_dir();
	snprintf(path, sizeof(path), "%s/perf-2.map", dir);
	/* a 5 KB line (over JP_PERFMAP_LINE_MAX) and a 200 KB one (over the
	 * read buffer) are dropped; the lines around them are not */
	append(path, "1 1 a\n", 6);
	memset(text, 'x', 5000);
	memcpy(text, "2 2 ", 4);
	text[5000] = '\n';
	append(path, text, 5001);
	memset(text, 'y', big);
	memcpy(text, "3 3 ", 4);
	text[big] = '\n';
	append(path, text, big + 1);
	append(path, "4 4 d\n", 6);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), 2);
	ck_assert_str_eq(s.name[0], "a");
	ck_assert_str_eq(s.name[1], "d");

	/* max_bytes bounds one call; further calls continue */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	for (i = 0, fd = open(path, O_WRONLY | O_APPEND); i < 2000; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "%zx 10 f%zu\n", 0x1000 + i * 16, i);

		ck_assert_int_eq(write(fd, line, (size_t)n), n);
	}
	close(fd);
	off = 0;
	memset(&s, 0, sizeof(s));
	ck_assert_int_lt(jp_perfmap_read(path, &off, 1, collect, &s), 2000);
	while (jp_perfmap_read(path, &off, 1, collect, &s) > 0)
		;
	ck_assert_uint_eq(s.n, 2000);
	ck_assert_str_eq(s.last, "f1999");

	/* a callback can stop the read; the rest comes next time */
	off = 0;
	memset(&s, 0, sizeof(s));
	s.stop_after = 10;
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), -ECANCELED);
	ck_assert_uint_eq(s.n, 10);
	s.stop_after = 0;
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), 1990);
	ck_assert_str_eq(s.name[10], "f10");
	unlink(path);
	rmdir(dir);
	free(text);
}
END_TEST

START_TEST(test_read_refuses)
{
	char path[128], link[160];
	struct seen s;
	uint64_t off = 0;

	make_dir();
	snprintf(path, sizeof(path), "%s/perf-3.map", dir);
	ck_assert_int_eq(jp_perfmap_read(path, &off, 0, collect, &s), -ENOENT);
	append(path, "1 1 a\n", 6);
	snprintf(link, sizeof(link), "%s/link.map", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(jp_perfmap_read(link, &off, 0, collect, &s), -ELOOP);
	ck_assert_int_eq(jp_perfmap_read(dir, &off, 0, collect, &s), -EPERM);
	unlink(link);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_path)
{
	char buf[64];

	ck_assert_int_eq(jp_perfmap_path(buf, sizeof(buf), 4242), 18);
	ck_assert_str_eq(buf, "/tmp/perf-4242.map");
	ck_assert_int_eq(jp_perfmap_path(buf, 5, 4242), -ENOSPC);
}
END_TEST

Suite *make_perfmap_read_suite(void)
{
	Suite *s = suite_create("perfmap_read");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_parse_line);
	tcase_add_test(t, test_read_incremental);
	tcase_add_test(t, test_read_long_lines_and_bounds);
	tcase_add_test(t, test_read_refuses);
	tcase_add_test(t, test_path);
	suite_add_tcase(s, t);
	return s;
}
