/* hooks.c - the interposed memory and exec calls: forward, then report. */
#include "capture.h"
#include "log.h"
#include "sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* preload/dlhooks.c */
void jp_dl_resolve(void);
void jp_dl_epoch(void);

/* Real functions, resolved once in the constructor.  Before that (hooks
 * called from libraries' constructors that run before ours) the memory
 * calls go straight to the kernel with libc's exact semantics. */
/* libc's syscall(), for the numbers the syscall() stub below passes on;
 * hidden, read by that stub's assembly. */
__attribute__((visibility("hidden"))) long (*real_syscall)(long, ...);

static struct {
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*mprotect)(void *, size_t, int);
	int (*pkey_mprotect)(void *, size_t, int, int);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*madvise)(void *, size_t, int);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*unshare)(int);
	int (*setns)(int, int);
	void (*exit_)(int);
	void (*Exit)(int);
} real;

static void *next_sym(const char *name)
{
	int saved = errno;
	void *p = dlsym(RTLD_NEXT, name);

	errno = saved;
	return p;
}

static void resolve_real(void)
{
	real.mmap = next_sym("mmap");
	real.mprotect = next_sym("mprotect");
	real.pkey_mprotect = next_sym("pkey_mprotect");
	real.munmap = next_sym("munmap");
	real.mremap = next_sym("mremap");
	real.madvise = next_sym("madvise");
	real.execve = next_sym("execve");
	real.execv = next_sym("execv");
	real.execvp = next_sym("execvp");
	real.execvpe = next_sym("execvpe");
	real.fexecve = next_sym("fexecve");
	real.execveat = next_sym("execveat");
	real_syscall = next_sym("syscall");
	real.exit_ = next_sym("_exit");
	real.Exit = next_sym("_Exit");
}

/* jp_syscall() returns -1 with errno set, exactly like the libc wrappers. */
static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (real.mmap)
		return real.mmap(addr, len, prot, flags, fd, off);
	if (off & 4095) { /* glibc's own check */
		errno = EINVAL;
		return MAP_FAILED;
	}
	return (void *)jp_syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int do_mprotect(void *addr, size_t len, int prot)
{
	return real.mprotect ? real.mprotect(addr, len, prot) : (int)jp_syscall(SYS_mprotect, addr, len, prot);
}

static int do_munmap(void *addr, size_t len)
{
	return real.munmap ? real.munmap(addr, len) : (int)jp_syscall(SYS_munmap, addr, len);
}

static int do_madvise(void *addr, size_t len, int advice)
{
	return real.madvise ? real.madvise(addr, len, advice) : (int)jp_syscall(SYS_madvise, addr, len, advice);
}

static void *do_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	if (real.mremap)
		return real.mremap(old, old_len, new_len, flags, new_addr);
	return (void *)jp_syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

static int do_pkey_mprotect(void *addr, size_t len, int prot, int pkey)
{
	if (real.pkey_mprotect)
		return real.pkey_mprotect(addr, len, prot, pkey);
	return (int)jp_syscall(SYS_pkey_mprotect, addr, len, prot, pkey);
}

/* ---- the slow path, written once ------------------------------------------
 *
 * A hook whose call concerns tracked or executable memory runs
 *
 *	struct slow_path sp = slow_enter();
 *	...engine calls that must see the memory before the call...
 *	r = SLOW_REAL(sp, do_call(...));
 *	...engine calls after it, usually only if it succeeded...
 *	slow_leave(&sp);
 *	return r;
 *
 * slow_enter sets the thread's guard (memory calls the engine makes pass
 * straight through the hooks), takes the engine lock for the whole bracket
 * (no other thread can map, capture or describe the range between our look
 * before and after the call) and saves the program's errno.  SLOW_REAL makes
 * the real call with the program's errno in place and keeps the errno it
 * leaves, which slow_leave puts back after releasing: the program sees the
 * real function's result and errno exactly, whatever jitperf did around it.
 * Nothing here allocates; before the engine is up (or once it turned itself
 * off) the hold is a no-op token and the engine calls return at once. */

