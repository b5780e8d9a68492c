/* test_jd_read.c - the jitdump reader: decoding, and every --check verdict with its offset. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jd_read.h"

#include "dump_builder.h"

static const unsigned char code_a[] = { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3 };
static const unsigned char code_b[] = { 0x55, 0x48, 0x89, 0xe5, 0x31, 0xc0, 0x5d, 0xc3 };

struct warns {
	int n;
	uint64_t off[8];
	char why[8][JP_JDR_REASON_MAX];
};

static void collect(void *arg, uint64_t off, const char *reason)
{
	struct warns *w = arg;

	if (w->n < 8) {
		w->off[w->n] = off;
		strncpy(w->why[w->n], reason, JP_JDR_REASON_MAX - 1);
	}
	w->n++;
}

/* Run the checker; assert it fails at off with a reason containing what. */
static void expect_error(const struct dbuf *b, uint64_t off, const char *what)
{
	struct jp_jdr_summary s;
	int r = jp_jdr_check(b->p, b->len, &s, NULL, NULL);

	ck_assert_int_eq(r, -EBADMSG);
	ck_assert_int_eq(s.valid, 0);
	ck_assert_msg(strstr(s.err, what), "reason '%s' lacks '%s'", s.err, what);
	ck_assert_msg(s.err_off == off, "offset %llu, expected %llu (%s)", (unsigned long long)s.err_off,
		      (unsigned long long)off, s.err);
}

static void expect_valid(const struct dbuf *b, struct jp_jdr_summary *s, struct warns *w)
{
	int r = jp_jdr_check(b->p, b->len, s, collect, w);

	ck_assert_msg(r == 0, "check failed at %llu: %s", (unsigned long long)s->err_off, s->err);
	ck_assert_int_eq(s->valid, 1);
}

/* ---- decoding -------------------------------------------------------------- */

