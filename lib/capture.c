/* capture.c - when and what to snapshot: regions, dirty pages, pieces, LOADs. */
#include "capture.h"
#include "arena.h"
#include "config.h"
#include "jitdump.h"
#include "log.h"
#include "maps.h"
#include "perfmap_write.h"
#include "describe.h"
#include "region.h"
#include "str.h"
#include "sys.h"
#include "wtrack.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "insn.h"

__thread int jp_guard __attribute__((tls_model("initial-exec")));
uint64_t jp_tracked_lo, jp_tracked_hi;
struct jp_pub jp_pub;
/* seq 1 is odd, never a published version: nothing cached yet. */
__thread struct jp_pub_gap jp_pub_gap __attribute__((tls_model("initial-exec"))) = { 1, 0, 0 };

#define CHUNK (1u << 20)      /* bytes read per step of a capture */
#define MAX_DIRTY 512         /* dirty ranges handled per region pass */
#define MAX_PIECES 8192       /* pieces per chunk */
#define EPOCH_STACK (256u << 10)

enum { ST_UNINIT = 0, ST_INITIALIZING, ST_ACTIVE, ST_OFF };
enum { DUMP_NONE = 0, DUMP_OPEN, DUMP_FAILED };

static struct engine {
	pthread_mutex_t lock;
	int state;
	struct jp_config cfg;
	uint64_t pagesz;
	pid_t pid;
	int child_pending;  /* fork child that has not touched JIT memory yet */
	int grant_prot;     /* protection of the exec grant being recorded */
	volatile int *wipe; /* MADV_WIPEONFORK page holding 1; 0 in any child */
	int dump_state;
	struct jp_dump dump;
	int pmap_state;
	struct jp_perfmap pmap;
	struct jp_wtrack wt;
	struct jp_regions regs;
	int thread_state;   /* 0 none, 1 running, -1 failed */
	uint64_t thread_gen; /* bumped at fork and exit: a stale thread stops */
	uint8_t *scratch;
	struct jp_range *dirty;
	struct jp_range *resident; /* hashing: resident runs before hashing */
	struct jp_span_piece *pieces;
	struct jp_desc *nd;
	unsigned char *mvec;
	struct jp_capture_stats st;
} E = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t page_down(uint64_t a)
{
	return a & ~(E.pagesz - 1);
}

static uint64_t page_up(uint64_t a)
{
	return (a + E.pagesz - 1) & ~(E.pagesz - 1);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	return jp_hash(p, n); /* never 0: 0 means "never seen" in page-hash arrays */
}

/* Rewrite the published interval table (seqlock writer; E.lock held). */
static void publish_intervals(void)
{
	uint64_t seq = __atomic_load_n(&jp_pub.seq, __ATOMIC_RELAXED), n = 0;

	/* Release stores (plain moves on x86-64) order the odd seq before the
	 * table and the table before the even seq. */
	__atomic_store_n(&jp_pub.seq, seq + 1, __ATOMIC_RELEASE);
	for (size_t i = 0; i < E.regs.n; i++) {
		uint64_t s = E.regs.r[i].start, e = E.regs.r[i].end;

		if (n && s <= jp_pub.end[n - 1]) {
			/* Touching or overlapping the previous: one interval. */
			if (e > jp_pub.end[n - 1])
				__atomic_store_n(&jp_pub.end[n - 1], e, __ATOMIC_RELEASE);
		} else if (n == JP_PUB_MAX) {
			/* Full: the last interval grows over the rest. */
			__atomic_store_n(&jp_pub.end[n - 1], E.regs.r[E.regs.n - 1].end, __ATOMIC_RELEASE);
			break;
		} else {
			__atomic_store_n(&jp_pub.start[n], s, __ATOMIC_RELEASE);
			__atomic_store_n(&jp_pub.end[n], e, __ATOMIC_RELEASE);
			n++;
		}
	}
	__atomic_store_n(&jp_pub.n, n, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_pub.seq, seq + 2, __ATOMIC_RELEASE);
}

static void update_bounds(void)
{
	uint64_t lo, hi;

	publish_intervals();
	jp_regions_bounds(&E.regs, &lo, &hi);
	/* Publish hi before lo grows and lo before hi shrinks: a racing fast
	 * path may see a wider window than real (harmless, it takes the slow
	 * path), never a narrower one. */
	__atomic_store_n(&jp_tracked_hi, hi > jp_tracked_hi ? hi : jp_tracked_hi, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_tracked_lo, lo, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_tracked_hi, hi, __ATOMIC_RELEASE);
	E.st.regions = E.regs.n;
}

/* Turn jitperf off for good after a failure that was already reported. */
static void turn_off(void)
{
	__atomic_store_n(&E.state, ST_OFF, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_tracked_lo, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&jp_tracked_hi, 0, __ATOMIC_RELEASE);
}

/* ---- initialisation ---------------------------------------------------- */

static int alloc_buffers(void)
{
	E.scratch = jp_sys_alloc(CHUNK);
	E.dirty = jp_sys_alloc(MAX_DIRTY * sizeof(*E.dirty));
	E.resident = jp_sys_alloc(MAX_DIRTY * sizeof(*E.resident));
	E.pieces = jp_sys_alloc(MAX_PIECES * sizeof(*E.pieces));
	E.nd = jp_sys_alloc(MAX_PIECES * sizeof(*E.nd));
	E.mvec = jp_sys_alloc(4096);
	return E.scratch && E.dirty && E.resident && E.pieces && E.nd && E.mvec ? 0 : -ENOMEM;
}

static void arm_wipe(void)
{
	int saved = errno;

	if (!E.wipe) {
		E.wipe = jp_sys_alloc(4096);
		/* Linux >= 4.14; elsewhere enter() asks getpid(). */
		if (E.wipe && syscall(SYS_madvise, (void *)E.wipe, 4096, 18 /* MADV_WIPEONFORK */) != 0) {
			jp_sys_free((void *)E.wipe, 4096);
			E.wipe = NULL;
		}
	}
	if (E.wipe)
		*E.wipe = 1;
	errno = saved;
}

