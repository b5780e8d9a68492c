/* test_fingerprint.c - position-independent code hashes: same code elsewhere, different code. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fingerprint.h"
#include "insn.h"
#include "split.h"

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
	/* the internal branch distance is identity, not position (here:
	 * one byte further lands inside the next instruction) */
	memcpy(b, a, n);
	ck_assert_uint_eq(a[45], 0x74);
	b[46]++;
	ck_assert_uint_ne(fa, jp_fingerprint(b, n, base));
	/* the register of a memory operand: mov rax,[rip+X] -> mov rcx,[rip+X] */
	memcpy(b, a, n);
	ck_assert_uint_eq(a[6], 0x05);
	b[6] = 0x0d;
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

/* HotSpot's static call stub (mov rbx,imm64; jmp .) before and after the
 * call is resolved (jmp to the callee, outside): the same code.  A jump
 * back to another instruction stays apart. */
START_TEST(test_branch_to_itself_as_outside)
{
	uint8_t a[] = { 0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0xe9, 0xfb, 0xff, 0xff, 0xff, 0xc3 };
	uint8_t b[] = { 0x48, 0xbb, 0x58, 0x83, 0xc0, 0x9d, 0x06, 0, 0, 0, 0xe9, 0x00, 0xbd, 0xaa, 0xff, 0xc3 };
	uint8_t c[] = { 0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0xe9, 0xf1, 0xff, 0xff, 0xff, 0xc3 }; /* jmp to the mov */
	uint8_t d[] = { 0x90, 0xeb, 0xfe, 0xc3 }; /* jmp . (short) */
	uint8_t e[] = { 0x90, 0xeb, 0x40, 0xc3 }; /* jmp outside (short) */

	ck_assert_uint_eq(jp_fingerprint(a, sizeof a, 0x7f0000001000), jp_fingerprint(b, sizeof b, 0x7f8000001000));
	ck_assert_uint_ne(jp_fingerprint(a, sizeof a, 0x1000), jp_fingerprint(c, sizeof c, 0x1000));
	ck_assert_uint_eq(jp_fingerprint(d, sizeof d, 0x1000), jp_fingerprint(e, sizeof e, 0x1000));
}
END_TEST

/* HotSpot's inline cache: call the method's own stub (inside the piece)
 * in one run, the compiled callee (outside) in the next: the same code.
 * A jump inside stays apart from one outside. */
START_TEST(test_call_inside_as_outside)
{
	uint8_t a[] = { 0xe8, 0x01, 0, 0, 0, 0xc3, 0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3 };
	uint8_t b[] = { 0xe8, 0x00, 0x10, 0xaa, 0xff, 0xc3, 0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3 };
	uint8_t c[] = { 0xe9, 0x01, 0, 0, 0, 0xc3, 0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3 };
	uint8_t d[] = { 0xe9, 0x00, 0x10, 0xaa, 0xff, 0xc3, 0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3 };

	ck_assert_uint_eq(jp_fingerprint(a, sizeof a, 0x7f0000001000), jp_fingerprint(b, sizeof b, 0x7f8000001000));
	ck_assert_uint_ne(jp_fingerprint(c, sizeof c, 0x1000), jp_fingerprint(d, sizeof d, 0x1000));
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
	/* LuaJIT GC64: itype << 47 over a 47-bit address, bit 47 is the tag's */
	ck_assert(jp_fingerprint_looks_like_pointer(0xfffdff1fc7fb07f8ull));
	ck_assert(jp_fingerprint_looks_like_pointer(0xfff97f1234567890ull));
	ck_assert(!jp_fingerprint_looks_like_pointer(0xfffd800000001234ull)); /* tag, no address */
	ck_assert(!jp_fingerprint_looks_like_pointer(0xfff8000000000000ull)); /* the canonical NaN */
	ck_assert(!jp_fingerprint_looks_like_pointer(0xffff7f1234567890ull));
}
END_TEST

/* A JIT's placeholder for a pointer it patches in later is left out like
 * the pointer: the piece has one fingerprint before the patch and after. */