START_TEST(test_valid_dump_decodes)
{
	struct dbuf b = { 0 };
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	size_t u0, l0, l1, mv, dbg, cl;

	hdr(&b);
	u0 = unwind(&b, 10, 20, 20, 0, 64);
	l0 = load(&b, 10, 0, "alpha", code_a, sizeof(code_a));
	l1 = load(&b, 11, 1, "beta", code_b, sizeof(code_b));
	mv = move(&b, 12, 1, 0x1100, 0x9000, sizeof(code_b));
	dbg = b.len;
	prefix(&b, JD_CODE_DEBUG_INFO, 32 + 16 + 5 + 16 + 2 + 1, 13);
	put64(&b, 0x1000);
	put64(&b, 2);
	put64(&b, 0x1002);
	put32(&b, 7);
	put32(&b, 0);
	put(&b, "a.js", 5);
	put64(&b, 0x1004);
	put32(&b, 8);
	put32(&b, 1);
	put(&b, "\xff", 2);
	put(&b, "", 1); /* one byte of padding, as V8 pads to 8 */
	cl = close_rec(&b, 14);

	ck_assert_int_eq(jp_jdr_open(&r, b.p, b.len), 0);
	ck_assert_uint_eq(r.hdr.pid, 4242);
	ck_assert_uint_eq(r.hdr.elf_mach, 62);

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_UNWINDING_INFO);
	ck_assert_uint_eq(rec.offset, u0);
	ck_assert_uint_eq(rec.u.unwind.unwinding_size, 20);
	ck_assert_uint_eq(rec.u.unwind.eh_frame_hdr_size, 20);
	ck_assert_uint_eq(rec.u.unwind.mapped_size, 0);
	ck_assert_uint_eq(rec.u.unwind.data_len, 24);
	ck_assert_uint_eq(rec.u.unwind.data[0], 1);

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_LOAD);
	ck_assert_uint_eq(rec.offset, l0);
	ck_assert_uint_eq(rec.timestamp, 10);
	ck_assert_uint_eq(rec.u.load.pid, 4242);
	ck_assert_uint_eq(rec.u.load.tid, 4243);
	ck_assert_uint_eq(rec.u.load.vma, 0x1000);
	ck_assert_uint_eq(rec.u.load.code_addr, 0x1000);
	ck_assert_uint_eq(rec.u.load.code_size, sizeof(code_a));
	ck_assert_uint_eq(rec.u.load.code_index, 0);
	ck_assert_str_eq(rec.u.load.name, "alpha");
	ck_assert_uint_eq(rec.u.load.name_len, 5);
	ck_assert_mem_eq(rec.u.load.code, code_a, sizeof(code_a));

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.offset, l1);
	ck_assert_str_eq(rec.u.load.name, "beta");
	ck_assert_mem_eq(rec.u.load.code, code_b, sizeof(code_b));

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_MOVE);
	ck_assert_uint_eq(rec.offset, mv);
	ck_assert_uint_eq(rec.u.move.old_code_addr, 0x1100);
	ck_assert_uint_eq(rec.u.move.new_code_addr, 0x9000);
	ck_assert_uint_eq(rec.u.move.code_index, 1);
	ck_assert_uint_eq(rec.u.move.code_size, sizeof(code_b));

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_DEBUG_INFO);
	ck_assert_uint_eq(rec.offset, dbg);
	ck_assert_uint_eq(rec.u.debug.nr_entry, 2);
	{
		struct jp_jdr_debug_cursor c = { 0, 0 };
		struct jp_jdr_debug_entry e;

		ck_assert_int_eq(jp_jdr_debug_next(&rec, &c, &e), 1);
		ck_assert_uint_eq(e.addr, 0x1002);
		ck_assert_int_eq(e.lineno, 7);
		ck_assert_str_eq(e.name, "a.js");
		ck_assert_int_eq(jp_jdr_debug_next(&rec, &c, &e), 1);
		ck_assert_int_eq(e.discrim, 1);
		ck_assert_str_eq(e.name, "\xff");
		ck_assert_int_eq(jp_jdr_debug_next(&rec, &c, &e), 0);
	}

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_CLOSE);
	ck_assert_uint_eq(rec.offset, cl);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 0);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 0);

	expect_valid(&b, &s, &w);
	ck_assert_int_eq(w.n, 0);
	ck_assert_uint_eq(s.records, 6);
	ck_assert_uint_eq(s.by_id[JD_CODE_LOAD], 2);
	ck_assert_uint_eq(s.by_id[JD_CODE_MOVE], 1);
	ck_assert_uint_eq(s.by_id[JD_CODE_DEBUG_INFO], 1);
	ck_assert_uint_eq(s.by_id[JD_CODE_CLOSE], 1);
	ck_assert_uint_eq(s.by_id[JD_CODE_UNWINDING_INFO], 1);
	ck_assert_uint_eq(s.code_bytes, sizeof(code_a) + sizeof(code_b));
	ck_assert_uint_eq(s.distinct_names, 2);
	ck_assert_uint_eq(s.ts_backwards, 0);
	ck_assert_uint_eq(s.bytes, b.len);
	free(b.p);
}
END_TEST

/* Records are packed and the buffer may sit anywhere: decode from an odd
 * address (UBSan flags any misaligned load). */
START_TEST(test_unaligned_buffer)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	unsigned char *odd;

	hdr(&b);
	load(&b, 1, 0, "x", code_a, 3); /* odd sizes misalign what follows */
	load(&b, 2, 1, "yy", code_b, 5);
	odd = malloc(b.len + 1);
	memcpy(odd + 1, b.p, b.len);
	{
		struct dbuf o = { odd + 1, b.len, b.len };

		expect_valid(&o, &s, &w);
	}
	ck_assert_uint_eq(s.by_id[JD_CODE_LOAD], 2);
	free(odd);
	free(b.p);
}
END_TEST

START_TEST(test_distinct_names_and_backwards_time)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };

	hdr(&b);
	load(&b, 50, 0, "same", code_a, sizeof(code_a));
	load(&b, 40, 1, "same", code_a, sizeof(code_a)); /* older: legal for perf */
	load(&b, 60, 2, "other", code_a, sizeof(code_a));
	load(&b, 30, 3, "same", code_a, sizeof(code_a));
	expect_valid(&b, &s, &w);
	ck_assert_uint_eq(s.distinct_names, 2);
	ck_assert_uint_eq(s.ts_backwards, 2);
	ck_assert_int_eq(w.n, 0);
	free(b.p);
}
END_TEST

