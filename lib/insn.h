/* insn.h - the x86-64 facts split and fingerprint need from one instruction.
 *
 * Contract: a table-driven fast path for common instructions over Zydis 4 in
 * its minimal mode (length, mnemonic and the raw field layout are all we
 * use).  No allocation, no locks, no
 * global state: safe in hooks, signal handlers and any thread.  The decoder
 * is a plain struct the caller keeps on its stack (jp_insn_init is cheap). */
#ifndef JITPERF_INSN_H
#define JITPERF_INSN_H

#include <stddef.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

struct jp_decoder {
	ZydisDecoder z;
};

/* kind of control transfer, for the split heuristics */
enum jp_insn_kind {
	JP_INSN_OTHER = 0,
	JP_INSN_NOP,      /* 90, 66 90, 0F 1F /0 and their prefixed forms */
	JP_INSN_INT3,     /* CC */
	JP_INSN_TERM,     /* ret, jmp, ud2, hlt: execution never falls through */
	JP_INSN_ENDBR,    /* endbr64: CET marks indirect-branch targets with it */
};

struct jp_insn {
	uint8_t len;        /* 1..15 */
	uint8_t kind;       /* enum jp_insn_kind */
	/* A field whose value depends on where the code sits: a relative branch
	 * or a RIP-relative displacement (rel_size != 0), and an absolute 64-bit
	 * immediate or moffs address (abs_size != 0).  Offsets are within the
	 * instruction, sizes in bytes. */
	uint8_t rel_off, rel_size;
	uint8_t abs_off, abs_size;
	uint8_t rel_is_branch; /* rel field is a branch target, not a data address */
	/* Memory operand layout: offset of the ModRM byte (0: none; an opcode
	 * always precedes it), and of the displacement (disp_size 0: none).
	 * A RIP-relative displacement is both disp and rel. */
	uint8_t modrm_off;
	uint8_t disp_off, disp_size;
	int64_t rel;        /* signed displacement from the next instruction */
	uint64_t abs;       /* the absolute value */
};

void jp_insn_init(struct jp_decoder *d);

/* Decode one instruction at p (n bytes available).  Returns its length
 * (1..15), or 0 when the bytes are not a valid instruction (*in is then
 * zeroed).  Common legacy-encoded instructions take a table-driven fast
 * path; everything else goes through Zydis.  The two agree on every
 * instruction both decode (tests/unit/test_insn.c); the fast path may accept
 * a few encodings Zydis rejects as invalid (e.g. a LOCK-less form Intel
 * reserves), which only matters for bytes that are not code anyway. */
unsigned jp_insn_decode(const struct jp_decoder *d, const uint8_t *p, size_t n,
			struct jp_insn *in);

/* The fast path alone: 0 means "ask Zydis" (tests compare the two). */
unsigned jp_insn_decode_fast(const uint8_t *p, size_t n, struct jp_insn *in);
/* The same through Zydis alone. */
unsigned jp_insn_decode_zydis(const struct jp_decoder *d, const uint8_t *p, size_t n,
			      struct jp_insn *in);

/* Does p start with push rbp; mov rbp,rsp (55 48 89 e5 or 55 48 8b ec)?
 * Returns the prologue length (4) or 0. */
static inline unsigned jp_insn_fp_prologue(const uint8_t *p, size_t n)
{
	if (n >= 4 && p[0] == 0x55 && p[1] == 0x48 &&
	    ((p[2] == 0x89 && p[3] == 0xe5) || (p[2] == 0x8b && p[3] == 0xec)))
		return 4;
	return 0;
}

/* endbr64 (f3 0f 1e fa) */
static inline int jp_insn_is_endbr64(const uint8_t *p, size_t n)
{
	return n >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa;
}

#endif
