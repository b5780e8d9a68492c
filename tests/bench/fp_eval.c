/* fp_eval - candidate fingerprints for every LOAD of jitdumps: an
 * experiment for issue 14 (would a looser fingerprint keep more names from
 * run to run on HotSpot, V8, SpiderMonkey and LuaJIT, and at what cost in
 * functions merged into one name?).  tests/bench/fp_eval.sh turns its
 * output into stability and merge figures; docs/naming.md, "Why names
 * change between runs", has the results.
 *
 * Usage: fp_eval [-m FILE] DUMP...
 * Prints one line per LOAD: name, size, cur, then the candidates in the
 * order below, each a 64-bit hash in hex.  -m FILE also writes each LOAD's
 * mnemonics to FILE (name, size, the mnemonics; ! marks a branch leaving
 * the piece) for tests/bench/fp_nearest.py.
 *   cur       jp_fingerprint (what the name holds; a check of the tool)
 *   same      this tool's records with registers and immediates kept: the
 *             current rule re-expressed over Zydis operands (the baseline
 *             the candidates below differ from by one thing each)
 *   reg       (i) registers replaced by their class and width (rsp and rip
 *             kept: a stack or RIP access is not a register choice);
 *             opcode, operand kinds, memory form, scale, immediates kept
 *   regimm    (ii) as reg, immediates replaced by their width
 *   bag       (iii) the sorted multiset of reg's records, branch targets
 *             left out (survives block reordering)
 *   bagimm    (iii) the same over regimm's records
 *   skel      (iv) the sequence of control transfers (jcc condition, jmp,
 *             call, ret; inside or leaving the piece)
 *   skelbag   (iv) their multiset
 *   mnem      (v) the sequence of mnemonics alone
 *   minhash   (v) the smallest hash of regimm's 4-grams (two pieces share
 *             it with a probability equal to their 4-gram Jaccard
 *             similarity)
 *   imm       registers kept, immediates replaced by their width
 *   storeimm  registers kept, the immediate of mov [mem],imm left out
 *             (LuaJIT stores its trace number so)
 *   bagsame   (v) the sorted multiset of same's records without branch
 *             targets and without NOPs (C2 lays out blocks and pads loop
 *             heads differently from run to run)
 *   bagnonop  (v) the same over reg's records
 *   skip16    (v) same's records from the first instruction at or after
 *             byte 16 (pieces of 64 bytes or more): HotSpot makes a method
 *             not entrant by writing jmp rel32 over its first instruction,
 *             which also changes how the next few bytes decode
 *   skip16bag (v) bagsame from there
 *   skipbang  (v) skip16 only for pieces that start with a stack bang
 *             (mov [rsp-N],eax) or a jmp rel32: HotSpot's verified entry
 * Masking shared by all, as lib/fingerprint.c does it: pointer-like and
 * placeholder imm64, memory displacements, relative targets leaving the
 * piece and every call rel32's target, 8-byte runtime pointer words,
 * code addresses in mov r32,imm32 below 4 GiB, pointers kept after a call
 * or jump (lib/split.c).  Not a product: it allocates, uses full Zydis
 * decoding, and is only as careful as an evaluation needs. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Zydis/Zydis.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fingerprint.h"
#include "jd_format.h"
#include "jd_read.h"
#include "split.h"

enum { C_SAME, C_REG, C_REGIMM, C_BAG, C_BAGIMM, C_SKEL, C_SKELBAG, C_MNEM, C_MINHASH, C_IMM, C_STOREIMM, C_BAGSAME_NONOP, C_BAG_NONOP, C_SKIP16, C_SKIP16BAG, C_SKIPBANG, C_N };

struct rec {
	uint8_t b[96];
	size_t n;
};

static void put(struct rec *r, const void *p, size_t n)
{
	if (r->n + n <= sizeof(r->b)) {
		memcpy(r->b + r->n, p, n);
		r->n += n;
	}
}

static void put8(struct rec *r, unsigned v)
{
	uint8_t c = (uint8_t)v;

	put(r, &c, 1);
}

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int is_special(ZydisRegister reg)
{
	return reg == ZYDIS_REGISTER_RSP || reg == ZYDIS_REGISTER_ESP || reg == ZYDIS_REGISTER_RIP ||
	       reg == ZYDIS_REGISTER_NONE;
}

/* The register as the candidate keeps it. */
static void put_reg(struct rec *r, ZydisRegister reg, int keep)
{
	uint16_t v = (uint16_t)reg;

	if (!keep && !is_special(reg))
		v = (uint16_t)(0x8000 | ZydisRegisterGetClass(reg));
	put(r, &v, 2);
}

/* One instruction's record.  mode: 0 same, 1 reg-free, 2 reg- and imm-free.
 * tgt: the branch target class (kept in the record when with_tgt). */
