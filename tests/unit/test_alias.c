/* test_alias.c - a dual mapping's written pages, told through its writable view. */
#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alias.h"
#include "config.h"
#include "dirty.h"
#include "hash.h"
#include "region.h"

#define PG 4096ul

/* Pages written in the writable view map to the executable view by file
 * offset, clipped to both views and to the range asked for. */
START_TEST(translate_by_file_offset)
{
	const struct jp_alias_view rx = { 0x700000000000, 0x700000010000, 0x4000 }; /* file 0x4000-0x14000 */
	const struct jp_alias_view rw = { 0x600000000000, 0x600000020000, 0x0 };     /* file 0x0-0x20000 */
	struct jp_range w[4] = {
		{ 0x600000000000, 0x600000005000 }, /* file 0x0-0x5000: only 0x4000-0x5000 is rx's */
		{ 0x600000008000, 0x600000009000 }, /* file 0x8000 */
		{ 0x600000009000, 0x60000000a000 }, /* adjacent: merged */
		{ 0x600000013000, 0x600000016000 }, /* file 0x13000-0x16000: past rx from 0x14000 */
	};
	struct jp_range out[4];
	size_t n;

	n = jp_alias_translate(&rx, &rw, rx.start, rx.end, w, 4, out, 0, 4);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[0].start, 0x700000000000);
	ck_assert_uint_eq(out[0].end, 0x700000001000);
	ck_assert_uint_eq(out[1].start, 0x700000004000);
	ck_assert_uint_eq(out[1].end, 0x700000006000);
	ck_assert_uint_eq(out[2].start, 0x70000000f000);
	ck_assert_uint_eq(out[2].end, 0x700000010000);
	/* only [a, b) of rx: a region that is part of the view */
	n = jp_alias_translate(&rx, &rw, 0x700000004000, 0x700000005000, w, 4, out, 0, 4);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].start, 0x700000004000);
	ck_assert_uint_eq(out[0].end, 0x700000005000);
	/* no room: the last range widens, nothing is lost */
	n = jp_alias_translate(&rx, &rw, rx.start, rx.end, w, 4, out, 0, 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].start, 0x700000000000);
	ck_assert_uint_eq(out[0].end, 0x700000010000);
}
END_TEST

static struct jp_wtrack wt = { .uffd = -1, .pagemap = -1 };
static char buf[8192];

/* A region as the capture engine has it after its first (hashing) pass. */
static void region_of(struct jp_region *r, char *rx, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->start = (uint64_t)(uintptr_t)rx;
	r->end = r->start + len;
	r->kind = JP_RK_FILE;
	r->exec = 1;
	r->track = JP_RT_HASH;
}

/* BEAM's layout: a memfd of len bytes mapped RX (*rx) and RW (*rw); returns
 * the descriptor. */
static int dual_map(const char *name, size_t len, char **rx, char **rw)
{
	int fd = (int)syscall(SYS_memfd_create, name, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	*rx = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	*rw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(*rx != MAP_FAILED && *rw != MAP_FAILED);
	jp_alias_forget();
	return fd;
}

/* BEAM's layout, live: a memfd mapped RX and RW, code written through RW. */
START_TEST(memfd_written_through_its_other_view)
{
	const size_t len = 32 * PG;
	char *rw, *rx;
	int fd = dual_map("alias-test", len, &rx, &rw);
	struct jp_region r;
	struct jp_range out[8];
	long n;
	unsigned k;

	if (jp_wtrack_init(&wt) < 0 || !wt.shmem_ok) {
		munmap(rx, len);
		munmap(rw, len);
		close(fd);
		return; /* no write tracking here: the engine hashes */
	}
	memset(rw, 0xcc, 4 * PG);
	region_of(&r, rx, len);
	/* Not yet read whole, or writable itself: hashed. */
	r.needs_full = 1;
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), -1);
	r.needs_full = 0;
	r.writable = 1;
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), -1);
	r.writable = 0;
	/* The first pass sets the tracking up and hashes. */
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), -1);
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), 0);
	rw[5 * PG] = (char)0xc3;
	rw[6 * PG + 7] = (char)0xc3;
	rw[20 * PG] = (char)0xc3;
	n = jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(out[0].start, r.start + 5 * PG);
	ck_assert_uint_eq(out[0].end, r.start + 7 * PG);
	ck_assert_uint_eq(out[1].start, r.start + 20 * PG);
	ck_assert_uint_eq(out[1].end, r.start + 21 * PG);
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), 0);
	/* a part of the view (a region split off it) sees only its pages */
	rw[3 * PG] = 1;
	rw[9 * PG] = 1;
	rw[20 * PG] = 1;
	r.start += 8 * PG;
	n = jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(out[0].start, r.start + PG);
	r.start -= 8 * PG;
	/* [lo, hi): only those pages; the others stay written for later */
	rw[9 * PG] = 2;
	n = jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start + 8 * PG, r.start + 16 * PG, out, 8);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(out[0].start, r.start + 9 * PG);
	ck_assert_uint_eq(out[0].end, r.start + 10 * PG);
	n = jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(out[0].start, r.start + 3 * PG);
	/* Every JP_ALIAS_VERIFY passes, one hashing pass. */
	for (k = 0; k < 2 * JP_ALIAS_VERIFY; k++)
		if (jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8) < 0)
			break;
	ck_assert_uint_lt(k, JP_ALIAS_VERIFY);
	/* Another process (a fork child's copy of the table): set up anew. */
	ck_assert_int_eq(jp_alias_collect(&wt, getpid() + 1, buf, sizeof(buf), &r, r.start, r.end, out, 8), -1);
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), -1);
	ck_assert_int_ge(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), 0);
	/* The writable view goes away: hashed again, no error. */
	ck_assert_int_eq(munmap(rw, len), 0);
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), -1);
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 8), -1);
	jp_alias_drop(&wt, r.start, r.end);
	munmap(rx, len);
	close(fd);
}
END_TEST