START_TEST(test_placeholder_masked)
{
	/* mov rcx,imm64; add rax,rcx; ret */
	uint8_t a[] = { 0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x01, 0xc8, 0xc3 };
	uint8_t b[sizeof(a)];
	const uint64_t vals[] = { 0x7fffffffffffffffull, 0xffffffffffffffffull, 0x00007ff518289dc8ull };
	const uint64_t small = 0x5d1b, other = 0x7ffffffffffffffeull;
	uint64_t f0;

	ck_assert(jp_fingerprint_placeholder(0x7fffffffffffffffull));
	ck_assert(jp_fingerprint_placeholder(0xffffffffffffffffull));
	ck_assert(!jp_fingerprint_placeholder(0));
	ck_assert(!jp_fingerprint_placeholder(other));
	memcpy(a + 2, &vals[0], 8);
	f0 = jp_fingerprint(a, sizeof(a), 0x1000);
	memcpy(b, a, sizeof(a));
	for (size_t i = 1; i < sizeof(vals) / sizeof(vals[0]); i++) {
		memcpy(b + 2, &vals[i], 8);
		ck_assert_uint_eq(jp_fingerprint(b, sizeof(b), 0x2000), f0);
	}
	memcpy(b + 2, &small, 8);
	ck_assert_uint_ne(jp_fingerprint(b, sizeof(b), 0x2000), f0);
	memcpy(b + 2, &other, 8);
	ck_assert_uint_ne(jp_fingerprint(b, sizeof(b), 0x2000), f0);
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

/* Memory displacements are not hashed: LuaJIT's table slot offsets come
 * from a string hash seeded per run, and they also pick disp8 or disp32.
 * The base, index, scale and registers still count. */
START_TEST(test_displacement_masked)
{
	/* mov eax,[rdx+0x10]; cmp dword [rdx+0x14],-5; ret */
	static const uint8_t a[] = { 0x8b, 0x42, 0x10, 0x83, 0x7a, 0x14, 0xfb, 0xc3 };
	/* mov eax,[rdx+0x3f8]; cmp dword [rdx+0x3fc],-5; ret (disp32) */
	static const uint8_t b[] = { 0x8b, 0x82, 0xf8, 0x03, 0, 0, 0x83, 0xba, 0xfc, 0x03, 0, 0, 0xfb,
				     0xc3 };
	/* mov eax,[rdx]; cmp dword [rdx],-5; ret (no displacement) */
	static const uint8_t c[] = { 0x8b, 0x02, 0x83, 0x3a, 0xfb, 0xc3 };
	/* mov eax,[rcx+0x10]: another base register */
	static const uint8_t e[] = { 0x8b, 0x41, 0x10, 0x83, 0x7a, 0x14, 0xfb, 0xc3 };
	/* cmp dword [rdx+0x14],-4: another immediate */
	static const uint8_t f[] = { 0x8b, 0x42, 0x10, 0x83, 0x7a, 0x14, 0xfc, 0xc3 };
	/* mov eax,[rip+0x10]: RIP-relative (leaves the piece), not [rdx] */
	static const uint8_t g[] = { 0x8b, 0x05, 0x10, 0, 0, 0, 0x83, 0x7a, 0x14, 0xfb, 0xc3 };
	/* mov eax,[rbp+0x10] vs mov eax,[rip+...]: same ModRM r/m bits */
	static const uint8_t h[] = { 0x8b, 0x45, 0x10, 0x83, 0x7a, 0x14, 0xfb, 0xc3 };
	uint64_t fa = jp_fingerprint(a, sizeof(a), 0x1000);

	ck_assert_uint_eq(fa, jp_fingerprint(b, sizeof(b), 0x2000));
	ck_assert_uint_eq(fa, jp_fingerprint(c, sizeof(c), 0x3000));
	ck_assert_uint_ne(fa, jp_fingerprint(e, sizeof(e), 0x1000));
	ck_assert_uint_ne(fa, jp_fingerprint(f, sizeof(f), 0x1000));
	ck_assert_uint_ne(fa, jp_fingerprint(g, sizeof(g), 0x1000));
	ck_assert_uint_ne(jp_fingerprint(g, sizeof(g), 0x1000), jp_fingerprint(h, sizeof(h), 0x1000));
}
END_TEST

/* Internal branches count instructions, not bytes: the same code with
 * longer displacements in between, or a short instead of a near encoding,
 * hashes the same; a branch to another instruction does not. */
START_TEST(test_branch_counts_instructions)
{
	/* test eax,eax; jz L; mov eax,[rdx+8]; L: ret */
	static const uint8_t a[] = { 0x85, 0xc0, 0x74, 0x03, 0x8b, 0x42, 0x08, 0xc3 };
	/* the same with mov eax,[rdx+0x400] and jz rel32 */
	static const uint8_t b[] = { 0x85, 0xc0, 0x0f, 0x84, 0x06, 0, 0, 0, 0x8b, 0x82, 0, 4, 0, 0,
				     0xc3 };
	/* jz to the mov instead */
	static const uint8_t c[] = { 0x85, 0xc0, 0x74, 0x00, 0x8b, 0x42, 0x08, 0xc3 };
	/* jnz L */
	static const uint8_t d[] = { 0x85, 0xc0, 0x75, 0x03, 0x8b, 0x42, 0x08, 0xc3 };
	/* backward: L: dec ecx; mov eax,[rdx+8]; jnz L; ret -- short and near */
	static const uint8_t e[] = { 0xff, 0xc9, 0x8b, 0x42, 0x08, 0x75, 0xf9, 0xc3 };
	static const uint8_t f[] = { 0xff, 0xc9, 0x8b, 0x82, 0, 1, 0, 0, 0x0f, 0x85, 0xf2, 0xff, 0xff,
				     0xff, 0xc3 };
	/* jmp short vs jmp near to the same instruction */
	static const uint8_t g[] = { 0xeb, 0x01, 0x90, 0xc3 };
	static const uint8_t h[] = { 0xe9, 0x01, 0, 0, 0, 0x90, 0xc3 };
	uint64_t fa = jp_fingerprint(a, sizeof(a), 0x1000);

	ck_assert_uint_eq(fa, jp_fingerprint(b, sizeof(b), 0x1000));
	ck_assert_uint_ne(fa, jp_fingerprint(c, sizeof(c), 0x1000));
	ck_assert_uint_ne(fa, jp_fingerprint(d, sizeof(d), 0x1000));
	ck_assert_uint_eq(jp_fingerprint(e, sizeof(e), 0x1000), jp_fingerprint(f, sizeof(f), 0x5000));
	ck_assert_uint_eq(jp_fingerprint(g, sizeof(g), 0x1000), jp_fingerprint(h, sizeof(h), 0x1000));
}
END_TEST

/* A 64-bit value stored as two 32-bit halves (mov dword [m],lo; mov dword
 * [m+4],hi), as LuaJIT stores constant TValues, is masked when the whole
 * looks like a pointer; other constants stay. */
START_TEST(test_pointer_halves_masked)
{
	/* mov dword [rdx+0x10],lo; mov dword [rdx+0x14],hi; ret */
	uint8_t a[] = { 0xc7, 0x42, 0x10, 0, 0, 0, 0, 0xc7, 0x42, 0x14, 0, 0, 0, 0, 0xc3 };
	uint8_t b[sizeof(a)], r[sizeof(a)];
	uint64_t p1 = 0xfffdff1fc7fb07f8ull, p2 = 0xfffd80aa12345678ull, k = 0x400921fb54442d18ull;

	memcpy(b, a, sizeof(a));
	memcpy(a + 3, &p1, 4);
	memcpy(a + 10, (uint8_t *)&p1 + 4, 4);
	memcpy(b + 3, &p2, 4);
	memcpy(b + 10, (uint8_t *)&p2 + 4, 4);
	ck_assert_uint_eq(jp_fingerprint(a, sizeof(a), 0x1000), jp_fingerprint(b, sizeof(b), 0x2000));
	/* hi first, then lo */
	memcpy(r, a, sizeof(a));
	r[2] = 0x14;
	r[9] = 0x10;
	memcpy(r + 3, (uint8_t *)&p1 + 4, 4);
	memcpy(r + 10, &p1, 4);
	memcpy(b, r, sizeof(r));
	memcpy(b + 3, (uint8_t *)&p2 + 4, 4);
	memcpy(b + 10, &p2, 4);
	ck_assert_uint_eq(jp_fingerprint(r, sizeof(r), 0x1000), jp_fingerprint(b, sizeof(b), 0x2000));
	/* not a pointer (pi): kept */
	memcpy(b, a, sizeof(a));
	memcpy(b + 3, &k, 4);
	memcpy(b + 10, (uint8_t *)&k + 4, 4);
	memcpy(r, b, sizeof(b));
	r[3] ^= 1;
	ck_assert_uint_ne(jp_fingerprint(b, sizeof(b), 0x1000), jp_fingerprint(r, sizeof(r), 0x1000));
	/* two 32-bit fields, the high one zero: kept */
	memset(b + 3, 0, 4);
	memset(b + 10, 0, 4);
	b[3] = 0x45;
	b[5] = 0x01; /* lo 0x10045 */
	memcpy(r, b, sizeof(b));
	r[3] ^= 1;
	ck_assert_uint_ne(jp_fingerprint(b, sizeof(b), 0x1000), jp_fingerprint(r, sizeof(r), 0x1000));
	/* not adjacent halves (another base register): kept */
	memcpy(b, a, sizeof(a));
	b[8] = 0x41;
	memcpy(r, b, sizeof(b));
	r[3] ^= 1;
	ck_assert_uint_ne(jp_fingerprint(b, sizeof(b), 0x1000), jp_fingerprint(r, sizeof(r), 0x1000));
}
END_TEST

/* The fingerprint reads the memory-operand layout from both decoders: they
 * agree on it (test_insn checks the other fields). */
START_TEST(test_decoders_agree_on_layout)
{
	FILE *fp = fopen("/usr/lib/x86_64-linux-gnu/libc.so.6", "rb");
	size_t len = 4u << 20, got, i, both = 0;
	uint8_t *b = malloc(len);
	struct jp_decoder d;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(fp);
	got = fread(b, 1, len, fp);
	fclose(fp);
	jp_insn_init(&d);
	for (i = 0; i < got; i += 3) {
		struct jp_insn f, z;
		unsigned lf = jp_insn_decode_fast(b + i, got - i, &f);
		unsigned lz = lf ? jp_insn_decode_zydis(&d, b + i, got - i, &z) : 0;

		if (!lf || !lz)
			continue;
		both++;
		ck_assert_msg(f.modrm_off == z.modrm_off && f.disp_off == z.disp_off &&
			      f.disp_size == z.disp_size,
			      "at %zu: %02x %02x %02x %02x: fast modrm %u disp %u/%u, zydis %u %u/%u", i,
			      b[i], b[i + 1], b[i + 2], b[i + 3], f.modrm_off, f.disp_off, f.disp_size,
			      z.modrm_off, z.disp_off, z.disp_size);
	}
	ck_assert_uint_gt(both, 100000);
	free(b);
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

/* Fingerprints that reuse the splitter's decoding are the fingerprints:
 * for every piece the splitter finds in real code, and for ranges that
 * start and end anywhere (inside instructions, across pieces). */
START_TEST(test_memo_same_fingerprints)
{
	FILE *fp = fopen("/usr/lib/x86_64-linux-gnu/libc.so.6", "rb");
	size_t len = 1u << 20, got, npieces = 0, nranges = 0;
	uint8_t *b = malloc(len);
	struct jp_fp_work *w = malloc(jp_fp_work_size());
	struct jp_insn_memo m = { 0 };
	void *mem;
	static struct jp_piece ps[4096], ps2[4096];
	uint64_t x = 88172645463325252ull;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(fp);
	got = fread(b, 1, len, fp);
	fclose(fp);
	ck_assert_uint_gt(got, 512u << 10);
	mem = malloc(jp_insn_memo_size(1u << 15, 65536));
	ck_assert_ptr_nonnull(mem);
	jp_insn_memo_init(&m, mem, 1u << 15, 65536);
	for (size_t at = 256u << 10; at + 65536 <= got && at < (512u << 10); at += 65536) {
		const uint8_t *c = b + at;
		size_t n, n2;

		jp_insn_memo_reset(&m, c, 65536);
		n = jp_split_memo(c, 65536, 0x7f0000000000 + at, ps, 4096, &m);
		n2 = jp_split(c, 65536, 0x7f0000000000 + at, ps2, 4096);
		ck_assert_uint_eq(n, n2);
		ck_assert(memcmp(ps, ps2, n * sizeof(ps[0])) == 0);
		ck_assert_uint_gt(m.n, 1000);
		for (size_t k = 0; k < n; k++) {
			uint64_t s1 = 0, s2 = 0;
			uint64_t f1 = jp_fingerprint_memo(w, c + ps[k].offset, ps[k].length, 0, &s1, &m);
			uint64_t f2 = jp_fingerprint_shape_ws(w, c + ps[k].offset, ps[k].length, 0, &s2);

			ck_assert_uint_eq(f1, f2);
			ck_assert_uint_eq(s1, s2);
			/* the shape alone is the same value, memo or not */
			ck_assert_uint_eq(jp_fingerprint_shape_only(w, c + ps[k].offset, ps[k].length, &m), s2);
			ck_assert_uint_eq(jp_fingerprint_shape_only(w, c + ps[k].offset, ps[k].length, NULL), s2);
			npieces++;
		}
		for (unsigned k = 0; k < 300; k++) {
			size_t o, l;
			uint64_t s1 = 0, s2 = 0;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			o = (size_t)(x % 65536);
			l = (size_t)((x >> 20) % 700) + 1;
			if (o + l > 65536)
				l = 65536 - o;
			ck_assert_uint_eq(jp_fingerprint_memo(w, c + o, l, 0, &s1, &m),
					  jp_fingerprint_shape_ws(w, c + o, l, 0, &s2));
			ck_assert_uint_eq(s1, s2);
			ck_assert_uint_eq(jp_fingerprint_shape_only(w, c + o, l, &m), s2);
			nranges++;
		}
	}
	ck_assert_uint_gt(npieces, 100);
	ck_assert_uint_gt(nranges, 100);
	free(mem);
	free(w);
	free(b);
}
END_TEST

/* Pieces with pointer words among their code are fingerprinted from a
 * copy with those words zeroed; the memo of the original still answers
 * for every instruction the zeroing left alone, and the values are those
 * of a fingerprint without the memo.  Every other word holds bytes that
 * are no instruction (06: push es, invalid in 64-bit mode), which the memo
 * keeps as such: zeroed, they are one. */
START_TEST(test_memo_with_pointer_words)
{
	FILE *fp = fopen("/usr/lib/x86_64-linux-gnu/libc.so.6", "rb");
	const size_t len = 65536;
	uint8_t *b = malloc(len);
	struct jp_fp_work *w = malloc(jp_fp_work_size());
	struct jp_insn_memo m = { 0 };
	void *mem;
	static struct jp_piece ps[4096];
	const uint64_t base = 0x7f0000000000ull, word = 0x000055d0a1b2c3d0ull, bad = 0x00005506061e0606ull;
	size_t n, with_words = 0, k = 0, bad_entries = 0;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fseek(fp, 300 << 10, SEEK_SET), 0);
	ck_assert_uint_eq(fread(b, 1, len, fp), len);
	fclose(fp);
	/* a heap address in an aligned word every 200-odd bytes */
	for (size_t o = 64; o + 8 <= len; o += 232)
		memcpy(b + (o & ~(size_t)7), k++ % 2 ? &bad : &word, 8);
	mem = malloc(jp_insn_memo_size(1u << 15, 65536));
	ck_assert_ptr_nonnull(mem);
	jp_insn_memo_init(&m, mem, 1u << 15, 65536);
	jp_insn_memo_reset(&m, b, len);
	n = jp_split_memo(b, len, base, ps, 4096, &m);
	ck_assert_uint_gt(n, 10);
	for (uint32_t i = 0; i < m.n; i++)
		bad_entries += !m.in[i].len;
	ck_assert_uint_gt(bad_entries, 10);
	for (k = 0; k < n; k++) {
		const uint8_t *c = b + ps[k].offset;
		uint64_t s1 = 0, s2 = 0;

		ck_assert_uint_eq(jp_fingerprint_memo(w, c, ps[k].length, base + ps[k].offset, &s1, &m),
				  jp_fingerprint_shape_ws(w, c, ps[k].length, base + ps[k].offset, &s2));
		ck_assert_uint_eq(s1, s2);
		for (size_t o = (8 - ((base + ps[k].offset) & 7)) & 7; o + 8 <= ps[k].length; o += 8)
			if (memcmp(c + o, &word, 8) == 0 || memcmp(c + o, &bad, 8) == 0) {
				with_words++;
				break;
			}
	}
	ck_assert_uint_gt(with_words, 10);
	free(mem);
	free(w);
	free(b);
}
END_TEST

/* The shape leaves out exactly the targets of relative branches: code that
 * differs only there has one shape, anything else changes it. */
START_TEST(test_shape_only_masks_branch_targets)
{
	/* jmp rel32; jz rel8; call rel32; mov eax, imm32; ret */
	uint8_t a[] = { 0xe9, 1, 2, 3, 4, 0x74, 5, 0xe8, 9, 9, 9, 9, 0xb8, 1, 2, 3, 4, 0xc3 };
	uint8_t b[sizeof(a)];
	struct jp_fp_work *w = malloc(jp_fp_work_size());
	uint64_t sa;

	ck_assert_ptr_nonnull(w);
	sa = jp_fingerprint_shape_only(w, a, sizeof(a), NULL);
	memcpy(b, a, sizeof(a));
	b[1] = 0x77;
	b[6] = 0x10;
	b[10] = 0;
	ck_assert_uint_eq(jp_fingerprint_shape_only(w, b, sizeof(b), NULL), sa);
	b[14] = 0x55; /* the immediate is not a branch target */
	ck_assert_uint_ne(jp_fingerprint_shape_only(w, b, sizeof(b), NULL), sa);
	ck_assert_uint_ne(jp_fingerprint_shape_only(w, a, sizeof(a) - 1, NULL), sa);
	ck_assert_uint_eq(jp_fingerprint_shape_only(w, NULL, 4, NULL), 0);
	free(w);
}
END_TEST

/* A branch label that lands right at the hash buffer's end, followed by the
 * longest record an instruction makes (a 15-byte jcc rel8 with branch-hint
 * prefixes): the buffer must hold both (ASan run). */
START_TEST(test_label_then_longest_record)
{
	uint8_t code[1024];

	for (size_t k = 200; k < 300; k++) {
		size_t o = 0;
		uint64_t f;

		memset(code, 0x90, k); /* nops */
		o = k;
		code[o++] = 0xeb; /* jmp to the next instruction: a label there */
		code[o++] = 0x00;
		memset(code + o, 0x2e, 13);
		o += 13;
		code[o++] = 0x74; /* jz +0 */
		code[o++] = 0x00;
		code[o++] = 0xc3;
		f = jp_fingerprint(code, o, 0x1000);
		ck_assert_uint_eq(f, jp_fingerprint(code, o, 0x2000));
	}
}
END_TEST

/* Fill the stack below the caller with v: the next call's frame starts out
 * holding it instead of whatever was there. */
static void __attribute__((noinline)) poison_stack(uint8_t v)
{
	volatile uint8_t junk[64 * 1024];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = v;
}

/* A fingerprint depends on the code only, never on stale memory: MOV to a
 * control register (0F 20 /r) ignores ModRM.mod and has no SIB byte even
 * with mod 00 and r/m 100 (found by fuzz_naming). */
START_TEST(test_no_stale_memory)
{
	/* cs: mov ch,0xb5; mov ch,0xb5 x4; cs x6 mov rsp,cr4 -- last in the piece */
	static const uint8_t c[] = { 0x2e, 0xb5, 0xb5, 0xb5, 0xb5, 0xb5, 0xb5, 0xb5, 0xb5, 0xb5, 0xb5,
				     0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x0f, 0x20, 0x24 };
	static const uint8_t c2[] = { 0x0f, 0x20, 0x24 };
	uint64_t a, b;

	poison_stack(0x00);
	a = jp_fingerprint(c, sizeof(c), 0x1000);
	poison_stack(0xff);
	b = jp_fingerprint(c, sizeof(c), 0x1000);
	ck_assert_uint_eq(a, b);
	poison_stack(0x05);
	b = jp_fingerprint(c, sizeof(c), 0x1000);
	ck_assert_uint_eq(a, b);
	poison_stack(0x00);
	a = jp_fingerprint(c2, sizeof(c2), 0x1000);
	poison_stack(0x25);
	ck_assert_uint_eq(jp_fingerprint(c2, sizeof(c2), 0x1000), a);
}
END_TEST

/* Mono ends methods with calls to trampolines that read a type byte and a
 * pointer placed after the call: per-run data, which neither the split nor
 * the fingerprint may decode as instructions.  Two runs (other pointers,
 * other addresses) give the same pieces and the same fingerprints, and the
 * data does not swallow the next function. */
START_TEST(test_pointer_after_call)
{
	static const uint8_t body[] = { 0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0x74, 0x24, 0x08, 0x48, 0x83, 0xc4, 0x18,
					0xc3, 0xe8, 0xca, 0x3e, 0x40, 0x01, 0x08 };
	static const uint8_t next[] = { 0xcc, 0x48, 0x83, 0xec, 0x28, 0x4c, 0x89, 0x2c, 0x24, 0x48, 0x83, 0xc4, 0x28, 0xc3 };
	const uint64_t ptrs[2] = { 0x000055f5d696c3a8ull, 0x0000560808e8df9cull };
	uint64_t fp[2][2];

	for (int r = 0; r < 2; r++) {
		uint8_t buf[64];
		struct jp_piece p[4];
		size_t n = 0, k;

		memcpy(buf, body, sizeof(body));
		n = sizeof(body);
		memcpy(buf + n, &ptrs[r], 8);
		n += 8;
		memcpy(buf + n, next, sizeof(next));
		n += sizeof(next);
		k = jp_split(buf, n, 0x40400000 + 0x1000 * (uint64_t)r, p, 4);
		ck_assert_uint_eq(k, 2);
		ck_assert_uint_eq(p[0].offset, 0);
		ck_assert_uint_eq(p[0].length, sizeof(body) + 8);
		ck_assert_uint_eq(p[1].offset, sizeof(body) + 9);
		for (int i = 0; i < 2; i++)
			fp[r][i] = jp_fingerprint(buf + p[i].offset, p[i].length, 0);
	}
	ck_assert_uint_eq(fp[0][0], fp[1][0]);
	ck_assert_uint_eq(fp[0][1], fp[1][1]);
	/* mov rbx,fs:[0x10] after a call is code, not a pointer */
	ck_assert_uint_eq(jp_split_inline_pointer((const uint8_t *)&ptrs[0], 8, 1), 8);
	ck_assert_uint_eq(jp_split_inline_pointer((const uint8_t[]){ 0x64, 0x48, 0x8b, 0x1c, 0x25, 0x10, 0, 0, 0 }, 9, 1), 0);
	/* an mmap address from the low end of the randomised mmap base
	 * (header_jit's area at 0x7efd... in about 1 run of 75) */
	ck_assert_uint_eq(jp_split_inline_pointer((const uint8_t[]){ 0x08, 0x00, 0x40, 0xab, 0x91, 0xfd, 0x7e, 0, 0 }, 9, 1), 9);
	ck_assert_int_eq(jp_split_runtime_word((const uint8_t[]){ 0x00, 0x40, 0xab, 0x91, 0xfd, 0x7e, 0, 0 }), 1);
	/* the type byte only after a call */
	ck_assert_uint_eq(jp_split_inline_pointer((const uint8_t[]){ 0x08, 0xa8, 0xc3, 0x96, 0xd6, 0xf5, 0x55, 0, 0 }, 9, 1), 9);
	ck_assert_uint_eq(jp_split_inline_pointer((const uint8_t[]){ 0x08, 0xa8, 0xc3, 0x96, 0xd6, 0xf5, 0x55, 0, 0 }, 9, 0), 0);
}
END_TEST

/* Mono's exception calls at the end of a method, as read from two runs
 * (mono 6.8, the engine workload): call; type byte 08; an unaligned
 * pointer, five times.  Where such a pointer covers an aligned word, that
 * word is zeroed as a per-run word first; the call-and-pointer pattern
 * must still be seen in the bytes as they are, or the zeros decode into
 * the next call's opcode and its target, per run, is hashed. */
START_TEST(test_pointer_after_call_over_aligned_word)
{
	static const uint8_t run1[] = {
		0xe8, 0xd9, 0xba, 0x2a, 0xfe, 0x08, 0xf0, 0x06, 0x7b, 0xf0, 0x73, 0x55, 0x00, 0x00, 0xe8, 0xcb, 0xba, 0x2a,
		0xfe, 0x08, 0x00, 0x07, 0x7b, 0xf0, 0x73, 0x55, 0x00, 0x00, 0xe8, 0xbd, 0xba, 0x2a, 0xfe, 0x08, 0x10, 0x07,
		0x7b, 0xf0, 0x73, 0x55, 0x00, 0x00, 0xe8, 0xaf, 0xba, 0x2a, 0xfe, 0x08, 0x20, 0x07, 0x7b, 0xf0, 0x73, 0x55,
		0x00, 0x00, 0xe8, 0x21, 0xb3, 0x2a, 0xfe, 0x08, 0xd0, 0xf8, 0x70, 0xf0, 0x73, 0x55, 0x00, 0x00
	};
	static const uint8_t run2[] = {
		0xe8, 0xd9, 0x7a, 0x4c, 0x01, 0x08, 0x20, 0xd9, 0x96, 0xac, 0x41, 0x56, 0x00, 0x00, 0xe8, 0xcb, 0x7a, 0x4c,
		0x01, 0x08, 0x30, 0xd9, 0x96, 0xac, 0x41, 0x56, 0x00, 0x00, 0xe8, 0xbd, 0x7a, 0x4c, 0x01, 0x08, 0x40, 0xd9,
		0x96, 0xac, 0x41, 0x56, 0x00, 0x00, 0xe8, 0xaf, 0x7a, 0x4c, 0x01, 0x08, 0x50, 0xd9, 0x96, 0xac, 0x41, 0x56,
		0x00, 0x00, 0xe8, 0x21, 0x73, 0x4c, 0x01, 0x08, 0xd0, 0xc8, 0x8c, 0xac, 0x41, 0x56, 0x00, 0x00
	};
	/* the first pointer (offset 6) fills the aligned word at 6 */
	const uint64_t a1 = 0x41d6dea2, a2 = 0x40a35ea2;

	ck_assert_uint_eq(sizeof(run1), sizeof(run2));
	ck_assert(jp_split_runtime_word(run1 + 6) && ((a1 + 6) & 7) == 0);
	ck_assert_uint_eq(jp_fingerprint(run1, sizeof(run1), a1), jp_fingerprint(run2, sizeof(run2), a2));
	/* and another type byte is another function */
	{
		uint8_t other[sizeof(run2)];

		memcpy(other, run2, sizeof(other));
		other[19] = 0x09;
		ck_assert_uint_ne(jp_fingerprint(run1, sizeof(run1), a1), jp_fingerprint(other, sizeof(other), a2));
	}
}
END_TEST

/* Per-run values inside a piece: an 8-byte aligned heap/mmap word among
 * the code (QEMU keeps its TranslationBlock structs between translated
 * blocks) is read as zeros; a 32-bit code address (Mono's code sits below
 * 4 GiB: mov r11d,<trampoline>) near the piece is masked.  Other
 * constants still count. */
START_TEST(test_per_run_words_masked)
{
	static const uint8_t code[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x01, 0xf8, 0x5d, 0xc3, 0x00 };
	uint8_t a[40], b[40];
	const uint64_t pa = 0x000055eac583f600ull, pb = 0x00005608d593f600ull;
	static const uint8_t mov_r11d[] = { 0x48, 0x83, 0xec, 0x08, 0x41, 0xbb, 0, 0, 0, 0, 0x41, 0xff, 0xd3, 0xc3 };
	uint32_t va = 0x400e01c2, vb = 0x7a3201c2, far = 0x12345;

	memset(a, 0xcc, sizeof(a));
	memcpy(a, code, sizeof(code));
	memcpy(b, a, sizeof(a));
	memcpy(a + 16, &pa, 8);
	memcpy(b + 16, &pb, 8);
	a[24] = b[24] = 0xc3;
	ck_assert_uint_eq(jp_fingerprint(a, 25, 0x7f0000001000), jp_fingerprint(b, 25, 0x7f0000005000));
	/* not aligned: bytes like any other */
	ck_assert_uint_ne(jp_fingerprint(a + 1, 24, 0x7f0000001000), jp_fingerprint(b + 1, 24, 0x7f0000001000));

	memcpy(a, mov_r11d, sizeof(mov_r11d));
	memcpy(b, mov_r11d, sizeof(mov_r11d));
	memcpy(a + 6, &va, 4);
	memcpy(b + 6, &vb, 4);
	ck_assert_uint_eq(jp_fingerprint(a, sizeof(mov_r11d), 0x400e4000),
			  jp_fingerprint(b, sizeof(mov_r11d), 0x7a324000));
	/* a constant far from the code, or code above 4 GiB: kept */
	memcpy(b + 6, &far, 4);
	ck_assert_uint_ne(jp_fingerprint(a, sizeof(mov_r11d), 0x400e4000),
			  jp_fingerprint(b, sizeof(mov_r11d), 0x400e4000));
	memcpy(b + 6, &vb, 4);
	ck_assert_uint_ne(jp_fingerprint(a, sizeof(mov_r11d), 0x7f00400e4000),
			  jp_fingerprint(b, sizeof(mov_r11d), 0x7f00400e4000));
}
END_TEST

/* QEMU: goto_tb is jmp +0 until the next block is chained to it, then a
 * jump out of the piece; and a block's TranslationBlock ends the piece
 * with a pointer whose zero top bytes the splitter left out as filler.
 * Neither may change the name.  A jump to a later instruction of the
 * piece stays apart. */
START_TEST(test_goto_tb_and_cut_pointer_masked)
{
	uint8_t a[] = { 0x66, 0x90, 0xe9, 0, 0, 0, 0, 0x48, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 0xc3 };
	uint8_t b[] = { 0x66, 0x90, 0xe9, 0x14, 0x18, 0x07, 0, 0x48, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 0xc3 };
	uint8_t c[] = { 0x66, 0x90, 0xe9, 0x0a, 0, 0, 0, 0x48, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 0xc3 };
	uint8_t t[24] = { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3 };
	uint8_t u[24];
	const uint64_t pa = 0x00007f80b013e180ull, pb = 0x00007fc1e413e180ull;

	ck_assert_uint_eq(jp_fingerprint(a, sizeof a, 0x7f0000001000), jp_fingerprint(b, sizeof b, 0x7f8000001000));
	ck_assert_uint_ne(jp_fingerprint(a, sizeof a, 0x1000), jp_fingerprint(c, sizeof c, 0x1000));
	memcpy(u, t, sizeof(t));
	memcpy(t + 16, &pa, 8);
	memcpy(u + 16, &pb, 8);
	/* 23 bytes: the pointer without its last zero byte */
	ck_assert_uint_eq(jp_fingerprint(t, 23, 0x7f80b013e040), jp_fingerprint(u, 23, 0x7fc1e413e040));
	ck_assert_uint_eq(jp_fingerprint(t, 24, 0x7f80b013e040), jp_fingerprint(u, 24, 0x7fc1e413e040));
	/* too little of it left to tell: bytes like any other */
	ck_assert_uint_ne(jp_fingerprint(t, 21, 0x7f80b013e040), jp_fingerprint(u, 21, 0x7fc1e413e040));
}
END_TEST

/* HotSpot makes a method not entrant by writing jmp rel32 (to its
 * handle_wrong_method stub) over the first 5 bytes of its verified entry's
 * first instruction, the 7-byte stack bang mov [rsp-0x14000],eax.  Real
 * bytes (OpenJDK 17, tests/e2e/engine_hotspot.sh): a method with an
 * inline-cache check, the entry at +32 after its NOP padding, read before
 * the patch in one run and after it in the next (another address); and a
 * static method whose piece starts with the end of its relocation data,
 * the entry at +88 after zero bytes (its first 160 bytes, both states).
 * Before the rule each state had its own name.  static_straddle is
 * another static method, whose relocation data decodes over the entry's
 * first byte (05 90 0c 64 00 | 00 89 84 24 ...). */
static const uint8_t ic_run1[155] = {
	0x44, 0x8b, 0x56, 0x08, 0x49, 0xbb, 0x00, 0x00, 0x00, 0xd7, 0xea, 0x7f, 0x00, 0x00, 0x4d, 0x03,
	0xd3, 0x4c, 0x3b, 0xd0, 0x0f, 0x85, 0xc6, 0x8f, 0x58, 0x07, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,
	0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, 0x55, 0x48, 0x83, 0xec, 0x30, 0x48, 0xbf, 0x88, 0x8f,
	0x00, 0xd3, 0xea, 0x7f, 0x00, 0x00, 0x8b, 0x9f, 0xf4, 0x00, 0x00, 0x00, 0x83, 0xc3, 0x02, 0x89,
	0x9f, 0xf4, 0x00, 0x00, 0x00, 0x81, 0xe3, 0xfe, 0x07, 0x00, 0x00, 0x83, 0xfb, 0x00, 0x0f, 0x84,
	0x13, 0x00, 0x00, 0x00, 0x48, 0x83, 0xc4, 0x30, 0x5d, 0x49, 0x3b, 0xa7, 0x40, 0x03, 0x00, 0x00,
	0x0f, 0x87, 0x1f, 0x00, 0x00, 0x00, 0xc3, 0x49, 0xba, 0x98, 0x5e, 0x44, 0xd7, 0xea, 0x7f, 0x00,
	0x00, 0x4c, 0x89, 0x54, 0x24, 0x08, 0x48, 0xc7, 0x04, 0x24, 0xff, 0xff, 0xff, 0xff, 0xe8, 0x5d,
	0x41, 0x63, 0x07, 0xeb, 0xcf, 0x49, 0xba, 0xf9, 0x01, 0x40, 0x41, 0xeb, 0x7f, 0x00, 0x00, 0x4d,
	0x89, 0x97, 0x58, 0x03, 0x00, 0x00, 0xe9, 0xc5, 0x06, 0x59, 0x07,
};

static const uint8_t ic_run2_patched[155] = {
	0x44, 0x8b, 0x56, 0x08, 0x49, 0xbb, 0x00, 0x00, 0x00, 0x2f, 0x5e, 0x7f, 0x00, 0x00, 0x4d, 0x03,
	0xd3, 0x4c, 0x3b, 0xd0, 0x0f, 0x85, 0xc6, 0x8f, 0x58, 0x07, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,
	0xe9, 0xbb, 0x85, 0x58, 0x07, 0xfe, 0xff, 0x55, 0x48, 0x83, 0xec, 0x30, 0x48, 0xbf, 0xc0, 0x8f,
	0x00, 0x2b, 0x5e, 0x7f, 0x00, 0x00, 0x8b, 0x9f, 0xf4, 0x00, 0x00, 0x00, 0x83, 0xc3, 0x02, 0x89,
	0x9f, 0xf4, 0x00, 0x00, 0x00, 0x81, 0xe3, 0xfe, 0x07, 0x00, 0x00, 0x83, 0xfb, 0x00, 0x0f, 0x84,
	0x13, 0x00, 0x00, 0x00, 0x48, 0x83, 0xc4, 0x30, 0x5d, 0x49, 0x3b, 0xa7, 0x40, 0x03, 0x00, 0x00,
	0x0f, 0x87, 0x1f, 0x00, 0x00, 0x00, 0xc3, 0x49, 0xba, 0x98, 0x5e, 0x44, 0x2f, 0x5e, 0x7f, 0x00,
	0x00, 0x4c, 0x89, 0x54, 0x24, 0x08, 0x48, 0xc7, 0x04, 0x24, 0xff, 0xff, 0xff, 0xff, 0xe8, 0x5d,
	0x50, 0x63, 0x07, 0xeb, 0xcf, 0x49, 0xba, 0xf9, 0x01, 0x40, 0x99, 0x5e, 0x7f, 0x00, 0x00, 0x4d,
	0x89, 0x97, 0x58, 0x03, 0x00, 0x00, 0xe9, 0xc5, 0x06, 0x59, 0x07,
};

static const uint8_t static_run2[160] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0c, 0xc0, 0x30, 0xc0, 0x57, 0xc0, 0x32, 0xc0,
	0x2f, 0xa0, 0x03, 0xc0, 0x12, 0xc0, 0x3f, 0xb0, 0x18, 0xb0, 0x18, 0xb0, 0x0e, 0xc0, 0x17, 0x64,
	0x0a, 0x64, 0x05, 0x64, 0x0e, 0x64, 0x05, 0xc0, 0x17, 0x64, 0x98, 0xf0, 0x0a, 0x80, 0x11, 0x64,
	0x96, 0xf0, 0x05, 0x80, 0x11, 0x64, 0x94, 0xf0, 0x05, 0x80, 0x11, 0x64, 0x29, 0x64, 0x1a, 0x00,
	0x00, 0x64, 0x03, 0xf8, 0x7c, 0xb7, 0xba, 0x36, 0x5e, 0x7f, 0x05, 0x70, 0x0e, 0x64, 0x01, 0xf8,
	0x9e, 0xff, 0x06, 0x90, 0x0c, 0x64, 0x00, 0x00, 0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, 0x55,
	0x48, 0x83, 0xec, 0x30, 0x48, 0xb8, 0x10, 0xe8, 0x02, 0x2b, 0x5e, 0x7f, 0x00, 0x00, 0x8b, 0xb8,
	0xf4, 0x00, 0x00, 0x00, 0x83, 0xc7, 0x02, 0x89, 0xb8, 0xf4, 0x00, 0x00, 0x00, 0x81, 0xe7, 0xfe,
	0x07, 0x00, 0x00, 0x83, 0xff, 0x00, 0x0f, 0x84, 0x52, 0x01, 0x00, 0x00, 0x8b, 0x46, 0x0c, 0x8b,
	0x7a, 0x0c, 0x3b, 0xc7, 0x48, 0xbf, 0x10, 0xe8, 0x02, 0x2b, 0x5e, 0x7f, 0x00, 0x00, 0x48, 0xc7,
};

