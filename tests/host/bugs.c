/* bugs.c - small hosts that each show one way the shim was found to change a program (tests/e2e/host_bug_*.sh).
 *
 * Usage: bugs CASE
 *
 * Every case does something an ordinary program does, then checks what a
 * program without the shim would see.  Exit 0: the host saw no difference;
 * 1: it did (the line printed says what); 2: the host hung (a watchdog
 * alarm fired).  Cases whose evidence is in the dump (stale-free,
 * unmap-reuse) exit 0 and leave the judging to dumpscan.
 *
 *   vma-split     a W^X region made non-executable, a neighbour mapped next
 *                 to it, one mremap over both (one VMA without the shim)
 *   mremap-race   two threads: one maps 2 RWX pages and mremaps them, the
 *                 other maps and unmaps RWX pages nearby; mremap must never
 *                 fail with EFAULT
 *   fork-fds      the program closes every descriptor, opens its own
 *                 (reusing the numbers), forks: the child must have them all
 *   uffd-reuse    the program closes every descriptor and creates its own
 *                 userfaultfd, then makes populated memory executable and
 *                 writes to it: the write must not block
 *   cancel        a thread that makes code is cancelled; the others must
 *                 still be able to map and unmap code
 *   stale-free    code in malloc'd memory (made executable with mprotect)
 *                 freed; the same memory reused for data (HL_DATA)
 *   unmap-reuse   code unmapped by some threads while others map data at
 *                 the freed addresses (HL_DATA)
 *   growsdown     one RWX MAP_GROWSDOWN mapping, half made executable
 *                 behind the shim's back (raw system call), half through
 *                 it; mprotect(PROT_GROWSDOWN) on the top page must reach
 *                 the mapping's start (a registration split it in two),
 *                 as long as the halves can merge again (nothing written) */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <malloc.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hostlib.h"

static size_t pg;
static volatile int stop;
static const char *hang_msg = "hang";

static void on_alarm(int sig)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "HANG: %s (blocked for 5 s)\n", hang_msg);

	(void)sig;
	if (write(1, buf, (size_t)n) < 0)
		_exit(3);
	_exit(2);
}

static void watchdog(const char *what)
{
	hang_msg = what;
	signal(SIGALRM, on_alarm);
	alarm(5);
}

static void run_ret(uint8_t *p)
{
	p[0] = 0xc3;
	((void (*)(void))p)();
}

static int case_vma_split(void)
{
	uint8_t *a = (uint8_t *)0x300000000000ul, *p, *r;

	p = mmap(a, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != a)
		jl_die("mmap: %s", strerror(errno));
	run_ret(p);
	if (mprotect(a, 2 * pg, PROT_READ | PROT_WRITE))
		jl_die("mprotect: %s", strerror(errno));
	p = mmap(a + 2 * pg, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != a + 2 * pg)
		jl_die("mmap: %s", strerror(errno));
	p[0] = 1;
	r = mremap(a, 4 * pg, 8 * pg, MREMAP_MAYMOVE);
	if (r == MAP_FAILED) {
		printf("vma-split: mremap of 4 adjacent rw- pages (2 of them executable earlier) failed: %s; without the shim it succeeds\n",
		       strerror(errno));
		return 1;
	}
	printf("vma-split: mremap ok\n");
	return 0;
}

static void *mremap_churn(void *arg)
{
	while (!stop) {
		uint8_t *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		run_ret(p);
		munmap(p, pg);
	}
	return NULL;
}

static int case_mremap_race(void)
{
	pthread_t th;
	unsigned long n = 0, efault = 0;
	uint64_t t0 = jl_mono_ns();

	pthread_create(&th, NULL, mremap_churn, NULL);
	while (jl_mono_ns() - t0 < 2000000000ull) {
		uint8_t *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q;

		run_ret(p);
		q = mremap(p, 2 * pg, 4 * pg, MREMAP_MAYMOVE);
		n++;
		if (q == MAP_FAILED) {
			efault += errno == EFAULT;
			munmap(p, 2 * pg);
		} else {
			munmap(q, 4 * pg);
		}
	}
	stop = 1;
	pthread_join(th, NULL);
	printf("mremap-race: %lu mremaps of fresh 2-page RWX mappings, %lu failed with EFAULT\n", n, efault);
	return efault ? 1 : 0;
}

static int case_fork_fds(void)
{
	uint8_t *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds[8], st, bad = 0;
	pid_t pid;

	run_ret(p);
	/* Daemons close everything they inherited, then open their own. */
	for (int fd = 3; fd < 256; fd++)
		close(fd);
	for (int i = 0; i < 8; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 8; i++) {
			if (fcntl(fds[i], F_GETFD) < 0) {
				printf("fork-fds: the child's descriptor %d (the program's own /dev/null) was closed behind its back\n",
				       fds[i]);
				bad = 1;
			}
		}
		fflush(stdout);
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		printf("fork-fds: the child has all of descriptors %d..%d\n", fds[0], fds[7]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int case_uffd_reuse(void)
{
	uint8_t *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffd_msg m;
	int u, target = -1, fill[256], nfill = 0;

	run_ret(p);
	/* Where a userfaultfd already is (jitperf's, when preloaded): the
	 * program's own will get that number back below. */
	for (int fd = 3; fd < 256; fd++) {
		char path[64], link[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = 0, strstr(link, "userfaultfd")))
			target = fd;
	}
	for (int fd = 3; fd < 256; fd++)
		close(fd);
	while (target > 3 && nfill < 256 && (fill[nfill] = open("/dev/null", O_RDONLY)) >= 0 && fill[nfill] < target - 1)
		nfill++;
	/* A program with a userfaultfd of its own (CRIU, QEMU postcopy, GCs). */
	u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u < 0 || ioctl(u, UFFDIO_API, &api)) {
		printf("uffd-reuse: no userfaultfd here (%s)\n", strerror(errno));
		return 77;
	}
	watchdog("writing code into memory the program just made executable");
	q = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(q, 0xc3, 16 * pg);
	mprotect(q, 16 * pg, PROT_READ | PROT_WRITE | PROT_EXEC);
	((void (*)(void))q)();
	q[100] = 0x90;
	alarm(0);
	if (read(u, &m, sizeof(m)) > 0) {
		printf("uffd-reuse: the program's own userfaultfd (descriptor %d) received an event it never asked for\n", u);
		return 1;
	}
	printf("uffd-reuse: ok\n");
	return 0;
}

