/* jpbench.c - controlled workloads for tests/bench/run: per-call loops, code churn, idle code regions, start-up and whole-program timing.
 *
 * One binary, one subcommand per measurement; every subcommand prints a
 * single line of key=value pairs on stdout that the driver parses:
 *
 *   jpbench calls MODE ITERS [ab]
 *	Loop one kind of memory call ITERS times (after a warm-up) and print
 *	ns per operation.  With "ab" (non-exec modes), also time batches
 *	through the interposed calls and through libc's own, alternated in
 *	this one process: the hooks' own cost, free of layout effects.  The
 *	loop is the function bench_loop(), so that valgrind --tool=callgrind
 *	--toggle-collect=bench_loop counts only it; the driver subtracts two
 *	iteration counts to cancel set-up costs.
 *	MODEs: mmap, mprotect (non-exec calls, nothing tracked), mmap_near,
 *	mprotect_near, madvise_near (non-exec calls on a page that lies
 *	between two tracked RWX regions), wx (W^X toggle: RW, write a fresh
 *	function, RX, call it), wx_same (toggle, code unchanged), create (mmap
 *	RWX + munmap: the creating call), create_mprotect (mmap RW, write,
 *	mprotect RX, munmap: LuaJIT's way).
 *
 *   jpbench churn SECONDS KBPS REGION_MB FILL_MB
 *	An RWX region of REGION_MB; FILL_MB of functions written at start, then
 *	for SECONDS, every 10 ms, fresh functions written (KBPS KB a second)
 *	over a ring of at most 16 MiB, each called once; the thread sleeps in
 *	between.  Prints process, main-thread and "jitperf"-thread CPU, for
 *	the whole run and for the steady phase (after the kept code was
 *	described: first_shim_cpu_s is what that first description cost).
 *
 *   jpbench work ROUNDS KB_PER_ROUND ITERS_PER_ROUND
 *	Fixed work on an RWX region whose code changes continuously: each
 *	round writes KB_PER_ROUND of fresh functions over a 4 MiB ring, then
 *	runs them for ITERS_PER_ROUND loop iterations in total.
 *
 *   jpbench spawn N SHIM CMD [ARG...]
 *	Start CMD N times without and N times with LD_PRELOAD=SHIM, the two
 *	interleaved, and print the medians (microseconds) and the median of
 *	the paired differences.
 *
 *   jpbench dumpstat DUMP...
 *	Count the records of jitdump files: LOADs, MOVEs, code bytes in LOADs,
 *	and new code bytes (bytes whose address was never described before
 *	or held other bytes then: the distinct code the dumps describe).
 *
 *   jpbench run [-e NAME=VALUE]... CMD [ARG...]
 *	Run CMD once, with NAME=VALUE added to its environment only; print
 *	its wall time and CPU time (all threads, children waited for) in
 *	seconds, and its exit status.
 *
 * The functions written are real x86-64 code, verified by calling them:
 *
 *	push rbp; mov rbp,rsp; mov rax,seed; mov rcx,mul; (mov r9,imm64)*k
 *	test rdi,rdi; jz done
 * loop: imul rax,rcx; add rax,rdi; dec rdi; jnz loop
 * done: pop rbp; ret
 *
 * followed by at least 16 bytes of int3 up to a 32-byte boundary, so that
 * every function is one piece for the shim's splitter. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)
#define PRIV_ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define FN_ALIGN 32u
#define FN_GAP 16u      /* int3 bytes after a function, at least */
#define FN_MAX 1200u

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("jpbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void *xmmap(void *addr, size_t len, int prot, int flags)
{
	void *p = mmap(addr, len, prot, flags, -1, 0);

	if (p == MAP_FAILED)
		die("mmap(%p, %zu, %#x, %#x): %s", addr, len, prot, flags, strerror(errno));
	return p;
}

static void xmprotect(void *addr, size_t len, int prot)
{
	if (mprotect(addr, len, prot))
		die("mprotect(%p, %zu, %#x): %s", addr, len, prot, strerror(errno));
}

static long parse_num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		die("bad %s '%s'", what, s);
	return v;
}

/* ---- code ---------------------------------------------------------------- */

