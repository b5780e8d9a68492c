/* capture.c - the engine's core: its state and lock, capture passes, the
 * epoch thread, exit and fork.  What each memory call does to the region
 * table is lib/mapcalls.c's; the state both share is lib/engine.h. */
#include "capture.h"
#include "arena.h"
#include "budget.h"
#include "config.h"
#include "creator.h"
#include "deferlog.h"
#include "dirty.h"
#include "engine.h"
#include "hash.h"
#include "hotspot.h"
#include "known.h"
#include "log.h"
#include "mozjs.h"
#include "output.h"
#include "reconcile.h"
#include "region.h"
#include "str.h"
#include "sys.h"
#include "thread.h"
#include "unseen.h"
#include "v8.h"
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

#define EPOCH_STACK (256u << 10)

struct jp_engine jp_eng = { .lock = PTHREAD_MUTEX_INITIALIZER };

void jp_engine_publish_bounds(void)
{
	jp_tracked_publish(&jp_eng.regs);
	jp_eng.st.regions = jp_eng.regs.n;
}

/* Turn jitperf off for good after a failure that was already reported. */
void jp_engine_turn_off(void)
{
	__atomic_store_n(&jp_eng.state, ST_OFF, __ATOMIC_RELEASE);
	jp_tracked_clear();
}

/* JITPERF_DESCRIBE: is region r's code described in the program (now),
 * recorded for after the run (after), or both?  With after, a creator that
 * records far more than a JIT writes (lib/deferlog.h) is described in the
 * program from then on; both (tests) records everything. */
static int over(const struct jp_region *r)
{
	return jp_eng.cfg.describe == JP_DESCRIBE_AFTER && jp_deferlog_over(jp_creator_id_name(r->creator));
}

int jp_engine_describe_now(const struct jp_region *r)
{
	return jp_eng.cfg.describe != JP_DESCRIBE_AFTER || over(r);
}

int jp_engine_describe_after(const struct jp_region *r)
{
	if (!r)
		return jp_eng.cfg.describe != JP_DESCRIBE_NOW;
	return jp_eng.cfg.describe == JP_DESCRIBE_BOTH || (jp_eng.cfg.describe == JP_DESCRIBE_AFTER && !over(r));
}

/* ---- initialisation ---------------------------------------------------- */

/* JITPERF_DESCRIBE=both (tests): the bytes a pass recorded for after the
 * run, which the description in the program reads as well.  Read live a
 * second time, code the JIT wrote in between (HotSpot patching a call,
 * QEMU chaining blocks) was described from other bytes than recorded; the
 * dirty pass's cache is too small to hold what a busy pass records. */
#define BOTH_BYTES (64u << 20) /* reserved; pages are touched as used */
#define BOTH_RANGES 4096u
static struct jp_readcache both;

/* Live code, no fault on a racing munmap; what this pass read, once (readcache.h). */
static ssize_t read_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (both.buf)
		return jp_readcache_read(&both, jp_eng.pid, addr, buf, len);
	return jp_readcache_read(&jp_eng.dirty.cache, jp_eng.pid, addr, buf, len);
}

static void alloc_both(void)
{
	uint8_t *buf = jp_sys_mmap(NULL, BOTH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				   -1, 0);
	struct jp_readcache_seg *seg = jp_sys_alloc(BOTH_RANGES * sizeof(*seg));

	if (!buf || !seg) { /* read live twice */
		if (buf)
			jp_sys_munmap(buf, BOTH_BYTES);
		if (seg)
			jp_sys_free(seg, BOTH_RANGES * sizeof(*seg));
		return;
	}
	jp_readcache_init_table(&both, buf, BOTH_BYTES, seg, BOTH_RANGES);
}

/* The code a runtime's own names are read from (lib/v8.c, lib/mozjs.c), kept for the
 * rest of the pass: the reconciler and the record read it from there. */
