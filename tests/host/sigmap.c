/* sigmap.c - memory calls interrupted by signals whose handlers map, write and run code themselves.
 *
 * Usage: sigmap SECONDS [THREADS]
 *
 * THREADS workers cycle through W^X and RWX code (mmap, write, mprotect,
 * call, munmap) while three sources of signals hit them: an interval timer
 * (SIGALRM, process-directed, no SA_RESTART), a thread sending SIGUSR1 to
 * random workers (SA_RESTART) and kill(getpid(), SIGUSR2).  Every handler
 * maps a page, writes a function, makes it executable, runs it, checks it
 * and unmaps it: the hooks it interrupts must not deadlock on themselves,
 * and the code must be right.  Handlers must run only on the program's own
 * threads (jitperf's thread blocks every signal), and the workers' signal
 * masks must be what they set.  Prints a summary whose shape does not depend
 * on the shim; exits 1 on any violation. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "hostlib.h"

#define MAX_THREADS 64

static size_t pg;
static volatile int stop;
static pid_t host_tids[MAX_THREADS + 2];
static int nhost;
static unsigned long handled, wrong, foreign, mask_bad;
static pthread_t workers[MAX_THREADS];
static int nworkers;

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void handler(int sig)
{
	int saved = errno;
	pid_t t = my_tid();
	int ours = 0;
	uint8_t *p;
	uint32_t id = (uint32_t)t * 7u + (uint32_t)sig;

	for (int i = 0; i < nhost; i++)
		ours |= host_tids[i] == t;
	if (!ours)
		__atomic_fetch_add(&foreign, 1, __ATOMIC_RELAXED);
	/* mmap and mprotect are async-signal-safe: JITs' signal handlers
	 * (safepoints, inline-cache patching) use them. */
	p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		jl_emit(p, id);
		if (mprotect(p, pg, PROT_READ | PROT_EXEC) == 0 && ((jl_entry)p)(9) != jl_ref(id, 9))
			__atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
		munmap(p, pg);
	}
	__atomic_fetch_add(&handled, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static void *worker(void *arg)
{
	int k = (int)(uintptr_t)arg;
	uint32_t id = (uint32_t)k << 20;
	sigset_t want, now;

	/* Each worker blocks SIGUSR2 or not; the hooks must not change it. */
	sigemptyset(&want);
	if (k % 2)
		sigaddset(&want, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &want, NULL);
	while (!stop) {
		size_t len = pg * (1 + id % 3);
		int rwx = id % 2;
		uint8_t *p = mmap(NULL, len, rwx ? PROT_READ | PROT_WRITE | PROT_EXEC : PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			jl_die("mmap: %s", strerror(errno));
		jl_emit(p, id);
		if (!rwx && mprotect(p, len, PROT_READ | PROT_EXEC))
			jl_die("mprotect: %s", strerror(errno));
		if (((jl_entry)p)(11) != jl_ref(id, 11))
			__atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
		if (munmap(p, len))
			jl_die("munmap: %s", strerror(errno));
		pthread_sigmask(SIG_SETMASK, NULL, &now);
		if (sigismember(&now, SIGUSR2) != sigismember(&want, SIGUSR2) || sigismember(&now, SIGALRM) ||
		    sigismember(&now, SIGUSR1))
			__atomic_fetch_add(&mask_bad, 1, __ATOMIC_RELAXED);
		id++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	struct itimerval it = { { 0, 300 }, { 0, 300 } };
	struct sigaction sa;
	uint64_t end;
	unsigned long kicks = 0;

	jl_init(argv[0]);
	pg = jl_page();
	nworkers = argc > 2 ? atoi(argv[2]) : 4;
	if (nworkers < 1 || nworkers > MAX_THREADS)
		jl_die("bad thread count");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	host_tids[nhost++] = my_tid();
	for (int i = 0; i < nworkers; i++) {
		pthread_create(&workers[i], NULL, worker, (void *)(uintptr_t)i);
	}
	/* Every thread we created is in /proc/self/task; jitperf's is the
	 * one named "jitperf".  Give the workers a moment to start. */
	{
		struct timespec ts = { 0, 20000000 };
		struct dirent *e;
		DIR *d;

		nanosleep(&ts, NULL);
		d = opendir("/proc/self/task");
		nhost = 0;
		while (d && (e = readdir(d)) && nhost < MAX_THREADS + 2) {
			char path[300], comm[64] = "";
			ssize_t n;
			int fd;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, comm, sizeof(comm) - 1);
			close(fd);
			comm[n > 0 ? n : 0] = 0;
			if (strncmp(comm, "jitperf", 7))
				host_tids[nhost++] = atoi(e->d_name);
		}
		if (d)
			closedir(d);
	}
	setitimer(ITIMER_REAL, &it, NULL);
	end = jl_mono_ns() + (uint64_t)(seconds * 1e9);
	while (jl_mono_ns() < end) {
		struct timespec ts = { 0, 100000 };

		pthread_kill(workers[kicks % (unsigned long)nworkers], SIGUSR1);
		if (kicks % 4 == 0)
			kill(getpid(), SIGUSR2);
		kicks++;
		nanosleep(&ts, NULL);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	stop = 1;
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	fprintf(stderr, "sigmap: %lu handlers ran, %lu signals sent\n", handled, kicks);
	if (wrong || foreign || mask_bad || handled < 100) {
		printf("sigmap: FAIL: %lu wrong results, %lu handlers on a thread that is not the program's, %lu signal masks changed, %lu handlers\n",
		       wrong, foreign, mask_bad, handled);
		return 1;
	}
	printf("sigmap: %d threads: every handler ran on the program's threads, every result right, masks kept\n", nworkers);
	return 0;
}
