/* sys.c - raw system calls, fault-free memory copies and checked writes. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

long jp_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

long jp_sys_mmap_raw(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int saved = errno;
	long r = jp_syscall(SYS_mmap, addr, len, prot, flags, fd, off);

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

int jp_sys_munmap(void *addr, size_t len)
{
	int saved = errno;
	long r = jp_syscall(SYS_munmap, addr, len);
	int e = errno;

	errno = saved;
	return r < 0 ? -e : 0;
}

int jp_sys_mprotect(void *addr, size_t len, int prot)
{
	int saved = errno;
	long r = jp_syscall(SYS_mprotect, addr, len, prot);
	int e = errno;

	errno = saved;
	return r < 0 ? -e : 0;
}

pid_t jp_sys_getpid(void)
{
	int saved = errno;
	pid_t p = (pid_t)jp_syscall(SYS_getpid);

	errno = saved;
	return p;
}

pid_t jp_sys_gettid(void)
{
	int saved = errno;
	pid_t t = (pid_t)jp_syscall(SYS_gettid);

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

uint64_t jp_thread_cpu_ns(void)
{
	struct timespec ts;
	int saved = errno;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		ts.tv_sec = ts.tv_nsec = 0;
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

void jp_fd_table_reserve(void)
{
	int saved = errno, fd = open("/", O_PATH | O_CLOEXEC);

	if (fd >= 0) {
		fd = jp_fd_high(fd);
		if (fd >= 0)
			close(fd);
	}
	errno = saved;
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
	return jp_fd_high(fd);
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

ssize_t jp_safe_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	return jp_safe_copy(buf, (const void *)(uintptr_t)addr, len);
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