int jp_capture_init(void)
{
	int s = __atomic_load_n(&E.state, __ATOMIC_ACQUIRE);
	int expect = ST_UNINIT;
	long pg;

	if (s == ST_ACTIVE)
		return 1;
	if (s != ST_UNINIT)
		return 0;
	/* Set before initialising (libfaketime's habit): memory calls made
	 * while we initialise see "initialising" and pass through. */
	if (!__atomic_compare_exchange_n(&E.state, &expect, ST_INITIALIZING, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return __atomic_load_n(&E.state, __ATOMIC_ACQUIRE) == ST_ACTIVE;
	jp_config_load(&E.cfg, NULL);
	jp_hash_init();
	pg = sysconf(_SC_PAGESIZE);
	E.pagesz = pg > 0 ? (uint64_t)pg : 4096;
	E.pid = jp_sys_getpid();
	E.wt.uffd = E.wt.pagemap = -1;
	if (!E.cfg.enabled) {
		turn_off();
		return 0;
	}
	arm_wipe();
	if (alloc_buffers() < 0) {
		jp_err("cannot allocate %u KiB of working memory; jitperf is off", CHUNK >> 10);
		turn_off();
		return 0;
	}
	__atomic_store_n(&E.state, ST_ACTIVE, __ATOMIC_RELEASE);
	return 1;
}

int jp_capture_active(void)
{
	return __atomic_load_n(&E.state, __ATOMIC_ACQUIRE) == ST_ACTIVE;
}

static void become_child(void);
static void release_registrations(void);
static void release_range(uint64_t start, uint64_t end);
/* Set while capturing before a call that needs no registration in place
 * (mprotect(PROT_GROWSDOWN)): read, but do not arm yet. */
static int arm_suspended;
static void wtrack_lost(void);

/* Depth of jp_capture_hold() on this thread: the hooks hold the engine lock
 * across the real call, and the entry points they call inside must not
 * take it again. */
static __thread int held __attribute__((tls_model("initial-exec")));
static __thread int held_cancel __attribute__((tls_model("initial-exec")));

/* Take the engine lock; 0 when the engine is not active. */
static int enter(void)
{
	if (held)
		return E.state == ST_ACTIVE;
	if (__atomic_load_n(&E.state, __ATOMIC_ACQUIRE) != ST_ACTIVE && !jp_capture_init())
		return 0;
	pthread_mutex_lock(&E.lock);
	if (E.state != ST_ACTIVE) {
		pthread_mutex_unlock(&E.lock);
		return 0;
	}
	/* A child made by a raw clone() ran no atfork handler: it must not
	 * write into its parent's dump.  The kernel zeroes the wipe-on-fork
	 * page in every child, so one load tells, without a getpid() call
	 * on every slow path. */
	if (E.wipe ? __atomic_load_n(E.wipe, __ATOMIC_RELAXED) != 1 : jp_sys_getpid() != E.pid)
		become_child();
	/* The program may have closed our descriptors and reused the numbers. */
	if (E.wt.state == 1 && !jp_wtrack_check(&E.wt))
		wtrack_lost();
	return 1;
}

static void leave(void)
{
	if (!held)
		pthread_mutex_unlock(&E.lock);
}

int jp_capture_hold(void)
{
	int old;

	/* A cancellation point inside jitperf (write, open, nanosleep) must
	 * not unwind the thread while it holds the engine lock. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	if (held || !enter()) {
		pthread_setcancelstate(old, NULL);
		return 0;
	}
	held = 1;
	held_cancel = old;
	return 1;
}

void jp_capture_release(int h)
{
	if (!h)
		return;
	held = 0;
	pthread_mutex_unlock(&E.lock);
	pthread_setcancelstate(held_cancel, NULL);
}

/* ---- output ------------------------------------------------------------- */

static int ensure_output(void)
{
	if (E.dump_state == DUMP_NONE) {
		if (!E.cfg.jitdump) {
			E.dump_state = DUMP_FAILED;
		} else if (jp_dump_open(&E.dump, E.cfg.dir, E.pid) == 0) {
			E.dump_state = DUMP_OPEN;
		} else {
			/* jp_dump_open said why. */
			E.dump_state = DUMP_FAILED;
			if (!E.cfg.perfmap) {
				turn_off();
				return -EIO;
			}
		}
		if (E.cfg.perfmap)
			E.pmap_state = jp_perfmap_open(&E.pmap, E.cfg.perfmap_dir, E.pid) == 0 ? DUMP_OPEN : DUMP_FAILED;
	}
	if (E.dump_state == DUMP_OPEN && !jp_dump_ok(&E.dump)) {
		/* The writer reported the failure; nothing else to do. */
		E.dump_state = DUMP_FAILED;
		if (E.pmap_state != DUMP_OPEN) {
			turn_off();
			return -EIO;
		}
	}
	return E.dump_state == DUMP_OPEN || E.pmap_state == DUMP_OPEN ? 0 : -EIO;
}

static void flush_output(void)
{
	if (E.dump_state == DUMP_OPEN && jp_dump_flush(&E.dump) < 0)
		ensure_output();
}

/* In a hook: leave the records batched for the epoch thread, which writes
 * them within one epoch (a write and a descriptor check per hook were an
 * eighth of a W^X toggle's cost).  Without a capture thread, write now. */
static void hook_flush(void)
{
	if (E.thread_state != 1)
		flush_output();
}

/* The earliest time a LOAD may carry: perf drops it behind a kernel mmap
 * event it keeps if it is older, and cannot place it before the marker. */
static uint64_t floor_ts(const struct jp_region *r)
{
	uint64_t t = r->last_event_ts;

	if (E.dump_state == DUMP_OPEN && E.dump.open_ts > t)
		t = E.dump.open_ts;
	return t + 1;
}

static uint64_t emit_load(struct jp_region *r, uint64_t addr, const struct jp_span_piece *p, const uint8_t *bytes,
			  uint64_t ts, int unwind, uint64_t *fp, uint64_t *shape)
{
	char name[256];
	uint64_t index = JP_NO_INDEX;
	uint32_t nhash;
	struct jp_code c;

	if (ensure_output() < 0)
		return JP_NO_INDEX;
	jp_describe_name(name, sizeof(name), (uint32_t)r->creator, p, bytes, addr, &nhash, fp, shape);
	if (E.dump_state == DUMP_OPEN) {
		memset(&c, 0, sizeof(c));
		c.addr = addr;
		c.code = bytes;
		c.size = p->len;
		c.name = name;
		c.timestamp = ts;
		c.unwind = unwind;
		if (jp_dump_load(&E.dump, &c, &index) < 0)
			index = JP_NO_INDEX;
	}
	if (E.pmap_state == DUMP_OPEN) {
		jp_perfmap_add(&E.pmap, addr, p->len, name);
		if (index == JP_NO_INDEX)
			index = 0; /* described through the map */
	}
	if (index != JP_NO_INDEX) {
		E.st.loads++;
		E.st.load_bytes += p->len;
	}
	return index;
}

static void emit_move(uint64_t index, uint64_t addr, uint64_t new_addr, uint32_t len, uint64_t ts)
{
	if (E.dump_state != DUMP_OPEN || index == JP_NO_INDEX)
		return;
	if (jp_dump_move(&E.dump, index, addr, new_addr, len, ts) == 0)
		E.st.moves++;
}

/* ---- dirty pages ------------------------------------------------------- */

static void report_wtrack_once(void)
{
	static int said;

	if (said++)
		return;
	if (E.cfg.track == JP_TRACK_WP)
		jp_err("kernel write tracking unavailable (%s: %s); hashing resident pages instead", E.wt.why,
		       jp_strerror(E.wt.err));
	else
		jp_info("kernel write tracking unavailable (%s: %s); hashing resident pages instead", E.wt.why,
			jp_strerror(E.wt.err));
}

/* Our write-tracking descriptors are gone (the program closed them): every
 * region falls back to hashing, read whole once. */
static void wtrack_lost(void)
{
	report_wtrack_once();
	for (size_t i = 0; i < E.regs.n; i++) {
		if (E.regs.r[i].track == JP_RT_WP) {
			E.regs.r[i].track = JP_RT_NONE;
			E.regs.r[i].needs_full = 1;
		}
	}
}

/* Is [r->start, r->end) still executable memory of the kind we track?
 * Memory can vanish behind our back: glibc's free() and raw system calls
 * unmap without a hook, and the address may then hold the program's data. */
struct verify_ctx {
	uint64_t next;
	int ok;
};

static int verify_cb(const struct jp_map *m, void *arg)
{
	struct verify_ctx *v = arg;

	if (m->start > v->next || !(m->prot & PROT_EXEC) || m->cls == JP_MAP_FILE || m->cls == JP_MAP_SPECIAL) {
		v->ok = 0;
		return 1;
	}
	v->next = m->end;
	return 0;
}

static int region_still_exec(const struct jp_region *r)
{
	struct verify_ctx v = { r->start, 1 };

	if (jp_maps_each(r->start, r->end, (char *)E.scratch, CHUNK, verify_cb, &v) < 0)
		return 1; /* cannot tell: keep it */
	return v.ok && v.next >= r->end;
}

/* Start change tracking for a region: kernel write tracking when it can
 * see the writes (the executable view is the written one), else hashing. */
static void arm_region(struct jp_region *r)
{
	if (r->track != JP_RT_NONE)
		return;
	/* Kernel write tracking only where code appears with no call at all
	 * (writable and executable).  W^X memory announces every change with
	 * an exec grant; its page hashes survive the non-executable phase, and
	 * not registering it leaves the program's mappings exactly as they
	 * would be (a registered mapping never merges with its neighbours). */
	if (E.cfg.track != JP_TRACK_HASH && r->kind != JP_RK_FILE && r->writable) {
		if (jp_wtrack_init(&E.wt) < 0) {
			report_wtrack_once();
		} else if ((r->kind != JP_RK_SHMEM || E.wt.shmem_ok) && jp_wtrack_add(&E.wt, r->start, r->end) == 0) {
			r->track = JP_RT_WP;
			E.st.wp_regions++;
			return;
		}
	}
	r->track = JP_RT_HASH;
	E.st.hash_regions++;
}

static size_t add_dirty(size_t n, uint64_t a, uint64_t b)
{
	if (n && E.dirty[n - 1].end == a) {
		E.dirty[n - 1].end = b;
		return n;
	}
	if (n >= MAX_DIRTY) {
		/* Too fragmented: widen the last range (reads more, loses nothing). */
		E.dirty[n - 1].end = b;
		return n;
	}
	E.dirty[n].start = a;
	E.dirty[n].end = b;
	return n + 1;
}

/* Resident pages of [start, end) as dirty ranges. */
static size_t resident_ranges(uint64_t start, uint64_t end, size_t n)
{
	const uint64_t step = 4096 * E.pagesz;

	for (uint64_t a = start; a < end; a += step) {
		uint64_t b = end - a < step ? end : a + step;
		size_t pages = (size_t)((b - a) / E.pagesz);

		if (mincore((void *)a, b - a, E.mvec) < 0) {
			/* ENOMEM: part of it is unmapped (raced); skip it. */
			continue;
		}
		for (size_t i = 0; i < pages; i++)
			if (E.mvec[i] & 1)
				n = add_dirty(n, a + i * E.pagesz, a + (i + 1) * E.pagesz);
	}
	return n;
}

/* Hashing fallback: resident pages whose hash changed since last time. */
static size_t hashed_dirty(struct jp_region *r, int all)
{
	size_t m = resident_ranges(r->start, r->end, 0);
	size_t out = 0;
	struct jp_range *res = E.resident;

	if (jp_region_phash(r, E.pagesz) < 0)
		all = 1;
	memcpy(res, E.dirty, m * sizeof(*res));
	for (size_t k = 0; k < m; k++) {
		for (uint64_t a = res[k].start; a < res[k].end;) {
			uint64_t want = res[k].end - a < CHUNK ? res[k].end - a : CHUNK;
			ssize_t got = jp_safe_copy_self(E.pid, E.scratch, (void *)a, want);

			if (got <= 0)
				break;
			for (uint64_t off = 0; off + E.pagesz <= (uint64_t)got; off += E.pagesz) {
				uint64_t h = hash_bytes(E.scratch + off, E.pagesz);
				uint64_t pi = (a + off - r->start) / E.pagesz;

				if (all || !r->phash || r->phash[pi] != h) {
					if (r->phash)
						r->phash[pi] = h;
					out = add_dirty(out, a + off, a + off + E.pagesz);
				}
			}
			a += (uint64_t)got;
			if ((uint64_t)got < want)
				break;
		}
	}
	return out;
}

static size_t collect_dirty(struct jp_region *r)
{
	size_t n;

	if (r->needs_full) {
		if (arm_suspended && r->track == JP_RT_NONE)
			return resident_ranges(r->start, r->end, 0); /* armed after the call */
		/* Arm first, then read: a store after arming is seen next time. */
		r->needs_full = 0;
		arm_region(r);
		if (r->track == JP_RT_HASH)
			return hashed_dirty(r, 1);
		return resident_ranges(r->start, r->end, 0);
	}
	if (r->track == JP_RT_WP) {
		int k = jp_wtrack_scan(&E.wt, r->start, r->end, E.dirty, MAX_DIRTY, NULL);

		if (k >= 0)
			return (size_t)k;
		/* The registration vanished: the memory was unmapped or
		 * replaced behind our back (glibc's free, a raw system call),
		 * or moved.  Describe nothing until the kernel confirms it is
		 * still executable; then track it afresh. */
		if (!region_still_exec(r)) {
			r->dead = 1;
			return 0;
		}
		jp_debug("write tracking of %#lx-%#lx lost (%s); tracking it again", (unsigned long)r->start,
			 (unsigned long)r->end, jp_strerror(k));
		r->track = JP_RT_NONE;
		r->needs_full = 1;
		return collect_dirty(r);
	}
	n = hashed_dirty(r, 0);
	/* Hashing cannot tell a vanished mapping from changed code, unless a
	 * hook has just seen the program make it executable. */
	if (n && !r->vouched && !region_still_exec(r)) {
		r->dead = 1;
		return 0;
	}
	return n;
}

/* ---- pieces ------------------------------------------------------------ */

static int unwind_for(const struct jp_span_piece *p)
{
	/* A real FDE only where the piece starts with the frame-pointer
	 * prologue it describes and perf's mapping of the unwinding data
	 * (after the 8-aligned code) cannot cover the next piece. */
	if (E.cfg.unwind == JP_UNWIND_MODE_EMPTY || !(p->flags & JP_SPAN_FDE_FITS))
		return JP_UNWIND_EMPTY;
	return JP_UNWIND_FP_FDE;
}

/* Split E.scratch[from, to) into E.pieces starting at index at; returns the
 * number of pieces added (offsets relative to the start of E.scratch). */
static size_t split_gap(size_t from, size_t to, uint64_t a, size_t at)
{
	size_t n = jp_describe_split(E.scratch + from, to - from, a + from, E.pieces + at, MAX_PIECES - at);

	for (size_t k = at; k < at + n; k++)
		E.pieces[k].off += from;
	return n;
}

/* Remember the hash of a piece's bytes after its first instruction, to
 * recognise it when only that instruction is overwritten. */
/* A changed piece is worth decoding again (is it the same code patched?)
 * only when its first bytes are what they were: code written over old
 * code (a ring of functions, a code GC) skips the decode. */
#define JP_HEAD_BYTES 8u

/* The rest of a piece whose first instruction was overwritten keeps its
 * LOAD and is never named again, so its fingerprint is not worth
 * computing (most of the cost of LuaJIT's trace linking was that): its
 * shape alone is what a later patch is compared with.  Any nonzero fp
 * marks a piece that may be patched in place; this one says "by shape". */
#define FP_BY_SHAPE 1u

static void set_tail(struct jp_desc *d, const uint8_t *bytes)
{
	struct jp_insn in;
	unsigned l = jp_insn_decode_fast(bytes, d->len, &in);

	if (!l)
		l = 1;
	d->tail_off = l < d->len ? l : 0;
	d->tail_hash = d->tail_off ? hash_bytes(bytes + l, d->len - l) : 0;
	d->head_len = d->len < JP_HEAD_BYTES ? d->len : JP_HEAD_BYTES;
	d->head_hash = hash_bytes(bytes, d->head_len);
}

/* Split a fresh copy of [a, a+len) (in E.scratch) into E.pieces, keeping
 * pieces already described whose bytes did not change as they are: only the
 * code between them is split again.  A JIT that appends code right after
 * earlier code (LuaJIT's traces sit back to back) then gets one LOAD per new
 * piece instead of a growing block re-emitted on every change.  A piece
 * patched in place keeps its extent too, when its fingerprint (which leaves
 * out branch targets outside it and pointers) is what it was: LuaJIT links
 * a new trace by rewriting its parent's exit branch. */
static size_t split_around_described(const struct jp_region *r, uint64_t a, size_t len)
{
	uint32_t f, c;
	size_t np = 0, cur = 0;

	jp_desc_overlap(r, a, a + len, &f, &c);
	for (uint32_t j = f; j < f + c && np < MAX_PIECES; j++) {
		const struct jp_desc *o = &r->d[j];
		uint64_t off = o->addr - a;

		unsigned same_fp = 0;

		if (o->addr < a || off + o->len > len || o->nhash || o->index == JP_NO_INDEX ||
		    jp_describe_known_overlap(o->addr, o->len))
			continue;
		if (hash_bytes(E.scratch + off, o->len) != o->hash) {
			struct jp_span_piece t = { 0 };
			uint64_t fp = 0, shape = 0;

			t.off = off;
			t.len = o->len;
			/* Patched in place?  The shape (branch targets left
			 * out) tells most patches cheaply; the fingerprint the
			 * rest (pointers changed). */
			if (o->fp && o->head_len && hash_bytes(E.scratch + off, o->head_len) == o->head_hash) {
				shape = jp_describe_shape(&t, E.scratch + off);
				if (shape != o->shape && o->fp != FP_BY_SHAPE)
					fp = jp_describe_fingerprint(&t, E.scratch + off, o->addr, &shape);
			}
			if (o->fp && (shape == o->shape || (o->fp != FP_BY_SHAPE && fp == o->fp))) {
				same_fp = JP_SPAN_SAME_FP;
			} else if (o->tail_off && o->tail_off < o->len &&
				   hash_bytes(E.scratch + off + o->tail_off, o->len - o->tail_off) == o->tail_hash) {
				/* Only its first instruction changed: it began with
				 * stale bytes that code written before it has now
				 * overwritten (LuaJIT writes traces downwards, back
				 * to back).  Keep the rest as a piece of its own
				 * rather than merging it into the new code. */
				off += o->tail_off;
				if (off > cur)
					np += split_gap(cur, (size_t)off, a, np);
				if (np >= MAX_PIECES)
					break;
				E.pieces[np].off = off;
				E.pieces[np].len = o->len - o->tail_off;
				E.pieces[np].flags = JP_SPAN_TRIMMED;
				E.pieces[np].gap_after = 0;
				E.pieces[np].known = 0;
				np++;
				cur = (size_t)(o->addr - a + o->len);
				continue;
			} else {
				continue;
			}
		}
		if (off > cur)
			np += split_gap(cur, (size_t)off, a, np);
		if (np >= MAX_PIECES)
			break;
		E.pieces[np].off = off;
		E.pieces[np].len = o->len;
		E.pieces[np].flags = ((o->flags & JP_DESC_FDE) ? JP_SPAN_FDE_FITS : 0) | same_fp;
		E.pieces[np].gap_after = 0;
		E.pieces[np].known = 0;
		np++;
		cur = (size_t)(off + o->len);
	}
	if (cur < len && np < MAX_PIECES)
		np += split_gap(cur, len, a, np);
	return np;
}

/* Re-split [a, b) of region r from a fresh copy and describe what changed.
 *
 * Dating: a piece whose bytes are all new (nothing described overlapped it)
 * gets ts_new, just after the previous pass: it cannot have run before it
 * was written, so the samples taken before this pass found it are named.  A
 * piece over described code whose bytes did not change (a neighbour was
 * appended, a runtime published a better name) is dated just after the
 * description it supersedes, so all its samples carry one name.  A piece
 * that replaces changed code is dated now. */
static void describe_span(struct jp_region *r, uint64_t a, uint64_t b, uint64_t now, uint64_t ts_new)
{
	uint32_t f, c;

	/* A piece crossing either end is re-split whole. */
	jp_desc_overlap(r, a, a + 1, &f, &c);
	if (c && r->d[f].addr < a)
		a = r->d[f].addr;
	jp_desc_overlap(r, b - 1, b, &f, &c);
	if (c && r->d[f].addr + r->d[f].len > b)
		b = r->d[f].addr + r->d[f].len;
	if (b > r->end)
		b = r->end;

	while (a < b) {
		uint64_t want = b - a < CHUNK ? b - a : CHUNK, span;
		ssize_t got = jp_safe_copy_self(E.pid, E.scratch, (void *)a, want);
		size_t np, k;
		uint32_t nn = 0, oi;

		if (got <= 0)
			break; /* unmapped under us: nothing left to describe */
		jp_describe_buffer(E.scratch, (size_t)got);
		np = split_around_described(r, a, (size_t)got);
		span = (uint64_t)got;
		/* A piece touching the end of a full chunk may continue in the
		 * next one: leave it to the next step. */
		if ((uint64_t)got == want && a + want < b && np > 1 &&
		    E.pieces[np - 1].off + E.pieces[np - 1].len == (uint64_t)got) {
			span = E.pieces[np - 1].off;
			np--;
		}
		jp_desc_overlap(r, a, a + span, &f, &c);
		oi = f;
		for (k = 0; k < np && nn < MAX_PIECES; k++) {
			const struct jp_span_piece *p = &E.pieces[k];
			uint64_t pa = a + p->off, h = hash_bytes(E.scratch + p->off, p->len);
			uint32_t nh = jp_describe_known_hash(p);
			struct jp_desc *old = NULL;
			uint64_t supersedes = 0;
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
				if ((p->flags & JP_SPAN_TRIMMED) && o->addr < pa && o->addr + o->len == pa + p->len &&
				    o->index != JP_NO_INDEX && !o->nhash)
					old = &r->d[j];
				if (o->addr < a || o->addr + o->len > a + span ||
				    hash_bytes(E.scratch + (o->addr - a), o->len) != o->hash)
					replaced = 1;
				else if (o->index != JP_NO_INDEX && o->ts > supersedes)
					supersedes = o->ts;
			}
			/* Data between code (allocator headers): never executed,
			 * so not worth a LOAD perf inject must process. */
			if (p->flags & JP_SPAN_DATA)
				continue;
			/* What is kept (index, flags, date, fingerprints) comes
			 * from the description it replaces. */
			if (old)
				E.nd[nn] = *old;
			else
				memset(&E.nd[nn], 0, sizeof(E.nd[nn]));
			E.nd[nn].addr = pa;
			E.nd[nn].len = p->len;
			E.nd[nn].hash = h;
			E.nd[nn].nhash = nh;
			if (old && old->hash == h && old->nhash == nh && old->index != JP_NO_INDEX) {
				/* unchanged */
			} else if (old && old->index != JP_NO_INDEX && !nh && !old->nhash &&
				   (p->flags & (JP_SPAN_SAME_FP | JP_SPAN_TRIMMED))) {
				/* Patched in place (a branch to other code, a
				 * pointer): same extent, same name.  The LOAD perf
				 * has still names every sample right; a new one
				 * would only refresh the bytes perf annotate shows
				 * (LuaJIT links traces so, most of its LOADs were
				 * such repeats). */
				E.st.patched++;
				/* What the next patch is compared with is the piece
				 * as it now stands. */
				if (p->flags & JP_SPAN_TRIMMED) {
					E.nd[nn].fp = FP_BY_SHAPE;
					E.nd[nn].shape = jp_describe_shape(p, E.scratch + p->off);
				}
				set_tail(&E.nd[nn], E.scratch + p->off);
			} else {
				int uw = unwind_for(p);
				uint64_t ts = replaced ? now : supersedes ? supersedes + 1 : ts_new;

				if (ts > now)
					ts = now;
				E.nd[nn].index = emit_load(r, pa, p, E.scratch + p->off, ts, uw, &E.nd[nn].fp,
							   &E.nd[nn].shape);
				set_tail(&E.nd[nn], E.scratch + p->off);
				E.nd[nn].flags = uw == JP_UNWIND_FP_FDE ? JP_DESC_FDE : 0;
				E.nd[nn].ts = ts;
			}
			nn++;
		}
		if (jp_desc_replace(r, f, c, E.nd, nn) < 0)
			jp_debug("out of memory for piece table; pieces will be described again");
		a += span;
	}
	jp_describe_buffer(NULL, 0);
}

/* One capture pass over region i. */
static void capture_region(size_t i, uint64_t now, int reannounce)
{
	struct jp_region *r = &E.regs.r[i];
	uint64_t ts_new = floor_ts(r);
	uint64_t t0 = jp_now_ns();
	size_t n;

	/* The caller's clock may predate the marker (the dump can be opened
	 * during this very call): nothing may be dated before the floor. */
	if (now < ts_new)
		now = ts_new;
	if (r->last_scan_ts >= ts_new)
		ts_new = r->last_scan_ts + 1;
	if (ts_new > now)
		ts_new = now;
	n = collect_dirty(r);
	E.st.captures++;
	jp_describe_pass();
	for (size_t k = 0; k < n; k++) {
		E.st.dirty_pages += (E.dirty[k].end - E.dirty[k].start) / E.pagesz;
		/* E.dirty is reused by nested calls: copy the bounds. */
		uint64_t a = E.dirty[k].start, b = E.dirty[k].end;

		describe_span(r, a, b, now, ts_new);
	}
	if (reannounce) {
		/* perf keeps the kernel event that made [heap] or a file view
		 * executable again, and it hides what we described: announce
		 * the unchanged pieces anew. */
		for (uint32_t k = 0; k < r->nd; k++)
			emit_move(r->d[k].index, r->d[k].addr, r->d[k].addr, r->d[k].len, now);
	}
	r->last_scan_ts = jp_now_ns();
	E.st.capture_ns += r->last_scan_ts - t0;
}

/* Forget regions found to be gone (unmapped without a hook). */
static void sweep_dead(void)
{
	for (size_t i = 0; i < E.regs.n;) {
		if (E.regs.r[i].dead) {
			jp_regions_delete(&E.regs, i);
		} else {
			i++;
		}
	}
	update_bounds();
}

/* Private memory that is executable but not writable cannot change until
 * the program makes it writable (a hook sees that) or maps over it: once
 * read after its exec grant, there is nothing to look at.  W^X engines
 * (LuaJIT, JVMs) keep most code so: epoch passes and the capture before a
 * toggle skip it instead of hashing every page again.  Not for views that
 * another mapping writes (memfd, shared memory, file), nor for RWX. */
static int frozen(const struct jp_region *r)
{
	return r->exec && !r->writable && r->track == JP_RT_HASH && !r->needs_full && r->last_scan_ts &&
	       (r->kind == JP_RK_ANON || r->kind == JP_RK_HEAP);
}

static void capture_range(uint64_t start, uint64_t end, int only_exec)
{
	uint64_t now = jp_now_ns();
	int dead = 0;

	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		if (frozen(&E.regs.r[i]))
			continue;
		if (!only_exec || E.regs.r[i].exec)
			capture_region(i, now, 0);
		dead |= E.regs.r[i].dead;
	}
	if (dead)
		sweep_dead();
}

/* ---- the epoch thread ---------------------------------------------------- */

/* A range got a published name: describe it again (only pieces whose name
 * changed are announced anew). */
static void renamed(uint64_t start, uint64_t end, void *arg)
{
	uint64_t now = jp_now_ns();

	(void)arg;
	start = start & ~(E.pagesz - 1);
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		struct jp_region *r = &E.regs.r[i];
		uint64_t a = start > r->start ? start : r->start, b = end < r->end ? end : r->end;

		if (r->exec && a < b)
			describe_span(r, a, b, now, floor_ts(r));
	}
}

