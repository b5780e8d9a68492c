/* stress.c - many threads cycling map / write code / make executable / call / unmap, mixed with data churn, fork and exec.
 *
 * Usage: stress THREADS CYCLES [FORK_EVERY [EXEC_EVERY [SEED]]]
 *        stress --exec-child CYCLES SEED      (what the exec'd children run)
 *
 * Every thread runs CYCLES cycles; each cycle is one of the ways JITs get
 * executable memory (W^X toggle, RWX, mremap move, madvise discard and
 * rewrite, memfd dual mapping, mprotect of malloc'd memory), runs the code it
 * wrote and checks its result, or churns plain data memory (filled with
 * HL_DATA, see hostlib.h) at addresses code just left.  Thread 0 forks a
 * child every FORK_EVERY cycles (the child runs a few cycles of its own and
 * exits) and every EXEC_EVERY cycles forks a child that execs this program
 * with --exec-child.  Every range made executable is logged for dumpscan
 * when HOST_RANGES_DIR is set.
 *
 * HOST_STRESS_PACE_US=N sleeps N microseconds after every cycle (to keep
 * a recording small enough for perf inject).
 *
 * Prints one summary line whose content depends only on the arguments, so
 * runs with and without the shim can be compared; exits 1 on any wrong
 * result. */
#include <errno.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hostlib.h"

static size_t pg;
static const char *self_path;
static int fork_every, exec_every;
static volatile int failed;
static unsigned long forks, execs;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned pace_us;

static void fail(const char *what, uintptr_t addr, uint32_t id)
{
	fprintf(stderr, "stress: %s at %#lx (function %u) gave a wrong result\n", what, (unsigned long)addr, id);
	failed = 1;
}

static void run_check(const char *what, uintptr_t x, uint32_t id)
{
	uint64_t n = 50 + id % 31;

	if (((jl_entry)x)(n) != jl_ref(id, n))
		fail(what, x, id);
}

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		jl_die("mmap %zu: %s", len, strerror(errno));
	return p;
}

static void protect(void *p, size_t len, int prot)
{
	if (mprotect(p, len, prot))
		jl_die("mprotect %p %zu %#x: %s", p, len, prot, strerror(errno));
}

/* Fill a code area with functions 128 bytes apart (int3 between). */
static unsigned emit_area(uint8_t *w, size_t len, uint32_t id0)
{
	unsigned n = 0;

	memset(w, 0xcc, len);
	for (size_t off = 0; off + JL_FN_MAX <= len && n < 8; off += 256, n++)
		jl_emit(w + off, id0 + n);
	return n;
}

static void check_area(const char *what, uintptr_t x, unsigned n, uint32_t id0)
{
	for (unsigned k = 0; k < n; k++)
		run_check(what, x + k * 256, id0 + k);
}

static void cycle_wx(uint64_t *s, uint32_t id)
{
	size_t len = (1 + hl_rand(s) % 4) * pg;
	uint8_t *p = map(len, PROT_READ | PROT_WRITE);
	unsigned n = emit_area(p, len, id);

	hl_exec_range(p, len);
	protect(p, len, PROT_READ | PROT_EXEC);
	check_area("wx", (uintptr_t)p, n, id);
	if (hl_rand(s) % 3 == 0) {
		/* Rewrite in place, as engines patch code. */
		protect(p, len, PROT_READ | PROT_WRITE);
		n = emit_area(p, len, id + 7);
		protect(p, len, PROT_READ | PROT_EXEC);
		check_area("wx-rewrite", (uintptr_t)p, n, id + 7);
	}
	munmap(p, len);
}

static void cycle_rwx(uint64_t *s, uint32_t id)
{
	size_t len = (1 + hl_rand(s) % 4) * pg;
	uint8_t *p = map(len, PROT_READ | PROT_WRITE | PROT_EXEC);
	unsigned n;

	hl_exec_range(p, len);
	n = emit_area(p, len, id);
	check_area("rwx", (uintptr_t)p, n, id);
	if (hl_rand(s) % 2) {
		madvise(p, len, MADV_DONTNEED);
		n = emit_area(p, len, id + 3);
		check_area("rwx-after-dontneed", (uintptr_t)p, n, id + 3);
	}
	munmap(p, len);
}

