/* fuzz_naming.c - libFuzzer target: splitting and fingerprinting any bytes.
 *
 * What runs inside hosts on whatever sits in their executable memory must
 * survive any bytes (ASan, UBSan) and keep its promises:
 * - the pieces cover distinct, increasing, in-bounds ranges, wherever the
 *   window starts (the first byte picks its address mod 16);
 * - jp_split_memo gives jp_split's pieces;
 * - a fingerprint (and shape) that reuses the splitter's decoding is the
 *   fingerprint computed from scratch, for every piece and for ranges that
 *   cut instructions; the shape alone is the same value;
 * - the stack-height analysis of the whole input and of every piece gives
 *   rows inside the code, sorted and disjoint, and the CFI encoded from them
 *   passes jp_cfi_check and says, at every byte, exactly what the rows say:
 *   never a rule where the analysis knows none;
 * - whether a piece is plausible code (lib/codeplausible.c) does not
 *   depend on the memo, and a heap's spans (lib/budget.c) lie in bounds,
 *   in order. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "cfi.h"
#include "codeplausible.h"
#include "fingerprint.h"
#include "insn.h"
#include "split.h"
#include "stackheight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIECES 512
#define MEMO_CAP 8192

/* Encode rows[0, n) of code[0, len) and read them back; trap on any
 * broken promise. */
static void rows_check(const struct jp_sh_row *rows, size_t n, size_t len)
{
	static uint8_t out[JP_CFI_MAX_DATA];
	size_t usize, hsz, k = 0;
	const char *why;

	for (size_t i = 0; i < n; i++)
		if (rows[i].start >= rows[i].end || rows[i].end > len || (i && rows[i - 1].end > rows[i].start) ||
		    (rows[i].cfa_reg == JP_SH_RSP && rows[i].cfa_off < 8))
			__builtin_trap();
	if (!n)
		return;
	usize = jp_cfi_encode(rows, n, len, out, sizeof(out), &hsz);
	if (!usize)
		return;
	if (jp_cfi_check(out, usize, hsz, len, &why) < 0)
		__builtin_trap();
	for (uint32_t off = 0; off < len; off++) {
		struct jp_cfi_rule rule;

		while (k < n && rows[k].end <= off)
			k++;
		if (jp_cfi_rule_at(out, usize, hsz, len, off, &rule) < 0)
			__builtin_trap();
		/* a row the format cannot say (CFA below rbp) is left out */
		if (k >= n || rows[k].start > off || rows[k].cfa_off <= 0) {
			if (rule.found) /* a claim the analysis did not make */
				__builtin_trap();
			continue;
		}
		if (!rule.found || rule.cfa_reg != (rows[k].cfa_reg == JP_SH_RSP ? 7 : 6) ||
		    rule.cfa_off != rows[k].cfa_off || rule.ra_off != 8 ||
		    rule.rbp != (rows[k].rbp > 0 && rows[k].rbp % 8 ? JP_SH_RBP_UNDEF : rows[k].rbp))
			__builtin_trap();
	}
}

/* Analyse code[0, len) as a function, and as code a dispatcher's frame
 * runs (a frame taken from the first byte); check what each says. */
static void unwind_check(const uint8_t *code, size_t len)
{
	static struct jp_sh_work *sw;
	static struct jp_sh_row rows[JP_CFI_MAX_ROWS];
	struct jp_sh_result r;
	size_t n;

	if (!sw && !(sw = jp_sh_work_new(JP_SH_MAX_LEN)))
		return;
	n = jp_sh_analyze(sw, code, len, rows, JP_CFI_MAX_ROWS, &r);
	if (r.dispatch && (r.dispatch_cfa <= 8 || r.dispatch_rbp <= 0))
		__builtin_trap();
	rows_check(rows, n, len);
	if (!len)
		return;
	n = jp_sh_analyze_dispatched(sw, code, len, 16 + 8 * (code[0] & 0x7f), 16, rows, JP_CFI_MAX_ROWS, &r);
	rows_check(rows, n, len);
}

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
	/* The window's start anywhere in a 16-byte line: the capture reads
	 * from where a kept piece ended, often inside an 8-byte word, and
	 * split rules look at aligned words (an offset computed from the
	 * word's start once wrapped round there). */
	if (size)
		addr += data[0] & 15;
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
		unwind_check(code + a[k].offset, a[k].length);
		if (jp_piece_plausible(code, size, addr, a[k].offset, a[k].length, &m) !=
		    jp_piece_plausible(code, size, addr, a[k].offset, a[k].length, NULL))
			__builtin_trap();
	}
	unwind_check(code, size);
	for (size_t at = 0, sp, ep; at < size && jp_budget_next_span(code, addr + 8, at, size, &sp, &ep) == 0; at = ep)
		if (sp < at || ep <= sp || ep > size)
			__builtin_trap();
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
