/* sys.h - direct system calls, descriptors and fault-free reads for code inside hosts.
 *
 * Contract: jitperf's own mappings and files go through these, never through
 * the interposed libc entry points (mmap, mprotect, ...) and never malloc, so
 * the library can run before constructors, inside hooks and in fork children.
 * (String helpers are in str.h, jitperf's own memory in arena.h.)
 * Functions return 0 / a non-negative count on success and -errno on failure
 * unless stated, and leave the caller's errno untouched. */
#ifndef JITPERF_SYS_H
#define JITPERF_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Raw memory calls.  jp_sys_mmap returns the address or NULL;
 * jp_sys_mmap_raw returns the address or a value in [-4095, -1] (-errno). */
void *jp_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
/* A system call made directly (never through libc's syscall(), which
 * libjitperf.so interposes for the program): -1 and errno on failure, as
 * syscall() does.  jp_syscall(n, args...) pads the arguments to six. */
long jp_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6);
#define jp_syscall(...) jp_syscall6(JP_SYSCALL_ARGS_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0))
#define JP_SYSCALL_ARGS_(n, a, b, c, d, e, f, ...) \
	(long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)

long jp_sys_mmap_raw(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int jp_sys_munmap(void *addr, size_t len);
int jp_sys_mprotect(void *addr, size_t len, int prot);

pid_t jp_sys_getpid(void);
pid_t jp_sys_gettid(void);

/* CLOCK_MONOTONIC in ns: the clock perf record -k 1 samples with. */
uint64_t jp_now_ns(void);
/* CPU time of the calling thread (0 if unavailable): what the shim's own
 * work costs, which a busy machine does not inflate as it does wall time. */
uint64_t jp_thread_cpu_ns(void);

/* write(2) the whole buffer, retrying EINTR and short writes.  Returns 0,
 * or -errno with *done (if non-NULL) set to the bytes that did reach the fd. */
int jp_write_all(int fd, const void *buf, size_t len);
int jp_write_all_done(int fd, const void *buf, size_t len, size_t *done);

/* open(2) with O_CLOEXEC|O_NOFOLLOW added and EINTR retried, the result
 * moved high (jp_fd_high), even for a descriptor held for a moment: a host
 * thread that dup2()s onto a low number it thinks free, or closes one, must
 * never swap or close ours under a read, nor get our file on its standard
 * descriptors.  Returns fd or -errno. */
int jp_open(const char *path, int flags, int mode);
/* The same, following symlinks (for paths the loader gave us, such as a
 * library's soname link; never for files we create). */
int jp_open_follow(const char *path, int flags, int mode);
/* Move fd above 2 (closing the low one); returns the new fd or -errno. */
int jp_fd_above_stdio(int fd);
/* Move a descriptor jitperf keeps for the whole run to a high number
 * (1000, or below the descriptor limit), out of the way of the program's
 * own, densely allocated numbers: a program that closes and reopens its
 * descriptors then never gets ours back by accident.  Falls back to
 * jp_fd_above_stdio().  Returns the new fd or -errno. */
int jp_fd_high(int fd);
/* Grow the descriptor table to jp_fd_high's numbers now, while the process
 * has one thread: growing a table threads share waits for an RCU grace
 * period (10 ms on a VM here), and the first descriptor moved high is the
 * capture thread's, at its first look for unseen code.  Tables never
 * shrink, so this is what the first move high does anyway, earlier. */
void jp_fd_table_reserve(void);

/* Identity of an open file, to tell whether a descriptor number still
 * refers to the file jitperf opened (the program may have closed it and
 * reused the number). */
struct jp_fdid {
	uint64_t dev, ino;
};
int jp_fdid_get(int fd, struct jp_fdid *id);
/* 1 when fd is open and is the file id describes. */
int jp_fdid_same(int fd, const struct jp_fdid *id);
/* Close fd only if it is still ours. */
void jp_close_if_ours(int fd, const struct jp_fdid *id);
int jp_close(int fd);

/* Copy len bytes of our own memory at src into dst without faulting if src
 * is unmapped or unreadable (another thread may unmap JIT code at any time).
 * Returns bytes copied (a short count stops at the first unreadable page) or
 * -errno. */
ssize_t jp_safe_copy(void *dst, const void *src, size_t len);
/* The same for a caller that knows this process's pid (the capture engine
 * checks it at every entry: a fork child learns its own before it reads),
 * which spares a getpid() system call per read. */
ssize_t jp_safe_copy_self(pid_t self, void *dst, const void *src, size_t len);
/* jp_safe_copy as a reader callback (lib/v8.h, lib/mozjs.h): ctx unused. */
ssize_t jp_safe_read(void *ctx, uint64_t addr, void *buf, size_t len);

#endif
