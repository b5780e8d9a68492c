/* cfi.c - DWARF call-frame information for one piece of JIT code, written and read back. */
#include "cfi.h"

#include "arena.h"

#include <string.h>

/* DWARF numbers and CFA opcodes (DWARF 4, 6.4.2; x86-64 psABI 3.6.2) */
#define DW_RSP 7
#define DW_RBP 6
#define DW_RA 16
#define CFA_advance_loc 0x40
#define CFA_offset 0x80
#define CFA_restore 0xc0
#define CFA_nop 0x00
#define CFA_advance_loc1 0x02
#define CFA_advance_loc2 0x03
#define CFA_advance_loc4 0x04
#define CFA_offset_extended 0x05
#define CFA_restore_extended 0x06
#define CFA_undefined 0x07
#define CFA_same_value 0x08
#define CFA_def_cfa 0x0c
#define CFA_def_cfa_register 0x0d
#define CFA_def_cfa_offset 0x0e
#define CFA_offset_extended_sf 0x11
#define CFA_def_cfa_sf 0x12
#define CFA_def_cfa_offset_sf 0x13

/* CIE: version 1, "zR", code alignment 1, data alignment -8, return
 * address column 16, FDE addresses pcrel|sdata4; CFA = rsp+8, return
 * address at CFA-8: the state at a function's first instruction. */
static const uint8_t cie[24] = {
	0x14, 0, 0, 0, 0, 0, 0, 0, 0x01, 'z', 'R', 0, 0x01, 0x78, 0x10, 0x01,
	0x1b, 0x0c, 0x07, 0x08, 0x90, 0x01, 0x00, 0x00,
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* ---- writing ---------------------------------------------------------------- */

struct out {
	uint8_t *p;
	size_t n, cap;
	int full;
};

static void emit(struct out *o, uint8_t b)
{
	if (o->n < o->cap)
		o->p[o->n++] = b;
	else
		o->full = 1;
}

static void emit_uleb(struct out *o, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		emit(o, v ? (uint8_t)(b | 0x80) : b);
	} while (v);
}

static void emit_advance(struct out *o, uint32_t d)
{
	if (d == 0)
		return;
	if (d < 0x40) {
		emit(o, (uint8_t)(CFA_advance_loc | d));
	} else if (d <= 0xff) {
		emit(o, CFA_advance_loc1);
		emit(o, (uint8_t)d);
	} else if (d <= 0xffff) {
		emit(o, CFA_advance_loc2);
		emit(o, (uint8_t)d);
		emit(o, (uint8_t)(d >> 8));
	} else {
		emit(o, CFA_advance_loc4);
		for (int k = 0; k < 4; k++)
			emit(o, (uint8_t)(d >> (8 * k)));
	}
}

/* A row the format can say: a positive CFA offset, rbp saved 8-aligned. */
static int describable(const struct jp_sh_row *r)
{
	return r->cfa_off > 0 && r->end > r->start;
}

static int rbp_rule(const struct jp_sh_row *r)
{
	return r->rbp > 0 && r->rbp % 8 ? JP_SH_RBP_UNDEF : r->rbp;
}

/* One FDE for rows[0, n), contiguous; returns 0 or -1 when out is full. */
static void emit_fde(struct out *o, const struct jp_sh_row *rows, size_t n, uint64_t eh_base)
{
	size_t start = o->n;
	int reg = DW_RSP, rbp = JP_SH_RBP_SAME;
	int64_t off = 8;
	uint32_t loc = rows[0].start;

	for (int k = 0; k < 16; k++)
		emit(o, 0); /* length, CIE pointer, pc_begin, pc_range: below */
	emit_uleb(o, 0); /* augmentation data */
	for (size_t i = 0; i < n; i++) {
		const struct jp_sh_row *r = &rows[i];
		int nreg = r->cfa_reg == JP_SH_RBP ? DW_RBP : DW_RSP, nrbp = rbp_rule(r);

		if (nreg == reg && r->cfa_off == off && nrbp == rbp)
			continue;
		emit_advance(o, r->start - loc);
		loc = r->start;
		if (nreg != reg && r->cfa_off != off) {
			emit(o, CFA_def_cfa);
			emit_uleb(o, (uint64_t)nreg);
			emit_uleb(o, (uint64_t)r->cfa_off);
		} else if (nreg != reg) {
			emit(o, CFA_def_cfa_register);
			emit_uleb(o, (uint64_t)nreg);
		} else if (r->cfa_off != off) {
			emit(o, CFA_def_cfa_offset);
			emit_uleb(o, (uint64_t)r->cfa_off);
		}
		if (nrbp != rbp) {
			if (nrbp == JP_SH_RBP_SAME) {
				emit(o, CFA_same_value);
				emit(o, DW_RBP);
			} else if (nrbp == JP_SH_RBP_UNDEF) {
				emit(o, CFA_undefined);
				emit(o, DW_RBP);
			} else {
				emit(o, CFA_offset | DW_RBP);
				emit_uleb(o, (uint64_t)(nrbp / 8));
			}
		}
		reg = nreg;
		off = r->cfa_off;
		rbp = nrbp;
	}
	while ((o->n - start) % 8)
		emit(o, CFA_nop);
	if (o->full)
		return;
	put32(o->p + start, (uint32_t)(o->n - start - 4));
	put32(o->p + start + 4, (uint32_t)(start + 4));                              /* back to the CIE at 0 */
	put32(o->p + start + 8, (uint32_t)((int64_t)rows[0].start - (int64_t)(eh_base + start + 8))); /* pcrel */
	put32(o->p + start + 12, rows[n - 1].end - rows[0].start);
}

