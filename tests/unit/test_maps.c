/* test_maps.c - /proc/self/maps parsing and classification. */
#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "maps.h"

static int parse(const char *line, struct jp_map *m)
{
	return jp_map_parse_line(line, strlen(line), m);
}

START_TEST(parse_lines)
{
	struct jp_map m;

	ck_assert_int_eq(parse("7f0000000000-7f0000010000 rwxp 00000000 00:00 0 ", &m), 0);
	ck_assert_uint_eq(m.start, 0x7f0000000000);
	ck_assert_uint_eq(m.end, 0x7f0000010000);
	ck_assert_int_eq(m.prot, PROT_READ | PROT_WRITE | PROT_EXEC);
	ck_assert_int_eq(m.cls, JP_MAP_ANON);
	ck_assert_int_eq(parse("55e0c000-55e0d000 rw-p 00000000 00:00 0                          [heap]", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_HEAP);
	ck_assert_int_eq(parse("7ff8729ef000-7ff8729f0000 r-xs 00001000 00:01 1047   /memfd:vmem (deleted)", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_DUAL);
	ck_assert_int_eq(m.shared, 1);
	ck_assert_uint_eq(m.offset, 0x1000);
	ck_assert_uint_eq(m.inode, 1047);
	ck_assert_int_eq(parse("7ff8729f0000-7ff8729f1000 rwxs 00000000 00:01 1048  /dev/zero (deleted)", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_SHMEM);
	ck_assert_int_eq(parse("7f1-7f2 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_FILE);
	ck_assert_uint_eq(m.dev_major, 8);
	ck_assert_int_eq(parse("7f1-7f2 r-xp 00000000 08:01 1234 /tmp/orcexec.abc (deleted)", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_DUAL);
	ck_assert_int_eq(parse("7f1-7f2 rw-p 00000000 00:00 0 [stack]", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_SPECIAL);
	ck_assert_int_eq(parse("7f1-7f2 rwxp 00000000 00:00 0 [anon:v8 code]", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_ANON);
	ck_assert_int_eq(parse("7f1-7f2 rwxs 00000000 00:00 0 ", &m), 0);
	ck_assert_int_eq(m.cls, JP_MAP_SHMEM);
}
END_TEST

START_TEST(reject_garbage)
{
	struct jp_map m;

	ck_assert_int_lt(parse("", &m), 0);
	ck_assert_int_lt(parse("hello world", &m), 0);
	ck_assert_int_lt(parse("7f2-7f1 r-xp 00000000 08:01 1 x", &m), 0); /* end before start */
	ck_assert_int_lt(parse("7f1-7f2 r-x", &m), 0);
	ck_assert_int_lt(parse("11111111111111111-2 r-xp 0 0:0 0", &m), 0); /* > 64 bits */
}
END_TEST

struct found {
	int n, cls;
	unsigned long start;
};

static int collect(const struct jp_map *m, void *arg)
{
	struct found *f = arg;

	if (!f->n++) {
		f->cls = m->cls;
		f->start = m->start;
	}
	return 0;
}

START_TEST(live_classification)
{
	static char buf[4096]; /* small on purpose: lines straddle reads */
	struct found f = { 0 };
	long pg = sysconf(_SC_PAGESIZE);
	char *anon = mmap(NULL, pg * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = (int)syscall(SYS_memfd_create, "unit", 0);

	ck_assert_ptr_ne(anon, MAP_FAILED);
	ck_assert_int_eq(jp_maps_each((unsigned long)anon + pg, (unsigned long)anon + 2 * pg, buf, sizeof(buf),
				      collect, &f),
			 1);
	ck_assert_int_eq(f.cls, JP_MAP_ANON);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, pg), 0);
	char *mv = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);
	f = (struct found){ 0 };
	ck_assert_int_eq(jp_maps_each((unsigned long)mv, (unsigned long)mv + pg, buf, sizeof(buf), collect, &f), 1);
	ck_assert_int_eq(f.cls, JP_MAP_DUAL);
	ck_assert_uint_eq(f.start, (unsigned long)mv);
	/* The main program's text is a real file. */
	f = (struct found){ 0 };
	jp_maps_each((unsigned long)&parse, (unsigned long)&parse + 1, buf, sizeof(buf), collect, &f);
	ck_assert_int_eq(f.n, 1);
	ck_assert_int_eq(f.cls, JP_MAP_FILE);
}
END_TEST

Suite *make_maps_suite(void)
{
	Suite *s = suite_create("maps");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_lines);
	tcase_add_test(tc, reject_garbage);
	tcase_add_test(tc, live_classification);
	suite_add_tcase(s, tc);
	return s;
}
