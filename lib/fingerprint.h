/* fingerprint.h - a hash of a piece of code that survives ASLR.
 *
 * Contract
 * - jp_fingerprint() is a pure function: no allocation, no locks, no system
 *   calls, about 100 KiB of stack (a map of instruction starts for pieces up
 *   to 64 KiB, a heap of pending forward branches, a copy of the piece with
 *   its pointer words zeroed and where they are); for tests and tools: the
 *   capture passes its own working memory (jp_fingerprint_ws).
 *   [code, code+len) must be readable (pass a private copy).
 * - The same instructions generated at another address, in another run,
 *   give the same value.  What is hashed is the decoded instruction stream,
 *   one record per instruction: prefixes, opcode, ModRM (registers) and SIB,
 *   immediates -- with every field that depends on where things sit, or on
 *   a per-run layout, left out:
 *     - memory displacements (ModRM.mod is cleared and an addressing form
 *       -- base, RIP-relative or no base -- recorded instead), so [rax+8]
 *       and [rax+0x400] hash the same: LuaJIT's table slot offsets follow a
 *       string hash seeded per run, and they also change disp8 to disp32;
 *     - relative branch, call and RIP-relative targets that leave
 *       [addr, addr+len); the target of every call rel32 and of a branch
 *       to itself (call sites a runtime re-links: HotSpot's inline
 *       caches and static call stubs);
 *     - targets inside the piece are kept as distances in instructions, not
 *       bytes, and short branches hash as their near form;
 *     - 64-bit immediates and moffs addresses that look like user-space
 *       pointers (jp_fingerprint_looks_like_pointer) or are a placeholder
 *       for one (jp_fingerprint_placeholder), and a 64-bit value
 *       stored as two 32-bit halves to adjacent slots (mov dword [m],lo;
 *       mov dword [m+4],hi, either order) when the whole looks like one;
 *     - a number below 65536 stored to [base+disp] at the piece's head,
 *       behind at most JP_INSN_HEAD_MOVES register moves and rsp
 *       adjustments (jp_insn_entry_number): LuaJIT's trace number, stored
 *       on entry as the VM state and given in the order traces are made;
 *       traces that differ only there share a name, as they do in
 *       LuaJIT's own names (by where a trace starts);
 *     - a verified entry HotSpot may make not entrant: its 7-byte first
 *       instruction (stack bang, or sub rsp,imm32 after padding) and the
 *       jmp rel32 HotSpot writes over its first 5 bytes hash alike, as the
 *       2 bytes the patch leaves (see patchable_entry()).
 *   Branches and RIP-relative references inside the piece are kept: they do
 *   not move with the piece and they are part of the function's shape.
 * - Different opcodes, registers, immediates and internal branch targets
 *   give different values; code that differs only in displacements does
 *   not (a spill to [rsp+8] or [rsp+16] is the same function).
 * - Bytes that do not decode are hashed as they are, one at a time.
 * - The hash is XXH3-64 of the record stream (XXH3's output is frozen since
 *   xxHash 0.8.0; the record format is part of jitperf's naming, so
 *   changing it changes every made-up name once).
 * - addr is where the code runs.  The result does not depend on it (all
 *   tests are relative to the piece); it is part of the signature so a
 *   future rule (e.g. masking absolute targets inside the piece) needs no
 *   change at the call sites.
 * - Known limit: 32-bit immediates are kept, so code that embeds run-varying
 *   32-bit values (V8's compressed heap pointers, MAP_32BIT addresses) gets
 *   a different fingerprint each run. */
#ifndef JITPERF_FINGERPRINT_H
#define JITPERF_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

uint64_t jp_fingerprint(const uint8_t *code, size_t len, uint64_t addr);

/* The same with the ~100 KiB of working memory supplied by the caller, for
 * callers that may run on a host thread's small stack (the capture engine
 * keeps one, under its lock).  jp_fp_work_size() bytes, any alignment of
 * 64. */
struct jp_fp_work;
size_t jp_fp_work_size(void);
uint64_t jp_fingerprint_ws(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr);

/* The same, and (one decode for both) the piece's shape: a hash of its
 * bytes with every relative branch target zeroed, never 0.  Two versions
 * of a piece with the same shape differ only in where their branches go:
 * the same code, patched in place (LuaJIT links a trace to a new side
 * trace by rewriting exit branches, some of which pointed inside it). */
uint64_t jp_fingerprint_shape_ws(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr,
				 uint64_t *shape);

/* The same, reusing the decoding a jp_split_memo over the same buffer left
 * in memo (NULL: decode everything).  Same value either way. */
struct jp_insn_memo;
uint64_t jp_fingerprint_memo(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr, uint64_t *shape,
			     struct jp_insn_memo *memo);

/* The shape alone (what jp_fingerprint_memo gives in *shape), at a fraction
 * of the cost: enough to tell code patched in place (branch targets
 * changed) from other code. */
uint64_t jp_fingerprint_shape_only(struct jp_fp_work *w, const uint8_t *code, size_t len, struct jp_insn_memo *memo);

/* The masking rule for absolute 64-bit values, exposed for tests: a
 * user-space pointer (0x10000 <= v < 2^47), or a NaN-boxed one -- top 16
 * bits 0xfff8..0xfffe over an address of at least 0x10000 in the low 47
 * bits (JSC and SpiderMonkey tag above 48 bits, LuaJIT's GC64 puts
 * itype << 47 above 47 bits). */
int jp_fingerprint_looks_like_pointer(uint64_t v);

/* The other absolute 64-bit values left out: what a JIT writes into a
 * 64-bit immediate until it knows the pointer that goes there (BEAM emits
 * mov rcx,0x7fffffffffffffff and patches it a few hundred ms later;
 * HotSpot's inline caches start as mov rax,-1, its non-oop word).  Left
 * in, the patch made another fingerprint, so the piece was described
 * again (BEAM: 1,100 of 9,400 LOADs a run) and the name depended on
 * whether the capture came before the patch or after it. */
int jp_fingerprint_placeholder(uint64_t v);

#endif
