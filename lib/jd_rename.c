/* jd_rename.c - apply a runtime's late perf map to a finished jitdump (see jd_rename.h). */
#include "jd_rename.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jd_read.h"
#include "jitdump.h"

/* Room for one more element in a growing array (doubling from first). */
static int reserve(void **v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : first;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* ---- newest-wins painting of address ranges ------------------------------ */

/* A range; its position in the array is its age (later = newer). */
struct span {
	uint64_t start, end;
};

/* A piece of the address space and the newest span covering it. */
struct seg {
	uint64_t start, end;
	size_t owner;
};

struct segs {
	struct seg *v;
	size_t n, cap;
};

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int cmp_by_start(const void *x, const void *y, void *arg)
{
	const struct span *sp = arg;
	uint64_t a = sp[*(const size_t *)x].start, b = sp[*(const size_t *)y].start;

	return a < b ? -1 : a > b;
}

static int seg_add(struct segs *s, uint64_t start, uint64_t end, size_t owner)
{
	if (s->n && s->v[s->n - 1].owner == owner && s->v[s->n - 1].end == start) {
		s->v[s->n - 1].end = end;
		return 0;
	}
	if (reserve((void **)&s->v, &s->cap, s->n, sizeof(*s->v), 256) < 0)
		return -ENOMEM;
	s->v[s->n++] = (struct seg){ start, end, owner };
	return 0;
}

/* Max-heap of span indices: the newest span covering the sweep point is on
 * top; spans that ended are removed lazily, when they reach the top. */
static void heap_push(size_t *h, size_t *n, size_t x)
{
	size_t i = (*n)++;

	while (i && h[(i - 1) / 2] < x) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = x;
}

static void heap_pop(size_t *h, size_t *n)
{
	size_t x = h[--*n], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] > h[c])
			c++;
		if (h[c] <= x)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = x;
}

/* Cut the address space at every span boundary; each piece goes to the
 * newest span covering it.  Spans must have start < end.  O(n log n). */
static int paint(const struct span *sp, size_t n, struct segs *out)
{
	uint64_t *pts = malloc((2 * n + 1) * sizeof(*pts));
	size_t *by_start = malloc((n + 1) * sizeof(*by_start));
	size_t *heap = malloc((n + 1) * sizeof(*heap));
	size_t np = 0, si = 0, hn = 0, k;
	int rc = 0;

	out->n = 0;
	if (!pts || !by_start || !heap) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		pts[np++] = sp[i].start;
		pts[np++] = sp[i].end;
		by_start[i] = i;
	}
	qsort(pts, np, sizeof(*pts), cmp_u64);
	qsort_r(by_start, n, sizeof(*by_start), cmp_by_start, (void *)sp);
	for (k = 0; k < np && rc == 0; k++) {
		if (k && pts[k] == pts[k - 1])
			continue;
		while (si < n && sp[by_start[si]].start == pts[k])
			heap_push(heap, &hn, by_start[si++]);
		while (hn && sp[heap[0]].end <= pts[k])
			heap_pop(heap, &hn);
		if (hn) {
			size_t next = k + 1;

			while (next < np && pts[next] == pts[k])
				next++;
			if (next == np) /* cannot be: the top span ends later */
				break;
			rc = seg_add(out, pts[k], pts[next], heap[0]);
		}
	}
out:
	free(pts);
	free(by_start);
	free(heap);
	return rc;
}