/* The guard and errno alone: for constructor and destructor, which run the
 * engine's set-up and tear-down rather than a hooked call. */
static inline int own_enter(void)
{
	int err = errno;

	jp_guard = 1;
	return err;
}

static inline void own_leave(int err)
{
	jp_guard = 0;
	errno = err;
}

struct slow_path {
	int err;   /* the program's errno, then the real call's */
	int token; /* from jp_capture_hold() */
};

static inline struct slow_path slow_enter(void)
{
	struct slow_path sp;

	sp.err = own_enter();
	sp.token = jp_capture_hold();
	return sp;
}

#define SLOW_REAL(sp, call)                     \
	({                                      \
		__typeof__(call) real_r_;       \
		errno = (sp).err;               \
		real_r_ = (call);               \
		(sp).err = errno;               \
		real_r_;                        \
	})

static inline void slow_leave(struct slow_path *sp)
{
	jp_capture_release(sp->token);
	own_leave(sp->err);
}

/* ---- memory calls ---------------------------------------------------------- */

static int discards(int advice)
{
	return advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE || advice == 24 /* DONTNEED_LOCKED */;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;
	struct slow_path sp;
	int replaces;
	void *r;

	/* Fast path: not executable and not replacing tracked memory. */
	replaces = (flags & MAP_FIXED) && jp_capture_overlaps(a, len);
	if (jp_guard || (!(prot & PROT_EXEC) && !replaces)) {
		r = do_mmap(addr, len, prot, flags, fd, off);
		/* Without MAP_FIXED the kernel only returns free addresses: a
		 * tracked region there was unmapped behind our back (glibc's
		 * free, a raw system call) and must be forgotten, not read.
		 * With MAP_FIXED the answer was given above (r is addr). */
		if (r != MAP_FAILED && !jp_guard && !(flags & MAP_FIXED) &&
		    jp_capture_overlaps((uint64_t)(uintptr_t)r, len)) {
			sp = slow_enter();
			jp_capture_unmap_done((uint64_t)(uintptr_t)r, len);
			slow_leave(&sp);
		}
		return r;
	}
	sp = slow_enter();
	if (replaces)
		jp_capture_unmap_before(a, len);
	r = SLOW_REAL(sp, do_mmap(addr, len, prot, flags, fd, off));
	if (r != MAP_FAILED) {
		if (replaces)
			jp_capture_unmap_done(a, len);
		if (prot & PROT_EXEC)
			jp_capture_mmap_done(r, len, prot, flags, fd, off);
	}
	slow_leave(&sp);
	return r;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

static int protect_common(void *addr, size_t len, int prot, int pkey, int use_pkey)
{
	uint64_t a = (uint64_t)(uintptr_t)addr, ca = a, clen = len;
	struct slow_path sp;
	int r;

	/* PROT_GROWSDOWN reaches below addr: never the fast path. */
	if (jp_guard || (!(prot & (PROT_EXEC | PROT_GROWSDOWN)) && !jp_capture_overlaps(a, len)))
		return use_pkey ? do_pkey_mprotect(addr, len, prot, pkey) : do_mprotect(addr, len, prot);
	sp = slow_enter();
	jp_capture_mprotect_before(&ca, &clen, prot);
	r = SLOW_REAL(sp, use_pkey ? do_pkey_mprotect(addr, len, prot, pkey) : do_mprotect(addr, len, prot));
	if (r == 0)
		jp_capture_mprotect_done(ca, clen, prot);
	slow_leave(&sp);
	return r;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	return protect_common(addr, len, prot, 0, 0);
}

EXPORT int pkey_mprotect(void *addr, size_t len, int prot, int pkey)
{
	return protect_common(addr, len, prot, pkey, 1);
}

EXPORT int munmap(void *addr, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;
	struct slow_path sp;
	int r;

	if (jp_guard || !jp_capture_overlaps(a, len))
		return do_munmap(addr, len);
	sp = slow_enter();
	jp_capture_unmap_before(a, len);
	r = SLOW_REAL(sp, do_munmap(addr, len));
	if (r == 0)
		jp_capture_unmap_done(a, len);
	slow_leave(&sp);
	return r;
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	uint64_t a = (uint64_t)(uintptr_t)old;
	void *new_addr = NULL, *r;
	struct slow_path sp;
	int fixed_over;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	fixed_over = (flags & MREMAP_FIXED) && jp_capture_overlaps((uint64_t)(uintptr_t)new_addr, new_len);
	/* old_len 0 duplicates a shared mapping and leaves the original. */
	if (jp_guard || ((old_len == 0 || !jp_capture_overlaps(a, old_len)) && !fixed_over))
		return do_mremap(old, old_len, new_len, flags, new_addr);
	sp = slow_enter();
	if (old_len)
		jp_capture_mremap_before(a, old_len);
	if (fixed_over)
		jp_capture_unmap_before((uint64_t)(uintptr_t)new_addr, new_len);
	r = SLOW_REAL(sp, do_mremap(old, old_len, new_len, flags, new_addr));
	if (r != MAP_FAILED) {
		if (fixed_over)
			jp_capture_unmap_done((uint64_t)(uintptr_t)new_addr, new_len);
		if (old_len)
			jp_capture_mremap_done(a, old_len, (uint64_t)(uintptr_t)r, new_len);
	}
	slow_leave(&sp);
	return r;
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;
	struct slow_path sp;
	int r;

	if (jp_guard || !discards(advice) || !jp_capture_overlaps(a, len))
		return do_madvise(addr, len, advice);
	sp = slow_enter();
	jp_capture_unmap_before(a, len);
	r = SLOW_REAL(sp, do_madvise(addr, len, advice));
	if (r == 0)
		jp_capture_discard_done(a, len);
	slow_leave(&sp);
	return r;
}

/* ---- libc's syscall(): the same memory calls, made by number ----------------
 *
 * Runtimes that map their memory with syscall(SYS_mmap, ...) (a Lisp maps its
 * whole heap so) never reach the mmap hook, and QEMU leaves by
 * syscall(SYS_exit_group), not by _exit.  syscall() is interposed by a
 * stub that looks only at the number: the memory calls go to the hooks above
 * (exit_group to the _exit hook below)
 * (whose results and errno are libc's, as syscall()'s are: -1 and errno on
 * failure), everything else jumps straight on to libc's syscall() without a
 * frame of ours -- clone and vfork through syscall() return twice, and a
 * child returning through a frame of ours would corrupt the parent's.
 * While jitperf's own calls run (the guard) and before the constructor
 * resolved libc's syscall(), every number goes straight through (before the
 * constructor through jp_syscall6, a C function: a clone or vfork by number
 * during other libraries' constructors is the one case with a frame). */

long jp_syscall_hooked(long n, long a1, long a2, long a3, long a4, long a5, long a6);
__attribute__((used)) long jp_syscall_hooked(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	if (jp_guard || !real_syscall)
		return jp_syscall6(n, a1, a2, a3, a4, a5, a6);
	switch (n) {
	case SYS_mmap:
		return (long)mmap((void *)a1, (size_t)a2, (int)a3, (int)a4, (int)a5, (off_t)a6);
	case SYS_mprotect:
		return mprotect((void *)a1, (size_t)a2, (int)a3);
	case SYS_pkey_mprotect:
		return pkey_mprotect((void *)a1, (size_t)a2, (int)a3, (int)a4);
	case SYS_munmap:
		return munmap((void *)a1, (size_t)a2);
	case SYS_mremap:
		return (long)mremap((void *)a1, (size_t)a2, (size_t)a3, (int)a4, (void *)a5);
	case SYS_exit_group:
		_exit((int)a1);
	default: /* SYS_madvise */
		return madvise((void *)a1, (size_t)a2, (int)a3);
	}
}

/* syscall(n, ...): n in rdi.  The arguments stay where the caller put them
 * (registers, and the sixth on the stack), so a jump hands them on as they
 * are.  The numbers are x86-64's (the only architecture jitperf builds
 * for). */
_Static_assert(SYS_mmap == 9 && SYS_mprotect == 10 && SYS_munmap == 11 && SYS_mremap == 25 && SYS_madvise == 28 &&
		       SYS_pkey_mprotect == 329 && SYS_exit_group == 231,
	       "x86-64 system call numbers");
__asm__(".text\n"
	".globl syscall\n"
	".type syscall, @function\n"
	".globl jp_hook_syscall\n"
	".hidden jp_hook_syscall\n"
	"syscall:\n"
	"jp_hook_syscall:\n"
	"	cmpq $9, %rdi\n"
	"	jb 1f\n"
	"	cmpq $11, %rdi\n"
	"	jbe 2f\n"
	"	cmpq $25, %rdi\n"
	"	je 2f\n"
	"	cmpq $28, %rdi\n"
	"	je 2f\n"
	"	cmpq $231, %rdi\n"
	"	je 2f\n"
	"	cmpq $329, %rdi\n"
	"	je 2f\n"
	"1:	movq real_syscall(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 3f\n"
	"	jmp *%rax\n"
	"2:	jmp jp_syscall_hooked\n"
	"3:	jmp jp_syscall6\n"
	".size syscall, .-syscall\n");

/* ---- exec: describe what is pending before the image is replaced ---- */

/* Unlike the memory hooks this runs before the real call, which on success
 * does not return: there is nothing to do after it. */
static void before_exec(void)
{
	struct slow_path sp;

	if (jp_guard)
		return;
	sp = slow_enter();
	jp_capture_exec_before();
	slow_leave(&sp);
}

#define RESOLVE(name)                                    \
	do {                                             \
		if (!real.name)                          \
			real.name = next_sym(#name);     \
	} while (0)

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec();
	if (real.execve)
		return real.execve(path, argv, envp);
	return (int)jp_syscall(SYS_execve, path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	before_exec();
	RESOLVE(execv);
	return real.execv(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	before_exec();
	RESOLVE(execvp);
	return real.execvp(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	before_exec();
	RESOLVE(execvpe);
	return real.execvpe(file, argv, envp);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec();
	RESOLVE(fexecve);
	return real.fexecve(fd, argv, envp);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	before_exec();
	RESOLVE(execveat);
	if (real.execveat)
		return real.execveat(dirfd, path, argv, envp, flags);
	return (int)jp_syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

/* The execl family takes its arguments inline; gather them on the stack
 * (no malloc) and hand them to the vector forms. */
static size_t count_args(const char *arg, va_list ap)
{
	size_t n = 1;
	va_list c;

	va_copy(c, ap);
	while (arg && va_arg(c, const char *))
		n++;
	va_end(c);
	return arg ? n : 0;
}

#define GATHER_ARGS(arg0, ap, argv, n)              \
	do {                                        \
		argv[0] = (char *)(arg0);           \
		for (size_t i_ = 1; i_ < (n); i_++) \
			argv[i_] = va_arg(ap, char *); \
		argv[n] = NULL;                     \
	} while (0)

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = count_args(arg, ap);
	{
		char *argv[n + 1];

		GATHER_ARGS(arg, ap, argv, n);
		va_end(ap);
		return execv(path, argv);
	}
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = count_args(arg, ap);
	{
		char *argv[n + 1];

		GATHER_ARGS(arg, ap, argv, n);
		va_end(ap);
		return execvp(file, argv);
	}
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = count_args(arg, ap);
	{
		char *argv[n + 1];
		char *const *envp;

		GATHER_ARGS(arg, ap, argv, n);
		if (n)
			(void)va_arg(ap, char *); /* the NULL that ended the list */
		envp = va_arg(ap, char *const *);
		va_end(ap);
		return execve(path, argv, envp);
	}
}

/* ---- calls that need a single-threaded process -----------------------------
 *
 * unshare() of a user namespace (or of the address space, signal handlers)
 * and setns() into a user or mount namespace fail with EINVAL while the
 * process has a second thread: the capture thread ends first (and is gone),
 * and starts again after the call, whatever it returned. */

static int needs_one_thread(int unshare_flags, int nstype, int is_setns)
{
	if (jp_guard)
		return 0;
	if (is_setns)
		return nstype == 0 || (nstype & (CLONE_NEWUSER | CLONE_NEWNS));
	return (unshare_flags & (CLONE_NEWUSER | CLONE_VM | CLONE_SIGHAND | CLONE_THREAD)) != 0;
}

static void pause_thread(int pause)
{
	int err = own_enter();

	jp_capture_thread_pause(pause);
	own_leave(err);
}

EXPORT int unshare(int flags)
{
	int one = needs_one_thread(flags, 0, 0), r;

	if (one)
		pause_thread(1);
	RESOLVE(unshare);
	r = real.unshare ? real.unshare(flags) : (int)jp_syscall(SYS_unshare, flags);
	if (one)
		pause_thread(0);
	return r;
}

EXPORT int setns(int fd, int nstype)
{
	int one = needs_one_thread(0, nstype, 1), r;

	if (one)
		pause_thread(1);
	RESOLVE(setns);
	r = real.setns ? real.setns(fd, nstype) : (int)jp_syscall(SYS_setns, fd, nstype);
	if (one)
		pause_thread(0);
	return r;
}

/* Hidden aliases: the hooks' own addresses, for preload/dlhooks.c to put
 * into the GOT of objects that bind past them. */
#define JP_ALIAS(n) extern __typeof__(n) jp_hook_##n __attribute__((alias(#n), copy(n), visibility("hidden")));
JP_ALIAS(mmap)
JP_ALIAS(mmap64)
JP_ALIAS(mprotect)
JP_ALIAS(pkey_mprotect)
JP_ALIAS(munmap)
JP_ALIAS(mremap)
JP_ALIAS(madvise)
JP_ALIAS(execve)
JP_ALIAS(execv)
JP_ALIAS(execvp)
JP_ALIAS(execvpe)
JP_ALIAS(execl)
JP_ALIAS(execlp)
JP_ALIAS(execle)
JP_ALIAS(fexecve)
JP_ALIAS(execveat)
JP_ALIAS(unshare)
JP_ALIAS(setns)

/* ---- leaving by _exit --------------------------------------------------------
 *
 * _exit runs no atexit handler and no destructor, so a program that leaves
 * by it (QEMU's linux-user does, for the guest's exit_group) would lose the
 * code written in its last epoch and the capture summary.  What is pending
 * is captured first, as exit() does through the destructor.  Not from
 * inside jitperf (a signal handler that interrupted one of our hooks would
 * wait for our own lock), and not in a vfork child, which shares our
 * memory: jp_capture_exit() leaves a process that is not the engine's
 * owner alone. */

static void __attribute__((noreturn)) leave(void (*fn)(int), int status)
{
	if (!jp_guard) {
		int err = own_enter();

		jp_capture_exit();
		own_leave(err);
	}
	if (fn)
		fn(status);
	for (;;)
		jp_syscall(SYS_exit_group, status);
}

EXPORT void _exit(int status)
{
	leave(real.exit_, status);
}

EXPORT void _Exit(int status)
{
	leave(real.Exit ? real.Exit : real.exit_, status);
}

/* ---- life cycle ------------------------------------------------------------ */

static void fork_prepare(void)
{
	jp_capture_fork_prepare();
}

static void fork_parent(void)
{
	jp_capture_fork_parent();
}

static void fork_child(void)
{
	jp_capture_fork_child();
}

__attribute__((constructor)) static void jitperf_init(void)
{
	int err = own_enter();

	resolve_real();
	jp_dl_resolve();
	jp_capture_epoch_extra = jp_dl_epoch;
	if (jp_capture_init()) {
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		jp_capture_thread_pause(0); /* the scan's thread, from the start */
	}
	own_leave(err);
}

__attribute__((destructor)) static void jitperf_fini(void)
{
	int err = own_enter();

	jp_capture_exit();
	own_leave(err);
}
