/* fuzz_naming.c - libFuzzer target: splitting and fingerprinting any bytes.
 *
 * What runs inside hosts on whatever sits in their executable memory must
 * survive any bytes (ASan, UBSan) and keep its promises:
 * - the pieces cover distinct, increasing, in-bounds ranges;
 * - jp_split_memo gives jp_split's pieces;
 * - a fingerprint (and shape) that reuses the splitter's decoding is the
 *   fingerprint computed from scratch, for every piece and for ranges that
 *   cut instructions; the shape alone is the same value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "insn.h"
#include "split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIECES 512
#define MEMO_CAP 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jp_piece a[MAX_PIECES], b[MAX_PIECES];
	static uint32_t off[MEMO_CAP];
	static struct jp_insn ins[MEMO_CAP];
	static struct jp_fp_work *w;
	struct jp_insn_memo m = { .off = off, .in = ins, .cap = MEMO_CAP };
	uint8_t *code;
	uint64_t addr = 0x7f1234560000ull;
	size_t n, n2, end = 0;

	if (!w && !(w = malloc(jp_fp_work_size())))
		return 0;
	/* An exact-size copy: ASan sees any read past the end. */
	code = malloc(size ? size : 1);
	if (!code)
		return 0;
	memcpy(code, data, size);
	jp_insn_memo_reset(&m, code, size);
	n = jp_split_memo(code, size, addr, a, MAX_PIECES, &m);
	n2 = jp_split(code, size, addr, b, MAX_PIECES);
	if (n != n2 || memcmp(a, b, n * sizeof(a[0])))
		__builtin_trap();
	for (size_t k = 0; k < n; k++) {
		uint64_t s1 = 0, s2 = 0, f1, f2;

		if (a[k].length == 0 || a[k].offset < end || a[k].offset + a[k].length > size)
			__builtin_trap();
		end = a[k].offset + a[k].length;
		f1 = jp_fingerprint_memo(w, code + a[k].offset, a[k].length, addr + a[k].offset, &s1, &m);
		f2 = jp_fingerprint_shape_ws(w, code + a[k].offset, a[k].length, addr + a[k].offset, &s2);
		if (f1 != f2 || s1 != s2 || jp_fingerprint_shape_only(w, code + a[k].offset, a[k].length, &m) != s2)
			__builtin_trap();
	}
	/* ranges that start and end anywhere, memo in place */
	for (size_t o = 0; o < size; o += 1 + size / 7) {
		size_t l = size - o > 3 ? (size - o) / 2 + 1 : size - o;
		uint64_t s1 = 0, s2 = 0;

		if (jp_fingerprint_memo(w, code + o, l, 0, &s1, &m) != jp_fingerprint_shape_ws(w, code + o, l, 0, &s2) ||
		    s1 != s2)
			__builtin_trap();
	}
	free(code);
	return 0;
}