START_TEST(test_unknown_id_skipped)
{
	struct dbuf b = { 0 };
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	size_t unk, l;

	hdr(&b);
	unk = b.len;
	prefix(&b, 77, 16 + 13, 3);
	put(&b, "thirteen byte", 13); /* an odd size: the next record follows it */
	l = load(&b, 4, 0, "after", code_a, sizeof(code_a));

	ck_assert_int_eq(jp_jdr_open(&r, b.p, b.len), 0);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, 77);
	ck_assert_uint_eq(rec.total_size, 29);
	ck_assert_str_eq(jp_jdr_type_name(rec.id), "UNKNOWN");
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.offset, l);
	ck_assert_str_eq(rec.u.load.name, "after");

	expect_valid(&b, &s, &w);
	ck_assert_uint_eq(s.unknown, 1);
	ck_assert_int_eq(w.n, 1);
	ck_assert_uint_eq(w.off[0], unk);
	ck_assert_ptr_nonnull(strstr(w.why[0], "unknown record id 77"));
	free(b.p);
}
END_TEST

/* A record with sound framing but contradictory fields is reported and
 * skipped; iteration resumes at the next record. */
START_TEST(test_iterator_recovers_after_bad_record)
{
	struct dbuf b = { 0 };
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	size_t bad, good;

	hdr(&b);
	bad = load(&b, 1, 0, "bad", code_a, sizeof(code_a));
	b.p[bad + 40] = 99; /* code_size no longer matches total_size */
	good = load(&b, 2, 1, "good", code_a, sizeof(code_a));
	ck_assert_int_eq(jp_jdr_open(&r, b.p, b.len), 0);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), -EBADMSG);
	ck_assert_uint_eq(r.err_off, bad);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.offset, good);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 0);
	free(b.p);
}
END_TEST

/* ---- header verdicts ------------------------------------------------------- */

START_TEST(test_empty_and_short_file)
{
	struct dbuf b = { 0 };
	struct jp_jdr r;

	put(&b, "", 0);
	expect_error(&b, 0, "empty file");
	hdr(&b);
	b.len = 39;
	expect_error(&b, 0, "shorter than the 40-byte");
	ck_assert_int_eq(jp_jdr_open(&r, b.p, b.len), -EBADMSG);
	free(b.p);
}
END_TEST

START_TEST(test_bad_magic)
{
	struct dbuf b = { 0 };

	hdr_full(&b, 0x12345678, 1, 40, 62, 0);
	expect_error(&b, 0, "bad magic 0x12345678");
	free(b.p);
}
END_TEST

START_TEST(test_swapped_magic)
{
	struct dbuf b = { 0 };
	struct jp_jdr r;

	hdr_full(&b, JD_MAGIC_SWAPPED, 1 << 24, 40 << 24, 62 << 24, 0);
	ck_assert_int_eq(jp_jdr_open(&r, b.p, b.len), -EPROTONOSUPPORT);
	expect_error(&b, 0, "other endianness");
	free(b.p);
}
END_TEST

START_TEST(test_version_2)
{
	struct dbuf b = { 0 };

	hdr_full(&b, JD_MAGIC, 2, 40, 62, 0);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	expect_error(&b, 4, "version 2");
	free(b.p);
}
END_TEST

START_TEST(test_header_size_48)
{
	struct dbuf b = { 0 };

	hdr_full(&b, JD_MAGIC, 1, 48, 62, 0);
	put64(&b, 0);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	expect_error(&b, 8, "header total_size 48");
	/* Larger than the file, and smaller than a header. */
	memcpy(b.p + 8, &(uint32_t){ 100000 }, 4);
	expect_error(&b, 8, "100000");
	memcpy(b.p + 8, &(uint32_t){ 20 }, 4);
	expect_error(&b, 8, "header total_size 20");
	free(b.p);
}
END_TEST

START_TEST(test_elf_mach_and_flags)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };

	hdr_full(&b, JD_MAGIC, 1, 40, 183, 0);
	expect_error(&b, 12, "elf_mach 183");
	b.len = 0;
	hdr_full(&b, JD_MAGIC, 1, 40, 62, 6);
	expect_error(&b, 32, "reserved header flags 0x6");
	b.len = 0;
	hdr_full(&b, JD_MAGIC, 1, 40, 62, JD_FLAG_ARCH_TIMESTAMP);
	expect_valid(&b, &s, &w);
	ck_assert_int_eq(w.n, 1);
	ck_assert_uint_eq(w.off[0], 32);
	free(b.p);
}
END_TEST