size_t jp_cfi_encode(const struct jp_sh_row *rows, size_t nrows, uint64_t code_size, uint8_t *out, size_t cap,
		     size_t *hdr_size)
{
	const uint64_t eh_base = (code_size + 7) & ~7ull;
	struct out o = { out, 0, cap, 0 };
	size_t nf = 0, i = 0, h;

	*hdr_size = 0;
	if (code_size > INT32_MAX)
		return 0;
	for (size_t k = 0; k < sizeof(cie); k++)
		emit(&o, cie[k]);
	while (i < nrows) {
		size_t j = i;

		if (!describable(&rows[i]) || rows[i].end > code_size) {
			i++;
			continue;
		}
		while (j + 1 < nrows && describable(&rows[j + 1]) && rows[j + 1].start == rows[j].end &&
		       rows[j + 1].end <= code_size)
			j++;
		nf++;
		emit_fde(&o, rows + i, j + 1 - i, eh_base);
		i = j + 1;
	}
	for (int k = 0; k < 4; k++)
		emit(&o, 0); /* terminator */
	if (o.full || nf == 0)
		return 0;
	h = o.n;
	/* .eh_frame_hdr: version 1; eh_frame_ptr pcrel|sdata4; fde_count
	 * udata4; table datarel|sdata4, sorted by address. */
	emit(&o, 1);
	emit(&o, 0x1b);
	emit(&o, 0x03);
	emit(&o, 0x3b);
	for (size_t k = 0; k < 8 + 8 * nf; k++)
		emit(&o, 0);
	if (o.full)
		return 0;
	put32(out + h + 4, (uint32_t)-(int64_t)(h + 4));
	put32(out + h + 8, (uint32_t)nf);
	/* The table from the FDEs just written (in address order, as the
	 * rows): no array of them on the stack, which hooks keep small. */
	for (size_t k = 0, f = sizeof(cie); k < nf; k++, f += 4 + get32(out + f)) {
		int64_t pc = (int64_t)eh_base + (int64_t)f + 8 + (int32_t)get32(out + f + 8);

		put32(out + h + 12 + 8 * k, (uint32_t)(pc - (int64_t)(eh_base + h)));
		put32(out + h + 16 + 8 * k, (uint32_t)((int64_t)f - (int64_t)h));
	}
	*hdr_size = o.n - h;
	return o.n;
}

/* ---- reading back ------------------------------------------------------------ */

struct in {
	const uint8_t *p;
	size_t n, i;
	int bad;
};

static uint8_t rd8(struct in *r)
{
	if (r->i >= r->n) {
		r->bad = 1;
		return 0;
	}
	return r->p[r->i++];
}

/* LEB128; *shift gets the bits read and *last the last byte, for the sign. */
static uint64_t rd_leb(struct in *r, unsigned *shift, uint8_t *last)
{
	uint64_t v = 0;
	unsigned sh = 0;
	uint8_t b;

	do {
		b = rd8(r);
		if (sh < 64)
			v |= (uint64_t)(b & 0x7f) << sh;
		sh += 7;
	} while ((b & 0x80) && !r->bad);
	*shift = sh;
	*last = b;
	return v;
}