static const uint8_t static_straddle[160] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0c, 0xc0, 0x52, 0xc0, 0x2e, 0xc0, 0x16, 0xc0,
	0x24, 0xc0, 0x93, 0xc0, 0x22, 0xc0, 0x14, 0x34, 0x05, 0xc0, 0x57, 0xb0, 0x0e, 0xc0, 0x17, 0x64,
	0x0e, 0x64, 0x05, 0x64, 0x3d, 0xf0, 0x05, 0x80, 0x11, 0x64, 0x2a, 0x64, 0x1d, 0x00, 0x01, 0xf8,
	0x71, 0xfe, 0x05, 0x50, 0x00, 0xc0, 0x0a, 0x64, 0x05, 0x64, 0x03, 0xf8, 0x7c, 0x5e, 0xba, 0x36,
	0xf4, 0x7f, 0x05, 0x70, 0x0e, 0x64, 0x01, 0xf8, 0x4e, 0xff, 0x06, 0x90, 0x0c, 0x64, 0x01, 0xf8,
	0x0a, 0xff, 0x05, 0x90, 0x0c, 0x64, 0x00, 0x00, 0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, 0x55,
	0x48, 0x83, 0xec, 0x30, 0x48, 0xbf, 0x60, 0xc2, 0x02, 0xd3, 0xf3, 0x7f, 0x00, 0x00, 0x48, 0x8d,
	0xbf, 0x10, 0x02, 0x00, 0x00, 0x48, 0x85, 0xf6, 0x75, 0x10, 0x48, 0xf7, 0x07, 0x01, 0x00, 0x00,
	0x00, 0x75, 0x33, 0xf0, 0x48, 0x83, 0x0f, 0x01, 0xeb, 0x2c, 0x8b, 0x5e, 0x08, 0x49, 0xba, 0x00,
	0x00, 0x00, 0xd7, 0xf3, 0x7f, 0x00, 0x00, 0x49, 0x03, 0xda, 0x4c, 0x8b, 0xd3, 0x48, 0x33, 0x1f,
};

