/* test_dirty.c - dirty-page detection on real anonymous mappings of this
 * process, without the engine. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "dirty.h"
#include "hash.h"
#include "region.h"
#include "sys.h"
#include "wtrack.h"

#define PAGES 8

static struct jp_dirty d;
static struct jp_wtrack wt;
static struct jp_regions regs;
static uint8_t *buf, *mem;
static size_t pg;

static void setup(void)
{
	jp_hash_init();
	pg = (size_t)sysconf(_SC_PAGESIZE);
	memset(&d, 0, sizeof(d));
	memset(&wt, 0, sizeof(wt));
	memset(&regs, 0, sizeof(regs));
	wt.uffd = wt.pagemap = -1;
	buf = malloc(1u << 20);
	d.pagesz = pg;
	d.pid = jp_sys_getpid();
	d.mode = JP_TRACK_HASH;
	d.wt = &wt;
	d.buf = buf;
	d.buf_len = 1u << 20;
	ck_assert_int_eq(jp_dirty_init(&d), 0);
	mem = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
}

static void teardown(void)
{
	jp_regions_clear(&regs);
	munmap(mem, PAGES * pg);
	free(buf);
}

static struct jp_region *track(int writable)
{
	uint64_t a = (uint64_t)(uintptr_t)mem;

	ck_assert_int_eq(jp_regions_insert(&regs, a, a + PAGES * pg, JP_RK_ANON), 0);
	regs.r[0].exec = 1;
	regs.r[0].writable = (uint8_t)writable;
	return &regs.r[0];
}

static uint64_t page(int i)
{
	return (uint64_t)(uintptr_t)mem + (uint64_t)i * pg;
}

START_TEST(first_pass_reports_resident_pages_only)
{
	struct jp_region *r = track(1);
	size_t n;

	mem[0] = 1;
	mem[2 * pg] = 1;
	mem[3 * pg] = 1;
	n = jp_dirty_collect(&d, r);
	ck_assert_uint_eq(r->track, JP_RT_HASH);
	ck_assert_uint_eq(d.hash_regions, 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(d.out[0].start, page(0));
	ck_assert_uint_eq(d.out[0].end, page(1));
	ck_assert_uint_eq(d.out[1].start, page(2));
	ck_assert_uint_eq(d.out[1].end, page(4));
}
END_TEST

START_TEST(hashing_reports_changed_pages)
{
	struct jp_region *r = track(1);

	mem[0] = 1;
	mem[5 * pg] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 2);
	/* Nothing written since: nothing to read. */
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	/* A store into page 5, and a page touched for the first time. */
	mem[5 * pg + 100] = 0xc3;
	mem[7 * pg] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 2);
	ck_assert_uint_eq(d.out[0].start, page(5));
	ck_assert_uint_eq(d.out[1].start, page(7));
	ck_assert_uint_eq(d.out[1].end, page(8));
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
}
END_TEST

/* The pages a collection read are kept for the reconciler: it reads them
 * again with no system call, and sees them as they were read. */
START_TEST(changed_pages_are_read_once_a_pass)
{
	struct jp_region *r = track(1);
	uint8_t out[16];
	uint64_t live;

	mem[3 * pg] = 0xc3;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(d.out[0].start, page(3));
	live = d.cache.live;
	mem[3 * pg + 1] = 0x90; /* after the read: the next pass's */
	ck_assert_int_eq(jp_readcache_read(&d.cache, d.pid, page(3), out, sizeof(out)), (ssize_t)sizeof(out));
	ck_assert_uint_eq(out[0], 0xc3);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_uint_eq(d.cache.live, live); /* neither hashing's read nor the fill-byte test's again */
	/* The next collection starts over: the store is found and read. */
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_int_eq(jp_readcache_read(&d.cache, d.pid, page(3), out, 2), 2);
	ck_assert_uint_eq(out[1], 0x90);
}
END_TEST

/* The epoch's pass looks at a quiet region every 2nd, then every 4th
 * epoch; anything found brings it back to every epoch; a region never
 * looked at, or with a full read pending, is always due. */
static unsigned due_pattern(struct jp_region *r, unsigned epochs)
{
	unsigned bits = 0;

	for (unsigned e = 0; e < epochs; e++)
		bits |= (unsigned)jp_dirty_due(r) << e;
	return bits;
}