typedef uint64_t (*fn_t)(uint64_t n);

static uint64_t fn_seed(uint64_t id)
{
	return splitmix(id * 3 + 1);
}

static uint64_t fn_mul(uint64_t id)
{
	return splitmix(id * 3 + 2) | 1;
}

/* What function id computes for n. */
static uint64_t fn_ref(uint64_t id, uint64_t n)
{
	uint64_t x = fn_seed(id), m = fn_mul(id);

	for (; n; n--)
		x = x * m + n;
	return x;
}

static size_t put64(uint8_t *w, size_t o, uint64_t v)
{
	memcpy(w + o, &v, 8);
	return o + 8;
}

/* Size of function id: 64 to ~1 KiB, about 400 bytes on average. */
static size_t fn_fillers(uint64_t id)
{
	return (size_t)(splitmix(id ^ 0x5a5a) % 96);
}

/* Length of function id's code. */
static size_t fn_len(uint64_t id)
{
	return 43 + 10 * fn_fillers(id);
}

/* Write function id at w; returns its length, fn_len(id). */
static size_t fn_emit(uint8_t *w, uint64_t id)
{
	static const uint8_t loop[] = {
		0x48, 0x0f, 0xaf, 0xc1, /* imul rax,rcx */
		0x48, 0x01, 0xf8,       /* add rax,rdi */
		0x48, 0xff, 0xcf,       /* dec rdi */
		0x75, 0xf4,             /* jnz loop */
	};
	size_t o = 0, k, nf = fn_fillers(id);

	w[o++] = 0x55; w[o++] = 0x48; w[o++] = 0x89; w[o++] = 0xe5;
	w[o++] = 0x48; w[o++] = 0xb8; o = put64(w, o, fn_seed(id));
	w[o++] = 0x48; w[o++] = 0xb9; o = put64(w, o, fn_mul(id));
	for (k = 0; k < nf; k++) {
		w[o++] = 0x49; w[o++] = 0xb9;
		o = put64(w, o, splitmix(id * 131 + k) | 0x0101010101010101ull);
	}
	w[o++] = 0x48; w[o++] = 0x85; w[o++] = 0xff; /* test rdi,rdi */
	w[o++] = 0x74; w[o++] = sizeof(loop);        /* jz done */
	memcpy(w + o, loop, sizeof(loop));
	o += sizeof(loop);
	w[o++] = 0x5d; w[o++] = 0xc3;
	return o;
}

/* Slot a function occupies: code, then >= FN_GAP int3 to FN_ALIGN. */
static size_t fn_slot(size_t len)
{
	return (len + FN_GAP + FN_ALIGN - 1) & ~(size_t)(FN_ALIGN - 1);
}

/* Write function id at w (room for FN_MAX + padding) with its padding. */
static size_t fn_write(uint8_t *w, uint64_t id)
{
	size_t len = fn_emit(w, id), slot = fn_slot(len);

	memset(w + len, 0xcc, slot - len);
	return slot;
}

static void fn_call_check(const uint8_t *x, uint64_t id, uint64_t n)
{
	uint64_t got = ((fn_t)(uintptr_t)x)(n);

	if (got != fn_ref(id, n))
		die("function %lu at %p returned a wrong value", (unsigned long)id, (const void *)x);
}

/* ---- CPU of the process, of this thread, of the shim's thread ---------- */

/* CPU time of the thread named "jitperf" (the shim's epoch thread), in ns;
 * 0 when there is none.  A thread's CPU clock is readable by any thread of
 * the process through its tid. */
static uint64_t shim_thread_ns(int *found)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	uint64_t total = 0;

	*found = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[64], comm[32] = "";
		int fd, n;
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = (int)read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0 || strncmp(comm, "jitperf\n", 8) != 0)
			continue;
		{
			clockid_t c = (clockid_t)(((unsigned int)~tid << 3) | 6); /* CPUCLOCK_SCHED */
			struct timespec ts;

			if (clock_gettime(c, &ts) == 0) {
				total += (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
				*found = 1;
			}
		}
	}
	closedir(d);
	return total;
}

