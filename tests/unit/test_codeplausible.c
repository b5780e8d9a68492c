/* test_codeplausible.c - heap data that decodes is not taken for code; compiled code always is; a creator that writes mostly data becomes a heap (lib/budget.c) and its data is skipped without decoding. */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget.h"
#include "codeplausible.h"
#include "hash.h"
#include "insn.h"
#include "known.h"
#include "pieces.h"
#include "split.h"

/* push rbp; mov rbp,rsp; mov rax,imm64; mov rcx,imm64; test rdi,rdi; jz +n;
 * loop: imul rax,rcx; add rax,rdx; dec rdi; jnz loop; pop rbp; ret
 * (the shape of tests/jit/jitlib.h's functions). */
static size_t put_func(uint8_t *w, uint32_t id)
{
	static const uint8_t head[] = { 0x55, 0x48, 0x89, 0xe5 };
	static const uint8_t body[] = { 0x48, 0x85, 0xff, 0x74, 0x0c, 0x48, 0x0f, 0xaf, 0xc1, 0x48, 0x01,
					0xd0, 0x48, 0xff, 0xcf, 0x75, 0xf4, 0x5d, 0xc3 };
	uint64_t a = 0x9e3779b97f4a7c15ull * (id + 1), b = a ^ 0x5bd1e995u;
	size_t o = 0;

	memcpy(w + o, head, sizeof(head));
	o += sizeof(head);
	w[o++] = 0x48;
	w[o++] = 0xb8;
	memcpy(w + o, &a, 8);
	o += 8;
	w[o++] = 0x48;
	w[o++] = 0xb9;
	memcpy(w + o, &b, 8);
	o += 8;
	memcpy(w + o, body, sizeof(body));
	return o + sizeof(body);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A heap like tests/jit/gc_heap.c's: pairs of tagged pointers, flonums,
 * strings, vectors of fixnums, each with a header word; one code object
 * (header, name pointer, function) every `every` objects (0: none).
 * Returns where the last code object's function starts (or 0). */
static size_t fill_heap(uint8_t *h, size_t len, uint64_t base, unsigned every, size_t *nfuncs)
{
	static const char *const words[] = { "call-with-current-continuation", "string-append", "lambda" };
	size_t o = 0, last = 0;
	unsigned k = 0;

	*nfuncs = 0;
	memset(h, 0, len);
	while (o + 256 <= len) {
		uint64_t w[4], ptr = (base + (rnd() % len & ~(uint64_t)15)) | 1;
		double d = (double)(rnd() % 1000000) / 7.0;
		const char *s;

		switch (every && ++k % every == 0 ? 9 : rnd() % 4) {
		case 0: /* pair */
			w[0] = 2 << 8 | 0x16;
			w[1] = ptr;
			w[2] = (rnd() % 100) << 3;
			w[3] = 0;
			memcpy(h + o, w, 32);
			o += 32;
			break;
		case 1: /* flonum */
			w[0] = 1 << 8 | 0x36;
			memcpy(&w[1], &d, 8);
			memcpy(h + o, w, 16);
			o += 16;
			break;
		case 2: /* string */
			s = words[rnd() % 3];
			w[0] = (uint64_t)strlen(s) << 8 | 0x46;
			memcpy(h + o, w, 8);
			memcpy(h + o + 8, s, strlen(s));
			o += (8 + strlen(s) + 15) & ~(size_t)15;
			break;
		case 3: /* vector of fixnums and pointers */
			w[0] = 6 << 8 | 0x26;
			memcpy(h + o, w, 8);
			for (unsigned i = 0; i < 6; i++) {
				uint64_t v = i & 1 ? ptr : (rnd() % 64) << 3;

				memcpy(h + o + 8 + 8 * i, &v, 8);
			}
			o += 64;
			break;
		default: /* code object */
			w[0] = 100 << 8 | 0x56;
			w[1] = ptr;
			memcpy(h + o, w, 16);
			last = o + 16;
			o += (16 + put_func(h + o + 16, k) + 15) & ~(size_t)15;
			++*nfuncs;
			break;
		}
	}
	return last;
}

START_TEST(functions_are_plausible)
{
	uint8_t f[128];
	size_t n = put_func(f, 7);

	ck_assert_int_eq(jp_code_plausible(f, n, NULL), 1);
	/* A tiny stub ending with its jump, and a TLS call with its padding. */
	static const uint8_t stub[] = { 0xe9, 0x10, 0x20, 0x30, 0x00 };
	static const uint8_t tls[] = { 0x66, 0x48, 0x8d, 0x3d, 0x34, 0x2b, 0xb7, 0x00, 0x66, 0x66, 0x48,
				       0xe8, 0xfc, 0x00, 0xae, 0xff, 0x5d, 0xc3 };

	ck_assert_int_eq(jp_code_plausible(stub, sizeof(stub), NULL), 1);
	ck_assert_int_eq(jp_code_plausible(tls, sizeof(tls), NULL), 1);
}
END_TEST

START_TEST(data_that_decodes_is_not)
{
	/* ASCII: jcc, ins/outs (l-o) */
	static const char text[] = "call-with-current-continuation string-append";
	/* a header then ret by chance then add [rax],eax */
	static const uint8_t hdr[] = { 0x98, 0xc3, 0x01, 0x00 };
	/* REX on a jump */
	static const uint8_t rexjmp[] = { 0x40, 0xe9, 0xfa, 0x40, 0x16, 0x02 };
	/* a fixnum, a pointer, nil, a header: call rel32 then zeros as code */
	static const uint8_t words[] = { 0xe8, 0x7a, 0x03, 0, 0, 0, 0, 0, 0xa1, 0xf0, 0x92, 0xc5, 0x21, 0x7f, 0, 0,
					 0, 0, 0, 0, 0, 0, 0, 0, 0x26, 0x0a, 0, 0, 0, 0, 0, 0, 0xe0, 0, 0, 0, 0, 0, 0, 0 };
	/* the low bytes of a pointer word: jno; jmp rel32 -- then its zero top */
	static const uint8_t ptrbuf[] = { 0x71, 0x03, 0xe9, 0x46, 0x60, 0x7f, 0x00, 0x00 };

	ck_assert_int_eq(jp_code_plausible((const uint8_t *)text, sizeof(text) - 1, NULL), 0);
	ck_assert_int_eq(jp_code_plausible(hdr, sizeof(hdr), NULL), 0);
	ck_assert_int_eq(jp_code_plausible(rexjmp, sizeof(rexjmp), NULL), 0);
	ck_assert_int_eq(jp_code_plausible(words, sizeof(words), NULL), 0);
	ck_assert_int_eq(jp_code_plausible(ptrbuf, 7, NULL), 1); /* alone it may be a stub... */
	ck_assert_int_eq(jp_piece_plausible(ptrbuf, 8, 0x7f0000001000, 0, 7, NULL), 0); /* ...not in its word */
	ck_assert_int_eq(jp_piece_plausible(ptrbuf, 8, 0x7f0000001001, 0, 7, NULL), 1); /* unaligned: no word */
}
END_TEST

/* QEMU's TranslationBlock: size and icount, then tc.ptr, the block's code
 * address, in a buffer at 0x7fe9c0000000: or al,0; add eax,[rax]; rcl
 * byte [rax+rax],0xc0; then a jmp rel32 from the pointer's byte 4 that
 * runs into tc.size.  Neither the piece's first byte nor its last is in
 * the pointer word; its jmp is. */
START_TEST(terminator_inside_a_pointer_word)
{
	static const uint8_t tb[] = { 0x0c, 0x00, 0x03, 0x00, 0xc0, 0x14, 0x00, 0xc0,
				      0xe9, 0x7f, 0x00, 0x00, 0x89, 0x00, 0x00, 0x00 };

	ck_assert_int_eq(jp_code_plausible(tb, 13, NULL), 1); /* alone it may be a stub... */
	ck_assert_int_eq(jp_piece_plausible(tb, sizeof(tb), 0x7fe9c000141c, 0, 13, NULL), 0); /* ...not here */
}
END_TEST

/* A piece the split could not cut between data and code: HotSpot 17's
 * relocation bytes (ff ff ... 14 60 18 c0 ...) in front of a C1-compiled
 * method (stack bang, push rbp, counters, jcc, ret), 319 bytes as read
 * from its code cache.  The head up to the first terminator is mostly
 * data; the long clean run after it is code. */
START_TEST(code_after_a_data_head_is_code)
{
	static const uint8_t method[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x14, 0x60, 0x18, 0xc0, 0x28, 0xc0, 0x17, 0xc0,
		0x30, 0xc0, 0x27, 0xb0, 0x0e, 0xc0, 0x17, 0x64, 0x2f, 0xf0, 0x0a, 0x80, 0x11, 0x64, 0x29, 0x64,
		0x15, 0x00, 0x00, 0x64, 0x03, 0xf8, 0xdc, 0x31, 0xba, 0x36, 0xa1, 0x7f, 0x05, 0x70, 0x0e, 0x64,
		0x01, 0xf8, 0x9e, 0xff, 0x06, 0x90, 0x0c, 0x64, 0x44, 0x8b, 0x56, 0x08, 0x49, 0xbb, 0x00, 0x00,
		0x00, 0xaf, 0xa0, 0x7f, 0x00, 0x00, 0x4d, 0x03, 0xd3, 0x4c, 0x3b, 0xd0, 0x0f, 0x85, 0x46, 0xd9,
		0x57, 0x07, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, 0x55,
		0x48, 0x83, 0xec, 0x30, 0x48, 0xb8, 0xe8, 0xdf, 0x00, 0xab, 0xa0, 0x7f, 0x00, 0x00, 0x8b, 0xb8,
		0xf4, 0x00, 0x00, 0x00, 0x83, 0xc7, 0x02, 0x89, 0xb8, 0xf4, 0x00, 0x00, 0x00, 0x81, 0xe7, 0xfe,
		0x07, 0x00, 0x00, 0x83, 0xff, 0x00, 0x0f, 0x84, 0x7c, 0x00, 0x00, 0x00, 0x48, 0xb8, 0xe8, 0xdf,
		0x00, 0xab, 0xa0, 0x7f, 0x00, 0x00, 0xff, 0x80, 0x48, 0x01, 0x00, 0x00, 0x0f, 0xbe, 0x46, 0x10,
		0x83, 0xf8, 0x00, 0x48, 0xb8, 0xe8, 0xdf, 0x00, 0xab, 0xa0, 0x7f, 0x00, 0x00, 0x48, 0xc7, 0xc6,
		0x58, 0x01, 0x00, 0x00, 0x0f, 0x85, 0x07, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc6, 0x68, 0x01, 0x00,
		0x00, 0x48, 0x8b, 0x3c, 0x30, 0x48, 0x8d, 0x7f, 0x01, 0x48, 0x89, 0x3c, 0x30, 0x0f, 0x85, 0x1a,
		0x00, 0x00, 0x00, 0x48, 0xb8, 0xe8, 0xdf, 0x00, 0xab, 0xa0, 0x7f, 0x00, 0x00, 0xff, 0x80, 0x78,
		0x01, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xe9, 0x05, 0x00, 0x00, 0x00, 0xb8, 0x00, 0x00,
		0x00, 0x00, 0x83, 0xe0, 0x01, 0x48, 0x83, 0xc4, 0x30, 0x5d, 0x49, 0x3b, 0xa7, 0x40, 0x03, 0x00,
		0x00, 0x0f, 0x87, 0x22, 0x00, 0x00, 0x00, 0xc3, 0x49, 0xba, 0x70, 0xd5, 0x42, 0xaf, 0xa0, 0x7f,
		0x00, 0x00, 0x4c, 0x89, 0x54, 0x24, 0x08, 0x48, 0xc7, 0x04, 0x24, 0xff, 0xff, 0xff, 0xff, 0xe8,
		0x74, 0x79, 0x62, 0x07, 0xe9, 0x63, 0xff, 0xff, 0xff, 0x49, 0xba, 0xe2, 0xb8, 0x40, 0x15, 0xa1,
		0x7f, 0x00, 0x00, 0x4d, 0x89, 0x97, 0x58, 0x03, 0x00, 0x00, 0xe9, 0xd9, 0x4f, 0x58, 0x07
	};
	struct jp_plausible_stats st;

	jp_plausible_scan(method, sizeof(method), NULL, &st);
	ck_assert_uint_ge(st.odd_head * 16, st.insns_head); /* the head alone would be data */
	ck_assert_uint_ge(st.clean_run, 24);
	ck_assert_int_eq(jp_code_plausible(method, sizeof(method), NULL), 1);
	/* The data alone stays data. */
	ck_assert_int_eq(jp_code_plausible(method, 72, NULL), 0);
}
END_TEST

/* libc's text cut as if it were JIT code: every piece of it stays code. */
START_TEST(compiled_code_stays_code)
{
	static const char *const paths[] = { "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	static struct jp_piece ps[8192];
	size_t total = 0, rejected = 0;
	int fd = -1;

	for (unsigned i = 0; i < 2 && fd < 0; i++)
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* not a Debian layout: nothing to check */
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	const uint8_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	const Elf64_Ehdr *eh = (const void *)m;
	const Elf64_Shdr *sh = (const void *)(m + eh->e_shoff);
	const char *names = (const char *)m + sh[eh->e_shstrndx].sh_offset;

	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (strcmp(names + sh[i].sh_name, ".text"))
			continue;
		const uint8_t *t = m + sh[i].sh_offset;
		size_t len = sh[i].sh_size, pos = 0;

		while (pos < len) {
			size_t n = jp_split(t + pos, len - pos, 0x7f1200000000ull + pos, ps, 8192);

			for (size_t k = 0; k < n; k++) {
				if (ps[k].flags & JP_PIECE_DATA)
					continue;
				total++;
				rejected += !jp_piece_plausible(t, len, 0x7f1200000000ull, pos + ps[k].offset,
								ps[k].length, NULL);
			}
			if (n < 8192)
				break;
			pos += ps[n - 1].offset + ps[n - 1].length + ps[n - 1].gap_after;
		}
	}
	munmap((void *)m, (size_t)st.st_size);
	close(fd);
	ck_assert_uint_gt(total, 1000);
	/* Measured: 0 of 3,012 (libjvm: 11 of 43,037, node: 61 of 76,630, all
	 * inline tables). */
	ck_assert_uint_le(rejected * 1000, total);
}
END_TEST

START_TEST(data_blocks)
{
	uint8_t b[64], f[128];

	memset(b, 0, sizeof(b));
	ck_assert_int_eq(jp_budget_data_block(b), 1);
	for (unsigned w = 0; w < 8; w++) {
		uint64_t p = 0x7f3a12345670ull | 1;

		memcpy(b + 8 * w, &p, 8);
	}
	ck_assert_int_eq(jp_budget_data_block(b), 1);
	memset(f, 0xcc, sizeof(f));
	put_func(f, 3);
	ck_assert_int_eq(jp_budget_data_block(f), 0);
}
END_TEST

/* Heap data around a few code objects: describing it as code gives
 * pieces; once the creator is judged a heap, only the functions are
 * left, and most of the data is not decoded at all. */
START_TEST(a_heap_is_described_sparingly)
{
	static uint8_t heap[1 << 20];
	static struct jp_view_piece out[65536];
	const uint64_t base = 0x7f5500000000ull;
	struct jp_code_view v = { heap, sizeof(heap), base, NULL };
	size_t nf, n, code, fn, small;
	unsigned heap_from = 0;

	jp_known_reset();
	jp_budget_reset();
	fill_heap(heap, sizeof(heap), base, 500, &nf);
	ck_assert_uint_gt(nf, 5);

	for (unsigned pass = 0; pass < 16; pass++) {
		/* Judged once 512 KiB of pieces were seen, for good. */
		int h = jp_budget_begin("scheme");

		if (h && !heap_from)
			heap_from = pass;
		ck_assert_int_eq(h, heap_from != 0);
		n = jp_pieces_cut(&v, 0, sizeof(heap), out, 65536);
		jp_budget_end();
		code = fn = small = 0;
		for (size_t k = 0; k < n; k++) {
			if (out[k].flags & JP_PIECE_DATA)
				continue;
			code++;
			fn += jp_insn_fp_prologue(heap + out[k].off, out[k].len) && out[k].len >= 40;
			small += out[k].len < 32;
		}
		/* Every function is a piece of its own, every time. */
		ck_assert_uint_eq(fn, nf);
		if (jp_budget_heap())
			ck_assert_uint_eq(code, nf); /* nothing else */
		else
			ck_assert_uint_le(code, nf + nf * 40);
	}
	ck_assert_uint_gt(heap_from, 0);
	ck_assert_uint_lt(heap_from, 16);
	/* Another creator that writes code is judged on its own. */
	jp_budget_begin("v8");
	ck_assert_int_eq(jp_budget_heap(), 0);
	jp_budget_end();
}
END_TEST

START_TEST(spans_skip_data_blocks)
{
	static uint8_t buf[64 * 16];
	size_t s, e;

	memset(buf, 0, sizeof(buf));
	memset(buf + 64 * 5, 0xcc, 128);
	put_func(buf + 64 * 5 + 8, 1);
	put_func(buf + 64 * 6 + 8, 2);
	ck_assert_int_eq(jp_budget_next_span(buf, 0x7f0000000000ull, 0, sizeof(buf), &s, &e), 0);
	ck_assert_uint_eq(s, 64 * 4); /* widened by a block on each side */
	ck_assert_uint_eq(e, 64 * 8);
	ck_assert_int_eq(jp_budget_next_span(buf, 0x7f0000000000ull, e, sizeof(buf), &s, &e), -1);
	/* Less than a block: taken whole. */
	ck_assert_int_eq(jp_budget_next_span(buf, 0x7f0000000000ull, 10, 40, &s, &e), 0);
	ck_assert_uint_eq(s, 10);
	ck_assert_uint_eq(e, 40);
}
END_TEST

Suite *make_codeplausible_suite(void)
{
	Suite *s = suite_create("codeplausible");
	TCase *tc = tcase_create("core");

	jp_hash_init();
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, functions_are_plausible);
	tcase_add_test(tc, data_that_decodes_is_not);
	tcase_add_test(tc, terminator_inside_a_pointer_word);
	tcase_add_test(tc, code_after_a_data_head_is_code);
	tcase_add_test(tc, compiled_code_stays_code);
	tcase_add_test(tc, data_blocks);
	tcase_add_test(tc, a_heap_is_described_sparingly);
	tcase_add_test(tc, spans_skip_data_blocks);
	suite_add_tcase(s, tc);
	return s;
}