static void *epoch_main(void *arg)
{
	uint64_t gen = (uint64_t)(uintptr_t)arg;
	struct timespec ts;

	jp_guard = 1; /* our own memory calls pass through the hooks */
	pthread_setname_np(pthread_self(), "jitperf");
	for (;;) {
		ts.tv_sec = E.cfg.epoch_ms / 1000;
		ts.tv_nsec = (long)(E.cfg.epoch_ms % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&E.lock);
		if (E.state != ST_ACTIVE || E.thread_gen != gen) {
			pthread_mutex_unlock(&E.lock);
			break;
		}
		E.st.epochs++;
		/* Names the process publishes first, so new code is named by
		 * them in this very pass. */
		jp_describe_refresh_known(E.cfg.perfmap && strcmp(E.cfg.perfmap_dir, "/tmp") == 0, renamed, NULL);
		capture_range(0, UINT64_MAX, 1);
		flush_output();
		pthread_mutex_unlock(&E.lock);
	}
	return NULL;
}

static void ensure_thread(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int r;

	if (E.thread_state != 0 || E.cfg.epoch_ms == 0)
		return;
	/* The host's signals must never land on our thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, EPOCH_STACK);
	r = pthread_create(&th, &attr, epoch_main, (void *)(uintptr_t)E.thread_gen);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		E.thread_state = -1;
		jp_err("cannot start the capture thread (%s): code written into executable memory with no call is captured only when it is unmapped or at exit",
		       jp_strerror(r));
		return;
	}
	E.thread_state = 1;
}

/* ---- regions ------------------------------------------------------------- */

static int kind_of_fd(int fd, int flags)
{
	struct stat st;

	if (flags & MAP_ANONYMOUS || fd < 0)
		return (flags & MAP_SHARED) ? JP_RK_SHMEM : JP_RK_ANON;
	if (fstat(fd, &st) < 0)
		return -1;
	/* memfd (however it was created) and unlinked files have no name
	 * left: nothing else can describe their code.  Real files are
	 * symbolized by perf from the file itself. */
	if (S_ISREG(st.st_mode) && st.st_nlink == 0)
		return JP_RK_FILE;
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5)
		return (flags & MAP_SHARED) ? JP_RK_SHMEM : JP_RK_ANON; /* /dev/zero */
	return -1;
}