/* Index of the first segment ending above addr. */
static size_t seg_lower(const struct segs *s, uint64_t addr)
{
	size_t a = 0, b = s->n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (s->v[m].end <= addr)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* ---- the dump's code --------------------------------------------------------- */

struct code {
	uint64_t ts, index;
	uint32_t pid, tid;
	const char *name;
	const unsigned char *bytes; /* NULL for a MOVE: its code cannot be renamed */
	uint64_t renamed;           /* bytes that went to renamed code */
	int pinned;                 /* a MOVE refers to its index: kept */
	int named_by_map;           /* its newest bytes carry a map name */
	/* the UNWINDING_INFO before its LOAD when it maps data (real rules,
	 * e.g. jitperf's CFI): a renamed copy of the whole piece keeps it */
	const unsigned char *unwind;
	uint32_t unwind_len;
};

struct dump_code {
	struct span *sp;
	struct code *c;
	size_t n, cap;
	uint64_t *used;     /* every code_index a LOAD or MOVE names */
	size_t nused, capused;
};

static int code_add(struct dump_code *d, uint64_t addr, uint64_t size, const struct code *c)
{
	if (size == 0 || addr + size < addr)
		return 0;
	/* two arrays in step: sp and c have the same capacity */
	if (d->n == d->cap) {
		size_t cap = d->cap;

		if (reserve((void **)&d->sp, &cap, d->n, sizeof(*d->sp), 1024) < 0)
			return -ENOMEM;
		cap = d->cap;
		if (reserve((void **)&d->c, &cap, d->n, sizeof(*d->c), 1024) < 0)
			return -ENOMEM;
		d->cap = cap;
	}
	d->sp[d->n] = (struct span){ addr, addr + size };
	d->c[d->n++] = *c;
	return 0;
}

static int read_code(const void *buf, size_t len, struct dump_code *d, struct jp_rename_stats *st)
{
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	uint64_t *moved = NULL;
	size_t nmoved = 0, moved_cap = 0;
	const unsigned char *unwind = NULL;
	uint32_t unwind_len = 0;
	int k;

	if (jp_jdr_open(&r, buf, len) < 0)
		return -EBADMSG;
	while ((k = jp_jdr_next(&r, &rec)) != 0) {
		struct code c = { 0 };

		if (k < 0)
			continue; /* as perf: skipped, or the end */
		if (rec.id == JD_CODE_UNWINDING_INFO) {
			/* perf applies the last one before a LOAD to it */
			unwind = rec.u.unwind.mapped_size ? rec.raw : NULL;
			unwind_len = rec.total_size;
			continue;
		}
		if (rec.id == JD_CODE_LOAD || rec.id == JD_CODE_MOVE) {
			if (reserve((void **)&d->used, &d->capused, d->nused, sizeof(*d->used), 1024) < 0)
				goto oom;
			d->used[d->nused++] = rec.id == JD_CODE_LOAD ? rec.u.load.code_index : rec.u.move.code_index;
		}
		c.unwind = rec.id == JD_CODE_LOAD ? unwind : NULL;
		c.unwind_len = unwind_len;
		unwind = NULL;
		if (rec.id == JD_CODE_LOAD) {
			st->loads_in++;
			c.ts = rec.timestamp;
			c.index = rec.u.load.code_index;
			c.pid = rec.u.load.pid;
			c.tid = rec.u.load.tid;
			c.name = rec.u.load.name;
			c.bytes = rec.u.load.code;
			if (code_add(d, rec.u.load.code_addr, rec.u.load.code_size, &c) < 0)
				goto oom;
		} else if (rec.id == JD_CODE_MOVE) {
			c.ts = rec.timestamp;
			c.index = rec.u.move.code_index;
			if (code_add(d, rec.u.move.new_code_addr, rec.u.move.code_size, &c) < 0)
				goto oom;
			if (reserve((void **)&moved, &moved_cap, nmoved, sizeof(*moved), 64) < 0)
				goto oom;
			moved[nmoved++] = c.index;
		}
	}
	/* the LOADs a MOVE refers to stay */
	if (nmoved) {
		qsort(moved, nmoved, sizeof(*moved), cmp_u64);
		for (size_t i = 0; i < d->n; i++)
			d->c[i].pinned = d->c[i].bytes &&
					 bsearch(&d->c[i].index, moved, nmoved, sizeof(*moved), cmp_u64) != NULL;
	}
	free(moved);
	return 0;
oom:
	free(moved);
	return -ENOMEM;
}

/* The first of count code indices no record of the dump names (perf
 * writes jitted-<pid>-<index>.so: a taken one would overwrite another
 * piece's object): above the largest, or, in a dump that names it, in the
 * lowest gap wide enough.  Sorts d->used. */
static uint64_t free_indices(struct dump_code *d, uint64_t count)
{
	uint64_t next = 0;

	if (!d->nused)
		return 0;
	qsort(d->used, d->nused, sizeof(*d->used), cmp_u64);
	if (d->used[d->nused - 1] < UINT64_MAX - count)
		return d->used[d->nused - 1] + 1;
	for (size_t i = 0; i < d->nused; i++) {
		if (d->used[i] >= next && d->used[i] - next >= count)
			break;
		if (d->used[i] >= next)
			next = d->used[i] + 1;
	}
	return next;
}

/* ---- renamed code ------------------------------------------------------------ */

/* One run of contiguous bytes of an entry, drawn from pieces of LOADs. */
struct renamed {
	uint64_t addr, size;
	size_t entry;
	size_t first_seg, nsegs; /* in the dump's segments */
};

struct renamed_list {
	struct renamed *v;
	size_t n, cap;
};

static int renamed_add(struct renamed_list *l, const struct renamed *r)
{
	if (reserve((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 256) < 0)
		return -ENOMEM;
	l->v[l->n++] = *r;
	return 0;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Can this piece of the dump take a map name? */
static int renameable(const struct dump_code *d, const struct seg *s, uint64_t before_ts)
{
	const struct code *c = &d->c[s->owner];

	return c->bytes && (!before_ts || c->ts <= before_ts);
}

/* The runs of entry e over the dump's segments. */
static int entry_runs(const struct jp_map_entry *e, size_t ei, const struct segs *code, const struct dump_code *d,
		      uint64_t before_ts, struct renamed_list *out, struct jp_rename_stats *st)
{
	uint64_t lo = e->addr, hi = e->addr + e->size;
	struct renamed run = { 0, 0, ei, 0, 0 };
	size_t i = seg_lower(code, lo);
	int touched = 0;

	for (; i < code->n && code->v[i].start < hi; i++) {
		const struct seg *s = &code->v[i];
		uint64_t a = max64(s->start, lo), b = min64(s->end, hi);

		if (!renameable(d, s, before_ts)) {
			touched |= d->c[s->owner].bytes != NULL;
			if (run.nsegs && renamed_add(out, &run) < 0)
				return -ENOMEM;
			run.nsegs = 0;
			continue;
		}
		touched = 1;
		if (run.nsegs && run.addr + run.size == a) {
			run.size += b - a;
			run.nsegs++;
			continue;
		}
		if (run.nsegs && renamed_add(out, &run) < 0)
			return -ENOMEM;
		run = (struct renamed){ a, b - a, ei, i, 1 };
	}
	if (run.nsegs && renamed_add(out, &run) < 0)
		return -ENOMEM;
	st->entries_jit += (uint64_t)touched;
	return 0;
}

/* The one LOAD of a run already has the entry's name and boundaries. */
static int named_already(const struct renamed *r, const struct jp_map_entry *e, const struct segs *code,
			 const struct dump_code *d)
{
	const struct seg *s = &code->v[r->first_seg];
	const struct span *sp = &d->sp[s->owner];

	return r->nsegs == 1 && sp->start == e->addr && sp->end == e->addr + e->size && r->addr == e->addr &&
	       r->size == e->size && strcmp(d->c[s->owner].name, e->name) == 0;
}

/* Older code the map's entry also describes.  A runtime patches code in
 * place (HotSpot's call sites and inline caches, Mono's trampolines), and
 * the shim then describes it again: the older LOAD covers the samples taken
 * before the patch, and is the same function.  An address reused by
 * another function holds other bytes.  So the part of an older LOAD that an
 * entry (whose newest code was renamed) covers takes the entry's name when
 * at least SAME_CODE_PER_MILLE of its bytes equal the newest code's at the
 * same addresses: a copy of that part, with the LOAD's own bytes and time.
 * A copy of the whole LOAD replaces it; a partial one comes 1 ns after it
 * (it wins where they overlap, the rest keeps its name): the shim's piece
 * may begin before the runtime's function (HotSpot's nmethod header) or
 * end after it. */
#define SAME_CODE_PER_MILLE 900u
#define SAME_CODE_MIN 16u

struct older_copy {
	size_t load, entry;
	uint64_t lo, hi;
};

struct older_list {
	struct older_copy *v;
	size_t n, cap;
};

static int same_code(const struct dump_code *d, size_t li, uint64_t lo, uint64_t hi, const struct segs *code)
{
	const struct span *sp = &d->sp[li];
	uint64_t equal = 0;

	for (size_t i = seg_lower(code, lo); i < code->n && code->v[i].start < hi; i++) {
		const struct seg *s = &code->v[i];
		const struct code *newer = &d->c[s->owner];
		uint64_t a = max64(s->start, lo), b = min64(s->end, hi);

		if (s->owner == li || !newer->bytes || !newer->named_by_map)
			return 0;
		for (uint64_t x = a; x < b; x++)
			equal += d->c[li].bytes[x - sp->start] == newer->bytes[x - d->sp[s->owner].start];
	}
	return equal * 1000 >= (hi - lo) * SAME_CODE_PER_MILLE;
}

static int rename_older(struct dump_code *d, const struct segs *code, const struct segs *alive,
			uint64_t before_ts, struct older_list *out, struct jp_rename_stats *st)
{
	for (size_t li = 0; li < d->n; li++) {
		struct code *c = &d->c[li];
		const struct span *sp = &d->sp[li];

		if (!c->bytes || c->renamed || c->pinned || (before_ts && c->ts > before_ts))
			continue;
		for (size_t e = seg_lower(alive, sp->start); e < alive->n && alive->v[e].start < sp->end; e++) {
			uint64_t lo = max64(sp->start, alive->v[e].start), hi = min64(sp->end, alive->v[e].end);

			if (hi - lo < SAME_CODE_MIN || !same_code(d, li, lo, hi, code))
				continue;
			if (reserve((void **)&out->v, &out->cap, out->n, sizeof(*out->v), 64) < 0)
				return -ENOMEM;
			out->v[out->n++] = (struct older_copy){ li, alive->v[e].owner, lo, hi };
			st->loads_older++;
			if (lo == sp->start && hi == sp->end)
				c->renamed = hi - lo; /* wholly the entry's: replaced */
		}
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static int put(FILE *out, const void *p, size_t n)
{
	return n && fwrite(p, 1, n, out) != n ? -EIO : 0;
}

/* Copy the dump without the LOADs (and their attachments) that are gone;
 * like jd_prune's copy, attachments wait for the LOAD they belong to.
 * CLOSE records are held back (*close_off, *close_len: the last one) for
 * the caller to write after the renamed code: perf 6.1 stops reading a
 * dump at a CLOSE, so nothing appended after one would reach it. */
static int copy_kept(const unsigned char *buf, size_t len, const struct dump_code *d, FILE *out,
		     size_t *close_off, size_t *close_len)
{
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	size_t att_off = 0, att_len = 0, li = 0;
	int k, rc;

	if (jp_jdr_open(&r, buf, len) < 0)
		return -EBADMSG;
	rc = put(out, buf, r.hdr.total_size);
	while (rc == 0 && (k = jp_jdr_next(&r, &rec)) != 0) {
		int sticky, keep = 1;

		if (k < 0)
			continue;
		if (rec.id == JD_CODE_CLOSE) {
			*close_off = rec.offset;
			*close_len = rec.total_size;
			continue;
		}
		sticky = rec.id == JD_CODE_UNWINDING_INFO && rec.u.unwind.eh_frame_hdr_size == 0;
		if ((rec.id == JD_CODE_DEBUG_INFO || rec.id == JD_CODE_UNWINDING_INFO) && !sticky) {
			/* attachments are contiguous before their LOAD, or
			 * written out when something else comes between */
			if (att_len && att_off + att_len != rec.offset) {
				rc = put(out, buf + att_off, att_len);
				att_len = 0;
			}
			if (!att_len)
				att_off = rec.offset;
			att_len += rec.total_size;
			continue;
		}
		if (rec.id == JD_CODE_LOAD) {
			/* LOADs come in dump order; those of size 0 were not
			 * recorded in d and are always kept */
			if (rec.u.load.code_size && rec.u.load.code_addr + rec.u.load.code_size >= rec.u.load.code_addr) {
				while (li < d->n && !d->c[li].bytes)
					li++;
				if (li < d->n) {
					const struct code *c = &d->c[li++];

					keep = c->pinned || c->renamed < rec.u.load.code_size;
				}
			}
			if (keep && att_len)
				rc = put(out, buf + att_off, att_len);
			att_len = 0;
		} else if (att_len) {
			rc = put(out, buf + att_off, att_len);
			att_len = 0;
		}
		if (rc == 0 && keep)
			rc = put(out, rec.raw, rec.total_size);
	}
	if (rc == 0 && att_len)
		rc = put(out, buf + att_off, att_len);
	return rc;
}

/* The unwinding record and the fixed part and name of a new LOAD; its size
 * bytes of code follow.  The record is from's own when the new LOAD is from
 * whole (same address and size: its rules and mapped_size still hold; the
 * runtimes' maps rename most of HotSpot's methods, which lost their CFI),
 * else an empty table (frame pointers). */
static int write_head(FILE *out, const struct code *from, int whole, uint64_t ts, uint64_t addr, uint64_t size,
		      uint64_t index, const char *name)
{
	unsigned char unwind[JD_FDE_UNWIND_RECORD];
	struct jd_code_load l;
	size_t name_len = strlen(name) + 1;
	int rc;

	if (whole && from->unwind && from->unwind_len >= sizeof(struct jd_prefix)) {
		struct jd_prefix p;

		memcpy(&p, from->unwind, sizeof(p));
		p.timestamp = ts; /* with its LOAD: perf pairs them by order */
		rc = put(out, &p, sizeof(p));
		if (rc == 0)
			rc = put(out, from->unwind + sizeof(p), from->unwind_len - sizeof(p));
	} else {
		rc = put(out, unwind, jp_unwind_record(unwind, JP_UNWIND_EMPTY, size, ts));
	}

	memset(&l, 0, sizeof(l));
	l.p.id = JD_CODE_LOAD;
	l.p.total_size = (uint32_t)(sizeof(l) + name_len + size);
	l.p.timestamp = ts;
	l.pid = from->pid;
	l.tid = from->tid;
	l.vma = l.code_addr = addr;
	l.code_size = size;
	l.code_index = index;
	if (rc == 0)
		rc = put(out, &l, sizeof(l));
	if (rc == 0)
		rc = put(out, name, name_len);
	return rc;
}

static int write_renamed(const struct renamed *r, const struct jp_map_entry *e, const struct segs *code,
			 const struct dump_code *d, uint64_t index, FILE *out)
{
	uint64_t ts = UINT64_MAX;
	int some_kept = 0, rc;

	size_t owner = code->v[r->first_seg].owner;
	int whole = r->nsegs == 1 && d->sp[owner].start == r->addr && d->sp[owner].end == r->addr + r->size;

	for (size_t i = r->first_seg; i < r->first_seg + r->nsegs; i++) {
		const struct code *c = &d->c[code->v[i].owner];

		ts = min64(ts, c->ts);
		some_kept |= c->pinned || c->renamed < d->sp[code->v[i].owner].end - d->sp[code->v[i].owner].start;
	}
	rc = write_head(out, &d->c[owner], whole, ts + (uint64_t)some_kept, r->addr, r->size, index, e->name);
	for (size_t i = r->first_seg; rc == 0 && i < r->first_seg + r->nsegs; i++) {
		const struct seg *s = &code->v[i];
		uint64_t a = max64(s->start, r->addr), b = min64(s->end, r->addr + r->size);

		rc = put(out, d->c[s->owner].bytes + (a - d->sp[s->owner].start), b - a);
	}
	return rc;
}

static int write_older(const struct older_copy *o, const struct jp_map_entry *map, const struct dump_code *d,
		       uint64_t index, FILE *out)
{
	const struct code *c = &d->c[o->load];
	const struct span *sp = &d->sp[o->load];
	int whole = o->lo == sp->start && o->hi == sp->end;
	int rc = write_head(out, c, whole, c->ts + (uint64_t)!whole, o->lo, o->hi - o->lo, index, map[o->entry].name);

	return rc ? rc : put(out, c->bytes + (o->lo - sp->start), o->hi - o->lo);
}

/* ---- the whole ------------------------------------------------------------- */

/* Map entries that still describe code in the map's own view, in address
 * order (one segment each). */
static int alive_entries(const struct jp_map_entry *map, size_t n, struct segs *alive, struct jp_rename_stats *st)
{
	struct span *sp = malloc((n + 1) * sizeof(*sp));
	struct segs painted = { NULL, 0, 0 };
	int rc;

	if (!sp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct jp_map_entry *e = &map[i];
		int sane = e->size && e->size <= JP_RENAME_ENTRY_MAX && e->addr + e->size > e->addr && e->name &&
			   *e->name;

		/* an empty span takes part in nothing */
		sp[i] = sane ? (struct span){ e->addr, e->addr + e->size } : (struct span){ 0, 0 };
	}
	rc = paint(sp, n, &painted);
	alive->n = 0;
	for (size_t i = 0; rc == 0 && i < painted.n; i++) {
		const struct seg *s = &painted.v[i];

		if (s->start == sp[s->owner].start && s->end == sp[s->owner].end) {
			rc = seg_add(alive, s->start, s->end, s->owner);
			st->entries_alive++;
		}
	}
	free(painted.v);
	free(sp);
	return rc;
}

int jp_jd_apply_map(const void *buf, size_t len, const struct jp_map_entry *map, size_t n, uint64_t before_ts,
		    FILE *out, struct jp_rename_stats *st)
{
	struct dump_code d = { NULL, NULL, 0, 0, NULL, 0, 0 };
	struct segs code = { NULL, 0, 0 }, alive = { NULL, 0, 0 };
	struct renamed_list runs = { NULL, 0, 0 };
	struct older_list older = { NULL, 0, 0 };
	size_t keep_runs = 0, close_off = 0, close_len = 0;
	uint64_t base;
	int rc;

	memset(st, 0, sizeof(*st));
	st->entries = n;
	rc = read_code(buf, len, &d, st);
	if (rc == 0)
		rc = paint(d.sp, d.n, &code);
	if (rc == 0)
		rc = alive_entries(map, n, &alive, st);
	for (size_t i = 0; rc == 0 && i < alive.n; i++)
		rc = entry_runs(&map[alive.v[i].owner], alive.v[i].owner, &code, &d, before_ts, &runs, st);
	/* Runs that change something; their bytes are counted against the
	 * LOADs they come from, which decides which LOADs are gone. */
	for (size_t i = 0; rc == 0 && i < runs.n; i++) {
		const struct renamed *r = &runs.v[i];

		for (size_t s = r->first_seg; s < r->first_seg + r->nsegs; s++)
			d.c[code.v[s].owner].named_by_map = 1;
		if (named_already(r, &map[r->entry], &code, &d)) {
			st->entries_named++;
			continue;
		}
		for (size_t s = r->first_seg; s < r->first_seg + r->nsegs; s++) {
			uint64_t a = max64(code.v[s].start, r->addr), b = min64(code.v[s].end, r->addr + r->size);

			d.c[code.v[s].owner].renamed += b - a;
		}
		st->bytes_renamed += r->size;
		runs.v[keep_runs++] = *r;
	}
	if (rc == 0)
		rc = rename_older(&d, &code, &alive, before_ts, &older, st);
	if (rc == 0)
		rc = copy_kept(buf, len, &d, out, &close_off, &close_len);
	base = free_indices(&d, keep_runs + older.n);
	for (size_t i = 0; rc == 0 && i < keep_runs; i++) {
		rc = write_renamed(&runs.v[i], &map[runs.v[i].entry], &code, &d, base + i, out);
		st->loads_added++;
	}
	for (size_t i = 0; rc == 0 && i < older.n; i++)
		rc = write_older(&older.v[i], map, &d, base + keep_runs + i, out);
	if (rc == 0 && close_len)
		rc = put(out, (const unsigned char *)buf + close_off, close_len);
	for (size_t i = 0; i < d.n; i++)
		st->loads_dropped += (uint64_t)(d.c[i].bytes && !d.c[i].pinned &&
						d.c[i].renamed == d.sp[i].end - d.sp[i].start);
	if (rc == 0 && fflush(out) != 0)
		rc = -EIO;
	free(d.sp);
	free(d.c);
	free(d.used);
	free(code.v);
	free(alive.v);
	free(runs.v);
	free(older.v);
	return rc;
}
