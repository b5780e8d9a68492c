/* sys.c - raw system calls, fault-free memory copies and checked writes. */
#include "sys.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

long jp_sys_mmap_raw(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int saved = errno;
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);

	if (r == -1)
		r = -errno;
	errno = saved;
	return r;
}

void *jp_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r = jp_sys_mmap_raw(addr, len, prot, flags, fd, off);

	return (r < 0 && r > -4096) ? NULL : (void *)r;
}

const char *jp_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}

int jp_sys_munmap(void *addr, size_t len)
{
	int saved = errno;
	long r = syscall(SYS_munmap, addr, len);
	int e = errno;

	errno = saved;
	return r < 0 ? -e : 0;
}

int jp_sys_mprotect(void *addr, size_t len, int prot)
{
	int saved = errno;
	long r = syscall(SYS_mprotect, addr, len, prot);
	int e = errno;

	errno = saved;
	return r < 0 ? -e : 0;
}

pid_t jp_sys_getpid(void)
{
	int saved = errno;
	pid_t p = (pid_t)syscall(SYS_getpid);

	errno = saved;
	return p;
}

pid_t jp_sys_gettid(void)
{
	int saved = errno;
	pid_t t = (pid_t)syscall(SYS_gettid);

	errno = saved;
	return t;
}

uint64_t jp_now_ns(void)
{
	struct timespec ts;
	int saved = errno;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	errno = saved;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int jp_write_all_done(int fd, const void *buf, size_t len, size_t *done)
{
	const char *p = buf;
	size_t off = 0;
	int saved = errno;
	int ret = 0;

	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (w == 0) {
			ret = -EIO;
			break;
		}
		off += (size_t)w;
	}
	if (done)
		*done = off;
	errno = saved;
	return ret;
}

int jp_write_all(int fd, const void *buf, size_t len)
{
	return jp_write_all_done(fd, buf, len, NULL);
}

int jp_fd_above_stdio(int fd)
{
	int saved = errno;
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0) {
		int e = errno;

		close(fd);
		errno = saved;
		return -e;
	}
	close(fd);
	errno = saved;
	return nfd;
}

int jp_fd_high(int fd)
{
	struct rlimit rl;
	int saved = errno, floor = 1000, nfd;

	if (fd < 0)
		return fd;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)floor + 32 > rl.rlim_cur)
		floor = rl.rlim_cur > 64 ? (int)(rl.rlim_cur - 32) : 3;
	if (fd >= floor) {
		errno = saved;
		return fd;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, floor);
	if (nfd < 0) {
		errno = saved;
		return jp_fd_above_stdio(fd);
	}
	close(fd);
	errno = saved;
	return nfd;
}

int jp_fdid_get(int fd, struct jp_fdid *id)
{
	struct stat st;
	int saved = errno;

	if (fstat(fd, &st) < 0) {
		int e = -errno;

		errno = saved;
		return e;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	errno = saved;
	return 0;
}

int jp_fdid_same(int fd, const struct jp_fdid *id)
{
	struct jp_fdid now = { 0, 0 };

	return fd >= 0 && jp_fdid_get(fd, &now) == 0 && now.dev == id->dev && now.ino == id->ino;
}

void jp_close_if_ours(int fd, const struct jp_fdid *id)
{
	if (jp_fdid_same(fd, id))
		jp_close(fd);
}

int jp_open(const char *path, int flags, int mode)
{
	return jp_open_follow(path, flags | O_NOFOLLOW, mode);
}

int jp_open_follow(const char *path, int flags, int mode)
{
	int saved = errno;
	int fd;

	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int e = errno;

		errno = saved;
		return -e;
	}
	errno = saved;
	return jp_fd_above_stdio(fd);
}

int jp_close(int fd)
{
	int saved = errno;
	int r = close(fd);
	int e = errno;

	errno = saved;
	return r < 0 ? -e : 0;
}

ssize_t jp_safe_copy(void *dst, const void *src, size_t len)
{
	return jp_safe_copy_self(getpid(), dst, src, len);
}

