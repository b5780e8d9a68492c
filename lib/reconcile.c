/* reconcile.c - announced pieces against fresh bytes: unchanged, patched, trimmed, renamed, new. */
#include "reconcile.h"
#include "arena.h"
#include "hash.h"
#include "jitdump.h"
#include "known.h"
#include "log.h"
#include "naming.h"
#include "split.h"

#include <errno.h>
#include <string.h>

/* A changed piece is worth decoding again (is it the same code patched?)
 * only when its first bytes are what they were: code written over old
 * code (a ring of functions, a code GC) skips the decode. */
#define HEAD_BYTES 8u

/* The rest of a piece whose first instruction was overwritten keeps its
 * LOAD and is never named again, so its fingerprint is not worth
 * computing (most of the cost of LuaJIT's trace linking was that): its
 * shape alone is what a later patch is compared with.  Any nonzero fp
 * marks a piece that may be patched in place; this one says "by shape". */
#define FP_BY_SHAPE 1u

/* What the splitter decoded, for the fingerprints of the same buffer:
 * room for 32 Ki instructions (about 128 KiB of code; past that, the
 * fingerprints decode for themselves). */
#define MEMO_ENTRIES (32u * 1024u)

/* Bytes read per step: no more than the memo holds decodes of (at about 4
 * bytes an instruction), so that the fingerprints of every piece cut reuse
 * the splitter's decoding.  A whole chunk (1 MiB: BEAM writes that much
 * boot code between two passes) filled the memo after its first 128 KiB,
 * and the rest was decoded three times more (plausibility, fingerprint,
 * shape). */
#define STEP_BYTES (MEMO_ENTRIES * 4u)

static uint64_t step_bytes(const struct jp_reconciler *rc)
{
	return (!rc->memo_tried || rc->memo.cap) && rc->chunk > STEP_BYTES ? STEP_BYTES : rc->chunk;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	return jp_hash(p, n);
}

int jp_reconciler_init(struct jp_reconciler *rc, uint8_t *buf, size_t chunk, size_t max_pieces)
{
	struct jp_reconcile_sink sink = rc->sink;
	int fde = rc->fde;

	memset(rc, 0, sizeof(*rc));
	rc->sink = sink;
	rc->fde = fde;
	/* Its own: outside the huge-page zone, whose pages a sparse buffer
	 * (a step reads 128 KiB of it at most) would all cost (arena.h). */
	rc->buf = buf ? buf : jp_sys_alloc_apart(chunk);
	rc->chunk = chunk;
	rc->max_pieces = max_pieces;
	rc->pieces = jp_sys_alloc(max_pieces * sizeof(*rc->pieces));
	rc->nd = jp_sys_alloc(max_pieces * sizeof(*rc->nd));
	return rc->buf && rc->pieces && rc->nd ? 0 : -ENOMEM;
}

/* The view over rc->buf after it was filled with len bytes of addr: the
 * memo starts over, since it is keyed by position in the buffer. */
static struct jp_code_view refill_view(struct jp_reconciler *rc, uint64_t addr, size_t len)
{
	struct jp_code_view v = { rc->buf, len, addr, &rc->memo };

	/* Allocated once, on first use; without it (out of memory) the
	 * fingerprints decode for themselves, with no retry per span. */
	if (!rc->memo_tried) {
		size_t size = jp_insn_memo_size(MEMO_ENTRIES, STEP_BYTES);

		rc->memo_tried = 1;
		/* memo.cap stays 0 without it */
		jp_insn_memo_init(&rc->memo, jp_sys_alloc(size), MEMO_ENTRIES, STEP_BYTES);
	}
	jp_insn_memo_reset(&rc->memo, rc->buf, len);
	return v;
}

static int unwind_for(const struct jp_reconciler *rc, const struct jp_view_piece *p)
{
	/* The output analyses the code (lib/stackheight.c) and writes an
	 * FDE where it knows the frame and the data fits in the filler after
	 * the piece (perf maps it there), else the empty table. */
	if (p->known && (jp_known_flags(p->known - 1) & JP_KNOWN_NO_UNWIND))
		return JP_UNWIND_EMPTY;
	return rc->fde ? JP_UNWIND_AUTO : JP_UNWIND_EMPTY;
}