/* Header fields are judged in file order, before record framing. */
START_TEST(test_first_problem_wins)
{
	struct dbuf b = { 0 };

	hdr_full(&b, JD_MAGIC, 3, 4000, 183, 0);
	expect_error(&b, 4, "version 3");
	free(b.p);
}
END_TEST

/* ---- framing ----------------------------------------------------------------- */

START_TEST(test_truncated_record)
{
	struct dbuf b = { 0 };
	size_t last;

	hdr(&b);
	load(&b, 1, 0, "whole", code_a, sizeof(code_a));
	last = load(&b, 2, 1, "cut", code_b, sizeof(code_b));
	b.len--;
	expect_error(&b, last, "truncated LOAD record");
	/* Cut inside the prefix. */
	b.len = last + 9;
	expect_error(&b, last, "9 bytes left");
	/* Cut exactly at a record boundary is a valid dump. */
	b.len = last;
	{
		struct jp_jdr_summary s;
		struct warns w = { 0 };

		expect_valid(&b, &s, &w);
	}
	free(b.p);
}
END_TEST

START_TEST(test_total_size_below_16)
{
	struct dbuf b = { 0 };
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	size_t bad;

	hdr(&b);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	bad = b.len;
	prefix(&b, JD_CODE_CLOSE, 8, 2);
	close_rec(&b, 3);
	expect_error(&b, bad, "total_size 8 < 16");
	/* total_size 0 must not make the iterator spin. */
	memset(b.p + bad + 4, 0, 4);
	expect_error(&b, bad, "total_size 0 < 16");
	ck_assert_int_eq(jp_jdr_open(&r, b.p, b.len), 0);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), -EBADMSG);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 0);
	free(b.p);
}
END_TEST

/* ---- LOAD ------------------------------------------------------------------- */

START_TEST(test_duplicate_index)
{
	struct dbuf b = { 0 };
	size_t dup;

	hdr(&b);
	load(&b, 1, 5, "first", code_a, sizeof(code_a));
	load(&b, 2, 6, "second", code_a, sizeof(code_a));
	dup = load(&b, 3, 5, "again", code_a, sizeof(code_a));
	expect_error(&b, dup, "code_index 5 already used by the LOAD at offset 40");
	free(b.p);
}
END_TEST

/* Enough LOADs to make the index set grow several times. */
START_TEST(test_many_unique_indexes)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	size_t dup;

	hdr(&b);
	for (uint64_t i = 0; i < 5000; i++)
		load(&b, i, i * 7919 % 100003, "f", code_a, 1);
	expect_valid(&b, &s, &w);
	ck_assert_uint_eq(s.by_id[JD_CODE_LOAD], 5000);
	ck_assert_uint_eq(s.distinct_names, 1);
	dup = load(&b, 9, 4999 * 7919 % 100003, "g", code_a, 1);
	expect_error(&b, dup, "already used");
	free(b.p);
}
END_TEST

START_TEST(test_name_not_terminated)
{
	struct dbuf b = { 0 };
	size_t l;

	hdr(&b);
	l = b.len;
	prefix(&b, JD_CODE_LOAD, 56 + 4, 1);
	put32(&b, 4242);
	put32(&b, 4243);
	put64(&b, 0x1000);
	put64(&b, 0x1000);
	put64(&b, 0);
	put64(&b, 0);
	put(&b, "abcd", 4); /* no NUL before the record ends */
	close_rec(&b, 2);     /* whose zero bytes must not be taken for one */
	expect_error(&b, l, "not NUL-terminated");
	free(b.p);
}
END_TEST

START_TEST(test_load_size_mismatch)
{
	struct dbuf b = { 0 };
	size_t l;

	hdr(&b);
	l = load(&b, 1, 0, "f", code_a, sizeof(code_a));
	memcpy(b.p + l + 40, &(uint64_t){ 5 }, 8); /* code_size 5, record holds 6 */
	expect_error(&b, l, "!= 56 + name 1 + 1 + code_size 5");
	memcpy(b.p + l + 40, &(uint64_t){ UINT64_MAX }, 8);
	expect_error(&b, l, "code_size 18446744073709551615");
	/* Too small for the fixed part. */
	memcpy(b.p + l + 4, &(uint32_t){ 40 }, 4);
	expect_error(&b, l, "smaller than its 56-byte fixed part");
	free(b.p);
}
END_TEST

