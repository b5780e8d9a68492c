/* stackheight.h - where the caller's frame is, instruction by instruction, from a piece's machine code.
 *
 * Contract
 * - jp_sh_analyze follows a piece of x86-64 code from its first byte, which
 *   it takes to be a function entry (return address on top of the stack,
 *   CFA = rsp+8, rbp the caller's), through push/pop, add/sub/lea/and on
 *   rsp, mov between rsp and rbp, enter/leave, calls, returns and direct
 *   branches, merging the states where paths join (a worklist over
 *   instructions; a field on which paths disagree becomes unknown).
 * - It refuses rather than guesses.  A range gets a rule only when the CFA
 *   is known there as rsp+N or rbp+N on every path that reaches it from the
 *   entry.  Code reached only by unknown means (an indirect jump, data, the
 *   bytes after a call that may not return into padding) gets none.  The
 *   whole piece gets none when the entry assumption is not confirmed by a
 *   `ret` that finds the return address where it should be (or by a
 *   prologue only entries have: HotSpot's stack bang, push rbp; mov
 *   rbp,rsp), when any `ret`
 *   finds it elsewhere, when the stack pointer drops above the return
 *   address, or when two paths decode the same bytes differently.
 * - When the walk from the first byte is refused, a few later offsets where
 *   a function visibly begins (stack bang, push rbp + frame set-up, endbr64)
 *   are tried the same way, for pieces that start with a runtime's header
 *   bytes; what lies before the confirmed entry gets no rule.
 * - Alignment filler (nops, int3, hlt) between two described instructions
 *   takes the rule before it: no path runs it, and a gap would cost an FDE.
 * - No malloc, no locks, no global state: the workspace is the caller's
 *   (one per thread); safe in hooks. */
#ifndef JITPERF_STACKHEIGHT_H
#define JITPERF_STACKHEIGHT_H

#include <stddef.h>
#include <stdint.h>

/* Pieces longer than this are not analysed (the splitter caps pieces at
 * 64 KiB, so this only bounds the workspace). */
#define JP_SH_MAX_LEN (64u * 1024u)

enum jp_sh_reg { JP_SH_RSP = 0, JP_SH_RBP = 1 };

/* The caller's rbp (struct jp_sh_row.rbp) */
#define JP_SH_RBP_SAME 0       /* still in rbp */
#define JP_SH_RBP_UNDEF (-1)   /* overwritten and not saved where we know */

/* One rule, valid for [start, end) (offsets in the piece). */
struct jp_sh_row {
	uint32_t start, end;
	uint8_t cfa_reg;   /* enum jp_sh_reg */
	int32_t cfa_off;   /* CFA = cfa_reg + cfa_off; the return address is at CFA-8 */
	int32_t rbp;       /* JP_SH_RBP_SAME, JP_SH_RBP_UNDEF, or n > 0: saved at CFA-n */
};

/* Why a piece got no rules at all (jp_sh_result.refused). */
enum jp_sh_refusal {
	JP_SH_OK = 0,
	JP_SH_TOO_BIG,     /* longer than the workspace */
	JP_SH_NO_RET,      /* no ret confirmed the entry assumption */
	JP_SH_BAD_RET,     /* a ret found the return address elsewhere */
	JP_SH_UNDERFLOW,   /* rsp went above the return address */
	JP_SH_OVERLAP,     /* two paths decode overlapping instructions */
};

struct jp_sh_result {
	size_t nrows;      /* rows written (at most max_rows; more are dropped) */
	int refused;       /* enum jp_sh_refusal */
	uint32_t insns;    /* instructions reached from the entry */
	uint32_t known;    /* of them, with a rule */
	uint32_t entry;    /* where the confirmed walk started (0 unless the start was junk) */
	/* The piece is a dispatcher (jp_sh_analyze_dispatched): the frame it
	 * leaves by an indirect jump is CFA = rsp + dispatch_cfa, the caller's
	 * rbp at CFA - dispatch_rbp. */
	int dispatch;
	int32_t dispatch_cfa, dispatch_rbp;
};

struct jp_sh_work;

/* Workspace for pieces up to max_len bytes (<= JP_SH_MAX_LEN), from the
 * raw mmap allocator (no malloc); NULL when out of memory. */
struct jp_sh_work *jp_sh_work_new(uint32_t max_len);
void jp_sh_work_free(struct jp_sh_work *w);

/* Decode through memo (insn.h; NULL: off) while it is set: the capture
 * path hands over what the splitter decoded of the same buffer, which
 * saves the analysis most of its decoding. */
struct jp_insn_memo;
void jp_sh_set_memo(struct jp_sh_work *w, struct jp_insn_memo *memo);

/* Analyse code[0, len).  Rows come out in increasing, non-overlapping
 * order; adjacent instructions with the same rule share a row.  Returns
 * the number of rows (also in r->nrows). */
size_t jp_sh_analyze(struct jp_sh_work *w, const uint8_t *code, size_t len, struct jp_sh_row *rows,
		     size_t max_rows, struct jp_sh_result *r);

/* Analyse code[0, len) as code a dispatcher jumps into (its frame from a
 * jp_sh_result.dispatch of the same JIT): entered with CFA = rsp + cfa and
 * the caller's rbp at CFA - rbp, not returning but leaving by jumps with
 * that frame unchanged (QEMU's translated blocks run on its TCG prologue's
 * frame and jump to its epilogue or to the next block).  Refused when the
 * code returns, leaves by a jump with another frame, or never leaves.
 * Returns the number of rows. */
size_t jp_sh_analyze_dispatched(struct jp_sh_work *w, const uint8_t *code, size_t len, int32_t cfa, int32_t rbp,
				struct jp_sh_row *rows, size_t max_rows, struct jp_sh_result *r);

#endif
