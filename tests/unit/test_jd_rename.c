/* test_jd_rename.c - a runtime's late perf map applied to a finished dump. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jd_read.h"
#include "jd_rename.h"
#include "jitdump.h"

#include "dump_builder.h"

/* A LOAD at addr whose code bytes are (addr + i) & 0xff, so that a renamed
 * LOAD's bytes show where they came from. */
/* The same with n bytes from byte k changed (code patched, or other code). */
static void load_changed(struct dbuf *b, uint64_t ts, uint64_t index, uint64_t addr, uint64_t size, const char *name,
			 uint64_t k, uint64_t n)
{
	unsigned char *code = malloc(size ? size : 1);

	ck_assert_ptr_nonnull(code);
	for (uint64_t i = 0; i < size; i++)
		code[i] = (unsigned char)(addr + i) ^ (unsigned char)(i >= k && i < k + n ? 0x5a : 0);
	load_addr(b, ts, index, addr, name, code, size);
	free(code);
}

static void load_at(struct dbuf *b, uint64_t ts, uint64_t index, uint64_t addr, uint64_t size, const char *name)
{
	load_changed(b, ts, index, addr, size, name, 0, 0);
}

struct out_load {
	uint64_t ts, addr, size, index;
	char name[64];
	int unwind_before; /* an UNWINDING_INFO came right before it */
	uint64_t mapped;   /* that record's mapped_size (0: an empty table) */
	int bytes_ok;      /* each byte is (addr + i) & 0xff */
};

struct applied {
	struct out_load l[16];
	int n, records;
	uint32_t last_id;
	struct jp_rename_stats st;
};

static int apply(const struct dbuf *in, const struct jp_map_entry *map, size_t n, uint64_t before,
		 struct applied *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	struct jp_jdr_summary sum;
	int rc, unwind = 0;
	uint64_t mapped = 0;

	ck_assert_ptr_nonnull(f);
	rc = jp_jd_apply_map(in->p, in->len, map, n, before, f, &a->st);
	fclose(f);
	a->n = a->records = 0;
	if (rc == 0) {
		/* the result is a dump perf takes: unique indices, sound records */
		ck_assert_int_eq(jp_jdr_check(buf, len, &sum, NULL, NULL), 0);
		ck_assert_int_eq(jp_jdr_open(&r, buf, len), 0);
		while (jp_jdr_next(&r, &rec) > 0) {
			a->records++;
			a->last_id = rec.id;
			if (rec.id == JD_CODE_LOAD) {
				struct out_load *o = &a->l[a->n++];

				ck_assert_int_le(a->n, 16);
				o->ts = rec.timestamp;
				o->addr = rec.u.load.code_addr;
				o->size = rec.u.load.code_size;
				o->index = rec.u.load.code_index;
				snprintf(o->name, sizeof(o->name), "%s", rec.u.load.name);
				o->unwind_before = unwind;
				o->mapped = unwind ? mapped : 0;
				o->bytes_ok = 1;
				for (uint64_t i = 0; i < o->size; i++)
					o->bytes_ok &= rec.u.load.code[i] == (unsigned char)(o->addr + i);
			}
			unwind = rec.id == JD_CODE_UNWINDING_INFO;
			mapped = unwind ? rec.u.unwind.mapped_size : 0;
		}
	}
	free(buf);
	return rc;
}

static const struct out_load *find(const struct applied *a, const char *name)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->l[i].name, name))
			return &a->l[i];
	return NULL;
}

START_TEST(test_whole_function_renamed)
{
	struct dbuf b = { 0 };
	struct applied a;
	const struct out_load *o;
	struct jp_map_entry map[] = { { 0x1000, 0x100, "int W.fib(int)" } };

	hdr(&b);
	unwind(&b, 10, 20, 20, 0, 64);
	load_at(&b, 10, 3, 0x1000, 0x100, "jit:libjvm:aaaa");
	ck_assert_int_eq(apply(&b, map, 1, 0, &a), 0);
	/* the synthetic LOAD and its unwinding record are gone */
	ck_assert_int_eq(a.n, 1);
	ck_assert_int_eq(a.records, 2);
	o = find(&a, "int W.fib(int)");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->addr, 0x1000);
	ck_assert_uint_eq(o->size, 0x100);
	ck_assert_uint_eq(o->ts, 10); /* its original time */
	ck_assert_uint_eq(o->index, 4);
	ck_assert(o->bytes_ok);
	ck_assert(o->unwind_before);
	ck_assert_uint_eq(a.st.loads_dropped, 1);
	ck_assert_uint_eq(a.st.loads_added, 1);
	ck_assert_uint_eq(a.st.entries_jit, 1);
	free(b.p);
}
END_TEST