/* Track [start, end) as executable memory of kind; existing regions in it
 * are kept (their descriptions stay valid). */
static void track_range(uint64_t start, uint64_t end, int kind, uint64_t creator, uint64_t now, uint64_t file_off)
{
	uint64_t a = start;

	while (a < end) {
		size_t i = jp_regions_lower(&E.regs, a);
		uint64_t b = end;

		if (i < E.regs.n && E.regs.r[i].start <= a) {
			/* Already tracked: becomes executable again. */
			struct jp_region *r = &E.regs.r[i];

			r->exec = 1;
			r->writable = (E.grant_prot & PROT_WRITE) != 0;
			r->last_event_ts = now;
			a = r->end;
			continue;
		}
		if (i < E.regs.n && E.regs.r[i].start < b)
			b = E.regs.r[i].start;
		{
			long k = jp_regions_insert(&E.regs, a, b, kind);

			if (k < 0) {
				jp_err("out of memory for the region table; jitperf is off");
				turn_off();
				return;
			}
			E.regs.r[k].exec = 1;
			E.regs.r[k].writable = (E.grant_prot & PROT_WRITE) != 0;
			E.regs.r[k].creator = creator;
			E.regs.r[k].last_event_ts = now;
			E.regs.r[k].file_off = file_off + (a - start);
			E.st.regions_total++;
		}
		a = b;
	}
	update_bounds();
}

