/* dirty.c - written pages from kernel write tracking, changed pages from hashing. */
#include "dirty.h"
#include "arena.h"
#include "config.h"
#include "filepriv.h"
#include "hash.h"
#include "log.h"
#include "maps.h"
#include "str.h"
#include "sys.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define MVEC_PAGES 4096u /* pages asked of mincore at a time */

/* W^X regions at least this large get kernel write tracking too, kept
 * across their writable phases: hashing them at every exec grant costs
 * their size (a JIT toggling a 128 MiB half for each batch of a few
 * functions), the registration costs one page-table walk per grant. */
#define WX_WP_MIN (16ull << 20)

static int big_wx(const struct jp_region *r)
{
	return r->end - r->start >= WX_WP_MIN && (r->kind == JP_RK_ANON || r->kind == JP_RK_HEAP);
}

int jp_dirty_init(struct jp_dirty *d)
{
	d->out = jp_sys_alloc(JP_DIRTY_MAX * sizeof(*d->out));
	d->resident = jp_sys_alloc(JP_DIRTY_MAX * sizeof(*d->resident));
	d->mvec = jp_sys_alloc(MVEC_PAGES);
	jp_readcache_init(&d->cache, d->buf, d->buf_len);
	return d->out && d->resident && d->mvec ? 0 : -ENOMEM;
}

static void report_wtrack_once(const struct jp_dirty *d)
{
	static int said;

	if (said++)
		return;
	if (d->mode == JP_TRACK_WP)
		jp_err("kernel write tracking unavailable (%s: %s); hashing resident pages instead", d->wt->why,
		       jp_strerror(d->wt->err));
	else
		jp_info("kernel write tracking unavailable (%s: %s); hashing resident pages instead", d->wt->why,
			jp_strerror(d->wt->err));
}

void jp_dirty_wtrack_lost(struct jp_dirty *d, struct jp_regions *t)
{
	report_wtrack_once(d);
	for (size_t i = 0; i < t->n; i++) {
		if (t->r[i].track == JP_RT_WP) {
			t->r[i].track = JP_RT_NONE;
			t->r[i].needs_full = 1;
		}
	}
}

/* Is [r->start, r->end) still executable memory of the kind we track?
 * Memory can vanish behind our back: glibc's free() and raw system calls
 * unmap without a hook, and the address may then hold the program's data. */
struct verify_ctx {
	uint64_t next;
	int ok;
	int fpriv; /* a private file mapping is what the region is */
};

static int verify_cb(const struct jp_map *m, void *arg)
{
	struct verify_ctx *v = arg;

	if (m->start > v->next || !(m->prot & PROT_EXEC) || (m->cls == JP_MAP_FILE && (!v->fpriv || m->shared)) ||
	    m->cls == JP_MAP_SPECIAL) {
		v->ok = 0;
		return 1;
	}
	v->next = m->end;
	return 0;
}

static int region_still_exec(struct jp_dirty *d, const struct jp_region *r)
{
	struct verify_ctx v = { r->start, 1, r->kind == JP_RK_FPRIV };

	jp_readcache_reset(&d->cache); /* buf gets the maps text */
	if (jp_maps_each(r->start, r->end, (char *)d->buf, d->buf_len, verify_cb, &v) < 0)
		return 1; /* cannot tell: keep it */
	return v.ok && v.next >= r->end;
}

void jp_dirty_arm(struct jp_dirty *d, struct jp_region *r)
{
	if (r->track != JP_RT_NONE)
		return;
	/* Kernel write tracking only where code appears with no call at all
	 * (writable and executable).  W^X memory announces every change with
	 * an exec grant; its page hashes survive the non-executable phase, and
	 * not registering it leaves the program's mappings exactly as they
	 * would be (a registered mapping never merges with its neighbours). */
	if (d->mode != JP_TRACK_HASH && r->kind != JP_RK_FILE && !r->heap && (r->writable || big_wx(r))) {
		if (jp_wtrack_init(d->wt) < 0) {
			report_wtrack_once(d);
		} else if ((r->kind != JP_RK_SHMEM || d->wt->shmem_ok) &&
			   (r->kind == JP_RK_FPRIV ? jp_wtrack_register : jp_wtrack_add)(d->wt, r->start, r->end) == 0) {
			r->track = JP_RT_WP;
			d->wp_regions++;
			return;
		}
	}
	r->track = JP_RT_HASH;
	d->hash_regions++;
}

