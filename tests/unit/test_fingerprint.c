/* test_fingerprint.c - position-independent code hashes: same code elsewhere, different code. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fingerprint.h"

/* Emit, as a JIT would at address base, a function that
 *   push rbp; mov rbp,rsp
 *   mov rax,[rip+X]         (a global outside the code)
 *   mov rcx, imm64 ptr      (an embedded pointer into the heap)
 *   mov rdx, 0x9e3779b97f4a7c15 (a constant)
 *   lea rsi,[rip+L]         (a constant inside the piece)
 *   test rdi,rdi; jz done   (an internal branch)
 *   call helper             (a runtime helper outside)
 * done: pop rbp; jmp tail   (a tail call outside)
 *   L: 8 bytes of data
 * with the outside targets and the pointer given as absolute values. */
struct env {
	uint64_t global, heap_ptr, helper, tail;
	uint8_t konst;   /* an imm8 that is part of the code's identity */
};

static size_t emit(uint8_t *w, uint64_t base, const struct env *e)
{
	size_t o = 0, lea_at, jz_at, L;
	int32_t d;

#define B(x) (w[o++] = (uint8_t)(x))
#define REL32(target) do { d = (int32_t)((int64_t)(target) - (int64_t)(base + o + 4)); \
	memcpy(w + o, &d, 4); o += 4; } while (0)
	B(0x55); B(0x48); B(0x89); B(0xe5);
	B(0x48); B(0x8b); B(0x05); REL32(e->global);
	B(0x48); B(0xb9); memcpy(w + o, &e->heap_ptr, 8); o += 8;
	B(0x48); B(0xba); { uint64_t k = 0x9e3779b97f4a7c15ull; memcpy(w + o, &k, 8); o += 8; }
	lea_at = o;
	B(0x48); B(0x8d); B(0x35); o += 4;            /* lea rsi,[rip+L], patched */
	B(0x48); B(0x83); B(0xc6); B(e->konst);       /* add rsi, imm8 */
	B(0x48); B(0x85); B(0xff);
	jz_at = o;
	B(0x74); B(0);                                /* jz done, patched */
	B(0xe8); REL32(e->helper);
	w[jz_at + 1] = (uint8_t)(o - (jz_at + 2));
	B(0x5d);
	B(0xe9); REL32(e->tail);
	L = o;
	memcpy(w + o, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	o += 8;
	d = (int32_t)(L - (lea_at + 7));
	memcpy(w + lea_at + 3, &d, 4);
#undef B
#undef REL32
	return o;
}

START_TEST(test_same_code_other_address)
{
	uint8_t a[128], b[128];
	/* run 1 and run 2 of the same program: everything moved (ASLR) */
	struct env r1 = { 0x55d0a0004010, 0x55d0a1b2c3d0, 0x55d0a0001230, 0x7f12345678a0, 3 };
	struct env r2 = { 0x5611f0004010, 0x5611f2e2c7a0, 0x5611f0001230, 0x7fab98765000, 3 };
	uint64_t base1 = 0x7f3a12340040, base2 = 0x7fc0deadb040;
	size_t n1 = emit(a, base1, &r1), n2 = emit(b, base2, &r2);

	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(a, b, n1) != 0); /* the bytes differ ... */
	ck_assert_uint_eq(jp_fingerprint(a, n1, base1), jp_fingerprint(b, n2, base2)); /* ... not the hash */
	/* the same code twice in one run, at two addresses */
	n2 = emit(b, base1 + 0x10000, &r1);
	ck_assert_uint_eq(jp_fingerprint(a, n1, base1), jp_fingerprint(b, n2, base1 + 0x10000));
}
END_TEST

START_TEST(test_different_code_differs)
{
	uint8_t a[128], b[128];
	struct env r = { 0x55d0a0004010, 0x55d0a1b2c3d0, 0x55d0a0001230, 0x7f12345678a0, 3 };
	struct env r_k = r;
	uint64_t base = 0x7f3a12340040, fa;
	size_t n = emit(a, base, &r), i;

	fa = jp_fingerprint(a, n, base);
	/* an immediate that is not an address */
	r_k.konst = 4;
	emit(b, base, &r_k);
	ck_assert_uint_ne(fa, jp_fingerprint(b, n, base));
	/* the 64-bit constant */
	memcpy(b, a, n);
	b[26] ^= 1;
	ck_assert_uint_ne(fa, jp_fingerprint(b, n, base));
	/* every single-byte change of an opcode or register byte changes it */
	for (i = 0; i < 4; i++) {
		memcpy(b, a, n);
		b[i] ^= 0x01;
		ck_assert_uint_ne(fa, jp_fingerprint(b, n, base));
	}
	/* the internal branch distance is identity, not position */
	memcpy(b, a, n);
	ck_assert_uint_eq(a[45], 0x74);
	b[46]++;
	ck_assert_uint_ne(fa, jp_fingerprint(b, n, base));
	/* the data at the end (one byte) */
	memcpy(b, a, n);
	b[n - 1] ^= 0x80;
	ck_assert_uint_ne(fa, jp_fingerprint(b, n, base));
	/* a prefix of the code is other code */
	ck_assert_uint_ne(fa, jp_fingerprint(a, n - 1, base));
	/* deterministic */
	ck_assert_uint_eq(fa, jp_fingerprint(a, n, base));
}
END_TEST

