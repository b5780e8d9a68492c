/* cfi.h - stack-height rules (stackheight.h) as the .eh_frame + .eh_frame_hdr perf maps after JIT code, and back.
 *
 * Contract
 * - The layout is the one perf 6.1's genelf gives the jitted-<pid>-<n>.so:
 *   the code at the start of .text, .eh_frame at the code size rounded up to
 *   8, .eh_frame_hdr right after it (see ../shared/docs/perf-jitdump-facts.md).
 *   All addresses in the data are relative to those positions, so the bytes
 *   do not depend on where the code runs.
 * - One CIE (CFA = rsp+8, return address at CFA-8), then one FDE for each run
 *   of contiguous rows: code between runs has no FDE, and perf's unwinder
 *   falls back to frame pointers there as with the empty table.
 * - Pure functions on caller buffers: no allocation, no global state. */
#ifndef JITPERF_CFI_H
#define JITPERF_CFI_H

#include <stddef.h>
#include <stdint.h>

#include "stackheight.h"

/* Encode rows (from jp_sh_analyze, for code of code_size bytes) into out.
 * Returns the unwinding size (.eh_frame + .eh_frame_hdr) and sets *hdr_size,
 * or 0 when there is no row to describe or out (cap bytes) is too small. */
size_t jp_cfi_encode(const struct jp_sh_row *rows, size_t nrows, uint64_t code_size, uint8_t *out, size_t cap,
		     size_t *hdr_size);

/* What the data says at one code offset: the interpreter perf's unwinder
 * would run, for tests and the dump reader. */
struct jp_cfi_rule {
	int found;          /* 1: an FDE covers the offset */
	int cfa_reg;        /* DWARF number: 7 rsp, 6 rbp */
	int64_t cfa_off;
	int rbp;            /* 0: same value, -1: undefined, n > 0: saved at CFA-n */
	int ra_off;         /* return address at CFA - ra_off */
};

/* Check the structure of data[0, usize) (eh_frame_hdr_size hsz) written
 * for code of code_size bytes: the header's encodings and table, each FDE
 * inside the data and its range inside the code, the table sorted, every
 * CFA instruction one we know.  Returns 0, or -1 with a reason in *why. */
int jp_cfi_check(const uint8_t *data, size_t usize, size_t hsz, uint64_t code_size, const char **why);

/* The rule at code offset pc, through the header's table as libunwind
 * looks it up.  Returns 0 (rule->found may be 0) or -1 on malformed data. */
int jp_cfi_rule_at(const uint8_t *data, size_t usize, size_t hsz, uint64_t code_size, uint64_t pc,
		   struct jp_cfi_rule *rule);

/* Does the .eh_frame (ehsz bytes) open with the CIE jitperf writes? */
int jp_cfi_is_ours(const uint8_t *eh, size_t ehsz);

/* Number of FDEs in the header's table (0 on malformed data). */
uint32_t jp_cfi_fde_count(const uint8_t *data, size_t usize, size_t hsz);

/* ---- one piece, from its bytes to its data --------------------------------- */

/* Analysis and encoding of the pieces one writer announces, with what it
 * found (for tests, the bench and the reader's statistics). */
#define JP_CFI_MAX_ROWS 1024u
#define JP_CFI_MAX_DATA 16384u
#define JP_CFI_MAX_DISPATCH 8u
struct jp_cfi_work {
	struct jp_sh_work *sh;
	struct jp_sh_row rows[JP_CFI_MAX_ROWS];
	uint8_t data[JP_CFI_MAX_DATA];
	uint64_t pieces, described, refused, no_room, bytes_in, bytes_out;
	/* Which JIT the next piece is from (its creator, 0: unknown): the
	 * caller sets it.  A piece that the analysis finds to be a dispatcher
	 * (stackheight.h: QEMU's TCG prologue) leaves its frame here, and a
	 * piece of the same JIT that is no function is then tried as code
	 * running on that frame (jp_sh_analyze_dispatched). */
	uint32_t jit;
	struct jp_cfi_dispatch {
		uint32_t jit;
		int32_t cfa, rbp; /* jp_sh_result.dispatch_cfa, dispatch_rbp */
	} dispatch[JP_CFI_MAX_DISPATCH];
	uint32_t ndispatch;
	uint64_t dispatched; /* pieces described as running on a dispatcher's frame */
};

/* From the raw mmap allocator; NULL when out of memory. */
struct jp_cfi_work *jp_cfi_work_new(void);
void jp_cfi_work_free(struct jp_cfi_work *w);

/* Describe code[0, len) when room bytes after it are free: returns 1 and
 * points *data (in w, valid until the next call) at *size bytes of which
 * the last *hdr_size are the header, or 0 when the piece gets the empty
 * table (the analysis refused, or the data would not fit: perf maps it from
 * the code's end rounded up to 8, and it must not cover the next piece). */
int jp_cfi_describe(struct jp_cfi_work *w, const uint8_t *code, uint32_t len, uint64_t room, const uint8_t **data,
		    uint32_t *size, uint32_t *hdr_size);

#endif