void jp_dirty_heap(struct jp_dirty *d, struct jp_region *r, int heap)
{
	if (!heap || r->heap)
		return;
	r->heap = 1;
	/* Read whole once more, hashed from then on. */
	if (r->track == JP_RT_WP)
		jp_dirty_disarm(d, r);
}

void jp_dirty_dormant(struct jp_dirty *d, struct jp_region *r)
{
	if (r->track == JP_RT_WP && !big_wx(r))
		jp_dirty_disarm(d, r);
}

void jp_dirty_disarm(struct jp_dirty *d, struct jp_region *r)
{
	if (r->track == JP_RT_WP)
		jp_wtrack_remove(d->wt, r->start, r->end);
	if (r->track != JP_RT_NONE) {
		r->track = JP_RT_NONE;
		r->needs_full = 1;
	}
}

/* Private memory that is executable but not writable cannot change until
 * the program makes it writable (a hook sees that) or maps over it: once
 * read after its exec grant, there is nothing to look at.  W^X engines
 * (LuaJIT, JVMs) keep most code so: epoch passes and the capture before a
 * toggle skip it instead of hashing every page again.  Not for views that
 * another mapping writes (memfd, shared memory, file), nor for RWX. */
int jp_dirty_frozen(const struct jp_region *r)
{
	return r->exec && !r->writable && r->track != JP_RT_NONE && !r->needs_full && r->last_scan_ts &&
	       (r->kind == JP_RK_ANON || r->kind == JP_RK_HEAP || r->kind == JP_RK_FPRIV);
}

static size_t add_range(struct jp_range *out, size_t n, uint64_t a, uint64_t b)
{
	if (n && out[n - 1].end == a) {
		out[n - 1].end = b;
		return n;
	}
	if (n >= JP_DIRTY_MAX) {
		/* Too fragmented: widen the last range (reads more, loses nothing). */
		out[n - 1].end = b;
		return n;
	}
	out[n].start = a;
	out[n].end = b;
	return n + 1;
}

/* Resident pages of [start, end) as ranges in d->out. */
static size_t resident_ranges(struct jp_dirty *d, uint64_t start, uint64_t end)
{
	const uint64_t step = MVEC_PAGES * d->pagesz;
	size_t n = 0;

	for (uint64_t a = start; a < end; a += step) {
		uint64_t b = end - a < step ? end : a + step;
		size_t pages = (size_t)((b - a) / d->pagesz);

		if (mincore((void *)a, b - a, d->mvec) < 0) {
			/* ENOMEM: part of it is unmapped (raced); skip it. */
			continue;
		}
		for (size_t i = 0; i < pages; i++)
			if (d->mvec[i] & 1)
				n = add_range(d->out, n, a + i * d->pagesz, a + (i + 1) * d->pagesz);
	}
	return n;
}

/* The pages that may hold code: the resident ones; in a private file
 * mapping only those the program wrote (the file's own are perf's to
 * describe, and reading them would describe the file). */
static size_t code_pages(struct jp_dirty *d, const struct jp_region *r, uint64_t lo, uint64_t hi)
{
	long n;

	lo = lo > r->start ? lo : r->start;
	hi = hi < r->end ? hi : r->end;
	if (r->kind != JP_RK_FPRIV)
		return resident_ranges(d, lo, hi);
	n = jp_filepriv_written(lo, hi, d->out, JP_DIRTY_MAX, NULL);
	return n > 0 ? (size_t)n : 0;
}

/* Hashing: resident pages whose hash changed since last time (all of them
 * when all is set). */
static size_t hash_changed(struct jp_dirty *d, struct jp_region *r, size_t m, int all);

static size_t hashed_dirty(struct jp_dirty *d, struct jp_region *r, int all, uint64_t lo, uint64_t hi)
{
	return hash_changed(d, r, code_pages(d, r, lo, hi), all);
}

/* The pages of d->out[0, m) whose hash changed (all of them when all is
 * set), into d->out. */
