/* jitlib.h - helpers for the test JIT programs: x86-64 hot-loop emitter, CPU budgets, JITFUNC lines for the e2e harness.
 *
 * Every program emits real machine code the way one kind of engine does and
 * prints, on stdout, one line per function it generated:
 *
 *   JITFUNC name=<label> pid=<pid> addr=0x<hex> size=<n> hot=<0|1> [t0=<ns> t1=<ns>]
 *
 * addr is where the code runs.  hot=1 marks a function that ran long enough
 * to collect samples; t0..t1 is the CLOCK_MONOTONIC window (perf record -k 1
 * uses the same clock) in which it was the code running at addr, so the
 * harness can tell apart two functions that lived at one address in turn.
 *
 * Functions are position independent (rel8 jumps only), keep the
 * push rbp; mov rbp,rsp prologue, differ in bytes and size from one id to
 * the next, and are separated by runs of int3 up to JL_ALIGN, like V8 and
 * HotSpot code spaces.  Each one computes a xorshift-LCG chain that the C
 * reference jl_ref() reproduces, so a program knows its code really ran.
 *
 * The run time comes from JIT_SECONDS (CPU seconds of hot code in the whole
 * program; each program has its own default). */
#ifndef JITPERF_TESTS_JITLIB_H
#define JITPERF_TESTS_JITLIB_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define JL_ALIGN 32u     /* functions start on this boundary; the gap is int3 */
#define JL_FN_MAX 192u   /* upper bound of one function's size */
#define JL_CHUNK (1u << 19) /* loop iterations per call of a hot function (~1 ms) */

typedef uint64_t (*jl_entry)(uint64_t n);

struct jl_func {
	char label[48];
	uint32_t id;         /* selects the constants, hence the bytes */
	uintptr_t addr;      /* where it runs */
	size_t size;         /* bytes up to and including ret */
	uint64_t t0, t1;     /* first and last moment it ran hot (0: never) */
	uint64_t cpu_ns;     /* thread CPU time spent in jl_run_for() */
};

/* Writable view + executable address of a code area being filled. */
struct jl_buf {
	uint8_t *w;          /* where we write */
	uintptr_t x;         /* where w[0] runs (differs for dual mappings) */
	size_t cap, len;
};

static const char *jl_prog = "jit";

