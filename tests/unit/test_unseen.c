/* test_unseen.c - the net finds executable JIT memory the region table does not hold, and only that (lib/unseen.c). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maps.h"
#include "region.h"
#include "unseen.h"

#define PG 4096u

static char buf[4096];

static long find(const struct jp_regions *t, const void *a, size_t len, struct jp_unseen_hit *h, size_t max)
{
	return jp_unseen_find(t, (uint64_t)(uintptr_t)a, (uint64_t)(uintptr_t)a + len, buf, sizeof(buf), h, max);
}

START_TEST(finds_untracked_exec_memory)
{
	struct jp_regions t = { 0 };
	struct jp_unseen_hit h[4];
	uint8_t *rwx = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *shm = mmap(NULL, 2 * PG, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *rw = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(rwx, MAP_FAILED);
	ck_assert_ptr_ne(shm, MAP_FAILED);
	ck_assert_ptr_ne(rw, MAP_FAILED);
	ck_assert_int_eq(find(&t, rwx, 3 * PG, h, 4), 1);
	ck_assert_uint_eq(h[0].start, (uintptr_t)rwx);
	ck_assert_uint_eq(h[0].end, (uintptr_t)rwx + 3 * PG);
	ck_assert_int_eq(h[0].kind, JP_RK_ANON);
	ck_assert_int_eq(find(&t, shm, 2 * PG, h, 4), 1);
	ck_assert_int_eq(h[0].kind, JP_RK_SHMEM);
	/* Not executable: nothing to find. */
	ck_assert_int_eq(find(&t, rw, 2 * PG, h, 4), 0);
	/* Becomes executable with no call we see. */
	ck_assert_int_eq(mprotect(rw, PG, PROT_READ | PROT_EXEC), 0);
	ck_assert_int_eq(find(&t, rw, 2 * PG, h, 4), 1);
	ck_assert_uint_eq(h[0].end, (uintptr_t)rw + PG);
	munmap(rwx, 3 * PG);
	munmap(shm, 2 * PG);
	munmap(rw, 2 * PG);
}
END_TEST

START_TEST(tracked_parts_are_not_found)
{
	struct jp_regions t = { 0 };
	struct jp_unseen_hit h[4];
	uint8_t *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t s = (uint64_t)(uintptr_t)a;
	long k;

	ck_assert_ptr_ne(a, MAP_FAILED);
	/* Tracked executable: the page after it and the last page are new. */
	k = jp_regions_insert(&t, s + PG, s + 2 * PG, JP_RK_ANON);
	ck_assert_int_ge(k, 0);
	t.r[k].exec = 1;
	ck_assert_int_eq(find(&t, a, 4 * PG, h, 4), 2);
	ck_assert_uint_eq(h[0].start, s);
	ck_assert_uint_eq(h[0].end, s + PG);
	ck_assert_uint_eq(h[1].start, s + 2 * PG);
	ck_assert_uint_eq(h[1].end, s + 4 * PG);
	/* Tracked but dormant (a hook saw it lose exec): found again. */
	t.r[k].exec = 0;
	ck_assert_int_eq(find(&t, a, 4 * PG, h, 4), 1);
	ck_assert_uint_eq(h[0].start, s);
	ck_assert_uint_eq(h[0].end, s + 4 * PG);
	/* At most max, the rest next time. */
	t.r[k].exec = 1;
	ck_assert_int_eq(find(&t, a, 4 * PG, h, 1), 1);
	ck_assert_uint_eq(h[0].end, s + PG);
	jp_regions_clear(&t);
	munmap(a, 4 * PG);
}
END_TEST

START_TEST(program_and_library_text_are_not_jit)
{
	struct jp_regions t = { 0 };
	struct jp_unseen_hit h[JP_UNSEEN_MAX];
	uint64_t libc_text = (uint64_t)(uintptr_t)&snprintf, ours = (uint64_t)(uintptr_t)&find;
	long n = jp_unseen_find(&t, 0, UINT64_MAX, buf, sizeof(buf), h, JP_UNSEEN_MAX);

	ck_assert_int_ge(n, 0);
	for (long i = 0; i < n; i++) {
		ck_assert(!(libc_text >= h[i].start && libc_text < h[i].end));
		ck_assert(!(ours >= h[i].start && ours < h[i].end));
	}
}
END_TEST

static uint64_t taken_start, taken_len;
static int taken_prot, taken_n;

static void take(uint64_t start, uint64_t len, int prot)
{
	taken_start = start;
	taken_len = len;
	taken_prot = prot;
	taken_n++;
}

