/* split.h - cut a snapshot of JIT code into function-sized pieces.
 *
 * Contract
 * - jp_split() is a pure function of (code, len, addr): deterministic, no
 *   allocation, no locks, no global state, no system calls.  It may be called
 *   from a hook, a signal handler or any thread.  Stack use is small (< 1 KiB).
 * - It never faults on its input as long as [code, code+len) is readable:
 *   callers pass a private copy (jp_safe_copy), not live JIT memory.
 * - It returns the number of pieces written to out (0 ... max_out).  When the
 *   result equals max_out there may be more: call again on the rest of the
 *   input, starting at out[max_out-1].offset + .length + .gap_after (with
 *   addr advanced by the same amount).
 *
 * What counts as evidence, strongest first (see docs/naming.md):
 * - Padding runs at instruction boundaries: 0xCC (int3) and 0x00 bytes, and
 *   NOP instructions (90, 66 90, 0F 1F /0 and their prefixed forms).  A run
 *   holding int3/zero bytes separates pieces when it is at least 2 bytes long
 *   or follows an instruction that never falls through (ret, jmp, ud2, hlt).
 *   A run of NOPs alone separates pieces only after such an instruction, and
 *   only when no nearby forward branch of the current piece lands beyond it
 *   (compilers put NOPs inside functions to align loop heads, often right
 *   after the jmp into a rotated loop) -- or when a prologue follows it.
 *   Padding at the start or the end of the input is always dropped.  Padding
 *   that separates is never part of a piece; all-padding input yields none.
 * - A recognised entry (push rbp; mov rbp,rsp, optionally after endbr64, or
 *   a bare endbr64) right after ret/jmp with no nearby forward branch past
 *   it, even without padding; and such a prologue at a 16-byte aligned
 *   address that the linear decode ran across (decode resynchronises there).
 * - A trace's head right after a terminator: a store of a number to the
 *   slot a piece of the same input stored its number to on entry
 *   (jp_insn_entry_number, behind at most a few register moves and an rsp
 *   adjustment), whatever the piece's branches; LuaJIT places its traces
 *   back to back, each storing its number to the VM state first.
 * - Data a JIT keeps between functions counts as filler: a table of two or
 *   more 8-byte aligned user addresses (>= 2^44), the first two in one 4 GiB
 *   window.
 * - Code headers: two or more 8-byte aligned words that look like heap
 *   pointers (any two windows above 4 GiB) ending at a 16-byte boundary,
 *   after int3/zero filler or a few undecodable bytes (V8's code object
 *   header before each function's first instruction), are filler; so is
 *   one 8-byte aligned such pointer before a 16-byte boundary where code
 *   cannot run into it (SpiderMonkey's JitCode*).
 * - A pointer right after a call (jp_split_inline_pointer: the callee reads
 *   its return address to find it, as Mono's trampolines do) or after a
 *   terminator (SpiderMonkey: jmp [rip+2]; ud2; target) is data of the
 *   piece: taken whole, not decoded, and the call does not fall through.
 * - An aligned word holding such an address is filler where nothing runs
 *   into it and the piece loads it RIP-relative (QEMU's pool of helper
 *   addresses after a block's last jump and NOPs), or right after two
 *   zero bytes or more (a TranslationBlock's fields).  Where nothing says
 *   so, such a word is decoded: code bytes have its shape (jne rel32 0x7f
 *   across an aligned word, in Mono's code and libc's).
 * - Filler shorter than 8 bytes that the current piece's own forward branch
 *   jumps over (landing past its start) stays inside the piece.
 * - Size: no piece is longer than JP_SPLIT_MAX_PIECE; a longer run of code is
 *   cut at the last instruction boundary before the limit, so one changed
 *   byte never re-emits a huge blob.
 * Undecodable bytes are taken one at a time as part of the current piece. */
#ifndef JITPERF_SPLIT_H
#define JITPERF_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "jd_format.h"

/* Longest piece emitted: 64 KiB is larger than almost any JIT function and
 * small enough that re-emitting one after a change stays cheap for perf. */
#define JP_SPLIT_MAX_PIECE (64u * 1024u)

/* Forward branches farther than this do not keep NOP padding inside the
 * current piece: far jumps are usually tail calls or jumps to shared stubs. */
#define JP_SPLIT_NEAR_BRANCH 4096u