/* New LOADs take indices no record names: above the largest, or, when a
 * dump names the largest index there is, in the lowest free gap (found by
 * the fuzzer: UINT64_MAX + 1 wrapped to an index in use). */
START_TEST(test_new_indices_are_free)
{
	struct dbuf b = { 0 };
	struct applied a;
	const struct out_load *o;
	struct jp_map_entry map[] = { { 0x1000, 0x100, "renamed" } };

	hdr(&b);
	load_at(&b, 10, 0, 0x1000, 0x100, "jit:x:aaaa");
	load_at(&b, 11, UINT64_MAX, 0x2000, 0x100, "jit:x:bbbb");
	load_at(&b, 12, 1, 0x3000, 0x100, "jit:x:cccc");
	ck_assert_int_eq(apply(&b, map, 1, 0, &a), 0); /* apply() checks indices are unique */
	o = find(&a, "renamed");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->index, 2);
	free(b.p);
}
END_TEST

/* A piece renamed whole keeps its unwinding data (the rules describe the
 * same bytes at the same place); renamed in part, or the one of several
 * pieces, it falls back to the empty table. */
START_TEST(test_unwinding_data_kept_when_whole)
{
	struct dbuf b = { 0 };
	struct applied a;
	const struct out_load *o;
	unsigned char rec[JD_FDE_UNWIND_RECORD];
	size_t n = jp_unwind_record(rec, JP_UNWIND_FP_FDE, 0x100, 10);
	struct jp_map_entry map[] = { { 0x1000, 0x100, "int W.fib(int)" }, { 0x3000, 0x40, "int W.part(int)" } };

	ck_assert_uint_gt(n, 40);
	hdr(&b);
	put(&b, rec, n);
	load_at(&b, 10, 3, 0x1000, 0x100, "jit:libjvm:aaaa");
	n = jp_unwind_record(rec, JP_UNWIND_FP_FDE, 0x80, 11);
	put(&b, rec, n);
	load_at(&b, 11, 4, 0x3000, 0x80, "jit:libjvm:bbbb");
	ck_assert_int_eq(apply(&b, map, 2, 0, &a), 0);
	o = find(&a, "int W.fib(int)");
	ck_assert_ptr_nonnull(o);
	ck_assert(o->unwind_before);
	ck_assert_uint_gt(o->mapped, 0);
	ck_assert_uint_eq(o->ts, 10);
	o = find(&a, "int W.part(int)");
	ck_assert_ptr_nonnull(o);
	ck_assert(o->unwind_before);
	ck_assert_uint_eq(o->mapped, 0); /* its rules would claim bytes past it */
	/* the unrenamed rest keeps its record */
	o = find(&a, "jit:libjvm:bbbb");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_gt(o->mapped, 0);
	free(b.p);
}
END_TEST

START_TEST(test_function_over_two_pieces)
{
	struct dbuf b = { 0 };
	struct applied a;
	const struct out_load *o;
	struct jp_map_entry map[] = { { 0x2000, 0x80, "W:Fib (int)" } };

	hdr(&b);
	load_at(&b, 20, 1, 0x2040, 0x40, "jit:mono:2");
	load_at(&b, 10, 0, 0x2000, 0x40, "jit:mono:1");
	ck_assert_int_eq(apply(&b, map, 1, 0, &a), 0);
	ck_assert_int_eq(a.n, 1);
	o = find(&a, "W:Fib (int)");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->addr, 0x2000);
	ck_assert_uint_eq(o->size, 0x80);
	ck_assert_uint_eq(o->ts, 10); /* the earliest of its pieces */
	ck_assert(o->bytes_ok);
	ck_assert_uint_eq(a.st.loads_dropped, 2);
	free(b.p);
}
END_TEST

START_TEST(test_part_of_a_piece)
{
	struct dbuf b = { 0 };
	struct applied a;
	const struct out_load *o;
	struct jp_map_entry map[] = { { 0x3000, 0x80, "f" }, { 0x9000, 0x10, "Builtin:outside" } };

	hdr(&b);
	load_at(&b, 30, 0, 0x3000, 0x100, "jit:x:3");
	ck_assert_int_eq(apply(&b, map, 2, 0, &a), 0);
	/* the piece stays for the bytes the map does not list; the renamed
	 * LOAD comes 1 ns later so that it wins where they overlap */
	ck_assert_int_eq(a.n, 2);
	ck_assert_ptr_nonnull(find(&a, "jit:x:3"));
	o = find(&a, "f");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->size, 0x80);
	ck_assert_uint_eq(o->ts, 31);
	ck_assert(o->bytes_ok);
	ck_assert_ptr_null(find(&a, "Builtin:outside"));
	ck_assert_uint_eq(a.st.entries_alive, 2);
	ck_assert_uint_eq(a.st.entries_jit, 1);
	ck_assert_uint_eq(a.st.loads_dropped, 0);
	free(b.p);
}
END_TEST