START_TEST(take_hands_over_as_writable_exec)
{
	struct jp_regions t = { 0 };
	uint8_t *a = mmap(NULL, 2 * PG, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(a, MAP_FAILED);
	ck_assert_uint_ge(jp_unseen_take(&t, buf, sizeof(buf), take), 1);
	ck_assert_int_ge(taken_n, 1);
	ck_assert_int_eq(taken_prot, PROT_READ | PROT_WRITE | PROT_EXEC);
	/* a is among them (the last one taken need not be a). */
	taken_n = 0;
	{
		long k = jp_regions_insert(&t, 0, (uint64_t)(uintptr_t)a, JP_RK_ANON);
		long k2 = jp_regions_insert(&t, (uint64_t)(uintptr_t)a + 2 * PG, UINT64_MAX - PG + 1, JP_RK_ANON);

		ck_assert_int_ge(k, 0);
		ck_assert_int_ge(k2, 0);
		t.r[0].exec = t.r[1].exec = 1;
	}
	ck_assert_uint_eq(jp_unseen_take(&t, buf, sizeof(buf), take), 1);
	ck_assert_uint_eq(taken_start, (uintptr_t)a);
	ck_assert_uint_eq(taken_len, 2 * PG);
	jp_regions_clear(&t);
	munmap(a, 2 * PG);
}
END_TEST

struct collect {
	struct jp_map m[256];
	int n;
};

static int collect_cb(const struct jp_map *m, void *arg)
{
	struct collect *c = arg;

	if (c->n < 256)
		c->m[c->n++] = *m;
	return 0;
}

static int exec_text_cb(const struct jp_map *m, void *arg)
{
	return (m->prot & PROT_EXEC) ? collect_cb(m, arg) : 0;
}

START_TEST(exec_query_agrees_with_text)
{
	static struct collect q, x;

	q.n = x.n = 0;
	ck_assert_int_ge(jp_maps_each_exec(0, UINT64_MAX, buf, sizeof(buf), collect_cb, &q), 1);
	ck_assert_int_ge(jp_maps_each_text(0, UINT64_MAX, buf, sizeof(buf), exec_text_cb, &x), 1);
	/* The text shows [vsyscall], which the query does not. */
	if (x.n == q.n + 1 && x.m[x.n - 1].cls == JP_MAP_SPECIAL)
		x.n--;
	ck_assert_int_eq(q.n, x.n);
	for (int i = 0; i < q.n; i++) {
		ck_assert_uint_eq(q.m[i].start, x.m[i].start);
		ck_assert_uint_eq(q.m[i].end, x.m[i].end);
		ck_assert_int_eq(q.m[i].cls, x.m[i].cls);
	}
}
END_TEST

/* After the quick looks at start, looks that find nothing make the net
 * look every 2nd, then every 4th epoch; a find brings it back at once. */
static unsigned due_pattern(struct jp_pace *p, unsigned *n, unsigned looks, unsigned hits)
{
	unsigned bits = 0;

	for (unsigned e = 0; e < looks; e++, ++*n)
		if (jp_unseen_pace_due(p, *n, 100)) {
			bits |= 1u << e;
			jp_pace_looked(p, hits);
		}
	return bits;
}

START_TEST(quiet_net_looks_less_often)
{
	struct jp_pace p = { 0, 0 };
	unsigned n = 1;

	/* Looks 1-7 are the quick ones (1, 2, 4 ... 64 ms): all made. */
	ck_assert_uint_eq(due_pattern(&p, &n, 7, 0), 0x7f);
	ck_assert_uint_eq(p.quiet, 7);
	/* 7 empty looks: every 2nd epoch, from the 8th empty look every 4th. */
	ck_assert_uint_eq(due_pattern(&p, &n, 2, 0), 0x2);
	ck_assert_uint_eq(due_pattern(&p, &n, 12, 0), 0x888);
	/* Something found: every epoch again, while it keeps finding. */
	jp_pace_looked(&p, 1);
	ck_assert_uint_eq(due_pattern(&p, &n, 4, 2), 0xf);
	/* A program whose hooks see everything from the start: after the
	 * quick looks, 4 more epochs at every epoch... then fewer. */
	p = (struct jp_pace){ 0, 0 };
	n = 20;
	ck_assert_uint_eq(due_pattern(&p, &n, 4, 0), 0xf);
	ck_assert_uint_eq(due_pattern(&p, &n, 8, 0), 0xaa);
	ck_assert_uint_eq(due_pattern(&p, &n, 8, 0), 0x88);
}
END_TEST

START_TEST(looks_quick_then_every_epoch)
{
	ck_assert_uint_eq(jp_unseen_delay_ns(0, 100), 1000000u);
	ck_assert_uint_eq(jp_unseen_delay_ns(3, 100), 8000000u);
	ck_assert_uint_eq(jp_unseen_delay_ns(6, 100), 64000000u);
	ck_assert_uint_eq(jp_unseen_delay_ns(7, 100), 100000000u);
	ck_assert_uint_eq(jp_unseen_delay_ns(~0u, 100), 100000000u);
	ck_assert_uint_eq(jp_unseen_delay_ns(0, 1), 1000000u);
}
END_TEST

Suite *make_unseen_suite(void)
{
	Suite *s = suite_create("unseen");
	TCase *tc = tcase_create("net");

	tcase_add_test(tc, finds_untracked_exec_memory);
	tcase_add_test(tc, tracked_parts_are_not_found);
	tcase_add_test(tc, program_and_library_text_are_not_jit);
	tcase_add_test(tc, take_hands_over_as_writable_exec);
	tcase_add_test(tc, exec_query_agrees_with_text);
	tcase_add_test(tc, looks_quick_then_every_epoch);
	tcase_add_test(tc, quiet_net_looks_less_often);
	suite_add_tcase(s, tc);
	return s;
}
