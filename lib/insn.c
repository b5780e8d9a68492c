/* insn.c - one x86-64 instruction through Zydis, reduced to what naming needs. */
#include "insn.h"
#include "insn_fast.h"

#include <string.h>

void jp_insn_init(struct jp_decoder *d)
{
	ZydisDecoderInit(&d->z, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	/* Minimal mode skips operand semantics: the raw layout (ModRM, disp,
	 * imm offsets) is everything we use, and it decodes about twice as
	 * fast. */
	ZydisDecoderEnableMode(&d->z, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);
	d->zc = NULL;
}

static uint8_t kind_of(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_NOP:
		return JP_INSN_NOP;
	case ZYDIS_MNEMONIC_INT3:
		return JP_INSN_INT3;
	case ZYDIS_MNEMONIC_RET:
	case ZYDIS_MNEMONIC_JMP:
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
	case ZYDIS_MNEMONIC_HLT:
	case ZYDIS_MNEMONIC_IRETQ:
		return JP_INSN_TERM;
	case ZYDIS_MNEMONIC_ENDBR64:
		return JP_INSN_ENDBR;
	default:
		return JP_INSN_OTHER;
	}
}

unsigned jp_insn_decode_fast(const uint8_t *p, size_t n, struct jp_insn *in)
{
	unsigned len = decode_fast(p, n, in);

	return len == FAST_INVALID ? 0 : len;
}

int jp_insn_fast_invalid(const uint8_t *p, size_t n)
{
	struct jp_insn in;

	return decode_fast(p, n, &in) == FAST_INVALID;
}

unsigned jp_insn_decode(const struct jp_decoder *d, const uint8_t *p, size_t n,
			struct jp_insn *in)
{
	return jp_insn_decode_inline(d, p, n, in);
}

/* Zydis's answers (jp_insn_init_memo): sets of ZC_WAYS entries, found
 * by the first 4 bytes; an entry holds the bytes it was decoded from.
 * Ways, as one opcode with other operands (vmovups [rbx+8], [rbx+16],
 * ...) shares a set.  1024 entries, 32 KiB. */
#define ZC_SETS 256u
#define ZC_WAYS 4u

struct jp_insn_zc_entry {
	uint8_t bytes[15];
	uint8_t len; /* 0: empty */
	struct jp_insn in;
};

struct jp_insn_zcache {
	struct jp_insn_zc_entry e[ZC_SETS][ZC_WAYS];
	uint8_t victim[ZC_SETS]; /* the way a new entry takes next */
};

static unsigned zc_set(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return (v * 0x9e3779b1u) >> 24; /* 256 sets */
}

static const struct jp_insn *zc_get(const struct jp_insn_zcache *zc, const uint8_t *p, size_t n)
{
	const struct jp_insn_zc_entry *e;

	if (n < 4)
		return NULL;
	e = zc->e[zc_set(p)];
	for (unsigned w = 0; w < ZC_WAYS; w++)
		if (e[w].len && e[w].len <= n && !memcmp(e[w].bytes, p, e[w].len))
			return &e[w].in;
	return NULL;
}

static void zc_put(struct jp_insn_zcache *zc, const uint8_t *p, size_t n, const struct jp_insn *in)
{
	unsigned s;
	struct jp_insn_zc_entry *e;

	if (n < 4 || !in->len || in->len > sizeof(e->bytes))
		return;
	s = zc_set(p);
	e = &zc->e[s][zc->victim[s]];
	zc->victim[s] = (uint8_t)((zc->victim[s] + 1) % ZC_WAYS);
	memcpy(e->bytes, p, in->len);
	e->len = in->len;
	e->in = *in;
}

unsigned jp_insn_decode_zydis(const struct jp_decoder *d, const uint8_t *p, size_t n,
			      struct jp_insn *in)
{
	ZydisDecodedInstruction z;
	unsigned i;

