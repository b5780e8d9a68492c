/* codeplausible.h - does a piece the splitter cut read as code that runs, or as data that happens to decode?
 *
 * A runtime that keeps its whole heap executable (a Scheme with a copying
 * collector, code objects among pairs, flonums and strings) writes far more
 * data than code into RWX memory.  Cut on evidence, that data falls apart
 * into thousands of small pieces between the zero bytes of its pointers;
 * the splitter's own test (JP_PIECE_DATA: short, or undecodable before any
 * terminator) lets through every one that has a c3 or an e9 somewhere.
 * Described as code, they made 54,000 LOADs of median 11 bytes in a
 * 1.2 s run (tests/jit/gc_heap.c).
 *
 * What code that runs never has, and data decoded as x86 often does:
 * - bytes that decode as no instruction;
 * - instructions no compiler or JIT emits in user code: port I/O
 *   (in/out/ins/outs: the ASCII letters l-o), privileged and system
 *   instructions (cli, sti, mov to control registers,
 *   wrmsr, sysret...), encodings invalid in 64-bit mode, loop/jrcxz,
 *   far transfers, int n, iret, xlat, the es/ss segment prefixes, a
 *   REX prefix on a jump, 00 00 (add [rax],al: zeros walked as code);
 * - more than half zero bytes (small integers, headers, pointers' tops);
 * - no control flow at all (no jump, call or return) over a piece of
 *   32 bytes or more;
 * - under 32 bytes, a last instruction that is no terminator and no
 *   call: a stub ends where the filler after it begins.
 * A piece is implausible when these are more than a small share of its
 * instructions up to its first terminator (a JIT keeps data after its
 * code: QEMU's TranslationBlock after the block's last jump), or it has
 * no control flow.  Real code that a linear decode
 * runs out of step in (inline data, jump tables) keeps a share far below
 * that: on libc's and libjvm's text cut as JIT code, see the unit suite.
 *
 * Contract: pure function of its input; no allocation, no locks, no
 * system calls; safe in hooks and any thread.  memo (may be NULL) answers
 * decodes the splitter already made (insn.h). */
#ifndef JITPERF_CODEPLAUSIBLE_H
#define JITPERF_CODEPLAUSIBLE_H

#include <stddef.h>
#include <stdint.h>

struct jp_insn_memo;

/* What a linear decode of a piece found (for tests and statistics). */
struct jp_plausible_stats {
	uint32_t insns;  /* instructions decoded (undecodable bytes count one each) */
	uint32_t bad;    /* undecodable bytes */
	uint32_t odd;    /* instructions user code never has */
	uint32_t flow;   /* jumps, conditional jumps, calls, returns */
	uint32_t insns_head, odd_head; /* the same up to the first ret/jmp/ud2/hlt (bad bytes in odd_head) */
	uint32_t clean_run;  /* the longest run of instructions with no odd or bad one and 2+ jumps, calls or returns */
	uint32_t zeros;  /* zero bytes inside decoded instructions */
	uint32_t last_ends; /* the last instruction is ret/jmp/ud2/hlt or a call */
	uint32_t last_at;   /* where the last decoded instruction starts */
};

/* Decode code[0, len) linearly and count. */
void jp_plausible_scan(const uint8_t *code, size_t len, struct jp_insn_memo *memo, struct jp_plausible_stats *st);

/* 1: the piece may be code; 0: it reads as data (see above). */
int jp_code_plausible(const uint8_t *code, size_t len, struct jp_insn_memo *memo);

/* The same for the piece buf[off, off+len) of a buffer holding the bytes
 * of addr onwards, which also looks around it: a piece under
 * JP_SPLIT_DATA_MAX bytes that starts or ends inside an 8-byte aligned
 * word holding a runtime address (0x55..-0x56.., 0x7e..-0x7f..; the word read
 * whole from buf) is that pointer's low bytes cut off by the zeros of its
 * top: 71 03 e9 46 60 7f | 00 00 decodes as jno; jmp rel32.  The same
 * when its last instruction, a terminator or a call, starts inside such
 * a word (a jmp rel32 from a pointer's byte 4 runs on into the next word). */
int jp_piece_plausible(const uint8_t *buf, size_t buflen, uint64_t addr, size_t off, size_t len,
		       struct jp_insn_memo *memo);

#endif