static size_t hash_changed(struct jp_dirty *d, struct jp_region *r, size_t m, int all)
{
	size_t out = 0;
	struct jp_range *res = d->resident;

	if (jp_region_phash(r, d->pagesz) < 0)
		all = 1;
	memcpy(res, d->out, m * sizeof(*res));
	for (size_t k = 0; k < m; k++) {
		for (uint64_t a = res[k].start; a < res[k].end;) {
			uint64_t want = res[k].end - a < d->buf_len ? res[k].end - a : d->buf_len;
			ssize_t got;
			const uint8_t *p = jp_readcache_fill(&d->cache, d->pid, a, want, &got);

			if (got <= 0)
				break;
			for (uint64_t off = 0; off + d->pagesz <= (uint64_t)got; off += d->pagesz) {
				/* jp_hash is never 0: 0 means "never seen". */
				uint64_t h = jp_hash(p + off, d->pagesz);
				uint64_t pi = (a + off - r->start) / d->pagesz;

				if (all || !r->phash || r->phash[pi] != h) {
					if (r->phash)
						r->phash[pi] = h;
					out = add_range(d->out, out, a + off, a + off + d->pagesz);
				}
			}
			a += (uint64_t)got;
			if ((uint64_t)got < want)
				break;
		}
	}
	return out;
}

/* Is this page one byte repeated?  A JIT fills its area with a trap byte
 * of its choice at start (every page resident); such a page holds no code,
 * and reading it whole makes LOADs of filler. */
static int uniform_page(const uint8_t *p, uint64_t len)
{
	uint64_t w, pat;

	memcpy(&pat, p, sizeof(pat));
	if (pat != p[0] * 0x0101010101010101ull)
		return 0;
	for (uint64_t off = sizeof(w); off + sizeof(w) <= len; off += sizeof(w)) {
		memcpy(&w, p + off, sizeof(w));
		if (w != pat)
			return 0;
	}
	return 1;
}

/* Drop from d->out (n ranges) the pages that are one byte repeated and
 * hold no piece we announced (a piece there must be looked at: the JIT may
 * have erased it with its fill byte).  Returns the new count. */
static size_t drop_uniform(struct jp_dirty *d, const struct jp_region *r, size_t n)
{
	struct jp_range *in = d->resident;
	size_t out = 0;

	memcpy(in, d->out, n * sizeof(*in));
	for (size_t k = 0; k < n; k++) {
		for (uint64_t a = in[k].start; a < in[k].end;) {
			uint64_t want = in[k].end - a < d->buf_len ? in[k].end - a : d->buf_len;
			/* Hashing may have read these pages already. */
			const uint8_t *p = jp_readcache_get(&d->cache, a, want);
			ssize_t got = (ssize_t)want;
			uint64_t off = 0;

			if (!p)
				p = jp_readcache_fill(&d->cache, d->pid, a, want, &got);
			if (got > 0)
				for (; off + d->pagesz <= (uint64_t)got; off += d->pagesz) {
					uint32_t first, count;

					jp_desc_overlap(r, a + off, a + off + d->pagesz, &first, &count);
					if (count || !uniform_page(p + off, d->pagesz))
						out = add_range(d->out, out, a + off, a + off + d->pagesz);
				}
			/* Unreadable rest: keep it, the reader decides. */
			if (off < want && (got <= 0 || (uint64_t)got < want)) {
				out = add_range(d->out, out, a + off, in[k].end);
				break;
			}
			a += want;
		}
	}
	return out;
}

static size_t collect(struct jp_dirty *d, struct jp_region *r, uint64_t lo, uint64_t hi);

static int prot_cb(const struct jp_map *m, void *arg)
{
	*(int *)arg = m->prot;
	return 1;
}

/* A private file mapping toggled by calls no hook saw (raw system calls):
 * perf keeps the kernel's event for each exec grant of a file mapping, and
 * it hides the LOADs made before.  Pages written while the kernel last
 * showed the mapping read-only, or a protection other than last time's,
 * mean such a grant happened since: r->regrant asks for every piece anew
 * (what ran between the grant and this pass stays unnamed). */
static void regrant_check(struct jp_dirty *d, struct jp_region *r, size_t n)
{
	int prot = 0;

	jp_readcache_reset(&d->cache); /* buf gets the maps text */
	if (jp_maps_each(r->start, r->start + 1, (char *)d->buf, d->buf_len, prot_cb, &prot) < 0)
		return;
	r->regrant = !r->vouched && r->kprot && (prot != r->kprot || (n && !(prot & PROT_WRITE)));
	r->kprot = (uint8_t)prot;
}

size_t jp_dirty_collect(struct jp_dirty *d, struct jp_region *r)
{
	return jp_dirty_collect_in(d, r, r->start, r->end);
}

