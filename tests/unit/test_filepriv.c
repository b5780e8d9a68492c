/* test_filepriv.c - the written pages of a private file mapping, and which file mappings hold code perf cannot know (lib/filepriv.c, its uses in lib/memkind.c and lib/dirty.c). */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "dirty.h"
#include "filepriv.h"
#include "hash.h"
#include "memkind.h"
#include "region.h"
#include "sys.h"
#include "wtrack.h"

#define PAGES 8

static size_t pg;
static int fd = -1;
static uint8_t *mem;

/* A file of PAGES pages: even pages hold data, odd ones are holes. */
static void setup(void)
{
	char path[] = "/tmp/jitperf-filepriv-XXXXXX";
	uint8_t *page;

	jp_hash_init();
	pg = (size_t)sysconf(_SC_PAGESIZE);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(ftruncate(fd, (off_t)(PAGES * pg)), 0);
	page = malloc(pg);
	memset(page, 0x5a, pg);
	for (int i = 0; i < PAGES; i += 2)
		ck_assert_int_eq(pwrite(fd, page, pg, (off_t)(i * pg)), (ssize_t)pg);
	free(page);
	mem = NULL;
}

static void teardown(void)
{
	if (mem)
		munmap(mem, PAGES * pg);
	close(fd);
}

/* Map the file MAP_PRIVATE with prot and read every page: all present,
 * none written. */
static void map_read(int prot)
{
	volatile uint8_t sink = 0;

	mem = mmap(NULL, PAGES * pg, prot, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	for (int i = 0; i < PAGES; i++)
		sink += mem[i * pg];
	(void)sink;
}

static uint64_t page(int i)
{
	return (uint64_t)(uintptr_t)mem + (uint64_t)i * pg;
}

static long written(struct jp_range *out, size_t max, uint64_t *resume, int scan)
{
	return jp_filepriv_written_how(page(0), page(PAGES), out, max, resume, scan);
}

START_TEST(only_written_pages_either_way)
{
	struct jp_range out[8];

	map_read(PROT_READ | PROT_WRITE | PROT_EXEC);
	for (int scan = 0; scan < 2; scan++)
		ck_assert_int_eq(written(out, 8, NULL, scan), 0);
	/* A data page, a hole and its neighbour: copied on write. */
	mem[2 * pg + 7] = 0xc3;
	mem[5 * pg] = 0xc3;
	mem[6 * pg + 100] = 0xc3;
	for (int scan = 0; scan < 2; scan++) {
		ck_assert_int_eq(written(out, 8, NULL, scan), 2);
		ck_assert_uint_eq(out[0].start, page(2));
		ck_assert_uint_eq(out[0].end, page(3));
		ck_assert_uint_eq(out[1].start, page(5));
		ck_assert_uint_eq(out[1].end, page(7));
	}
	/* Discarded: the file's page is back, nothing written. */
	ck_assert_int_eq(madvise(mem + 2 * pg, pg, MADV_DONTNEED), 0);
	ck_assert_int_eq(written(out, 8, NULL, 1), 1);
	ck_assert_uint_eq(out[0].start, page(5));
}
END_TEST

START_TEST(full_output_says_where_to_resume)
{
	struct jp_range out[1];
	uint64_t resume = 0;

	map_read(PROT_READ | PROT_WRITE);
	mem[1 * pg] = 1;
	mem[4 * pg] = 1;
	for (int scan = 0; scan < 2; scan++) {
		ck_assert_int_eq(written(out, 1, &resume, scan), 1);
		ck_assert_uint_eq(out[0].start, page(1));
		ck_assert_uint_gt(resume, page(1));
		ck_assert_uint_le(resume, page(4));
		ck_assert_int_eq(jp_filepriv_written_how(resume, page(PAGES), out, 1, &resume, scan), 1);
		ck_assert_uint_eq(out[0].start, page(4));
		ck_assert_uint_eq(resume, page(PAGES));
	}
}
END_TEST

static struct jp_map as_map(int prot, int shared)
{
	struct jp_map m;

	memset(&m, 0, sizeof(m));
	m.start = page(0);
	m.end = page(PAGES);
	m.prot = prot;
	m.shared = shared;
	m.cls = JP_MAP_FILE;
	return m;
}

START_TEST(which_file_mappings_are_ours)
{
	struct jp_map m;

	map_read(PROT_READ | PROT_WRITE);
	/* Writable and executable: code may appear at any time. */
	m = as_map(PROT_READ | PROT_WRITE | PROT_EXEC, 0);
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), JP_RK_FPRIV);
	/* Library text: executable, never written. */
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_EXEC), 0);
	m = as_map(PROT_READ | PROT_EXEC, 0);
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), -1);
	/* Written, then made executable. */
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_WRITE), 0);
	mem[3 * pg] = 0xc3;
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_EXEC), 0);
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), JP_RK_FPRIV);
	/* Shared views, anonymous memory, non-executable: not this kind. */
	m = as_map(PROT_READ | PROT_WRITE | PROT_EXEC, 1);
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), -1);
	m = as_map(PROT_READ | PROT_WRITE, 0);
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), -1);
	m = as_map(PROT_READ | PROT_WRITE | PROT_EXEC, 0);
	m.cls = JP_MAP_ANON;
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), -1);
}
END_TEST

