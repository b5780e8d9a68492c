/* test_split.c - function-sized pieces: padding, prologues, size cap, determinism, and speed. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "split.h"

static const uint8_t FP[] = { 0x55, 0x48, 0x89, 0xe5 };                    /* push rbp; mov rbp,rsp */
static const uint8_t ENDBR[] = { 0xf3, 0x0f, 0x1e, 0xfa };                 /* endbr64 */
static const uint8_t BODY[] = { 0x48, 0x89, 0xf8, 0x48, 0x01, 0xf0 };     /* mov rax,rdi; add rax,rsi */
static const uint8_t EPI[] = { 0x5d, 0xc3 };                               /* pop rbp; ret */
static const uint8_t NOP10[] = { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }; /* cs nopw 0(%rax,%rax,1) */
static const uint8_t NOP4[] = { 0x0f, 0x1f, 0x40, 0x00 };

struct cbuf {
	uint8_t b[1 << 16];
	size_t n;
};

static void put(struct cbuf *c, const void *p, size_t n)
{
	ck_assert_uint_le(c->n + n, sizeof(c->b));
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

static void fill(struct cbuf *c, uint8_t v, size_t n)
{
	ck_assert_uint_le(c->n + n, sizeof(c->b));
	memset(c->b + c->n, v, n);
	c->n += n;
}

/* a small frame-pointer function ending with epi */
static void func_ending(struct cbuf *c, const void *epi, size_t n)
{
	put(c, FP, sizeof(FP));
	put(c, BODY, sizeof(BODY));
	put(c, epi, n);
}

/* a small frame-pointer function: 12 bytes */
static size_t func(struct cbuf *c)
{
	size_t at = c->n;

	func_ending(c, EPI, sizeof(EPI));
	return at;
}

static void check_invariants(const struct jp_piece *p, size_t n, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ck_assert_uint_gt(p[i].length, 0);
		ck_assert_uint_le(p[i].length, JP_SPLIT_MAX_PIECE);
		ck_assert_uint_le(p[i].offset + p[i].length + p[i].gap_after, len);
		if (i)
			ck_assert_uint_le(p[i - 1].offset + p[i - 1].length + p[i - 1].gap_after,
					  p[i].offset);
	}
}