/* A static case after HotSpot's patch: jmp rel32 (the distance it wrote)
 * over the first 5 bytes of the verified entry at +88. */
static void not_entrant(uint8_t *dst, const uint8_t *src, size_t len, int32_t rel)
{
	memcpy(dst, src, len);
	dst[88] = 0xe9;
	memcpy(dst + 89, &rel, 4);
}

START_TEST(test_not_entrant_patch_keeps_fingerprint)
{
	struct jp_fp_work *w = malloc(jp_fp_work_size());
	uint8_t p[sizeof(ic_run1)], q[64], static_run2_patched[160], static_straddle_patched[160];
	uint64_t f, s1, s2;

	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(ic_run2_patched[32], 0xe9);
	not_entrant(static_run2_patched, static_run2, sizeof(static_run2), 0x075796bb);
	not_entrant(static_straddle_patched, static_straddle, sizeof(static_straddle), 0x075731bb);
	f = jp_fingerprint(ic_run1, sizeof(ic_run1), 0x7feb414001a0ull);
	ck_assert_uint_eq(jp_fingerprint(ic_run2_patched, sizeof(ic_run2_patched), 0x7f5e994001a0ull), f);
	ck_assert_uint_eq(jp_fingerprint(static_run2_patched, sizeof(static_run2_patched), 0x7f5e9940f068ull),
			  jp_fingerprint(static_run2, sizeof(static_run2), 0x7f5e9940f068ull));
	ck_assert_uint_eq(jp_fingerprint(static_straddle_patched, sizeof(static_straddle_patched), 0x7ff441415568ull),
			  jp_fingerprint(static_straddle, sizeof(static_straddle), 0x7ff441415568ull));
	/* any target of the jump */
	memcpy(p, ic_run2_patched, sizeof(p));
	p[33] ^= 0x5a;
	p[35] ^= 0x01;
	ck_assert_uint_eq(jp_fingerprint(p, sizeof(p), 0x7f5e994001a0ull), f);
	/* the two bytes the patch leaves count, and so does the rest */
	p[37] = 0xfd;
	ck_assert_uint_ne(jp_fingerprint(p, sizeof(p), 0x7f5e994001a0ull), f);
	memcpy(p, ic_run1, sizeof(p));
	p[43] = 0x40; /* sub rsp,0x40 after it */
	ck_assert_uint_ne(jp_fingerprint(p, sizeof(p), 0x7feb414001a0ull), f);
	/* the shape stays that of the bytes, the same from either function */
	f = jp_fingerprint_shape_ws(w, ic_run2_patched, sizeof(ic_run2_patched), 0, &s1);
	(void)f;
	s2 = jp_fingerprint_shape_only(w, ic_run2_patched, sizeof(ic_run2_patched), NULL);
	ck_assert_uint_eq(s1, s2);
	jp_fingerprint_shape_ws(w, ic_run1, sizeof(ic_run1), 0, &s1);
	ck_assert_uint_eq(jp_fingerprint_shape_only(w, ic_run1, sizeof(ic_run1), NULL), s1);
	jp_fingerprint_shape_ws(w, static_straddle_patched, sizeof(static_straddle_patched), 0, &s1);
	ck_assert_uint_eq(jp_fingerprint_shape_only(w, static_straddle_patched, sizeof(static_straddle_patched), NULL), s1);

	/* Not at an entry (after push rbp; mov rbp,rsp, not after padding):
	 * a frame of 0x88 and one of 0x98 bytes (sub rsp,imm32) are other
	 * functions. */
	{
		static const uint8_t fa[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x81, 0xec, 0x88, 0x00, 0x00, 0x00,
					      0x31, 0xc0, 0xc9, 0xc3 };
		uint8_t fb[sizeof(fa)];

		memcpy(fb, fa, sizeof(fa));
		fb[7] = 0x98;
		ck_assert_uint_ne(jp_fingerprint(fa, sizeof(fa), 0x1000), jp_fingerprint(fb, sizeof(fb), 0x1000));
		/* nor at the piece's start (Mono and SpiderMonkey begin
		 * functions so): only after padding */
		ck_assert_uint_ne(jp_fingerprint(fa + 4, sizeof(fa) - 4, 0x1000),
				  jp_fingerprint(fb + 4, sizeof(fb) - 4, 0x1000));
	}
	/* A piece that starts with a jump out: what follows still tells it
	 * apart, in the two bytes after the jump and beyond. */
	{
		static const uint8_t ja[] = { 0xe9, 0x10, 0x20, 0x30, 0x00, 0x00, 0x00, 0x48, 0x89, 0xd8, 0xc3 };

		memcpy(q, ja, sizeof(ja));
		f = jp_fingerprint(q, sizeof(ja), 0x1000);
		q[8] = 0x8b; /* mov rax,rbx -> mov rbx,rax */
		ck_assert_uint_ne(jp_fingerprint(q, sizeof(ja), 0x1000), f);
		memcpy(q, ja, sizeof(ja));
		q[6] = 0x01;
		ck_assert_uint_ne(jp_fingerprint(q, sizeof(ja), 0x1000), f);
		/* a jump inside the piece is no patched entry */
		memcpy(q, ja, sizeof(ja));
		q[1] = 2;
		q[2] = q[3] = 0;
		f = jp_fingerprint(q, sizeof(ja), 0x1000);
		q[6] = 0x01;
		ck_assert_uint_ne(jp_fingerprint(q, sizeof(ja), 0x1000), f);
	}
	free(w);
}
END_TEST