static inline void __attribute__((noreturn, format(printf, 1, 2))) jl_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", jl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Line-buffered stdout: lines must be out before fork, execve or a crash. */
static inline void jl_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	jl_prog = slash ? slash + 1 : prog;
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline uint64_t jl_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t jl_mono_ns(void)
{
	return jl_clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t jl_cpu_ns(void)
{
	return jl_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* CPU seconds of hot code for the whole program: JIT_SECONDS or def. */
static inline double jl_seconds(double def)
{
	const char *s = getenv("JIT_SECONDS");
	char *end;
	double v;

	if (!s || !*s)
		return def;
	v = strtod(s, &end);
	if (*end || !(v > 0) || v > 600)
		jl_die("bad JIT_SECONDS '%s'", s);
	return v;
}

/* JL_VIA_RAW: a system call instruction of the program's own, no libc on
 * the way (Go-style runtimes; no hook can see it): the core's jp_syscall6. */
#ifdef JL_VIA_RAW
#include "sys.h"
#define jl_raw6 jp_syscall6
#endif

/* JL_VIA_SYSCALL: every memory call through libc's syscall(), as runtimes
 * that map their heaps by number do (tests/jit/syscall_*.c). */
static inline void *jl_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
#if defined(JL_VIA_RAW)
	void *p = (void *)jl_raw6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
#elif defined(JL_VIA_SYSCALL)
	void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
#else
	void *p = mmap(addr, len, prot, flags, fd, off);
#endif

	if (p == MAP_FAILED)
		jl_die("mmap(%p, %zu, %#x, %#x): %s", addr, len, prot, flags, strerror(errno));
	return p;
}

static inline void jl_mprotect(void *addr, size_t len, int prot)
{
#if defined(JL_VIA_RAW)
	if (jl_raw6(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0))
#elif defined(JL_VIA_SYSCALL)
	if (syscall(SYS_mprotect, addr, len, prot))
#else
	if (mprotect(addr, len, prot))
#endif
		jl_die("mprotect(%p, %zu, %#x): %s", addr, len, prot, strerror(errno));
}

static inline size_t jl_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline uint64_t jl_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct jl_params {
	uint64_t seed, mul, add, filler;
	unsigned shift, nfill;
};

static inline struct jl_params jl_params_of(uint32_t id)
{
	struct jl_params p;
	uint64_t h = jl_splitmix(0x6a69747065726600ull ^ id);

	p.seed = jl_splitmix(h);
	p.mul = jl_splitmix(h + 1) | 1;
	p.add = jl_splitmix(h + 2);
	p.filler = jl_splitmix(h + 3);
	p.shift = 7 + (unsigned)(h % 29);
	p.nfill = (unsigned)((h >> 8) % 9);
	return p;
}

/* What the function of this id returns for n iterations. */
static inline uint64_t jl_ref(uint32_t id, uint64_t n)
{
	struct jl_params p = jl_params_of(id);
	uint64_t x = p.seed;

	while (n--) {
		x = x * p.mul + p.add;
		x ^= x >> p.shift;
	}
	return x;
}

static inline size_t jl_put(uint8_t *w, size_t o, const void *bytes, size_t n)
{
	memcpy(w + o, bytes, n);
	return o + n;
}

/* mov reg,imm64: REX prefix, B8+reg opcode, the immediate. */
static inline size_t jl_put_mov64(uint8_t *w, size_t o, uint8_t rex, uint8_t op, uint64_t imm)
{
	w[o++] = rex;
	w[o++] = op;
	memcpy(w + o, &imm, 8);
	return o + 8;
}

/* Emit the function of this id at w; returns its size (<= JL_FN_MAX).
 *
 *	push rbp; mov rbp,rsp
 *	mov r9,imm64		(x nfill: dead constants, as in real JIT code)
 *	mov rax,seed; mov rcx,mul; mov rdx,add
 *	test rdi,rdi; jz done
 * loop: imul rax,rcx; add rax,rdx; mov r8,rax; shr r8,shift; xor rax,r8
 *	dec rdi; jnz loop
 * done: pop rbp; ret */
static inline size_t jl_emit(uint8_t *w, uint32_t id)
{
	static const uint8_t prologue[] = { 0x55, 0x48, 0x89, 0xe5 };
	static const uint8_t body[] = {
		0x48, 0x0f, 0xaf, 0xc1,       /* imul rax,rcx */
		0x48, 0x01, 0xd0,             /* add rax,rdx */
		0x49, 0x89, 0xc0,             /* mov r8,rax */
		0x49, 0xc1, 0xe8, 0x00,       /* shr r8,imm8 (patched) */
		0x4c, 0x31, 0xc0,             /* xor rax,r8 */
		0x48, 0xff, 0xcf,             /* dec rdi */
		0x75, 0x00,                   /* jnz loop (patched) */
	};
	static const uint8_t test_jz[] = {
		0x48, 0x85, 0xff,             /* test rdi,rdi */
		0x74, 22,                     /* jz done (over the loop body) */
	};
	static const uint8_t epilogue[] = { 0x5d, 0xc3 };
	struct jl_params p = jl_params_of(id);
	size_t o = 0, loop;
	unsigned i;

	o = jl_put(w, o, prologue, sizeof(prologue));
	for (i = 0; i < p.nfill; i++)
		o = jl_put_mov64(w, o, 0x49, 0xb9, p.filler + i); /* mov r9 */
	o = jl_put_mov64(w, o, 0x48, 0xb8, p.seed);            /* mov rax */
	o = jl_put_mov64(w, o, 0x48, 0xb9, p.mul);             /* mov rcx */
	o = jl_put_mov64(w, o, 0x48, 0xba, p.add);             /* mov rdx */
	o = jl_put(w, o, test_jz, sizeof(test_jz));
	loop = o;
	o = jl_put(w, o, body, sizeof(body));
	_Static_assert(sizeof(body) == 22, "jz and jnz offsets assume a 22-byte loop body");
	w[loop + 13] = (uint8_t)p.shift;
	w[o - 1] = (uint8_t)(-(int)sizeof(body));
	o = jl_put(w, o, epilogue, sizeof(epilogue));
	return o;
}

static inline void jl_buf_init(struct jl_buf *b, void *w, uintptr_t x, size_t cap)
{
	b->w = w;
	b->x = x;
	b->cap = cap;
	b->len = 0;
}

/* Place the function of this id at offset off of the area (no padding). */
static inline struct jl_func jl_place(struct jl_buf *b, size_t off, uint32_t id, const char *label)
{
	struct jl_func f;

	if (off + JL_FN_MAX > b->cap)
		jl_die("no room for %s at offset %zu", label, off);
	memset(&f, 0, sizeof(f));
	snprintf(f.label, sizeof(f.label), "%s", label);
	f.id = id;
	f.addr = b->x + off;
	f.size = jl_emit(b->w + off, id);
	return f;
}

/* Append a function, then int3 up to the next JL_ALIGN boundary. */
static inline struct jl_func jl_add(struct jl_buf *b, uint32_t id, const char *label)
{
	struct jl_func f = jl_place(b, b->len, id, label);
	size_t end = b->len + f.size;
	size_t next = (end + JL_ALIGN - 1) & ~(size_t)(JL_ALIGN - 1);

	if (next > b->cap)
		next = b->cap;
	memset(b->w + end, 0xcc, next - end);
	b->len = next;
	return f;
}

static inline jl_entry jl_fn(const struct jl_func *f)
{
	return (jl_entry)f->addr;
}

/* Call the function briefly and compare with the C reference. */
static inline void jl_check(const struct jl_func *f)
{
	uint64_t n = 1000 + f->id % 97;
	uint64_t got = jl_fn(f)(n), want = jl_ref(f->id, n);

	if (got != want)
		jl_die("%s at %#lx returned %#lx, expected %#lx", f->label,
		       (unsigned long)f->addr, (unsigned long)got, (unsigned long)want);
	if (jl_fn(f)(0) != jl_ref(f->id, 0))
		jl_die("%s at %#lx wrong for n=0", f->label, (unsigned long)f->addr);
}

/* f as it is after its code moved from base old to base now (mremap): a
 * new window, the label given, checked at the new place. */
static inline struct jl_func jl_moved(const struct jl_func *f, const void *old, const void *now, const char *label)
{
	struct jl_func m = *f;

	m.addr = f->addr - (uintptr_t)old + (uintptr_t)now;
	m.t0 = m.t1 = m.cpu_ns = 0;
	snprintf(m.label, sizeof(m.label), "%s", label);
	jl_check(&m);
	return m;
}

/* mremap old_len bytes at old to exactly dst (MREMAP_MAYMOVE|MREMAP_FIXED),
 * or die. */
static inline void jl_mremap_to(void *old, size_t len, void *dst)
{
	if (mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) != dst)
		jl_die("mremap: %s", strerror(errno));
}