/* an internal branch and the same branch leaving the piece hash apart:
 * leaving targets are masked, internal ones kept */
START_TEST(test_branch_inside_vs_outside)
{
	uint8_t a[] = { 0x74, 0x02, 0x90, 0x90, 0xc3 };  /* jz +2 (inside) */
	uint8_t b[] = { 0x74, 0x10, 0x90, 0x90, 0xc3 };  /* jz +16 (outside) */
	uint8_t c[] = { 0x74, 0x40, 0x90, 0x90, 0xc3 };  /* jz +64 (outside) */

	ck_assert_uint_ne(jp_fingerprint(a, 5, 0x1000), jp_fingerprint(b, 5, 0x1000));
	ck_assert_uint_eq(jp_fingerprint(b, 5, 0x1000), jp_fingerprint(c, 5, 0x1000));
}
END_TEST

START_TEST(test_pointer_rule)
{
	ck_assert(jp_fingerprint_looks_like_pointer(0x00007f1234567890ull));
	ck_assert(jp_fingerprint_looks_like_pointer(0x000055d0a1b2c3d0ull));
	ck_assert(jp_fingerprint_looks_like_pointer(0x0000000000401000ull));
	ck_assert(jp_fingerprint_looks_like_pointer(0xfffe7f1234567890ull)); /* NaN-boxed */
	ck_assert(!jp_fingerprint_looks_like_pointer(0));
	ck_assert(!jp_fingerprint_looks_like_pointer(0xffff));
	ck_assert(!jp_fingerprint_looks_like_pointer(0xffffffffffffffffull)); /* -1 */
	ck_assert(!jp_fingerprint_looks_like_pointer(0x9e3779b97f4a7c15ull));
	ck_assert(!jp_fingerprint_looks_like_pointer(0x0000800000000000ull));
	ck_assert(!jp_fingerprint_looks_like_pointer(0x3ff0000000000000ull)); /* 1.0 */
}
END_TEST

/* NaN-boxed pointers embedded as imm64 are masked like plain ones */
START_TEST(test_nan_boxed_pointer_masked)
{
	uint8_t a[] = { 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3 };
	uint8_t b[sizeof(a)];
	uint64_t p1 = 0xfffe7f0011223340ull, p2 = 0xfffe7fab99887760ull;

	memcpy(b, a, sizeof(a));
	memcpy(a + 2, &p1, 8);
	memcpy(b + 2, &p2, 8);
	ck_assert_uint_eq(jp_fingerprint(a, sizeof(a), 0x1000), jp_fingerprint(b, sizeof(b), 0x2000));
}
END_TEST

/* bytes that do not decode are hashed as they are */
START_TEST(test_undecodable_bytes)
{
	uint8_t a[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0xc3 };  /* invalid in 64-bit mode */
	uint8_t b[] = { 0x06, 0x07, 0x0e, 0x16, 0x1f, 0xc3 };

	ck_assert_uint_ne(jp_fingerprint(a, sizeof(a), 0x1000), jp_fingerprint(b, sizeof(b), 0x1000));
	ck_assert_uint_eq(jp_fingerprint(a, sizeof(a), 0x1000), jp_fingerprint(a, sizeof(a), 0x9000));
	/* a truncated instruction at the end */
	ck_assert_uint_ne(jp_fingerprint((const uint8_t *)"\x48\xb8\x01", 3, 0),
			  jp_fingerprint((const uint8_t *)"\x48\xb8\x02", 3, 0));
	ck_assert_uint_eq(jp_fingerprint(a, 0, 0), jp_fingerprint(b, 0, 0x5000));
}
END_TEST

START_TEST(test_speed)
{
	size_t len = 8u << 20, i, o = 0;
	uint8_t *b = malloc(len + 128);
	struct env r = { 0x55d0a0004010, 0x55d0a1b2c3d0, 0x55d0a0001230, 0x7f12345678a0, 3 };
	struct timespec t0, t1;
	uint64_t acc = 0;
	double s;

	ck_assert_ptr_nonnull(b);
	while (o < len)
		o += emit(b + o, 0x10000 + o, &r);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < len; i += 4096)
		acc ^= jp_fingerprint(b + i, 4096, 0x10000 + i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "fingerprint: %.0f MB/s (%llx)\n", (double)len / s / 1e6,
		(unsigned long long)acc);
	free(b);
}
END_TEST

Suite *make_fingerprint_suite(void)
{
	Suite *s = suite_create("fingerprint");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_same_code_other_address);
	tcase_add_test(t, test_different_code_differs);
	tcase_add_test(t, test_branch_inside_vs_outside);
	tcase_add_test(t, test_pointer_rule);
	tcase_add_test(t, test_nan_boxed_pointer_masked);
	tcase_add_test(t, test_undecodable_bytes);
	tcase_add_test(t, test_speed);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}
