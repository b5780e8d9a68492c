/* test_region.c - the region table and per-region piece lists. */
#include <check.h>
#include <stdint.h>

#include "region.h"

static struct jp_regions t;

static void setup(void)
{
	t = (struct jp_regions){ 0 };
}

static void teardown(void)
{
	jp_regions_clear(&t);
}

START_TEST(insert_keeps_order_and_find)
{
	ck_assert_int_ge(jp_regions_insert(&t, 0x30000, 0x40000, JP_RK_ANON), 0);
	ck_assert_int_ge(jp_regions_insert(&t, 0x10000, 0x20000, JP_RK_HEAP), 0);
	ck_assert_int_ge(jp_regions_insert(&t, 0x50000, 0x60000, JP_RK_FILE), 0);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.r[0].start, 0x10000);
	ck_assert_uint_eq(t.r[1].start, 0x30000);
	ck_assert_uint_eq(t.r[2].start, 0x50000);
	ck_assert_ptr_eq(jp_regions_find(&t, 0x3ffff), &t.r[1]);
	ck_assert_ptr_null(jp_regions_find(&t, 0x40000));
	ck_assert_ptr_null(jp_regions_find(&t, 0x2ffff));
	ck_assert_uint_eq(jp_regions_lower(&t, 0x20000), 1);
	uint64_t lo, hi;
	jp_regions_bounds(&t, &lo, &hi);
	ck_assert_uint_eq(lo, 0x10000);
	ck_assert_uint_eq(hi, 0x60000);
	/* New regions must be read whole the first time. */
	ck_assert_int_eq(t.r[0].needs_full, 1);
}
END_TEST

START_TEST(many_regions_grow)
{
	for (uint64_t i = 0; i < 5000; i++)
		ck_assert_int_ge(jp_regions_insert(&t, (10000 - i) * 0x10000, (10000 - i) * 0x10000 + 0x1000, JP_RK_ANON), 0);
	ck_assert_uint_eq(t.n, 5000);
	for (size_t i = 1; i < t.n; i++)
		ck_assert_uint_lt(t.r[i - 1].start, t.r[i].start);
}
END_TEST

static struct jp_desc D(uint64_t a, uint32_t len, uint64_t h)
{
	return (struct jp_desc){ .addr = a, .len = len, .hash = h, .index = h };
}

START_TEST(split_moves_pieces_to_their_side)
{
	long k = jp_regions_insert(&t, 0x10000, 0x20000, JP_RK_ANON);
	struct jp_desc d[3] = { D(0x10100, 0x100, 1), D(0x17f80, 0x100, 2), D(0x18100, 0x100, 3) };

	ck_assert_int_ge(k, 0);
	ck_assert_int_eq(jp_desc_replace(&t.r[0], 0, 0, d, 3), 0);
	t.r[0].needs_full = 0;
	ck_assert_int_eq(jp_regions_split(&t, 0x18000), 0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.r[0].end, 0x18000);
	ck_assert_uint_eq(t.r[1].start, 0x18000);
	/* The piece starting before the cut stays left even though it crosses. */
	ck_assert_uint_eq(t.r[0].nd, 2);
	ck_assert_uint_eq(t.r[1].nd, 1);
	ck_assert_uint_eq(t.r[1].d[0].addr, 0x18100);
	/* Splitting at an existing boundary is a no-op. */
	ck_assert_int_eq(jp_regions_split(&t, 0x18000), 0);
	ck_assert_uint_eq(t.n, 2);
	jp_regions_delete(&t, 0);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(t.r[0].start, 0x18000);
}
END_TEST

START_TEST(desc_overlap_replace_drop)
{
	struct jp_desc d[4] = { D(0x1000, 0x10, 1), D(0x1020, 0x10, 2), D(0x1040, 0x10, 3), D(0x1060, 0x10, 4) };
	struct jp_desc n[3] = { D(0x1018, 0x4, 5), D(0x1024, 0x4, 6), D(0x1030, 0x14, 7) };
	uint32_t f, c;

	jp_regions_insert(&t, 0x1000, 0x2000, JP_RK_ANON);
	struct jp_region *r = &t.r[0];
	ck_assert_int_eq(jp_desc_replace(r, 0, 0, d, 4), 0);
	jp_desc_overlap(r, 0x1010, 0x1041, &f, &c);
	ck_assert_uint_eq(f, 1);
	ck_assert_uint_eq(c, 2);
	jp_desc_overlap(r, 0x1070, 0x1080, &f, &c);
	ck_assert_uint_eq(c, 0);
	/* Replace two by three: order and neighbours preserved. */
	ck_assert_int_eq(jp_desc_replace(r, 1, 2, n, 3), 0);
	ck_assert_uint_eq(r->nd, 5);
	uint64_t want[5] = { 0x1000, 0x1018, 0x1024, 0x1030, 0x1060 };
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(r->d[i].addr, want[i]);
	jp_desc_drop(r, 0x1020, 0x1031);
	ck_assert_uint_eq(r->nd, 3);
	ck_assert_uint_eq(r->d[1].addr, 0x1018);
	ck_assert_uint_eq(r->d[2].addr, 0x1060);
}
END_TEST