static void print_cpu(uint64_t wall_ns, uint64_t proc0, uint64_t thr0)
{
	int found;
	uint64_t shim = shim_thread_ns(&found);

	printf("wall_s=%.6f proc_cpu_s=%.6f main_cpu_s=%.6f shim_thread_cpu_s=%.6f shim_thread=%d", wall_ns / 1e9,
	       (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - proc0) / 1e9, (clock_ns(CLOCK_THREAD_CPUTIME_ID) - thr0) / 1e9,
	       shim / 1e9, found);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double median(int64_t *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* ---- calls ----------------------------------------------------------------- */

enum mode { M_MMAP, M_MPROTECT, M_MMAP_NEAR, M_MPROTECT_NEAR, M_MADVISE_NEAR, M_WX, M_WX_SAME, M_CREATE,
	    M_CREATE_MPROTECT };

static const char *const mode_names[] = { "mmap", "mprotect", "mmap_near", "mprotect_near", "madvise_near",
					  "wx", "wx_same", "create", "create_mprotect" };

/* Operations one iteration counts as (the unit of ns_per_op). */
static const int mode_ops[] = { 1, 2, 1, 2, 1, 1, 1, 1, 1 };

/* The memory calls the loop makes: the interposed ones (what the program
 * links to, the shim's when it is preloaded) or libc's own. */
struct memops {
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	int (*mprotect)(void *, size_t, int);
	int (*madvise)(void *, size_t, int);
};

struct calls {
	const struct memops *o;
	size_t pg;
	uint8_t *page;   /* the non-exec page the *_near and plain modes use */
	uint8_t *code;   /* the W^X area */
	uint8_t *hole;   /* where the mmap modes map */
	uint64_t next_id;
};

#define NEAR_SPAN (1u << 20)
#define CREATE_LEN (64u << 10)

/* [RWX][hole][RWX] of NEAR_SPAN each: the hole lies inside the range the
 * shim's fast path must rule out. */
static uint8_t *near_hole(void)
{
	uint8_t *base = xmmap(NULL, 3 * NEAR_SPAN, PROT_NONE, PRIV_ANON);

	xmmap(base, NEAR_SPAN, RWX, PRIV_ANON | MAP_FIXED);
	xmmap(base + 2 * NEAR_SPAN, NEAR_SPAN, RWX, PRIV_ANON | MAP_FIXED);
	/* Some code in them, as in a real JIT. */
	fn_write(base, 1);
	fn_write(base + 2 * NEAR_SPAN, 2);
	fn_call_check(base, 1, 10);
	return base + NEAR_SPAN;
}

/* The measured loop; its name is what callgrind toggles on. */
__attribute__((noinline)) void bench_loop(enum mode m, struct calls *c, long iters);

__attribute__((noinline)) void bench_loop(enum mode m, struct calls *c, long iters)
{
	size_t pg = c->pg;

	for (long i = 0; i < iters; i++) {
		switch (m) {
		case M_MMAP:
		case M_MMAP_NEAR: {
			/* A hint into a hole of our own: the kernel's work then
			 * does not depend on where the shim's own mappings went. */
			void *p = c->o->mmap(c->hole, 4 * pg, PROT_READ | PROT_WRITE,
					     PRIV_ANON | (m == M_MMAP_NEAR ? MAP_FIXED : 0), -1, 0);

			if (p == MAP_FAILED || c->o->munmap(p, 4 * pg))
				die("mmap/munmap: %s", strerror(errno));
			break;
		}
		case M_MPROTECT:
		case M_MPROTECT_NEAR:
			if (c->o->mprotect(c->page, pg, PROT_READ) || c->o->mprotect(c->page, pg, PROT_READ | PROT_WRITE))
				die("mprotect: %s", strerror(errno));
			break;
		case M_MADVISE_NEAR:
			c->page[0] = 1;
			if (c->o->madvise(c->page, pg, MADV_DONTNEED))
				die("madvise: %s", strerror(errno));
			break;
		case M_WX:
		case M_WX_SAME: {
			uint64_t id = m == M_WX ? ++c->next_id : 1;

			xmprotect(c->code, pg, PROT_READ | PROT_WRITE);
			if (m == M_WX) {
				/* A new function in place of the old one, all of
				 * the old one gone (no stale tail to describe). */
				size_t len = fn_write(c->code, id);

				memset(c->code + len, 0xcc, fn_slot(FN_MAX) - len);
			}
			xmprotect(c->code, pg, PROT_READ | PROT_EXEC);
			fn_call_check(c->code, id, 3);
			break;
		}
		case M_CREATE: {
			uint8_t *p = xmmap(NULL, CREATE_LEN, RWX, PRIV_ANON);

			munmap(p, CREATE_LEN);
			break;
		}
		case M_CREATE_MPROTECT: {
			uint8_t *p = xmmap(NULL, CREATE_LEN, PROT_READ | PROT_WRITE, PRIV_ANON);
			uint64_t id = ++c->next_id;

			fn_write(p, id);
			xmprotect(p, CREATE_LEN, PROT_READ | PROT_EXEC);
			fn_call_check(p, id, 3);
			munmap(p, CREATE_LEN);
			break;
		}
		}
	}
}

/* JPBENCH_IDLE_THREAD=1: a thread that only sleeps, as the shim's epoch
 * thread mostly does, to tell its mere presence from the hooks' cost. */
static void *idle_thread(void *arg)
{
	for (;;) {
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
	}
	return arg;
}

static void maybe_idle_thread(void)
{
	const char *s = getenv("JPBENCH_IDLE_THREAD");
	pthread_t th;

	if (s && *s == '1' && pthread_create(&th, NULL, idle_thread, NULL) != 0)
		die("pthread_create failed");
}

static const struct memops hooked_ops = { mmap, munmap, mprotect, madvise };
static struct memops libc_ops;

/* In-process A/B for the non-exec modes: batches through the interposed
 * calls and through libc's own, alternated, in one process with one
 * address-space layout.  Under the shim the difference is exactly what
 * the hooks add to a call; without it the two must agree (a control). */
static void calls_ab(enum mode m, struct calls *c, long iters)
{
	const long batch = 200;
	long nb = iters / batch, n[2] = { 0, 0 };
	int64_t *t[2];
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (!h || !(libc_ops.mmap = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(h, "mmap")) ||
	    !(libc_ops.munmap = (int (*)(void *, size_t))dlsym(h, "munmap")) ||
	    !(libc_ops.mprotect = (int (*)(void *, size_t, int))dlsym(h, "mprotect")) ||
	    !(libc_ops.madvise = (int (*)(void *, size_t, int))dlsym(h, "madvise")))
		die("cannot find libc's memory calls: %s", dlerror());
	t[0] = calloc((size_t)nb + 1, sizeof(int64_t));
	t[1] = calloc((size_t)nb + 1, sizeof(int64_t));
	if (!t[0] || !t[1] || nb < 1)
		die("ab: out of memory or too few iterations");
	/* Medians of batches: a preemption spoils one batch, not the figure. */
	for (long i = 0; i < 2 * nb; i++) {
		int k = (int)(i & 1) ^ (int)((i >> 1) & 1); /* ABBA order */
		uint64_t t0;

		c->o = k ? &libc_ops : &hooked_ops;
		t0 = mono_ns();
		bench_loop(m, c, batch);
		t[k][n[k]++] = (int64_t)(mono_ns() - t0);
	}
	c->o = &hooked_ops;
	printf(" ab_hooked_ns=%.1f ab_libc_ns=%.1f", median(t[0], n[0]) / ((double)batch * mode_ops[m]),
	       median(t[1], n[1]) / ((double)batch * mode_ops[m]));
	free(t[0]);
	free(t[1]);
}

static int cmd_calls(int argc, char **argv)
{
	struct calls c = { .o = &hooked_ops };
	long iters, warm;
	uint64_t t0, t1;
	unsigned m;
	int ab = argc == 3 && strcmp(argv[2], "ab") == 0;

	if (argc != 2 && !ab)
		die("usage: jpbench calls MODE ITERS [ab]");
	for (m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]); m++)
		if (strcmp(argv[0], mode_names[m]) == 0)
			break;
	if (m == sizeof(mode_names) / sizeof(mode_names[0]))
		die("unknown mode '%s'", argv[0]);
	iters = parse_num(argv[1], "ITERS");
	c.pg = (size_t)sysconf(_SC_PAGESIZE);
	maybe_idle_thread();
	if (m == M_MMAP_NEAR || m == M_MPROTECT_NEAR || m == M_MADVISE_NEAR) {
		c.page = near_hole();
		xmmap(c.page, c.pg, PROT_READ | PROT_WRITE, PRIV_ANON | MAP_FIXED);
		c.hole = c.page;
	} else {
		/* [none][hole][none]: same neighbours with and without the shim. */
		uint8_t *res = xmmap(NULL, 3 * NEAR_SPAN, PROT_NONE, PRIV_ANON);

		c.hole = res + NEAR_SPAN;
		munmap(c.hole, NEAR_SPAN);
		c.page = xmmap(NULL, c.pg, PROT_READ | PROT_WRITE, PRIV_ANON);
	}
	c.code = xmmap(NULL, c.pg, PROT_READ | PROT_WRITE, PRIV_ANON);
	c.next_id = 100;
	fn_write(c.code, 1);
	xmprotect(c.code, c.pg, PROT_READ | PROT_EXEC);
	/* Warm up: page tables, the shim's tables and dump, caches. */
	warm = iters / 10 < 1000 ? iters / 10 : 1000;
	bench_loop((enum mode)m, &c, warm);
	t0 = mono_ns();
	bench_loop((enum mode)m, &c, iters);
	t1 = mono_ns();
	printf("mode=%s iters=%ld ops=%ld loop_iters=%ld ns_per_op=%.1f", mode_names[m], iters, iters * mode_ops[m],
	       warm + iters, iters ? (double)(t1 - t0) / ((double)iters * mode_ops[m]) : 0.0);
	if (ab && m <= M_MADVISE_NEAR)
		calls_ab((enum mode)m, &c, iters);
	putchar('\n');
	return 0;
}