static ssize_t keep_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	ssize_t got = (ssize_t)len;
	const uint8_t *p = jp_readcache_get(&jp_eng.dirty.cache, addr, len); /* hashed: read already */

	(void)ctx;
	if (!p)
		p = jp_readcache_fill(&jp_eng.dirty.cache, jp_eng.pid, addr, len, &got);
	if (!p || got <= 0)
		return read_code(NULL, addr, buf, len);
	memcpy(buf, p, (size_t)got);
	return got;
}

/* JITPERF_DESCRIBE=after: a name published, for the description after the
 * run (the engine's lock is held: names are read by the epoch thread). */
static void log_known(uint64_t addr, uint64_t size, const char *name, uint32_t flags)
{
	jp_deferlog_known(&jp_eng.out, addr, size, name, flags, jp_now_ns());
}

/* JITPERF_DESCRIBE=after: [a, b) as this pass reads it (the reconciler's
 * buffer is free between its calls).  Every range of a pass goes before
 * the first reconciliation: reconciling one range reads on into the next
 * when a piece runs across. */
static void defer_pages(const struct jp_region *r, uint64_t a, uint64_t b, uint64_t now)
{
	for (uint64_t x = a; x < b;) {
		size_t want = b - x < jp_eng.rec.chunk ? (size_t)(b - x) : jp_eng.rec.chunk;
		ssize_t got;
		const uint8_t *p = both.buf ? jp_readcache_fill(&both, jp_eng.pid, x, want, &got) : NULL;

		if (!p) {
			got = read_code(NULL, x, jp_eng.rec.buf, want);
			p = jp_eng.rec.buf;
		}
		if (got <= 0)
			break;
		jp_deferlog_pages(&jp_eng.out, jp_creator_id_name(r->creator), x, p, (uint64_t)got, now);
		x += (uint64_t)got;
		if ((size_t)got < want)
			break;
	}
}

/* JITPERF_DESCRIBE=after: what the reconciler would have been asked. */
static void defer_reconcile(const struct jp_region *r, uint64_t a, uint64_t b, uint64_t now, uint64_t ts_new,
			    uint32_t flags)
{
	if (jp_eng.rec.fde)
		flags |= JD_JP_F_FDE;
	if (jp_eng.cfg.describe == JP_DESCRIBE_BOTH)
		flags |= JD_JP_F_BOTH;
	jp_deferlog_capture(&jp_eng.out, JD_JP_CAPTURE, r, jp_creator_id_name(r->creator), a, b, now, ts_new, flags);
}

/* Scratch: the dirty-page pass's page copies (the reconciler's, until the
 * pass ends) and /proc/self/maps text, in turn; the reconciler has its own. */
static int alloc_buffers(void)
{
	jp_eng.scratch = jp_sys_alloc(JP_ENGINE_CHUNK);
	if (!jp_eng.scratch)
		return -ENOMEM;
	jp_eng.dirty.pagesz = jp_eng.pagesz;
	jp_eng.dirty.pid = jp_eng.pid;
	jp_eng.dirty.mode = jp_eng.cfg.track;
	jp_eng.dirty.wt = &jp_eng.wt;
	jp_eng.dirty.buf = jp_eng.scratch;
	jp_eng.dirty.buf_len = JP_ENGINE_CHUNK;
	jp_output_sink(&jp_eng.out, &jp_eng.rec.sink);
	jp_eng.rec.sink.read = read_code;
	jp_eng.rec.fde = jp_eng.cfg.unwind != JP_UNWIND_MODE_EMPTY;
	if (jp_dirty_init(&jp_eng.dirty) < 0 || jp_reconciler_init(&jp_eng.rec, NULL, JP_RECONCILE_CHUNK, JP_RECONCILE_MAX_PIECES) < 0)
		return -ENOMEM;
	if (jp_engine_describe_after(NULL))
		jp_known_observe(log_known);
	if (jp_eng.cfg.describe == JP_DESCRIBE_BOTH)
		alloc_both();
	return 0;
}