/* Code written over announced code with no call (an RWX area reused: PCRE2
 * compiles a pattern into the space of one it freed) was written at some
 * time since the previous pass over the region; until the pass that found
 * it, that address may have run the old code, this code, or others written
 * and overwritten in between (a pattern compiled, used and freed within
 * one epoch).  What ran there from the previous pass on is not known: a
 * LOAD of its own says so (jit:<creator>:replaced, dated just after the
 * previous pass, with the new bytes), rather than lending the samples the
 * old code's name or the new code's.  Its index is not kept: the piece's
 * own LOAD, dated now, supersedes it. */
static void announce_replaced(struct jp_reconciler *rc, const struct jp_region *r, uint64_t addr,
			      const uint8_t *bytes, uint32_t len, uint64_t ts)
{
	char name[160];
	struct jp_load_rec l;

	jp_naming_replaced(name, sizeof(name), r->creator, addr);
	memset(&l, 0, sizeof(l));
	l.addr = addr;
	l.code = bytes;
	l.len = len;
	l.name = name;
	l.ts = ts;
	l.unwind = JP_UNWIND_EMPTY;
	l.creator = r->creator;
	rc->sink.load(rc->sink.ctx, &l);
	rc->replaced++;
}

/* Remember the hash of a piece's bytes after its first instruction, to
 * recognise it when only that instruction is overwritten, and of its first
 * bytes, to tell a patch from code written over it. */
static void set_tail(struct jp_desc *d, const uint8_t *bytes)
{
	struct jp_insn in;
	unsigned l = jp_insn_decode_fast(bytes, d->len, &in);

	if (!l)
		l = 1;
	d->tail_off = l < d->len ? l : 0;
	d->tail_hash = d->tail_off ? hash_bytes(bytes + l, d->len - l) : 0;
	d->head_len = d->len < HEAD_BYTES ? d->len : HEAD_BYTES;
	d->head_hash = hash_bytes(bytes, d->head_len);
}

static void put_piece(struct jp_view_piece *p, uint64_t off, uint32_t len, uint32_t flags)
{
	p->off = off;
	p->len = len;
	p->flags = flags;
	p->gap_after = 0;
	p->known = 0;
}

/* Where a piece touches an end of what was read, with no filler between,
 * that end is where the read ended, not evidence: the function may go on
 * in bytes another pass reads (SpiderMonkey writes and re-protects code a
 * page at a time).  Such an end is remembered (JP_PIECE_OPEN_START/_END on
 * the announced piece) and the piece is cut again, with its neighbour,
 * when the bytes on the other side are read (widen, below). */
#define OPEN_ENDS (JP_PIECE_OPEN_START | JP_PIECE_OPEN_END)
#define OPEN_NEAR 16u

/* jp_pieces_cut, and which of the new pieces touch an open end of the
 * view. */
static size_t cut_new(const struct jp_reconciler *rc, const struct jp_code_view *v, size_t from, size_t to,
		      struct jp_view_piece *out, size_t max)
{
	size_t n = jp_pieces_cut(v, from, to, out, max);

	/* Within OPEN_NEAR bytes of the end counts: what lies between may
	 * be the zero bytes of an instruction cut in two (mov r,imm64), taken
	 * for filler when read alone. */
	for (size_t k = 0; k < n; k++) {
		if (rc->open_lo && out[k].off < OPEN_NEAR)
			out[k].flags |= JP_PIECE_OPEN_START;
		if (rc->open_hi && out[k].off + out[k].len + OPEN_NEAR > v->len)
			out[k].flags |= JP_PIECE_OPEN_END;
	}
	return n;
}

