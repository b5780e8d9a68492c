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
#include <string.h>

#include <Zydis/Zydis.h>

struct jp_insn_zcache;

struct jp_decoder {
	ZydisDecoder z;
	struct jp_insn_zcache *zc; /* Zydis's answers by their bytes, or NULL (jp_insn_init_memo) */
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
	int32_t rel;        /* signed displacement from the next instruction (rel8, rel32, disp32) */
};
/* 16 bytes: the memo keeps one per instruction of up to 128 KiB of code,
 * and each reader copies it out (the absolute value is read from the
 * bytes, jp_insn_abs, rather than kept: 32 bytes cost the splitter a tenth
 * of its time in stores). */
_Static_assert(sizeof(struct jp_insn) == 16, "struct jp_insn is 16 bytes");

/* The absolute 64-bit value of the instruction at p (abs_size 8). */
static inline uint64_t jp_insn_abs(const uint8_t *p, const struct jp_insn *in)
{
	uint64_t v;

	memcpy(&v, p + in->abs_off, 8);
	return v;
}

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
/* Does the fast path itself call p no instruction (without Zydis)? */
int jp_insn_fast_invalid(const uint8_t *p, size_t n);
/* The same through Zydis alone. */
unsigned jp_insn_decode_zydis(const struct jp_decoder *d, const uint8_t *p, size_t n,
			      struct jp_insn *in);

/* ---- decoding once for two walks ----
 * Describing new code walks it twice: the splitter to find pieces, then the
 * fingerprint of each piece.  A memo lets the second walk reuse what the
 * first decoded.  It is keyed by position in one buffer: the owner resets it
 * whenever that buffer is refilled.  An entry is used only for the very
 * bytes it was made from and only when the reader has at least as many
 * bytes left as the instruction is long, which is exactly when a fresh
 * decode would give the same answer; anything else is decoded afresh.
 * Bytes that are no instruction are kept too (len 0), when the decode that
 * found them had 15 bytes or more to read: no reader, with fewer bytes or
 * more, can decode them then (an instruction is at most 15 bytes, and
 * fewer bytes never make an instruction valid), and each one cost every
 * reader a full decode by Zydis to learn it again.
 * A look-up is two loads: at[o] holds 1 + the index of the entry for
 * position o, which counts only when that entry exists in this fill and
 * was made at o, so a refill clears nothing.  The binary search it
 * replaced was 7 % of describing BEAM's code (each reader starts at its
 * piece, away from where the last look-up ended); a bitmap with a
 * population count was slower, as x86-64's baseline has no POPCNT
 * instruction. */
struct jp_insn_memo {
	const uint8_t *base; /* the buffer; NULL: the memo is off */
	size_t len;          /* bytes of it covered (at most at_cap) */
	uint32_t *off;       /* positions, increasing */
	struct jp_insn *in;  /* what was decoded there */
	uint16_t *at;        /* at[o]: 1 + index of the entry for position o, if off[] agrees */
	uint32_t n, cap;     /* entries, room for (at most 65535) */
	size_t at_cap;       /* positions at has room for */
	size_t next;         /* the next entry must be at or after this position */
	struct jp_insn_zcache *zc; /* for the decoders of its readers (jp_insn_init_memo) */
};

/* Bytes of memory a memo of cap entries over buffers of up to max_len
 * bytes needs, and setting one up in it (8-byte aligned; the memo is off
 * until jp_insn_memo_reset). */
size_t jp_insn_memo_size(uint32_t cap, size_t max_len);
void jp_insn_memo_init(struct jp_insn_memo *m, void *mem, uint32_t cap, size_t max_len);

/* jp_insn_init for a reader of m (m may be NULL): what Zydis decodes is
 * remembered by its bytes, in m, for every reader of m after it.  Zydis
 * decodes what the fast path leaves (VEX code, x87, rare forms), at ten
 * times its cost, and JIT code repeats such instructions: BEAM copies
 * terms with the same few vmovups and vpermilpd, 16,000 Zydis decodes a
 * pass over its code, and HotSpot's were a sixth of describing it.  An
 * entry serves bytes that begin with the bytes it was decoded from, with
 * at least as many to read: Zydis reads an instruction byte by byte and
 * stops at its end, so it would answer the same.  Only decodes that
 * succeed are kept. */
