/* jd_prune.c - keep only the LOADs of a jitdump that some sample falls in. */
#include "jd_prune.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jd_read.h"

/* Is any of addrs[0..n) in [lo, lo + size)? */
static int sampled(const uint64_t *addrs, size_t n, uint64_t lo, uint64_t size)
{
	size_t a = 0, b = n;

	if (size == 0 || lo + size < lo)
		return 0;
	while (a < b) { /* first address >= lo */
		size_t m = a + (b - a) / 2;

		if (addrs[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	return a < n && addrs[a] - lo < size;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

struct index_set {
	uint64_t *v;
	size_t n, cap;
};

static int set_add(struct index_set *s, uint64_t index)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = index;
	return 0;
}

static int set_has(const struct index_set *s, uint64_t index)
{
	return s->n && bsearch(&index, s->v, s->n, sizeof(*s->v), cmp_u64) != NULL;
}

/* Call fn for the code range of every LOAD and MOVE perf would read. */
typedef int (*code_fn)(void *arg, int is_move, uint64_t index, uint64_t addr, uint64_t size);

static int each_code(const void *buf, size_t len, code_fn fn, void *arg)
{
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	int k, rc = 0;

	if (jp_jdr_open(&r, buf, len) < 0)
		return -EBADMSG;
	while (rc == 0 && (k = jp_jdr_next(&r, &rec)) != 0) {
		if (k < 0)
			continue; /* skipped or the end, as perf does */
		if (rec.id == JD_CODE_LOAD)
			rc = fn(arg, 0, rec.u.load.code_index, rec.u.load.code_addr, rec.u.load.code_size);
		else if (rec.id == JD_CODE_MOVE)
			rc = fn(arg, 1, rec.u.move.code_index, rec.u.move.new_code_addr, rec.u.move.code_size);
	}
	return rc;
}

struct pass1 {
	const uint64_t *addrs;
	size_t n;
	struct index_set *keep;
	struct jp_prune_stats *st;
};

static int pass1_code(void *arg, int is_move, uint64_t index, uint64_t addr, uint64_t size)
{
	struct pass1 *p = arg;

	if (is_move)
		p->st->moves_in++;
	else
		p->st->loads_in++;
	return sampled(p->addrs, p->n, addr, size) ? set_add(p->keep, index) : 0;
}

/* Pass 1: the code indices whose code (at its LOAD or a MOVE) was sampled. */
static int kept_indices(const void *buf, size_t len, const uint64_t *addrs, size_t n, struct index_set *keep,
			struct jp_prune_stats *st)
{
	struct pass1 p = { addrs, n, keep, st };
	int rc = each_code(buf, len, pass1_code, &p);

	if (rc == 0 && keep->n)
		qsort(keep->v, keep->n, sizeof(*keep->v), cmp_u64);
	return rc;
}

static int put(FILE *out, const void *p, size_t n, struct jp_prune_stats *st)
{
	if (n && fwrite(p, 1, n, out) != n)
		return -EIO;
	st->bytes_out += n;
	return 0;
}

/* Attachments (DEBUG_INFO, UNWINDING_INFO) wait here until the LOAD they
 * attach to decides; other records between them and that LOAD (a MOVE)
 * do not consume them, so writing those first changes nothing for perf. */
struct pending {
	struct jp_jdr_rec *v;
	size_t n, cap;
};

static int pend(struct pending *p, const struct jp_jdr_rec *rec)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct jp_jdr_rec *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = *rec;
	return 0;
}

/* Pass 2: copy what is kept. */
static int copy_kept(const unsigned char *buf, size_t len, const struct index_set *keep, FILE *out,
		     struct jp_prune_stats *st)
{
	struct pending att = { NULL, 0, 0 };
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	int k, rc = 0;

	if (jp_jdr_open(&r, buf, len) < 0)
		return -EBADMSG;
	if (put(out, buf, r.hdr.total_size, st) < 0)
		return -EIO;
	while (rc == 0 && (k = jp_jdr_next(&r, &rec)) != 0) {
		int sticky, keep_it = 1; /* CLOSE, sticky unwinding data, unknown ids */

		if (k < 0)
			continue; /* a record perf skips too, or a cut-off end */
		sticky = rec.id == JD_CODE_UNWINDING_INFO && rec.u.unwind.eh_frame_hdr_size == 0;
		if ((rec.id == JD_CODE_DEBUG_INFO || rec.id == JD_CODE_UNWINDING_INFO) && !sticky) {
			rc = pend(&att, &rec);
			continue;
		}
		if (rec.id == JD_CODE_LOAD) {
			keep_it = set_has(keep, rec.u.load.code_index);
			for (size_t i = 0; keep_it && rc == 0 && i < att.n; i++)
				rc = put(out, att.v[i].raw, att.v[i].total_size, st);
			att.n = 0;
			st->loads_kept += (uint64_t)keep_it;
		} else if (rec.id == JD_CODE_MOVE) {
			keep_it = set_has(keep, rec.u.move.code_index);
			st->moves_kept += (uint64_t)keep_it;
		}
		if (rc == 0 && keep_it)
			rc = put(out, rec.raw, rec.total_size, st);
	}
	free(att.v);
	return rc;
}

int jp_jd_prune(const void *buf, size_t len, const uint64_t *addrs, size_t n, FILE *out,
		struct jp_prune_stats *st)
{
	struct index_set keep = { NULL, 0, 0 };
	int rc;

	memset(st, 0, sizeof(*st));
	st->bytes_in = len;
	rc = kept_indices(buf, len, addrs, n, &keep, st);
	if (rc == 0)
		rc = copy_kept(buf, len, &keep, out, st);
	if (rc == 0 && fflush(out) != 0)
		rc = -EIO;
	free(keep.v);
	return rc;
}

struct span {
	uint64_t lo, hi;
};

static int widen(void *arg, int is_move, uint64_t index, uint64_t addr, uint64_t size)
{
	struct span *sp = arg;

	(void)is_move;
	(void)index;
	if (size == 0 || addr + size < addr)
		return 0;
	if (sp->lo == sp->hi) {
		sp->lo = addr;
		sp->hi = addr + size;
	} else {
		sp->lo = addr < sp->lo ? addr : sp->lo;
		sp->hi = addr + size > sp->hi ? addr + size : sp->hi;
	}
	return 0;
}

int jp_jd_code_span(const void *buf, size_t len, uint64_t *lo, uint64_t *hi)
{
	struct span sp = { 0, 0 };
	int rc = each_code(buf, len, widen, &sp);

	*lo = sp.lo;
	*hi = sp.hi;
	return rc;
}