static void arm_wipe(void)
{
	int saved = errno;

	if (!jp_eng.wipe) {
		jp_eng.wipe = jp_sys_alloc_apart(4096); /* madvised: not in the huge-page zone */
		/* Linux >= 4.14; elsewhere jp_engine_enter() asks getpid(). */
		if (jp_eng.wipe && jp_syscall(SYS_madvise, (void *)jp_eng.wipe, 4096, 18 /* MADV_WIPEONFORK */) != 0) {
			jp_sys_free((void *)jp_eng.wipe, 4096);
			jp_eng.wipe = NULL;
		}
	}
	if (jp_eng.wipe)
		*jp_eng.wipe = 1;
	errno = saved;
}

int jp_capture_init(void)
{
	int s = __atomic_load_n(&jp_eng.state, __ATOMIC_ACQUIRE);
	int expect = ST_UNINIT;
	long pg;

	if (s == ST_ACTIVE)
		return 1;
	if (s != ST_UNINIT)
		return 0;
	/* Set before initialising (libfaketime's habit): memory calls made
	 * while we initialise see "initialising" and pass through. */
	if (!__atomic_compare_exchange_n(&jp_eng.state, &expect, ST_INITIALIZING, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return __atomic_load_n(&jp_eng.state, __ATOMIC_ACQUIRE) == ST_ACTIVE;
	jp_config_load(&jp_eng.cfg, NULL);
	jp_hash_init();
	pg = sysconf(_SC_PAGESIZE);
	jp_eng.pagesz = pg > 0 ? (uint64_t)pg : 4096;
	jp_eng.pid = jp_sys_getpid();
	jp_eng.wt.uffd = jp_eng.wt.pagemap = -1;
	jp_eng.out.cfg = &jp_eng.cfg;
	jp_eng.out.pid = jp_eng.pid;
	if (!jp_eng.cfg.enabled) {
		jp_engine_turn_off();
		return 0;
	}
	arm_wipe();
	jp_fd_table_reserve();
	if (alloc_buffers() < 0) {
		jp_err("cannot allocate %u KiB of working memory; jitperf is off", JP_ENGINE_CHUNK >> 10);
		jp_engine_turn_off();
		return 0;
	}
	/* The net needs the thread even if no hook ever sees JIT memory:
	 * the constructor starts it (jp_capture_thread_pause), or a hook. */
	jp_eng.thread_state = jp_eng.cfg.scan ? 3 : 0;
	__atomic_store_n(&jp_eng.state, ST_ACTIVE, __ATOMIC_RELEASE);
	return 1;
}

int jp_capture_active(void)
{
	return __atomic_load_n(&jp_eng.state, __ATOMIC_ACQUIRE) == ST_ACTIVE;
}

static void become_child(void);
void jp_engine_release_range(uint64_t start, uint64_t end);

/* Depth of jp_capture_hold() on this thread: the hooks hold the engine lock
 * across the real call, and the entry points they call inside must not
 * take it again. */
static __thread int held __attribute__((tls_model("initial-exec")));
static __thread int held_cancel __attribute__((tls_model("initial-exec")));

/* Take the engine lock; 0 when the engine is not active. */
int jp_engine_enter(void)
{
	if (held)
		return jp_eng.state == ST_ACTIVE;
	if (__atomic_load_n(&jp_eng.state, __ATOMIC_ACQUIRE) != ST_ACTIVE && !jp_capture_init())
		return 0;
	pthread_mutex_lock(&jp_eng.lock);
	if (jp_eng.state != ST_ACTIVE) {
		pthread_mutex_unlock(&jp_eng.lock);
		return 0;
	}
	/* A child made by a raw clone() ran no atfork handler: it must not
	 * write into its parent's dump.  The kernel zeroes the wipe-on-fork
	 * page in every child, so one load tells, without a getpid() call
	 * on every slow path. */
	if (jp_eng.wipe ? __atomic_load_n(jp_eng.wipe, __ATOMIC_RELAXED) != 1 : jp_sys_getpid() != jp_eng.pid)
		become_child();
	/* The program may have closed our descriptors and reused the numbers. */
	if (jp_eng.wt.state == 1 && !jp_wtrack_check(&jp_eng.wt))
		jp_dirty_wtrack_lost(&jp_eng.dirty, &jp_eng.regs);
	return 1;
}

void jp_engine_leave(void)
{
	if (!held)
		pthread_mutex_unlock(&jp_eng.lock);
}

int jp_capture_hold(void)
{
	int old;

	/* A cancellation point inside jitperf (write, open, nanosleep) must
	 * not unwind the thread while it holds the engine lock. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	if (held || !jp_engine_enter()) {
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
	pthread_mutex_unlock(&jp_eng.lock);
	pthread_setcancelstate(held_cancel, NULL);
}

/* ---- output ------------------------------------------------------------- */

/* Outputs that fail for good turn the engine off (they said why). */
void jp_engine_ensure_output(void)
{
	if (jp_output_ready(&jp_eng.out) == -ESHUTDOWN || jp_eng.out.shutdown)
		jp_engine_turn_off();
}

static void flush_output(void)
{
	if (jp_output_flush(&jp_eng.out) == -ESHUTDOWN || jp_eng.out.shutdown)
		jp_engine_turn_off();
}

/* In a hook: leave the records batched for the epoch thread, which writes
 * them within one epoch (a write and a descriptor check per hook were an
 * eighth of a W^X toggle's cost).  Without a capture thread, write now. */
void jp_engine_hook_flush(void)
{
	if (jp_eng.thread_state != 1)
		flush_output();
}

/* The earliest time a LOAD may carry: perf drops it behind a kernel mmap
 * event it keeps if it is older, and cannot place it before the marker. */
static uint64_t floor_ts(const struct jp_region *r)
{
	uint64_t marker = jp_output_open_ts(&jp_eng.out);

	return (marker > r->last_event_ts ? marker : r->last_event_ts) + 1;
}

/* Code HotSpot made (docs/naming.md, *HotSpot's own names*): its creator
 * is libjvm.so, whose short name is "jvm". */
static int jvm_code(const struct jp_region *r)
{
	return !strcmp(jp_creator_id_name(r->creator), "jvm");
}

/* Code V8 made, to be named from its heap: not once node's own perf map
 * names code (jitperf-run asks for it), which names every function. */
static int v8_code(const struct jp_region *r)
{
	const char *v8 = jp_v8_creator();

	return v8 && !jp_known_runtime_map() && !strcmp(jp_creator_id_name(r->creator), v8);
}

/* Code SpiderMonkey made, to be named from its code table (lib/mozjs.h). */
static int mozjs_code(const struct jp_region *r)
{
	const char *mozjs = jp_mozjs_creator();

	return mozjs && !strcmp(jp_creator_id_name(r->creator), mozjs);
}

/* One capture pass over region i, looking for changes in [lo, hi). */
void jp_engine_capture_region(size_t i, uint64_t now, int reannounce, uint64_t lo, uint64_t hi)
{
	struct jp_region *r = &jp_eng.regs.r[i];
	uint64_t ts_new = floor_ts(r), t0 = jp_log_work_ns(), collected;
	int now_too = jp_engine_describe_now(r), after = jp_engine_describe_after(r);
	size_t n;

	/* The caller's clock may predate the marker (the dump can be opened
	 * during this very call): nothing may be dated before the floor. */
	if (now < ts_new)
		now = ts_new;
	if (r->last_scan_ts >= ts_new)
		ts_new = r->last_scan_ts + 1;
	if (ts_new > now)
		ts_new = now;
	jp_dirty_heap(&jp_eng.dirty, r, jp_budget_begin(jp_creator_id_name(r->creator))); /* heaps: sparingly */
	/* What is written from now on is found by the next pass, which may
	 * date it from now (the end of this pass can be an epoch later). */
	collected = jp_now_ns();
	n = jp_dirty_collect_in(&jp_eng.dirty, r, lo, hi);
	jp_eng.st.captures++;
	/* HotSpot's compiled methods, V8's optimised functions and
	 * SpiderMonkey's code get their own names before they are cut (and,
	 * recording, before the pages: the describer sees the names first as
	 * the program did). */
	for (size_t k = 0; k < n && jvm_code(r); k++)
		(void)jp_hotspot_publish(jp_eng.dirty.out[k].start, jp_eng.dirty.out[k].end);
	for (size_t k = 0; k < n && v8_code(r); k++)
		(void)jp_v8_publish(jp_eng.dirty.out[k].start, jp_eng.dirty.out[k].end, keep_code, NULL);
	for (size_t k = 0; k < n && mozjs_code(r); k++)
		(void)jp_mozjs_publish(jp_eng.dirty.out[k].start, jp_eng.dirty.out[k].end, keep_code, NULL);
	for (size_t k = 0; k < n && after; k++)
		defer_pages(r, jp_eng.dirty.out[k].start, jp_eng.dirty.out[k].end, now);
	for (size_t k = 0; k < n; k++) {
		uint64_t a = jp_eng.dirty.out[k].start, b = jp_eng.dirty.out[k].end;

		jp_eng.st.dirty_pages += (b - a) / jp_eng.pagesz;
		if (after)
			defer_reconcile(r, a, b, now, ts_new, JD_JP_F_BUDGET);
		if (now_too)
			jp_reconcile(&jp_eng.rec, r, a, b, now, ts_new);
	}
	jp_budget_end();
	/* perf keeps the kernel event that made [heap] or a file view
	 * executable again, and it hides what we announced: both what was
	 * recorded and, for a creator switched back to describing in the
	 * program, what the program described. */
	if ((reannounce || r->regrant) && jp_engine_describe_after(NULL))
		jp_deferlog_capture(&jp_eng.out, JD_JP_REANNOUNCE, r, jp_creator_id_name(r->creator), 0, 0, now, 0,
				    jp_eng.rec.fde ? JD_JP_F_FDE : 0);
	if ((reannounce || r->regrant) && now_too)
		jp_reconcile_reannounce(&jp_eng.rec, r, now);
	r->last_scan_ts = collected;
	jp_readcache_reset(&jp_eng.dirty.cache); /* the copies are this pass's only */
	jp_readcache_reset(&both);
	if (!jp_eng.thr.running || !pthread_equal(pthread_self(), jp_eng.thr.th)) /* capture thread: busy_ns */
		jp_eng.st.capture_ns += jp_log_work_ns() - t0;
	if (jp_eng.out.shutdown)
		jp_engine_turn_off();
}

/* Delete region i: its pieces are gone with it. */
void jp_engine_delete_region(size_t i)
{
	if (jp_engine_describe_after(NULL))
		jp_deferlog_span(&jp_eng.out, JD_JP_FORGET, jp_eng.regs.r[i].start, jp_eng.regs.r[i].end, jp_now_ns());
	jp_regions_delete(&jp_eng.regs, i);
}

/* Forget the pieces of region i within [start, end). */
void jp_engine_drop_pieces(size_t i, uint64_t start, uint64_t end)
{
	if (jp_engine_describe_after(NULL))
		jp_deferlog_span(&jp_eng.out, JD_JP_DROP, start, end, jp_now_ns());
	jp_desc_drop(&jp_eng.regs.r[i], start, end);
}

/* Forget regions found to be gone (unmapped without a hook). */
static void sweep_dead(void)
{
	for (size_t i = 0; i < jp_eng.regs.n;) {
		if (jp_eng.regs.r[i].dead)
			jp_engine_delete_region(i);
		else
			i++;
	}
	jp_engine_publish_bounds();
}

/* A pass over the executable regions in [start, end), but those that cannot
 * have changed (and, the epoch's pass, grant < 0: quiet ones not due).  At an
 * exec grant every region in the range is read (only there: what it was joined
 * with is unchanged, jp_dirty_join), and [heap] and file views are announced
 * again: perf keeps the kernel mmap event the grant made, hiding our LOADs. */
void jp_engine_capture_range(uint64_t start, uint64_t end, uint64_t now, int grant)
{
	int dead = 0;

	for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++) {
		struct jp_region *r = &jp_eng.regs.r[i];

		if (grant > 0)
			jp_engine_capture_region(i, now, r->kind == JP_RK_HEAP || r->kind >= JP_RK_FILE, start, end);
		else if (!jp_dirty_frozen(r) && r->exec && (grant == 0 || jp_dirty_due(r)))
			jp_engine_capture_region(i, now, 0, 0, UINT64_MAX);
		dead |= jp_eng.regs.r[i].dead;
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
	size_t n = jp_eng.regs.n ? jp_known_refresh(jp_eng.cfg.perfmap && !strcmp(jp_eng.cfg.perfmap_dir, "/tmp"), &ch) : 0;
	uint64_t logged = 0; /* pages below this were recorded by this call (names come in address order) */

	for (size_t k = 0; k < n; k++) {
		uint64_t now = jp_now_ns(), start = jp_engine_page_down(ch[k].start), end = ch[k].end;

		for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++) {
			struct jp_region *r = &jp_eng.regs.r[i];
			uint64_t a = start > r->start ? start : r->start, b = end < r->end ? end : r->end;

			if (r->exec && a < b && jp_engine_describe_after(r)) {
				uint64_t hi = jp_engine_page_up(b);

				if (hi > logged)
					defer_pages(r, a > logged ? a : logged, hi, now);
				logged = hi > logged ? hi : logged;
				defer_reconcile(r, a, b, now, floor_ts(r), 0);
			}
			if (r->exec && a < b && jp_engine_describe_now(r))
				jp_reconcile(&jp_eng.rec, r, a, b, now, floor_ts(r));
		}
	}
	if (jp_eng.out.shutdown)
		jp_engine_turn_off();
}

/* Code a hook's pass cut before a runtime's tables were read is read
 * again, whole, by this epoch's pass: its functions get their names (a
 * piece whose name changes is announced anew). */
static void read_again(int (*made_by)(const struct jp_region *))
{
	for (size_t i = 0; i < jp_eng.regs.n; i++)
		if (made_by(&jp_eng.regs.r[i]))
			jp_eng.regs.r[i].needs_full = 1;
}

/* A JVM's tables are read once its code cache exists, V8's constants and
 * SpiderMonkey's code table once there is any code (from this thread:
 * finding the objects takes the loader's lock, which a hook must not). */
static void attach_runtimes(void)
{
	static int jvm_attached;

	if (!jp_eng.regs.n)
		return;
	if (!jp_v8_creator() && jp_v8_attach_self())
		read_again(v8_code);
	if (!jp_mozjs_creator() && jp_mozjs_attach_self())
		read_again(mozjs_code);
	for (size_t i = 0; i < jp_eng.regs.n && !jvm_attached; i++)
		if (jvm_code(&jp_eng.regs.r[i])) {
			if (jp_hotspot_attach_self()) {
				jvm_attached = 1;
				read_again(jvm_code);
			}
			return;
		}
}

static void *epoch_main(void *arg)
{
	uint64_t gen = (uint64_t)(uintptr_t)arg;

	jp_guard = 1; /* our own memory calls pass through the hooks */
	pthread_setname_np(pthread_self(), "jitperf");
	for (;;) {
		unsigned epochs = jp_eng.cfg.scan ? (unsigned)jp_eng.st.epochs : ~0u;

		if (jp_thread_sleep(&jp_eng.thr, jp_unseen_delay_ns(epochs, jp_eng.cfg.epoch_ms)))
			break;
		pthread_mutex_lock(&jp_eng.lock);
		if (jp_eng.state != ST_ACTIVE || jp_eng.thread_gen != gen) {
			pthread_mutex_unlock(&jp_eng.lock);
			break;
		}
		jp_eng.st.epochs++;
		held = 1; /* entry points called from here keep the lock */
		/* Names the process publishes first, so new code is named by
		 * them in this very pass. */
		reconcile_renamed();
		attach_runtimes();
		/* The net (lib/unseen.c): JIT memory made executable with no call we
		 * saw, taken in as if a hook saw it made executable and writable. */
		if (jp_eng.cfg.scan && jp_unseen_due((unsigned)jp_eng.st.epochs, jp_eng.cfg.epoch_ms)) /* quiet: less often */
			jp_eng.st.unseen += jp_unseen_take(&jp_eng.regs, (char *)jp_eng.scratch, JP_ENGINE_CHUNK,
							   jp_capture_mprotect_done);
		jp_engine_capture_range(0, UINT64_MAX, jp_now_ns(), -1);
		flush_output();
		held = 0;
		pthread_mutex_unlock(&jp_eng.lock);
		if (jp_capture_epoch_extra)
			jp_capture_epoch_extra();
	}
	return NULL;
}

void jp_engine_ensure_thread(void)
{
	int r;

	if ((jp_eng.thread_state != 0 && jp_eng.thread_state != 3) || jp_eng.cfg.epoch_ms == 0)
		return;
	r = jp_thread_start(&jp_eng.thr, epoch_main, (void *)(uintptr_t)jp_eng.thread_gen, EPOCH_STACK);
	if (r != 0) {
		jp_eng.thread_state = -1;
		jp_err("cannot start the capture thread (%s): code written into executable memory with no call is captured only when it is unmapped or at exit",
		       jp_strerror(r));
		return;
	}
	jp_eng.thread_state = 1;
}

void jp_capture_thread_pause(int pause)
{
	int stop;

	if (!jp_engine_enter())
		return;
	stop = pause && jp_eng.thread_state == 1;
	if (stop)
		jp_eng.thread_state = 2; /* no hook starts it meanwhile */
	if (!pause && jp_eng.thread_state >= 2) {
		jp_eng.thread_state = 0;
		jp_engine_ensure_thread();
	}
	jp_engine_leave();
	if (stop) /* without the lock: the thread may be waiting for it */
		jp_thread_stop(&jp_eng.thr);
}

/* ---- exec ---------------------------------------------------------------- */

static void capture_all(void)
{
	jp_engine_capture_range(0, UINT64_MAX, jp_now_ns(), 0);
	flush_output();
}

void jp_capture_exec_before(void)
{
	if (!jp_engine_enter())
		return;
	/* A fork child about to exec has nothing of its own to say. */
	if (!jp_eng.child_pending && jp_eng.pid == jp_sys_getpid())
		capture_all();
	jp_engine_leave();
}

/* ---- introspection ------------------------------------------------------ */

/* The counters kept by the engine and by the modules it drives. */
static struct jp_capture_stats stats_now(void)
{
	struct jp_capture_stats s = jp_eng.st;

	s.regions = jp_eng.regs.n;
	s.patched = jp_eng.rec.patched;
	s.rewritten = jp_eng.rec.rewritten;
	s.loads = jp_eng.out.loads;
	s.load_bytes = jp_eng.out.load_bytes;
	s.moves = jp_eng.out.moves;
	s.deferred_bytes = jp_eng.out.deferred_bytes;
	s.wp_regions = jp_eng.dirty.wp_regions;
	s.hash_regions = jp_eng.dirty.hash_regions;
	s.capture_ns += __atomic_load_n(&jp_eng.thr.busy_ns, __ATOMIC_RELAXED);
	return s;
}

void jp_capture_get_stats(struct jp_capture_stats *s)
{
	pthread_mutex_lock(&jp_eng.lock);
	*s = stats_now();
	pthread_mutex_unlock(&jp_eng.lock);
}

void jp_capture_exit(void)
{
	struct timespec ts;

	/* A vfork child (leaving by _exit) shares our memory: not ours to turn off. */
	if (__atomic_load_n(&jp_eng.state, __ATOMIC_ACQUIRE) != ST_ACTIVE || jp_eng.pid != jp_sys_getpid())
		return;
	/* Never hang the host's exit: a thread that died holding the lock
	 * (or exit called from a signal handler that interrupted us). */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	if (pthread_mutex_timedlock(&jp_eng.lock, &ts) != 0)
		return;
	if (jp_eng.state == ST_ACTIVE && !jp_eng.child_pending && jp_eng.pid == jp_sys_getpid()) {
		struct jp_capture_stats s;
		const char *path;

		capture_all();
		s = stats_now();
		path = jp_output_dump_path(&jp_eng.out);
		jp_capstats_say(&s, path);
		jp_output_close(&jp_eng.out);
	}
	jp_eng.thread_gen++;
	jp_engine_turn_off();
	pthread_mutex_unlock(&jp_eng.lock);
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
void jp_engine_release_range(uint64_t start, uint64_t end)
{
	for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++)
		if (jp_eng.regs.r[i].track == JP_RT_WP)
			jp_dirty_disarm(&jp_eng.dirty, &jp_eng.regs.r[i]);
}

void jp_capture_fork_prepare(void)
{
	/* Hold the lock across fork so the child's copy of the state is
	 * consistent.  If this thread is inside jitperf already (fork from a
	 * signal handler that interrupted a hook), taking it would deadlock. */
	fork_locked = 0;
	if (jp_guard || __atomic_load_n(&jp_eng.state, __ATOMIC_ACQUIRE) != ST_ACTIVE)
		return;
	pthread_mutex_lock(&jp_eng.lock);
	fork_locked = 1;
	jp_engine_release_range(0, UINT64_MAX);
}

void jp_capture_fork_parent(void)
{
	if (fork_locked)
		pthread_mutex_unlock(&jp_eng.lock);
	fork_locked = 0;
}

void jp_capture_fork_child(void)
{
	int consistent = fork_locked;

	pthread_mutex_init(&jp_eng.lock, NULL);
	fork_locked = 0;
	if (__atomic_load_n(&jp_eng.state, __ATOMIC_ACQUIRE) != ST_ACTIVE)
		return;
	if (!consistent) {
		/* Forked while the engine was mid-update: trust nothing. */
		jp_engine_turn_off();
		return;
	}
	become_child();
}

/* Reset the engine for a new process that inherited our state. */
static void become_child(void)
{
	if (jp_eng.wipe)
		*jp_eng.wipe = 1;
	jp_eng.pid = jp_sys_getpid();
	jp_eng.dirty.pid = jp_eng.pid;
	jp_eng.child_pending = 1;
	jp_eng.thread_state = 0;
	jp_eng.thr = (struct jp_thread){ 0 }; /* the parent's thread is not ours to join */
	jp_eng.thread_gen++;
	/* The parent's dump is the parent's: a child writes its own
	 * jit-<childpid>.dump, created when it has something to announce. */
	jp_eng.out.pid = jp_eng.pid;
	jp_output_forget(&jp_eng.out);
	/* Both descriptors still point at the parent's address space. */
	jp_wtrack_forget(&jp_eng.wt);
	jp_known_fork_child();
	memset(&jp_eng.st, 0, sizeof(jp_eng.st));
	jp_eng.rec.patched = 0;
	jp_eng.rec.rewritten = 0;
	jp_eng.dirty.wp_regions = jp_eng.dirty.hash_regions = 0;
	for (size_t i = 0; i < jp_eng.regs.n; i++) {
		struct jp_region *r = &jp_eng.regs.r[i];

		/* The child's mappings are no longer registered; everything
		 * inherited is announced again in the child's own dump. */
		r->track = JP_RT_NONE;
		r->needs_full = 1;
		r->last_scan_ts = 0;
		for (uint32_t k = 0; k < r->nd; k++)
			r->d[k].index = JP_NO_INDEX;
	}
	jp_eng.st.regions = jp_eng.regs.n;
}