ssize_t jp_safe_copy_self(pid_t self, void *dst, const void *src, size_t len)
{
	static int have_vm_readv = 1;
	int saved = errno;
	ssize_t n = -ENOSYS;

	if (len == 0)
		return 0;
	/* process_vm_readv on ourselves returns EFAULT instead of raising
	 * SIGSEGV when the source vanished; a seccomp filter may refuse it,
	 * then /proc/self/mem gives the same guarantee. */
	if (__atomic_load_n(&have_vm_readv, __ATOMIC_RELAXED)) {
		struct iovec l = { dst, len }, r = { (void *)src, len };

		n = process_vm_readv(self, &l, 1, &r, 1, 0);
		if (n < 0) {
			n = -errno;
			if (n == -ENOSYS || n == -EPERM)
				__atomic_store_n(&have_vm_readv, 0, __ATOMIC_RELAXED);
			else if (n == -EFAULT)
				n = 0; /* first page unreadable */
		}
	}
	if (n == -ENOSYS || n == -EPERM) {
		int fd = jp_open("/proc/self/mem", O_RDONLY, 0);

		if (fd < 0) {
			n = fd;
		} else {
			n = pread(fd, dst, len, (off_t)(uintptr_t)src);
			if (n < 0)
				n = (errno == EIO || errno == EFAULT) ? 0 : -errno;
			close(fd);
		}
	}
	errno = saved;
	return n;
}

size_t jp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = 0;
	}
	return n;
}

size_t jp_strlcat(char *dst, const char *src, size_t size)
{
	size_t d = strnlen(dst, size);

	if (d == size)
		return d + strlen(src);
	return d + jp_strlcpy(dst + d, src, size - d);
}

size_t jp_utoa(char *buf, uint64_t v, int base)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		unsigned d = (unsigned)(v % (unsigned)base);

		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= (unsigned)base;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* jitperf's own memory lives in an arena it reserves once, not in free
 * gaps of the address space.  A program may munmap a range and later map
 * it again with MAP_FIXED, which is safe while it is single-threaded; the
 * epoch thread's temporary buffers, placed by the kernel in that gap in
 * between, were then replaced under it (SIGSEGV; jpbench mmap_near found
 * it).  The arena is PROT_NONE and NORESERVE until used; a page bitmap
 * finds first-fit runs; what does not fit goes to the kernel directly. */
#define ARENA_PAGES 16384u /* 64 MiB of address space */
#define ARENA_PG 4096u

static uint8_t *arena;
static int arena_state; /* 0: not yet, 1: reserved, -1: could not */
static int arena_busy;
static uint64_t arena_used[ARENA_PAGES / 64];

static void arena_lock(void)
{
	while (__atomic_exchange_n(&arena_busy, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void arena_unlock(void)
{
	__atomic_store_n(&arena_busy, 0, __ATOMIC_RELEASE);
}

static int page_used(size_t i)
{
	return (arena_used[i / 64] >> (i % 64)) & 1;
}

static void mark(size_t first, size_t n, int used)
{
	for (size_t i = first; i < first + n; i++) {
		if (used)
			arena_used[i / 64] |= 1ull << (i % 64);
		else
			arena_used[i / 64] &= ~(1ull << (i % 64));
	}
}

/* First run of n free pages, or -1. */
static long find_run(size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < ARENA_PAGES; i++) {
		if (!(i % 64) && arena_used[i / 64] == ~0ull) {
			run = 0;
			i += 63;
			continue;
		}
		run = page_used(i) ? 0 : run + 1;
		if (run == n)
			return (long)(i + 1 - n);
	}
	return -1;
}

static void *arena_alloc(size_t len)
{
	size_t n = (len + ARENA_PG - 1) / ARENA_PG;
	void *p = NULL;
	long at;

	arena_lock();
	if (!arena_state) {
		arena = jp_sys_mmap(NULL, (size_t)ARENA_PAGES * ARENA_PG, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		arena_state = arena ? 1 : -1;
	}
	if (arena_state == 1 && n && n <= ARENA_PAGES / 4 && (at = find_run(n)) >= 0) {
		/* Fresh zeroed pages over our own reservation. */
		p = jp_sys_mmap(arena + (size_t)at * ARENA_PG, n * ARENA_PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p)
			mark((size_t)at, n, 1);
	}
	arena_unlock();
	return p;
}

static int arena_free(void *p, size_t len)
{
	uint8_t *b = p;
	size_t n = (len + ARENA_PG - 1) / ARENA_PG;

	if (arena_state != 1 || b < arena || b >= arena + (size_t)ARENA_PAGES * ARENA_PG)
		return 0;
	arena_lock();
	/* Give the memory back, keep the address space. */
	if (jp_sys_mmap(b, n * ARENA_PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
			0))
		mark((size_t)(b - arena) / ARENA_PG, n, 0);
	arena_unlock();
	return 1;
}

void *jp_sys_alloc(size_t len)
{
	void *p = arena_alloc(len);

	return p ? p : jp_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

void jp_sys_free(void *p, size_t len)
{
	if (p && !arena_free(p, len))
		jp_sys_munmap(p, len);
}