/* Is the shape asked first?  It settles most of LuaJIT's patches (trace
 * linking rewrites a branch) in one walk of the piece; HotSpot's mostly
 * change a pointer (an inline cache), which only the fingerprint forgives,
 * and the fingerprint of a piece with pointer words takes three walks
 * (which words are code, the shape, the masked copy), the shape's walk
 * among them: asked first, the shape costs a fourth walk whenever it does
 * not settle the check.  So it goes first while it settles at least a
 * third.  The answer is the same either way (the fingerprint gives the
 * same shape).  Counts are halved now and then, so the choice follows what
 * the JIT does now. */
static int shape_first(struct jp_reconciler *rc)
{
	if (rc->checks >= 256) {
		rc->checks /= 2;
		rc->by_shape /= 2;
	}
	return rc->checks < 16 || 3 * rc->by_shape >= rc->checks;
}

/* The shape of changed piece t (announced as o), and in *fp its
 * fingerprint where the shape did not settle it (FP_BY_SHAPE pieces: the
 * shape alone). */
static uint64_t patch_check(struct jp_reconciler *rc, const struct jp_code_view *v, const struct jp_view_piece *t,
			    const struct jp_desc *o, uint64_t *fp)
{
	uint64_t shape = 0;
	int asked = o->fp == FP_BY_SHAPE || shape_first(rc);

	if (asked)
		shape = jp_naming_shape(v, t);
	if ((!asked || shape != o->shape) && o->fp != FP_BY_SHAPE)
		*fp = jp_naming_fingerprint(v, t, &shape);
	if (o->fp != FP_BY_SHAPE) {
		rc->checks++;
		rc->by_shape += shape == o->shape;
	}
	return shape;
}

/* Cut the view into rc->pieces, keeping pieces already announced whose
 * bytes did not change as they are: only the code between them is cut
 * again.  A JIT that appends code right after earlier code (LuaJIT's traces
 * sit back to back) then gets one LOAD per new piece instead of a growing
 * block re-emitted on every change.  A piece patched in place keeps its
 * extent too, when its fingerprint (which leaves out branch targets outside
 * it and pointers) is what it was: LuaJIT links a new trace by rewriting
 * its parent's exit branch. */
static size_t cut_around_announced(struct jp_reconciler *rc, const struct jp_region *r, const struct jp_code_view *v)
{
	const uint64_t a = v->addr;
	const size_t len = v->len, max = rc->max_pieces;
	struct jp_view_piece *pieces = rc->pieces;
	uint32_t f, c;
	size_t np = 0, cur = 0;

	jp_desc_overlap(r, a, a + len, &f, &c);
	for (uint32_t j = f; j < f + c && np < max; j++) {
		const struct jp_desc *o = &r->d[j];
		uint64_t off = o->addr - a;
		unsigned same_fp = 0;

		if (o->addr < a || off + o->len > len || o->nhash || o->index == JP_NO_INDEX ||
		    jp_known_overlap(o->addr, o->len))
			continue;
		/* An end that was where a read ended, now with bytes read on
		 * its other side: cut again. */
		if (((o->flags & JP_PIECE_OPEN_START) && off > 0) || ((o->flags & JP_PIECE_OPEN_END) && off + o->len < len))
			continue;
		if (hash_bytes(v->bytes + off, o->len) != o->hash) {
			struct jp_view_piece t;
			uint64_t fp = 0, shape = 0;

			put_piece(&t, off, o->len, 0);
			/* Patched in place?  The shape (branch targets left
			 * out) or the fingerprint (pointers too) unchanged. */
			if (o->fp && o->head_len && hash_bytes(v->bytes + off, o->head_len) == o->head_hash)
				shape = patch_check(rc, v, &t, o, &fp);
			if (o->fp && (shape == o->shape || (o->fp != FP_BY_SHAPE && fp == o->fp))) {
				same_fp = JP_PIECE_SAME_FP;
			} else if (o->tail_off && o->tail_off < o->len &&
				   hash_bytes(v->bytes + off + o->tail_off, o->len - o->tail_off) == o->tail_hash) {
				/* Only its first instruction changed: it began with
				 * stale bytes that code written before it has now
				 * overwritten (LuaJIT writes traces downwards, back
				 * to back).  Keep the rest as a piece of its own
				 * rather than merging it into the new code. */
				off += o->tail_off;
				if (off > cur)
					np += cut_new(rc, v, cur, (size_t)off, pieces + np, max - np);
				if (np >= max)
					break;
				put_piece(&pieces[np++], off, o->len - o->tail_off, JP_PIECE_TRIMMED);
				cur = (size_t)(o->addr - a + o->len);
				continue;
			} else {
				continue;
			}
		}
		if (off > cur)
			np += cut_new(rc, v, cur, (size_t)off, pieces + np, max - np);
		if (np >= max)
			break;
		put_piece(&pieces[np++], off, o->len, (o->flags & (JP_PIECE_FDE_FITS | OPEN_ENDS)) | same_fp);
		cur = (size_t)(off + o->len);
	}
	if (cur < len && np < max)
		np += cut_new(rc, v, cur, len, pieces + np, max - np);
	return np;
}

