/* insn_fast.h - the table-driven decoder of common instructions, inline.
 *
 * Internal to lib/insn.c and its one hot caller, lib/split.c: the splitter
 * decodes every instruction of new code (the other readers take the memo,
 * insn.h), and a call per instruction was 3 % of describing.  Everyone
 * else calls jp_insn_decode. */
#ifndef JITPERF_INSN_FAST_H
#define JITPERF_INSN_FAST_H

#include <string.h>

#include "insn.h"

/* ---- fast path ----
 * Most JIT and compiler output is legacy-encoded integer and SSE code.  A
 * table lookup gives its length and fields several times faster than a full
 * decoder; everything unusual (VEX/EVEX/XOP, 3-byte maps, 3DNow!, opcodes
 * invalid in 64-bit mode, LOCK, odd prefix orders, 16-bit branches) goes to
 * Zydis, and the unit tests check that both agree on every instruction the
 * fast path accepts. */

/* one-byte opcode properties */
#define F_MODRM 0x01  /* has a ModRM byte */
#define F_IMM8  0x02
#define F_IMMZ  0x04  /* imm16 with 0x66, else imm32 */
#define F_REL8  0x08
#define F_REL32 0x10
#define F_IMMV  0x20  /* B8+r: imm16/32/64 by operand size */
#define F_MOFFS 0x40  /* A0-A3: address-sized absolute address */
#define F_SLOW  0x80  /* let Zydis decide */

#define M F_MODRM
#define I8 F_IMM8
#define IZ F_IMMZ
#define S F_SLOW
static const uint8_t op1[256] = {
	/* 00 */ M, M, M, M, I8, IZ, S, S, M, M, M, M, I8, IZ, S, S,
	/* 10 */ M, M, M, M, I8, IZ, S, S, M, M, M, M, I8, IZ, S, S,
	/* 20 */ M, M, M, M, I8, IZ, S, S, M, M, M, M, I8, IZ, S, S,
	/* 30 */ M, M, M, M, I8, IZ, S, S, M, M, M, M, I8, IZ, S, S,
	/* 40 */ S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* REX: handled before */
	/* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 60 */ S, S, S, M, S, S, S, S, IZ, M | IZ, I8, M | I8, 0, 0, 0, 0,
	/* 70 */ F_REL8, F_REL8, F_REL8, F_REL8, F_REL8, F_REL8, F_REL8, F_REL8,
		 F_REL8, F_REL8, F_REL8, F_REL8, F_REL8, F_REL8, F_REL8, F_REL8,
	/* 80 */ M | I8, M | IZ, S, M | I8, M, M, M, M, M, M, M, M, M, M, M, S, /* 8F: pop or XOP */
	/* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, S, S, 0, 0, 0, 0, /* 9B fwait may fuse */
	/* A0 */ F_MOFFS, F_MOFFS, F_MOFFS, F_MOFFS, 0, 0, 0, 0, I8, IZ, 0, 0, 0, 0, 0, 0,
	/* B0 */ I8, I8, I8, I8, I8, I8, I8, I8,
		 F_IMMV, F_IMMV, F_IMMV, F_IMMV, F_IMMV, F_IMMV, F_IMMV, F_IMMV,
	/* C0 */ M | I8, M | I8, 0, 0, S, S, M | I8, M | IZ, 0, 0, S, S, 0, I8, S, S,
	/* D0 */ M, M, M, M, S, S, S, 0, S, S, S, S, S, S, S, S, /* x87: Zydis */
	/* E0 */ F_REL8, F_REL8, F_REL8, F_REL8, I8, I8, I8, I8,
		 F_REL32, F_REL32, S, F_REL8, 0, 0, 0, 0,
	/* F0 */ S, 0, S, S, 0, 0, M, M, 0, 0, 0, 0, 0, 0, M, M, /* F6/F7 /0-1 add an imm */
};

