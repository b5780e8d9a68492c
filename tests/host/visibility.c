/* visibility.c - what of jitperf a host can see: descriptors, mappings, threads, errno, signal masks, in itself and its children.
 *
 * Usage: visibility              (run preloaded or not; exits 1 on a violation)
 *        visibility --list-fds   (what an exec'd child runs)
 *
 * Checks, printing one "ok"/"FAIL" line each:
 * - descriptors 0-2: the program closes them before its first executable
 *   mapping; jitperf must not take them (the program's next opens get 0-2);
 * - errno after successful mmap/mprotect/munmap/mremap/madvise of executable
 *   memory is what it was before (libc leaves it alone on success);
 * - the calling thread's signal mask is unchanged by the call that starts
 *   jitperf's thread;
 * - every descriptor the program did not open is close-on-exec and > 2;
 * - a fork child that makes no code sees no descriptor, mapping (the dump
 *   marker) or thread that the program did not make;
 * - an exec'd child (run without the shim, so that all it holds came
 *   through the exec) inherits no descriptor but 0-2.
 * It also prints what jitperf adds to the parent (informative). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "hostlib.h"

static int failures;
static size_t pg;
static int own[64], nown;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

static int is_own(int fd)
{
	for (int i = 0; i < nown; i++)
		if (own[i] == fd)
			return 1;
	return fd <= 2;
}

/* Descriptors the program did not open: count, and how many are not
 * close-on-exec or are 0-2. */
static int foreign_fds(int *bad, char *desc, size_t size)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, dfd = d ? dirfd(d) : -1;
	size_t len = 0;

	*bad = 0;
	desc[0] = 0;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		char path[300], link[256];
		ssize_t l;

		if (e->d_name[0] == '.' || fd == dfd || is_own(fd))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		link[l > 0 ? l : 0] = 0;
		len += (size_t)snprintf(desc + len, len < size ? size - len : 0, " %d->%s", fd, link);
		n++;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC) || fd <= 2)
			(*bad)++;
	}
	if (d)
		closedir(d);
	return n;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int maps_mention(const char *what)
{
	static char buf[1 << 20];

	hl_read_file("/proc/self/maps", buf, sizeof(buf));
	return strstr(buf, what) != NULL;
}

static void errno_checks(void)
{
	uint8_t *p, *q;
	int ok = 1;

	errno = 4242;
	p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok &= p != MAP_FAILED && errno == 4242;
	jl_emit(p, 5);
	ok &= ((jl_entry)p)(3) == jl_ref(5, 3);
	errno = 4243;
	ok &= mprotect(p, 4 * pg, PROT_READ | PROT_WRITE) == 0 && errno == 4243;
	errno = 4244;
	ok &= mprotect(p, 4 * pg, PROT_READ | PROT_EXEC) == 0 && errno == 4244;
	errno = 4245;
	q = mremap(p, 4 * pg, 8 * pg, MREMAP_MAYMOVE);
	ok &= q != MAP_FAILED && errno == 4245;
	errno = 4246;
	ok &= madvise(q, 8 * pg, MADV_DONTNEED) == 0 && errno == 4246;
	errno = 4247;
	ok &= munmap(q, 8 * pg) == 0 && errno == 4247;
	errno = 4248;
	ok &= munmap(q, 8 * pg) == 0 && errno == 4248;
	/* And failures carry the kernel's errno. */
	errno = 0;
	ok &= mprotect((void *)1, pg, PROT_READ | PROT_EXEC) < 0 && errno == EINVAL;
	check(ok, "errno untouched by successful calls on executable memory, the kernel's on failures");
}