START_TEST(quiet_regions_are_looked_at_less_often)
{
	struct jp_region *r = track(1);

	mem[0] = 1;
	ck_assert_uint_eq(due_pattern(r, 4), 0xf); /* never looked at */
	r->last_scan_ts = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(due_pattern(r, 4), 0xf); /* found something */
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	ck_assert_uint_eq(due_pattern(r, 4), 0xa); /* every 2nd */
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	ck_assert_uint_eq(due_pattern(r, 8), 0x88); /* every 4th */
	for (int i = 0; i < 300; i++)
		jp_dirty_collect(&d, r);
	ck_assert_uint_eq(due_pattern(r, 8), 0x88); /* no slower than that */
	/* A pass that finds a write (a hook's, or a due one). */
	mem[3 * pg] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(due_pattern(r, 3), 0x7);
	jp_dirty_collect(&d, r);
	jp_dirty_collect(&d, r);
	ck_assert_uint_eq(due_pattern(r, 4), 0x8);
	/* Write-tracked memory (code replaced in place is dated within an
	 * epoch) and a file's private view (exec grants no hook saw): every
	 * epoch, however quiet. */
	r->track = JP_RT_WP;
	ck_assert_uint_eq(due_pattern(r, 4), 0xf);
	r->track = JP_RT_HASH;
	r->kind = JP_RK_FPRIV;
	ck_assert_uint_eq(due_pattern(r, 4), 0xf);
	r->kind = JP_RK_ANON;
	r->needs_full = 1;
	ck_assert_uint_eq(due_pattern(r, 3), 0x7);
	r->needs_full = 0;
}
END_TEST

START_TEST(vanished_mapping_marks_the_region_dead)
{
	struct jp_region *r = track(1);

	mem[0] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	/* Unmapped behind our back and reused for data (glibc's free, a raw
	 * system call): not code any more. */
	ck_assert_ptr_eq(mmap(mem, PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			 mem);
	mem[0] = 2;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	ck_assert_int_eq(r->dead, 1);
}
END_TEST

START_TEST(vouched_region_is_not_checked)
{
	struct jp_region *r = track(1);

	mem[0] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_WRITE), 0);
	mem[0] = 2;
	/* A hook just saw the program make it executable. */
	r->vouched = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_int_eq(r->dead, 0);
}
END_TEST

START_TEST(arm_suspended_reads_without_arming)
{
	struct jp_region *r = track(1);

	mem[pg] = 1;
	d.arm_suspended = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->track, JP_RT_NONE);
	ck_assert_int_eq(r->needs_full, 1);
	d.arm_suspended = 0;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->track, JP_RT_HASH);
}
END_TEST

START_TEST(write_tracking_when_the_kernel_offers_it)
{
	struct jp_region *r;

	d.mode = JP_TRACK_AUTO;
	if (jp_wtrack_init(&wt) < 0)
		return; /* kernel < 6.7 or refused: hashing is tested above */
	r = track(1);
	mem[0] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->track, JP_RT_WP);
	ck_assert_uint_eq(d.wp_regions, 1);
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	/* Written, even with the same value: the kernel tells. */
	*(volatile uint8_t *)mem = mem[0];
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(d.out[0].start, page(0));
	jp_wtrack_remove(&wt, page(0), page(PAGES));
}
END_TEST

START_TEST(w_x_memory_is_hashed)
{
	struct jp_region *r;

	d.mode = JP_TRACK_AUTO;
	r = track(0);
	mem[0] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->track, JP_RT_HASH);
}
END_TEST

/* A W^X engine's toggle of one page splits the region; the grant joins it
 * back with neighbours that cannot have changed, and the pass then looks
 * at the granted pages only. */
START_TEST(grant_joins_unchanged_neighbours)
{
	uint64_t a = (uint64_t)(uintptr_t)mem;
	struct jp_region *r = track(0);

	for (size_t i = 0; i < PAGES * pg; i++)
		mem[i] = (uint8_t)i;
	ck_assert_uint_ge(jp_dirty_collect(&d, r), 1);
	r->last_scan_ts = 1;
	ck_assert_int_eq(jp_regions_split(&regs, a + 2 * pg), 0);
	ck_assert_int_eq(jp_regions_split(&regs, a + 3 * pg), 0);
	ck_assert_uint_eq(regs.n, 3);
	mem[2 * pg + 5] = 0xc3;
	mem[6 * pg] = 0xc3; /* outside the grant: not looked at */
	jp_dirty_join(&d, &regs, a + 2 * pg, a + 3 * pg);
	ck_assert_uint_eq(regs.n, 1);
	ck_assert_uint_eq(jp_dirty_collect_in(&d, &regs.r[0], a + 2 * pg, a + 3 * pg), 1);
	ck_assert_uint_eq(d.out[0].start, a + 2 * pg);
	ck_assert_uint_eq(d.out[0].end, a + 3 * pg);
	/* A neighbour that may have changed (writable) stays apart. */
	ck_assert_int_eq(jp_regions_split(&regs, a + 4 * pg), 0);
	regs.r[1].writable = 1;
	jp_dirty_join(&d, &regs, a, a + 4 * pg);
	ck_assert_uint_eq(regs.n, 2);
}
END_TEST