void jp_insn_init_memo(struct jp_decoder *d, const struct jp_insn_memo *m);

/* Start over on buf[0, len) (buf NULL: off). */
void jp_insn_memo_reset(struct jp_insn_memo *m, const uint8_t *buf, size_t len);

/* Remember the decode of the instruction at p (kept only in increasing
 * order of position, within the buffer, while there is room). */
static inline void jp_insn_memo_put(struct jp_insn_memo *m, const uint8_t *p, const struct jp_insn *in)
{
	size_t o;

	if (!m->base || p < m->base || m->n >= m->cap)
		return;
	o = (size_t)(p - m->base);
	if (o >= m->len || o < m->next)
		return;
	m->off[m->n] = (uint32_t)o;
	m->in[m->n++] = *in;
	m->at[o] = (uint16_t)m->n;
	m->next = o + 1;
}

/* Remember that p is no instruction, found with avail bytes to read there
 * (kept only when that is 15 or more, see above). */
static inline void jp_insn_memo_put_bad(struct jp_insn_memo *m, const uint8_t *p, size_t avail)
{
	static const struct jp_insn bad;

	if (avail >= 15)
		jp_insn_memo_put(m, p, &bad);
}

/* The memo's decode of the instruction at p, with n bytes left to read
 * there, or NULL (m may be NULL).  A returned entry of len 0: no
 * instruction. */
static inline const struct jp_insn *jp_insn_memo_get(const struct jp_insn_memo *m, const uint8_t *p, size_t n)
{
	if (m && m->base && p >= m->base && (size_t)(p - m->base) < m->len) {
		size_t o = (size_t)(p - m->base);
		unsigned i = m->at[o];

		/* at[o] may be left from an earlier fill: the entry it names
		 * counts only if it is this fill's, and for o */
		if (i && i <= m->n && m->off[i - 1] == o && m->in[i - 1].len <= n)
			return &m->in[i - 1];
	}
	return NULL;
}

/* ---- a reader's cursor over the memo ----
 * What jp_insn_memo_get answers, for a reader that walks forward (the
 * plausibility scan, the fingerprint, the stack heights).  The memo's
 * fields are copied into the cursor, a local the compiler keeps in
 * registers: read through the memo, they were loaded again after every
 * byte the reader stored (a byte store may alias anything), and the
 * look-up was a fifth of the fingerprint's instructions.  And the entry
 * the reader expects next, the one after the last it was given, is tried
 * before at[]: where the reader's walk follows the splitter's it is the
 * entry for p, and at[] made each look-up wait on the position the last
 * one gave.  The entry returned is the same either way, as positions are
 * unique in a fill.  The memo must not change while a cursor is in use. */
struct jp_insn_cursor {
	uintptr_t base;            /* 0 with len 0: off */
	size_t len;
	const uint32_t *off;
	const struct jp_insn *in;
	const uint16_t *at;
	uint32_t n, next;
};

static inline void jp_insn_cursor_init(struct jp_insn_cursor *c, const struct jp_insn_memo *m)
{
	if (m && m->base) {
		c->base = (uintptr_t)m->base;
		c->len = m->len;
		c->off = m->off;
		c->in = m->in;
		c->at = m->at;
		c->n = m->n;
	} else {
		c->base = 0;
		c->len = 0;
		c->off = NULL;
		c->in = NULL;
		c->at = NULL;
		c->n = 0;
	}
	c->next = 0;
}

/* jp_insn_memo_get(m, p, n) through the cursor. */
static inline const struct jp_insn *jp_insn_cursor_get(struct jp_insn_cursor *c, const uint8_t *p, size_t n)
{
	size_t o = (size_t)((uintptr_t)p - c->base); /* p below base wraps to past len */
	unsigned i;

	if (o >= c->len)
		return NULL;
	i = c->next;
	if (i >= c->n || c->off[i] != o) {
		i = c->at[o];
		if (!i || i > c->n || c->off[i - 1] != o)
			return NULL;
		i--;
	}
	if (c->in[i].len > n)
		return NULL;
	c->next = i + 1;
	return &c->in[i];
}