START_TEST(a_clean_mapping_is_asked_again_later)
{
	struct jp_map m;
	unsigned k;
	int kind = -1;

	map_read(PROT_READ | PROT_EXEC);
	m = as_map(PROT_READ | PROT_EXEC, 0);
	jp_filepriv_look_begin();
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), -1);
	jp_filepriv_look_end();
	/* Written behind the looks' back, same address: found within
	 * JP_FILEPRIV_RECHECK looks, not necessarily at the next. */
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_WRITE), 0);
	mem[2 * pg] = 0xc3;
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_EXEC), 0);
	for (k = 0; k <= JP_FILEPRIV_RECHECK && kind < 0; k++) {
		jp_filepriv_look_begin();
		kind = jp_filepriv_kind_of_map(&m);
		jp_filepriv_look_end();
	}
	ck_assert_int_eq(kind, JP_RK_FPRIV);
	/* Outside a look (a hook saw an exec grant): asked at once. */
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), JP_RK_FPRIV);
	/* A mapping that changed is asked at once too. */
	m.end -= pg;
	jp_filepriv_look_begin();
	ck_assert_int_eq(jp_filepriv_kind_of_map(&m), JP_RK_FPRIV);
	jp_filepriv_look_end();
}
END_TEST

START_TEST(memkind_of_a_real_file)
{
	const int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;

	/* The descriptor of a file that still has a name. */
	char path[] = "/tmp/jitperf-filepriv-named-XXXXXX";
	int named = mkstemp(path);

	ck_assert_int_ge(named, 0);
	ck_assert_int_eq(jp_memkind_of_fd(named, MAP_PRIVATE, rwx), JP_RK_FPRIV);
	ck_assert_int_eq(jp_memkind_of_fd(named, MAP_PRIVATE, PROT_READ | PROT_EXEC), -1);
	ck_assert_int_eq(jp_memkind_of_fd(named, MAP_SHARED, rwx), -1);
	/* Unlinked: a dual mapping, as before. */
	ck_assert_int_eq(jp_memkind_of_fd(fd, MAP_PRIVATE, rwx), JP_RK_FILE);
	ck_assert_int_eq(jp_memkind_of_fd(-1, MAP_PRIVATE | MAP_ANONYMOUS, rwx), JP_RK_ANON);
	unlink(path);
	close(named);
}
END_TEST

/* A dirty-page collector of its own, with write tracking not yet tried;
 * returns its scratch buffer, the caller's to free. */
static uint8_t *dirty_init(struct jp_dirty *d, struct jp_wtrack *wt, struct jp_regions *regs, int mode)
{
	uint8_t *buf = malloc(1u << 20);

	memset(wt, 0, sizeof(*wt));
	memset(regs, 0, sizeof(*regs));
	wt->uffd = wt->pagemap = -1;
	*d = (struct jp_dirty){ .pagesz = pg, .pid = jp_sys_getpid(), .mode = mode, .wt = wt, .buf = buf,
				.buf_len = 1u << 20 };
	ck_assert_int_eq(jp_dirty_init(d), 0);
	return buf;
}