/* LuaJIT 2.1's hottest trace, the same code read from two runs (the
 * engine workload): only the exits' distances differ.  In run 1 the
 * trace sat 9 bytes lower mod 16, and the aligned word at +0x21 read
 * 00 4d 8d 86 88 7e 00 00: the last byte of lea r13,[r14+0x8008], then
 * lea r8,[r14+0x7e88], whose displacement has the shape of an mmap
 * address's top half.  Zeroed as a pointer word, it decoded otherwise and
 * the piece (80 % of the run's samples) got another name. */
START_TEST(test_instruction_field_is_no_pointer_word)
{
	static const uint8_t run1[] = {
		0x83, 0xc3, 0x01, 0x3b, 0xd8, 0x0f, 0x8e, 0x79, 0xff, 0xff, 0xff, 0xe9,
		0x39, 0x02, 0xff, 0xff, 0x41, 0xc7, 0x86, 0x38, 0xf1, 0xff, 0xff, 0x01,
		0x00, 0x00, 0x00, 0x4d, 0x8d, 0xae, 0x08, 0x80, 0x00, 0x00, 0x4d, 0x8d,
		0x86, 0x88, 0x7e, 0x00, 0x00, 0x49, 0x8d, 0xb6, 0xc8, 0x80, 0x00, 0x00,
		0xf2, 0x41, 0x0f, 0x10, 0x8e, 0x18, 0xb7, 0x00, 0x00, 0xf2, 0x41, 0x0f,
		0x10, 0x86, 0xd8, 0xb6, 0x00, 0x00, 0xf2, 0x0f, 0x10, 0x7a, 0x18, 0xf2,
		0x0f, 0x2c, 0xc7, 0x0f, 0x57, 0xf6, 0xf2, 0x0f, 0x2a, 0xf0, 0x66, 0x0f,
		0x2e, 0xfe, 0x0f, 0x85, 0xe1, 0x01, 0xff, 0xff, 0x0f, 0x8a, 0xdb, 0x01,
		0xff, 0xff, 0x81, 0xf8, 0xfe, 0xff, 0xff, 0x7f, 0x0f, 0x8f, 0xcf, 0x01,
		0xff, 0xff
	};
	const uint64_t a1 = 0x555c8497fe0full, a2 = 0x555e9700fe06ull;
	/* QEMU's and r12d,0x7fff; LuaJIT's jne and jmp +0x55d0 to exits */
	static const uint8_t and_imm[] = { 0x45, 0x0f, 0xb7, 0x24, 0x24, 0x41, 0x81, 0xe4, 0xff, 0x7f, 0x00, 0x00,
					   0x4c, 0x89, 0xe7, 0xc3 };
	static const uint8_t jmp_rel[] = { 0x48, 0x83, 0xc0, 0x01, 0x0f, 0x85, 0xf0, 0xff, 0xff, 0xff, 0xe9, 0xd0,
					   0x55, 0x00, 0x00, 0xc3 };
	uint8_t run2[sizeof(run1)];

	/* run 2's bytes: the same but for the four exit distances */
	memcpy(run2, run1, sizeof(run2));
	run2[12] = 0x42;
	run2[88] = 0xea;
	run2[94] = 0xe4;
	run2[106] = 0xd8;
	ck_assert(jp_split_runtime_word(run1 + 0x21) && ((a1 + 0x21) & 7) == 0);
	ck_assert_uint_eq(jp_fingerprint(run1, sizeof(run1), a1), jp_fingerprint(run2, sizeof(run2), a2));
	/* A TranslationBlock's heap pointer after QEMU's jmp and padding,
	 * from two runs: in run 2 its low bytes decode as (bad) (bad)
	 * add [rdi+0x5642],bh, a field on the top half; still data. */
	{
		uint8_t tb1[] = { 0x48, 0x8d, 0x05, 0xc3, 0xfe, 0xff, 0xff, 0xe9, 0x13, 0xfd, 0xf6, 0xff, 0x90, 0x90, 0x90,
				  0x60, 0x72, 0xd8, 0x66, 0x89, 0x55, 0x00, 0x00, 0x00, 0x00, 0x27, 0x03, 0x11, 0xde, 0x00 };
		uint8_t tb2[sizeof(tb1)];

		memcpy(tb2, tb1, sizeof(tb2));
		memcpy(tb2 + 16, (const uint8_t[]){ 0x62, 0x00, 0xbf, 0x42, 0x56 }, 5);
		ck_assert_uint_eq(jp_fingerprint(tb1, sizeof(tb1), 0x7f8efc0902f9), jp_fingerprint(tb2, sizeof(tb2), 0x7fdb600902f9));
	}
	/* after eight 80 bytes (add byte [rax-0x7f7f7f80],0x80, then and
	 * byte [rax+0x62],0 across the word's start): 00 bf 42 56 00 00 reads
	 * mov edi,0x5642, which data decodes into; only jcc/jmp/call rel32
	 * count without a ModRM byte. */
	{
		uint8_t tb1[] = { 0x50, 0xff, 0x25, 0x13, 0x00, 0x00, 0x00, 0x90, 0x90, 0x90, 0x80, 0x80,
				  0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x60, 0x62, 0x00, 0xbf, 0x42, 0x56,
				  0x00, 0x00, 0x50, 0xe1, 0x00, 0xbf, 0x42, 0x56, 0x00, 0x00 };
		uint8_t tb2[sizeof(tb1)];

		memcpy(tb2, tb1, sizeof(tb2));
		memcpy(tb2 + 18, (const uint8_t[]){ 0x60, 0x72, 0xd8, 0x66, 0x89, 0x55 }, 6);
		ck_assert_uint_eq(jp_fingerprint(tb1, sizeof(tb1), 0x7fdb600750d6), jp_fingerprint(tb2, sizeof(tb2), 0x7fdb600750d6));
	}
	/* another (run 2 of the same): 50 59 f7 be 42 56 00 00 is push rax;
	 * pop rcx; idiv [rsi+0x5642], ordinary code, but after jmp; nop: data
	 * all the same.  Any other heap pointer there gives the same name. */
	{
		uint8_t tb1[] = { 0x05, 0x5b, 0xfe, 0xff, 0xff, 0xe9, 0x2b, 0x90, 0xe8, 0xff, 0x90, 0x90, 0x90,
				  0x50, 0x59, 0xf7, 0xbe, 0x42, 0x56, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x05, 0x00,
				  0x10, 0x05, 0x00, 0x0f, 0x05, 0x08, 0x07, 0x03, 0x01, 0x07, 0x03, 0x00, 0x12 };
		uint8_t tb2[sizeof(tb1)];

		memcpy(tb2, tb1, sizeof(tb2));
		memcpy(tb2 + 13, (const uint8_t[]){ 0x60, 0x72, 0xd8, 0x66, 0x89, 0x55 }, 6);
		ck_assert_uint_eq(jp_fingerprint(tb1, sizeof(tb1), 0x7fdb60176fe3), jp_fingerprint(tb2, sizeof(tb2), 0x7fdb60176fe3));
	}
	/* wherever the code sits */
	for (unsigned k = 0; k < 8; k++) {
		ck_assert_uint_eq(jp_fingerprint(and_imm, sizeof(and_imm), 0x7f0000001000 + k),
				  jp_fingerprint(and_imm, sizeof(and_imm), 0x7f0000001004));
		ck_assert_uint_eq(jp_fingerprint(jmp_rel, sizeof(jmp_rel), 0x7f0000001000 + k),
				  jp_fingerprint(jmp_rel, sizeof(jmp_rel), 0x7f0000001000));
	}
}
END_TEST

