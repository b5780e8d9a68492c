/* alias.c - a dual mapping's written pages, from write tracking of the view the program writes. */
#include "alias.h"
#include "log.h"
#include "maps.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* A region whose look found no single writable view is looked at again
 * after this many passes (the view may be mapped later). */
#define RETRY_PASSES 64u

struct entry {
	int state;               /* 0 free, 1 tracking, -1 hashed (no usable view) */
	pid_t pid;               /* the process that set it up */
	struct jp_alias_view rx; /* the executable view */
	struct jp_alias_view rw; /* its writable view, clipped to rx's file range */
	uint64_t inode;          /* the file both map */
	unsigned dev_major, dev_minor;
	unsigned passes;
};

static struct entry tab[JP_ALIAS_MAX];

size_t jp_alias_translate(const struct jp_alias_view *rx, const struct jp_alias_view *v, uint64_t a, uint64_t b,
			  const struct jp_range *written, size_t nw, struct jp_range *out, size_t n, size_t max)
{
	for (size_t i = 0; i < nw && max; i++) {
		uint64_t s = written[i].start, e = written[i].end;

		/* clip to the view, then map by file offset */
		if (s < v->start)
			s = v->start;
		if (e > v->end)
			e = v->end;
		if (s >= e)
			continue;
		s = v->off + (s - v->start);
		e = v->off + (e - v->start);
		if (s < rx->off)
			s = rx->off;
		if (e > rx->off + (rx->end - rx->start))
			e = rx->off + (rx->end - rx->start);
		if (s >= e)
			continue;
		s = rx->start + (s - rx->off);
		e = rx->start + (e - rx->off);
		if (s < a)
			s = a;
		if (e > b)
			e = b;
		if (s >= e)
			continue;
		if (n && out[n - 1].end >= s) {
			if (e > out[n - 1].end)
				out[n - 1].end = e;
		} else if (n >= max) {
			/* too fragmented: widen the last (reads more, loses nothing) */
			out[n - 1].end = e;
		} else {
			out[n].start = s;
			out[n].end = e;
			n++;
		}
	}
	return n;
}

struct look {
	struct jp_map rx;
	struct jp_alias_view rw;
	unsigned found;
};

static int rx_cb(const struct jp_map *m, void *arg)
{
	((struct look *)arg)->rx = *m;
	return 1;
}

/* Writable shared views of the executable view's file over its file range. */
static int rw_cb(const struct jp_map *m, void *arg)
{
	struct look *l = arg;
	uint64_t lo = l->rx.offset, hi = l->rx.offset + (l->rx.end - l->rx.start);
	uint64_t mlo = m->offset, mhi = m->offset + (m->end - m->start);

	if (!m->shared || !(m->prot & PROT_WRITE) || m->inode != l->rx.inode || m->dev_major != l->rx.dev_major ||
	    m->dev_minor != l->rx.dev_minor || mhi <= lo || mlo >= hi)
		return 0;
	if (mlo < lo)
		mlo = lo;
	if (mhi > hi)
		mhi = hi;
	l->rw.start = m->start + (mlo - m->offset);
	l->rw.end = m->start + (mhi - m->offset);
	l->rw.off = mlo;
	l->found++;
	return 0;
}

/* Is the writable view still where it was?  A scan of an unmapped range
 * reports nothing written, so its going away must be seen here. */
struct still {
	const struct entry *e;
	int ok;
};

static int still_cb(const struct jp_map *m, void *arg)
{
	struct still *st = arg;
	const struct entry *e = st->e;

	st->ok = m->shared && (m->prot & PROT_WRITE) && m->inode == e->inode && m->dev_major == e->dev_major &&
		 m->dev_minor == e->dev_minor && m->start <= e->rw.start && m->end >= e->rw.end &&
		 m->offset + (e->rw.start - m->start) == e->rw.off;
	return 1;
}

static int view_still_there(const struct entry *e, char *buf, size_t bufsz)
{
	struct still st = { e, 0 };

	return jp_maps_each(e->rw.start, e->rw.start + 1, buf, bufsz, still_cb, &st) == 1 && st.ok;
}

static void drop(struct jp_wtrack *wt, struct entry *e)
{
	if (e->state == 1)
		jp_wtrack_remove(wt, e->rw.start, e->rw.end);
	memset(e, 0, sizeof(*e));
}

/* Find the writable view of r's file and register it; the entry says how
 * it went (state -1: hash r). */
static void set_up(struct jp_wtrack *wt, pid_t pid, char *buf, size_t bufsz, const struct jp_region *r,
		   struct entry *e)
{
	struct look l;

