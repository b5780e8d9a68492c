/* test_perfdata.c - reading samples from perf.data without perf (perfdata.c), the addresses pruning keeps for them (sampled.c), and a dump's code span (jd_prune.c). */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jd_prune.h"
#include "perfdata.h"
#include "sampled.h"

#include "dump_builder.h"

/* sample_type and read_format bits, from the kernel's ABI */
enum {
	IP = 1 << 0, TID = 1 << 1, TIME = 1 << 2, READ = 1 << 4, CALLCHAIN = 1 << 5, ID = 1 << 6,
	CPU = 1 << 7, PERIOD = 1 << 8, RAW = 1 << 10, REGS_USER = 1 << 12, STACK_USER = 1 << 13,
	IDENTIFIER = 1 << 16,
};
enum { R_ID = 4, R_GROUP = 8, R_LOST = 16 };
#define CTX_USER ((uint64_t)-512)

struct pattr {
	uint64_t sample_type, read_format, regs_mask;
	uint64_t id;
};

/* A perf.data file: header, attributes (each with one event id), records. */
struct pdata {
	struct dbuf b;
	size_t data_off;
};

static void pd_begin(struct pdata *d, const struct pattr *attrs, int n)
{
	size_t attr_off = 104, ids_off = attr_off + (size_t)n * 144;

	memset(d, 0, sizeof(*d));
	put64(&d->b, 0x32454c4946524550ull); /* PERFILE2 */
	put64(&d->b, 104);
	put64(&d->b, 144);                    /* attr_size: a 128-byte attr + ids section */
	put64(&d->b, attr_off);
	put64(&d->b, (uint64_t)n * 144);
	put64(&d->b, 0); /* data: patched by pd_end */
	put64(&d->b, 0);
	put64(&d->b, 0);
	put64(&d->b, 0);
	for (int i = 0; i < 4; i++)
		put64(&d->b, 0);
	for (int i = 0; i < n; i++) {
		unsigned char a[128] = { 0 };
		uint32_t size = 128;

		memcpy(a + 4, &size, 4);
		memcpy(a + 24, &attrs[i].sample_type, 8);
		memcpy(a + 32, &attrs[i].read_format, 8);
		memcpy(a + 80, &attrs[i].regs_mask, 8);
		put(&d->b, a, sizeof(a));
		put64(&d->b, ids_off + 8 * (size_t)i);
		put64(&d->b, 8);
	}
	for (int i = 0; i < n; i++)
		put64(&d->b, attrs[i].id);
	d->data_off = d->b.len;
}

static void pd_end(struct pdata *d)
{
	uint64_t off = d->data_off, size = d->b.len - d->data_off;

	memcpy(d->b.p + 40, &off, 8);
	memcpy(d->b.p + 48, &size, 8);
}

/* A record from n u64 words after its 8-byte header. */
static void rec(struct pdata *d, uint32_t type, const uint64_t *w, size_t n)
{
	uint16_t misc = 2, size = (uint16_t)(8 + 8 * n);

	put32(&d->b, type);
	put(&d->b, &misc, 2);
	put(&d->b, &size, 2);
	put(&d->b, w, 8 * n);
}

static uint64_t pidtid(uint32_t pid, uint32_t tid)
{
	return (uint64_t)tid << 32 | pid;
}

/* IP, TID, TIME of a sample of pid 5 at 0x400500; returns the words written. */
static size_t sample_head(uint64_t *w)
{
	w[0] = 0x400500;
	w[1] = pidtid(5, 6);
	w[2] = 77;
	return 3;
}

struct seen {
	struct jp_pd_sample s[16];
	uint64_t chain0[16], regs0[16], stack0[16];
	int n;
};

static int collect(void *arg, const struct jp_pd_sample *s)
{
	struct seen *v = arg;

	ck_assert_int_lt(v->n, 16);
	v->chain0[v->n] = s->chain_nr ? jp_pd_u64(s->chain, s->chain_nr - 1) : 0;
	v->regs0[v->n] = s->regs_nr ? jp_pd_u64(s->regs, 0) : 0;
	v->stack0[v->n] = s->stack_size >= 8 ? jp_pd_u64(s->stack, s->stack_size / 8 - 1) : 0;
	v->s[v->n++] = *s;
	return 0;
}

static int walk(const struct pdata *d, struct seen *v, const char **why)
{
	memset(v, 0, sizeof(*v));
	return jp_pd_walk(d->b.p, d->b.len, collect, v, why);
}

