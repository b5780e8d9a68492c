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

/* ---- decoding once for two walks ----
 * Describing new code walks it twice: the splitter to find pieces, then the
 * fingerprint of each piece.  A memo lets the second walk reuse what the
 * first decoded.  It is keyed by position in one buffer: the owner resets it
 * whenever that buffer is refilled.  An entry is used only for the very
 * bytes it was made from and only when the reader has at least as many
 * bytes left as the instruction is long, which is exactly when a fresh
 * decode would give the same answer; anything else is decoded afresh. */
struct jp_insn_memo {
	const uint8_t *base; /* the buffer; NULL: the memo is off */
	size_t len;
	uint32_t *off;       /* positions, increasing */
	struct jp_insn *in;  /* what was decoded there */
	uint32_t n, cap;
	uint32_t cur;        /* where the last look-up ended */
};

/* Start over on buf[0, len) (buf NULL: off).  off, in and cap are the
 * caller's. */
void jp_insn_memo_reset(struct jp_insn_memo *m, const uint8_t *buf, size_t len);

/* Remember the decode of the instruction at p (kept only in increasing
 * order of position, within the buffer, while there is room). */
static inline void jp_insn_memo_put(struct jp_insn_memo *m, const uint8_t *p, const struct jp_insn *in)
{
	size_t o;

	if (!m->base || p < m->base || m->n >= m->cap)
		return;
	o = (size_t)(p - m->base);
	if (o >= m->len || (m->n && m->off[m->n - 1] >= o))
		return;
	m->off[m->n] = (uint32_t)o;
	m->in[m->n++] = *in;
}

/* Index of the entry at position o, or m->n (the slow part of a look-up). */
uint32_t jp_insn_memo_find(struct jp_insn_memo *m, uint32_t o);

/* The memo's decode of the instruction at p, with n bytes left to read
 * there, or NULL (m may be NULL). */
static inline const struct jp_insn *jp_insn_memo_get(struct jp_insn_memo *m, const uint8_t *p, size_t n)
{
	if (m && m->base && p >= m->base && (size_t)(p - m->base) < m->len) {
		uint32_t o = (uint32_t)(p - m->base), i = m->cur;

		if (!(i < m->n && m->off[i] == o))
			i = jp_insn_memo_find(m, o);
		if (i < m->n && m->in[i].len <= n) {
			m->cur = i + 1;
			return &m->in[i];
		}
	}
	return NULL;
}

/* jp_insn_decode, answered from the memo when it has p (m may be NULL). */
static inline unsigned jp_insn_decode_memo(struct jp_insn_memo *m, const struct jp_decoder *d, const uint8_t *p,
					   size_t n, struct jp_insn *in)
{
	const struct jp_insn *e = jp_insn_memo_get(m, p, n);

	if (e) {
		*in = *e;
		return in->len;
	}
	return jp_insn_decode(d, p, n, in);
}

/* The same for p in an edited copy of the memo's buffer, src the same
 * position in the buffer itself: the memo answers when the instruction's
 * bytes are the same in both (a decode depends on nothing else), which is
 * every instruction but those over an edit.  The fingerprint reads such a
 * copy of most BEAM and QEMU pieces (pointer words zeroed); decoding all of
 * it again was a tenth of BEAM's capture time. */
static inline unsigned jp_insn_decode_memo_copy(struct jp_insn_memo *m, const struct jp_decoder *d,
						const uint8_t *src, const uint8_t *p, size_t n, struct jp_insn *in)
{
	const struct jp_insn *e = src ? jp_insn_memo_get(m, src, n) : NULL;

	if (e && (src == p || memcmp(src, p, e->len) == 0)) {
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

/* endbr64 (f3 0f 1e fa) */
static inline int jp_insn_is_endbr64(const uint8_t *p, size_t n)
{
	return n >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa;
}

#endif
