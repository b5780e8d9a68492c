/* test_readcache.c - bytes read once are served again from the copy, the rest read live, short reads kept short. */
#include <check.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "readcache.h"

static uint8_t cbuf[64 * 1024];

/* Three pages: two readable, then an unreadable one. */
static uint8_t *three_pages(long *pg)
{
	uint8_t *m;

	*pg = sysconf(_SC_PAGESIZE);
	m = mmap(NULL, 3 * (size_t)*pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	for (long i = 0; i < 2 * *pg; i++)
		m[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(mprotect(m + 2 * *pg, (size_t)*pg, PROT_NONE), 0);
	return m;
}

START_TEST(held_bytes_are_served_without_reading)
{
	struct jp_readcache c;
	long pg;
	uint8_t *m = three_pages(&pg), out[256];
	const uint8_t *p;
	ssize_t got;

	jp_readcache_init(&c, cbuf, sizeof(cbuf));
	p = jp_readcache_fill(&c, getpid(), (uint64_t)(uintptr_t)m, (size_t)pg, &got);
	ck_assert_int_eq(got, pg);
	ck_assert_mem_eq(p, m, (size_t)pg);
	ck_assert_uint_eq(c.live, (uint64_t)pg);
	/* Written after the read: the copy is what is served, with no read. */
	m[100] ^= 0xff;
	ck_assert_int_eq(jp_readcache_read(&c, getpid(), (uint64_t)(uintptr_t)m + 90, out, 20), 20);
	ck_assert_uint_eq(out[10], (uint8_t)(m[100] ^ 0xff));
	ck_assert_uint_eq(c.live, (uint64_t)pg);
	ck_assert_uint_eq(c.served, 20);
	ck_assert_ptr_eq(jp_readcache_get(&c, (uint64_t)(uintptr_t)m + 16, 32), p + 16);
	/* Not wholly held: NULL from get. */
	ck_assert_ptr_null(jp_readcache_get(&c, (uint64_t)(uintptr_t)m + (uint64_t)pg - 8, 16));
	/* Reset: read live again (the new byte). */
	jp_readcache_reset(&c);
	ck_assert_int_eq(jp_readcache_read(&c, getpid(), (uint64_t)(uintptr_t)m + 100, out, 1), 1);
	ck_assert_uint_eq(out[0], m[100]);
	munmap(m, 3 * (size_t)pg);
}
END_TEST

START_TEST(across_held_and_live_bytes_and_short_at_unreadable)
{
	struct jp_readcache c;
	long pg;
	uint8_t *m = three_pages(&pg);
	static uint8_t out[3 * 65536];
	ssize_t got;

	jp_readcache_init(&c, cbuf, sizeof(cbuf));
	/* The second page held, the first not: a read over both and into the
	 * unreadable third is the first live, the second held, and stops at
	 * the third. */
	jp_readcache_fill(&c, getpid(), (uint64_t)(uintptr_t)m + (uint64_t)pg, (size_t)pg, &got);
	ck_assert_int_eq(got, pg);
	m[(size_t)pg + 5] ^= 0x55; /* after the fill: the held copy wins */
	got = jp_readcache_read(&c, getpid(), (uint64_t)(uintptr_t)m + 10, out, 3 * (size_t)pg - 20);
	ck_assert_int_eq(got, 2 * pg - 10);
	ck_assert_mem_eq(out, m + 10, (size_t)pg - 10);
	ck_assert_uint_eq(out[pg - 10 + 5], (uint8_t)(m[(size_t)pg + 5] ^ 0x55));
	ck_assert_uint_eq(c.served, (uint64_t)pg);
	/* A fill of unreadable memory holds nothing. */
	jp_readcache_fill(&c, getpid(), (uint64_t)(uintptr_t)m + 2 * (uint64_t)pg, (size_t)pg, &got);
	ck_assert_int_le(got, 0);
	ck_assert_uint_eq(c.n, 1);
	munmap(m, 3 * (size_t)pg);
}
END_TEST

START_TEST(a_full_buffer_starts_over_and_latest_read_wins)
{
	struct jp_readcache c;
	long pg;
	uint8_t *m = three_pages(&pg), out[4];
	ssize_t got;

	jp_readcache_init(&c, cbuf, 2 * (size_t)pg);
	jp_readcache_fill(&c, getpid(), (uint64_t)(uintptr_t)m, (size_t)pg, &got);
	m[0] = 0xab;
	jp_readcache_fill(&c, getpid(), (uint64_t)(uintptr_t)m, (size_t)pg, &got); /* again, newer */
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(jp_readcache_read(&c, getpid(), (uint64_t)(uintptr_t)m, out, 1), 1);
	ck_assert_uint_eq(out[0], 0xab);
	/* No room for a third page: the cache starts over with it alone. */
	jp_readcache_fill(&c, getpid(), (uint64_t)(uintptr_t)m + (uint64_t)pg, (size_t)pg, &got);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_ptr_null(jp_readcache_get(&c, (uint64_t)(uintptr_t)m, 1));
	/* Longer than the buffer: refused, nothing held. */
	ck_assert_ptr_null(jp_readcache_fill(&c, getpid(), (uint64_t)(uintptr_t)m, 3 * (size_t)pg, &got));
	ck_assert_int_lt(got, 0);
	/* Off (no buffer): every read is live. */
	jp_readcache_init(&c, NULL, 0);
	ck_assert_int_eq(jp_readcache_read(&c, getpid(), (uint64_t)(uintptr_t)m, out, 4), 4);
	ck_assert_uint_eq(out[0], 0xab);
	munmap(m, 3 * (size_t)pg);
}
END_TEST

START_TEST(a_read_going_on_extends_its_range_and_a_table_can_be_given)
{
	struct jp_readcache c;
	struct jp_readcache_seg seg[2];
	long pg;
	uint8_t *m = three_pages(&pg), out[8];
	uint64_t at = (uint64_t)(uintptr_t)m;
	ssize_t got;

	jp_readcache_init_table(&c, cbuf, sizeof(cbuf), seg, 2);
	/* Page by page, in order: one range, so a read across is held whole. */
	jp_readcache_fill(&c, getpid(), at, (size_t)pg, &got);
	jp_readcache_fill(&c, getpid(), at + (uint64_t)pg, (size_t)pg, &got);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_ptr_nonnull(jp_readcache_get(&c, at + (uint64_t)pg - 4, 8));
	/* Not where the last read ended: a range of its own, in the caller's table. */
	jp_readcache_fill(&c, getpid(), at + 16, 8, &got);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_ptr_eq(c.seg, seg);
	/* The table is full: the next read starts the cache over. */
	m[40] ^= 0x11;
	jp_readcache_fill(&c, getpid(), at + 40, 4, &got);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(jp_readcache_read(&c, getpid(), at + 40, out, 1), 1);
	ck_assert_uint_eq(out[0], m[40]);
	munmap(m, 3 * (size_t)pg);
}
END_TEST

Suite *make_readcache_suite(void)
{
	Suite *s = suite_create("readcache");
	TCase *tc = tcase_create("readcache");

	tcase_add_test(tc, held_bytes_are_served_without_reading);
	tcase_add_test(tc, across_held_and_live_bytes_and_short_at_unreadable);
	tcase_add_test(tc, a_full_buffer_starts_over_and_latest_read_wins);
	tcase_add_test(tc, a_read_going_on_extends_its_range_and_a_table_can_be_given);
	suite_add_tcase(s, tc);
	return s;
}