/* perf record -e cpu-clock as jitperf-run does it: IP|TID|TIME|PERIOD,
 * with an MMAP2 and a COMM record between the samples. */
static void fp_less_file(struct pdata *d)
{
	static const struct pattr a = { IP | TID | TIME | PERIOD, R_ID | R_LOST, 0, 7 };
	const uint64_t s1[] = { 0x7f0000001000, pidtid(42, 43), 100, 250000 };
	const uint64_t mm[] = { pidtid(42, 42), 0x7f0000000000, 0x10000, 0, 0, 0, 0, 0x6c6c, 0 };
	const uint64_t s2[] = { 0x7f0000002000, pidtid(99, 99), 101, 250000 };

	pd_begin(d, &a, 1);
	rec(d, 9, s1, 4);
	rec(d, 10, mm, 9);
	rec(d, 3, mm, 3);
	rec(d, 9, s2, 4);
	pd_end(d);
}

START_TEST(test_plain_samples)
{
	struct pdata d;
	struct seen v;
	const char *why;

	fp_less_file(&d);
	ck_assert_int_eq(walk(&d, &v, &why), 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_uint_eq(v.s[0].pid, 42);
	ck_assert_uint_eq(v.s[0].tid, 43);
	ck_assert_int_eq(v.s[0].has_ip, 1);
	ck_assert_uint_eq(v.s[0].ip, 0x7f0000001000);
	ck_assert_int_eq(v.s[0].has_time, 1);
	ck_assert_uint_eq(v.s[0].time, 100);
	ck_assert_uint_eq(v.s[0].chain_nr, 0);
	ck_assert_uint_eq(v.s[1].pid, 99);
	ck_assert_uint_eq(v.s[1].time, 101);
	ck_assert_uint_eq(v.s[1].ip, 0x7f0000002000);
	free(d.b.p);
}
END_TEST

/* --call-graph dwarf: a kernel call chain, the user registers, the user
 * stack (8 words copied, 3 of them valid: dyn_size); a group READ before
 * the chain must be stepped over by its format. */
START_TEST(test_dwarf_sample_with_read_group)
{
	static const struct pattr a = { IP | TID | TIME | READ | CALLCHAIN | REGS_USER | STACK_USER,
					R_GROUP | R_ID | R_LOST, 0x7, 1 };
	uint64_t w[64];
	size_t n = sample_head(w);
	struct pdata d;
	struct seen v;
	const char *why;

	w[n++] = 2; /* READ, group: nr, then nr x (value, id, lost) */
	for (int i = 0; i < 6; i++)
		w[n++] = 0xdead;
	w[n++] = 3; /* CALLCHAIN */
	w[n++] = (uint64_t)-128;
	w[n++] = 0xffffffff81000000;
	w[n++] = CTX_USER;
	w[n++] = 2; /* REGS_USER: abi 64, three registers */
	w[n++] = 0x1111;
	w[n++] = 0x2222;
	w[n++] = 0x3333;
	w[n++] = 64; /* STACK_USER: 64 bytes, 24 valid */
	for (int i = 0; i < 8; i++)
		w[n++] = 0x9000 + (uint64_t)i;
	w[n++] = 24;
	pd_begin(&d, &a, 1);
	rec(&d, 9, w, n);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), 0);
	ck_assert_int_eq(v.n, 1);
	ck_assert_uint_eq(v.s[0].ip, 0x400500);
	ck_assert_uint_eq(v.s[0].time, 77);
	ck_assert_uint_eq(v.s[0].chain_nr, 3);
	ck_assert_uint_eq(v.chain0[0], CTX_USER);
	ck_assert_uint_eq(v.s[0].regs_nr, 3);
	ck_assert_uint_eq(v.regs0[0], 0x1111);
	ck_assert_uint_eq(v.s[0].stack_size, 24);
	ck_assert_uint_eq(v.stack0[0], 0x9002);
	free(d.b.p);
}
END_TEST

/* Two events of different formats: each sample names its own by
 * PERF_SAMPLE_IDENTIFIER; without it the file cannot be read. */
