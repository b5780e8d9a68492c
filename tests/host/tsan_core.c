/* tsan_core.c - drive the capture engine's entry points from many threads directly (built with -fsanitize=thread by tests/stress/run).
 *
 * Usage: tsan_core THREADS CYCLES
 *
 * Not preloaded: the program calls the real mmap/mprotect/munmap/mremap/
 * madvise itself and reports each call to the engine exactly as
 * preload/hooks.c does (guard set, engine held across the real call,
 * before/after calls around it),
 * so ThreadSanitizer sees every access the engine makes, from the callers'
 * threads, the epoch thread (JITPERF_EPOCH_MS, default 1 here) and fork
 * handlers.  Exits 0 when every generated function ran right; TSan's
 * exit code reports races. */
#include <errno.h>
#include <sys/wait.h>

#include "capture.h"
#include "hostlib.h"

static size_t pg;
static unsigned long mremap_failures;

static void wx_cycle(uint32_t id)
{
	size_t len = pg * (1 + id % 3);
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int h;

	if (p == MAP_FAILED)
		jl_die("mmap: %s", strerror(errno));
	jl_emit(p, id);
	jp_guard = 1;
	h = jp_capture_hold();
	{
		uint64_t a = (uintptr_t)p, l = len;

		jp_capture_mprotect_before(&a, &l, PROT_READ | PROT_EXEC);
	}
	if (mprotect(p, len, PROT_READ | PROT_EXEC))
		jl_die("mprotect: %s", strerror(errno));
	jp_capture_mprotect_done((uintptr_t)p, len, PROT_READ | PROT_EXEC);
	jp_capture_release(h);
	jp_guard = 0;
	if (((jl_entry)p)(7) != jl_ref(id, 7))
		jl_die("wrong result at %p", (void *)p);
	jp_guard = 1;
	h = jp_capture_hold();
	jp_capture_unmap_before((uintptr_t)p, len);
	munmap(p, len);
	jp_capture_unmap_done((uintptr_t)p, len);
	jp_capture_release(h);
	jp_guard = 0;
}

static void rwx_cycle(uint32_t id)
{
	size_t len = 2 * pg, nlen = 4 * pg;
	uint8_t *p, *q;
	int h;

	jp_guard = 1;
	h = jp_capture_hold();
	p = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		jl_die("mmap: %s", strerror(errno));
	jp_capture_mmap_done(p, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jp_capture_release(h);
	jp_guard = 0;
	jl_emit(p, id);
	if (((jl_entry)p)(5) != jl_ref(id, 5))
		jl_die("wrong result at %p", (void *)p);
	jp_guard = 1;
	h = jp_capture_hold();
	jp_capture_unmap_before((uintptr_t)p, pg);
	madvise(p, pg, MADV_DONTNEED);
	jp_capture_discard_done((uintptr_t)p, pg);
	jp_capture_release(h);
	h = jp_capture_hold();
	jp_capture_unmap_before((uintptr_t)p, len);
	q = mremap(p, len, nlen, MREMAP_MAYMOVE);
	if (q == MAP_FAILED) {
		/* The shim's own VMA split (see tests/e2e/host_bug_mremap_race.sh):
		 * counted, not fatal here, where races in the engine are the point. */
		__atomic_fetch_add(&mremap_failures, 1, __ATOMIC_RELAXED);
		munmap(p, len);
		jp_capture_unmap_done((uintptr_t)p, len);
		jp_capture_release(h);
		jp_guard = 0;
		return;
	}
	jp_capture_mremap_done((uintptr_t)p, len, (uintptr_t)q, nlen);
	jp_capture_release(h);
	jp_guard = 0;
	jl_emit(q + pg, id + 1);
	if (((jl_entry)(q + pg))(5) != jl_ref(id + 1, 5))
		jl_die("wrong result at %p", (void *)(q + pg));
	jp_guard = 1;
	h = jp_capture_hold();
	jp_capture_unmap_before((uintptr_t)q, nlen);
	munmap(q, nlen);
	jp_capture_unmap_done((uintptr_t)q, nlen);
	jp_capture_release(h);
	jp_guard = 0;
}

struct worker {
	pthread_t th;
	unsigned tid, cycles;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < w->cycles; i++) {
		uint32_t id = w->tid * 100003u + i * 4u;

		if (i % 2)
			wx_cycle(id);
		else
			rwx_cycle(id);
		if (w->tid == 0 && i % 200 == 199) {
			pid_t pid;
			int st;

			pid = fork();
			if (pid == 0) {
				wx_cycle(id + 2);
				jp_guard = 1;
				jp_capture_exit();
				_exit(0);
			}
			waitpid(pid, &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				jl_die("fork child failed: %#x", st);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 8, cycles = argc > 2 ? (unsigned)atoi(argv[2]) : 500;
	struct worker *w = calloc(n, sizeof(*w));

	jl_init(argv[0]);
	pg = jl_page();
	setenv("JITPERF_EPOCH_MS", getenv("JITPERF_EPOCH_MS") ? getenv("JITPERF_EPOCH_MS") : "1", 1);
	jp_guard = 1;
	if (jp_capture_init())
		pthread_atfork(jp_capture_fork_prepare, jp_capture_fork_parent, jp_capture_fork_child);
	jp_guard = 0;
	for (unsigned t = 0; t < n; t++) {
		w[t].tid = t;
		w[t].cycles = cycles;
		pthread_create(&w[t].th, NULL, worker_main, &w[t]);
	}
	for (unsigned t = 0; t < n; t++)
		pthread_join(w[t].th, NULL);
	jp_guard = 1;
	jp_capture_exit();
	jp_guard = 0;
	printf("tsan_core: %u threads x %u cycles: ok (%lu host mremaps failed with EFAULT)\n", n, cycles, mremap_failures);
	free(w);
	return 0;
}