static void make_rec(struct rec *r, const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
		     const uint8_t *p, int mode, int with_tgt, uint32_t tgt)
{
	unsigned i;
	int keep = mode == 0 || mode == 3 || mode == 4;
	int dropimm = mode == 2 || mode == 3 ||
		      (mode == 4 && in->mnemonic == ZYDIS_MNEMONIC_MOV && in->operand_count_visible == 2 &&
		       ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY);

	r->n = 0;
	put(r, &in->mnemonic, sizeof(in->mnemonic));
	put8(r, in->operand_width);
	put8(r, in->operand_count_visible);
	/* prefixes that change what the instruction does (lock, rep) */
	put8(r, (in->attributes & ZYDIS_ATTRIB_HAS_LOCK) ? 1 : 0);
	put8(r, (in->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) ? 1 : 0);
	for (i = 0; i < in->operand_count_visible; i++) {
		const ZydisDecodedOperand *o = &ops[i];

		put8(r, o->type);
		put(r, &o->size, sizeof(o->size));
		switch (o->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			put_reg(r, o->reg.value, keep);
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			put8(r, o->mem.type);
			put8(r, o->mem.segment);
			put_reg(r, o->mem.base, keep);
			put_reg(r, o->mem.index, keep);
			put8(r, o->mem.scale);
			break;
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			if (o->imm.is_relative) {
				if (with_tgt)
					put(r, &tgt, 4);
			} else if (dropimm) {
				put8(r, in->raw.imm[0].size);
			} else {
				uint64_t v = o->imm.value.u;

				if (in->raw.imm[0].size == 64 &&
				    (jp_fingerprint_looks_like_pointer(v) || jp_fingerprint_placeholder(v)))
					v = 0;
				put(r, &v, 8);
			}
			break;
		default:
			break;
		}
	}
	(void)p;
}

static int is_cti(const ZydisDecodedInstruction *in)
{
	switch (in->meta.category) {
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_RET:
		return 1;
	default:
		return 0;
	}
}

static FILE *mnem_out;

/* What lib/fingerprint.c's after_of says: 2 after a call rel32, 1 after an
 * instruction that never falls through (a pointer may follow: Mono's
 * trampoline arguments, SpiderMonkey's jump targets). */
static int after_of(const uint8_t *p, const ZydisDecodedInstruction *in)
{
	if (p[0] == 0xe8)
		return 2;
	return in->meta.category == ZYDIS_CATEGORY_UNCOND_BR || in->meta.category == ZYDIS_CATEGORY_RET ||
	       in->mnemonic == ZYDIS_MNEMONIC_UD2 || in->mnemonic == ZYDIS_MNEMONIC_HLT;
}

/* lib/fingerprint.c's code_address_imm32: mov r32,imm32 holding an
 * address within 64 MiB of code placed below 4 GiB (Mono's MAP_32BIT). */
static void mask_code_imm32(uint8_t *p, unsigned ilen, uint64_t at)
{
	unsigned o = 0;
	uint32_t v;

	if (at >= (1ull << 32))
		return;
	if ((p[0] & 0xf0) == 0x40) {
		if (p[0] & 8)
			return;
		o = 1;
	}
	if (ilen != o + 5 || (p[o] & 0xf8) != 0xb8)
		return;
	memcpy(&v, p + o + 1, 4);
	if (v >= 0x10000 && (v > at ? v - at : at - v) < (1u << 26))
		memset(p + o + 1, 0, 4);
}