START_TEST(test_two_events)
{
	struct pattr a[2] = { { IDENTIFIER | IP | TID, 0, 0, 7 }, { IDENTIFIER | TID | IP | TIME | CPU, 0, 0, 9 } };
	const uint64_t s1[] = { 9, 0x1000, pidtid(1, 1), 5, 0 };
	const uint64_t s2[] = { 7, 0x2000, pidtid(2, 2) };
	const uint64_t s3[] = { 8, 0x3000, pidtid(3, 3) };
	struct pdata d;
	struct seen v;
	const char *why;

	pd_begin(&d, a, 2);
	rec(&d, 9, s1, 5);
	rec(&d, 9, s2, 3);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_uint_eq(v.s[0].ip, 0x1000);
	ck_assert_uint_eq(v.s[1].ip, 0x2000);
	ck_assert_uint_eq(v.s[1].pid, 2);
	/* a sample of an id no event has */
	rec(&d, 9, s3, 3);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), -EBADMSG);
	ck_assert_ptr_nonnull(why);
	free(d.b.p);
	/* different formats, no identifier */
	a[0].sample_type = IP | TID;
	a[1].sample_type = IP | TID | TIME;
	pd_begin(&d, a, 2);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), -EBADMSG);
	free(d.b.p);
}
END_TEST

START_TEST(test_what_it_refuses)
{
	struct pdata d;
	struct seen v;
	const char *why;
	uint64_t big = 1 << 20;
	const uint64_t ip_only[] = { 0x1000 };

	fp_less_file(&d);
	/* another magic (byte-swapped, pipe, not perf.data at all) */
	d.b.p[0] ^= 1;
	ck_assert_int_eq(walk(&d, &v, &why), -EBADMSG);
	d.b.p[0] ^= 1;
	/* pipe mode's 16-byte header */
	d.b.p[8] = 16;
	ck_assert_int_eq(walk(&d, &v, &why), -EBADMSG);
	d.b.p[8] = 104;
	/* a data section beyond the file */
	memcpy(d.b.p + 48, &big, 8);
	ck_assert_int_eq(walk(&d, &v, &why), -EBADMSG);
	ck_assert_ptr_nonnull(why);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), 0);
	/* a sample shorter than its format, a compressed record */
	rec(&d, 9, ip_only, 1);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), -EBADMSG);
	free(d.b.p);
	fp_less_file(&d);
	rec(&d, 81, ip_only, 1);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), -EBADMSG);
	free(d.b.p);
}
END_TEST

/* Any prefix and any single-byte change of a valid file: an answer, no
 * read outside the buffer (the ASan build of the suite checks that). */
