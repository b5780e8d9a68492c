/* capture.c - the engine: its state and lock, the entry points hooks call, the epoch thread, fork. */
#include "capture.h"
#include "arena.h"
#include "budget.h"
#include "config.h"
#include "creator.h"
#include "dirty.h"
#include "filepriv.h"
#include "hash.h"
#include "known.h"
#include "log.h"
#include "maps.h"
#include "memkind.h"
#include "output.h"
#include "reconcile.h"
#include "region.h"
#include "str.h"
#include "sys.h"
#include "thread.h"
#include "unseen.h"
#include "wtrack.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__thread int jp_guard __attribute__((tls_model("initial-exec")));
void (*jp_capture_epoch_extra)(void);

#define CHUNK (1u << 20)      /* bytes read per step of a capture */
#define MAX_PIECES 8192       /* pieces per chunk */
#define EPOCH_STACK (256u << 10)

enum { ST_UNINIT = 0, ST_INITIALIZING, ST_ACTIVE, ST_OFF };

static struct engine {
	pthread_mutex_t lock;
	int state;
	struct jp_config cfg;
	uint64_t pagesz;
	pid_t pid;
	int child_pending;  /* fork child that has not touched JIT memory yet */
	int grant_prot;     /* protection of the exec grant being recorded */
	volatile int *wipe; /* MADV_WIPEONFORK page holding 1; 0 in any child */
	struct jp_output out;
	struct jp_wtrack wt;
	struct jp_regions regs;
	int thread_state;   /* 0 none, 1 running, 2 paused, 3 to start at once, -1 failed */
	struct jp_thread thr;
	uint64_t thread_gen; /* bumped at fork and exit: a stale thread stops */
	uint8_t *scratch;    /* CHUNK bytes: code being read, /proc/self/maps text */
	struct jp_dirty dirty;
	struct jp_reconciler rec;
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

static void update_bounds(void)
{
	jp_tracked_publish(&E.regs);
	E.st.regions = E.regs.n;
}

/* Turn jitperf off for good after a failure that was already reported. */
static void turn_off(void)
{
	__atomic_store_n(&E.state, ST_OFF, __ATOMIC_RELEASE);
	jp_tracked_clear();
}

/* ---- initialisation ---------------------------------------------------- */

/* Live code, no fault on a racing munmap; what this pass read, once (readcache.h). */
static ssize_t read_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	return jp_readcache_read(&E.dirty.cache, E.pid, addr, buf, len);
}

/* Scratch: the dirty-page pass's page copies (the reconciler's, until the
 * pass ends) and /proc/self/maps text, in turn; the reconciler has its own. */
static int alloc_buffers(void)
{
	E.scratch = jp_sys_alloc(CHUNK);
	if (!E.scratch)
		return -ENOMEM;
	E.dirty.pagesz = E.pagesz;
	E.dirty.pid = E.pid;
	E.dirty.mode = E.cfg.track;
	E.dirty.wt = &E.wt;
	E.dirty.buf = E.scratch;
	E.dirty.buf_len = CHUNK;
	jp_output_sink(&E.out, &E.rec.sink);
	E.rec.sink.read = read_code;
	E.rec.fde = E.cfg.unwind != JP_UNWIND_MODE_EMPTY;
	if (jp_dirty_init(&E.dirty) < 0 || jp_reconciler_init(&E.rec, NULL, CHUNK, MAX_PIECES) < 0)
		return -ENOMEM;
	return 0;
}