START_TEST(desc_many_grow)
{
	jp_regions_insert(&t, 0, 1u << 30, JP_RK_ANON);
	for (uint32_t i = 0; i < 100000; i++) {
		struct jp_desc d = D((uint64_t)i * 64, 32, i);

		ck_assert_int_eq(jp_desc_replace(&t.r[0], t.r[0].nd, 0, &d, 1), 0);
	}
	ck_assert_uint_eq(t.r[0].nd, 100000);
	uint32_t f, c;
	jp_desc_overlap(&t.r[0], 64 * 5000 + 40, 64 * 5002 + 1, &f, &c);
	ck_assert_uint_eq(f, 5001);
	ck_assert_uint_eq(c, 2);
}
END_TEST

START_TEST(phash_sized_to_region)
{
	jp_regions_insert(&t, 0x100000, 0x140000, JP_RK_ANON);
	ck_assert_int_eq(jp_region_phash(&t.r[0], 4096), 0);
	ck_assert_uint_eq(t.r[0].npages, 64);
	ck_assert_uint_eq(t.r[0].phash[63], 0);
	t.r[0].phash[5] = 42;
	ck_assert_int_eq(jp_region_phash(&t.r[0], 4096), 0);
	ck_assert_uint_eq(t.r[0].phash[5], 42);
	/* A split divides the page hashes: no full read needed. */
	t.r[0].needs_full = 0;
	t.r[0].phash[40] = 7;
	jp_regions_split(&t, 0x120000);
	ck_assert_uint_eq(t.r[0].npages, 32);
	ck_assert_uint_eq(t.r[1].npages, 32);
	ck_assert_uint_eq(t.r[0].phash[5], 42);
	ck_assert_uint_eq(t.r[1].phash[8], 7);
	ck_assert_int_eq(t.r[0].needs_full, 0);
	ck_assert_int_eq(t.r[1].needs_full, 0);
}
END_TEST

/* SpiderMonkey makes one page writable at a time: each toggle splits its
 * region, and joining them again must give back one table with the
 * pieces and page hashes of both, end to end. */
START_TEST(join_undoes_split)
{
	struct jp_desc d[3] = { D(0x100100, 0x100, 1), D(0x11ff80, 0x100, 2), D(0x120100, 0x100, 3) };

	jp_regions_insert(&t, 0x100000, 0x140000, JP_RK_ANON);
	ck_assert_int_eq(jp_region_phash(&t.r[0], 4096), 0);
	ck_assert_int_eq(jp_desc_replace(&t.r[0], 0, 0, d, 3), 0);
	t.r[0].needs_full = 0;
	t.r[0].last_scan_ts = 50;
	t.r[0].phash[33] = 9;
	jp_regions_split(&t, 0x120000);
	t.r[1].last_scan_ts = 40;
	t.r[1].last_event_ts = 60;
	ck_assert_int_eq(jp_regions_join(&t, 0), 0);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(t.r[0].end, 0x140000);
	ck_assert_uint_eq(t.r[0].nd, 3);
	ck_assert_uint_eq(t.r[0].d[1].addr, 0x11ff80);
	ck_assert_uint_eq(t.r[0].d[2].addr, 0x120100);
	ck_assert_uint_eq(t.r[0].npages, 64);
	ck_assert_uint_eq(t.r[0].phash[33], 9);
	ck_assert_int_eq(t.r[0].needs_full, 0);
	ck_assert_uint_eq(t.r[0].last_scan_ts, 40);
	ck_assert_uint_eq(t.r[0].last_event_ts, 60);
}
END_TEST

/* Both sides announced pieces over the same bytes: neither is what perf
 * shows there, so both are forgotten and the region is read whole; a side
 * never hashed gets "never seen" hashes. */
START_TEST(join_drops_overlapping_pieces)
{
	struct jp_desc a = D(0x10f00, 0x200, 1), b[2] = { D(0x11000, 0x80, 2), D(0x11200, 0x80, 3) };

	jp_regions_insert(&t, 0x10000, 0x11000, JP_RK_ANON);
	jp_regions_insert(&t, 0x11000, 0x12000, JP_RK_ANON);
	ck_assert_int_eq(jp_region_phash(&t.r[0], 4096), 0);
	t.r[0].phash[0] = 5;
	ck_assert_int_eq(jp_desc_replace(&t.r[0], 0, 0, &a, 1), 0);
	ck_assert_int_eq(jp_desc_replace(&t.r[1], 0, 0, b, 2), 0);
	t.r[0].needs_full = t.r[1].needs_full = 0;
	ck_assert_int_eq(jp_regions_join(&t, 0), 0);
	ck_assert_uint_eq(t.r[0].nd, 1);
	ck_assert_uint_eq(t.r[0].d[0].addr, 0x11200);
	ck_assert_int_eq(t.r[0].needs_full, 1);
	ck_assert_uint_eq(t.r[0].npages, 2);
	ck_assert_uint_eq(t.r[0].phash[0], 5);
	ck_assert_uint_eq(t.r[0].phash[1], 0);
}
END_TEST

Suite *make_region_suite(void)
{
	Suite *s = suite_create("region");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, insert_keeps_order_and_find);
	tcase_add_test(tc, many_regions_grow);
	tcase_add_test(tc, split_moves_pieces_to_their_side);
	tcase_add_test(tc, desc_overlap_replace_drop);
	tcase_add_test(tc, desc_many_grow);
	tcase_add_test(tc, phash_sized_to_region);
	tcase_add_test(tc, join_undoes_split);
	tcase_add_test(tc, join_drops_overlapping_pieces);
	suite_add_tcase(s, tc);
	return s;
}
