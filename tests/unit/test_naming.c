/* test_naming.c - what pieces are called (lib/naming.c), the table of names
 * the process publishes (lib/known.c) and cutting a view into pieces around
 * them (lib/pieces.c). */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "creator.h"
#include "hash.h"
#include "insn.h"
#include "known.h"
#include "naming.h"
#include "pieces.h"
#include "split.h"

#define ADDR 0x7f3400000000ull

static uint8_t code[4096];

static void setup(void)
{
	jp_hash_init();
	jp_known_reset();
	memset(code, 0xcc, sizeof(code));
}

/* push rbp; mov rbp,rsp; mov eax,k; pop rbp; ret (11 bytes). */
static void put_fn(size_t off, uint32_t k)
{
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0xb8, 0, 0, 0, 0, 0x5d, 0xc3 };

	memcpy(code + off, f, sizeof(f));
	memcpy(code + off + 5, &k, 4);
}

static struct jp_code_view view(uint64_t addr)
{
	struct jp_code_view v = { code, sizeof(code), addr, NULL };

	return v;
}

static struct jp_view_piece piece(uint64_t off, uint32_t len, uint32_t flags, uint32_t known)
{
	struct jp_view_piece p = { off, len, flags, 0, known };

	return p;
}

static int is_hex12(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- naming ---- */

START_TEST(made_up_name_is_creator_and_fingerprint)
{
	struct jp_code_view v = view(ADDR);
	struct jp_view_piece p = piece(0x100, 11, 0, 0);
	char name[128];
	uint32_t nh = 7;
	uint64_t fp, shape;

	put_fn(0x100, 1);
	jp_naming_name(name, sizeof(name), 0, &v, &p, &nh, &fp, &shape);
	ck_assert_int_eq(strncmp(name, "jit:unknown:", 12), 0);
	ck_assert(is_hex12(name + 12));
	ck_assert_uint_eq(strlen(name), 24);
	ck_assert_uint_eq(nh, 0);
	ck_assert_uint_ne(fp, 0);
	ck_assert_uint_ne(shape, 0);
	ck_assert_uint_eq(jp_naming_fingerprint(&v, &p, &shape), fp);
	ck_assert_uint_eq(jp_naming_shape(&v, &p), shape);
}
END_TEST

START_TEST(same_code_elsewhere_same_name)
{
	struct jp_code_view a = view(ADDR), b = view(ADDR + 0x123000);
	struct jp_view_piece p = piece(0x100, 11, 0, 0), q = piece(0x300, 11, 0, 0);
	char n1[128], n2[128];
	uint32_t nh;
	uint64_t fp, shape;

	put_fn(0x100, 5);
	put_fn(0x300, 5);
	jp_naming_name(n1, sizeof(n1), 0, &a, &p, &nh, &fp, &shape);
	jp_naming_name(n2, sizeof(n2), 0, &b, &q, &nh, &fp, &shape);
	ck_assert_str_eq(n1, n2);
}
END_TEST

/* The same code twice in one pass (QEMU translating a block again) gets
 * one name, whatever the order or grouping of passes: a number by order of
 * discovery changed from run to run. */
START_TEST(doubles_share_their_name)
{
	struct jp_code_view v = view(ADDR);
	struct jp_view_piece p = piece(0x100, 11, 0, 0), q = piece(0x300, 11, 0, 0);
	char n1[128], n2[128], n3[128];
	uint32_t nh;
	uint64_t fp, shape;

	put_fn(0x100, 5);
	put_fn(0x300, 5);
	jp_naming_name(n1, sizeof(n1), 0, &v, &p, &nh, &fp, &shape);
	jp_naming_name(n2, sizeof(n2), 0, &v, &q, &nh, &fp, &shape);
	jp_naming_name(n3, sizeof(n3), 0, &v, &q, &nh, &fp, &shape);
	ck_assert_ptr_null(strchr(n1, '#'));
	ck_assert_str_eq(n2, n1);
	ck_assert_str_eq(n3, n1);
}
END_TEST

START_TEST(data_is_a_stub)
{
	struct jp_code_view v = view(ADDR);
	struct jp_view_piece p = piece(0x100, 9, JP_PIECE_DATA, 0);
	char name[128];
	uint32_t nh;
	uint64_t fp = 1, shape = 1;

	jp_naming_name(name, sizeof(name), 0, &v, &p, &nh, &fp, &shape);
	ck_assert_str_eq(name, "jit:unknown:stub");
	ck_assert_uint_eq(fp, 0);
	ck_assert_uint_eq(shape, 0);
	ck_assert_uint_eq(jp_naming_fingerprint(&v, &p, &shape), 0);
}
END_TEST

START_TEST(published_name_wins)
{
	struct jp_code_view v = view(ADDR);
	struct jp_view_piece p = piece(0x100, 11, 0, 1);
	char name[128];
	uint32_t nh;
	uint64_t fp = 1, shape = 1;

	put_fn(0x100, 1);
	ck_assert_int_eq(jp_known_add(ADDR + 0x100, 11, "LazyCompile:*fib /tmp/a.js:1"), 1);
	jp_naming_name(name, sizeof(name), 0, &v, &p, &nh, &fp, &shape);
	ck_assert_str_eq(name, "LazyCompile:*fib /tmp/a.js:1");
	ck_assert_uint_ne(nh, 0);
	ck_assert_uint_eq(nh, jp_naming_known_hash(&p));
	ck_assert_uint_eq(fp, 0);
	ck_assert_uint_eq(jp_naming_shape(&v, &p), 0);
	/* A reference past the table (it shrank) is a made-up name again. */
	p.known = 5;
	ck_assert_uint_eq(jp_naming_known_hash(&p), 0);
	jp_naming_name(name, sizeof(name), 0, &v, &p, &nh, &fp, &shape);
	ck_assert_int_eq(strncmp(name, "jit:unknown:", 12), 0);
}
END_TEST

/* QEMU publishes its whole translation buffer as one function: that names
 * the area (and stands in for the creator), not a function, so the code in
 * it is still cut into pieces of its own. */
START_TEST(area_wide_name_is_the_creator)
{
	struct jp_code_view v = view(ADDR);
	struct jp_view_piece p = piece(0x100, 11, 0, 0);
	char name[128];
	uint32_t nh;
	uint64_t fp, shape;
	size_t n;

	put_fn(0x100, 1);
	ck_assert_int_eq(jp_known_add(ADDR - 0x1000, 128u << 20, "code_gen_buffer"), 0);
	jp_known_table(&n);
	ck_assert_uint_eq(n, 0);
	ck_assert(!jp_known_overlap(ADDR, 0x1000));
	ck_assert_str_eq(jp_known_area_name(ADDR + 0x100), "code_gen_buffer");
	ck_assert_ptr_null(jp_known_area_name(ADDR + (128u << 20)));
	jp_naming_name(name, sizeof(name), 0, &v, &p, &nh, &fp, &shape);
	ck_assert_int_eq(strncmp(name, "jit:code_gen_buffer:", 20), 0);
	ck_assert(is_hex12(name + 20));
	ck_assert_uint_eq(nh, 0);
	/* A function-sized name is a function's, as before. */
	ck_assert_int_eq(jp_known_add(ADDR + 0x100, 11, "f"), 1);
	jp_known_table(&n);
	ck_assert_uint_eq(n, 1);
	/* Registered again elsewhere: the area moves with it. */
	ck_assert_int_eq(jp_known_add(ADDR - 0x2000, 64u << 20, "code_gen_buffer2"), 0);
	ck_assert_str_eq(jp_known_area_name(ADDR + 0x100), "code_gen_buffer2");
}
END_TEST

START_TEST(creator_registry_names_this_call_site)
{
	jp_creator_id ids[2], id;
	volatile int twice = 2; /* a loop the compiler keeps: one call site */

	/* The same call chain, the same id. */
	for (int i = 0; i < twice; i++)
		ids[i] = jp_creator_register();
	id = ids[0];
	ck_assert_uint_ne(id, 0);
	ck_assert_uint_eq(ids[1], id);
	ck_assert_str_eq(jp_creator_id_name(0), "unknown");
	ck_assert_str_eq(jp_creator_id_name(999999), "unknown");
	ck_assert_ptr_nonnull(jp_creator_id_name(id));
	/* The engine's name (docs/naming.md): the code is made in the
	 * program itself (build/tests/unit-tests), so the program's short
	 * name -- not this test function, nothing mangled, no address. */
	ck_assert_str_eq(jp_creator_id_name(id), "unit");
	{
		struct jp_code_view v = view(ADDR);
		struct jp_view_piece p = piece(0x100, 11, 0, 0);
		char name[128];
		uint32_t nh;
		uint64_t fp, shape;

		put_fn(0x100, 1);
		jp_naming_name(name, sizeof(name), id, &v, &p, &nh, &fp, &shape);
		ck_assert_int_eq(strncmp(name, "jit:unit:", 9), 0);
		ck_assert(is_hex12(name + 9));
		ck_assert_uint_eq(strlen(name), 21);
	}
}
END_TEST

/* ---- published names ---- */

START_TEST(known_table_is_sorted_and_replaces_overlaps)
{
	size_t n;
	const struct jp_known *k;

	ck_assert_int_eq(jp_known_add(0x3000, 0x100, "c"), 1);
	ck_assert_int_eq(jp_known_add(0x1000, 0x100, "a"), 1);
	ck_assert_int_eq(jp_known_add(0x2000, 0x100, "b"), 1);
	ck_assert_int_eq(jp_known_add(0x2000, 0x100, "b"), 0); /* known already */
	ck_assert_int_eq(jp_known_add(0x4000, 0, "empty"), 0);
	ck_assert_int_eq(jp_known_add(0x4000, 0x10, ""), 0);
	k = jp_known_table(&n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(k[0].addr, 0x1000);
	ck_assert_uint_eq(k[2].addr, 0x3000);
	ck_assert_str_eq(jp_known_name(1), "b");
	ck_assert_ptr_null(jp_known_name(3));
	ck_assert_uint_eq(jp_known_nhash(3), 0);
	/* The runtime reused b's and c's bytes for one new function. */
	ck_assert_int_eq(jp_known_add(0x20f0, 0x1000, "d"), 1);
	k = jp_known_table(&n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(jp_known_name(1), "d");
	ck_assert_uint_eq(jp_known_lower(0x10ff), 0);
	ck_assert_uint_eq(jp_known_lower(0x1100), 1);
	ck_assert_int_eq(jp_known_overlap(0x1100, 0x10), 0);
	ck_assert_int_eq(jp_known_overlap(0x30e0, 0x100), 1);
	ck_assert_int_eq(jp_known_overlap(0x30f0, 0x100), 0);
	ck_assert_int_eq(jp_known_overlap(0x1000 - 0x10, 0x10), 0);
}
END_TEST

/* node run with --perf-basic-prof-only-functions lists a function in its
 * map; V8's heap names the same code too.  The map's name stays whichever
 * came first, so two runs name it alike. */
START_TEST(heap_names_yield_to_the_process_s_own)
{
	size_t n;

	/* The map first: the heap's name is refused, over all or part. */
	ck_assert_int_eq(jp_known_add(0x1000, 0x100, "JS:*kernel /a.js:15:16"), 1);
	ck_assert_int_eq(jp_known_add_flags(0x1000, 0x100, "JS:kernel /a.js", JP_KNOWN_FROM_HEAP), 0);
	ck_assert_int_eq(jp_known_add_flags(0x10f0, 0x100, "JS:mix /a.js", JP_KNOWN_FROM_HEAP), 0);
	ck_assert_str_eq(jp_known_name(0), "JS:*kernel /a.js:15:16");
	/* The heap first: the map's line replaces it when it is read. */
	ck_assert_int_eq(jp_known_add_flags(0x2000, 0x100, "JS:sieve /a.js", JP_KNOWN_FROM_HEAP), 1);
	ck_assert_int_eq(jp_known_add(0x2000, 0x100, "JS:*sieve /a.js:22:15"), 1);
	ck_assert_str_eq(jp_known_name(1), "JS:*sieve /a.js:22:15");
	ck_assert_uint_eq(jp_known_flags(1), 0);
	/* Heap names replace heap names (the address was reused), with their
	 * other flags. */
	ck_assert_int_eq(jp_known_add_flags(0x3000, 0x100, "Java:A.f", JP_KNOWN_FROM_HEAP), 1);
	ck_assert_int_eq(jp_known_add_flags(0x3000, 0x80, "Java:A.g", JP_KNOWN_FROM_HEAP | JP_KNOWN_NO_UNWIND), 1);
	(void)jp_known_table(&n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(jp_known_name(2), "Java:A.g");
	ck_assert_uint_eq(jp_known_flags(2), JP_KNOWN_FROM_HEAP | JP_KNOWN_NO_UNWIND);
}
END_TEST

START_TEST(refresh_returns_renamed_ranges)
{
	char path[64];
	const struct jp_range *ch;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "7f0000001000 40 first\n7f0000002000 80 second one\n");
	fclose(f);
	ck_assert(!jp_known_runtime_map());
	ck_assert_uint_eq(jp_known_refresh(1, &ch), 0);
	ck_assert(!jp_known_runtime_map());
	n = jp_known_refresh(0, &ch);
	ck_assert(jp_known_runtime_map()); /* V8's heap is no longer read */
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ch[0].start, 0x7f0000001000ull);
	ck_assert_uint_eq(ch[0].end, 0x7f0000001040ull);
	ck_assert_uint_eq(ch[1].start, 0x7f0000002000ull);
	ck_assert_uint_eq(ch[1].end, 0x7f0000002080ull);
	ck_assert_str_eq(jp_known_name(1), "second one"); /* runtime names keep their spaces */
	/* Nothing appended: nothing renamed. */
	ck_assert_uint_eq(jp_known_refresh(0, &ch), 0);
	f = fopen(path, "a");
	fprintf(f, "7f0000003000 10 third\n");
	fclose(f);
	/* The engine writing that very file itself skips it. */
	ck_assert_uint_eq(jp_known_refresh(1, &ch), 0);
	ck_assert_uint_eq(jp_known_refresh(0, &ch), 1);
	ck_assert_uint_eq(ch[0].start, 0x7f0000003000ull);
	unlink(path);
	jp_known_fork_child(); /* a child writes its own map, or none */
	ck_assert(!jp_known_runtime_map());
}
END_TEST

/* ---- pieces ---- */

START_TEST(cut_on_evidence_between_published_names)
{
	struct jp_view_piece out[16];
	struct jp_code_view v = view(ADDR);
	size_t n;

	put_fn(0x100, 1);
	put_fn(0x200, 2);
	put_fn(0x300, 3);
	n = jp_pieces_cut(&v, 0, sizeof(code), out, 16);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[1].off, 0x200);
	ck_assert_uint_eq(out[1].len, 11);
	ck_assert_uint_eq(out[1].known, 0);
	ck_assert_uint_eq(out[1].flags & JP_PIECE_FDE_FITS, JP_PIECE_FDE_FITS);
	/* A published name over the middle one and its padding. */
	ck_assert_int_eq(jp_known_add(ADDR + 0x1f0, 0x40, "mid"), 1);
	n = jp_pieces_cut(&v, 0, sizeof(code), out, 16);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[1].off, 0x1f0);
	ck_assert_uint_eq(out[1].len, 0x40);
	ck_assert_uint_eq(out[1].known, 1);
	ck_assert_uint_eq(out[1].flags, 0);
	ck_assert_uint_eq(out[2].off, 0x300);
	/* A window of the view: offsets stay the view's. */
	n = jp_pieces_cut(&v, 0x280, 0x400, out, 16);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].off, 0x300);
	/* No more than asked for. */
	ck_assert_uint_eq(jp_pieces_cut(&v, 0, sizeof(code), out, 2), 2);
}
END_TEST