/* ---- churn: paced code writing in a big RWX region ----------------------- */

#define RING_MAX (16u << 20)
#define TICK_NS 10000000ull

static int cmd_churn(int argc, char **argv)
{
	long seconds, kbps, region_mb, fill_mb;
	size_t region, ring, fill, cur, off;
	uint64_t id = 1, t0, p0, m0, next, end, written = 0, nfn = 0, carry = 0, s_wall, s_proc, s_shim;
	uint8_t *r;
	int found;

	if (argc != 4)
		die("usage: jpbench churn SECONDS KBPS REGION_MB FILL_MB");
	seconds = parse_num(argv[0], "SECONDS");
	kbps = parse_num(argv[1], "KBPS");
	region_mb = parse_num(argv[2], "REGION_MB");
	fill_mb = parse_num(argv[3], "FILL_MB");
	region = (size_t)region_mb << 20;
	fill = (size_t)fill_mb << 20;
	if (!region || fill > region)
		die("bad sizes");
	t0 = mono_ns();
	p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	m0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	r = xmmap(NULL, region, RWX, PRIV_ANON);
	/* The code a program keeps: written once, run once. */
	for (off = 0; off + fn_slot(FN_MAX) <= fill; id++) {
		size_t s = fn_write(r + off, id);

		fn_call_check(r + off, id, 2);
		off += s;
		written += fn_len(id);
		nfn++;
	}
	/* Churn over a ring after the kept code (or over it when it fills
	 * the region). */
	ring = region - fill >= (1u << 20) ? region - fill : region;
	if (ring > RING_MAX)
		ring = RING_MAX;
	off = region - fill >= (1u << 20) ? fill : 0;
	cur = 0;
	/* Let the shim describe the kept code (a few epochs), then measure
	 * the steady state apart from that first capture. */
	if (fill) {
		struct timespec settle = { 0, 400000000 };

		nanosleep(&settle, NULL);
	}
	s_wall = mono_ns();
	s_proc = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	s_shim = shim_thread_ns(&found);
	next = mono_ns();
	end = next + (uint64_t)seconds * 1000000000ull;
	for (;;) {
		struct timespec ts;
		uint64_t budget;

		/* Bytes due this tick (in thousandths, the rest carried over). */
		carry += (uint64_t)kbps * 1024 * (TICK_NS / 1000000);
		budget = carry / 1000;
		carry %= 1000;
		while (budget > 0) {
			size_t s;

			if (cur + fn_slot(FN_MAX) > ring)
				cur = 0;
			s = fn_write(r + off + cur, id);
			fn_call_check(r + off + cur, id, 2);
			cur += s;
			written += fn_len(id);
			budget = budget > s ? budget - s : 0;
			nfn++;
			id++;
		}
		next += TICK_NS;
		if (next >= end)
			break;
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	{
		uint64_t w = mono_ns(), pc = clock_ns(CLOCK_PROCESS_CPUTIME_ID), sh = shim_thread_ns(&found);

		print_cpu(w - t0, p0, m0);
		printf(" steady_s=%.6f steady_proc_cpu_s=%.6f steady_shim_cpu_s=%.6f first_shim_cpu_s=%.6f", (w - s_wall) / 1e9,
		       (pc - s_proc) / 1e9, (sh - s_shim) / 1e9, s_shim / 1e9);
	}
	printf(" code_bytes=%lu functions=%lu\n", (unsigned long)written, (unsigned long)nfn);
	return 0;
}

/* ---- work: fixed work on continuously changing RWX code ----------------- */

#define WORK_RING (4u << 20)

static int cmd_work(int argc, char **argv)
{
	long rounds, kb, iters;
	uint64_t id = 1, t0, p0, m0, written = 0, nfn = 0, sink = 0;
	size_t cur = 0;
	uint8_t *r;

	if (argc != 3)
		die("usage: jpbench work ROUNDS KB_PER_ROUND ITERS_PER_ROUND");
	rounds = parse_num(argv[0], "ROUNDS");
	kb = parse_num(argv[1], "KB_PER_ROUND");
	iters = parse_num(argv[2], "ITERS_PER_ROUND");
	t0 = mono_ns();
	p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	m0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	r = xmmap(NULL, WORK_RING + (1u << 20), RWX, PRIV_ANON);
	for (long i = 0; i < rounds; i++) {
		size_t want = (size_t)kb << 10, done = 0, first = cur;
		uint64_t first_id = id, nthis = 0;

		if (first + want + fn_slot(FN_MAX) > WORK_RING)
			first = cur = 0;
		/* At least one function per round. */
		do {
			size_t s = fn_write(r + cur, id);

			cur += s;
			done += s;
			written += fn_len(id);
			id++;
			nthis++;
		} while (done < want);
		nfn += nthis;
		/* Run this round's functions: the work, split between them. */
		{
			size_t o = first;

			for (uint64_t k = 0; k < nthis; k++) {
				uint64_t n = (uint64_t)iters / nthis + 1;
				uint8_t *x = r + o;

				sink += ((fn_t)(uintptr_t)x)(n);
				if (k == 0)
					fn_call_check(x, first_id, 5);
				o += fn_slot(fn_len(first_id + k));
			}
		}
	}
	print_cpu(mono_ns() - t0, p0, m0);
	printf(" code_bytes=%lu functions=%lu sink=%lu\n", (unsigned long)written, (unsigned long)nfn,
	       (unsigned long)(sink & 0xffff));
	return 0;
}

/* ---- spawn: start-up cost ------------------------------------------------ */

static char **env_with(const char *preload)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	if (preload) {
		size_t len = strlen(preload) + 12;

		env[k] = malloc(len);
		if (!env[k])
			die("out of memory");
		snprintf(env[k], len, "LD_PRELOAD=%s", preload);
		k++;
	}
	env[k] = NULL;
	return env;
}