	memset(&l, 0, sizeof(l));
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->state = -1;
	e->rx.start = r->start;
	e->rx.end = r->end;
	if (jp_maps_each(r->start, r->start + 1, buf, bufsz, rx_cb, &l) != 1 || l.rx.cls != JP_MAP_DUAL ||
	    !l.rx.inode || l.rx.start > r->start || l.rx.end < r->end)
		return;
	e->rx.start = l.rx.start;
	e->rx.end = l.rx.end;
	e->rx.off = l.rx.offset;
	/* Every mapping: the writable view may sit anywhere.  One look per
	 * region (and per RETRY_PASSES while there is none). */
	if (jp_maps_each(0, UINT64_MAX, buf, bufsz, rw_cb, &l) < 0 || l.found != 1)
		return;
	/* Shared memory: a memfd, or an unlinked file on tmpfs; other file
	 * systems refuse the registration. */
	if (jp_wtrack_init(wt) < 0 || !wt->shmem_ok || jp_wtrack_add(wt, l.rw.start, l.rw.end) < 0)
		return;
	e->rw = l.rw;
	e->inode = l.rx.inode;
	e->dev_major = l.rx.dev_major;
	e->dev_minor = l.rx.dev_minor;
	e->state = 1;
	jp_debug("dual mapping %#lx-%#lx: written through %#lx-%#lx, tracked there", (unsigned long)e->rx.start,
		 (unsigned long)e->rx.end, (unsigned long)e->rw.start, (unsigned long)e->rw.end);
}

long jp_alias_collect(struct jp_wtrack *wt, pid_t pid, char *buf, size_t bufsz, const struct jp_region *r,
		      uint64_t lo, uint64_t hi, struct jp_range *out, size_t max)
{
	struct entry *e = NULL, *spare = NULL;
	struct jp_range w[64];
	uint64_t at, end, fa, fb;
	size_t n = 0;

	/* Its first pass reads it whole; a region made writable itself may
	 * be written through this view too. */
	if (r->kind != JP_RK_FILE || r->writable || r->needs_full || r->track != JP_RT_HASH || !max)
		return -1;
	for (size_t i = 0; i < JP_ALIAS_MAX; i++) {
		if (tab[i].state && tab[i].pid != pid)
			memset(&tab[i], 0, sizeof(tab[i])); /* a fork child's copy: no registration is ours */
		if (!tab[i].state) {
			if (!spare)
				spare = &tab[i];
		} else if (tab[i].rx.start <= r->start && r->end <= tab[i].rx.end) {
			e = &tab[i];
		}
	}
	if (!e) {
		if (spare)
			set_up(wt, pid, buf, bufsz, r, spare);
		return -1; /* this pass's hashing is the baseline */
	}
	e->passes++;
	if (e->state < 0) {
		if (e->passes >= RETRY_PASSES)
			drop(wt, e);
		return -1;
	}
	if (e->passes % JP_ALIAS_VERIFY == 0) {
		/* Hash, and look for the writable view again: it may have
		 * been unmapped (a scan of a hole reports nothing) or another
		 * mapped. */
		drop(wt, e);
		set_up(wt, pid, buf, bufsz, r, e);
		return -1;
	}
	/* The part of the writable view over [lo, hi) of r's file range. */
	lo = lo > r->start ? lo : r->start;
	hi = hi < r->end ? hi : r->end;
	if (lo >= hi)
		return 0;
	fa = e->rx.off + (lo - e->rx.start);
	fb = e->rx.off + (hi - e->rx.start);
	if (fa < e->rw.off)
		fa = e->rw.off;
	if (fb > e->rw.off + (e->rw.end - e->rw.start))
		fb = e->rw.off + (e->rw.end - e->rw.start);
	if (fa >= fb)
		return 0; /* no writable view over r: nothing written */
	at = e->rw.start + (fa - e->rw.off);
	end = e->rw.start + (fb - e->rw.off);
	if (!view_still_there(e, buf, bufsz)) {
		jp_debug("the writable view %#lx-%#lx is gone; hashing", (unsigned long)e->rw.start,
			 (unsigned long)e->rw.end);
		drop(wt, e);
		return -1;
	}
	while (at < end) {
		uint64_t resume = end;
		int k = jp_wtrack_scan(wt, at, end, w, sizeof(w) / sizeof(w[0]), &resume);

		if (k < 0) {
			/* Unmapped or replaced behind our back: hash, and
			 * look again next pass. */
			jp_debug("write tracking of the writable view %#lx-%#lx lost (%d); hashing",
				 (unsigned long)e->rw.start, (unsigned long)e->rw.end, k);
			drop(wt, e);
			return -1;
		}
		n = jp_alias_translate(&e->rx, &e->rw, lo, hi, w, (size_t)k, out, n, max);
		if (resume <= at)
			break;
		at = resume;
	}
	return (long)n;
}

void jp_alias_drop(struct jp_wtrack *wt, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < JP_ALIAS_MAX; i++)
		if (tab[i].state && tab[i].rx.start < end && start < tab[i].rx.end)
			drop(wt, &tab[i]);
}

void jp_alias_forget(void)
{
	memset(tab, 0, sizeof(tab));
}