START_TEST(memo_gives_the_same_fingerprints)
{
	void *mem = malloc(jp_insn_memo_size(1024, sizeof(code)));
	struct jp_insn_memo memo = { 0 };
	struct jp_view_piece out[16];
	struct jp_code_view plain = view(ADDR), memoized = view(ADDR);
	uint64_t s1, s2;
	size_t n;

	put_fn(0x100, 1);
	put_fn(0x200, 2);
	ck_assert_ptr_nonnull(mem);
	jp_insn_memo_init(&memo, mem, 1024, sizeof(code));
	jp_insn_memo_reset(&memo, code, sizeof(code));
	memoized.memo = &memo;
	n = jp_pieces_cut(&memoized, 0, sizeof(code), out, 16);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_gt(memo.n, 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(jp_naming_fingerprint(&memoized, &out[i], &s1),
				  jp_naming_fingerprint(&plain, &out[i], &s2));
	ck_assert_uint_eq(s1, s2);
	free(mem);
}
END_TEST

/* The room after a piece for its unwinding data: its filler, and data
 * pieces (never announced) up to the next piece that is; all that follows
 * the last piece announced. */
START_TEST(room_after_skips_data_pieces)
{
	const struct jp_view_piece p[] = {
		{ .off = 0, .len = 100, .gap_after = 12 },
		{ .off = 112, .len = 20, .flags = JP_PIECE_DATA, .gap_after = 4 },
		{ .off = 136, .len = 64, .gap_after = 0 },
		{ .off = 200, .len = 10, .flags = JP_PIECE_DATA, .gap_after = 6 },
	};

	ck_assert_uint_eq(jp_pieces_room_after(p, 4, 0), 36);
	ck_assert_uint_eq(jp_pieces_room_after(p, 4, 2), 16);
	ck_assert_uint_eq(jp_pieces_room_after(p, 3, 2), 0);
	ck_assert_uint_eq(jp_pieces_room_after(p, 1, 0), 12);
}
END_TEST

Suite *make_naming_suite(void)
{
	Suite *s = suite_create("naming");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, made_up_name_is_creator_and_fingerprint);
	tcase_add_test(tc, same_code_elsewhere_same_name);
	tcase_add_test(tc, doubles_share_their_name);
	tcase_add_test(tc, data_is_a_stub);
	tcase_add_test(tc, published_name_wins);
	tcase_add_test(tc, area_wide_name_is_the_creator);
	tcase_add_test(tc, creator_registry_names_this_call_site);
	tcase_add_test(tc, known_table_is_sorted_and_replaces_overlaps);
	tcase_add_test(tc, heap_names_yield_to_the_process_s_own);
	tcase_add_test(tc, refresh_returns_renamed_ranges);
	tcase_add_test(tc, cut_on_evidence_between_published_names);
	tcase_add_test(tc, memo_gives_the_same_fingerprints);
	tcase_add_test(tc, room_after_skips_data_pieces);
	suite_add_tcase(s, tc);
	return s;
}