static uint64_t spawn_once(char **argv, char **env)
{
	uint64_t t0 = mono_ns();
	int st;
	pid_t p = fork();

	if (p < 0)
		die("fork: %s", strerror(errno));
	if (p == 0) {
		execve(argv[0], argv, env);
		_exit(127);
	}
	if (waitpid(p, &st, 0) < 0)
		die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (status %#x)", argv[0], st);
	return mono_ns() - t0;
}

static int cmd_spawn(int argc, char **argv)
{
	long n;
	char **plain, **pre;
	int64_t *a, *b, *d;

	if (argc < 3)
		die("usage: jpbench spawn N SHIM CMD [ARG...]");
	n = parse_num(argv[0], "N");
	if (n < 1)
		die("N must be at least 1");
	plain = env_with(NULL);
	pre = env_with(argv[1]);
	a = calloc((size_t)n, sizeof(*a));
	b = calloc((size_t)n, sizeof(*b));
	d = calloc((size_t)n, sizeof(*d));
	if (!a || !b || !d)
		die("out of memory");
	/* Warm the page cache for both. */
	spawn_once(argv + 2, plain);
	spawn_once(argv + 2, pre);
	for (long i = 0; i < n; i++) {
		/* Alternate which goes first, against drift. */
		if (i % 2) {
			a[i] = (int64_t)spawn_once(argv + 2, plain);
			b[i] = (int64_t)spawn_once(argv + 2, pre);
		} else {
			b[i] = (int64_t)spawn_once(argv + 2, pre);
			a[i] = (int64_t)spawn_once(argv + 2, plain);
		}
		d[i] = b[i] - a[i];
	}
	printf("runs=%ld base_us=%.1f shim_us=%.1f diff_us=%.1f\n", n, median(a, n) / 1e3, median(b, n) / 1e3,
	       median(d, n) / 1e3);
	return 0;
}

/* ---- run: wall and CPU of one command ----------------------------------- */

static int cmd_run(int argc, char **argv)
{
	struct rusage ru;
	uint64_t t0, t1;
	int st, nenv = 0;
	char *env_set[16][2];
	pid_t p;

	/* -e NAME=VALUE: set in the child only (the shim must not be
	 * preloaded into this process, which only waits). */
	while (argc >= 2 && strcmp(argv[0], "-e") == 0) {
		char *eq = strchr(argv[1], '=');

		if (!eq)
			die("-e wants NAME=VALUE");
		*eq = 0;
		env_set[nenv][0] = argv[1];
		env_set[nenv][1] = eq + 1;
		if (++nenv == 16)
			die("too many -e");
		argc -= 2;
		argv += 2;
	}
	if (argc < 1)
		die("usage: jpbench run [-e NAME=VALUE]... CMD [ARG...]");
	fflush(stdout);
	t0 = mono_ns();
	p = fork();
	if (p < 0)
		die("fork: %s", strerror(errno));
	if (p == 0) {
		for (int i = 0; i < nenv; i++)
			setenv(env_set[i][0], env_set[i][1], 1);
		execvp(argv[0], argv);
		fprintf(stderr, "jpbench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (wait4(p, &st, 0, &ru) < 0)
		die("wait4: %s", strerror(errno));
	t1 = mono_ns();
	/* minflt: page faults of every thread of the program and of the
	 * children it waited for; with the shim this includes the
	 * write-protect faults its write tracking makes the program take. */
	printf("wall_s=%.6f cpu_s=%.6f user_s=%.6f sys_s=%.6f maxrss_kb=%ld minflt=%ld majflt=%ld status=%d\n",
	       (t1 - t0) / 1e9, ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
	       ru.ru_maxrss, ru.ru_minflt, ru.ru_majflt, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* ---- dumpstat: what a jitdump holds ------------------------------------- */

/* Last byte value seen at every address a LOAD covered, page by page, so
 * that code re-announced unchanged is not counted as new code. */
struct seen_page {
	uint64_t pfn;           /* page number + 1; 0 = empty slot */
	uint8_t *bytes;         /* 4096 bytes */
	uint8_t *valid;         /* 4096 flags */
};

struct seen {
	struct seen_page *t;
	size_t cap, n;
};

static struct seen_page *seen_get(struct seen *s, uint64_t pfn)
{
	size_t i;

	if (s->n * 2 >= s->cap) {
		struct seen old = *s;

		s->cap = s->cap ? s->cap * 2 : 1024;
		s->t = calloc(s->cap, sizeof(*s->t));
		s->n = 0;
		if (!s->t)
			die("out of memory");
		for (i = 0; i < old.cap; i++) {
			if (old.t[i].pfn) {
				struct seen_page *p = seen_get(s, old.t[i].pfn - 1);

				p->bytes = old.t[i].bytes;
				p->valid = old.t[i].valid;
			}
		}
		free(old.t);
	}
	for (i = (size_t)(splitmix(pfn) & (s->cap - 1));; i = (i + 1) & (s->cap - 1)) {
		if (s->t[i].pfn == pfn + 1)
			return &s->t[i];
		if (!s->t[i].pfn)
			break;
	}
	s->t[i].pfn = pfn + 1;
	s->t[i].bytes = calloc(1, 4096);
	s->t[i].valid = calloc(1, 4096);
	if (!s->t[i].bytes || !s->t[i].valid)
		die("out of memory");
	s->n++;
	return &s->t[i];
}

static int cmd_dumpstat(int argc, char **argv)
{
	uint64_t loads = 0, moves = 0, unwinds = 0, load_bytes = 0, new_bytes = 0, other = 0, fsize = 0;
	struct seen seen = { 0 };

	for (int f = 0; f < argc; f++) {
		FILE *fp = fopen(argv[f], "rb");
		uint8_t hdr[40], *rec = NULL;
		size_t cap = 0;

		if (!fp)
			die("%s: %s", argv[f], strerror(errno));
		if (fread(hdr, 1, sizeof(hdr), fp) != sizeof(hdr) || memcmp(hdr, "DTiJ", 4) != 0)
			die("%s: not a jitdump", argv[f]);
		fsize += sizeof(hdr);
		for (;;) {
			uint32_t id, size;
			uint8_t pre[16];

			if (fread(pre, 1, 16, fp) != 16)
				break;
			memcpy(&id, pre, 4);
			memcpy(&size, pre + 4, 4);
			if (size < 16)
				break;
			if (size - 16 > cap) {
				cap = size;
				rec = realloc(rec, cap);
				if (!rec)
					die("out of memory");
			}
			if (fread(rec, 1, size - 16, fp) != size - 16)
				break; /* truncated record: perf drops it too */
			fsize += size;
			if (id == 0 && size >= 56) {
				uint64_t addr, csize;
				size_t nl;

				memcpy(&addr, rec + 16, 8);
				memcpy(&csize, rec + 24, 8);
				nl = strnlen((const char *)rec + 40, size - 56);
				if (40 + nl + 1 + csize > size - 16)
					die("%s: bad LOAD record", argv[f]);
				loads++;
				load_bytes += csize;
				for (uint64_t k = 0; k < csize; k++) {
					uint64_t a = addr + k;
					struct seen_page *p = seen_get(&seen, a >> 12);
					uint8_t b = rec[40 + nl + 1 + k];

					if (!p->valid[a & 4095] || p->bytes[a & 4095] != b) {
						new_bytes++;
						p->valid[a & 4095] = 1;
						p->bytes[a & 4095] = b;
					}
				}
			} else if (id == 1) {
				moves++;
			} else if (id == 4) {
				unwinds++;
			} else {
				other++;
			}
		}
		free(rec);
		fclose(fp);
	}
	printf("dumps=%d loads=%lu moves=%lu unwinds=%lu load_bytes=%lu new_code_bytes=%lu file_bytes=%lu\n", argc,
	       (unsigned long)loads, (unsigned long)moves, (unsigned long)unwinds, (unsigned long)load_bytes,
	       (unsigned long)new_bytes, (unsigned long)fsize);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		die("usage: jpbench calls|churn|work|spawn|run|dumpstat ...");
	if (strcmp(argv[1], "calls") == 0)
		return cmd_calls(argc - 2, argv + 2);
	if (strcmp(argv[1], "churn") == 0)
		return cmd_churn(argc - 2, argv + 2);
	if (strcmp(argv[1], "work") == 0)
		return cmd_work(argc - 2, argv + 2);
	if (strcmp(argv[1], "spawn") == 0)
		return cmd_spawn(argc - 2, argv + 2);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "dumpstat") == 0)
		return cmd_dumpstat(argc - 2, argv + 2);
	die("unknown command '%s'", argv[1]);
}
