/* region.c - sorted table of tracked executable regions and their pieces. */
#include "region.h"
#include "arena.h"

#include <errno.h>
#include <string.h>

static size_t round_alloc(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

/* Grow an array allocated with jp_sys_alloc to hold at least want elements. */
static int grow(void **arr, size_t elem, size_t have, size_t *cap, size_t want)
{
	size_t ncap = *cap ? *cap : 8, oldbytes, newbytes;
	void *n;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	/* Use the whole allocation: memory comes in pages anyway. */
	newbytes = round_alloc(ncap * elem);
	ncap = newbytes / elem;
	n = jp_sys_alloc(newbytes);
	if (!n)
		return -ENOMEM;
	if (*arr) {
		memcpy(n, *arr, have * elem);
		oldbytes = round_alloc(*cap * elem);
		jp_sys_free(*arr, oldbytes);
	}
	*arr = n;
	*cap = ncap;
	return 0;
}

static void free_region_storage(struct jp_region *r)
{
	if (r->d)
		jp_sys_free(r->d, round_alloc(r->capd * sizeof(*r->d)));
	if (r->phash)
		jp_sys_free(r->phash, round_alloc(r->npages * sizeof(*r->phash)));
	r->d = NULL;
	r->nd = r->capd = 0;
	r->phash = NULL;
	r->npages = 0;
}

size_t jp_regions_lower(const struct jp_regions *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct jp_region *jp_regions_find(struct jp_regions *t, uint64_t addr)
{
	size_t i = jp_regions_lower(t, addr);

	if (i < t->n && t->r[i].start <= addr)
		return &t->r[i];
	return NULL;
}

long jp_regions_insert(struct jp_regions *t, uint64_t start, uint64_t end, int kind)
{
	size_t i;

	if (grow((void **)&t->r, sizeof(*t->r), t->n, &t->cap, t->n + 1) < 0)
		return -ENOMEM;
	i = jp_regions_lower(t, start);
	memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof(*t->r));
	memset(&t->r[i], 0, sizeof(*t->r));
	t->r[i].start = start;
	t->r[i].end = end;
	t->r[i].kind = (uint8_t)kind;
	t->r[i].needs_full = 1;
	t->n++;
	return (long)i;
}

/* Page hashes of a (split at b->start, a->end not yet moved) into two
 * arrays of their own: 0 or -ENOMEM (both left as they were). */
static int divide_phash(struct jp_region *a, struct jp_region *b)
{
	uint64_t old_end = b->end, pagesz, na, nb;
	uint64_t *pa, *pb;

	if (!a->npages || (old_end - a->start) % a->npages)
		return -ENOMEM;
	pagesz = (old_end - a->start) / a->npages;
	na = (b->start - a->start) / pagesz;
	nb = a->npages - na;
	pa = jp_sys_alloc(round_alloc(na * sizeof(*pa)));
	pb = jp_sys_alloc(round_alloc(nb * sizeof(*pb)));
	if (!pa || !pb) {
		if (pa)
			jp_sys_free(pa, round_alloc(na * sizeof(*pa)));
		if (pb)
			jp_sys_free(pb, round_alloc(nb * sizeof(*pb)));
		return -ENOMEM;
	}
	memcpy(pa, a->phash, na * sizeof(*pa));
	memcpy(pb, a->phash + na, nb * sizeof(*pb));
	jp_sys_free(a->phash, round_alloc(a->npages * sizeof(*a->phash)));
	a->phash = pa;
	a->npages = (uint32_t)na;
	b->phash = pb;
	b->npages = (uint32_t)nb;
	return 0;
}

int jp_regions_split(struct jp_regions *t, uint64_t addr)
{
	struct jp_region *r = jp_regions_find(t, addr), *a, *b;
	size_t i;
	uint32_t k;

	if (!r || r->start == addr)
		return 0;
	i = (size_t)(r - t->r);
	if (grow((void **)&t->r, sizeof(*t->r), t->n, &t->cap, t->n + 1) < 0)
		return -ENOMEM;
	memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof(*t->r));
	t->n++;
	a = &t->r[i];
	b = &t->r[i + 1];
	/* b starts as a copy of a; then the storage is divided. */
	b->start = addr;
	b->d = NULL;
	b->nd = b->capd = 0;
	a->end = addr;
	/* Pieces go to the side their first byte is on. */
	for (k = 0; k < a->nd && a->d[k].addr < addr; k++)
		;
	if (k < a->nd) {
		size_t cap = 0;
		void *arr = NULL;

		if (grow(&arr, sizeof(struct jp_desc), 0, &cap, a->nd - k) == 0) {
			memcpy(arr, &a->d[k], (a->nd - k) * sizeof(struct jp_desc));
			b->d = arr;
			b->nd = a->nd - k;
			b->capd = (uint32_t)cap;
		} else {
			b->needs_full = 1; /* announce again rather than lose them */
		}
		a->nd = k;
	}
	b->phash = NULL;
	b->npages = 0;
	/* Page hashes are divided: a W^X engine that makes one page writable
	 * at a time (SpiderMonkey) splits a region at every patch, and its
	 * next pass then reads the pages that changed, not all of them.  When
	 * that cannot be done, the next capture rebuilds them (the descs keep
	 * their content hashes, so unchanged code is not emitted again). */
	if (a->phash && divide_phash(a, b) < 0) {
		jp_sys_free(a->phash, round_alloc(a->npages * sizeof(*a->phash)));
		a->phash = NULL;
		a->npages = 0;
		a->needs_full = 1;
	}
	b->needs_full = a->needs_full;
	return 0;
}