static void arm_wipe(void)
{
	int saved = errno;

	if (!E.wipe) {
		E.wipe = jp_sys_alloc_apart(4096); /* madvised: not in the huge-page zone */
		/* Linux >= 4.14; elsewhere enter() asks getpid(). */
		if (E.wipe && jp_syscall(SYS_madvise, (void *)E.wipe, 4096, 18 /* MADV_WIPEONFORK */) != 0) {
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
	E.out.cfg = &E.cfg;
	E.out.pid = E.pid;
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
	/* The net needs the thread even if no hook ever sees JIT memory:
	 * the constructor starts it (jp_capture_thread_pause), or a hook. */
	E.thread_state = E.cfg.scan ? 3 : 0;
	__atomic_store_n(&E.state, ST_ACTIVE, __ATOMIC_RELEASE);
	return 1;
}

int jp_capture_active(void)
{
	return __atomic_load_n(&E.state, __ATOMIC_ACQUIRE) == ST_ACTIVE;
}

static void become_child(void);
static void release_range(uint64_t start, uint64_t end);

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
		jp_dirty_wtrack_lost(&E.dirty, &E.regs);
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

/* Outputs that fail for good turn the engine off (they said why). */
static void ensure_output(void)
{
	if (jp_output_ready(&E.out) == -ESHUTDOWN || E.out.shutdown)
		turn_off();
}

static void flush_output(void)
{
	if (jp_output_flush(&E.out) == -ESHUTDOWN || E.out.shutdown)
		turn_off();
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
	uint64_t marker = jp_output_open_ts(&E.out);

	return (marker > r->last_event_ts ? marker : r->last_event_ts) + 1;
}

/* One capture pass over region i, looking for changes in [lo, hi). */
static void capture_region(size_t i, uint64_t now, int reannounce, uint64_t lo, uint64_t hi)
{
	struct jp_region *r = &E.regs.r[i];
	uint64_t ts_new = floor_ts(r), t0 = jp_log_work_ns(), collected;
	size_t n;

	/* The caller's clock may predate the marker (the dump can be opened
	 * during this very call): nothing may be dated before the floor. */
	if (now < ts_new)
		now = ts_new;
	if (r->last_scan_ts >= ts_new)
		ts_new = r->last_scan_ts + 1;
	if (ts_new > now)
		ts_new = now;
	jp_dirty_heap(&E.dirty, r, jp_budget_begin(jp_creator_id_name(r->creator))); /* heaps: sparingly */
	/* What is written from now on is found by the next pass, which may
	 * date it from now (the end of this pass can be an epoch later). */
	collected = jp_now_ns();
	n = jp_dirty_collect_in(&E.dirty, r, lo, hi);
	E.st.captures++;
	for (size_t k = 0; k < n; k++) {
		uint64_t a = E.dirty.out[k].start, b = E.dirty.out[k].end;

		E.st.dirty_pages += (b - a) / E.pagesz;
		jp_reconcile(&E.rec, r, a, b, now, ts_new);
	}
	jp_budget_end();
	/* perf keeps the kernel event that made [heap] or a file view
	 * executable again, and it hides what we announced. */
	if (reannounce || r->regrant)
		jp_reconcile_reannounce(&E.rec, r, now);
	r->last_scan_ts = collected;
	jp_readcache_reset(&E.dirty.cache); /* the copies are this pass's only */
	if (!E.thr.running || !pthread_equal(pthread_self(), E.thr.th)) /* capture thread: busy_ns */
		E.st.capture_ns += jp_log_work_ns() - t0;
	if (E.out.shutdown)
		turn_off();
}

/* Forget regions found to be gone (unmapped without a hook). */
static void sweep_dead(void)
{
	for (size_t i = 0; i < E.regs.n;) {
		if (E.regs.r[i].dead)
			jp_regions_delete(&E.regs, i);
		else
			i++;
	}
	update_bounds();
}

/* A pass over the executable regions in [start, end), but those that cannot
 * have changed (and, the epoch's pass, grant < 0: quiet ones not due).  At an
 * exec grant every region in the range is read (only there: what it was joined
 * with is unchanged, jp_dirty_join), and [heap] and file views are announced
 * again: perf keeps the kernel mmap event the grant made, hiding our LOADs. */
static void capture_range(uint64_t start, uint64_t end, uint64_t now, int grant)
{
	int dead = 0;

	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		struct jp_region *r = &E.regs.r[i];

		if (grant > 0)
			capture_region(i, now, r->kind == JP_RK_HEAP || r->kind >= JP_RK_FILE, start, end);
		else if (!jp_dirty_frozen(r) && r->exec && (grant == 0 || jp_dirty_due(r)))
			capture_region(i, now, 0, 0, UINT64_MAX);
		dead |= E.regs.r[i].dead;
	}
	if (dead)
		sweep_dead();
}

/* ---- the epoch thread ---------------------------------------------------- */

/* Names the process published since the last epoch: reconcile the ranges
 * that got one (only pieces whose name changed are announced anew). */
static void reconcile_renamed(void)
{
	const struct jp_range *ch = NULL; /* not looked for with nothing tracked: an exec chain's shells */
	size_t n = E.regs.n ? jp_known_refresh(E.cfg.perfmap && !strcmp(E.cfg.perfmap_dir, "/tmp"), &ch) : 0;

	for (size_t k = 0; k < n; k++) {
		uint64_t now = jp_now_ns(), start = page_down(ch[k].start), end = ch[k].end;

		for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
			struct jp_region *r = &E.regs.r[i];
			uint64_t a = start > r->start ? start : r->start, b = end < r->end ? end : r->end;

			if (r->exec && a < b)
				jp_reconcile(&E.rec, r, a, b, now, floor_ts(r));
		}
	}
	if (E.out.shutdown)
		turn_off();
}

