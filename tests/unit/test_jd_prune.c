/* test_jd_prune.c - pruning a dump to the LOADs perf resolves samples with. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jd_prune.h"
#include "jd_read.h"

#include "dump_builder.h"

static const unsigned char code6[] = { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3 };

struct pruned {
	char *buf;
	size_t len;
	uint32_t ids[16];
	uint64_t index[16]; /* code_index of LOAD and MOVE records */
	int n;
};

static int prune_at(const struct dbuf *in, const struct jp_sample_at *at, size_t n, struct pruned *out,
		    struct jp_prune_stats *st)
{
	FILE *f = open_memstream(&out->buf, &out->len);
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	int rc;

	ck_assert_ptr_nonnull(f);
	rc = jp_jd_prune(in->p, in->len, at, n, f, st);
	fclose(f);
	out->n = 0;
	if (rc == 0) {
		ck_assert_int_eq(jp_jdr_open(&r, out->buf, out->len), 0);
		while (jp_jdr_next(&r, &rec) > 0) {
			ck_assert_int_lt(out->n, 16);
			out->ids[out->n] = rec.id;
			out->index[out->n] = rec.id == JD_CODE_LOAD ? rec.u.load.code_index
					     : rec.id == JD_CODE_MOVE ? rec.u.move.code_index : UINT64_MAX;
			out->n++;
		}
	}
	return rc;
}

/* Addresses of samples of no time: every LOAD covering one counts. */
static int prune(const struct dbuf *in, const uint64_t *addrs, size_t n, struct pruned *out,
		 struct jp_prune_stats *st)
{
	struct jp_sample_at at[16];

	ck_assert_uint_le(n, 16);
	for (size_t i = 0; i < n; i++)
		at[i] = (struct jp_sample_at){ addrs[i], 0 };
	qsort(at, n, sizeof(*at), jp_sample_at_cmp);
	return prune_at(in, at, n, out, st);
}

/* A LOAD of index at addr, size bytes of code6 over and over. */
static void load_at(struct dbuf *b, uint64_t ts, uint64_t index, uint64_t addr, const char *name, size_t size)
{
	unsigned char code[64];

	ck_assert_uint_le(size, sizeof(code));
	for (size_t i = 0; i < size; i++)
		code[i] = code6[i % sizeof(code6)];
	load_addr(b, ts, index, addr, name, code, size);
}

/* Four pieces at 0x1000, 0x1100, 0x1200, 0x1300 (6 bytes each), each after
 * its own unwinding record; piece 1 is also shown at 0x5000 by a MOVE; a
 * CLOSE, and an unwinding record perf never clears before the last. */
static void sample_dump(struct dbuf *b)
{
	memset(b, 0, sizeof(*b));
	hdr(b);
	unwind(b, 10, 20, 20, 0, 64);
	load(b, 10, 0, "zero", code6, sizeof(code6));
	unwind(b, 11, 20, 20, 0, 64);
	load(b, 11, 1, "one", code6, sizeof(code6));
	move(b, 12, 1, 0x1100, 0x5000, sizeof(code6));
	unwind(b, 13, 20, 20, 0, 64);
	load(b, 13, 2, "two", code6, sizeof(code6));
	close_rec(b, 14);
	unwind(b, 15, 8, 0, 0, 48); /* eh_frame_hdr_size 0: sticks to later LOADs */
	load(b, 15, 3, "three", code6, sizeof(code6));
}

START_TEST(test_keeps_sampled_loads_and_their_records)
{
	/* 0x1005: last byte of piece 0; 0x5002: piece 1 where the MOVE shows
	 * it; 0x1006 and 0x12ff: just outside pieces 0 and 2. */
	static const uint64_t addrs[] = { 0x1005, 0x1006, 0x12ff, 0x5002 };
	struct jp_prune_stats st;
	struct pruned o;
	struct dbuf d;

	sample_dump(&d);
	ck_assert_int_eq(prune(&d, addrs, 4, &o, &st), 0);
	ck_assert_int_eq(o.n, 7);
	ck_assert_uint_eq(o.ids[0], JD_CODE_UNWINDING_INFO);
	ck_assert_uint_eq(o.ids[1], JD_CODE_LOAD);
	ck_assert_uint_eq(o.index[1], 0);
	ck_assert_uint_eq(o.ids[2], JD_CODE_UNWINDING_INFO);
	ck_assert_uint_eq(o.ids[3], JD_CODE_LOAD);
	ck_assert_uint_eq(o.index[3], 1);
	ck_assert_uint_eq(o.ids[4], JD_CODE_MOVE);
	ck_assert_uint_eq(o.ids[5], JD_CODE_CLOSE);
	ck_assert_uint_eq(o.ids[6], JD_CODE_UNWINDING_INFO); /* the sticky one */
	ck_assert_uint_eq(st.loads_in, 4);
	ck_assert_uint_eq(st.loads_kept, 2);
	ck_assert_uint_eq(st.moves_in, 1);
	ck_assert_uint_eq(st.moves_kept, 1);
	ck_assert_uint_eq(st.bytes_out, o.len);
	/* The header is copied as it was. */
	ck_assert_mem_eq(o.buf, d.p, 40);
	free(o.buf);
	free(d.p);
}
END_TEST