START_TEST(test_any_bytes)
{
	static const struct pattr a = { IP | TID | TIME | READ | CALLCHAIN | RAW | REGS_USER | STACK_USER,
					R_GROUP | R_ID, 0xff, 1 };
	uint64_t w[40];
	size_t n = sample_head(w);
	struct pdata d;
	struct seen v;
	const char *why;

	w[n++] = 1;
	w[n++] = 3;
	w[n++] = 4;
	w[n++] = 1;
	w[n++] = 0x400501;
	w[n++] = 12; /* RAW: u32 size 12, then 12 bytes: 16 bytes in all */
	w[n++] = 0;
	w[n++] = 1; /* REGS_USER: abi, 8 registers */
	for (int i = 0; i < 8; i++)
		w[n++] = (uint64_t)i;
	w[n++] = 16;
	w[n++] = 0x7000;
	w[n++] = 0x7001;
	w[n++] = 16;
	pd_begin(&d, &a, 1);
	rec(&d, 9, w, n);
	rec(&d, 9, w, n);
	pd_end(&d);
	ck_assert_int_eq(walk(&d, &v, &why), 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_uint_eq(v.s[1].stack_size, 16);
	for (size_t len = 0; len < d.b.len; len++) {
		unsigned char *copy = malloc(len ? len : 1);

		memcpy(copy, d.b.p, len);
		memset(&v, 0, sizeof(v));
		(void)jp_pd_walk(copy, len, collect, &v, &why);
		free(copy);
	}
	for (size_t i = 0; i < d.b.len; i++)
		for (int bit = 0; bit < 8; bit += 3) {
			int rc;

			d.b.p[i] ^= (unsigned char)(0x81 << bit);
			memset(&v, 0, sizeof(v));
			rc = jp_pd_walk(d.b.p, d.b.len, collect, &v, &why);
			ck_assert(rc == 0 || (rc == -EBADMSG && why));
			d.b.p[i] ^= (unsigned char)(0x81 << bit);
		}
	free(d.b.p);
}
END_TEST

/* What pruning keeps for a process: leaf, chain entries and the call
 * before each, registers and stack words, inside the dump's window only,
 * of its own pid only, each once, sorted. */
START_TEST(test_sampled_addresses)
{
	static const struct pattr a = { IP | TID | CALLCHAIN | REGS_USER | STACK_USER, 0, 0x3, 1 };
	const uint64_t s1[] = { 0x5010, pidtid(42, 42), 4, CTX_USER, 0x5010, 0x6000, 0x9999999, 1, 0x5020, 0x10,
				24, 0x5100, 0x77, 0x5010, 24 };
	const uint64_t s2[] = { 0x5555, pidtid(43, 43), 0, 0, 0 };
	static const uint64_t want[] = { 0x500f, 0x5010, 0x501f, 0x5020, 0x50ff, 0x5100, 0x5fff };
	struct jp_sampled s;
	struct pdata d;
	struct jp_sample_at *v;
	size_t n;
	const char *why;

	pd_begin(&d, &a, 1);
	rec(&d, 9, s1, sizeof(s1) / 8);
	rec(&d, 9, s2, sizeof(s2) / 8);
	pd_end(&d);
	jp_sampled_open(&s, 42, 0x5000, 0x6000);
	ck_assert_int_eq(jp_sampled_read(&s, d.b.p, d.b.len, &why), 0);
	ck_assert_uint_eq(s.samples, 1);
	v = jp_sampled_sorted(&s, &n);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(n, sizeof(want) / 8);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(v[i].addr, want[i]);
		ck_assert_uint_eq(v[i].ts, 0); /* no PERF_SAMPLE_TIME */
	}
	free(v);
	jp_sampled_close(&s);
	/* many distinct words: the set grows */
	jp_sampled_open(&s, 42, 0, UINT64_MAX);
	for (uint64_t i = 1; i <= 5000; i++) {
		uint64_t w[5] = { 64 * i, pidtid(42, 42), 0, 0, 0 };

		rec(&d, 9, w, 5);
	}
	pd_end(&d);
	ck_assert_int_eq(jp_sampled_read(&s, d.b.p, d.b.len, &why), 0);
	ck_assert_uint_ge(s.n, 5000);
	v = jp_sampled_sorted(&s, &n);
	for (size_t i = 1; i < n; i++)
		ck_assert_uint_lt(v[i - 1].addr, v[i].addr);
	free(v);
	jp_sampled_close(&s);
	/* a file it cannot read whole: an error, nothing to prune on */
	d.b.p[0] = 0;
	jp_sampled_open(&s, 42, 0, UINT64_MAX);
	ck_assert_int_eq(jp_sampled_read(&s, d.b.p, d.b.len, &why), -EBADMSG);
	jp_sampled_close(&s);
	free(d.b.p);
}
END_TEST

START_TEST(test_code_span)
{
	static const unsigned char code[16] = { 0xc3 };
	struct dbuf b = { 0 };
	uint64_t lo, hi;

	hdr(&b);
	ck_assert_int_eq(jp_jd_code_span(b.p, b.len, &lo, &hi), 0);
	ck_assert_uint_eq(lo, hi);
	unwind(&b, 1, 20, 20, 0, 64); /* records without code do not count */
	load(&b, 1, 0, "a", code, sizeof(code)); /* dump_builder: index 0 at 0x1000 */
	load(&b, 2, 1, "b", code, sizeof(code));
	move(&b, 3, 0, 0x1000, 0x8000, 16);
	close_rec(&b, 4);
	ck_assert_int_eq(jp_jd_code_span(b.p, b.len, &lo, &hi), 0);
	ck_assert_uint_eq(lo, 0x1000);
	ck_assert_uint_eq(hi, 0x8010);
	ck_assert_int_eq(jp_jd_code_span("nope", 4, &lo, &hi), -EBADMSG);
	free(b.p);
}
END_TEST

Suite *make_perfdata_suite(void)
{
	Suite *s = suite_create("perfdata");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_plain_samples);
	tcase_add_test(tc, test_dwarf_sample_with_read_group);
	tcase_add_test(tc, test_two_events);
	tcase_add_test(tc, test_what_it_refuses);
	tcase_add_test(tc, test_any_bytes);
	tcase_add_test(tc, test_sampled_addresses);
	tcase_add_test(tc, test_code_span);
	suite_add_tcase(s, tc);
	return s;
}