static uint64_t rd_uleb(struct in *r)
{
	unsigned sh;
	uint8_t b;

	return rd_leb(r, &sh, &b);
}

static int64_t rd_sleb(struct in *r)
{
	unsigned sh;
	uint8_t b;
	uint64_t v = rd_leb(r, &sh, &b);

	if (sh < 64 && (b & 0x40))
		v |= ~0ull << sh;
	return (int64_t)v;
}

static uint32_t rdn(struct in *r, unsigned n)
{
	uint32_t v = 0;

	for (unsigned k = 0; k < n; k++)
		v |= (uint32_t)rd8(r) << (8 * k);
	return v;
}

/* An offset times the data alignment (-8); a value no writer would use
 * (beyond 2^32) makes the data malformed rather than overflow. */
static int64_t factored(struct in *r, int64_t v)
{
	if (v > (1ll << 32) || v < -(1ll << 32)) {
		r->bad = 1;
		return 0;
	}
	return v * -8;
}

/* Run CFA instructions [r->i, r->n) from location loc up to pc (pc ==
 * UINT64_MAX: all of them, to check them).  Returns -1 on an opcode we do
 * not know. */
static int run(struct in *r, uint64_t loc, uint64_t pc, struct jp_cfi_rule *st, const struct jp_cfi_rule *init)
{
	while (r->i < r->n && !r->bad) {
		uint8_t op = rd8(r), lo = op & 0x3f;
		uint64_t reg, adv = 0;
		int64_t v;

		switch (op & 0xc0) {
		case CFA_advance_loc:
			adv = lo;
			goto advance;
		case CFA_offset:
			v = factored(r, (int64_t)(rd_uleb(r) & 0xffffffffffull));
			if (lo == DW_RBP)
				st->rbp = (int)-v;
			else if (lo == DW_RA)
				st->ra_off = (int)-v;
			continue;
		case CFA_restore:
			if (lo == DW_RBP)
				st->rbp = init->rbp;
			continue;
		default:
			break;
		}
		switch (op) {
		case CFA_nop:
			continue;
		case CFA_advance_loc1:
			adv = rdn(r, 1);
			goto advance;
		case CFA_advance_loc2:
			adv = rdn(r, 2);
			goto advance;
		case CFA_advance_loc4:
			adv = rdn(r, 4);
			goto advance;
		case CFA_offset_extended:
		case CFA_offset_extended_sf:
			reg = rd_uleb(r);
			v = factored(r, op == CFA_offset_extended ? (int64_t)(rd_uleb(r) & 0xffffffffffull) : rd_sleb(r));
			if (reg == DW_RBP)
				st->rbp = (int)-v;
			else if (reg == DW_RA)
				st->ra_off = (int)-v;
			continue;
		case CFA_restore_extended:
			if (rd_uleb(r) == DW_RBP)
				st->rbp = init->rbp;
			continue;
		case CFA_undefined:
		case CFA_same_value:
			reg = rd_uleb(r);
			if (reg == DW_RBP)
				st->rbp = op == CFA_undefined ? -1 : 0;
			else if (reg == DW_RA)
				return -1; /* we never write these */
			continue;
		case CFA_def_cfa:
			st->cfa_reg = (int)rd_uleb(r);
			st->cfa_off = (int64_t)rd_uleb(r);
			continue;
		case CFA_def_cfa_sf:
			st->cfa_reg = (int)rd_uleb(r);
			st->cfa_off = factored(r, rd_sleb(r));
			continue;
		case CFA_def_cfa_register:
			st->cfa_reg = (int)rd_uleb(r);
			continue;
		case CFA_def_cfa_offset:
			st->cfa_off = (int64_t)rd_uleb(r);
			continue;
		case CFA_def_cfa_offset_sf:
			st->cfa_off = factored(r, rd_sleb(r));
			continue;
		default:
			return -1;
		}
advance:
		if (pc != UINT64_MAX && loc + adv > pc)
			return 0;
		loc += adv;
	}
	return r->bad ? -1 : 0;
}

/* The FDE at data offset f: its range (code offsets) and, if pc is in it,
 * the rule there.  Returns -1 when it is malformed. */