START_TEST(test_reused_address)
{
	struct dbuf b = { 0 };
	struct applied a;
	const struct out_load *o;
	/* the runtime listed f_old, then reused the address for f_new */
	struct jp_map_entry map[] = { { 0x4000, 0x100, "f_old" }, { 0x4000, 0x80, "f_new" } };

	hdr(&b);
	load_at(&b, 1, 0, 0x4000, 0x100, "jit:x:old");
	load_at(&b, 5, 1, 0x4000, 0x80, "jit:x:new");
	ck_assert_int_eq(apply(&b, map, 2, 0, &a), 0);
	ck_assert_ptr_null(find(&a, "f_old"));
	o = find(&a, "f_new");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(o->ts, 5);
	ck_assert_uint_eq(o->size, 0x80);
	/* the old code keeps its synthetic name: it was not alive at the end */
	ck_assert_ptr_nonnull(find(&a, "jit:x:old"));
	ck_assert_ptr_null(find(&a, "jit:x:new"));
	ck_assert_uint_eq(a.st.entries_alive, 1);
	free(b.p);
}
END_TEST

START_TEST(test_patched_code)
{
	struct dbuf b = { 0 };
	struct applied a;
	int p_copy = 0, r_copy = 0;
	struct jp_map_entry map[] = { { 0x4000, 0x100, "p" }, { 0x6000, 0x100, "q" }, { 0x5000, 0x80, "r" } };

	hdr(&b);
	/* p: described at 1, patched (3 bytes changed), described again at
	 * 5; the shim's pieces run one byte past the runtime's function */
	load_changed(&b, 1, 0, 0x4000, 0x101, "jit:x:p1", 0x20, 3);
	load_at(&b, 5, 1, 0x4000, 0x101, "jit:x:p2");
	/* q: the address held other code (half its bytes differ) */
	load_changed(&b, 2, 2, 0x6000, 0x100, "jit:x:q1", 0, 0x80);
	load_at(&b, 6, 3, 0x6000, 0x100, "jit:x:q2");
	/* r: patched, pieces exactly the function */
	load_changed(&b, 3, 4, 0x5000, 0x80, "jit:x:r1", 0x10, 2);
	load_at(&b, 7, 5, 0x5000, 0x80, "jit:x:r2");
	ck_assert_int_eq(apply(&b, map, 3, 0, &a), 0);
	for (int i = 0; i < a.n; i++) {
		if (!strcmp(a.l[i].name, "p") && a.l[i].ts == 2) {
			p_copy = 1; /* the entry's part, 1 ns after the piece it wins over */
			ck_assert_uint_eq(a.l[i].addr, 0x4000);
			ck_assert_uint_eq(a.l[i].size, 0x100);
		}
		r_copy |= !strcmp(a.l[i].name, "r") && a.l[i].ts == 3 && a.l[i].size == 0x80;
	}
	ck_assert(p_copy);
	ck_assert(r_copy);
	ck_assert_ptr_nonnull(find(&a, "jit:x:p1")); /* its last byte keeps its name */
	ck_assert_ptr_null(find(&a, "jit:x:r1"));    /* replaced */
	ck_assert_ptr_nonnull(find(&a, "jit:x:q1")); /* other code: as it was */
	ck_assert_uint_eq(a.st.loads_older, 2);
	free(b.p);
}
END_TEST

START_TEST(test_nothing_to_do)
{
	struct dbuf b = { 0 };
	struct applied a;
	struct jp_map_entry map[] = {
		{ 0x5000, 0x10, "JS:*g /a.js:1:1" }, /* named already by the shim */
		{ 0x6000, 0x10, "late" },            /* captured after the map */
		{ 0x7000, 0, "empty" },
		{ 0x8000, JP_RENAME_ENTRY_MAX + 1, "code_gen_buffer" },
	};

	hdr(&b);
	load_at(&b, 1, 0, 0x5000, 0x10, "JS:*g /a.js:1:1");
	load_at(&b, 100, 1, 0x6000, 0x10, "jit:x:6");
	load_at(&b, 2, 2, 0x8000, 0x10, "jit:x:8");
	ck_assert_int_eq(apply(&b, map, 4, 50, &a), 0);
	ck_assert_int_eq(a.n, 3);
	ck_assert_uint_eq(a.st.loads_added, 0);
	ck_assert_uint_eq(a.st.loads_dropped, 0);
	ck_assert_uint_eq(a.st.entries_named, 1);
	ck_assert_uint_eq(a.st.entries_alive, 2);
	free(b.p);
}
END_TEST