enum jp_piece_flags {
	/* Starts with push rbp; mov rbp,rsp at offset 0 (55 48 89 e5 or
	 * 55 48 8b ec): the writer's JP_UNWIND_FP_FDE describes it. */
	JP_PIECE_FP_PROLOGUE = 1u << 0,
	/* Starts with endbr64 then push rbp; mov rbp,rsp: a frame-pointer
	 * function, but the prologue is at offset 4, which the writer's FDE
	 * does not describe. */
	JP_PIECE_ENDBR_FP = 1u << 1,
	/* Touches the start of the input with no padding before it: the
	 * function may have begun before the snapshot. */
	JP_PIECE_OPEN_START = 1u << 2,
	/* Touches the end of the input with no padding after it: the function
	 * may continue past the snapshot. */
	JP_PIECE_OPEN_END = 1u << 3,
	/* Cut at JP_SPLIT_MAX_PIECE rather than at evidence. */
	JP_PIECE_CAPPED = 1u << 4,
	/* Started because the previous piece reached the size cap. */
	JP_PIECE_CONTINUED = 1u << 5,
	/* Shorter than JP_SPLIT_DATA_MAX with no ret/jmp/ud2/hlt in it (a
	 * far return, or a ret imm16 of 0 or no whole number of 8-byte
	 * slots, does not count: data words decode as one): almost
	 * certainly data between code (an allocator's block header, a
	 * pointer, a length), never executed.  sljit, for one, keeps such
	 * headers in its executable pages.  Also a piece shorter than
	 * JP_SPLIT_JUNK_MAX whose decode meets a byte that is no instruction
	 * before any terminator: code that runs never does, so it is a JIT's
	 * data between methods (HotSpot's relocation and metadata bytes right
	 * after a method: d3 04 00 d2 00 00 ...).  Callers may skip these
	 * pieces: a pointer inside one would give it a different name every
	 * run, and what no LOAD covers is room for the unwinding data of the
	 * piece before (lib/reconcile.c). */
	JP_PIECE_DATA = 1u << 6,

	/* The rest are not set by jp_split: one vocabulary for what is known
	 * about a piece on its way from the splitter to a LOAD and into the
	 * table of announced pieces (struct jp_desc). */

	/* jp_piece_fde_fits(): the writer's JP_UNWIND_FP_FDE describes it and
	 * fits before the next piece.  On an announced piece (jp_desc): its
	 * LOAD carried that FDE. */
	JP_PIECE_FDE_FITS = 1u << 7,
	/* An announced piece patched in place: its fingerprint (or shape) is
	 * what it was (lib/reconcile.c). */
	JP_PIECE_SAME_FP = 1u << 8,
	/* An announced piece less its overwritten first instruction
	 * (lib/reconcile.c). */
	JP_PIECE_TRIMMED = 1u << 9,
};

/* Pieces shorter than this without a control-flow terminator are flagged
 * JP_PIECE_DATA. */
#define JP_SPLIT_DATA_MAX 32u

/* Pieces shorter than this whose decode meets a byte that is no
 * instruction before a terminator are flagged JP_PIECE_DATA.  HotSpot's
 * data after a method is 50-220 bytes in pieces of its own; longer pieces
 * are more likely code the decoder fell out of step in. */
#define JP_SPLIT_JUNK_MAX 128u

struct jp_piece {
	size_t offset;     /* first byte, from the start of the input */
	size_t length;     /* bytes of code, > 0 */
	size_t gap_after;  /* padding bytes right after it (0 if code or the end follows) */
	uint32_t flags;    /* enum jp_piece_flags */
};

size_t jp_split(const uint8_t *code, size_t len, uint64_t addr, struct jp_piece *out,
		size_t max_out);

/* The same, leaving what it decoded in memo (see insn.h) for the
 * fingerprints of the pieces; the pieces are exactly jp_split's. */
struct jp_insn_memo;
size_t jp_split_memo(const uint8_t *code, size_t len, uint64_t addr, struct jp_piece *out, size_t max_out,
		     struct jp_insn_memo *memo);

/* May this piece get the writer's JP_UNWIND_FP_FDE?  It must start with the
 * exact prologue the FDE describes, and the unwinding data perf maps right
 * after the code (the code rounded up to 8, then JD_FDE_UNWIND_SIZE bytes)
 * must fit in the filler before the next piece, or a later re-emission of
 * this piece would hide the start of its neighbour. */
static inline int jp_piece_fde_fits(const struct jp_piece *p)
{
	size_t tail = ((p->length + 7) & ~(size_t)7) - p->length + JD_FDE_UNWIND_SIZE;

	return (p->flags & JP_PIECE_FP_PROLOGUE) && !(p->flags & JP_PIECE_DATA) &&
	       p->gap_after >= tail;
}

/* Is every byte of code padding by the rules above (an all-zero page, int3
 * fill, NOP fill)?  Cheap pre-check for callers that track free space. */
int jp_split_all_padding(const uint8_t *code, size_t len);

/* Bytes of data at p, right after a call or an instruction that never
 * falls through: 8 when they hold an address where Linux puts a PIE's heap
 * or mmap (0x55..-0x56.., 0x7e..-0x7f..), after a call also 9 for one
 * byte below 0x40 and such an address (Mono: trampoline type and
 * argument), else 0.  Shared with lib/fingerprint.c, which hashes such a
 * word as one fixed record so its per-run value and its
 * decoding as instructions never reach the fingerprint. */
size_t jp_split_inline_pointer(const uint8_t *p, size_t n, int after_call);

/* Do the 8 bytes at p hold such an address (heap or mmap)? */
int jp_split_runtime_word(const uint8_t *p);

/* The same test on the word's value (inline: the fingerprint asks it of
 * every aligned word of every piece). */
static inline int jp_split_runtime_value(uint64_t v)
{
	uint64_t hi = v >> 32;

	return ((hi >= 0x5500 && hi < 0x5700) || (hi >= 0x7e00 && hi < 0x8000)) && (uint32_t)v != 0;
}

#endif