static void untrack_range(uint64_t start, uint64_t end)
{
	size_t i;

	if (jp_regions_split(&E.regs, start) < 0 || jp_regions_split(&E.regs, end) < 0) {
		/* Could not split: drop whole regions instead (they will be
		 * described again if they come back). */
	}
	i = jp_regions_lower(&E.regs, start);
	while (i < E.regs.n && E.regs.r[i].start < end) {
		if (E.regs.r[i].track == JP_RT_WP)
			jp_wtrack_remove(&E.wt, E.regs.r[i].start, E.regs.r[i].end);
		jp_regions_delete(&E.regs, i);
	}
	update_bounds();
}

/* Leave the "fork child, untouched" state: the child now has JIT activity
 * of its own, so it gets a dump and re-describes what it inherited. */
static void child_starts(void)
{
	if (!E.child_pending)
		return;
	E.child_pending = 0;
}

void jp_capture_mmap_done(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uint64_t start = (uint64_t)(uintptr_t)addr, end = start + page_up(len), now;
	int kind;

	if (!(prot & PROT_EXEC) || !enter())
		return;
	kind = kind_of_fd(fd, flags);
	if (kind >= 0) {
		child_starts();
		now = jp_now_ns();
		/* Open the dump (and its marker) before any code exists, so
		 * every LOAD can be dated from the moment code appears. */
		ensure_output();
		/* A fresh mapping: whatever we tracked here is gone already
		 * (unmapped without a hook) and must not be mistaken for it. */
		untrack_range(start, end);
		E.grant_prot = prot;
		track_range(start, end, kind, jp_describe_creator(), now, (uint64_t)off);
		/* Fresh anonymous memory holds no code yet: arm tracking now
		 * so the first write is seen.  A file view may already hold
		 * code written through its other view: read it now. */
		if (kind == JP_RK_FILE || kind == JP_RK_SHMEM)
			capture_range(start, end, 1);
		else
			for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
				E.regs.r[i].needs_full = 0;
				arm_region(&E.regs.r[i]);
				E.regs.r[i].last_scan_ts = now;
			}
		hook_flush();
		ensure_thread();
	}
	leave();
}