/* lib/dirty.c on a JP_RK_FPRIV region: the written pages, never the file's
 * own (all resident), with hashing and with kernel write tracking. */
static void dirty_reads_written_pages(int mode)
{
	struct jp_dirty d;
	struct jp_wtrack wt;
	struct jp_regions regs;
	struct jp_region *r;
	uint8_t *buf = dirty_init(&d, &wt, &regs, mode);
	if (mode == JP_TRACK_WP && jp_wtrack_init(&wt) < 0)
		goto out; /* kernel < 6.7: hashing is tested too */
	map_read(PROT_READ | PROT_WRITE | PROT_EXEC);
	mem[4 * pg + 16] = 0xc3; /* written before it is tracked */
	ck_assert_int_ge(jp_regions_insert(&regs, page(0), page(PAGES), JP_RK_FPRIV), 0);
	r = &regs.r[0];
	r->exec = r->writable = 1;
	r->needs_full = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->track, mode == JP_TRACK_WP ? JP_RT_WP : JP_RT_HASH);
	ck_assert_uint_eq(d.out[0].start, page(4));
	ck_assert_uint_eq(d.out[0].end, page(5));
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	ck_assert_int_eq(r->dead, 0);
	/* A write into a data page of the file, and a read of a hole. */
	mem[6 * pg + 8] = 0xc3;
	ck_assert_uint_eq(mem[7 * pg], 0);
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(d.out[0].start, page(6));
	ck_assert_uint_eq(d.out[0].end, page(7));
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	if (r->track == JP_RT_WP)
		jp_wtrack_remove(&wt, page(0), page(PAGES));
	jp_regions_clear(&regs);
out:
	jp_wtrack_forget(&wt);
	free(buf);
}

START_TEST(dirty_hashing_reads_written_pages)
{
	dirty_reads_written_pages(JP_TRACK_HASH);
}
END_TEST

START_TEST(dirty_write_tracking_reads_written_pages)
{
	dirty_reads_written_pages(JP_TRACK_WP);
}
END_TEST

START_TEST(toggle_no_hook_saw_asks_for_a_reannounce)
{
	struct jp_dirty d;
	struct jp_wtrack wt;
	struct jp_regions regs;
	struct jp_region *r;
	uint8_t *buf = dirty_init(&d, &wt, &regs, JP_TRACK_HASH);
	map_read(PROT_READ | PROT_WRITE);
	mem[pg] = 0xc3;
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_EXEC), 0);
	ck_assert_int_ge(jp_regions_insert(&regs, page(0), page(PAGES), JP_RK_FPRIV), 0);
	r = &regs.r[0];
	r->exec = r->writable = 1;
	r->needs_full = 1;
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->regrant, 0);
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	ck_assert_uint_eq(r->regrant, 0);
	/* RW, a write, RX again: a grant perf records and no hook saw. */
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_WRITE), 0);
	mem[pg + 64] = 0xc3;
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_EXEC), 0);
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 1);
	ck_assert_uint_eq(r->regrant, 1);
	ck_assert_uint_eq(jp_dirty_collect(&d, r), 0);
	ck_assert_uint_eq(r->regrant, 0);
	/* Made writable and executable: another grant. */
	ck_assert_int_eq(mprotect(mem, PAGES * pg, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
	jp_dirty_collect(&d, r);
	ck_assert_uint_eq(r->regrant, 1);
	jp_regions_clear(&regs);
	free(buf);
}
END_TEST

Suite *make_filepriv_suite(void)
{
	Suite *s = suite_create("filepriv");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, only_written_pages_either_way);
	tcase_add_test(tc, full_output_says_where_to_resume);
	tcase_add_test(tc, which_file_mappings_are_ours);
	tcase_add_test(tc, a_clean_mapping_is_asked_again_later);
	tcase_add_test(tc, memkind_of_a_real_file);
	tcase_add_test(tc, dirty_hashing_reads_written_pages);
	tcase_add_test(tc, dirty_write_tracking_reads_written_pages);
	tcase_add_test(tc, toggle_no_hook_saw_asks_for_a_reannounce);
	suite_add_tcase(s, tc);
	return s;
}
