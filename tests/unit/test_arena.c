/* test_arena.c - jitperf's own memory: zeroed, inside the arena it reserved
 * (never in a gap the program may map over), reused after free, from the
 * kernel directly when the arena cannot hold it, safe from several threads. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"

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
	/* Freed: the address space stays ours and is reused, zeroed, also by
	 * a request of another size. */
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

/* Hooks call these with the program's errno live: it must survive. */
START_TEST(arena_keeps_errno_and_alignment)
{
	unsigned char *p;

	errno = 777;
	p = jp_sys_alloc(100);
	ck_assert_int_eq(errno, 777);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % 4096, 0);
	p[4095] = 1; /* the whole page is ours */
	jp_sys_free(p, 100);
	jp_sys_free(NULL, 4096); /* ignored */
	ck_assert_int_eq(errno, 777);
}
END_TEST

/* Freed memory reads as zero again: the next user of a page must never see
 * the previous one's bytes (tables rely on zeroed memory). */
START_TEST(arena_reused_pages_are_zero)
{
	unsigned char *p = jp_sys_alloc(3 * 4096), *q;

	ck_assert_ptr_nonnull(p);
	memset(p, 0xee, 3 * 4096);
	jp_sys_free(p, 3 * 4096);
	q = jp_sys_alloc(3 * 4096);
	ck_assert_ptr_eq(q, p);
	for (size_t i = 0; i < 3 * 4096; i++)
		ck_assert_uint_eq(q[i], 0);
	jp_sys_free(q, 3 * 4096);
}
END_TEST

/* The perms field of the mapping holding p ("rw-p", "---p"). */
static void perms_of(const void *p, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], pr[5];
	unsigned long a, b;

	strcpy(perms, "none");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &a, &b, pr) == 3 && a <= (uintptr_t)p && (uintptr_t)p < b)
			memcpy(perms, pr, 5);
	if (f)
		fclose(f);
}

/* A small run freed is kept mapped and handed back, zeroed, to the next
 * request of its size; only so many are kept: the rest goes back to the
 * kernel (PROT_NONE) at once, and large runs always do. */
START_TEST(arena_keeps_a_few_freed_runs)
{
	enum { N = 40 };
	unsigned char *p[N], *q, *big, *zone = jp_sys_alloc(8u << 20);
	char perms[5];
	int kept = 0;

	/* The first 8 MiB (the zone, never given back) taken: what follows
	 * is placed past it. */
	ck_assert_ptr_nonnull(zone);

	for (int i = 0; i < N; i++) {
		p[i] = jp_sys_alloc(2 * 4096);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], 0x5a, 2 * 4096);
	}
	for (int i = 0; i < N; i++)
		jp_sys_free(p[i], 2 * 4096);
	for (int i = 0; i < N; i++) {
		perms_of(p[i], perms);
		kept += perms[0] == 'r';
	}
	ck_assert_int_gt(kept, 0);
	ck_assert_int_lt(kept, N);
	/* The last freed and kept: back, zeroed. */
	perms_of(p[kept - 1], perms);
	ck_assert_str_eq(perms, "rw-p");
	q = jp_sys_alloc(2 * 4096);
	ck_assert_ptr_nonnull(q);
	for (size_t i = 0; i < 2 * 4096; i++)
		ck_assert_uint_eq(q[i], 0);
	jp_sys_free(q, 2 * 4096);
	/* 1 MiB is past what is kept: given back. */
	big = jp_sys_alloc(1u << 20);
	ck_assert_ptr_nonnull(big);
	memset(big, 1, 1u << 20);
	jp_sys_free(big, 1u << 20);
	perms_of(big, perms);
	ck_assert_str_eq(perms, "---p");
	/* Everything kept can still be had by requests of other sizes. */
	for (int i = 0; i < N / 2; i++) {
		p[i] = jp_sys_alloc(4 * 4096);
		ck_assert_ptr_nonnull(p[i]);
		for (size_t j = 0; j < 4 * 4096; j += 97)
			ck_assert_uint_eq(p[i][j], 0);
		memset(p[i], 0x11, 4 * 4096);
	}
	for (int i = 0; i < N / 2; i++)
		jp_sys_free(p[i], 4 * 4096);
	jp_sys_free(zone, 8u << 20);
}
END_TEST