/* Anonymous memory, or a file view with no writable alias: hashed. */
START_TEST(no_alias_is_hashed)
{
	int fd = (int)syscall(SYS_memfd_create, "alias-none", 0);
	const size_t len = 8 * PG;
	char *rx;
	struct jp_region r;
	struct jp_range out[4];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	rx = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	ck_assert(rx != MAP_FAILED);
	jp_alias_forget();
	region_of(&r, rx, len);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 4), -1);
	r.kind = JP_RK_ANON;
	ck_assert_int_eq(jp_alias_collect(&wt, getpid(), buf, sizeof(buf), &r, r.start, r.end, out, 4), -1);
	jp_alias_drop(&wt, r.start, r.end);
	munmap(rx, len);
	close(fd);
}
END_TEST

/* Through lib/dirty.c, as the engine asks: of the pages written through
 * the writable view, only those whose bytes changed are read. */
START_TEST(dirty_reads_written_pages_that_changed)
{
	const size_t len = 16 * PG;
	static uint8_t scratch[1u << 16];
	char *rw, *rx;
	int fd = dual_map("alias-dirty", len, &rx, &rw);
	struct jp_dirty d;
	struct jp_regions t = { 0 };
	struct jp_region *r;
	size_t n;

	jp_hash_init();
	memset(&d, 0, sizeof(d));
	d.pagesz = PG;
	d.pid = getpid();
	d.mode = JP_TRACK_AUTO;
	d.wt = &wt;
	d.buf = scratch;
	d.buf_len = sizeof(scratch);
	ck_assert_int_eq(jp_dirty_init(&d), 0);
	if (jp_wtrack_init(&wt) < 0 || !wt.shmem_ok)
		goto out; /* hashed, as other suites check */
	for (size_t i = 0; i < 4 * PG; i++)
		rw[i] = (char)(i * 7); /* not one byte repeated: fill pages are never read */
	ck_assert_int_eq(jp_regions_insert(&t, (uint64_t)(uintptr_t)rx, (uint64_t)(uintptr_t)rx + len, JP_RK_FILE), 0);
	r = &t.r[0];
	r->exec = 1;
	r->needs_full = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1); /* read whole: the 4 pages resident */
	ck_assert_uint_eq(d.out[0].end - d.out[0].start, 4 * PG);
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0); /* alias set up, hashed */
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0); /* alias: nothing written */
	for (size_t i = 0; i < PG; i++)                /* written, unchanged */
		((volatile char *)rw)[2 * PG + i] = rw[2 * PG + i];
	rw[5 * PG] = (char)0xc3;                       /* written, changed */
	n = jp_dirty_collect(&d, r);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(d.out[0].start, (uint64_t)(uintptr_t)rx + 5 * PG);
	ck_assert_uint_eq(d.out[0].end, (uint64_t)(uintptr_t)rx + 6 * PG);
	jp_dirty_disarm(&d, r);
	jp_regions_clear(&t);
out:
	munmap(rx, len);
	munmap(rw, len);
	close(fd);
}
END_TEST

Suite *make_alias_suite(void)
{
	Suite *s = suite_create("alias");
	TCase *t = tcase_create("core");

	tcase_add_test(t, translate_by_file_offset);
	tcase_add_test(t, memfd_written_through_its_other_view);
	tcase_add_test(t, no_alias_is_hashed);
	tcase_add_test(t, dirty_reads_written_pages_that_changed);
	suite_add_tcase(s, t);
	return s;
}