/* two-byte (0F xx) opcode properties */
static const uint8_t op2[256] = {
	/* 00 */ M, M, M, M, S, 0, 0, 0, 0, 0, S, 0, S, M, S, S,
	/* 10 */ M, M, M, M, M, M, M, M, M, S, S, S, S, S, S, M, /* 1F below */
	/* 20 */ M, M, M, M, S, S, S, S, M, M, M, M, M, M, M, M,
	/* 30 */ 0, 0, 0, 0, S, S, S, S, S, S, S, S, S, S, S, S,
	/* 40 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 50 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 60 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 70 */ M | I8, M | I8, M | I8, M | I8, M, M, M, S, S, S, S, S, M, M, M, M,
	/* 80 */ F_REL32, F_REL32, F_REL32, F_REL32, F_REL32, F_REL32, F_REL32, F_REL32,
		 F_REL32, F_REL32, F_REL32, F_REL32, F_REL32, F_REL32, F_REL32, F_REL32,
	/* 90 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* A0 */ 0, 0, 0, M, M | I8, M, S, S, 0, 0, S, M, M | I8, M, M, M,
	/* B0 */ M, M, M, M, M, M, M, M, S, S, M | I8, M, M, M, M, M,
	/* C0 */ M, M, M | I8, M, M | I8, M | I8, M | I8, M, 0, 0, 0, 0, 0, 0, 0, 0,
	/* D0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* E0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
	/* F0 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, S,
};
#undef M
#undef I8
#undef IZ
#undef S

/* Legacy prefixes: operand size, address size, rep/repne, segment. */
#define P_OSZ 1
#define P_ASZ 2
#define P_REP 4
#define P_SEG 8
static const uint8_t pfx[256] = {
	[0x66] = P_OSZ, [0x67] = P_ASZ, [0xf2] = P_REP, [0xf3] = P_REP,
	[0x2e] = P_SEG, [0x3e] = P_SEG, [0x26] = P_SEG, [0x36] = P_SEG, [0x64] = P_SEG, [0x65] = P_SEG,
};

/* One-byte opcodes that are filler or end control flow, the way Zydis
 * names them (0: neither). */
static const uint8_t op1_kind[256] = {
	[0x90] = JP_INSN_NOP, [0xcc] = JP_INSN_INT3, [0xc3] = JP_INSN_TERM, [0xc2] = JP_INSN_TERM,
	[0xe9] = JP_INSN_TERM, [0xeb] = JP_INSN_TERM, [0xf4] = JP_INSN_TERM,
};

/* Opcodes whose ModRM.reg (or prefixes) change what they are: the checks
 * below are made for these alone (one-byte: f6, f7, fe, ff, c6, c7, 8d;
 * 0F xx: 1f and the groups left to Zydis), not walked through for every
 * instruction that has a ModRM. */
static const uint8_t reg_matters1[256] = {
	[0xf6] = 1, [0xf7] = 1, [0xfe] = 1, [0xff] = 1, [0xc6] = 1, [0xc7] = 1, [0x8d] = 1,
};
static const uint8_t reg_matters2[256] = {
	[0x1f] = 1, [0x00] = 1, [0x01] = 1, [0x18] = 1, [0x0d] = 1, [0xae] = 1, [0xba] = 1, [0xc7] = 1,
	[0x71] = 1, [0x72] = 1, [0x73] = 1, [0x20] = 1, [0x21] = 1, [0x22] = 1, [0x23] = 1,
};

/* decode_fast's answer for bytes that are no instruction whatever follows
 * (*in zeroed): ff /7, ff /3 and ff /5 on a register, fe /2-/7.  Data
 * decodes into them (0xff fill, -1 words: BEAM's code pages hold runs of
 * ff), and each asked Zydis, a full decode, to learn it: 9,000 calls a
 * pass over BEAM's code.  Zydis rejects every one of them, with any
 * prefixes the fast path takes and any bytes after (tests/unit/test_insn.c). */
#define FAST_INVALID 0x100u

static inline unsigned fast_invalid(struct jp_insn *in)
{
	memset(in, 0, sizeof(*in)); /* the ModRM's offset is set already */
	return FAST_INVALID;
}

/* Returns the length, FAST_INVALID, or 0 to ask Zydis.  Inlined into
 * jp_insn_decode: it runs once per instruction of every piece described. */
static inline __attribute__((always_inline)) unsigned decode_fast(const uint8_t *p, size_t n, struct jp_insn *in)
{
	size_t i = 0, lim = n < 15 ? n : 15;
	unsigned osz16, asz32, rep, pf = 0, c, rex = 0, f, op, two = 0;
	size_t disp_at = 0, disp_len = 0, imm_at, imm_len = 0;

	if (!lim)
		return 0;
	while ((c = pfx[p[i]]) != 0) {
		pf |= c;
		if (++i >= lim)
			return 0;
	}
	osz16 = pf & P_OSZ;
	asz32 = pf & P_ASZ;
	rep = pf & P_REP;
	if ((p[i] & 0xf0) == 0x40) {
		rex = p[i++];
		if (i >= lim)
			return 0;
	}
	op = p[i++];
	if (op == 0x0f) {
		if (i >= lim)
			return 0;
		op = p[i++];
		two = 1;
		f = op2[op];
	} else {
		f = op1[op];
	}
	if (f & F_SLOW)
		return 0;
	memset(in, 0, sizeof(*in));
	/* control flow and filler, the way Zydis names them */
	if (!two) {
		if (op1_kind[op]) {
			if (rep || rex)
				return 0; /* pause, xchg r8,rax, bnd/rep ret: rare, exact names via Zydis */
			in->kind = op1_kind[op];
		}
		if (op == 0xc2)
			imm_len = 2;
	} else if (op == 0x0b) {
		in->kind = JP_INSN_TERM; /* ud2 */
	}
	if ((f & (F_REL8 | F_REL32)) && osz16)
		return 0; /* 16-bit branch targets differ between vendors */

	if (f & F_MODRM) {
		unsigned mod, reg, rm;

		if (i >= lim)
			return 0;
		mod = p[i] >> 6;
		reg = (p[i] >> 3) & 7;
		rm = p[i] & 7;
		in->modrm_off = (uint8_t)i;
		i++;
		if (!two && reg_matters1[op]) {
			if (op == 0xf6 && reg < 2) {
				f |= F_IMM8;
			} else if (op == 0xf7 && reg < 2) {
				f |= F_IMMZ;
			} else if (op == 0xff && (reg == 4 || reg == 5)) {
				if (reg == 5 && mod == 3)
					return fast_invalid(in); /* jmp far to a register */
				in->kind = JP_INSN_TERM;
			} else if (op == 0xff && (reg == 3 || reg == 7)) {
				if (mod == 3 || reg == 7)
					return fast_invalid(in); /* call far to a register; ff /7 */
			} else if (op == 0xfe && reg > 1) {
				return fast_invalid(in);
			} else if ((op == 0xc6 || op == 0xc7) && reg != 0) {
				return 0; /* xabort/xbegin and invalid forms */
			} else if (op == 0x8d && mod == 3) {
				return 0; /* lea with a register: invalid */
			}
		} else if (two && reg_matters2[op]) {
			/* 0F 1F is the long NOP; the groups' operands or
			 * validity depend on ModRM.reg or on prefixes: let
			 * Zydis tell */
			if (op != 0x1f)
				return 0;
			if (reg != 0 || rep)
				return 0;
			in->kind = JP_INSN_NOP;
		}
		if (mod != 3 && rm == 4) {
			if (i >= lim)
				return 0;
			if (mod == 0 && (p[i] & 7) == 5)
				disp_len = 4;
			i++;
		}
		if (mod == 1)
			disp_len = 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			disp_len = 4;
		disp_at = i;
		i += disp_len;
		if (disp_len) {
			in->disp_off = (uint8_t)disp_at;
			in->disp_size = (uint8_t)disp_len;
		}
		if (mod == 0 && rm == 5) {
			int32_t d;

			if (i > lim)
				return 0;
			memcpy(&d, p + disp_at, 4);
			in->rel_off = (uint8_t)disp_at;
			in->rel_size = 4;
			in->rel = d;
		}
	}
	imm_at = i;
	if (f & (F_IMM8 | F_IMMZ | F_REL8 | F_REL32 | F_IMMV | F_MOFFS)) { /* most instructions have none */
		if (f & F_IMM8)
			imm_len += 1;
		if (f & F_IMMZ)
			imm_len += (osz16 && !(rex & 8)) ? 2 : 4;
		if (f & F_REL8)
			imm_len = 1;
		if (f & F_REL32)
			imm_len = 4;
		if (f & F_IMMV)
			imm_len = (rex & 8) ? 8 : osz16 ? 2 : 4;
		if (f & F_MOFFS)
			imm_len = asz32 ? 4 : 8;
	}
	if (!two && op == 0xc8)
		imm_len = 3; /* enter imm16, imm8 */
	i += imm_len;
	if (i > lim)
		return 0;
	if (f & F_REL8) {
		in->rel_off = (uint8_t)imm_at;
		in->rel_size = 1;
		in->rel = (int8_t)p[imm_at];
		in->rel_is_branch = 1;
	} else if (f & F_REL32) {
		int32_t d;

		memcpy(&d, p + imm_at, 4);
		in->rel_off = (uint8_t)imm_at;
		in->rel_size = 4;
		in->rel = d;
		in->rel_is_branch = 1;
	} else if (imm_len == 8) {
		in->abs_off = (uint8_t)imm_at;
		in->abs_size = 8;
	}
	in->len = (uint8_t)i;
	return (unsigned)i;
}

/* jp_insn_decode, the fast path inlined at the call site. */
static inline __attribute__((always_inline)) unsigned jp_insn_decode_inline(const struct jp_decoder *d,
									     const uint8_t *p, size_t n,
									     struct jp_insn *in)
{
	unsigned len = decode_fast(p, n, in);

	if (len == FAST_INVALID)
		return 0;
	return len ? len : jp_insn_decode_zydis(d, p, n, in);
}

#endif