static void candidates(const ZydisDecoder *dec, const uint8_t *code0, size_t len, uint64_t addr, uint64_t *out)
{
	uint8_t *code = malloc(len + 16);
	size_t pos, n = 0, cap = len + 1, i;
	size_t *start = calloc(len + 1, sizeof(*start)); /* instruction index + 1 at each start */
	uint8_t *inl = calloc(len + 1, 1); /* length of an inline pointer starting here */
	int after = 0, bang;
	uint64_t *bsn = malloc(cap * 8), *brn = malloc(cap * 8);
	size_t nbn = 0, nbk = 0;
	uint64_t *bsk = malloc(cap * 8);
	uint64_t *bag = malloc(cap * 8), *bagi = malloc(cap * 8), *skb = malloc(cap * 8), *g = malloc(cap * 8);
	size_t nb = 0, nsk = 0;
	XXH3_state_t *st[C_N];
	uint64_t minh = UINT64_MAX;
	int c;

	memcpy(code, code0, len);
	/* runtime pointer words zeroed, as lib/fingerprint.c does */
	for (pos = (size_t)((8 - (addr & 7)) & 7); pos + 6 <= len; pos += 8) {
		uint8_t w[8] = { 0 };
		size_t m = len - pos < 8 ? len - pos : 8;

		memcpy(w, code + pos, m);
		if (jp_split_runtime_word(w))
			memset(code + pos, 0, m);
	}
	for (c = 0; c < C_N; c++) {
		st[c] = XXH3_createState();
		XXH3_64bits_reset(st[c]);
	}
	/* pass 1: instruction starts; pointers kept after a call or jump
	 * (lib/split.c) zeroed but for their type byte, Mono's code addresses
	 * in imm32 zeroed */
	for (pos = 0; pos < len;) {
		ZydisDecodedInstruction in;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		size_t ip;

		start[pos] = ++n;
		if (after && (ip = jp_split_inline_pointer(code + pos, len - pos, after == 2)) != 0) {
			memset(code + pos + (ip == 9), 0, 8);
			if (ip == 9)
				code[pos] |= 0x80; /* the type byte, made an invalid opcode start */
			inl[pos] = (uint8_t)ip;
			pos += ip;
			after = 1;
			continue;
		}
		if (ZYAN_SUCCESS(ZydisDecoderDecodeFull(dec, code + pos, len - pos, &in, ops))) {
			after = after_of(code + pos, &in);
			mask_code_imm32(code + pos, in.length, addr + pos);
			pos += in.length;
		} else {
			after = 0;
			pos++;
		}
	}
	/* HotSpot's verified entry: a stack bang (mov [rsp-N],eax), or the
	 * jmp rel32 written over it when the method is made not entrant */
	bang = len >= 64 && ((code[0] == 0x89 && code[1] == 0x84 && code[2] == 0x24) || code[0] == 0xe9);
	/* pass 2: records */
	n = 0;
	for (pos = 0; pos < len; n++) {
		ZydisDecodedInstruction in;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		struct rec r;
		uint32_t tgt = 0;
		int out_tgt = 0;

		if (inl[pos] || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(dec, code + pos, len - pos, &in, ops))) {
			uint8_t u[2] = { inl[pos] ? 0xfd : 0xff, inl[pos] == 9 ? code[pos] : 0 };

			for (c = 0; c < C_N; c++)
				if (c != C_BAG && c != C_BAGIMM && c != C_SKEL && c != C_SKELBAG && c != C_MINHASH &&
				    c != C_BAGSAME_NONOP && c != C_BAG_NONOP && c != C_SKIP16BAG &&
				    (c != C_SKIP16 || pos >= 16 || len < 64) && (c != C_SKIPBANG || pos >= 16 || !bang))
					XXH3_64bits_update(st[c], u, 2);
			bag[nb] = bagi[nb] = XXH3_64bits(u, 2);
			g[nb] = bagi[nb];
			nb++;
			pos += inl[pos] ? inl[pos] : 1;
			continue;
		}
		if (in.attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
			int64_t t = (int64_t)(pos + in.length);
			unsigned j;

			for (j = 0; j < in.operand_count_visible; j++)
				if (ops[j].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[j].imm.is_relative)
					t += ops[j].imm.value.s;
				else if (ops[j].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[j].mem.base == ZYDIS_REGISTER_RIP)
					t += ops[j].mem.disp.value;
			if (t < 0 || (uint64_t)t >= len || (size_t)t == pos ||
			    in.meta.category == ZYDIS_CATEGORY_CALL || (code[pos] == 0xe9 && t == (int64_t)(pos + in.length))) {
				out_tgt = 1;
				tgt = 0xffffffffu;
			} else if (start[t]) {
				tgt = (uint32_t)(start[t] - 1 - n);
			} else {
				tgt = 0xfffffffeu;
			}
		}
		make_rec(&r, &in, ops, code + pos, 0, 1, tgt);
		XXH3_64bits_update(st[C_SAME], r.b, r.n);
		if (pos >= 16 || len < 64)
			XXH3_64bits_update(st[C_SKIP16], r.b, r.n);
		if (pos >= 16 || !bang)
			XXH3_64bits_update(st[C_SKIPBANG], r.b, r.n);
		make_rec(&r, &in, ops, code + pos, 1, 1, tgt);
		XXH3_64bits_update(st[C_REG], r.b, r.n);
		make_rec(&r, &in, ops, code + pos, 1, 0, 0);
		bag[nb] = XXH3_64bits(r.b, r.n);
		if (in.meta.category != ZYDIS_CATEGORY_NOP && in.meta.category != ZYDIS_CATEGORY_WIDENOP &&
		    in.mnemonic != ZYDIS_MNEMONIC_NOP) {
			brn[nbn] = bag[nb];
			make_rec(&r, &in, ops, code + pos, 0, 0, 0);
			bsn[nbn++] = XXH3_64bits(r.b, r.n);
			if (pos >= 16 || len < 64)
				bsk[nbk++] = bsn[nbn - 1];
		}
		make_rec(&r, &in, ops, code + pos, 2, 1, tgt);
		XXH3_64bits_update(st[C_REGIMM], r.b, r.n);
		make_rec(&r, &in, ops, code + pos, 3, 1, tgt);
		XXH3_64bits_update(st[C_IMM], r.b, r.n);
		make_rec(&r, &in, ops, code + pos, 4, 1, tgt);
		XXH3_64bits_update(st[C_STOREIMM], r.b, r.n);
		if (mnem_out)
			fprintf(mnem_out, " %s%s", ZydisMnemonicGetString(in.mnemonic), out_tgt ? "!" : "");
		make_rec(&r, &in, ops, code + pos, 2, 0, 0);
		bagi[nb] = XXH3_64bits(r.b, r.n);
		g[nb] = bagi[nb];
		nb++;
		XXH3_64bits_update(st[C_MNEM], &in.mnemonic, sizeof(in.mnemonic));
		if (is_cti(&in)) {
			uint16_t s[2] = { (uint16_t)in.mnemonic, (uint16_t)out_tgt };

			XXH3_64bits_update(st[C_SKEL], s, sizeof(s));
			skb[nsk++] = XXH3_64bits(s, sizeof(s));
		}
		pos += in.length;
	}
	qsort(bag, nb, 8, cmp64);
	qsort(bagi, nb, 8, cmp64);
	qsort(skb, nsk, 8, cmp64);
	qsort(bsn, nbn, 8, cmp64);
	qsort(bsk, nbk, 8, cmp64);
	XXH3_64bits_update(st[C_SKIP16BAG], bsk, nbk * 8);
	qsort(brn, nbn, 8, cmp64);
	XXH3_64bits_update(st[C_BAGSAME_NONOP], bsn, nbn * 8);
	XXH3_64bits_update(st[C_BAG_NONOP], brn, nbn * 8);
	XXH3_64bits_update(st[C_BAG], bag, nb * 8);
	XXH3_64bits_update(st[C_BAGIMM], bagi, nb * 8);
	XXH3_64bits_update(st[C_SKELBAG], skb, nsk * 8);
	for (i = 0; i + 4 <= nb; i++) {
		uint64_t h = XXH3_64bits(g + i, 32);

		if (h < minh)
			minh = h;
	}
	if (nb < 4)
		minh = XXH3_64bits(g, nb * 8);
	for (c = 0; c < C_N; c++) {
		out[c] = c == C_MINHASH ? minh : XXH3_64bits_digest(st[c]);
		XXH3_freeState(st[c]);
	}
	free(code);
	free(start);
	free(inl);
	free(bag);
	free(bsn);
	free(bsk);
	free(brn);
	free(bagi);
	free(skb);
	free(g);
}