static void *epoch_main(void *arg)
{
	uint64_t gen = (uint64_t)(uintptr_t)arg;

	jp_guard = 1; /* our own memory calls pass through the hooks */
	pthread_setname_np(pthread_self(), "jitperf");
	for (;;) {
		if (jp_thread_sleep(&E.thr, jp_unseen_delay_ns(E.cfg.scan ? (unsigned)E.st.epochs : ~0u, E.cfg.epoch_ms)))
			break;
		pthread_mutex_lock(&E.lock);
		if (E.state != ST_ACTIVE || E.thread_gen != gen) {
			pthread_mutex_unlock(&E.lock);
			break;
		}
		E.st.epochs++;
		held = 1; /* entry points called from here keep the lock */
		/* Names the process publishes first, so new code is named by
		 * them in this very pass. */
		reconcile_renamed();
		/* The net (lib/unseen.c): JIT memory made executable with no call we
		 * saw, taken in as if a hook saw it made executable and writable. */
		if (E.cfg.scan && jp_unseen_due((unsigned)E.st.epochs, E.cfg.epoch_ms)) /* quiet: less often */
			E.st.unseen += jp_unseen_take(&E.regs, (char *)E.scratch, CHUNK, jp_capture_mprotect_done);
		capture_range(0, UINT64_MAX, jp_now_ns(), -1);
		flush_output();
		held = 0;
		pthread_mutex_unlock(&E.lock);
		if (jp_capture_epoch_extra)
			jp_capture_epoch_extra();
	}
	return NULL;
}

static void ensure_thread(void)
{
	int r;

	if ((E.thread_state != 0 && E.thread_state != 3) || E.cfg.epoch_ms == 0)
		return;
	r = jp_thread_start(&E.thr, epoch_main, (void *)(uintptr_t)E.thread_gen, EPOCH_STACK);
	if (r != 0) {
		E.thread_state = -1;
		jp_err("cannot start the capture thread (%s): code written into executable memory with no call is captured only when it is unmapped or at exit",
		       jp_strerror(r));
		return;
	}
	E.thread_state = 1;
}

void jp_capture_thread_pause(int pause)
{
	int stop;

	if (!enter())
		return;
	stop = pause && E.thread_state == 1;
	if (stop)
		E.thread_state = 2; /* no hook starts it meanwhile */
	if (!pause && E.thread_state >= 2) {
		E.thread_state = 0;
		ensure_thread();
	}
	leave();
	if (stop) /* without the lock: the thread may be waiting for it */
		jp_thread_stop(&E.thr);
}

/* ---- regions ------------------------------------------------------------- */

/* Track [start, end) as executable memory of kind; existing regions in it
 * are kept (their descriptions stay valid). */
static void track_range(uint64_t start, uint64_t end, int kind, jp_creator_id creator, uint64_t now)
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
			E.st.regions_total++;
		}
		a = b;
	}
	update_bounds();
}

static void untrack_range(uint64_t start, uint64_t end)
{
	size_t i;

	/* When a region cannot be split, the whole of it is dropped (and
	 * announced again if it comes back). */
	jp_regions_split(&E.regs, start);
	jp_regions_split(&E.regs, end);
	i = jp_regions_lower(&E.regs, start);
	while (i < E.regs.n && E.regs.r[i].start < end) {
		jp_dirty_disarm(&E.dirty, &E.regs.r[i]);
		jp_regions_delete(&E.regs, i);
	}
	update_bounds();
}

void jp_capture_mmap_done(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uint64_t start = (uint64_t)(uintptr_t)addr, end = start + page_up(len), now;
	int kind;

	if (!(prot & PROT_EXEC) || !enter())
		return;
	kind = jp_memkind_of_fd(fd, flags, prot);
	if (kind >= 0) {
		E.child_pending = 0; /* JIT activity of its own: it announces what it inherited */
		now = jp_now_ns();
		/* Open the dump (and its marker) before any code exists, so
		 * every LOAD can be dated from the moment code appears. */
		ensure_output();
		/* A fresh mapping: whatever we tracked here is gone already
		 * (unmapped without a hook) and must not be mistaken for it. */
		untrack_range(start, end);
		E.grant_prot = prot;
		track_range(start, end, kind, jp_creator_register(), now);
		/* Fresh anonymous memory holds no code yet: arm tracking now
		 * so the first write is seen.  A file view may already hold
		 * code written through its other view: read it now. */
		if (kind == JP_RK_FILE || kind == JP_RK_SHMEM)
			capture_range(start, end, jp_now_ns(), 0);
		else
			for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
				E.regs.r[i].needs_full = 0;
				jp_dirty_arm(&E.dirty, &E.regs.r[i]);
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
	capture_range(page_down(start), page_up(start + len), jp_now_ns(), 0);
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
	capture_range(start, end, jp_now_ns(), 0);
	hook_flush();
	/* Since Linux 6.17 mremap moves a range spanning several mappings,
	 * but refuses (EFAULT) when any of them is registered with a
	 * userfaultfd: drop our registration first (what was pending is
	 * captured), and arm again after the call, wherever the code is. */
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++)
		jp_dirty_disarm(&E.dirty, &E.regs.r[i]);
	leave();
}