/* The arena's first pages (a fresh process's first allocations) are one
 * 2 MiB-aligned read-write zone offered for huge pages: never given back
 * when freed, zeroed when taken again. */
START_TEST(arena_zone_first)
{
	unsigned char *a = jp_sys_alloc(4096), *b, *c;
	char perms[5];

	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq((uintptr_t)a % (2u << 20), 0);
	/* Memory to be madvised comes from past the zone. */
	c = jp_sys_alloc_apart(4096);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_ge((uintptr_t)c, (uintptr_t)a + (8u << 20));
	jp_sys_free(c, 4096);
	b = jp_sys_alloc(256 * 1024);
	ck_assert_ptr_eq(b, a + 4096);
	memset(b, 0x77, 256 * 1024);
	jp_sys_free(b, 256 * 1024);
	perms_of(b, perms);
	ck_assert_str_eq(perms, "rw-p");
	/* Taken again, by a request of another size: zero. */
	c = jp_sys_alloc(8192);
	ck_assert_ptr_eq(c, b);
	for (size_t i = 0; i < 8192; i++)
		ck_assert_uint_eq(c[i], 0);
	/* Offered for huge pages (folding in what is in place): the bytes
	 * stay, errno too; once is enough. */
	memset(c, 0x3c, 8192);
	errno = 4242;
	jp_sys_zone_huge();
	jp_sys_zone_huge();
	ck_assert_int_eq(errno, 4242);
	for (size_t i = 0; i < 8192; i++)
		ck_assert_uint_eq(c[i], 0x3c);
	perms_of(c, perms);
	ck_assert_str_eq(perms, "rw-p");
	/* and the rest of it too */
	b = jp_sys_alloc(200 * 1024);
	for (size_t i = 0; i < 200 * 1024; i++)
		ck_assert_uint_eq(b[i], 0);
	jp_sys_free(b, 200 * 1024);
	jp_sys_free(c, 8192);
	jp_sys_free(a, 4096);
}
END_TEST

/* The epoch thread and hooks on program threads allocate at once: no two
 * live allocations may overlap. */
#define THREADS 4
#define ROUNDS 300

static void *churn(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	unsigned char *keep[8] = { 0 };
	size_t len[8] = { 0 };

	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned k = r % 8;

		if (keep[k]) {
			for (size_t i = 0; i < len[k]; i += 512)
				if (keep[k][i] != (unsigned char)(id + k))
					return (void *)1;
			jp_sys_free(keep[k], len[k]);
		}
		len[k] = 4096 * (1 + (r * 7 + id) % 5);
		keep[k] = jp_sys_alloc(len[k]);
		if (!keep[k])
			return (void *)2;
		memset(keep[k], (int)(id + k), len[k]);
	}
	for (unsigned k = 0; k < 8; k++)
		jp_sys_free(keep[k], len[k]);
	return NULL;
}

START_TEST(arena_threads_never_share_pages)
{
	pthread_t t[THREADS];
	void *res;

	for (uintptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn, (void *)(i * 16)), 0);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &res), 0);
		ck_assert_ptr_null(res);
	}
}
END_TEST

Suite *make_arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("alloc");

	tcase_add_test(tc, arena_allocations);
	tcase_add_test(tc, arena_keeps_errno_and_alignment);
	tcase_add_test(tc, arena_reused_pages_are_zero);
	tcase_add_test(tc, arena_keeps_a_few_freed_runs);
	tcase_add_test(tc, arena_zone_first);
	tcase_add_test(tc, arena_threads_never_share_pages);
	suite_add_tcase(s, tc);
	return s;
}