	if (d->zc) {
		const struct jp_insn *e = zc_get(d->zc, p, n);

		if (e) {
			*in = *e;
			return in->len;
		}
	}
	memset(in, 0, sizeof(*in));
	if (n == 0 || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d->z, NULL, p, n, &z)))
		return 0;
	in->len = z.length;
	in->kind = kind_of(z.mnemonic);
	if (z.attributes & ZYDIS_ATTRIB_HAS_MODRM) {
		in->modrm_off = z.raw.modrm.offset;
		if (z.raw.disp.size) {
			in->disp_off = z.raw.disp.offset;
			in->disp_size = z.raw.disp.size / 8;
		}
	}
	/* A 0x41 90 is xchg r8d,eax, not a nop; Zydis names it XCHG already.
	 * RIP-relative memory: ModRM mod 00 r/m 101 in 64-bit mode (the
	 * IS_RELATIVE attribute alone also covers relative immediates). */
	if ((z.attributes & ZYDIS_ATTRIB_HAS_MODRM) && (z.attributes & ZYDIS_ATTRIB_IS_RELATIVE) &&
	    z.raw.modrm.mod == 0 && z.raw.modrm.rm == 5 && z.raw.disp.size) {
		in->rel_off = z.raw.disp.offset;
		in->rel_size = z.raw.disp.size / 8;
		in->rel = (int32_t)z.raw.disp.value; /* disp32 */
	} else if (z.raw.disp.size == 64) {
		/* mov rax, [moffs64]: an absolute address in the displacement */
		in->abs_off = z.raw.disp.offset;
		in->abs_size = 8;
	}
	for (i = 0; i < 2; i++) {
		if (!z.raw.imm[i].size)
			continue;
		if (z.raw.imm[i].is_relative) {
			in->rel_off = z.raw.imm[i].offset;
			in->rel_size = z.raw.imm[i].size / 8;
			in->rel = (int32_t)z.raw.imm[i].value.s; /* rel8, rel16 or rel32 */
			in->rel_is_branch = 1;
		} else if (z.raw.imm[i].size == 64) {
			in->abs_off = z.raw.imm[i].offset;
			in->abs_size = 8;
		}
	}
	if (d->zc)
		zc_put(d->zc, p, n, in);
	return in->len;
}

/* ---- the memo ---- */

void jp_insn_init_memo(struct jp_decoder *d, const struct jp_insn_memo *m)
{
	jp_insn_init(d);
	d->zc = m ? m->zc : NULL;
}

size_t jp_insn_memo_size(uint32_t cap, size_t max_len)
{
	return sizeof(struct jp_insn_zcache) + (size_t)cap * (sizeof(struct jp_insn) + sizeof(uint32_t)) +
	       max_len * sizeof(uint16_t);
}

void jp_insn_memo_init(struct jp_insn_memo *m, void *mem, uint32_t cap, size_t max_len)
{
	uint8_t *p = mem;

	memset(m, 0, sizeof(*m));
	if (!mem || !cap || !max_len || cap > UINT16_MAX)
		return;
	/* widest first: every part stays aligned */
	m->zc = (struct jp_insn_zcache *)(void *)p;
	memset(m->zc, 0, sizeof(*m->zc));
	p += sizeof(*m->zc);
	m->in = (struct jp_insn *)(void *)p;
	p += (size_t)cap * sizeof(struct jp_insn);
	m->off = (uint32_t *)(void *)p;
	p += (size_t)cap * sizeof(uint32_t);
	m->at = (uint16_t *)(void *)p;
	memset(m->at, 0, max_len * sizeof(*m->at));
	m->cap = cap;
	m->at_cap = max_len;
}

void jp_insn_memo_reset(struct jp_insn_memo *m, const uint8_t *buf, size_t len)
{
	/* Past what at covers, readers decode for themselves. */
	m->base = m->off && m->in && m->at && m->cap ? buf : NULL;
	m->len = len < m->at_cap ? len : m->at_cap;
	m->n = 0;
	m->next = 0;
}