void jp_capture_unmap_done(uint64_t start, uint64_t len)
{
	if (!enter())
		return;
	untrack_range(page_down(start), page_up(start + len));
	leave();
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
	release_range(0, UINT64_MAX);
	vs = jp_maps_vma_start(vs, (char *)E.scratch, CHUNK);
	if (vs < *start) {
		*len = end - vs;
		*start = vs;
	}
	if (!(prot & PROT_EXEC)) {
		E.dirty.arm_suspended = 1;
		capture_range(vs, end, jp_now_ns(), 0);
		hook_flush();
		E.dirty.arm_suspended = 0;
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

void jp_capture_mprotect_done(uint64_t start, uint64_t len, int prot)
{
	uint64_t end, now;

	if (!enter())
		return;
	start = page_down(start);
	end = page_up(start + len);
	now = jp_now_ns();
	jp_regions_split(&E.regs, start);
	jp_regions_split(&E.regs, end);
	if (!(prot & PROT_EXEC)) {
		/* Dormant: keep the descriptions (their hashes spare unchanged
		 * code a new LOAD when it becomes executable again); what
		 * happens to write tracking is dirty.h's call. */
		for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
			E.regs.r[i].exec = 0;
			jp_dirty_dormant(&E.dirty, &E.regs.r[i]);
		}
		leave();
		return;
	}
	E.child_pending = 0;
	E.grant_prot = prot;
	/* Gaps not yet tracked: ask the kernel what they are. */
	if (!jp_regions_cover(&E.regs, start, end)) {
		struct jp_unseen_hit h[JP_UNSEEN_MAX];
		long n = jp_unseen_find(&E.regs, start, end, (char *)E.scratch, CHUNK, h, JP_UNSEEN_MAX);
		jp_creator_id creator = jp_creator_register();

		ensure_output();
		for (long k = 0; k < n; k++)
			track_range(h[k].start, h[k].end, h[k].kind, creator, now);
	}
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++) {
		struct jp_region *r = &E.regs.r[i];

		r->exec = 1;
		r->writable = (prot & PROT_WRITE) != 0;
		r->vouched = 1;
		r->last_event_ts = now;
	}
	jp_dirty_join(&E.dirty, &E.regs, start, end);
	/* The W^X moment (and any exec grant): read the code now (and filepriv.h's part). */
	capture_range(start, end, now, 1);
	jp_filepriv_reannounce(&E.regs, start, end, &E.rec, now);
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++)
		E.regs.r[i].vouched = 0;
	hook_flush();
	if (E.regs.n)
		ensure_thread();
	leave();
}

/* Region i, moved by delta with the rest of an mremap'd range whose first
 * cut bytes end at keep_end (a shrinking move): what lies beyond is gone. */