/* The range [*a, *b) to reconcile: a piece crossing either end is
 * reconciled whole, and so is one on the other side of an end that was
 * where an earlier read ended (OPEN_ENDS), with the piece that touches it
 * on this side: they may be one function. */
static void widen(const struct jp_region *r, uint64_t *pa, uint64_t *pb, int *open_lo, int *open_hi)
{
	uint64_t a = *pa, b = *pb;
	uint32_t f, c;

	for (;;) {
		const struct jp_desc *o;

		if (a <= r->start)
			break;
		jp_desc_overlap(r, a - 1, a + 1, &f, &c);
		o = c ? &r->d[f] : NULL;
		if (o && o->addr < a &&
		    (o->addr + o->len > a || (o->flags & JP_PIECE_OPEN_END) ||
		     (c > 1 && r->d[f + 1].addr == a && (r->d[f + 1].flags & JP_PIECE_OPEN_START)))) {
			a = o->addr; /* crosses a, or ends at a where one of the two is open */
			continue;
		}
		/* an open piece ending just before a (zero bytes between) */
		jp_desc_overlap(r, a > r->start + OPEN_NEAR ? a - OPEN_NEAR : r->start, a, &f, &c);
		if (c && r->d[f + c - 1].addr + r->d[f + c - 1].len < a && (r->d[f + c - 1].flags & JP_PIECE_OPEN_END))
			a = r->d[f + c - 1].addr;
		break;
	}
	for (;;) {
		const struct jp_desc *o;

		if (b >= r->end)
			break;
		jp_desc_overlap(r, b - 1, b + 1, &f, &c);
		o = c ? &r->d[f + c - 1] : NULL;
		if (o && o->addr + o->len > b &&
		    (o->addr < b || (o->flags & JP_PIECE_OPEN_START) ||
		     (c > 1 && r->d[f].addr + r->d[f].len == b && (r->d[f].flags & JP_PIECE_OPEN_END)))) {
			b = o->addr + o->len;
			continue;
		}
		/* an open piece starting just after b */
		jp_desc_overlap(r, b, b + OPEN_NEAR, &f, &c);
		if (c && r->d[f].addr > b && (r->d[f].flags & JP_PIECE_OPEN_START))
			b = r->d[f].addr + r->d[f].len;
		break;
	}
	if (b > r->end)
		b = r->end;
	/* An end is open unless a piece announced before has its own end
	 * there, found with bytes read past it. */
	*open_lo = *open_hi = 1;
	jp_desc_overlap(r, a, a + 1, &f, &c);
	if (c && r->d[f].addr == a && !(r->d[f].flags & JP_PIECE_OPEN_START))
		*open_lo = 0;
	jp_desc_overlap(r, b - 1, b, &f, &c);
	if (c && r->d[f].addr + r->d[f].len == b && !(r->d[f].flags & JP_PIECE_OPEN_END))
		*open_hi = 0;
	*pa = a;
	*pb = b;
}

/* Dating: a piece whose bytes are all new (nothing announced overlapped it)
 * gets ts_new, just after the previous pass: it cannot have run before it
 * was written, so the samples taken before this pass found it are named.  A
 * piece over announced code whose bytes did not change (a neighbour was
 * appended, a runtime published a better name) is dated just after the
 * LOAD it supersedes, so all its samples carry one name.  A piece that
 * replaces changed code is dated now. */