START_TEST(fragmented_pages_widen_the_last_range)
{
	const size_t n = 2 * JP_DIRTY_MAX + 20;
	uint8_t *big = mmap(NULL, n * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t a = (uint64_t)(uintptr_t)big;
	size_t got;

	ck_assert_ptr_ne(big, MAP_FAILED);
	/* Every other page resident: no huge page may fill the holes. */
	madvise(big, n * pg, MADV_NOHUGEPAGE);
	ck_assert_int_eq(jp_regions_insert(&regs, a, a + n * pg, JP_RK_ANON), 0);
	regs.r[0].exec = 1;
	for (size_t i = 0; i < n; i += 2)
		big[i * pg] = 1;
	got = jp_dirty_collect(&d, &regs.r[0]);
	ck_assert_uint_eq(got, JP_DIRTY_MAX);
	ck_assert_uint_eq(d.out[0].start, a);
	/* Nothing lost: the last range reaches the last written page. */
	ck_assert_uint_eq(d.out[got - 1].end, a + (n - 1) * pg);
	munmap(big, n * pg);
}
END_TEST

START_TEST(fill_pages_are_not_read)
{
	struct jp_region *r = track(1);
	struct jp_desc desc = { 0 };

	/* A JIT's fill byte (hlt) over four pages, code on the third. */
	memset(mem, 0xf4, 4 * pg);
	mem[2 * pg + 64] = 0xc3;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(d.out[0].start, page(2));
	ck_assert_uint_eq(d.out[0].end, page(3));
	/* A page holding a piece we announced is read even when the JIT
	 * erased it with its fill byte. */
	desc.addr = page(1) + 32;
	desc.len = 100;
	ck_assert_int_eq(jp_desc_replace(r, 0, 0, &desc, 1), 0);
	memset(mem + pg, 0xcc, pg);
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(d.out[0].start, page(1));
	ck_assert_uint_eq(d.out[0].end, page(2));
}
END_TEST

START_TEST(large_w_x_region_keeps_write_tracking)
{
	const size_t len = 32u << 20;
	uint8_t *big = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t a = (uint64_t)(uintptr_t)big;
	struct jp_region *r;

	ck_assert_ptr_ne(big, MAP_FAILED);
	d.mode = JP_TRACK_AUTO;
	if (jp_wtrack_init(&wt) < 0) {
		munmap(big, len);
		return; /* kernel < 6.7 or refused: hashing is tested above */
	}
	ck_assert_int_eq(jp_regions_insert(&regs, a, a + len, JP_RK_ANON), 0);
	r = &regs.r[0];
	r->exec = 1; /* executable, not writable: W^X */
	memset(big, 0xf4, len);
	big[5 * pg] = 0xc3;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->track, JP_RT_WP);
	/* Its writable phase keeps the registration... */
	r->exec = 0;
	jp_dirty_dormant(&d, r);
	ck_assert_uint_eq(r->track, JP_RT_WP);
	ck_assert_uint_eq(r->needs_full, 0);
	/* ...so the next exec grant reads the page written, not 32 MiB. */
	big[9 * pg + 7] = 0xc3;
	r->exec = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(d.out[0].start, a + 9 * pg);
	ck_assert_uint_eq(d.out[0].end, a + 10 * pg);
	jp_wtrack_remove(&wt, a, a + len);
	munmap(big, len);
}
END_TEST

START_TEST(small_region_gives_back_write_tracking_when_dormant)
{
	struct jp_region *r;

	d.mode = JP_TRACK_AUTO;
	if (jp_wtrack_init(&wt) < 0)
		return;
	r = track(1);
	mem[0] = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->track, JP_RT_WP);
	jp_dirty_dormant(&d, r);
	ck_assert_uint_eq(r->track, JP_RT_NONE);
	ck_assert_uint_eq(r->needs_full, 1);
}
END_TEST

Suite *make_dirty_suite(void)
{
	Suite *s = suite_create("dirty");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_pass_reports_resident_pages_only);
	tcase_add_test(tc, hashing_reports_changed_pages);
	tcase_add_test(tc, quiet_regions_are_looked_at_less_often);
	tcase_add_test(tc, vanished_mapping_marks_the_region_dead);
	tcase_add_test(tc, vouched_region_is_not_checked);
	tcase_add_test(tc, arm_suspended_reads_without_arming);
	tcase_add_test(tc, write_tracking_when_the_kernel_offers_it);
	tcase_add_test(tc, w_x_memory_is_hashed);
	tcase_add_test(tc, fragmented_pages_widen_the_last_range);
	tcase_add_test(tc, grant_joins_unchanged_neighbours);
	tcase_add_test(tc, fill_pages_are_not_read);
	tcase_add_test(tc, large_w_x_region_keeps_write_tracking);
	tcase_add_test(tc, small_region_gives_back_write_tracking_when_dormant);
	tcase_add_test(tc, changed_pages_are_read_once_a_pass);
	suite_add_tcase(s, tc);
	return s;
}