static void *cancel_worker(void *arg)
{
	for (unsigned i = 0;; i++) {
		uint8_t *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		jl_emit(p, i);
		mprotect(p, pg, PROT_READ | PROT_EXEC);
		((jl_entry)p)(3);
		munmap(p, pg);
		/* The program's only cancellation point. */
		if (i % 4096 == 4095)
			pthread_testcancel();
	}
	return NULL;
}

static int case_cancel(void)
{
	pthread_t th;

	pthread_create(&th, NULL, cancel_worker, NULL);
	usleep(200000);
	pthread_cancel(th);
	pthread_join(th, NULL);
	watchdog("mapping code after another thread was cancelled");
	for (int i = 0; i < 100; i++) {
		uint8_t *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		run_ret(p);
		munmap(p, pg);
	}
	alarm(0);
	printf("cancel: ok\n");
	return 0;
}

static int case_stale_free(void)
{
	size_t sz = 1 << 20;
	uint8_t *p, *q, *code;

	hl_ranges_open();
	/* Fixed threshold: the second malloc is mapped like the first. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	hl_ranges_open();
	p = malloc(sz);
	code = (uint8_t *)(((uintptr_t)p + pg - 1) & ~(pg - 1));
	jl_emit(code, 1);
	hl_exec_range(code, 4 * pg);
	if (mprotect(code, 4 * pg, PROT_READ | PROT_WRITE | PROT_EXEC))
		jl_die("mprotect: %s", strerror(errno));
	hl_exec_range(code, 4 * pg);
	((jl_entry)code)(3);
	free(p); /* glibc unmaps it with its own internal munmap */
	q = malloc(sz);
	hl_fill_data(q, sz);
	usleep(500000); /* a few epochs */
	printf("stale-free: code at %p freed, data at %p\n", (void *)code, (void *)q);
	free(q);
	return 0;
}

static void *reuse_code(void *arg)
{
	uint32_t id = 0;

	while (!stop) {
		uint8_t *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		hl_exec_range(p, pg);
		jl_emit(p, id++);
		((jl_entry)p)(3);
		munmap(p, pg);
	}
	return NULL;
}

static void *reuse_data(void *arg)
{
	while (!stop) {
		uint8_t *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		hl_fill_data(p, pg);
		munmap(p, pg);
	}
	return NULL;
}

static int case_unmap_reuse(void)
{
	pthread_t t[4];

	hl_ranges_open();
	pthread_create(&t[0], NULL, reuse_code, NULL);
	pthread_create(&t[1], NULL, reuse_code, NULL);
	pthread_create(&t[2], NULL, reuse_data, NULL);
	pthread_create(&t[3], NULL, reuse_data, NULL);
	sleep(2);
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("unmap-reuse: done\n");
	return 0;
}
/* The permissions /proc/self/maps shows for the mapping holding p. */
static void perms_at(const void *p, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long s, e;

	strcpy(out, "none");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &s, &e, out) == 3 && s <= (uintptr_t)p && (uintptr_t)p < e)
			break;
		else
			strcpy(out, "none");
	if (f)
		fclose(f);
}

static int case_growsdown(void)
{
	uint8_t *a = (uint8_t *)0x310000000000ul, *p;
	char low[5], high[5];

	p = mmap(a, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (p != a)
		jl_die("mmap: %s", strerror(errno));
	if (syscall(SYS_mprotect, a, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC))
		jl_die("raw mprotect: %s", strerror(errno));
	if (mprotect(a + 2 * pg, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC))
		jl_die("mprotect: %s", strerror(errno));
	/* No page written yet: once both halves have pages of their own (two
	 * anon_vmas) the kernel cannot merge them again, and the call stops
	 * short with the shim (a known limit, README). */
	if (mprotect(a + 3 * pg, pg, PROT_READ | PROT_GROWSDOWN))
		jl_die("mprotect(PROT_GROWSDOWN): %s", strerror(errno));
	perms_at(a, low);
	perms_at(a + 3 * pg, high);
	if (strcmp(low, "r--p") || strcmp(high, "r--p")) {
		printf("growsdown: after mprotect(PROT_READ|PROT_GROWSDOWN) the mapping is %s at its start, %s at the top; "
		       "without the shim r--p throughout\n",
		       low, high);
		return 1;
	}
	printf("growsdown: the whole mapping changed\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cases[] = {
		{ "vma-split", case_vma_split },     { "mremap-race", case_mremap_race }, { "fork-fds", case_fork_fds },
		{ "uffd-reuse", case_uffd_reuse },   { "cancel", case_cancel },           { "stale-free", case_stale_free },
		{ "unmap-reuse", case_unmap_reuse }, { "growsdown", case_growsdown },
	};

	jl_init(argv[0]);
	pg = jl_page();
	for (size_t i = 0; argc == 2 && i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(argv[1], cases[i].name))
			return cases[i].fn();
	fprintf(stderr, "usage: bugs CASE (vma-split, mremap-race, fork-fds, uffd-reuse, cancel, stale-free, unmap-reuse, growsdown)\n");
	return 64;
}