int jp_regions_join(struct jp_regions *t, size_t i)
{
	struct jp_region *a = &t->r[i], *b = &t->r[i + 1];
	size_t cap = a->capd;
	uint64_t *ph = NULL, pagesz = a->npages ? (a->end - a->start) / a->npages : 0;
	uint32_t np, keep = b->nd, na = a->nd;

	if (!pagesz && b->npages)
		pagesz = (b->end - b->start) / b->npages;
	np = pagesz ? (uint32_t)((b->end - a->start) / pagesz) : 0;

	/* A piece of a that runs into b where b has pieces of its own: perf
	 * was told both, so neither is what perf shows there now; both are
	 * forgotten and the next pass reads the region whole. */
	if (na && keep && a->d[na - 1].addr + a->d[na - 1].len > b->d[0].addr) {
		uint64_t end = a->d[na - 1].addr + a->d[na - 1].len;

		na--;
		while (keep && b->d[b->nd - keep].addr < end)
			keep--;
	}
	/* A side never hashed gets hashes of 0, "never seen": its pages
	 * count as changed the first time they are looked at. */
	if (a->phash || b->phash) {
		ph = jp_sys_alloc(round_alloc(np * sizeof(*ph)));
		if (!ph)
			return -ENOMEM;
		if (a->phash)
			memcpy(ph, a->phash, a->npages * sizeof(*ph));
		if (b->phash)
			memcpy(ph + a->npages, b->phash, b->npages * sizeof(*ph));
	}
	if (grow((void **)&a->d, sizeof(*a->d), a->nd, &cap, (size_t)na + keep) < 0) {
		if (ph)
			jp_sys_free(ph, round_alloc(np * sizeof(*ph)));
		return -ENOMEM;
	}
	a->capd = (uint32_t)cap;
	if (na < a->nd || keep < b->nd)
		a->needs_full = 1;
	a->nd = na;
	if (keep)
		memcpy(&a->d[a->nd], &b->d[b->nd - keep], keep * sizeof(*a->d));
	a->nd += keep;
	if (a->phash)
		jp_sys_free(a->phash, round_alloc(a->npages * sizeof(*a->phash)));
	a->phash = ph;
	a->npages = ph ? np : 0;
	a->end = b->end;
	a->needs_full |= b->needs_full;
	a->vouched |= b->vouched;
	if (b->last_event_ts > a->last_event_ts)
		a->last_event_ts = b->last_event_ts;
	if (b->last_scan_ts < a->last_scan_ts)
		a->last_scan_ts = b->last_scan_ts;
	jp_regions_delete(t, i + 1);
	return 0;
}

