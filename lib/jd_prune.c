/* jd_prune.c - keep only the LOADs of a jitdump that perf resolves some sample with (see jd_prune.h). */
#include "jd_prune.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jd_read.h"

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
typedef int (*code_fn)(void *arg, uint64_t index, uint64_t addr, uint64_t size, uint64_t ts);

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
			rc = fn(arg, rec.u.load.code_index, rec.u.load.code_addr, rec.u.load.code_size, rec.timestamp);
		else if (rec.id == JD_CODE_MOVE)
			rc = fn(arg, rec.u.move.code_index, rec.u.move.new_code_addr, rec.u.move.code_size,
				rec.timestamp);
	}
	return rc;
}

/* A LOAD or a MOVE: code perf maps at [addr, addr + size) from time ts on,
 * over whatever it mapped there before. */
struct code_at {
	uint64_t addr, size, ts, index;
	size_t order; /* in the file: of two at one time, perf applies the later last */
	int kept;
};

struct code_list {
	struct code_at *v;
	size_t n, cap;
	uint64_t max_size;
};

static int list_code(void *arg, uint64_t index, uint64_t addr, uint64_t size, uint64_t ts)
{
	struct code_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct code_at *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (size == 0 || addr + size < addr)
		return 0; /* covers nothing */
	l->v[l->n] = (struct code_at){ addr, size, ts, index, l->n, 0 };
	l->n++;
	if (size > l->max_size)
		l->max_size = size;
	return 0;
}

static int by_addr(const void *x, const void *y)
{
	const struct code_at *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int by_time(const void *x, const void *y)
{
	const struct code_at *a = *(struct code_at *const *)x, *b = *(struct code_at *const *)y;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* The entries of l (sorted by address) that cover a, into cand, sorted by
 * time; returns how many. */
static size_t covering(const struct code_list *l, uint64_t a, struct code_at **cand)
{
	size_t lo = 0, hi = l->n, nc = 0;

	while (lo < hi) { /* first entry starting above a */
		size_t m = lo + (hi - lo) / 2;

		if (l->v[m].addr <= a)
			lo = m + 1;
		else
			hi = m;
	}
	for (size_t k = lo; k-- > 0 && a - l->v[k].addr < l->max_size;)
		if (a - l->v[k].addr < l->v[k].size)
			cand[nc++] = &l->v[k];
	qsort(cand, nc, sizeof(*cand), by_time);
	return nc;
}

/* Mark what perf resolves the samples at[i..j) (one address) with: the
 * newest entry covering it mapped at or before the sample's time (all of
 * them that share that time: never drop one perf may apply); every
 * covering entry for a sample of no time. */
static void mark_live(struct code_at **cand, size_t nc, const struct jp_sample_at *at, size_t i, size_t j)
{
	for (size_t p = i; p < j; p++) {
		size_t lo = 0, hi = nc;

		if (at[p].ts == 0) {
			for (size_t c = 0; c < nc; c++)
				cand[c]->kept = 1;
			return;
		}
		while (lo < hi) { /* first candidate mapped after the sample */
			size_t m = lo + (hi - lo) / 2;

			if (cand[m]->ts <= at[p].ts)
				lo = m + 1;
			else
				hi = m;
		}
		for (size_t c = lo; c-- > 0 && cand[c]->ts == cand[lo - 1]->ts;)
			cand[c]->kept = 1;
	}
}

/* Pass 1: the code indices perf resolves some sample with (at a LOAD's
 * address or at a MOVE's). */
static int kept_indices(const void *buf, size_t len, const struct jp_sample_at *at, size_t n,
			struct index_set *keep)
{
	struct code_list l = { NULL, 0, 0, 0 };
	struct code_at **cand = NULL;
	int rc = each_code(buf, len, list_code, &l);

	if (rc == 0 && l.n && !(cand = malloc(l.n * sizeof(*cand))))
		rc = -ENOMEM;
	if (rc == 0 && l.n) {
		qsort(l.v, l.n, sizeof(*l.v), by_addr);
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && at[j].addr == at[i].addr; j++)
				;
			mark_live(cand, covering(&l, at[i].addr, cand), at, i, j);
		}
		for (size_t k = 0; rc == 0 && k < l.n; k++)
			if (l.v[k].kept)
				rc = set_add(keep, l.v[k].index);
	}
	if (rc == 0 && keep->n)
		qsort(keep->v, keep->n, sizeof(*keep->v), cmp_u64);
	free(cand);
	free(l.v);
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
			st->loads_in++;
			keep_it = set_has(keep, rec.u.load.code_index);
			for (size_t i = 0; keep_it && rc == 0 && i < att.n; i++)
				rc = put(out, att.v[i].raw, att.v[i].total_size, st);
			att.n = 0;
			st->loads_kept += (uint64_t)keep_it;
		} else if (rec.id == JD_CODE_MOVE) {
			st->moves_in++;
			keep_it = set_has(keep, rec.u.move.code_index);
			st->moves_kept += (uint64_t)keep_it;
		}
		if (rc == 0 && keep_it)
			rc = put(out, rec.raw, rec.total_size, st);
	}
	free(att.v);
	return rc;
}

int jp_jd_prune(const void *buf, size_t len, const struct jp_sample_at *at, size_t n, FILE *out,
		struct jp_prune_stats *st)
{
	struct index_set keep = { NULL, 0, 0 };
	int rc;

	memset(st, 0, sizeof(*st));
	st->bytes_in = len;
	rc = kept_indices(buf, len, at, n, &keep);
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

static int widen(void *arg, uint64_t index, uint64_t addr, uint64_t size, uint64_t ts)
{
	struct span *sp = arg;

	(void)index;
	(void)ts;
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