void jp_capture_unmap_before(uint64_t start, uint64_t len)
{
	if (!enter())
		return;
	capture_range(page_down(start), page_up(start + len), 1);
	hook_flush();
	leave();
}

void jp_capture_mremap_before(uint64_t start, uint64_t len)
{
	uint64_t end;

	if (!enter())
		return;
	start = page_down(start);
	end = page_up(start + len);
	capture_range(start, end, 1);
	hook_flush();
	/* Since Linux 6.17 mremap moves a range spanning several mappings,
	 * but refuses (EFAULT) when any of them is registered with a
	 * userfaultfd: drop our registration first (what was pending is
	 * captured), and arm again after the call, wherever the code is. */
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		struct jp_region *r = &E.regs.r[i];

		if (r->track == JP_RT_WP)
			jp_wtrack_remove(&E.wt, r->start, r->end);
		if (r->track != JP_RT_NONE) {
			r->track = JP_RT_NONE;
			r->needs_full = 1;
		}
	}
	leave();
}

void jp_capture_unmap_done(uint64_t start, uint64_t len)
{
	if (!enter())
		return;
	untrack_range(page_down(start), page_up(start + len));
	leave();
}

static int vma_start_cb(const struct jp_map *m, void *arg)
{
	*(uint64_t *)arg = m->start;
	return 1;
}