START_TEST(test_load_warnings)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	size_t l0, l1;

	hdr(&b);
	l0 = load(&b, 1, 0, "empty", code_a, 0);
	l1 = load(&b, 2, 1, "otherpid", code_a, sizeof(code_a));
	memcpy(b.p + l1 + 16, &(uint32_t){ 1 }, 4);
	expect_valid(&b, &s, &w);
	ck_assert_int_eq(w.n, 2);
	ck_assert_uint_eq(w.off[0], l0);
	ck_assert_ptr_nonnull(strstr(w.why[0], "code_size 0"));
	ck_assert_uint_eq(w.off[1], l1);
	ck_assert_ptr_nonnull(strstr(w.why[1], "pid 1 differs"));
	free(b.p);
}
END_TEST

/* ---- MOVE ----------------------------------------------------------------- */

START_TEST(test_move_of_unknown_index)
{
	struct dbuf b = { 0 };
	size_t m;

	hdr(&b);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	m = move(&b, 2, 3, 0x1000, 0x2000, sizeof(code_a));
	expect_error(&b, m, "MOVE of code_index 3, which no earlier LOAD created");
	/* A MOVE before any LOAD at all. */
	b.len = 0;
	hdr(&b);
	m = move(&b, 2, 0, 0x1000, 0x2000, sizeof(code_a));
	load(&b, 3, 0, "late", code_a, sizeof(code_a));
	expect_error(&b, m, "no earlier LOAD");
	/* A short MOVE. */
	b.len = 0;
	hdr(&b);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	m = b.len;
	prefix(&b, JD_CODE_MOVE, 40, 2);
	put(&b, code_a, sizeof(code_a));
	put(&b, code_a, sizeof(code_a));
	put(&b, code_a, sizeof(code_a));
	put(&b, code_a, 6);
	expect_error(&b, m, "smaller than the 64-byte");
	free(b.p);
}
END_TEST

START_TEST(test_move_size_differs_warns)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	size_t m;

	hdr(&b);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	m = move(&b, 2, 0, 0x1000, 0x2000, 99);
	expect_valid(&b, &s, &w);
	ck_assert_int_eq(w.n, 1);
	ck_assert_uint_eq(w.off[0], m);
	ck_assert_ptr_nonnull(strstr(w.why[0], "MOVE code_size 99 differs"));
	free(b.p);
}
END_TEST

/* ---- UNWINDING_INFO ----------------------------------------------------------- */

START_TEST(test_unwinding_sizes)
{
	struct dbuf b = { 0 };
	size_t u;

	/* eh_frame_hdr_size > unwinding_size */
	hdr(&b);
	u = unwind(&b, 1, 20, 24, 0, 64);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	expect_error(&b, u, "eh_frame_hdr_size 24 > unwinding_size 20");

	/* unwinding_size + 40 > total_size */
	b.len = 0;
	hdr(&b);
	u = unwind(&b, 1, 32, 20, 0, 64);
	expect_error(&b, u, "unwinding_size 32 + 40 > total_size 64");
	memcpy(b.p + u + 16, &(uint64_t){ UINT64_MAX - 20 }, 8);
	expect_error(&b, u, "+ 40 > total_size 64");

	/* total_size too small for the fixed part */
	b.len = 0;
	hdr(&b);
	u = b.len;
	prefix(&b, JD_CODE_UNWINDING_INFO, 32, 1);
	put64(&b, 0);
	put64(&b, 0);
	expect_error(&b, u, "smaller than its 40-byte fixed part");

	/* eh_frame_hdr version byte */
	b.len = 0;
	hdr(&b);
	u = unwind(&b, 1, 20, 20, 0, 64);
	b.p[u + 40] = 2;
	expect_error(&b, u, "version byte is 2");
	free(b.p);
}
END_TEST

START_TEST(test_unwinding_mapped_size)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	size_t u;

	/* mapped_size == unwinding_size (ours, V8's) */
	hdr(&b);
	unwind(&b, 1, 80, 20, 80, 120);
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	/* CPython rounds mapped_size up to 16 */
	unwind(&b, 2, 84, 20, 96, 128);
	load(&b, 2, 1, "g", code_a, sizeof(code_a));
	expect_valid(&b, &s, &w);
	ck_assert_int_eq(w.n, 0);

	/* larger: would cover the neighbour's code */
	u = unwind(&b, 3, 80, 20, 4096, 120);
	expect_error(&b, u, "mapped_size 4096");
	/* smaller than the data it must map */
	memcpy(b.p + u + 32, &(uint64_t){ 40 }, 8);
	expect_error(&b, u, "mapped_size 40");
	free(b.p);
}
END_TEST