/* Run the function for this many seconds of the calling thread's CPU time
 * and record the window; checks its result at the end. */
static inline void jl_run_for(struct jl_func *f, double seconds)
{
	uint64_t budget = (uint64_t)(seconds * 1e9), start = jl_cpu_ns(), now;
	volatile uint64_t sink = 0;
	jl_entry fn = jl_fn(f);

	if (!f->t0)
		f->t0 = jl_mono_ns();
	do {
		sink += fn(JL_CHUNK);
		now = jl_cpu_ns();
	} while (now - start < budget);
	f->t1 = jl_mono_ns();
	f->cpu_ns += now - start;
	(void)sink;
	jl_check(f);
}

static inline void jl_report(const struct jl_func *f, int hot)
{
	if (hot && f->t0)
		printf("JITFUNC name=%s pid=%d addr=%#lx size=%zu hot=1 t0=%lu t1=%lu\n",
		       f->label, (int)getpid(), (unsigned long)f->addr, f->size,
		       (unsigned long)f->t0, (unsigned long)f->t1);
	else
		printf("JITFUNC name=%s pid=%d addr=%#lx size=%zu hot=0\n", f->label,
		       (int)getpid(), (unsigned long)f->addr, f->size);
	fflush(stdout);
}

/* The PCRE2/V8 pattern on an area that is already executable and writable
 * (one view or two): a hot function written first, then, after every slice
 * of it, a new function written with no system call at all (appended, or in
 * a slot of the upper half of the area, often on a page of its own) that
 * runs briefly.  Reports every function as hot: each must be named. */
static inline void jl_late_workload(struct jl_buf *b, double total, uint32_t id_base,
				    const char *prefix)
{
	const double slice = 0.2, warm = 0.04;
	uint64_t budget = (uint64_t)(total * 1e9), used = 0;
	size_t step = (b->cap / 2 / 16) & ~(size_t)63;
	struct jl_func hot, late[16];
	unsigned n = 0, i;
	char label[48];

	snprintf(label, sizeof(label), "%s_hot", prefix);
	hot = jl_add(b, id_base, label);
	jl_check(&hot);
	while (used < budget && n < 16) {
		jl_run_for(&hot, slice);
		snprintf(label, sizeof(label), "%s_%u", prefix, n);
		if (n % 3 == 0)
			late[n] = jl_add(b, id_base + 1 + n, label);
		else
			late[n] = jl_place(b, b->cap / 2 + n * step + (n % 3 == 1 ? 0 : 96),
					   id_base + 1 + n, label);
		jl_check(&late[n]);
		jl_run_for(&late[n], warm);
		used = hot.cpu_ns;
		for (i = 0; i <= n; i++)
			used += late[i].cpu_ns;
		n++;
	}
	jl_report(&hot, 1);
	for (i = 0; i < n; i++)
		jl_report(&late[i], 1);
}

/* Dual mapping of a shared file: code written through a RW view and run
 * through an RX view of the same pages (Erlang BEAM, liborc).  rx_first
 * maps the executable view first, as BEAM does. */
static inline void jl_dual_workload(int fd, size_t len, int rx_first, double total,
				    uint32_t id_base, const char *prefix)
{
	const int sh = MAP_SHARED;
	uint8_t *rw, *rx;
	struct jl_buf b;

	if (ftruncate(fd, (off_t)len))
		jl_die("ftruncate: %s", strerror(errno));
	if (rx_first) {
		rx = jl_mmap(NULL, len, PROT_READ | PROT_EXEC, sh, fd, 0);
		rw = jl_mmap(NULL, len, PROT_READ | PROT_WRITE, sh, fd, 0);
	} else {
		rw = jl_mmap(NULL, len, PROT_READ | PROT_WRITE, sh, fd, 0);
		rx = jl_mmap(NULL, len, PROT_READ | PROT_EXEC, sh, fd, 0);
	}
	close(fd);
	jl_buf_init(&b, rw, (uintptr_t)rx, len);
	jl_late_workload(&b, total, id_base, prefix);
}

#endif