int main(int argc, char **argv)
{
	ZydisDecoder dec;
	int a;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	a = 1;
	if (argc > 2 && strcmp(argv[1], "-m") == 0) { /* mnemonics of each LOAD to this file */
		mnem_out = fopen(argv[2], "w");
		if (!mnem_out) {
			perror(argv[2]);
			return 1;
		}
		a = 3;
	}
	for (; a < argc; a++) {
		int fd = open(argv[a], O_RDONLY);
		struct stat sb;
		void *m;
		struct jp_jdr r;
		struct jp_jdr_rec rec;
		int rc;

		if (fd < 0 || fstat(fd, &sb) < 0) {
			perror(argv[a]);
			return 1;
		}
		m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (m == MAP_FAILED || jp_jdr_open(&r, m, (size_t)sb.st_size) < 0) {
			fprintf(stderr, "%s: cannot read\n", argv[a]);
			return 1;
		}
		while ((rc = jp_jdr_next(&r, &rec)) != 0) {
			uint64_t out[C_N];
			int c;

			if (rc < 0 || rec.id != JD_CODE_LOAD || !rec.u.load.code_size)
				continue;
			if (mnem_out)
				fprintf(mnem_out, "%.*s\t%llu\t", (int)rec.u.load.name_len, rec.u.load.name,
					(unsigned long long)rec.u.load.code_size);
			candidates(&dec, rec.u.load.code, rec.u.load.code_size, rec.u.load.code_addr, out);
			printf("%.*s\t%llu\t%016llx", (int)rec.u.load.name_len, rec.u.load.name,
			       (unsigned long long)rec.u.load.code_size,
			       (unsigned long long)jp_fingerprint(rec.u.load.code, rec.u.load.code_size,
								  rec.u.load.code_addr));
			for (c = 0; c < C_N; c++)
				printf("\t%016llx", (unsigned long long)out[c]);
			putchar('\n');
			if (mnem_out)
				fputc('\n', mnem_out);
		}
		munmap(m, (size_t)sb.st_size);
	}
	return 0;
}