START_TEST(test_empty_and_all_padding)
{
	static uint8_t buf[4096];
	struct jp_piece p[8];
	size_t i;

	ck_assert_uint_eq(jp_split(buf, 0, 0x1000, p, 8), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(jp_split(buf, sizeof(buf), 0x1000, p, 8), 0);
	ck_assert(jp_split_all_padding(buf, sizeof(buf)));
	memset(buf, 0xcc, sizeof(buf));
	ck_assert_uint_eq(jp_split(buf, sizeof(buf), 0x1000, p, 8), 0);
	/* NOP fill of every kind, mixed with int3 and zeros */
	for (i = 0; i + 16 <= sizeof(buf); i += 16) {
		memcpy(buf + i, NOP10, sizeof(NOP10));
		memcpy(buf + i + 10, NOP4, sizeof(NOP4));
		buf[i + 14] = 0x90;
		buf[i + 15] = (i & 32) ? 0xcc : 0x00;
	}
	ck_assert_uint_eq(jp_split(buf, sizeof(buf), 0x1000, p, 8), 0);
	ck_assert(jp_split_all_padding(buf, sizeof(buf)));
	buf[110] = 0xc3; /* a ret where a one-byte nop was */
	ck_assert(!jp_split_all_padding(buf, sizeof(buf)));
	/* no output room: nothing written */
	ck_assert_uint_eq(jp_split(buf, sizeof(buf), 0x1000, p, 0), 0);
}
END_TEST

/* A JIT's own fill byte (hlt, 0xff) where code cannot run into it is
 * filler like int3: the functions come out function-sized.  The same run
 * where the code before it falls through stays in the piece. */
START_TEST(test_fill_byte_runs)
{
	static struct cbuf c;
	static const uint8_t MOV[] = { 0x48, 0x89, 0xf8 }; /* mov rax,rdi (falls through) */
	struct jp_piece p[8];
	size_t a, b, n;

	c.n = 0;
	fill(&c, 0xf4, 64);         /* leading hlt fill: dropped */
	a = func(&c);
	fill(&c, 0xf4, 100);
	b = func(&c);
	fill(&c, 0xff, 40);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	ck_assert_uint_eq(n, 2);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(p[0].offset, a);
	ck_assert_uint_eq(p[0].length, 12);
	ck_assert_uint_eq(p[0].gap_after, 100);
	ck_assert_uint_eq(p[1].offset, b);
	ck_assert_uint_eq(p[1].length, 12);
	ck_assert_uint_eq(p[1].gap_after, 40);
	/* fewer than 16: not a fill byte, decoded as code */
	c.n = 0;
	func(&c);
	fill(&c, 0xf4, 15);
	func(&c);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	ck_assert_uint_ge(p[0].length + p[0].gap_after, 12);
	ck_assert(p[0].length > 12 || n == 2);
	/* after code that falls through, a run (of push rax, here) is the
	 * piece's */
	c.n = 0;
	put(&c, FP, sizeof(FP));
	put(&c, MOV, sizeof(MOV));
	fill(&c, 0x50, 32);
	put(&c, EPI, sizeof(EPI));
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(p[0].length, c.n);
	/* a page of one fill byte is all padding */
	memset(c.b, 0xf4, 4096);
	ck_assert(jp_split_all_padding(c.b, 4096));
	ck_assert_uint_eq(jp_split(c.b, 4096, 0x7f0000001000, p, 8), 0);
}
END_TEST

/* int3 and zero filler separate functions and belong to none of them */
START_TEST(test_int3_and_zero_padding)
{
	static struct cbuf c;
	struct jp_piece p[8];
	size_t a, b, d, n;

	c.n = 0;
	fill(&c, 0, 32);            /* leading zeros: dropped */
	a = func(&c);
	fill(&c, 0xcc, 20);
	b = func(&c);
	fill(&c, 0x00, 7);
	d = func(&c);
	fill(&c, 0xcc, 5);          /* trailing: dropped */
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	ck_assert_uint_eq(n, 3);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(p[0].offset, a);
	ck_assert_uint_eq(p[0].length, 12);
	ck_assert_uint_eq(p[0].gap_after, 20);
	ck_assert_uint_eq(p[1].offset, b);
	ck_assert_uint_eq(p[1].gap_after, 7);
	ck_assert_uint_eq(p[2].offset, d);
	ck_assert_uint_eq(p[2].length, 12);
	ck_assert_uint_eq(p[2].gap_after, 5);
	ck_assert_uint_eq(p[0].flags, JP_PIECE_FP_PROLOGUE);
	ck_assert_uint_eq(p[2].flags, JP_PIECE_FP_PROLOGUE);
	/* 12 bytes of code: 4 to reach 8-alignment + 80 of unwinding data */
	ck_assert(!jp_piece_fde_fits(&p[0]));
	p[0].gap_after = 84;
	ck_assert(jp_piece_fde_fits(&p[0]));
	p[0].gap_after = 83;
	ck_assert(!jp_piece_fde_fits(&p[0]));
}
END_TEST

/* an allocator's block header between code (sljit keeps them in its
 * executable pages): flagged as data, never given an FDE */
START_TEST(test_data_between_code)
{
	static struct cbuf c;
	struct jp_piece p[8];
	size_t n;

	c.n = 0;
	put(&c, (uint8_t[]){ 0x88, 0x07, 0, 0, 0, 0, 0, 0, 0x10, 0xd2, 0, 0, 0, 0, 0, 0 }, 16);
	func(&c);
	fill(&c, 0xcc, 100);
	n = jp_split(c.b, c.n, 0x7f0000000000, p, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert(p[0].flags & JP_PIECE_DATA);
	ck_assert(p[1].flags & JP_PIECE_DATA);
	ck_assert_uint_eq(p[2].offset, 16);
	ck_assert_uint_eq(p[2].flags, JP_PIECE_FP_PROLOGUE);
	ck_assert(jp_piece_fde_fits(&p[2]));
}
END_TEST

/* HotSpot's relocation and metadata bytes after a method decode as a few
 * instructions, then a byte that is no instruction (06: push es, invalid in
 * 64-bit mode), then more, a ret among them: data, however long it is
 * below JP_SPLIT_JUNK_MAX.  A function whose bad byte comes after its ret
 * (data after the code) and a long piece stay code. */
START_TEST(test_bad_byte_before_terminator_is_data)
{
	static const uint8_t junk[] = { 0xd3, 0x04, 0x10, 0xd2, 0x01, 0x06, 0xd3, 0x04, 0x10, 0xc3 };
	static const uint8_t mov[] = { 0x48, 0x89, 0xc1 };
	static struct cbuf c;
	struct jp_piece p[8];
	size_t n, at;

	c.n = 0;
	func(&c);
	fill(&c, 0xcc, 4);
	at = c.n;
	for (int i = 0; i < 10; i++)
		put(&c, mov, sizeof(mov));
	put(&c, junk, sizeof(junk)); /* 40 bytes: past JP_SPLIT_DATA_MAX */
	fill(&c, 0xcc, 8);
	func_ending(&c, EPI, sizeof(EPI)); /* a function, then bytes that are no code */
	put(&c, junk, sizeof(junk));
	fill(&c, 0xcc, 8);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(n, 3);
	ck_assert(!(p[0].flags & JP_PIECE_DATA));
	ck_assert_uint_eq(p[1].offset, at);
	ck_assert_uint_eq(p[1].length, 40);
	ck_assert(p[1].flags & JP_PIECE_DATA);
	ck_assert(!(p[2].flags & JP_PIECE_DATA));

	/* the same bytes at JP_SPLIT_JUNK_MAX: too long to call data */
	c.n = 0;
	func(&c);
	fill(&c, 0xcc, 4);
	for (size_t i = 0; i < (JP_SPLIT_JUNK_MAX - sizeof(junk) + sizeof(mov) - 1) / sizeof(mov); i++)
		put(&c, mov, sizeof(mov));
	put(&c, junk, sizeof(junk));
	fill(&c, 0xcc, 8);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_ge(p[1].length, JP_SPLIT_JUNK_MAX);
	ck_assert(!(p[1].flags & JP_PIECE_DATA));
}
END_TEST

/* A table of code pointers between functions (BEAM keeps its label
 * tables in its code pages) is filler: it separates the functions and is
 * part of neither. */
START_TEST(test_pointer_table_is_filler)
{
	static struct cbuf c;
	const uint64_t base = 0x7f3768005a00;
	struct jp_piece p[8];
	size_t a, b, n;

	c.n = 0;
	a = func(&c);
	fill(&c, 0xcc, 4); /* to 16 */
	for (int i = 0; i < 6; i++) {
		uint64_t v = base + 0x100 + 0x48 * (uint64_t)i;

		put(&c, &v, 8);
	}
	b = func(&c);
	fill(&c, 0xcc, 4);
	n = jp_split(c.b, c.n, base, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(p[0].offset, a);
	ck_assert_uint_eq(p[0].length, 12);
	ck_assert_uint_eq(p[0].gap_after, 4 + 48);
	ck_assert_uint_eq(p[1].offset, b);
	ck_assert_uint_eq(p[1].length, 12);

	/* One such word alone, or words pointing elsewhere, are not a table. */
	c.n = 0;
	a = func(&c);
	fill(&c, 0xcc, 4);
	{
		uint64_t v = base + 0x148, w = 0x0000555500001010ull;

		put(&c, &v, 8);
		put(&c, &w, 8);
		put(&c, &w, 8);
	}
	n = jp_split(c.b, c.n, base, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(p[0].length, 12);
	ck_assert_uint_eq(p[0].gap_after, 4);
	ck_assert_uint_eq(p[1].offset, 16);
}
END_TEST

/* BEAM starts each function with a short jmp over an aligned call into
 * the runtime: one piece, not a 2-byte jmp and the rest.  A jmp to
 * exactly the code after the filler (a tail call to the next function)
 * still ends the piece. */
START_TEST(test_jump_over_filler_stays_inside)
{
	static struct cbuf c;
	struct jp_piece p[8];
	size_t a, n;

	c.n = 0;
	a = c.n;
	put(&c, (uint8_t[]){ 0xeb, 0x06, 0x00, 0xe8, 0x40, 0x8c, 0xff, 0xff }, 8);
	put(&c, BODY, sizeof(BODY));
	put(&c, (uint8_t[]){ 0xc3 }, 1);
	fill(&c, 0xcc, 9);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(p[0].offset, a);
	ck_assert_uint_eq(p[0].length, 15);

	c.n = 0;
	put(&c, BODY, sizeof(BODY));
	put(&c, (uint8_t[]){ 0xeb, 0x01, 0xcc }, 3); /* jmp to the next code */
	a = c.n;
	put(&c, BODY, sizeof(BODY));
	put(&c, (uint8_t[]){ 0xc3 }, 1);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(p[1].offset, a);
}
END_TEST

/* A small data word that starts with CB decodes as a far return; it is
 * still data, not a function. */
START_TEST(test_far_return_is_not_an_end)
{
	static struct cbuf c;
	struct jp_piece p[8];
	size_t n;

	c.n = 0;
	func(&c);
	fill(&c, 0xcc, 4);
	put(&c, (uint8_t[]){ 0xcb, 0xf6, 0x00, 0x00 }, 4);
	fill(&c, 0xcc, 4);
	func(&c);
	fill(&c, 0xcc, 4);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(n, 3);
	ck_assert(!(p[0].flags & JP_PIECE_DATA));
	ck_assert(p[1].flags & JP_PIECE_DATA);
	ck_assert(!(p[2].flags & JP_PIECE_DATA));
}
END_TEST

/* HotSpot's metadata decodes as a ret imm16 no code would emit (ret 0 is
 * written C3; the stack slots are 8 bytes): data.  V8's ret 0x10 (a
 * function that drops its arguments) still ends a function. */
START_TEST(test_odd_ret_imm_is_not_an_end)
{
	static const uint8_t meta[] = { 0x02, 0x00, 0xc2, 0x00, 0x00, 0xc2, 0x00, 0x00, 0x03, 0x11 };
	static const uint8_t meta2[] = { 0xc2, 0x69, 0xa4, 0x28, 0x08, 0x7f, 0x01, 0x06, 0x48, 0x89, 0xc1,
					 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89,
					 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0xc3 };
	static const uint8_t v8ret[] = { 0x5d, 0xc2, 0x10, 0x00 }; /* pop rbp; ret 0x10 */
	static struct cbuf c;
	struct jp_piece p[8];
	size_t n;

	c.n = 0;
	func(&c);
	fill(&c, 0xcc, 4);
	put(&c, meta, sizeof(meta));
	fill(&c, 0xcc, 4);
	put(&c, meta2, sizeof(meta2)); /* 33 bytes: bad byte after the odd ret */
	fill(&c, 0xcc, 4);
	func_ending(&c, v8ret, sizeof(v8ret));
	fill(&c, 0xcc, 4);
	n = jp_split(c.b, c.n, 0x7f0000001000, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(n, 4);
	ck_assert(!(p[0].flags & JP_PIECE_DATA));
	ck_assert_uint_eq(p[1].length, sizeof(meta));
	ck_assert(p[1].flags & JP_PIECE_DATA);
	ck_assert_uint_eq(p[2].length, sizeof(meta2));
	ck_assert(p[2].flags & JP_PIECE_DATA);
	ck_assert(!(p[3].flags & JP_PIECE_DATA));
}
END_TEST

/* NOPs after ret end a function; NOPs after ordinary code align a loop
 * head inside it, as compilers emit them */
START_TEST(test_nop_padding_rules)
{
	static struct cbuf c;
	struct jp_piece p[8];
	size_t n;

	c.n = 0;
	func(&c);
	put(&c, NOP10, sizeof(NOP10));   /* after ret: separator */
	put(&c, FP, 4);
	put(&c, BODY, sizeof(BODY));
	put(&c, NOP4, sizeof(NOP4));     /* after add: loop alignment, stays */
	put(&c, BODY, sizeof(BODY));
	put(&c, EPI, sizeof(EPI));
	n = jp_split(c.b, c.n, 0x10000, p, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(p[0].length, 12);
	ck_assert_uint_eq(p[0].gap_after, 10);
	ck_assert_uint_eq(p[1].offset, 22);
	ck_assert_uint_eq(p[1].length, 4 + 6 + 4 + 6 + 2);
	ck_assert_uint_eq(p[1].flags, JP_PIECE_FP_PROLOGUE | JP_PIECE_OPEN_END);
}
END_TEST

/* jmp over NOP-aligned loop body (a rotated loop) stays one function */
START_TEST(test_rotated_loop_kept_whole)
{
	static struct cbuf c;
	struct jp_piece p[8];
	uint8_t jmp[2] = { 0xeb, 0 };
	uint8_t jnz[2] = { 0x75, 0 };
	size_t n, jmp_at, loop, cond;

	c.n = 0;
	put(&c, FP, 4);
	jmp_at = c.n;
	put(&c, jmp, 2);                     /* jmp cond */
	put(&c, NOP10, sizeof(NOP10));       /* align loop head */
	loop = c.n;
	put(&c, BODY, sizeof(BODY));         /* loop: body */
	cond = c.n;
	put(&c, (uint8_t[]){ 0x48, 0xff, 0xcf }, 3); /* cond: dec rdi */
	jnz[1] = (uint8_t)(int8_t)(loop - (c.n + 2));
	put(&c, jnz, 2);                     /* jnz loop */
	put(&c, EPI, 2);
	c.b[jmp_at + 1] = (uint8_t)(cond - (jmp_at + 2));
	n = jp_split(c.b, c.n, 0x10000, p, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(p[0].offset, 0);
	ck_assert_uint_eq(p[0].length, c.n);
}
END_TEST

/* ret straight into a prologue, no filler: two functions */
START_TEST(test_prologue_after_ret)
{
	static struct cbuf c;
	struct jp_piece p[8];
	size_t n;

	c.n = 0;
	func(&c);
	func(&c);
	put(&c, ENDBR, 4);
	func(&c);
	n = jp_split(c.b, c.n, 0x10000, p, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(p[0].length, 12);
	ck_assert_uint_eq(p[1].offset, 12);
	ck_assert_uint_eq(p[1].length, 12);
	ck_assert_uint_eq(p[1].gap_after, 0);
	ck_assert_uint_eq(p[2].offset, 24);
	ck_assert_uint_eq(p[2].length, 16);
	ck_assert_uint_eq(p[2].flags & ~JP_PIECE_OPEN_END, JP_PIECE_ENDBR_FP);
	ck_assert(p[0].flags & JP_PIECE_OPEN_START);
	ck_assert(p[2].flags & JP_PIECE_OPEN_END);
}
END_TEST

/* a prologue at an aligned address that a linear decode ran across, after
 * inline data: decoding resynchronises there */
START_TEST(test_resync_at_aligned_prologue)
{
	static struct cbuf c;
	struct jp_piece p[8];
	size_t n;

	c.n = 0;
	func(&c);                                       /* 0..12 */
	/* 12: mov rax, imm64 whose last 8 bytes are really the next
	 * function, at the aligned offset 16 */
	put(&c, (uint8_t[]){ 0x48, 0xb8, 0x11, 0x22 }, 4);
	func(&c);                                       /* 16..28 */
	n = jp_split(c.b, c.n, 0x10000, p, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(p[1].offset, 16);
	ck_assert_uint_eq(p[1].length, 12);
	ck_assert(p[1].flags & JP_PIECE_FP_PROLOGUE);
}
END_TEST

/* long code without evidence is cut at instruction boundaries */
START_TEST(test_size_cap)
{
	size_t len = 3 * JP_SPLIT_MAX_PIECE + 1000, i, n, total = 0;
	uint8_t *b = malloc(len);
	struct jp_piece p[16];

	ck_assert_ptr_nonnull(b);
	/* 7-byte instructions: add rax, imm32 (48 05 imm32) ... use
	 * 48 81 c0 imm32 (7 bytes) so boundaries never fall on the cap */
	for (i = 0; i + 7 <= len; i += 7) {
		b[i] = 0x48;
		b[i + 1] = 0x81;
		b[i + 2] = 0xc0;
		b[i + 3] = 0x01;
		b[i + 4] = 0x02;
		b[i + 5] = 0x03;
		b[i + 6] = 0x04;
	}
	len = i;
	n = jp_split(b, len, 0x20000, p, 16);
	ck_assert_uint_eq(n, 4);
	check_invariants(p, n, len);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(p[i].length % 7, 0);
		ck_assert_uint_eq(p[i].offset, total);
		total += p[i].length;
	}
	ck_assert_uint_eq(total, len);
	ck_assert(p[0].flags & JP_PIECE_CAPPED);
	ck_assert(p[1].flags & JP_PIECE_CONTINUED);
	ck_assert(p[3].flags & JP_PIECE_OPEN_END);
	free(b);
}
END_TEST

/* out full: resume after the last piece gives the same pieces */
START_TEST(test_max_out_and_resume)
{
	static struct cbuf c;
	struct jp_piece all[64], part[3];
	size_t n_all, got = 0, start = 0, i;

	c.n = 0;
	for (i = 0; i < 10; i++) {
		func(&c);
		fill(&c, 0xcc, 4 + i);
	}
	n_all = jp_split(c.b, c.n, 0x30000, all, 64);
	ck_assert_uint_eq(n_all, 10);
	while (start < c.n) {
		size_t n = jp_split(c.b + start, c.n - start, 0x30000 + start, part, 3);

		for (i = 0; i < n; i++) {
			ck_assert_uint_eq(part[i].offset + start, all[got].offset);
			ck_assert_uint_eq(part[i].length, all[got].length);
			got++;
		}
		if (n < 3)
			break;
		start += part[2].offset + part[2].length + part[2].gap_after;
	}
	ck_assert_uint_eq(got, n_all);
}
END_TEST

/* random bytes: bounded, sorted, non-overlapping, deterministic */
START_TEST(test_random_input_invariants)
{
	static uint8_t buf[1 << 16];
	static struct jp_piece p[4096], q[4096];
	uint64_t x = 0x1234567 + (uint64_t)_i;
	size_t i, n, m;

	for (i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* skew towards filler so every rule gets exercised */
		buf[i] = (x & 7) == 0 ? 0xcc : (x & 7) == 1 ? 0 : (x & 7) == 2 ? 0x90 : (uint8_t)(x >> 24);
	}
	n = jp_split(buf, sizeof(buf), 0x7fff00000000, p, 4096);
	check_invariants(p, n, sizeof(buf));
	m = jp_split(buf, sizeof(buf), 0x7fff00000000, q, 4096);
	ck_assert_uint_eq(n, m);
	ck_assert(!memcmp(p, q, n * sizeof(p[0])));
	/* the same bytes at another address with the same alignment */
	m = jp_split(buf, sizeof(buf), 0x5555aaaa0000, q, 4096);
	ck_assert_uint_eq(n, m);
	ck_assert(!memcmp(p, q, n * sizeof(p[0])));
}
END_TEST

/* throughput on small functions with int3 filler (reported, not judged:
 * the bench has the numbers on real code) */
START_TEST(test_speed)
{
	size_t len = 8u << 20, i, n = 0;
	uint8_t *b = malloc(len);
	static struct jp_piece p[1 << 16];
	struct timespec t0, t1;
	static struct cbuf c;
	double s;

	ck_assert_ptr_nonnull(b);
	c.n = 0;
	while (c.n + 64 < sizeof(c.b)) {
		func(&c);
		put(&c, BODY, sizeof(BODY));
		fill(&c, 0xcc, 16 - (c.n & 15));
	}
	for (i = 0; i < len; i += c.n)
		memcpy(b + i, c.b, len - i < c.n ? len - i : c.n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < len; i += 1 << 16)
		n += jp_split(b + i, 1 << 16, 0x10000 + i, p, 1 << 16);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "split: %.0f MB/s (%zu pieces in %zu MiB)\n", (double)len / s / 1e6, n,
		len >> 20);
	ck_assert_uint_gt(n, 0);
	free(b);
}
END_TEST

/* A code object's header (V8: two heap pointers, in any two windows below
 * 2^47, right before the first instruction at a 16-byte boundary) is not
 * code: the piece starts at the instruction, so per-run pointers never
 * reach the fingerprint.  Also after a few undecodable bytes of the
 * header, and with the heap below 2^44.  The same shape made of real
 * instructions after a NOP or a ret stays code. */
/* c holds a 12-byte function and a header up to offset 64: a function
 * after it must be a piece of its own there, the header in neither. */
static void body_after_header(struct cbuf *c, uint64_t base, struct jp_piece *p)
{
	size_t n;

	ck_assert_uint_eq(c->n, 64);
	put(c, BODY, sizeof(BODY));
	put(c, EPI, sizeof(EPI));
	n = jp_split(c->b, c->n, base, p, 8);
	check_invariants(p, n, c->n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(p[0].length, 12);
	ck_assert_uint_eq(p[1].offset, 64);
	ck_assert_uint_eq(p[1].length, sizeof(BODY) + sizeof(EPI));
}

START_TEST(test_header_before_code)
{
	static struct cbuf c;
	const uint64_t base = 0x7f0000010000;
	const uint64_t heads[][2] = { { 0x0000245594ec0951ull, 0x000034fbe8d9a299ull },
				      { 0x0000000669a08009ull, 0x000000ab68e084a1ull } };
	static const uint8_t junk[] = { 0x04, 0xfd, 0xff, 0xff, 0xd8, 0xff, 0xff, 0xff };
	static const uint8_t code_like[] = { 0x4c, 0x8d, 0xb4, 0x24, 0x30, 0x01, 0x00, 0x00,
					     0x48, 0xc7, 0x44, 0x24, 0x08, 0x3f, 0x00, 0x00, 0x00 };
	struct jp_piece p[8];
	size_t n;

	for (int h = 0; h < 2; h++) {
		for (int j = 0; j < 2; j++) {
			c.n = 0;
			func(&c);
			fill(&c, 0xcc, j ? 28 : 36);
			if (j)
				put(&c, junk, sizeof(junk));
			put(&c, &heads[h][0], 8);
			put(&c, &heads[h][1], 8);
			body_after_header(&c, base, p);
		}
	}

	/* SpiderMonkey's JitCode* after zero filler, its low byte zero: the
	 * zero run must not take that byte and leave the rest to the code */
	for (int h = 0; h < 2; h++) {
		const uint64_t jc = h ? 0x00000c8bfe59c100ull : 0x00000c8bfe59c1a0ull;

		c.n = 0;
		func(&c);
		fill(&c, 0x00, 44);
		put(&c, &jc, 8);
		body_after_header(&c, base, p);
	}

	/* jmp; nop; lea r14,[rsp+0x130]; mov qword [rsp+8],0x3f: code */
	c.n = 0;
	put(&c, FP, sizeof(FP));
	put(&c, BODY, sizeof(BODY));
	put(&c, (uint8_t[]){ 0xeb, 0x04 }, 2); /* to the lea */
	put(&c, NOP4, sizeof(NOP4));
	ck_assert_uint_eq(c.n, 16);
	put(&c, code_like, sizeof(code_like));
	put(&c, EPI, sizeof(EPI));
	n = jp_split(c.b, c.n, base, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(p[n - 1].offset + p[n - 1].length, c.n);
	ck_assert(p[n - 1].offset <= 16);
}
END_TEST

/* A window that starts inside an aligned word (the caller cuts the bytes
 * after a piece it keeps, lib/reconcile.c) with zeros up to inside that
 * word: the JitCode* rule looks for a header at the word's start, which is
 * before the window.  It took the bytes there (2 before the window) for a
 * header and moved the splitter 2 bytes back, past the start: the size_t
 * position wrapped and the rest of the window, 70 KB of node's code, was
 * no piece at all (its pages, no longer dirty, were never read again).
 * The bytes are V8's, from that window: a code object's metadata after
 * its last instruction, at 8 modulo 16 as a JitCode* word would be. */
START_TEST(test_zero_run_at_unaligned_window_start)
{
	static struct cbuf c;
	static const uint8_t before[] = { 0x04, 0x00 }; /* the kept piece's last bytes */
	static const uint8_t meta[] = { 0x00, 0x00, 0xa1, 0x04, 0x00, 0x00, 0x6c, 0x01,
					0x03, 0x2c, 0x02, 0x8c, 0x01, 0x04, 0x30, 0x02 };
	const uint64_t base = 0x7f80fc02d2b8; /* before[0]: 8 modulo 16 */
	struct jp_piece p[8];
	size_t n, at;

	c.n = 0;
	put(&c, before, sizeof(before));
	put(&c, meta, sizeof(meta));
	fill(&c, 0xcc, 32 - c.n);
	at = func(&c);
	fill(&c, 0xcc, 16);
	n = jp_split(c.b + 2, c.n - 2, base + 2, p, 8);
	check_invariants(p, n, c.n - 2);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_eq(p[n - 1].offset, at - 2);
	ck_assert_uint_eq(p[n - 1].length, 12);
	/* the same with no room at all before the window (ASan: no read
	 * outside it) */
	{
		uint8_t *w = malloc(c.n - 2);

		ck_assert_ptr_nonnull(w);
		memcpy(w, c.b + 2, c.n - 2);
		n = jp_split(w, c.n - 2, base + 2, p, 8);
		check_invariants(p, n, c.n - 2);
		ck_assert_uint_ge(n, 1);
		ck_assert_uint_eq(p[n - 1].offset, at - 2);
		free(w);
	}
}
END_TEST

/* QEMU 7.2 keeps a constant pool after a block's last jump and its NOP
 * padding: here one word, a helper's address in qemu-x86_64 (a PIE, so
 * other every run), which the block reads with call [rip+0x15].  Then
 * the block's search data and zeros.  Decoded, the word's bytes (60 02
 * b8 20 e4 55 00 00: bad; add bh,[rax+0x55e420]) decided where the
 * block's piece ended; the block also jumps forward to the next block
 * (goto_tb chained), which keeps short filler inside the piece.  The
 * pool word is filler: the piece ends at the last jmp, whatever the
 * address.  Bytes as QEMU wrote them (tests/e2e/engine_qemu.sh). */
START_TEST(test_qemu_pool_word_is_filler)
{
	static const uint8_t tb[] = {
		0x8b, 0x5d, 0xf8, 0x85, 0xdb, 0x0f, 0x8c, 0x72, 0x00, 0x00, 0x00, 0x48,
		0xbb, 0x08, 0xcb, 0x84, 0x02, 0x40, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x1b,
		0x48, 0xc7, 0x85, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48,
		0x89, 0x9d, 0x90, 0x00, 0x00, 0x00, 0xc7, 0x85, 0xa8, 0x00, 0x00, 0x00,
		0x11, 0x00, 0x00, 0x00, 0x48, 0x85, 0xdb, 0x0f, 0x84, 0x24, 0x00, 0x00,
		0x00, 0x66, 0x90, 0xe9, 0x3c, 0x01, 0x00, 0x00, 0x48, 0xbb, 0x28, 0x5b,
		0x83, 0x02, 0x40, 0x00, 0x00, 0x00, 0x48, 0x89, 0x9d, 0x80, 0x00, 0x00,
		0x00, 0x48, 0x8d, 0x05, 0xe5, 0xfe, 0xff, 0xff, 0xe9, 0xf7, 0xb9, 0xfd,
		0xff, 0x48, 0xbb, 0xf2, 0x77, 0x83, 0x02, 0x40, 0x00, 0x00, 0x00, 0x48,
		0x89, 0x9d, 0x80, 0x00, 0x00, 0x00, 0x48, 0x8b, 0xfd, 0xff, 0x15, 0x15,
		0x00, 0x00, 0x00, 0xff, 0xe0, 0x48, 0x8d, 0x05, 0xbf, 0xfe, 0xff, 0xff,
		0xe9, 0xcf, 0xb9, 0xfd, 0xff, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
		0x60, 0x02, 0xb8, 0x20, 0xe4, 0x55, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x08,
		0x11, 0xdf, 0x00, 0x00,
	};
	static const uint64_t helpers[] = { 0x000055e420b80260ull, 0x000056a1c3f80260ull, 0x00005500e9c30260ull };
	const uint64_t base = 0x7fcd200245c0; /* 64-byte aligned, as QEMU puts code */
	uint8_t b[sizeof(tb)];
	struct jp_piece p[8];
	size_t n;

	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		memcpy(b, tb, sizeof(tb));
		memcpy(b + 144, &helpers[i], 8);
		n = jp_split(b, sizeof(b), base, p, 8);
		check_invariants(p, n, sizeof(b));
		ck_assert_uint_ge(n, 1);
		ck_assert_uint_eq(p[0].offset, 0);
		ck_assert_uint_eq(p[0].length, 137); /* through the jmp at 132 */
		ck_assert_uint_ge(p[0].gap_after, 7 + 8);
		for (size_t k = 1; k < n; k++)
			ck_assert(p[k].flags & JP_PIECE_DATA); /* the search data */
	}
	/* Not read by the block (the call reads 8 bytes further on): the
	 * word is decoded as before. */
	memcpy(b, tb, sizeof(tb));
	b[0x77] += 8;
	n = jp_split(b, sizeof(b), base, p, 8);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_gt(p[0].length, 137);
}
END_TEST

/* Where nothing says a word is data, one that reads as an address stays
 * code.  Mono 6.8's PickPivotAndPartition (MonoWork, as captured): jbe
 * rel32 0x7f (0f 86 7f 00 00 00) at 371 runs across an aligned word whose
 * top half, 86 7f 00 00, makes it 0x00007f86...; treated as filler, the
 * function was cut there and its last 377 bytes never described.  And
 * libc's text: after jmp and a NOP, a loop head at an aligned address
 * starts test rdx,rdx; jne rel32 0x7f (48 85 d2 0f 85 7f 00 00), an
 * address by its bytes, right where a pool would be. */
START_TEST(test_pointer_like_code_stays_code)
{
	static const uint8_t mono[] = {
		0x48, 0x83, 0xec, 0x48, 0x48, 0x89, 0x1c, 0x24, 0x48, 0x89, 0x6c, 0x24, 0x08, 0x4c, 0x89, 0x64,
		0x24, 0x10, 0x4c, 0x89, 0x6c, 0x24, 0x18, 0x4c, 0x89, 0x74, 0x24, 0x20, 0x4c, 0x89, 0x7c, 0x24,
		0x28, 0x4c, 0x8b, 0xe7, 0x4c, 0x8b, 0xee, 0x4c, 0x8b, 0xf2, 0x4c, 0x8b, 0xf9, 0x48, 0xb8, 0x28,
		0x11, 0x95, 0xf3, 0xa1, 0x55, 0x00, 0x00, 0xf7, 0x00, 0x01, 0x00, 0x00, 0x00, 0x74, 0x05, 0xe8,
		0xd6, 0xcb, 0xff, 0xff, 0x49, 0x8b, 0xc6, 0x41, 0x2b, 0xc5, 0x48, 0x8b, 0xc8, 0xc1, 0xe9, 0x1f,
		0x03, 0xc8, 0xd1, 0xf9, 0x49, 0x8b, 0xc5, 0x03, 0xc1, 0x49, 0x8b, 0xfc, 0x49, 0x8b, 0xf7, 0x49,
		0x8b, 0xd5, 0x48, 0x89, 0x44, 0x24, 0x38, 0x48, 0x8b, 0xc8, 0x48, 0x8d, 0x6d, 0x00, 0x49, 0xbb,
		0x70, 0x31, 0xd1, 0x41, 0x00, 0x00, 0x00, 0x00, 0x41, 0xff, 0xd3, 0x49, 0x8b, 0xfc, 0x49, 0x8b,
		0xf7, 0x49, 0x8b, 0xd5, 0x49, 0x8b, 0xce, 0x48, 0x8d, 0xad, 0x00, 0x00, 0x00, 0x00, 0x49, 0xbb,
		0x70, 0x31, 0xd1, 0x41, 0x00, 0x00, 0x00, 0x00, 0x41, 0xff, 0xd3, 0x48, 0x8b, 0x44, 0x24, 0x38,
		0x49, 0x8b, 0xfc, 0x49, 0x8b, 0xf7, 0x48, 0x89, 0x44, 0x24, 0x30, 0x48, 0x8b, 0xd0, 0x49, 0x8b,
		0xce, 0x48, 0x8d, 0x64, 0x24, 0x00, 0x49, 0xbb, 0x70, 0x31, 0xd1, 0x41, 0x00, 0x00, 0x00, 0x00,
		0x41, 0xff, 0xd3, 0x48, 0x8b, 0x74, 0x24, 0x30, 0x48, 0x63, 0xc6, 0x41, 0x39, 0x44, 0x24, 0x18,
		0x0f, 0x86, 0x39, 0x01, 0x00, 0x00, 0x49, 0x8d, 0x44, 0x84, 0x20, 0x48, 0x63, 0x18, 0x49, 0x8b,
		0xd6, 0xff, 0xca, 0x49, 0x8b, 0xfc, 0x49, 0xbb, 0x40, 0x33, 0xd1, 0x41, 0x00, 0x00, 0x00, 0x00,
		0x41, 0xff, 0xd3, 0x49, 0x8b, 0xee, 0xff, 0xcd, 0xe9, 0xae, 0x00, 0x00, 0x00, 0x66, 0x66, 0x90,
		0x48, 0xb8, 0x28, 0x11, 0x95, 0xf3, 0xa1, 0x55, 0x00, 0x00, 0xf7, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x74, 0x06, 0x90, 0xe8, 0x02, 0xcb, 0xff, 0xff, 0x41, 0x8d, 0x4d, 0x01, 0x48, 0x8b, 0xc1, 0x4c,
		0x8b, 0xe9, 0x48, 0x63, 0xc0, 0x41, 0x39, 0x44, 0x24, 0x18, 0x0f, 0x86, 0xd8, 0x00, 0x00, 0x00,
		0x49, 0x8d, 0x44, 0x84, 0x20, 0x48, 0x63, 0x30, 0x49, 0x8b, 0xff, 0x48, 0x8b, 0xd3, 0x41, 0xff,
		0x57, 0x18, 0x85, 0xc0, 0x7c, 0xba, 0x66, 0x90, 0x48, 0xb8, 0x28, 0x11, 0x95, 0xf3, 0xa1, 0x55,
		0x00, 0x00, 0xf7, 0x00, 0x01, 0x00, 0x00, 0x00, 0x74, 0x06, 0x90, 0xe8, 0xba, 0xca, 0xff, 0xff,
		0x48, 0x8b, 0xcd, 0xff, 0xc9, 0x48, 0x8b, 0xc1, 0x48, 0x8b, 0xe9, 0x48, 0x63, 0xc0, 0x41, 0x39,
		0x44, 0x24, 0x18, 0x0f, 0x86, 0x7f, 0x00, 0x00, 0x00, 0x49, 0x8d, 0x44, 0x84, 0x20, 0x48, 0x63,
		0x10, 0x49, 0x8b, 0xff, 0x48, 0x8b, 0xf3, 0x41, 0xff, 0x57, 0x18, 0x85, 0xc0, 0x7c, 0xb9, 0x44,
		0x3b, 0xed, 0x7d, 0x20, 0x49, 0x8b, 0xfc, 0x49, 0x8b, 0xf5, 0x48, 0x8b, 0xd5, 0x90, 0x49, 0xbb,
		0x40, 0x33, 0xd1, 0x41, 0x00, 0x00, 0x00, 0x00, 0x41, 0xff, 0xd3, 0x44, 0x3b, 0xed, 0x0f, 0x8c,
		0x4c, 0xff, 0xff, 0xff, 0x49, 0x8b, 0xd6, 0xff, 0xca, 0x49, 0x8b, 0xfc, 0x49, 0x8b, 0xf5, 0x48,
		0x8d, 0xad, 0x00, 0x00, 0x00, 0x00, 0x49, 0xbb, 0x40, 0x33, 0xd1, 0x41, 0x00, 0x00, 0x00, 0x00,
		0x41, 0xff, 0xd3, 0x49, 0x8b, 0xc5, 0x48, 0x8b, 0x1c, 0x24, 0x48, 0x8b, 0x6c, 0x24, 0x08, 0x4c,
		0x8b, 0x64, 0x24, 0x10, 0x4c, 0x8b, 0x6c, 0x24, 0x18, 0x4c, 0x8b, 0x74, 0x24, 0x20, 0x4c, 0x8b,
		0x7c, 0x24, 0x28, 0x48, 0x83, 0xc4, 0x48, 0xc3, 0xbe, 0x95, 0x00, 0x00, 0x00, 0xbf, 0x27, 0x01,
		0x00, 0x00, 0x90, 0xe8, 0x38, 0x4c, 0x9c, 0xfe, 0xbe, 0xde, 0x00, 0x00, 0x00, 0xeb, 0xee, 0xbe,
		0x38, 0x01, 0x00, 0x00, 0xeb, 0xe7, 0xe8, 0xa5, 0x30, 0x9c, 0xfe, 0x08, 0x70, 0x7e, 0x88, 0x27,
		0xa2, 0x55, 0x00, 0x00,
	};
	static const uint8_t libc[] = {
		0x48, 0x83, 0xfe, 0x01, 0x48, 0x19, 0xc9, 0x83, 0xe1, 0x02, 0x48, 0x83,
		0xe9, 0x01, 0xeb, 0x2c, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x48,
		0x85, 0xd2, 0x0f, 0x85, 0x7f, 0x00, 0x00, 0x00, 0x31, 0xc0, 0x4c, 0x09,
		0xd7, 0x0f, 0x95, 0xc0, 0x01, 0xc0, 0x48, 0x85, 0xff, 0x0f, 0x84, 0xa8,
	};
	struct jp_piece p[8];
	size_t n;

	n = jp_split(mono, sizeof(mono), 0x41d12f40, p, 8);
	check_invariants(p, n, sizeof(mono));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(p[0].offset, 0);
	ck_assert_uint_eq(p[0].length, sizeof(mono));
	n = jp_split(libc, sizeof(libc), 0x7f0000179d59, p, 8);
	check_invariants(p, n, sizeof(libc));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(p[0].length, sizeof(libc));
}
END_TEST

/* QEMU's TranslationBlock between two blocks: a TB address (page_next,
 * 0x00007fe920004a80) after the zeros of the field before it.  When the
 * code buffer lies at 0x7fe9... (one run in 256) its bytes decode as orb;
 * jmp rel32, and every header became a piece of its own (25 % more
 * LOADs).  After two zeros or more, such a word is filler with them, also
 * when the zeros took its own low bytes. */
START_TEST(test_qemu_header_word_after_zeros)
{
	static const uint8_t hdr[] = {
		0x6e, 0x4d, 0x83, 0x02, 0x40, 0x00, 0x00, 0x00, /* pc */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cs_base */
		0xb3, 0xc0, 0x40, 0x10, 0x00, 0x00, 0x00, 0x00, /* flags, cflags */
		0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x03, 0x00, /* size, icount */
		0xc0, 0x4c, 0x00, 0x20, 0xe9, 0x7f, 0x00, 0x00, /* tc.ptr */
		0x6d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* tc.size */
		0x80, 0x4a, 0x00, 0x20, 0xe9, 0x7f, 0x00, 0x00, /* page_next[0] */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x6e, 0x4d, 0x83, 0x02, 0x40, 0x00, 0x00, 0x00, /* page_addr */
	};
	const uint64_t base = 0x7fe920004a00;
	uint8_t b[sizeof(hdr)];
	struct jp_piece p[16];
	size_t n;

	for (int low = 0; low < 2; low++) {
		memcpy(b, hdr, sizeof(hdr));
		b[48] = low ? 0x00 : 0x80; /* a TB address with a zero low byte */
		n = jp_split(b, sizeof(b), base, p, 16);
		check_invariants(p, n, sizeof(b));
		for (size_t k = 0; k < n; k++)
			ck_assert(p[k].offset + p[k].length <= 48 || p[k].offset >= 56);
	}
}
END_TEST

/* LuaJIT's traces back to back, from one run: trace 2 (a side trace)
 * ends with a jmp to trace 1's loop, and trace 1 (a root trace) begins
 * right after it.  Its number store, 41 c7 86 38 f1 ff ff 01 00 00 00,
 * holds 0x000001fffff13886 at the aligned word after its first two bytes:
 * at the start of a window (the trace's head is where a window starts)
 * that word passed for a header, and the trace lost its first
 * instruction. */
static const uint8_t TRACE2[] = {
	0x44, 0x8b, 0xfd,                                           /* mov r15d,ebp */
	0x41, 0xc7, 0x86, 0x38, 0xf1, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, /* mov dword [r14-0xec8],2 */
	0x83, 0xc3, 0x01,                                           /* add ebx,1 */
	0x0f, 0x85, 0x00, 0x01, 0x00, 0x00,                         /* jne +0x100: past trace 1's head */
	0xe9, 0x42, 0x02, 0xff, 0xff,                               /* jmp (an exit) */
};
static const uint8_t TRACE1[] = {
	0x48, 0x83, 0xc4, 0xf0,                                     /* add rsp,-0x10 */
	0x41, 0xc7, 0x86, 0x38, 0xf1, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, /* mov dword [r14-0xec8],1 */
	0x4d, 0x8d, 0xae, 0x08, 0x80, 0x00, 0x00,                   /* lea r13,[r14+0x8008] */
	0x4d, 0x8d, 0x86, 0x88, 0x7e, 0x00, 0x00,                   /* lea r8,[r14+0x7e88] */
	0x83, 0xc3, 0x01, 0x3b, 0xd8,                               /* add ebx,1; cmp ebx,eax */
	0x0f, 0x8e, 0xe9, 0xff, 0xff, 0xff,                         /* jle (the loop) */
	0xe9, 0x5a, 0x00, 0xff, 0xff,                               /* jmp (an exit) */
};

START_TEST(test_numbered_traces_cut_at_their_head)
{
	struct cbuf c = { .n = 0 };
	struct jp_piece p[8];
	size_t n;

	put(&c, TRACE2, sizeof(TRACE2));
	put(&c, TRACE1, sizeof(TRACE1));
	n = jp_split(c.b, c.n, 0x55bca1f6fc0a, p, 8);
	check_invariants(p, n, c.n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(p[1].offset, sizeof(TRACE2));
	ck_assert_uint_eq(p[1].length, sizeof(TRACE1));
	/* the same after NOP padding */
	c.n = 0;
	put(&c, TRACE2, sizeof(TRACE2));
	put(&c, NOP4, sizeof(NOP4));
	put(&c, TRACE1, sizeof(TRACE1));
	n = jp_split(c.b, c.n, 0x55bca1f6fc0a, p, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(p[1].offset, sizeof(TRACE2) + sizeof(NOP4));
	/* a window that starts at trace 1's head (0x...fe16: the number's
	 * word at 0x...fe18) keeps the store in the piece */
	n = jp_split(TRACE1, sizeof(TRACE1), 0x55bca1f6fe16, p, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(p[0].offset, 0);
	ck_assert_uint_eq(p[0].length, sizeof(TRACE1));
	/* Code that did not begin with a number store is not cut at one: a
	 * block after a jmp that sets a field to a small value. */
	c.n = 0;
	put(&c, BODY, sizeof(BODY));
	put(&c, (const uint8_t[]){ 0xe9, 0x10, 0x00, 0x00, 0x00 }, 5);
	put(&c, TRACE1 + 4, sizeof(TRACE1) - 4);
	n = jp_split(c.b, c.n, 0x55bca1f6f000, p, 8);
	ck_assert_uint_eq(n, 1);
	/* nor code whose first store came after other work (add rax,rsi) */
	c.n = 0;
	put(&c, (const uint8_t[]){ 0x48, 0x01, 0xf0 }, 3);
	put(&c, TRACE1 + 4, sizeof(TRACE1) - 4);
	put(&c, TRACE1, sizeof(TRACE1));
	n = jp_split(c.b, c.n, 0x55bca1f6f000, p, 8);
	ck_assert_uint_eq(n, 1);
	/* a side trace's register moves before its store count as its head */
	c.n = 0;
	put(&c, TRACE2, sizeof(TRACE2));
	put(&c, TRACE2, sizeof(TRACE2));
	n = jp_split(c.b, c.n, 0x55bca1f6f000, p, 8);
	ck_assert_uint_eq(n, 2);
}
END_TEST

Suite *make_split_suite(void)
{
	Suite *s = suite_create("split");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_empty_and_all_padding);
	tcase_add_test(t, test_int3_and_zero_padding);
	tcase_add_test(t, test_fill_byte_runs);
	tcase_add_test(t, test_data_between_code);
	tcase_add_test(t, test_bad_byte_before_terminator_is_data);
	tcase_add_test(t, test_pointer_table_is_filler);
	tcase_add_test(t, test_header_before_code);
	tcase_add_test(t, test_zero_run_at_unaligned_window_start);
	tcase_add_test(t, test_qemu_pool_word_is_filler);
	tcase_add_test(t, test_pointer_like_code_stays_code);
	tcase_add_test(t, test_qemu_header_word_after_zeros);
	tcase_add_test(t, test_numbered_traces_cut_at_their_head);
	tcase_add_test(t, test_jump_over_filler_stays_inside);
	tcase_add_test(t, test_far_return_is_not_an_end);
	tcase_add_test(t, test_odd_ret_imm_is_not_an_end);
	tcase_add_test(t, test_nop_padding_rules);
	tcase_add_test(t, test_rotated_loop_kept_whole);
	tcase_add_test(t, test_prologue_after_ret);
	tcase_add_test(t, test_resync_at_aligned_prologue);
	tcase_add_test(t, test_size_cap);
	tcase_add_test(t, test_max_out_and_resume);
	tcase_add_loop_test(t, test_random_input_invariants, 0, 8);
	tcase_add_test(t, test_speed);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}