void jp_regions_delete(struct jp_regions *t, size_t i)
{
	if (i >= t->n)
		return;
	free_region_storage(&t->r[i]);
	memmove(&t->r[i], &t->r[i + 1], (t->n - i - 1) * sizeof(*t->r));
	t->n--;
}

void jp_regions_bounds(const struct jp_regions *t, uint64_t *lo, uint64_t *hi)
{
	if (!t->n) {
		*lo = *hi = 0;
		return;
	}
	*lo = t->r[0].start;
	*hi = t->r[t->n - 1].end;
}

long jp_regions_move(struct jp_regions *t, size_t i, uint64_t start, uint64_t end, uint64_t keep)
{
	struct jp_region old = t->r[i];
	uint64_t delta = start - old.start;
	uint32_t n = 0;
	long k;

	/* The pieces go along; the page hashes describe the old mapping. */
	t->r[i].d = NULL;
	t->r[i].nd = t->r[i].capd = 0;
	jp_regions_delete(t, i);
	k = jp_regions_insert(t, start, end, old.kind);
	if (k < 0) {
		free_region_storage(&old);
		return k;
	}
	t->r[k].writable = old.writable;
	t->r[k].creator = old.creator;
	for (uint32_t j = 0; j < old.nd; j++) {
		if (old.d[j].addr + old.d[j].len > old.start + keep)
			continue;
		old.d[n] = old.d[j];
		old.d[n++].addr += delta;
	}
	t->r[k].d = old.d;
	t->r[k].nd = n;
	t->r[k].capd = old.capd;
	return k;
}

int jp_regions_cover(const struct jp_regions *t, uint64_t start, uint64_t end)
{
	uint64_t a = start;

	for (size_t i = jp_regions_lower(t, start); i < t->n && t->r[i].start <= a && a < end; i++)
		a = t->r[i].end;
	return a >= end;
}

void jp_regions_clear(struct jp_regions *t)
{
	for (size_t i = 0; i < t->n; i++)
		free_region_storage(&t->r[i]);
	if (t->r)
		jp_sys_free(t->r, round_alloc(t->cap * sizeof(*t->r)));
	t->r = NULL;
	t->n = t->cap = 0;
}

void jp_desc_overlap(const struct jp_region *r, uint64_t start, uint64_t end, uint32_t *first, uint32_t *count)
{
	uint32_t lo = 0, hi = r->nd, j;

	/* First desc ending above start. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r->d[mid].addr + r->d[mid].len <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (j = lo; j < r->nd && r->d[j].addr < end; j++)
		;
	*first = lo;
	*count = j - lo;
}

int jp_desc_replace(struct jp_region *r, uint32_t first, uint32_t count, const struct jp_desc *nd, uint32_t n)
{
	uint32_t tail = r->nd - first - count;

	if (n > count) {
		size_t cap = r->capd;

		if (grow((void **)&r->d, sizeof(*r->d), r->nd, &cap, (size_t)r->nd - count + n) < 0)
			return -ENOMEM;
		r->capd = (uint32_t)cap;
	}
	/* A region whose every piece is data has no table at all: r->d is
	 * NULL, and memmove of NULL is undefined even for 0 bytes. */
	if (tail)
		memmove(&r->d[first + n], &r->d[first + count], tail * sizeof(*r->d));
	if (n)
		memcpy(&r->d[first], nd, n * sizeof(*r->d));
	r->nd = first + n + tail;
	return 0;
}

void jp_desc_drop(struct jp_region *r, uint64_t start, uint64_t end)
{
	uint32_t first, count;

	jp_desc_overlap(r, start, end, &first, &count);
	if (count)
		jp_desc_replace(r, first, count, NULL, 0);
}

int jp_region_phash(struct jp_region *r, uint64_t pagesz)
{
	uint64_t pages = (r->end - r->start) / pagesz;

	if (r->phash && r->npages == pages)
		return 0;
	if (r->phash)
		jp_sys_free(r->phash, round_alloc(r->npages * sizeof(*r->phash)));
	r->phash = jp_sys_alloc(round_alloc(pages * sizeof(*r->phash)));
	r->npages = r->phash ? (uint32_t)pages : 0;
	return r->phash ? 0 : -ENOMEM;
}