static int read_fde(const uint8_t *data, size_t ehsz, uint64_t eh_base, size_t f, uint64_t pc, uint64_t *start,
		    uint64_t *len, struct jp_cfi_rule *rule, const char **why)
{
	struct jp_cfi_rule init = { 1, DW_RSP, 8, 0, 8 };
	struct in r;
	uint32_t l, cp;
	size_t c;

	if (f + 4 > ehsz || (l = get32(data + f)) < 12 || f + 4 + (size_t)l > ehsz) {
		*why = "an FDE is outside the .eh_frame";
		return -1;
	}
	cp = get32(data + f + 4);
	if (cp == 0 || cp > f + 4) {
		*why = "an FDE points to no CIE";
		return -1;
	}
	c = f + 4 - cp;
	if (c + sizeof(cie) > ehsz || memcmp(data + c, cie, 16)) {
		*why = "the CIE is not the zR one jitperf writes";
		return -1;
	}
	/* the CIE's own instructions set the initial rule */
	r = (struct in){ data, c + 4 + get32(data + c), c + 17, 0 };
	if (r.n > ehsz || run(&r, 0, UINT64_MAX, &init, &init) < 0) {
		*why = "the CIE has instructions jitperf does not write";
		return -1;
	}
	*start = (uint64_t)((int64_t)eh_base + (int64_t)f + 8 + (int32_t)get32(data + f + 8));
	*len = get32(data + f + 12);
	r = (struct in){ data, f + 4 + l, f + 16, 0 };
	if (rd_uleb(&r) != 0 || r.bad) {
		*why = "an FDE has augmentation data";
		return -1;
	}
	*rule = init;
	rule->found = 0;
	if (run(&r, *start, pc == UINT64_MAX ? UINT64_MAX : pc, rule, &init) < 0) {
		*why = "an FDE has an instruction jitperf does not write";
		return -1;
	}
	rule->found = pc != UINT64_MAX && pc >= *start && pc < *start + *len;
	return 0;
}

static int header(const uint8_t *data, size_t usize, size_t hsz, uint32_t *count, const char **why)
{
	size_t h = usize - hsz;

	if (hsz < 12 || hsz > usize || data[h] != 1 || data[h + 1] != 0x1b || data[h + 2] != 0x03 ||
	    data[h + 3] != 0x3b) {
		*why = "the .eh_frame_hdr is not version 1 with the pcrel/udata4/datarel encodings";
		return -1;
	}
	if ((int32_t)get32(data + h + 4) != -(int64_t)(h + 4)) {
		*why = "eh_frame_ptr does not point at the .eh_frame before the header";
		return -1;
	}
	*count = get32(data + h + 8);
	if (*count > (hsz - 12) / 8) {
		*why = "the header's table is longer than the header";
		return -1;
	}
	return 0;
}

int jp_cfi_is_ours(const uint8_t *eh, size_t ehsz)
{
	return ehsz >= sizeof(cie) && !memcmp(eh, cie, sizeof(cie));
}

uint32_t jp_cfi_fde_count(const uint8_t *data, size_t usize, size_t hsz)
{
	const char *why;
	uint32_t n;

	return header(data, usize, hsz, &n, &why) < 0 ? 0 : n;
}

int jp_cfi_check(const uint8_t *data, size_t usize, size_t hsz, uint64_t code_size, const char **why)
{
	const uint64_t eh_base = (code_size + 7) & ~7ull;
	const size_t h = usize - hsz;
	uint64_t prev_end = 0;
	uint32_t n;

	*why = "";
	if (header(data, usize, hsz, &n, why) < 0)
		return -1;
	for (uint32_t k = 0; k < n; k++) {
		int64_t loc = (int64_t)eh_base + (int64_t)h + (int32_t)get32(data + h + 12 + 8 * k);
		int64_t f = (int64_t)h + (int32_t)get32(data + h + 16 + 8 * k);
		uint64_t s, l;
		struct jp_cfi_rule rule;

		if (f < 0 || (uint64_t)f >= h) {
			*why = "a table entry points outside the .eh_frame";
			return -1;
		}
		if (read_fde(data, h, eh_base, (size_t)f, UINT64_MAX, &s, &l, &rule, why) < 0)
			return -1;
		if ((int64_t)s != loc) {
			*why = "a table entry's address is not its FDE's";
			return -1;
		}
		if (l == 0 || s + l > code_size || s + l < s) {
			*why = "an FDE covers bytes outside its code";
			return -1;
		}
		if (k && s < prev_end) {
			*why = "the table is not sorted, or FDEs overlap";
			return -1;
		}
		prev_end = s + l;
	}
	return 0;
}