/* mprotect(PROT_GROWSDOWN) changes a stack-like mapping from its start,
 * wherever that is: a boundary a registration made would stop it short.
 * Give back every registration (the call is rare: executable stacks), let
 * the kernel merge, and return where the mapping holding start begins. */
static void growsdown_before(uint64_t *start, uint64_t *len, int prot)
{
	uint64_t vs = page_down(*start), end = page_up(*start + *len);

	if (!enter())
		return;
	release_registrations();
	jp_maps_each(vs, vs + 1, (char *)E.scratch, CHUNK, vma_start_cb, &vs);
	if (vs < *start) {
		*len = end - vs;
		*start = vs;
	}
	if (!(prot & PROT_EXEC)) {
		arm_suspended = 1;
		capture_range(vs, end, 1);
		hook_flush();
		arm_suspended = 0;
	}
	leave();
}

void jp_capture_mprotect_before(uint64_t *start, uint64_t *len, int prot)
{
	if (prot & PROT_GROWSDOWN)
		growsdown_before(start, len, prot);
	else if (!(prot & PROT_EXEC)) /* granting exec: captured after the call */
		jp_capture_unmap_before(*start, *len);
}

struct classify_ctx {
	uint64_t start, end, creator, now;
	int found;
};

static int classify_cb(const struct jp_map *m, void *arg)
{
	struct classify_ctx *c = arg;
	uint64_t a = m->start > c->start ? m->start : c->start;
	uint64_t b = m->end < c->end ? m->end : c->end;
	int kind;

	switch (m->cls) {
	case JP_MAP_ANON:
		kind = JP_RK_ANON;
		break;
	case JP_MAP_SHMEM:
		kind = JP_RK_SHMEM;
		break;
	case JP_MAP_HEAP:
		kind = JP_RK_HEAP;
		break;
	case JP_MAP_DUAL:
		kind = JP_RK_FILE;
		break;
	default:
		return 0; /* real files, stacks, vdso: not ours */
	}
	if (a < b) {
		track_range(a, b, kind, c->creator, c->now, m->offset + (a - m->start));
		c->found = 1;
	}
	return 0;
}

void jp_capture_mprotect_done(uint64_t start, uint64_t len, int prot)
{
	uint64_t end, now;
	int reannounce = 0;

	if (!enter())
		return;
	start = page_down(start);
	end = page_up(start + len);
	now = jp_now_ns();
	jp_regions_split(&E.regs, start);
	jp_regions_split(&E.regs, end);
	if (!(prot & PROT_EXEC)) {
		/* Dormant: keep the descriptions (their hashes spare unchanged
		 * code a new LOAD when it becomes executable again), but not
		 * the write-tracking registration: the kernel never merges a
		 * registered mapping with its neighbours, so keeping it on
		 * memory that is now plain data would change the program's
		 * mappings (an mremap across them fails). */
		for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++)
			E.regs.r[i].exec = 0;
		release_range(start, end);
		leave();
		return;
	}
	child_starts();
	E.grant_prot = prot;
	/* Gaps not yet tracked: ask the kernel what they are. */
	{
		uint64_t a = start;
		int gap = 0;

		for (size_t i = jp_regions_lower(&E.regs, start); a < end; i++) {
			uint64_t nx = (i < E.regs.n && E.regs.r[i].start < end) ? E.regs.r[i].start : end;

			if (nx > a)
				gap = 1;
			if (i >= E.regs.n || E.regs.r[i].start >= end)
				break;
			a = E.regs.r[i].end;
		}
		if (gap) {
			struct classify_ctx cc = { start, end, jp_describe_creator(), now, 0 };

			ensure_output();
			jp_maps_each(start, end, (char *)E.scratch, CHUNK, classify_cb, &cc);
		}
	}
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		struct jp_region *r = &E.regs.r[i];

		r->exec = 1;
		r->writable = (prot & PROT_WRITE) != 0;
		r->vouched = 1;
		r->last_event_ts = now;
		/* perf keeps kernel mmap events of [heap] and of file views:
		 * the one this call just made hides our earlier LOADs. */
		if (r->kind == JP_RK_HEAP || r->kind == JP_RK_FILE)
			reannounce = 1;
	}
	/* The W^X moment (and any exec grant): describe the code now. */
	{
		int dead = 0;

		for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
			capture_region(i, now,
				       reannounce && (E.regs.r[i].kind == JP_RK_HEAP || E.regs.r[i].kind == JP_RK_FILE));
			dead |= E.regs.r[i].dead;
		}
		if (dead)
			sweep_dead();
		for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++)
			E.regs.r[i].vouched = 0;
	}
	hook_flush();
	if (E.regs.n)
		ensure_thread();
	leave();
}

void jp_capture_mremap_done(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len)
{
	uint64_t oend, nend, now;
	size_t i;

	if (!enter())
		return;
	old_addr = page_down(old_addr);
	oend = page_up(old_addr + old_len);
	nend = new_addr + page_up(new_len);
	now = jp_now_ns();
	jp_regions_split(&E.regs, old_addr);
	jp_regions_split(&E.regs, oend);
	i = jp_regions_lower(&E.regs, old_addr);
	if (i >= E.regs.n || E.regs.r[i].start >= oend) {
		leave();
		return;
	}
	if (new_addr == old_addr) {
		/* Resized in place. */
		struct jp_region *r = &E.regs.r[i];

		if (nend < r->end) {
			jp_desc_drop(r, nend, r->end);
			r->end = nend;
		} else if (nend > r->end && (i + 1 >= E.regs.n || E.regs.r[i + 1].start >= nend)) {
			if (r->track == JP_RT_WP)
				jp_wtrack_add(&E.wt, r->end, nend);
			r->end = nend;
			if (r->phash)
				r->needs_full = 1;
		}
		update_bounds();
		leave();
		return;
	}
	/* Moved: the kernel carried the code along.  Re-announce every piece
	 * at its new address (MOVE: no new ELF for perf inject to write) and
	 * track the new range; the old one is gone. */
	{
		struct jp_region *r = &E.regs.r[i];
		uint64_t delta = new_addr - old_addr;
		int kind = r->kind, writable = r->writable;
		uint64_t creator = r->creator;
		uint32_t nd = r->nd;
		struct jp_desc *d = r->d;
		long k;

		r->d = NULL;
		r->nd = r->capd = 0;
		for (uint32_t j = 0; j < nd; j++)
			if (d[j].addr + d[j].len <= old_addr + new_len)
				emit_move(d[j].index, d[j].addr, d[j].addr + delta, d[j].len, now);
		/* The moved mapping lost its userfaultfd registration. */
		jp_regions_delete(&E.regs, i);
		untrack_range(new_addr, nend); /* whatever MREMAP_FIXED replaced */
		k = jp_regions_insert(&E.regs, new_addr, nend, kind);
		if (k >= 0) {
			struct jp_region *n = &E.regs.r[k];

			n->exec = 1;
			n->writable = (uint8_t)writable;
			n->creator = creator;
			n->last_event_ts = now;
			n->last_scan_ts = now;
			E.st.regions_total++;
			for (uint32_t j = 0; j < nd; j++) {
				if (d[j].addr + d[j].len > old_addr + new_len)
					continue;
				d[j].addr += delta;
				jp_desc_replace(n, n->nd, 0, &d[j], 1);
			}
			/* Re-arm, and read once in case it was written between
			 * our last pass and the move. */
			n->needs_full = 1;
			capture_region((size_t)k, now, 0);
		}
		if (d)
			jp_sys_free(d, ((size_t)nd * sizeof(*d) + 4095) & ~(size_t)4095);
		update_bounds();
		hook_flush();
	}
	leave();
}