int main(int argc, char **argv)
{
	char desc[4096];
	sigset_t set, after;
	int saved_out, bad, n, st, fds[3];
	uint8_t *p, *h;
	pid_t pid;

	jl_init(argv[0]);
	pg = jl_page();
	if (argc >= 2 && !strcmp(argv[1], "--list-fds")) {
		/* The parent's inherited descriptors (argv[2]) are not news. */
		for (char *t = argc > 2 ? strtok(argv[2], ",") : NULL; t && nown < 60; t = strtok(NULL, ","))
			own[nown++] = atoi(t);
		n = foreign_fds(&bad, desc, sizeof(desc));
		printf("%d%s\n", n, desc);
		return 0;
	}

	/* Whatever the program inherited is its own. */
	{
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		int dfd = d ? dirfd(d) : -1;

		while (d && (e = readdir(d)) && nown < 60)
			if (e->d_name[0] != '.' && atoi(e->d_name) != dfd)
				own[nown++] = atoi(e->d_name);
		if (d)
			closedir(d);
	}

	/* 1. Descriptors 0-2 closed before jitperf opens anything. */
	saved_out = fcntl(1, F_DUPFD_CLOEXEC, 10);
	own[nown++] = saved_out;
	fflush(stdout);
	close(0);
	close(1);
	close(2);
	p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_emit(p, 1);
	((jl_entry)p)(3);
	/* Heap code too: jitperf reads /proc/self/maps to classify it. */
	h = malloc(4 * pg);
	h = (uint8_t *)(((uintptr_t)h + pg - 1) & ~(pg - 1));
	jl_emit(h, 2);
	mprotect(h, pg, PROT_READ | PROT_WRITE | PROT_EXEC);
	((jl_entry)h)(3);
	mprotect(h, pg, PROT_READ | PROT_WRITE);
	munmap(p, pg);
	for (int i = 0; i < 3; i++) {
		fds[i] = open("/dev/null", O_RDWR);
		own[nown++] = fds[i];
	}
	dup2(saved_out, 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	check(fds[0] == 0 && fds[1] == 1 && fds[2] == 2, "descriptors 0-2 left free for the program");
	dup2(saved_out, 2);

	/* 2. errno. */
	errno_checks();

	/* 3. Signal mask across the call that may start jitperf's thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_emit(p, 3);
	((jl_entry)p)(3);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	check(sigismember(&after, SIGUSR1) && sigismember(&after, SIGTERM) && !sigismember(&after, SIGINT),
	      "signal mask of the calling thread unchanged");
	sigemptyset(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);

	/* 4. What jitperf added, and how. */
	n = foreign_fds(&bad, desc, sizeof(desc));
	printf("info: %d descriptors not opened by the program:%s\n", n, desc);
	printf("info: %d threads (program: 1), dump marker mapped: %s\n", count_threads(),
	       maps_mention("/jit-") ? "yes" : "no");
	check(bad == 0, "every descriptor jitperf holds is close-on-exec and above 2");

	/* 5. A fork child that makes no code. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int cb, cn = foreign_fds(&cb, desc, sizeof(desc));
		int threads = count_threads(), marker = maps_mention("/jit-");

		printf("info: fork child: %d foreign descriptors%s, %d threads, marker %s\n", cn, desc, threads,
		       marker ? "mapped" : "not mapped");
		fflush(stdout);
		_exit(cn || threads != 1 || marker ? 1 : 0);
	}
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a fork child that makes no code sees no descriptor, mapping or thread of jitperf's");

	/* 6. An exec'd child. */
	fflush(stdout);
	{
		int pfd[2];
		char out[4096] = "";
		ssize_t r;

		if (pipe2(pfd, O_CLOEXEC))
			jl_die("pipe: %s", strerror(errno));
		char inherited[512] = "";
		size_t il = 0;

		for (int i = 0; i < nown; i++)
			if (own[i] > 2 && fcntl(own[i], F_GETFD) >= 0 && !(fcntl(own[i], F_GETFD) & FD_CLOEXEC))
				il += (size_t)snprintf(inherited + il, sizeof(inherited) - il, "%d,", own[i]);
		/* The child runs without the shim: its own libjitperf.so holds
		 * descriptors of its own for a moment (reading a loaded object's
		 * symbols), which are not inherited. */
		char *envp[256];
		size_t ne = 0;

		for (char **e = environ; *e && ne < 255; e++)
			if (strncmp(*e, "LD_PRELOAD=", 11))
				envp[ne++] = *e;
		envp[ne] = NULL;
		pid = fork();
		if (pid == 0) {
			char *args[] = { argv[0], "--list-fds", inherited, NULL };

			dup2(pfd[1], 1);
			execve(argv[0], args, envp);
			_exit(127);
		}
		close(pfd[1]);
		r = read(pfd[0], out, sizeof(out) - 1);
		out[r > 0 ? r : 0] = 0;
		close(pfd[0]);
		waitpid(pid, &st, 0);
		printf("info: exec'd child's extra descriptors: %s", out);
		check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && atoi(out) == 0, "an exec'd child inherits no descriptor");
	}
	printf("%s\n", failures ? "visibility: FAIL" : "visibility: ok");
	return failures ? 1 : 0;
}
