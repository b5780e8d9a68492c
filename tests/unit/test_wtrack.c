/* test_wtrack.c - kernel write tracking reports exactly the pages written. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wtrack.h"

#define PG 4096ul

static struct jp_wtrack wt = { .uffd = -1, .pagemap = -1 };

/* Write tracking needs Linux >= 6.7; where it is refused the engine hashes,
 * and this suite checks the refusal is clean instead. */
static int available(void)
{
	if (jp_wtrack_init(&wt) == 0)
		return 1;
	ck_assert_ptr_nonnull(wt.why);
	ck_assert_int_eq(wt.state, -1);
	return 0;
}

START_TEST(reports_written_pages_and_rearms)
{
	struct jp_range r[16];
	char *p = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long b = (unsigned long)p;
	volatile char sink;

	if (!available())
		return;
	ck_assert_int_eq(jp_wtrack_add(&wt, b, b + 64 * PG), 0);
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + 64 * PG, r, 16, NULL), 0);
	p[5 * PG] = 1;
	p[6 * PG + 100] = 2;
	p[40 * PG] = 3;
	sink = p[20 * PG]; /* reads are not writes */
	(void)sink;
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + 64 * PG, r, 16, NULL), 2);
	ck_assert_uint_eq(r[0].start, b + 5 * PG);
	ck_assert_uint_eq(r[0].end, b + 7 * PG);
	ck_assert_uint_eq(r[1].start, b + 40 * PG);
	ck_assert_uint_eq(r[1].end, b + 41 * PG);
	/* Re-armed: nothing new until the next store. */
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + 64 * PG, r, 16, NULL), 0);
	/* W^X toggling keeps tracking. */
	ck_assert_int_eq(mprotect(p, 64 * PG, PROT_READ | PROT_EXEC), 0);
	ck_assert_int_eq(mprotect(p, 64 * PG, PROT_READ | PROT_WRITE), 0);
	p[7 * PG] = 4;
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + 64 * PG, r, 16, NULL), 1);
	ck_assert_uint_eq(r[0].start, b + 7 * PG);
}
END_TEST

START_TEST(small_output_loses_nothing)
{
	struct jp_range r[2];
	uint64_t resume;
	char *p = mmap(NULL, 32 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long b = (unsigned long)p;
	int total = 0, n;

	if (!available())
		return;
	ck_assert_int_eq(jp_wtrack_add(&wt, b, b + 32 * PG), 0);
	for (int i = 0; i < 32; i += 2)
		p[i * PG] = 1; /* 16 separate ranges */
	while ((n = jp_wtrack_scan(&wt, b, b + 32 * PG, r, 2, &resume)) > 0)
		total += n;
	ck_assert_int_eq(total, 16);
}
END_TEST

START_TEST(shmem_memfd)
{
	struct jp_range r[4];
	int fd = (int)syscall(SYS_memfd_create, "wt", 0);
	char *p;
	unsigned long b;

	if (!available() || !wt.shmem_ok)
		return;
	ck_assert_int_eq(ftruncate(fd, 16 * PG), 0);
	p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, fd, 0);
	b = (unsigned long)p;
	ck_assert_int_eq(jp_wtrack_add(&wt, b, b + 16 * PG), 0);
	p[3 * PG] = 1;
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + 16 * PG, r, 4, NULL), 1);
	ck_assert_uint_eq(r[0].start, b + 3 * PG);
}
END_TEST

START_TEST(file_memory_refused_or_tracked)
{
	char path[] = "/tmp/jpwtXXXXXX";
	int fd = mkstemp(path);
	struct jp_range r[4];
	unsigned long b;
	char *p;

	if (!available())
		return;
	unlink(path);
	ck_assert_int_eq(ftruncate(fd, 4 * PG), 0);
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = (unsigned long)p;
	/* Older kernels refuse regular files (the caller then hashes); with
	 * WP_ASYNC recent ones accept any memory.  Either way no lie. */
	if (jp_wtrack_add(&wt, b, b + 4 * PG) < 0)
		return;
	p[2 * PG] = 1;
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + 4 * PG, r, 4, NULL), 1);
	ck_assert_uint_eq(r[0].start, b + 2 * PG);
}
END_TEST

static long vm_pte_kb(void)
{
	char buf[4096], *p;
	FILE *f = fopen("/proc/self/status", "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strstr(buf, "VmPTE:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/* A 64 GiB reservation made executable must not cost page tables for all
 * of it (UFFDIO_WRITEPROTECT over the range would: 128 MiB of them). */
START_TEST(huge_region_costs_no_page_tables)
{
	struct jp_range r[4];
	size_t len = 64ul << 30;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned long b = (unsigned long)p;
	long before;

	if (!available())
		return;
	ck_assert_ptr_ne(p, MAP_FAILED);
	before = vm_pte_kb();
	ck_assert_int_eq(jp_wtrack_add(&wt, b, b + len), 0);
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + len, r, 4, NULL), 0);
	ck_assert_int_lt(vm_pte_kb() - before, 1024);
	p[(40ul << 30) + 123] = 1; /* a first write deep inside is still seen */
	ck_assert_int_eq(jp_wtrack_scan(&wt, b, b + len, r, 4, NULL), 1);
	ck_assert_uint_eq(r[0].start, b + (40ul << 30));
	munmap(p, len);
}
END_TEST

START_TEST(forget_closes_and_resets)
{
	if (!available())
		return;
	jp_wtrack_forget(&wt);
	ck_assert_int_eq(wt.uffd, -1);
	ck_assert_int_eq(wt.pagemap, -1);
	ck_assert_int_eq(wt.state, 0);
	ck_assert_int_eq(jp_wtrack_init(&wt), 0);
}
END_TEST

Suite *make_wtrack_suite(void)
{
	Suite *s = suite_create("wtrack");
	TCase *tc = tcase_create("uffd_wp");

	tcase_add_test(tc, reports_written_pages_and_rearms);
	tcase_add_test(tc, small_output_loses_nothing);
	tcase_add_test(tc, shmem_memfd);
	tcase_add_test(tc, file_memory_refused_or_tracked);
	tcase_add_test(tc, huge_region_costs_no_page_tables);
	tcase_add_test(tc, forget_closes_and_resets);
	suite_add_tcase(s, tc);
	return s;
}