static void move_region(size_t i, uint64_t delta, uint64_t keep_end, uint64_t now)
{
	struct jp_region *r = &E.regs.r[i];
	uint64_t end = r->end < keep_end ? r->end : keep_end;
	long k;

	if (r->start >= end) {
		jp_dirty_disarm(&E.dirty, r);
		jp_regions_delete(&E.regs, i);
		return;
	}
	for (uint32_t j = 0; j < r->nd; j++)
		if (r->d[j].addr + r->d[j].len <= end)
			jp_output_move(&E.out, r->d[j].index, r->d[j].addr, r->d[j].addr + delta, r->d[j].len, now);
	/* The moved mapping lost its userfaultfd registration. */
	k = jp_regions_move(&E.regs, i, r->start + delta, end + delta, end - r->start);
	if (k >= 0) {
		struct jp_region *n = &E.regs.r[k];

		n->exec = 1;
		n->last_event_ts = now;
		n->last_scan_ts = now;
		E.st.regions_total++;
		/* Re-arm, and read once in case it was written between our
		 * last pass and the move. */
		n->needs_full = 1;
		capture_region((size_t)k, now, 0, 0, UINT64_MAX);
	}
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
		/* Resized in place: what lies beyond a shrunk end is gone; the
		 * last mapping grows into free space. */
		if (nend < oend) {
			untrack_range(nend, oend);
			i = jp_regions_lower(&E.regs, nend - 1);
			if (i < E.regs.n && E.regs.r[i].start < nend) /* a piece may have run past the new end */
				jp_desc_drop(&E.regs.r[i], nend, oend);
		}
		i = jp_regions_lower(&E.regs, oend - 1);
		if (nend > oend && i < E.regs.n && E.regs.r[i].end == oend &&
		    (i + 1 >= E.regs.n || E.regs.r[i + 1].start >= nend)) {
			struct jp_region *r = &E.regs.r[i];

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
	/* Moved: the kernel carried the code along, every mapping of the old
	 * range (one or, since Linux 6.17, several).  Re-announce each piece at
	 * its new address (MOVE: no new ELF for perf inject to write) and
	 * track the new range; the old one is gone. */
	untrack_range(new_addr, nend); /* what MREMAP_FIXED replaced; never the old range (no overlapping moves) */
	while ((i = jp_regions_lower(&E.regs, old_addr)) < E.regs.n && E.regs.r[i].start < oend)
		move_region(i, new_addr - old_addr, old_addr + page_up(new_len), now);
	update_bounds();
	hook_flush();
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
	capture_range(0, UINT64_MAX, jp_now_ns(), 0);
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

/* ---- introspection ------------------------------------------------------ */

/* The counters kept by the engine and by the modules it drives. */
static struct jp_capture_stats stats_now(void)
{
	struct jp_capture_stats s = E.st;

	s.regions = E.regs.n;
	s.patched = E.rec.patched;
	s.loads = E.out.loads;
	s.load_bytes = E.out.load_bytes;
	s.moves = E.out.moves;
	s.wp_regions = E.dirty.wp_regions;
	s.hash_regions = E.dirty.hash_regions;
	s.capture_ns += __atomic_load_n(&E.thr.busy_ns, __ATOMIC_RELAXED);
	return s;
}

void jp_capture_get_stats(struct jp_capture_stats *s)
{
	pthread_mutex_lock(&E.lock);
	*s = stats_now();
	pthread_mutex_unlock(&E.lock);
}

void jp_capture_exit(void)
{
	struct timespec ts;

	/* A vfork child (leaving by _exit) shares our memory: not ours to turn off. */
	if (__atomic_load_n(&E.state, __ATOMIC_ACQUIRE) != ST_ACTIVE || E.pid != jp_sys_getpid())
		return;
	/* Never hang the host's exit: a thread that died holding the lock
	 * (or exit called from a signal handler that interrupted us). */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	if (pthread_mutex_timedlock(&E.lock, &ts) != 0)
		return;
	if (E.state == ST_ACTIVE && !E.child_pending && E.pid == jp_sys_getpid()) {
		struct jp_capture_stats s;
		const char *path;

		capture_all();
		s = stats_now();
		path = jp_output_dump_path(&E.out);
		jp_capstats_say(&s, path);
		jp_output_close(&E.out);
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
	for (size_t i = jp_regions_lower(&E.regs, start); i < E.regs.n && E.regs.r[i].start < end; i++)
		if (E.regs.r[i].track == JP_RT_WP)
			jp_dirty_disarm(&E.dirty, &E.regs.r[i]);
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
	release_range(0, UINT64_MAX);
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
	E.dirty.pid = E.pid;
	E.child_pending = 1;
	E.thread_state = 0;
	E.thr = (struct jp_thread){ 0 }; /* the parent's thread is not ours to join */
	E.thread_gen++;
	/* The parent's dump is the parent's: a child writes its own
	 * jit-<childpid>.dump, created when it has something to announce. */
	E.out.pid = E.pid;
	jp_output_forget(&E.out);
	/* Both descriptors still point at the parent's address space. */
	jp_wtrack_forget(&E.wt);
	jp_known_fork_child();
	memset(&E.st, 0, sizeof(E.st));
	E.rec.patched = 0;
	E.dirty.wp_regions = E.dirty.hash_regions = 0;
	for (size_t i = 0; i < E.regs.n; i++) {
		struct jp_region *r = &E.regs.r[i];

		/* The child's mappings are no longer registered; everything
		 * inherited is announced again in the child's own dump. */
		r->track = JP_RT_NONE;
		r->needs_full = 1;
		r->last_scan_ts = 0;
		for (uint32_t k = 0; k < r->nd; k++)
			r->d[k].index = JP_NO_INDEX;
	}
	E.st.regions = E.regs.n;
}