size_t jp_dirty_collect_in(struct jp_dirty *d, struct jp_region *r, uint64_t lo, uint64_t hi)
{
	size_t n;

	jp_readcache_reset(&d->cache); /* buf may have been used since */
	n = collect(d, r, lo, hi);

	if (r->kind == JP_RK_FPRIV && !r->dead)
		regrant_check(d, r, n);
	jp_pace_looked(&r->pace, n);
	return n ? drop_uniform(d, r, n) : 0;
}

int jp_dirty_due(struct jp_region *r)
{
	/* Only hashed memory is looked at less often: its look is the dear
	 * one, and its code is seldom replaced (BEAM's code view).  Under
	 * write tracking code replaced in place must be dated within an epoch
	 * (a runtime reusing a function's address: tests/e2e/runtime_late_map),
	 * and a file's private view is where exec grants no hook saw are
	 * found.  A full read pending, or never looked at: now. */
	if (r->track != JP_RT_HASH || r->kind == JP_RK_FPRIV || r->needs_full || !r->last_scan_ts) {
		r->pace.skipped = 0;
		return 1;
	}
	return jp_pace_due(&r->pace, 1);
}

static size_t collect(struct jp_dirty *d, struct jp_region *r, uint64_t lo, uint64_t hi)
{
	size_t n;

	if (r->needs_full) {
		if (d->arm_suspended && r->track == JP_RT_NONE)
			return code_pages(d, r, r->start, r->end); /* armed after the call */
		/* Arm first, then read: a store after arming is seen next time. */
		r->needs_full = 0;
		jp_dirty_arm(d, r);
		if (r->track == JP_RT_HASH)
			return hashed_dirty(d, r, 1, r->start, r->end);
		/* Registered unarmed: its scan reports every written page. */
		if (r->kind != JP_RK_FPRIV)
			return resident_ranges(d, r->start, r->end);
	}
	if (r->track == JP_RT_WP) {
		int k = (r->kind == JP_RK_FPRIV ? jp_wtrack_scan_anon : jp_wtrack_scan)(
			d->wt, lo > r->start ? lo : r->start, hi < r->end ? hi : r->end, d->out, JP_DIRTY_MAX, NULL);

		if (k >= 0)
			return (size_t)k;
		/* The registration vanished: the memory was unmapped or
		 * replaced behind our back (glibc's free, a raw system call),
		 * or moved.  Describe nothing until the kernel confirms it is
		 * still executable; then track it afresh. */
		if (!region_still_exec(d, r)) {
			r->dead = 1;
			return 0;
		}
		jp_debug("write tracking of %#lx-%#lx lost (%s); tracking it again", (unsigned long)r->start,
			 (unsigned long)r->end, jp_strerror(k));
		r->track = JP_RT_NONE;
		r->needs_full = 1;
		return collect(d, r, lo, hi);
	}
	n = hashed_dirty(d, r, 0, lo, hi);
	/* Hashing cannot tell a vanished mapping from changed code, unless a
	 * hook has just seen the program make it executable. */
	if (n && !r->vouched && !region_still_exec(d, r)) {
		r->dead = 1;
		return 0;
	}
	return n;
}

/* Can b, right after a, be read as part of a?  The same kind of private
 * memory from the same creator, executable, tracked the same way with
 * nothing pending (no full read); page hashes, where there are any, of
 * every page. */
static int joinable(const struct jp_dirty *d, const struct jp_region *a, const struct jp_region *b)
{
	return a->end == b->start && a->kind == JP_RK_ANON && b->kind == JP_RK_ANON && a->creator == b->creator &&
	       a->exec && b->exec && a->writable == b->writable && a->track == b->track && a->track != JP_RT_NONE &&
	       !a->needs_full && !b->needs_full && !a->dead && !b->dead &&
	       (!a->phash || a->npages == (a->end - a->start) / d->pagesz) &&
	       (!b->phash || b->npages == (b->end - b->start) / d->pagesz);
}

void jp_dirty_join(struct jp_dirty *d, struct jp_regions *t, uint64_t start, uint64_t end)
{
	size_t i = jp_regions_lower(t, start);

	if (i > 0)
		i--;
	while (i + 1 < t->n && t->r[i].end <= end) {
		const struct jp_region *a = &t->r[i], *b = &t->r[i + 1];
		/* What lies outside [start, end) must be unchanged since its
		 * last pass, so the grant's pass may read [start, end) only. */
		int ok = t->r[i].end >= start && joinable(d, a, b) && (a->start >= start || jp_dirty_frozen(a)) &&
			 (b->end <= end || jp_dirty_frozen(b));

		if (!ok || jp_regions_join(t, i) < 0)
			i++;
	}
}