int jp_cfi_rule_at(const uint8_t *data, size_t usize, size_t hsz, uint64_t code_size, uint64_t pc,
		   struct jp_cfi_rule *rule)
{
	const uint64_t eh_base = (code_size + 7) & ~7ull;
	const size_t h = usize - hsz;
	const char *why;
	uint32_t n, lo = 0, hi;
	uint64_t s, l;
	int64_t f;

	memset(rule, 0, sizeof(*rule));
	if (header(data, usize, hsz, &n, &why) < 0)
		return -1;
	/* the last entry at or below pc, as libunwind's binary search */
	hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int64_t loc = (int64_t)eh_base + (int64_t)h + (int32_t)get32(data + h + 12 + 8 * mid);

		if (loc <= (int64_t)pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	f = (int64_t)h + (int32_t)get32(data + h + 16 + 8 * (lo - 1));
	if (f < 0 || (uint64_t)f >= h)
		return -1;
	return read_fde(data, h, eh_base, (size_t)f, pc, &s, &l, rule, &why);
}

/* ---- one piece ------------------------------------------------------------------- */

struct jp_cfi_work *jp_cfi_work_new(void)
{
	struct jp_cfi_work *w = jp_sys_alloc(sizeof(*w));

	if (!w)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->sh = jp_sh_work_new(JP_SH_MAX_LEN);
	if (!w->sh) {
		jp_sys_free(w, sizeof(*w));
		return NULL;
	}
	return w;
}

void jp_cfi_work_free(struct jp_cfi_work *w)
{
	if (!w)
		return;
	jp_sh_work_free(w->sh);
	jp_sys_free(w, sizeof(*w));
}

/* The frame of w->jit's dispatcher, or NULL. */
static const struct jp_cfi_dispatch *dispatch_of(const struct jp_cfi_work *w)
{
	for (uint32_t i = 0; i < w->ndispatch && i < JP_CFI_MAX_DISPATCH; i++)
		if (w->dispatch[i].jit == w->jit)
			return &w->dispatch[i];
	return NULL;
}

/* The latest dispatcher of a JIT wins; past JP_CFI_MAX_DISPATCH JITs, the
 * oldest is forgotten. */
static void remember_dispatch(struct jp_cfi_work *w, int32_t cfa, int32_t rbp)
{
	uint32_t i;

	for (i = 0; i < w->ndispatch && i < JP_CFI_MAX_DISPATCH; i++)
		if (w->dispatch[i].jit == w->jit)
			break;
	if (i == JP_CFI_MAX_DISPATCH || i >= w->ndispatch)
		i = w->ndispatch++ % JP_CFI_MAX_DISPATCH;
	w->dispatch[i].jit = w->jit;
	w->dispatch[i].cfa = cfa;
	w->dispatch[i].rbp = rbp;
}

int jp_cfi_describe(struct jp_cfi_work *w, const uint8_t *code, uint32_t len, uint64_t room, const uint8_t **data,
		    uint32_t *size, uint32_t *hdr_size)
{
	struct jp_sh_result r;
	size_t n, usize, hsz;
	uint64_t tail = ((uint64_t)len + 7) / 8 * 8 - len;

	w->pieces++;
	w->bytes_in += len;
	/* the smallest data (CIE, one FDE, terminator, header) needs 76 bytes */
	if (room < tail + 76) {
		w->no_room++;
		return 0;
	}
	n = jp_sh_analyze(w->sh, code, len, w->rows, JP_CFI_MAX_ROWS, &r);
	if (n && r.dispatch && w->jit)
		remember_dispatch(w, r.dispatch_cfa, r.dispatch_rbp);
	if (!n && w->jit) {
		const struct jp_cfi_dispatch *frame = dispatch_of(w);

		if (frame && (n = jp_sh_analyze_dispatched(w->sh, code, len, frame->cfa, frame->rbp, w->rows,
							    JP_CFI_MAX_ROWS, &r)) != 0)
			w->dispatched++;
	}
	if (!n) {
		w->refused++;
		return 0;
	}
	usize = jp_cfi_encode(w->rows, n, len, w->data, sizeof(w->data), &hsz);
	if (!usize) {
		w->refused++;
		return 0;
	}
	if (tail + usize > room) {
		w->no_room++;
		return 0;
	}
	w->described++;
	w->bytes_out += usize;
	*data = w->data;
	*size = (uint32_t)usize;
	*hdr_size = (uint32_t)hsz;
	return 1;
}