START_TEST(test_moved_code_kept)
{
	struct dbuf b = { 0 };
	struct applied a;
	struct jp_map_entry map[] = { { 0x1000, 0x40, "h" }, { 0x9000, 0x40, "h_moved" } };

	hdr(&b);
	load_at(&b, 1, 7, 0x1000, 0x40, "jit:x:7");
	move(&b, 2, 7, 0x1000, 0x9000, 0x40);
	ck_assert_int_eq(apply(&b, map, 2, 0, &a), 0);
	/* the LOAD a MOVE refers to stays; code at a MOVE is not renamed */
	ck_assert_ptr_nonnull(find(&a, "jit:x:7"));
	ck_assert_ptr_nonnull(find(&a, "h"));
	ck_assert_ptr_null(find(&a, "h_moved"));
	free(b.p);
}
END_TEST

START_TEST(test_other_records_kept)
{
	static const unsigned char code[4] = { 0x90, 0x90, 0x90, 0xc3 };
	struct dbuf b = { 0 };
	struct applied a;
	struct jp_map_entry map[] = { { 0x1200, 4, "k" } };

	hdr(&b);
	load(&b, 1, 2, "jit:x:k", code, sizeof(code)); /* at 0x1200 */
	close_rec(&b, 3);
	ck_assert_int_eq(apply(&b, map, 1, 0, &a), 0);
	ck_assert_int_eq(a.n, 1);
	ck_assert_ptr_nonnull(find(&a, "k"));
	ck_assert_int_eq(a.records, 3); /* the unwinding table, the LOAD, CLOSE */
	ck_assert_int_eq(a.last_id, JD_CODE_CLOSE); /* perf reads nothing after it */
	free(b.p);
}
END_TEST

/* Corrupt dumps and odd maps: an answer, never a crash (the ASan build
 * runs this too). */
START_TEST(test_corrupt_input)
{
	struct dbuf b = { 0 };
	struct jp_map_entry map[] = { { 0x1000, 0x40, "a" }, { 0x1020, 0x40, "b" }, { ~0ull - 8, 0x40, "wrap" },
				      { 0x1000, 0x1000, "" }, { 0x2000, 0x10, "c" } };
	uint64_t x = 42;

	hdr(&b);
	load_at(&b, 1, 0, 0x1000, 0x80, "jit:x:1");
	unwind(&b, 2, 20, 20, 0, 64);
	load_at(&b, 2, 1, 0x1040, 0x80, "jit:x:2");
	move(&b, 3, 1, 0x1040, 0x2000, 0x80);
	load_at(&b, 4, 2, 0x1000, 0x20, "jit:x:3");
	for (int round = 0; round < 300; round++) {
		unsigned char *copy = malloc(b.len);
		size_t len = b.len - (size_t)(round % 7) * 3;
		char *out = NULL;
		size_t out_len = 0;
		FILE *f;
		struct jp_rename_stats st;
		int rc;

		memcpy(copy, b.p, b.len);
		for (int k = 0; k < 4; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			copy[40 + (x >> 33) % (b.len - 40)] ^= (unsigned char)(x >> 13);
		}
		f = open_memstream(&out, &out_len);
		rc = jp_jd_apply_map(copy, len, map, 5, 0, f, &st);
		fclose(f);
		ck_assert(rc == 0 || rc == -EBADMSG);
		free(out);
		free(copy);
	}
	free(b.p);
}
END_TEST

START_TEST(test_not_a_dump)
{
	struct dbuf b = { 0 };
	struct applied a;

	put32(&b, 0x12345678);
	ck_assert_int_eq(apply(&b, NULL, 0, 0, &a), -EBADMSG);
	free(b.p);
}
END_TEST

Suite *make_jd_rename_suite(void)
{
	Suite *s = suite_create("jd_rename");
	TCase *tc = tcase_create("apply");

	tcase_add_test(tc, test_whole_function_renamed);
	tcase_add_test(tc, test_new_indices_are_free);
	tcase_add_test(tc, test_unwinding_data_kept_when_whole);
	tcase_add_test(tc, test_function_over_two_pieces);
	tcase_add_test(tc, test_part_of_a_piece);
	tcase_add_test(tc, test_reused_address);
	tcase_add_test(tc, test_patched_code);
	tcase_add_test(tc, test_nothing_to_do);
	tcase_add_test(tc, test_moved_code_kept);
	tcase_add_test(tc, test_other_records_kept);
	tcase_add_test(tc, test_corrupt_input);
	tcase_add_test(tc, test_not_a_dump);
	suite_add_tcase(s, tc);
	return s;
}
