/* test_maps.c - /proc/self/maps parsing and classification. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
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

struct maplist {
	struct jp_map m[1024];
	int n;
};

/* User-space mappings only: the text also lists [vsyscall], a kernel gate
 * page that is no mapping of the process (PROCMAP_QUERY skips it). */
static int collect_all(const struct jp_map *m, void *arg)
{
	struct maplist *l = arg;

	if (m->start >= 0x800000000000ull)
		return 0;
	if (l->n < 1024)
		l->m[l->n++] = *m;
	return 0;
}

/* PROCMAP_QUERY (Linux 6.11) and the maps text agree on every mapping of
 * this process, of every kind the engine classifies, and on sub-ranges. */
START_TEST(query_agrees_with_text)
{
	static struct maplist q, t;
	static char buf[8192];
	int fd = (int)syscall(SYS_memfd_create, "jp-maps-test", 0);
	void *dual, *shm, *anon;
	int nq, nt;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	dual = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	shm = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	anon = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(dual, MAP_FAILED);
	ck_assert_ptr_ne(shm, MAP_FAILED);
	ck_assert_ptr_ne(anon, MAP_FAILED);
	ck_assert_int_eq(mprotect((char *)anon + 4096, 4096, PROT_READ), 0);

	q.n = t.n = 0;
	nq = jp_maps_each_query(0, UINT64_MAX, buf, sizeof(buf), collect_all, &q);
	if (nq == -ENOTTY) {
		/* Kernels before 6.11: jp_maps_each must fall back to text. */
		ck_assert_int_gt(jp_maps_each(0, UINT64_MAX, buf, sizeof(buf), collect_all, &q), 0);
		return;
	}
	nt = jp_maps_each_text(0, UINT64_MAX, buf, sizeof(buf), collect_all, &t);
	ck_assert_int_gt(nq, 10);
	ck_assert_int_ge(nt, nq);
	ck_assert_int_eq(q.n, t.n);
	for (int i = 0; i < q.n; i++) {
		ck_assert_uint_eq(q.m[i].start, t.m[i].start);
		ck_assert_uint_eq(q.m[i].end, t.m[i].end);
		ck_assert_uint_eq(q.m[i].offset, t.m[i].offset);
		ck_assert_uint_eq(q.m[i].inode, t.m[i].inode);
		ck_assert_uint_eq(q.m[i].dev_major, t.m[i].dev_major);
		ck_assert_uint_eq(q.m[i].dev_minor, t.m[i].dev_minor);
		ck_assert_int_eq(q.m[i].prot, t.m[i].prot);
		ck_assert_int_eq(q.m[i].shared, t.m[i].shared);
		ck_assert_msg(q.m[i].cls == t.m[i].cls, "mapping %d (%#lx): class %d by query, %d by text", i,
			      (unsigned long)q.m[i].start, q.m[i].cls, t.m[i].cls);
	}
	/* A sub-range: the three pieces of anon, nothing else. */
	q.n = 0;
	ck_assert_int_eq(jp_maps_each_query((uint64_t)(uintptr_t)anon, (uint64_t)(uintptr_t)anon + 3 * 4096, buf,
					    sizeof(buf), collect_all, &q),
			 3);
	ck_assert_int_eq(q.m[1].prot, PROT_READ);
	ck_assert_int_eq(q.m[0].cls, JP_MAP_ANON);
	q.n = 0;
	ck_assert_int_eq(jp_maps_each_query((uint64_t)(uintptr_t)dual, (uint64_t)(uintptr_t)dual + 1, buf,
					    sizeof(buf), collect_all, &q),
			 1);
	ck_assert_int_eq(q.m[0].cls, JP_MAP_DUAL);
	q.n = 0;
	ck_assert_int_eq(jp_maps_each_query((uint64_t)(uintptr_t)shm, (uint64_t)(uintptr_t)shm + 1, buf,
					    sizeof(buf), collect_all, &q),
			 1);
	ck_assert_int_eq(q.m[0].cls, JP_MAP_SHMEM);
	munmap(dual, 4096);
	munmap(shm, 8192);
	munmap(anon, 3 * 4096);
	close(fd);
}
END_TEST

START_TEST(vma_start_of_an_address)
{
	char buf[4096];
	uint8_t *a = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t s = (uint64_t)(uintptr_t)a;

	ck_assert_ptr_ne(a, MAP_FAILED);
	ck_assert_uint_eq(jp_maps_vma_start(s + 2 * 4096 + 17, buf, sizeof(buf)), s);
	ck_assert_uint_eq(jp_maps_vma_start(s, buf, sizeof(buf)), s);
	munmap(a + 4096, 4096);
	ck_assert_uint_eq(jp_maps_vma_start(s + 2 * 4096, buf, sizeof(buf)), s + 2 * 4096);
	/* Nothing mapped there: the address itself. */
	ck_assert_uint_eq(jp_maps_vma_start(s + 4096, buf, sizeof(buf)), s + 4096);
	munmap(a, 3 * 4096);
}
END_TEST

Suite *make_maps_suite(void)
{
	Suite *s = suite_create("maps");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_lines);
	tcase_add_test(tc, reject_garbage);
	tcase_add_test(tc, live_classification);
	tcase_add_test(tc, query_agrees_with_text);
	tcase_add_test(tc, vma_start_of_an_address);
	suite_add_tcase(s, tc);
	return s;
}