static void cycle_mremap(uint64_t *s, uint32_t id)
{
	size_t len = pg * 2, nlen = pg * (2 + hl_rand(s) % 6);
	uint8_t *p = map(len, PROT_READ | PROT_WRITE | PROT_EXEC), *q;
	unsigned n;

	hl_exec_range(p, len);
	n = emit_area(p, len, id);
	check_area("mremap-before", (uintptr_t)p, n, id);
	q = mremap(p, len, nlen, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		jl_die("mremap: %s", strerror(errno));
	hl_exec_range(q, nlen);
	check_area("mremap-after", (uintptr_t)q, n, id);
	munmap(q, nlen);
}

static void cycle_dual(uint64_t *s, uint32_t id)
{
	size_t len = 2 * pg;
	int fd = (int)syscall(SYS_memfd_create, "stress-dual", 1u /* MFD_CLOEXEC */);
	uint8_t *rw, *rx;
	unsigned n;

	if (fd < 0 || ftruncate(fd, (off_t)len))
		jl_die("memfd: %s", strerror(errno));
	rw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rx = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	close(fd);
	if (rw == MAP_FAILED || rx == MAP_FAILED)
		jl_die("dual mmap: %s", strerror(errno));
	hl_exec_range(rx, len);
	n = emit_area(rw, len, id);
	check_area("dual", (uintptr_t)rx, n, id);
	munmap(rx, len);
	munmap(rw, len);
	(void)s;
}

/* tcc -run: code in malloc'd memory, made executable and back. */
static void cycle_malloc(uint64_t *s, uint32_t id)
{
	size_t len = (1 + hl_rand(s) % 3) * pg;
	uint8_t *p = NULL;
	unsigned n;

	if (posix_memalign((void **)&p, pg, len))
		jl_die("posix_memalign");
	n = emit_area(p, len, id);
	hl_exec_range(p, len);
	protect(p, len, PROT_READ | PROT_WRITE | PROT_EXEC);
	check_area("malloc", (uintptr_t)p, n, id);
	protect(p, len, PROT_READ | PROT_WRITE);
	hl_fill_data(p, len);
	free(p);
}

/* Plain data where code was a moment ago: never executable, never code. */
static void cycle_data(uint64_t *s, uint32_t id)
{
	size_t len = (1 + hl_rand(s) % 8) * pg;
	uint8_t *p = map(len, PROT_READ | PROT_WRITE);

	hl_fill_data(p, len);
	if (hl_rand(s) % 2)
		madvise(p, len, MADV_DONTNEED);
	munmap(p, len);
	(void)id;
}

static void run_cycles(uint64_t *s, unsigned tid, unsigned cycles)
{
	for (unsigned i = 0; i < cycles && !failed; i++) {
		uint32_t id = tid * 1000003u + i * 16u;

		switch (hl_rand(s) % 10) {
		case 0:
		case 1:
		case 2:
			cycle_wx(s, id);
			break;
		case 3:
		case 4:
			cycle_rwx(s, id);
			break;
		case 5:
			cycle_mremap(s, id);
			break;
		case 6:
			cycle_dual(s, id);
			break;
		case 7:
			cycle_malloc(s, id);
			break;
		default:
			cycle_data(s, id);
			break;
		}
		if (pace_us)
			usleep(pace_us);
	}
}

static void do_fork(uint64_t *s, int exec)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		jl_die("fork: %s", strerror(errno));
	if (pid == 0) {
		char cyc[16], sd[32];

		if (exec) {
			snprintf(cyc, sizeof(cyc), "%d", 20);
			snprintf(sd, sizeof(sd), "%lu", (unsigned long)(hl_rand(s) | 1));
			execl(self_path, self_path, "--exec-child", cyc, sd, (char *)NULL);
			_exit(127);
		}
		hl_ranges_open();
		run_cycles(s, 999, 10);
		/* Half the children leave through exit (destructors, the
		 * child's own dump closed), half through _exit. */
		if (hl_rand(s) % 2)
			exit(failed);
		_exit(failed);
	}
	if (waitpid(pid, &st, 0) < 0)
		jl_die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "stress: %s child %d ended with status %#x\n", exec ? "exec" : "fork", (int)pid, st);
		failed = 1;
	}
	pthread_mutex_lock(&count_lock);
	if (exec)
		execs++;
	else
		forks++;
	pthread_mutex_unlock(&count_lock);
}

struct worker {
	pthread_t th;
	unsigned tid, cycles;
	uint64_t seed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t s = w->seed;

	for (unsigned done = 0; done < w->cycles && !failed;) {
		unsigned step = w->cycles - done < 50 ? w->cycles - done : 50;

		run_cycles(&s, w->tid, step);
		done += step;
		if (w->tid == 0 && fork_every && done % (unsigned)fork_every < step)
			do_fork(&s, 0);
		if (w->tid == 1 && exec_every && done % (unsigned)exec_every < step)
			do_fork(&s, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned nthreads, cycles;
	struct worker *w;
	uint64_t seed;

	jl_init(argv[0]);
	pg = jl_page();
	self_path = argv[0];
	if (getenv("HOST_STRESS_PACE_US"))
		pace_us = (unsigned)atoi(getenv("HOST_STRESS_PACE_US"));
	if (argc == 4 && !strcmp(argv[1], "--exec-child")) {
		uint64_t s = strtoull(argv[3], NULL, 10) | 1;

		hl_ranges_open();
		run_cycles(&s, 777, (unsigned)atoi(argv[2]));
		return failed;
	}
	if (argc < 3)
		jl_die("usage: stress THREADS CYCLES [FORK_EVERY [EXEC_EVERY [SEED]]]");
	nthreads = (unsigned)atoi(argv[1]);
	cycles = (unsigned)atoi(argv[2]);
	fork_every = argc > 3 ? atoi(argv[3]) : 0;
	exec_every = argc > 4 ? atoi(argv[4]) : 0;
	seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 42;
	if (!nthreads || nthreads > 1024)
		jl_die("bad thread count");
	hl_ranges_open();
	w = calloc(nthreads, sizeof(*w));
	for (unsigned t = 0; t < nthreads; t++) {
		int err;

		w[t].tid = t;
		w[t].cycles = cycles;
		w[t].seed = jl_splitmix(seed + t) | 1;
		err = pthread_create(&w[t].th, NULL, worker_main, &w[t]);
		if (err)
			jl_die("pthread_create: %s", strerror(err));
	}
	for (unsigned t = 0; t < nthreads; t++)
		pthread_join(w[t].th, NULL);
	if (failed)
		return 1;
	printf("stress: %u threads x %u cycles = %lu cycles, %lu forks, %lu execs: ok\n", nthreads, cycles,
	       (unsigned long)nthreads * cycles, forks, execs);
	free(w);
	return 0;
}