START_TEST(test_attachments_wait_across_a_move)
{
	static const uint64_t addrs[] = { 0x1102 };
	struct jp_prune_stats st;
	struct pruned o;
	struct dbuf d;

	memset(&d, 0, sizeof(d));
	hdr(&d);
	load(&d, 10, 0, "zero", code6, sizeof(code6));
	unwind(&d, 11, 20, 20, 0, 64);
	move(&d, 11, 0, 0x1000, 0x9000, sizeof(code6)); /* between the unwinding record and its LOAD */
	load(&d, 12, 1, "one", code6, sizeof(code6));
	ck_assert_int_eq(prune(&d, addrs, 1, &o, &st), 0);
	ck_assert_int_eq(o.n, 2);
	ck_assert_uint_eq(o.ids[0], JD_CODE_UNWINDING_INFO);
	ck_assert_uint_eq(o.ids[1], JD_CODE_LOAD);
	ck_assert_uint_eq(o.index[1], 1);
	free(o.buf);
	free(d.p);
}
END_TEST

START_TEST(test_nothing_sampled)
{
	struct jp_prune_stats st;
	struct pruned o;
	struct dbuf d;

	sample_dump(&d);
	ck_assert_int_eq(prune(&d, NULL, 0, &o, &st), 0);
	ck_assert_int_eq(o.n, 2); /* the CLOSE and the sticky unwinding record */
	ck_assert_uint_eq(st.loads_kept, 0);
	free(o.buf);
	free(d.p);
}
END_TEST

/* Code described again at one address: perf resolves a sample with the
 * newest LOAD covering it dated at or before the sample, so only the
 * versions in place while samples hit them are kept. */
START_TEST(test_keeps_the_version_live_at_the_sample)
{
	static const struct jp_sample_at at[] = {
		{ 0x2001, 5 },  /* before any LOAD: none */
		{ 0x2001, 25 }, /* version 1 (2 at 30, 3 at 40 not yet) */
		{ 0x2010, 45 }, /* 3 covers [0x2008, 0x2010]: 3 */
		{ 0x2011, 45 }, /* beyond 3: still 2 */
		{ 0x6001, 65 }, /* the MOVE of 0 (at 60): 0 and its MOVE */
	};
	struct jp_prune_stats st;
	struct pruned o;
	struct dbuf d;

	memset(&d, 0, sizeof(d));
	hdr(&d);
	load_at(&d, 10, 0, 0x2000, "v0", 32);
	load_at(&d, 20, 1, 0x2000, "v1", 32);
	load_at(&d, 30, 2, 0x2000, "v2", 32);
	load_at(&d, 40, 3, 0x2008, "v3", 9);
	load_at(&d, 50, 4, 0x2000, "v4", 32); /* after every sample at 0x2000..: dropped */
	move(&d, 60, 0, 0x2000, 0x6000, 32);
	ck_assert_int_eq(prune_at(&d, at, sizeof(at) / sizeof(at[0]), &o, &st), 0);
	ck_assert_int_eq(o.n, 5);
	ck_assert_uint_eq(o.index[0], 0);
	ck_assert_uint_eq(o.index[1], 1);
	ck_assert_uint_eq(o.index[2], 2);
	ck_assert_uint_eq(o.index[3], 3);
	ck_assert_uint_eq(o.ids[4], JD_CODE_MOVE);
	ck_assert_uint_eq(st.loads_in, 5);
	ck_assert_uint_eq(st.loads_kept, 4);
	free(o.buf);
	/* v1 alone at 25; v2 and v3 alike at 45 when dated alike (perf's order
	 * between them is not ours to guess: both kept). */
	free(d.p);
	memset(&d, 0, sizeof(d));
	hdr(&d);
	load_at(&d, 10, 0, 0x2000, "v0", 32);
	load_at(&d, 20, 1, 0x2000, "v1", 32);
	load_at(&d, 30, 2, 0x2000, "v2", 32);
	load_at(&d, 30, 3, 0x2000, "v3", 32);
	ck_assert_int_eq(prune_at(&d, (const struct jp_sample_at[]){ { 0x2001, 25 }, { 0x2002, 45 } }, 2, &o, &st), 0);
	ck_assert_int_eq(o.n, 3);
	ck_assert_uint_eq(o.index[0], 1);
	ck_assert_uint_eq(o.index[1], 2);
	ck_assert_uint_eq(o.index[2], 3);
	/* A sample of no time keeps every version. */
	free(o.buf);
	ck_assert_int_eq(prune_at(&d, (const struct jp_sample_at[]){ { 0x2001, 0 } }, 1, &o, &st), 0);
	ck_assert_int_eq(o.n, 4);
	free(o.buf);
	free(d.p);
}
END_TEST

/* A program killed mid-write leaves a cut-off record: perf stops there, and
 * so does the pruned dump; a header that is not a jitdump's is refused. */
START_TEST(test_malformed_dump)
{
	static const uint64_t addrs[] = { 0x1000, 0x1300 };
	struct jp_prune_stats st;
	struct pruned o;
	struct dbuf d;

	sample_dump(&d);
	d.len -= 3; /* the last LOAD cut short */
	ck_assert_int_eq(prune(&d, addrs, 2, &o, &st), 0);
	ck_assert_uint_eq(st.loads_kept, 1);
	ck_assert_int_eq(o.n, 4); /* piece 0 and its unwinding record, CLOSE, the sticky record */
	free(o.buf);
	d.p[0] ^= 0xff; /* not a jitdump at all */
	ck_assert_int_eq(prune(&d, addrs, 1, &o, &st), -EBADMSG);
	free(o.buf);
	free(d.p);
}
END_TEST

Suite *make_jd_prune_suite(void)
{
	Suite *s = suite_create("jd_prune");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_keeps_sampled_loads_and_their_records);
	tcase_add_test(t, test_attachments_wait_across_a_move);
	tcase_add_test(t, test_nothing_sampled);
	tcase_add_test(t, test_keeps_the_version_live_at_the_sample);
	tcase_add_test(t, test_malformed_dump);
	suite_add_tcase(s, t);
	return s;
}