void jp_capture_discard_done(uint64_t start, uint64_t len)
{
	uint64_t end;

	if (!enter())
		return;
	start = page_down(start);
	end = page_up(start + len);
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		struct jp_region *r = &E.regs.r[i];

		jp_desc_drop(r, start, end);
		if (r->phash)
			r->needs_full = 1;
	}
	leave();
}

static void capture_all(void)
{
	capture_range(0, UINT64_MAX, 1);
	flush_output();
}

void jp_capture_exec_before(void)
{
	if (!enter())
		return;
	/* A fork child about to exec has nothing of its own to say. */
	if (!E.child_pending && E.pid == jp_sys_getpid())
		capture_all();
	leave();
}

void jp_capture_exit(void)
{
	struct timespec ts;

	if (__atomic_load_n(&E.state, __ATOMIC_ACQUIRE) != ST_ACTIVE)
		return;
	/* Never hang the host's exit: a thread that died holding the lock
	 * (or exit called from a signal handler that interrupted us). */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	if (pthread_mutex_timedlock(&E.lock, &ts) != 0)
		return;
	if (E.state == ST_ACTIVE && !E.child_pending && E.pid == jp_sys_getpid()) {
		capture_all();
		if (jp_log_level() >= JP_LOG_INFO)
			jp_info("%lu regions, %lu captures, %lu epochs, %lu LOADs (%lu bytes), %lu MOVEs, "
				"%lu patched in place, %.1f ms capturing%s%s",
				(unsigned long)E.st.regions_total, (unsigned long)E.st.captures,
				(unsigned long)E.st.epochs, (unsigned long)E.st.loads,
				(unsigned long)E.st.load_bytes, (unsigned long)E.st.moves, (unsigned long)E.st.patched,
				E.st.capture_ns / 1e6,
				E.dump_state == DUMP_OPEN ? "; dump " : "", E.dump_state == DUMP_OPEN ? E.dump.path : "");
		if (E.dump_state == DUMP_OPEN)
			jp_dump_close(&E.dump);
		if (E.pmap_state == DUMP_OPEN)
			jp_perfmap_close(&E.pmap);
	}
	E.thread_gen++;
	turn_off();
	pthread_mutex_unlock(&E.lock);
}

/* ---- fork ---------------------------------------------------------------- */

static int fork_locked;

/* Before fork, give back every write-tracking registration.  A registered
 * mapping never merges with its neighbours, and fork copies page tables
 * (or not) per mapping: a child would see different page residency than
 * without jitperf (mincore) wherever a registration kept two mappings
 * apart.  Unregistering lets the kernel merge them again; the parent's
 * next pass re-arms them and re-reads them whole, so stores made while
 * unregistered are not missed. */
static void release_range(uint64_t start, uint64_t end)
{
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		struct jp_region *r = &E.regs.r[i];

		if (r->track != JP_RT_WP)
			continue;
		jp_wtrack_remove(&E.wt, r->start, r->end);
		r->track = JP_RT_NONE;
		r->needs_full = 1;
	}
}

static void release_registrations(void)
{
	release_range(0, UINT64_MAX);
}

void jp_capture_fork_prepare(void)
{
	/* Hold the lock across fork so the child's copy of the state is
	 * consistent.  If this thread is inside jitperf already (fork from a
	 * signal handler that interrupted a hook), taking it would deadlock. */
	fork_locked = 0;
	if (jp_guard || __atomic_load_n(&E.state, __ATOMIC_ACQUIRE) != ST_ACTIVE)
		return;
	pthread_mutex_lock(&E.lock);
	fork_locked = 1;
	release_registrations();
}

void jp_capture_fork_parent(void)
{
	if (fork_locked)
		pthread_mutex_unlock(&E.lock);
	fork_locked = 0;
}

void jp_capture_fork_child(void)
{
	int consistent = fork_locked;

	pthread_mutex_init(&E.lock, NULL);
	fork_locked = 0;
	if (__atomic_load_n(&E.state, __ATOMIC_ACQUIRE) != ST_ACTIVE)
		return;
	if (!consistent) {
		/* Forked while the engine was mid-update: trust nothing. */
		turn_off();
		return;
	}
	become_child();
}

/* Reset the engine for a new process that inherited our state. */
static void become_child(void)
{
	if (E.wipe)
		*E.wipe = 1;
	E.pid = jp_sys_getpid();
	E.child_pending = 1;
	E.thread_state = 0;
	E.thread_gen++;
	/* The parent's dump is the parent's: a child writes its own
	 * jit-<childpid>.dump, created when it has something to describe. */
	if (E.dump_state == DUMP_OPEN)
		jp_dump_abandon(&E.dump);
	E.dump_state = DUMP_NONE;
	if (E.pmap_state == DUMP_OPEN)
		jp_perfmap_close(&E.pmap);
	E.pmap_state = DUMP_NONE;
	/* Both descriptors still point at the parent's address space. */
	jp_wtrack_forget(&E.wt);
	jp_describe_fork_child();
	memset(&E.st, 0, sizeof(E.st));
	for (size_t i = 0; i < E.regs.n; i++) {
		struct jp_region *r = &E.regs.r[i];

		/* The child's mappings are no longer registered; everything
		 * inherited is described again in the child's own dump. */
		r->track = JP_RT_NONE;
		r->needs_full = 1;
		r->last_scan_ts = 0;
		for (uint32_t k = 0; k < r->nd; k++)
			r->d[k].index = JP_NO_INDEX;
	}
	E.st.regions = E.regs.n;
}

/* ---- introspection ------------------------------------------------------ */

void jp_capture_get_stats(struct jp_capture_stats *s)
{
	pthread_mutex_lock(&E.lock);
	*s = E.st;
	s->regions = E.regs.n;
	pthread_mutex_unlock(&E.lock);
}

const char *jp_capture_dump_path(void)
{
	return E.dump_state == DUMP_OPEN ? E.dump.path : "";
}