/* LuaJIT stores a trace's number on entry, in the order traces are made:
 * the same trace numbered 1 in one run and 0x1a in another. */
START_TEST(test_entry_number_masked)
{
	/* add rsp,-0x10; mov dword [r14-0xec8],N; mov esi,7; add ebp,1; jmp rel32 */
	uint8_t root[] = { 0x48, 0x83, 0xc4, 0xf0, 0x41, 0xc7, 0x86, 0x38, 0xf1, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,
			   0xbe, 0x07, 0x00, 0x00, 0x00, 0x83, 0xc5, 0x01, 0xe9, 0x00, 0x10, 0x00, 0x00 };
	/* a side trace: mov r15d,ebp; mov dword [r14-0xec8],N; ... */
	uint8_t side[] = { 0x44, 0x8b, 0xfd, 0x41, 0xc7, 0x86, 0x38, 0xf1, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00,
			   0xbe, 0x07, 0x00, 0x00, 0x00, 0xe9, 0x00, 0x10, 0x00, 0x00 };
	/* the same store after ordinary code: a constant of the code */
	uint8_t body[] = { 0xbe, 0x07, 0x00, 0x00, 0x00, 0x41, 0xc7, 0x86, 0x38, 0xf1, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,
			   0xc3 };
	uint64_t r1, s1, b1;

	r1 = jp_fingerprint(root, sizeof(root), 0x5600000f0000);
	s1 = jp_fingerprint(side, sizeof(side), 0x5600000f0000);
	b1 = jp_fingerprint(body, sizeof(body), 0x5600000f0000);
	root[11] = 0x1a;
	side[10] = 0x2b;
	body[12] = 0x02;
	ck_assert_uint_eq(jp_fingerprint(root, sizeof(root), 0x5611000f0000), r1);
	ck_assert_uint_eq(jp_fingerprint(side, sizeof(side), 0x5611000f0000), s1);
	ck_assert_uint_ne(jp_fingerprint(body, sizeof(body), 0x5600000f0000), b1);
	/* a number is below 65536; a larger value is something else */
	root[13] = 0x01;
	ck_assert_uint_ne(jp_fingerprint(root, sizeof(root), 0x5600000f0000), r1);
	root[13] = 0;
	/* to the stack (SIB), it is a local's value */
	{
		uint8_t st1[] = { 0xc7, 0x44, 0x24, 0x08, 0x01, 0x00, 0x00, 0x00, 0xc3 };
		uint8_t st2[] = { 0xc7, 0x44, 0x24, 0x08, 0x02, 0x00, 0x00, 0x00, 0xc3 };

		ck_assert_uint_ne(jp_fingerprint(st1, sizeof(st1), 0x5600000f0000),
				  jp_fingerprint(st2, sizeof(st2), 0x5600000f0000));
	}
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
	tcase_add_test(t, test_branch_to_itself_as_outside);
	tcase_add_test(t, test_goto_tb_and_cut_pointer_masked);
	tcase_add_test(t, test_instruction_field_is_no_pointer_word);
	tcase_add_test(t, test_call_inside_as_outside);
	tcase_add_test(t, test_pointer_rule);
	tcase_add_test(t, test_nan_boxed_pointer_masked);
	tcase_add_test(t, test_placeholder_masked);
	tcase_add_test(t, test_undecodable_bytes);
	tcase_add_test(t, test_displacement_masked);
	tcase_add_test(t, test_branch_counts_instructions);
	tcase_add_test(t, test_pointer_halves_masked);
	tcase_add_test(t, test_decoders_agree_on_layout);
	tcase_add_test(t, test_memo_same_fingerprints);
	tcase_add_test(t, test_memo_with_pointer_words);
	tcase_add_test(t, test_shape_only_masks_branch_targets);
	tcase_add_test(t, test_label_then_longest_record);
	tcase_add_test(t, test_no_stale_memory);
	tcase_add_test(t, test_pointer_after_call);
	tcase_add_test(t, test_pointer_after_call_over_aligned_word);
	tcase_add_test(t, test_per_run_words_masked);
	tcase_add_test(t, test_not_entrant_patch_keeps_fingerprint);
	tcase_add_test(t, test_entry_number_masked);
	tcase_add_test(t, test_speed);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}
