/* pieces.c - published boundaries first, evidence (lib/split.c) between them. */
#include "pieces.h"
#include "budget.h"
#include "codeplausible.h"
#include "known.h"
#include "split.h"

/* Split v->bytes[from, to) on evidence into out[n...]; returns the new n.
 * heap: the creator writes far more data than code (lib/budget.h), and
 * small pieces there are data. */
static size_t split_span(const struct jp_code_view *v, size_t from, size_t to, struct jp_view_piece *out,
			 size_t n, size_t max_out, int heap)
{
	/* Not on the stack (hooks may run on small JIT thread stacks); one
	 * caller at a time, under the engine lock. */
	static struct jp_piece ps[256];

	while (from < to && n < max_out) {
		size_t k = jp_split_memo(v->bytes + from, to - from, v->addr + from, ps, sizeof(ps) / sizeof(ps[0]),
					 v->memo);
		size_t next = to;

		if (k == 0)
			break;
		for (size_t i = 0; i < k && n < max_out; i++, n++) {
			out[n].off = from + ps[i].offset;
			out[n].len = (uint32_t)ps[i].length;
			out[n].gap_after = ps[i].gap_after;
			out[n].flags = (jp_piece_fde_fits(&ps[i]) ? JP_PIECE_FDE_FITS : 0) | (ps[i].flags & JP_PIECE_DATA);
			out[n].known = 0;
			/* Heap data that happens to decode (an RWX heap of
			 * pairs, flonums, strings) is no piece either. */
			if (!(out[n].flags & JP_PIECE_DATA) &&
			    ((heap && out[n].len < JP_SPLIT_DATA_MAX) ||
			     !jp_piece_plausible(v->bytes, v->len, v->addr, out[n].off, out[n].len, v->memo)))
				out[n].flags |= JP_PIECE_DATA;
		}
		if (k < sizeof(ps) / sizeof(ps[0]))
			break;
		/* More than fit: continue after the last piece. */
		next = from + ps[k - 1].offset + ps[k - 1].length + ps[k - 1].gap_after;
		if (next <= from)
			break;
		from = next;
	}
	return n;
}

/* Split on evidence, and tell the budget how much code that found.  In a
 * heap, only the spans that may hold code are decoded. */
static size_t split_on_evidence(const struct jp_code_view *v, size_t from, size_t to, struct jp_view_piece *out,
				size_t n, size_t max_out)
{
	size_t n0 = n, s, e, at = from;
	uint64_t code = 0, seen = 0;

	if (!jp_budget_heap()) {
		n = split_span(v, from, to, out, n, max_out, 0);
	} else {
		while (at < to && n < max_out && jp_budget_next_span(v->bytes, v->addr, at, to, &s, &e) == 0) {
			n = split_span(v, s, e, out, n, max_out, 1);
			at = e;
		}
	}
	/* Filler is neither: a JIT that puts one small function on a page
	 * of its own is no heap. */
	for (size_t i = n0; i < n; i++) {
		seen += out[i].len;
		if (!(out[i].flags & JP_PIECE_DATA))
			code += out[i].len;
	}
	jp_budget_account(seen, code);
	return n;
}

size_t jp_pieces_cut(const struct jp_code_view *v, size_t from, size_t to, struct jp_view_piece *out,
		     size_t max_out)
{
	uint64_t addr = v->addr + from;
	size_t len = to - from, n = 0, cur = 0, nk;
	const struct jp_known *k = jp_known_table(&nk);

	/* Published symbols keep the runtime's own boundaries; the code
	 * between them is split on evidence.  cur, s, e: from the start of
	 * the window. */
	for (size_t i = jp_known_lower(addr); i < nk && k[i].addr < addr + len && n < max_out; i++) {
		uint64_t s = k[i].addr < addr ? 0 : k[i].addr - addr;
		uint64_t e = k[i].addr + k[i].size - addr;

		if (e > len)
			e = len;
		if (s < cur)
			s = cur;
		if (s >= e)
			continue;
		n = split_on_evidence(v, from + cur, from + (size_t)s, out, n, max_out);
		if (n >= max_out)
			break;
		out[n].off = from + s;
		out[n].len = (uint32_t)(e - s);
		out[n].gap_after = 0;
		out[n].flags = 0;
		out[n].known = (uint32_t)i + 1;
		n++;
		cur = (size_t)e;
	}
	return split_on_evidence(v, from + cur, to, out, n, max_out);
}

uint64_t jp_pieces_room_after(const struct jp_view_piece *pieces, size_t np, size_t k)
{
	uint64_t end = pieces[k].off + pieces[k].len, room = pieces[k].gap_after;

	for (size_t j = k + 1; j < np; j++) {
		if (!(pieces[j].flags & JP_PIECE_DATA))
			return pieces[j].off > end ? pieces[j].off - end : 0;
		room = pieces[j].off + pieces[j].len + pieces[j].gap_after - end;
	}
	return room;
}