/* jp_insn_decode_memo through the cursor. */
static inline unsigned jp_insn_cursor_decode(struct jp_insn_cursor *c, const struct jp_decoder *d, const uint8_t *p,
					     size_t n, struct jp_insn *in)
{
	const struct jp_insn *e = jp_insn_cursor_get(c, p, n);

	if (e) {
		*in = *e;
		return in->len;
	}
	return jp_insn_decode(d, p, n, in);
}

/* jp_insn_decode, answered from the memo when it has p (m may be NULL). */
static inline unsigned jp_insn_decode_memo(const struct jp_insn_memo *m, const struct jp_decoder *d, const uint8_t *p,
					   size_t n, struct jp_insn *in)
{
	const struct jp_insn *e = jp_insn_memo_get(m, p, n);

	if (e) {
		*in = *e;
		return in->len;
	}
	return jp_insn_decode(d, p, n, in);
}

/* Does p start with push rbp; mov rbp,rsp (55 48 89 e5 or 55 48 8b ec)?
 * Returns the prologue length (4) or 0. */
static inline unsigned jp_insn_fp_prologue(const uint8_t *p, size_t n)
{
	if (n >= 4 && p[0] == 0x55 && p[1] == 0x48 &&
	    ((p[2] == 0x89 && p[3] == 0xe5) || (p[2] == 0x8b && p[3] == 0xec)))
		return 4;
	return 0;
}

/* Is in (at p) mov dword [mem], imm32 (C7 /0; no operand-size prefix, no
 * REX.W, not RIP-relative)?  Returns the immediate's offset in the
 * instruction, or 0. */
static inline unsigned jp_insn_store_imm32(const uint8_t *p, const struct jp_insn *in)
{
	unsigned m = in->modrm_off, i, end;

	if (!m || p[m - 1] != 0xc7 || (p[m] >> 6) == 3 || (p[m] >> 3 & 7) != 0 || in->rel_size)
		return 0;
	for (i = 0; i + 1 < m; i++)
		if (p[i] == 0x66 || (p[i] & 0xf8) == 0x48)
			return 0; /* 16-bit or REX.W */
	end = in->disp_size ? (unsigned)in->disp_off + in->disp_size : m + 1u + ((p[m] & 7) == 4);
	return end + 4 == in->len ? end : 0;
}

/* A code's number stored on entry: mov dword [base+disp], imm32 with the
 * number below 65536 and the base a register other than rsp (no SIB byte).
 * LuaJIT's traces begin so (mov dword [r14-0xec8],traceno: the VM state is
 * the trace's number), after an rsp adjustment on root traces.  Returns the
 * immediate's offset, or 0. */
static inline unsigned jp_insn_entry_number(const uint8_t *p, const struct jp_insn *in)
{
	unsigned o = jp_insn_store_imm32(p, in), v;

	if (!o || (p[in->modrm_off] & 7) == 4)
		return 0;
	memcpy(&v, p + o, 4);
	return v < 0x10000 ? o : 0;
}

/* What may come before that store at a trace's head: add or sub rsp,
 * imm8 or imm32 (48 83 or 48 81, /0 or /5 on rsp), and mov between
 * registers (89 or 8b with register operands, REX optional; a side trace
 * takes over its parent's registers).  Returns the instruction's length,
 * or 0. */
#define JP_INSN_HEAD_MOVES 4
static inline unsigned jp_insn_head_move(const uint8_t *p, size_t n)
{
	unsigned rex = n >= 1 && (p[0] & 0xf0) == 0x40;

	if (n >= 4 && p[0] == 0x48 && (p[2] == 0xc4 || p[2] == 0xec)) {
		if (p[1] == 0x83)
			return 4;
		if (p[1] == 0x81 && n >= 7)
			return 7;
	}
	if (n < rex + 2u || (p[rex] != 0x89 && p[rex] != 0x8b) || (p[rex + 1] >> 6) != 3)
		return 0;
	return rex + 2;
}

/* endbr64 (f3 0f 1e fa) */
static inline int jp_insn_is_endbr64(const uint8_t *p, size_t n)
{
	return n >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa;
}

#endif
