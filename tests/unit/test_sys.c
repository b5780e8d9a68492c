/* test_sys.c - jitperf's own memory: zeroed, inside the arena it reserved
 * (never in a gap the program may map over), reused after free, and from
 * the kernel directly when the arena cannot hold it. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sys.h"

/* The mapping of /proc/self/maps that holds p, as "start-end perms". */
static void mapping_of(const void *p, uintptr_t *s, uintptr_t *e)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long a, b;

	*s = *e = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a <= (uintptr_t)p && (uintptr_t)p < b) {
			*s = a;
			*e = b;
		}
	if (f)
		fclose(f);
}

START_TEST(arena_allocations)
{
	unsigned char *a = jp_sys_alloc(10000), *b, *c, *big;
	uintptr_t s, e;

	ck_assert_ptr_nonnull(a);
	for (int i = 0; i < 10000; i++)
		ck_assert_uint_eq(a[i], 0);
	memset(a, 0xab, 10000);
	b = jp_sys_alloc(4096);
	ck_assert_ptr_nonnull(b);
	/* Both inside one reservation: a and b sit in it, not in free gaps,
	 * so they are 3 pages apart at most. */
	ck_assert_uint_le((uintptr_t)(b > a ? b - a : a - b), 3 * 4096);
	/* Freed: the pages go back (PROT_NONE), the address space stays ours
	 * and is reused, zeroed. */
	jp_sys_free(a, 10000);
	mapping_of(a, &s, &e);
	ck_assert_uint_ne(s, 0);
	c = jp_sys_alloc(8192);
	ck_assert_ptr_eq(c, a);
	ck_assert_uint_eq(c[0], 0);
	ck_assert_uint_eq(c[8191], 0);
	/* Larger than a quarter of the arena: straight from the kernel. */
	big = jp_sys_alloc(32u << 20);
	ck_assert_ptr_nonnull(big);
	big[(32u << 20) - 1] = 1;
	jp_sys_free(big, 32u << 20);
	jp_sys_free(b, 4096);
	jp_sys_free(c, 8192);
}
END_TEST

/* Reading memory that may vanish: whole copies, a short count at the first
 * unreadable page, 0 when nothing is readable, errno kept; the same with
 * the caller's pid. */
START_TEST(safe_copy_stops_at_unmapped)
{
	unsigned char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static unsigned char dst[3 * 4096];

	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 0x5a, 3 * 4096);
	ck_assert_int_eq(munmap(p + 2 * 4096, 4096), 0);
	ck_assert_int_eq(mprotect(p + 4096, 4096, PROT_NONE), 0);
	for (int self = 0; self < 2; self++) {
		memset(dst, 0, sizeof(dst));
		errno = 1234;
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p, 4096) : jp_safe_copy(dst, p, 4096), 4096);
		ck_assert_int_eq(errno, 1234);
		ck_assert_uint_eq(dst[0], 0x5a);
		ck_assert_uint_eq(dst[4095], 0x5a);
		/* the second page is PROT_NONE, the third unmapped */
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p, 3 * 4096) : jp_safe_copy(dst, p, 3 * 4096),
				 4096);
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p + 2 * 4096, 4096)
				      : jp_safe_copy(dst, p + 2 * 4096, 4096),
				 0);
		ck_assert_int_eq(errno, 1234);
		ck_assert_int_eq(self ? jp_safe_copy_self(getpid(), dst, p, 0) : jp_safe_copy(dst, p, 0), 0);
	}
	munmap(p, 2 * 4096);
}
END_TEST

Suite *make_sys_suite(void)
{
	Suite *s = suite_create("sys");
	TCase *tc = tcase_create("alloc");

	tcase_add_test(tc, arena_allocations);
	tcase_add_test(tc, safe_copy_stops_at_unmapped);
	suite_add_tcase(s, tc);
	return s;
}