void jp_reconcile(struct jp_reconciler *rc, struct jp_region *r, uint64_t a, uint64_t b, uint64_t now,
		  uint64_t ts_new)
{
	uint32_t f, c;
	int open_lo, open_hi;

	widen(r, &a, &b, &open_lo, &open_hi);

	while (a < b) {
		uint64_t want = b - a < step_bytes(rc) ? b - a : step_bytes(rc), span;
		ssize_t got = rc->sink.read(rc->sink.ctx, a, rc->buf, want);
		struct jp_code_view v;
		size_t np, k;
		uint32_t nn = 0, oi;

		if (got <= 0)
			break; /* unmapped under us: nothing left to announce */
		v = refill_view(rc, a, (size_t)got);
		/* Chunk edges inside the range are not read ends. */
		rc->open_lo = open_lo;
		rc->open_hi = open_hi && a + (uint64_t)got >= b;
		open_lo = 0;
		np = cut_around_announced(rc, r, &v);
		span = (uint64_t)got;
		if (np >= rc->max_pieces) {
			/* No room for more pieces in this step: the ones cut
			 * are whole, and the next step starts where the last
			 * of them ends.  Skipping the rest of the chunk would
			 * lose its code for good: its pages are no longer
			 * dirty. */
			const struct jp_view_piece *last = &rc->pieces[np - 1];

			span = last->off + last->len + last->gap_after;
		} else if ((uint64_t)got == want && a + want < b && (np > 1 || (np && rc->pieces[0].off)) &&
		    rc->pieces[np - 1].off + rc->pieces[np - 1].len == (uint64_t)got) {
			/* A piece touching the end of a full chunk may
			 * continue in the next one: leave it to the next
			 * step (unless it is all the step has). */
			span = rc->pieces[np - 1].off;
			np--;
		}
		jp_desc_overlap(r, a, a + span, &f, &c);
		oi = f;
		for (k = 0; k < np && nn < rc->max_pieces; k++) {
			const struct jp_view_piece *p = &rc->pieces[k];
			const uint8_t *bytes = v.bytes + p->off;
			uint64_t pa = a + p->off, h = hash_bytes(bytes, p->len);
			uint32_t nh = jp_naming_known_hash(p);
			struct jp_desc *old = NULL, *nd = &rc->nd[nn];
			uint64_t supersedes = 0, overwritten = 0;
			int replaced = 0;

			while (oi < f + c && r->d[oi].addr + r->d[oi].len <= pa)
				oi++;
			for (uint32_t j = oi; j < f + c && r->d[j].addr < pa + p->len; j++) {
				const struct jp_desc *o = &r->d[j];

				if (o->addr == pa && o->len == p->len)
					old = &r->d[j];
				/* The rest of a piece whose first instruction was
				 * overwritten: the new code's LOAD, later, covers
				 * those bytes, and perf keeps the old LOAD for the
				 * rest, name and all.  Nothing to emit. */
				if ((p->flags & JP_PIECE_TRIMMED) && o->addr < pa && o->addr + o->len == pa + p->len &&
				    o->index != JP_NO_INDEX && !o->nhash)
					old = &r->d[j];
				if (o->addr < a || o->addr + o->len > a + span)
					replaced = 1;
				else if (hash_bytes(v.bytes + (o->addr - a), o->len) != o->hash) {
					uint64_t lo = o->addr > pa ? o->addr : pa;
					uint64_t hi = o->addr + o->len < pa + p->len ? o->addr + o->len : pa + p->len;

					replaced = 1;
					if (o->index != JP_NO_INDEX)
						overwritten += hi - lo; /* bytes of it over announced code */
				}
				else if (o->index != JP_NO_INDEX && o->ts > supersedes)
					supersedes = o->ts;
			}
			/* Data between code (allocator headers): never executed,
			 * so not worth a LOAD perf inject must process.  But
			 * where a read ended it may be half a function cut
			 * mid-instruction (undecodable at the cut, so taken for
			 * data): it is remembered, unannounced, so that the
			 * bytes on its other side are read with it. */
			if (p->flags & JP_PIECE_DATA) {
				if (!(p->flags & OPEN_ENDS))
					continue;
				memset(nd, 0, sizeof(*nd));
				nd->addr = pa;
				nd->len = p->len;
				nd->hash = h;
				nd->index = JP_NO_INDEX;
				nd->flags = p->flags & OPEN_ENDS;
				nn++;
				continue;
			}
			/* What is kept (index, flags, date, fingerprints) comes
			 * from the description it replaces. */
			if (old)
				*nd = *old;
			else
				memset(nd, 0, sizeof(*nd));
			nd->addr = pa;
			nd->len = p->len;
			nd->hash = h;
			nd->nhash = nh;
			if (old && old->hash == h && old->nhash == nh && old->index != JP_NO_INDEX) {
				/* unchanged */
			} else if (old && old->index != JP_NO_INDEX && !nh && !old->nhash &&
				   (p->flags & (JP_PIECE_SAME_FP | JP_PIECE_TRIMMED))) {
				/* Patched in place (a branch to other code, a
				 * pointer): same extent, same name.  The LOAD perf
				 * has still names every sample right; a new one
				 * would only refresh the bytes perf annotate shows
				 * (LuaJIT links traces so, most of its LOADs were
				 * such repeats). */
				rc->patched++;
				/* What the next patch is compared with is the piece
				 * as it now stands. */
				if (p->flags & JP_PIECE_TRIMMED) {
					nd->fp = FP_BY_SHAPE;
					nd->shape = jp_naming_shape(&v, p);
				}
				set_tail(nd, bytes);
			} else {
				char name[256];
				struct jp_load_rec l;
				uint64_t ts = replaced ? now : supersedes ? supersedes + 1 : ts_new;
				uint64_t old_fp = old ? old->fp : 0;

				rc->rewritten += overwritten != 0;
				jp_naming_name(name, sizeof(name), r->creator, &v, p, &nh, &nd->fp, &nd->shape);
				/* Other code, not the same piece patched (same extent
				 * and fingerprint: BEAM's and HotSpot's constants
				 * filled in later; same extent, other code: PCRE2's
				 * patterns of one template, compiled one after the
				 * other into the same place), and mostly over
				 * announced code (not LuaJIT's next trace written
				 * just below the last, over its first instruction
				 * only). */
				if ((!old || (old_fp && nd->fp && old_fp != nd->fp)) && 2 * overwritten >= p->len &&
				    ts_new < ts && r->last_event_ts <= r->last_scan_ts)
					announce_replaced(rc, r, pa, bytes, p->len, ts_new);

				if (ts > now)
					ts = now;
				l.addr = pa;
				l.code = bytes;
				l.len = p->len;
				l.name = name;
				l.ts = ts;
				l.unwind = unwind_for(rc, p);
				l.room = jp_pieces_room_after(rc->pieces, np, k);
				l.memo = &rc->memo;
				l.creator = r->creator;
				nd->index = rc->sink.load(rc->sink.ctx, &l);
				set_tail(nd, bytes);
				nd->flags = l.unwind == JP_UNWIND_FP_FDE ? JP_PIECE_FDE_FITS : 0;
				nd->ts = ts;
			}
			nd->flags = (nd->flags & ~(uint32_t)OPEN_ENDS) | (p->flags & OPEN_ENDS);
			nn++;
		}
		if (jp_desc_replace(r, f, c, rc->nd, nn) < 0)
			jp_debug("out of memory for piece table; pieces will be announced again");
		a += span;
	}
}

void jp_reconcile_reannounce(struct jp_reconciler *rc, const struct jp_region *r, uint64_t now)
{
	for (uint32_t k = 0; k < r->nd; k++)
		if (r->d[k].index != JP_NO_INDEX)
			rc->sink.move(rc->sink.ctx, r->d[k].index, r->d[k].addr, r->d[k].addr, r->d[k].len, now);
}