START_TEST(test_unwinding_warnings)
{
	struct dbuf b = { 0 };
	struct jp_jdr_summary s;
	struct warns w = { 0 };
	size_t u0, u1;

	hdr(&b);
	u0 = unwind(&b, 1, 80, 20, 0, 120); /* an FDE perf will not use */
	load(&b, 1, 0, "f", code_a, sizeof(code_a));
	u1 = unwind(&b, 2, 8, 0, 0, 48); /* sticks to every later LOAD */
	load(&b, 2, 1, "g", code_a, sizeof(code_a));
	expect_valid(&b, &s, &w);
	ck_assert_int_eq(w.n, 2);
	ck_assert_uint_eq(w.off[0], u0);
	ck_assert_ptr_nonnull(strstr(w.why[0], "mapped_size 0"));
	ck_assert_uint_eq(w.off[1], u1);
	ck_assert_ptr_nonnull(strstr(w.why[1], "eh_frame_hdr_size 0"));
	free(b.p);
}
END_TEST

/* ---- DEBUG_INFO ----------------------------------------------------------------- */

START_TEST(test_debug_info_overflow)
{
	struct dbuf b = { 0 };
	size_t d;

	hdr(&b);
	d = b.len;
	prefix(&b, JD_CODE_DEBUG_INFO, 32 + 16 + 3, 1);
	put64(&b, 0x1000);
	put64(&b, 2); /* claims two entries, holds one */
	put64(&b, 0x1000);
	put32(&b, 1);
	put32(&b, 0);
	put(&b, "a.", 3);
	expect_error(&b, d, "DEBUG_INFO entry 1 of nr_entry 2");
	/* a huge count stops at the data's end */
	memcpy(b.p + d + 24, &(uint64_t){ UINT64_MAX }, 8);
	expect_error(&b, d, "entry 1 of nr_entry 18446744073709551615");
	/* an unterminated name */
	memcpy(b.p + d + 24, &(uint64_t){ 1 }, 8);
	b.p[b.len - 1] = 'x';
	expect_error(&b, d, "entry 0 of nr_entry 1");
	/* too short for the fixed part */
	memcpy(b.p + d + 4, &(uint32_t){ 24 }, 4);
	b.len = d + 24;
	expect_error(&b, d, "smaller than its 32-byte fixed part");
	free(b.p);
}
END_TEST

Suite *make_jd_read_suite(void)
{
	Suite *s = suite_create("jd_read");
	TCase *t = tcase_create("decode");

	tcase_add_test(t, test_valid_dump_decodes);
	tcase_add_test(t, test_unaligned_buffer);
	tcase_add_test(t, test_distinct_names_and_backwards_time);
	tcase_add_test(t, test_unknown_id_skipped);
	tcase_add_test(t, test_iterator_recovers_after_bad_record);
	suite_add_tcase(s, t);

	t = tcase_create("check");
	tcase_add_test(t, test_empty_and_short_file);
	tcase_add_test(t, test_bad_magic);
	tcase_add_test(t, test_swapped_magic);
	tcase_add_test(t, test_version_2);
	tcase_add_test(t, test_header_size_48);
	tcase_add_test(t, test_elf_mach_and_flags);
	tcase_add_test(t, test_first_problem_wins);
	tcase_add_test(t, test_truncated_record);
	tcase_add_test(t, test_total_size_below_16);
	tcase_add_test(t, test_duplicate_index);
	tcase_add_test(t, test_many_unique_indexes);
	tcase_add_test(t, test_name_not_terminated);
	tcase_add_test(t, test_load_size_mismatch);
	tcase_add_test(t, test_load_warnings);
	tcase_add_test(t, test_move_of_unknown_index);
	tcase_add_test(t, test_move_size_differs_warns);
	tcase_add_test(t, test_unwinding_sizes);
	tcase_add_test(t, test_unwinding_mapped_size);
	tcase_add_test(t, test_unwinding_warnings);
	tcase_add_test(t, test_debug_info_overflow);
	suite_add_tcase(s, t);
	return s;
}
