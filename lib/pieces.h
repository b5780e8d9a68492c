/* pieces.h - cut a view of captured code into the pieces perf is told
 * about: published names keep their own boundaries, the code between them
 * is split on evidence (lib/split.c).
 *
 * The view carries the decode memo (insn.h) that ties the two walks over
 * new code together: the cut records in view->memo what it decoded, and
 * the fingerprints of the pieces (lib/naming.c) read it back instead of
 * decoding again.  The memo is keyed by position in view->bytes, so
 * whoever owns the buffer (the reconciler) resets the memo each time it
 * refills it, and passes the same view to both.
 *
 * Contract: no malloc, no locks of its own, errno preserved; reads the
 * table of published names (lib/known.c), so it runs under the capture
 * engine's lock like that table's writers. */
#ifndef JITPERF_PIECES_H
#define JITPERF_PIECES_H

#include <stddef.h>
#include <stdint.h>

struct jp_insn_memo;

/* A private copy of code (jp_safe_copy) and where it lives. */
struct jp_code_view {
	const uint8_t *bytes;
	size_t len;
	uint64_t addr;             /* address of bytes[0] */
	struct jp_insn_memo *memo; /* decodes of bytes, reset when bytes are refilled; NULL: none */
};

/* One piece of a view. */
struct jp_view_piece {
	uint64_t off;       /* from the start of the view */
	uint32_t len;
	uint32_t flags;     /* enum jp_piece_flags (split.h) */
	uint64_t gap_after; /* padding bytes known to follow (0 if unknown) */
	uint32_t known;     /* 1 + index of its published name (known.h), 0 for none */
};

/* Cut view->bytes[from, to) into pieces; offsets in out are from the start
 * of the view.  Padding is never part of a piece.  Returns the number of
 * pieces written (at most max_out). */
size_t jp_pieces_cut(const struct jp_code_view *v, size_t from, size_t to, struct jp_view_piece *out,
		     size_t max_out);

/* Bytes after out[k] of a cut (np pieces) that no LOAD will cover: its
 * filler, and data pieces (never announced) up to the next piece that is.
 * perf maps a piece's unwinding data there (lib/cfi.h); over a later LOAD
 * it would hide that code's first bytes or lose its own table. */
uint64_t jp_pieces_room_after(const struct jp_view_piece *out, size_t np, size_t k);

#endif
