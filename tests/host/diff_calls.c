/* diff_calls.c - thousands of valid and invalid memory calls, printing every result, errno and the memory state, for a with/without-shim diff.
 *
 * Usage: diff_calls [OPS [SEED]]
 *
 * Every call works inside a fixed arena (and the unmapped gaps around it) or
 * with arguments the kernel rejects before touching anything, so the
 * program's output depends only on the kernel's semantics: run it plain and
 * with LD_PRELOAD=libjitperf.so and the outputs must be identical.  Pointers
 * are printed relative to the arena ("A+3p+8"), descriptors are never
 * printed (jitperf's own would shift their numbers), and after each call the
 * arena's mappings (coalesced: adjacent mappings with the same protection
 * and kind are one line, since how the kernel splits its VMAs is not
 * semantics), residency (mincore) of private anonymous pages and a digest
 * of its readable contents are printed whenever they changed.  Calls include PROT_EXEC mappings, W^X
 * toggles, RWX code written and run, memfd dual mappings, MAP_FIXED over
 * existing maps, MAP_FIXED_NOREPLACE collisions, mremap moves and madvise
 * discards, so the shim's capture paths all run.
 *
 * DIFF_STRICT=1 prints the raw /proc/self/maps lines instead of the
 * coalesced view (a VMA split the shim causes then shows). */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hostlib.h"

#define NPG 64u             /* arena pages */
#define GUARD 24u           /* unmapped pages either side that are shown too */
#define ARENA_ADDR 0x200000000000ul
#define FILE_PAGES 128u

static uint8_t *A;
static size_t pg;
static uint64_t seed;
static int memfd_fd = -1, zero_fd = -1, dir_fd = -1, tmp_fd = -1;
static int strict;
static char last_maps[16384], last_mincore[1024];
static uint64_t last_digest;
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t in_probe;

static uint64_t rnd(uint64_t n)
{
	return n ? hl_rand(&seed) % n : 0;
}

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

/* "A+3p+8", "A-2p", "NULL", "out" (elsewhere: placement is the kernel's). */
static const char *fmt_ptr(char *buf, size_t size, const void *p)
{
	intptr_t off = (intptr_t)((uintptr_t)p - (uintptr_t)A);

	if (p == MAP_FAILED)
		snprintf(buf, size, "MAP_FAILED");
	else if (!p)
		snprintf(buf, size, "NULL");
	else if (off >= -(intptr_t)(GUARD * pg) && off < (intptr_t)((NPG + GUARD) * pg))
		snprintf(buf, size, "A%+ldp%+ld", (long)(off >= 0 ? off / (intptr_t)pg : -((-off + (intptr_t)pg - 1) / (intptr_t)pg)),
			 (long)(off >= 0 ? off % (intptr_t)pg : (off % (intptr_t)pg + (intptr_t)pg) % (intptr_t)pg));
	else if ((uintptr_t)p >= 0xffff800000000000ul)
		snprintf(buf, size, "%#lx", (unsigned long)(uintptr_t)p);
	else
		snprintf(buf, size, "out");
	return buf;
}

static int in_window(const void *p)
{
	intptr_t off = (intptr_t)((uintptr_t)p - (uintptr_t)A);

	return off >= -(intptr_t)(GUARD * pg) && off < (intptr_t)((NPG + GUARD) * pg);
}

static void *pick_addr(void)
{
	uint64_t r = rnd(100);

	if (r < 70)
		return A + ((intptr_t)rnd(NPG + 8) - 4) * (intptr_t)pg;
	if (r < 80) {
		static const unsigned mis[] = { 1, 8, 2048, 4095 };

		return A + rnd(NPG) * pg + mis[rnd(4)];
	}
	if (r < 85)
		return NULL;
	if (r < 88)
		return (void *)0x1000;
	if (r < 91)
		return (void *)0xffff800000000000ul;
	if (r < 94)
		return (void *)-4096l;
	return A + NPG / 2 * pg;
}

/* Lengths never reach past the shown window except by overflowing, which
 * the kernel rejects before acting. */
static size_t pick_len(int for_mmap)
{
	static const size_t small[] = { 1, 4095, 4096, 4097, 8192, 3 * 4096 + 5 };
	uint64_t r = rnd(100);

	if (r < 6)
		return 0;
	if (r < 25)
		return small[rnd(6)];
	if (r < 90)
		return (1 + rnd(16)) * pg;
	if (r < 94)
		return SIZE_MAX;
	if (r < 97)
		return SIZE_MAX - pg + 2;
	return for_mmap ? (size_t)1 << 40 : pg;
}

static int pick_prot(void)
{
	static const int prots[] = {
		PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC, PROT_EXEC, PROT_WRITE, PROT_READ | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC, 0x100, PROT_READ | PROT_GROWSDOWN, PROT_READ | 0x8,
	};

	return prots[rnd(sizeof(prots) / sizeof(prots[0]))];
}

static void fd_choice(int *fd, const char **name)
{
	switch (rnd(8)) {
	case 0:
	case 1:
		*fd = memfd_fd;
		*name = "memfd";
		break;
	case 2:
		*fd = zero_fd;
		*name = "devzero";
		break;
	case 3:
		*fd = tmp_fd;
		*name = "unlinked";
		break;
	case 4:
		*fd = dir_fd;
		*name = "dir";
		break;
	case 5:
		*fd = 12345;
		*name = "badfd";
		break;
	default:
		*fd = -1;
		*name = "-1";
		break;
	}
}

/* ---- state printing ------------------------------------------------------- */

struct vma {
	uint64_t s, e, off;
	char perms[5];
	char kind[16];
};

static int parse_maps(struct vma *v, int max)
{
	static char buf[1 << 18];
	int n = 0;
	char *line, *save = NULL;

	if (hl_read_file("/proc/self/maps", buf, sizeof(buf)) < 0)
		jl_die("read maps: %s", strerror(errno));
	for (line = strtok_r(buf, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		unsigned long s, e, off, ino;
		char perms[5], dev[16];
		int pos = 0;
		const char *path;

		if (sscanf(line, "%lx-%lx %4s %lx %15s %lu %n", &s, &e, perms, &off, dev, &ino, &pos) < 6)
			continue;
		if (!in_window((void *)s) && !in_window((void *)(e - 1)))
			continue;
		path = line + pos;
		v[n].s = s;
		v[n].e = e;
		v[n].off = off;
		memcpy(v[n].perms, perms, 5);
		if (!*path || !strncmp(path, "[anon", 5))
			snprintf(v[n].kind, sizeof(v[n].kind), "anon");
		else if (!strncmp(path, "/memfd:dual", 11))
			snprintf(v[n].kind, sizeof(v[n].kind), "memfd2");
		else if (!strncmp(path, "/memfd:", 7))
			snprintf(v[n].kind, sizeof(v[n].kind), "memfd");
		else if (!strncmp(path, "/dev/zero", 9))
			snprintf(v[n].kind, sizeof(v[n].kind), "devzero");
		else if (strstr(path, "(deleted)"))
			snprintf(v[n].kind, sizeof(v[n].kind), "unlinked");
		else if (!strcmp(path, "[stack]") || !strcmp(path, "[heap]"))
			snprintf(v[n].kind, sizeof(v[n].kind), "%s", path);
		else
			snprintf(v[n].kind, sizeof(v[n].kind), "file");
		n++;
	}
	return n;
}

static void sigfault(int sig)
{
	if (in_probe)
		siglongjmp(fault_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Hash n bytes at p, or return the signal that reading them raised. */
static uint64_t probe_out;

static int probe_hash(const void *p, size_t n)
{
	int sig;

	in_probe = 1;
	sig = sigsetjmp(fault_jmp, 1);
	if (sig == 0) {
		const uint64_t *w = p;
		uint64_t h = 0;

		for (size_t k = 0; k < n / 8; k++)
			h = (h ^ w[k]) * 0x100000001b3ull + k;
		probe_out = h;
	}
	in_probe = 0;
	return sig;
}

static void print_state(void)
{
	static struct vma v[512];
	char maps[sizeof(last_maps)], mc[sizeof(last_mincore)], tmp[64];
	size_t mlen = 0, total = NPG + 2 * GUARD;
	unsigned char vec[NPG + 2 * GUARD];
	uint8_t *lo = A - GUARD * pg;
	uint64_t dg = 0xcbf29ce484222325ull;
	int n = parse_maps(v, 512), i;

	maps[0] = 0;
	for (i = 0; i < n; i++) {
		struct vma c = v[i];
		int file = strcmp(c.kind, "anon") && strcmp(c.kind, "[stack]") && strcmp(c.kind, "[heap]");

		/* Coalesce what the kernel merely split. */
		while (!strict && i + 1 < n && v[i + 1].s == c.e && !strcmp(v[i + 1].perms, c.perms) &&
		       !strcmp(v[i + 1].kind, c.kind) && (!file || v[i + 1].off == c.off + (c.e - c.s))) {
			c.e = v[i + 1].e;
			i++;
		}
		mlen += (size_t)snprintf(maps + mlen, sizeof(maps) - mlen, " [%s", fmt_ptr(tmp, sizeof(tmp), (void *)c.s));
		mlen += (size_t)snprintf(maps + mlen, sizeof(maps) - mlen, " %s) %s %s", fmt_ptr(tmp, sizeof(tmp), (void *)c.e),
					 c.perms, c.kind);
		if (file)
			mlen += (size_t)snprintf(maps + mlen, sizeof(maps) - mlen, "@%lup", (unsigned long)(c.off / pg));
		if (mlen >= sizeof(maps))
			break;
	}
	if (strcmp(maps, last_maps)) {
		printf("  maps:%s\n", maps[0] ? maps : " (none)");
		strcpy(last_maps, maps);
	}
	/* Residency, page by page (unmapped pages: '-'). */
	for (size_t p = 0; p < total; p++) {
		if (mincore(lo + p * pg, pg, &vec[p]) < 0)
			mc[p] = '-';
		else
			mc[p] = (vec[p] & 1) ? 'R' : '.';
	}
	/* File and shared memory pages: 'f'.  Their residency is the page
	 * cache's, which readahead fills according to a state shared by every
	 * reader of the file (jitperf reading code through the mapping
	 * included): advisory, not the program's semantics. */
	for (i = 0; i < n; i++) {
		if (!strcmp(v[i].kind, "anon") && v[i].perms[3] == 'p')
			continue;
		for (uint64_t a = v[i].s; a < v[i].e; a += pg)
			if (a >= (uintptr_t)lo && a < (uintptr_t)(lo + total * pg))
				mc[(a - (uintptr_t)lo) / pg] = 'f';
	}
	mc[total] = 0;
	if (strcmp(mc, last_mincore)) {
		printf("  mincore: %s\n", mc);
		strcpy(last_mincore, mc);
	}
	/* Contents of every readable page. */
	for (i = 0; i < n; i++) {
		if (v[i].perms[0] != 'r')
			continue;
		uint64_t from = v[i].s > (uintptr_t)lo ? v[i].s : (uintptr_t)lo;
		uint64_t to = v[i].e < (uintptr_t)(lo + total * pg) ? v[i].e : (uintptr_t)(lo + total * pg);

		for (uint64_t a = from; a < to; a += pg) {
			int sig;

			sig = probe_hash((void *)a, pg);
			if (sig == 0)
				dg = hl_fnv(dg, &probe_out, 8);
			else
				dg = hl_fnv(dg, "fault", 5) + (uint64_t)sig;
			dg = hl_fnv(dg, &a, 8);
		}
	}
	if (dg != last_digest) {
		printf("  digest: %016lx\n", (unsigned long)dg);
		last_digest = dg;
	}
}

/* Is the page at p mapped readable (anywhere in the address space)? */
static int readable_at(const void *p)
{
	static char buf[1 << 18];
	char *line, *save = NULL;

	if (hl_read_file("/proc/self/maps", buf, sizeof(buf)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long s, e;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && s <= (uintptr_t)p && (uintptr_t)p < e)
			return perms[0] == 'r';
	}
	return 0;
}

static void result_ptr(const char *call, void *r, int e, size_t len)
{
	char buf[64];

	printf("%s = %s errno=%s\n", call, fmt_ptr(buf, sizeof(buf), r), r == MAP_FAILED ? ename(e) : "-");
	/* Placed outside the arena by the kernel (or a terabyte that would
	 * cover everything after it): give exactly it back now. */
	if (r != MAP_FAILED && r && (!in_window(r) || len > NPG * pg) && (uintptr_t)r < 0xffff800000000000ul)
		printf("  cleanup munmap = %d\n", munmap(r, len) == 0 ? 0 : -1);
}

static void result_int(const char *call, int r, int e)
{
	printf("%s = %d errno=%s\n", call, r, r < 0 ? ename(e) : "-");
}

/* ---- the operations -------------------------------------------------------- */

/* Every fifth call goes through libc's syscall() by number (the shim
 * interposes it for these numbers): chosen by the operation's index, not
 * by the random stream, so the sequences of every seed stay as they were. */
static int by_number(int i)
{
	return i % 5 == 0;
}

static void op_mmap(int i)
{
	static const struct {
		int flags;
		const char *name;
	} fl[] = {
		{ MAP_PRIVATE | MAP_ANONYMOUS, "P|A" },
		{ MAP_SHARED | MAP_ANONYMOUS, "S|A" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, "P|A|FIXED" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, "P|A|FIXED" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, "P|A|NOREPLACE" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, "P|A|NOREPLACE" },
		{ MAP_SHARED | MAP_FIXED, "S|FIXED" },
		{ MAP_SHARED | MAP_FIXED, "S|FIXED" },
		{ MAP_PRIVATE | MAP_FIXED, "P|FIXED" },
		{ MAP_SHARED, "S" },
		{ MAP_SHARED | MAP_FIXED_NOREPLACE, "S|NOREPLACE" },
		{ 0, "0" },
		{ MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, "S|P|A" },
		{ MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x4000000, "SV|A|junk" },
		{ MAP_SHARED_VALIDATE | MAP_FIXED, "SV|FIXED" },
		{ MAP_PRIVATE, "P(nofd)" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, "P|A|NORESERVE|FIXED" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_FIXED, "P|A|POPULATE|FIXED" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, "P|A|GROWSDOWN|FIXED" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, "P|A|HUGETLB" },
		{ MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_LOCKED, "P|A|FIXED|LOCKED" },
	};
	int k = (int)rnd(sizeof(fl) / sizeof(fl[0]));
	int flags = fl[k].flags, prot = pick_prot(), fd = -1, e;
	const char *fdname = "-1";
	void *addr = pick_addr(), *r;
	size_t len = pick_len(1);
	off_t off = 0;
	char call[256], a[64];

	if (!(flags & MAP_ANONYMOUS)) {
		static const off_t offs[] = { 0, 4096, 8192, 1, 32 * 4096, -4096 };

		fd_choice(&fd, &fdname);
		off = offs[rnd(6)];
	}
	/* MAP_FIXED outside the window would clobber the program itself. */
	if ((flags & MAP_FIXED) && addr && !in_window(addr) && (uintptr_t)addr < 0xffff800000000000ul &&
	    addr != (void *)0x1000)
		addr = A;
	/* A terabyte is only asked for where the kernel picks the place and
	 * nothing populates it. */
	if (len == (size_t)1 << 40 && (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED)))
		len = 16 * pg;
	snprintf(call, sizeof(call), "%5d mmap(%s, %#zx, %#x, %s, %s, %ld)", i, fmt_ptr(a, sizeof(a), addr), len, prot,
		 fl[k].name, fdname, (long)off);
	errno = 0;
	r = by_number(i) ? (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off) : mmap(addr, len, prot, flags, fd, off);
	e = errno;
	result_ptr(call, r, e, len);
}

static void op_mprotect(int i, int pkey)
{
	void *addr = pick_addr();
	size_t len = pick_len(0);
	int prot = pick_prot(), r, e, key = pkey ? (int)rnd(3) * 7 - 1 : 0; /* -1, 6, 13 */
	char call[200], a[64];

	if (addr && !in_window(addr) && addr != (void *)0x1000 && (uintptr_t)addr < 0xffff800000000000ul)
		addr = A;
	errno = 0;
	if (pkey) {
		snprintf(call, sizeof(call), "%5d pkey_mprotect(%s, %#zx, %#x, %d)", i, fmt_ptr(a, sizeof(a), addr), len,
			 prot, key);
		r = pkey_mprotect(addr, len, prot, key);
	} else {
		snprintf(call, sizeof(call), "%5d mprotect(%s, %#zx, %#x)", i, fmt_ptr(a, sizeof(a), addr), len, prot);
		r = by_number(i) ? (int)syscall(SYS_mprotect, addr, len, prot) : mprotect(addr, len, prot);
	}
	e = errno;
	result_int(call, r, e);
}

static void op_munmap(int i)
{
	void *addr = pick_addr();
	size_t len = pick_len(0);
	int r, e;
	char call[200], a[64];

	/* munmap(NULL, n) is valid and would unmap real things below n. */
	if (!addr || (!in_window(addr) && (uintptr_t)addr < 0xffff800000000000ul && len < SIZE_MAX - pg))
		addr = A + rnd(NPG) * pg;
	snprintf(call, sizeof(call), "%5d munmap(%s, %#zx)", i, fmt_ptr(a, sizeof(a), addr), len);
	errno = 0;
	r = by_number(i) ? (int)syscall(SYS_munmap, addr, len) : munmap(addr, len);
	e = errno;
	result_int(call, r, e);
}

static void op_mremap(int i)
{
	static const struct {
		int flags;
		const char *name;
	} fl[] = {
		{ 0, "0" },
		{ MREMAP_MAYMOVE, "MAYMOVE" },
		{ MREMAP_MAYMOVE | MREMAP_FIXED, "MAYMOVE|FIXED" },
		{ MREMAP_MAYMOVE | MREMAP_FIXED, "MAYMOVE|FIXED" },
		{ MREMAP_FIXED, "FIXED" },
		{ MREMAP_MAYMOVE | MREMAP_DONTUNMAP, "MAYMOVE|DONTUNMAP" },
		{ MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, "MAYMOVE|DONTUNMAP|FIXED" },
		{ 0x80, "junk" },
	};
	int k = (int)rnd(sizeof(fl) / sizeof(fl[0])), e;
	void *old = A + ((intptr_t)rnd(NPG + 4) - 2) * (intptr_t)pg, *na = NULL, *r;
	size_t olen = rnd(10) == 0 ? 0 : (1 + rnd(8)) * pg, nlen = (1 + rnd(12)) * pg;
	char call[256], a[64], b[64];

	if (rnd(10) == 0)
		old = (uint8_t *)old + 8;
	if (fl[k].flags & MREMAP_FIXED)
		na = A + ((intptr_t)rnd(NPG + 4) - 2) * (intptr_t)pg;
	snprintf(call, sizeof(call), "%5d mremap(%s, %#zx, %#zx, %s, %s)", i, fmt_ptr(a, sizeof(a), old), olen, nlen,
		 fl[k].name, fmt_ptr(b, sizeof(b), na));
	errno = 0;
	r = by_number(i) ? (void *)syscall(SYS_mremap, old, olen, nlen, fl[k].flags, na) : mremap(old, olen, nlen, fl[k].flags, na);
	e = errno;
	if (r != MAP_FAILED && !in_window(r)) {
		/* Moved out by the kernel: check the contents came along. */
		uint64_t h = 0;

		if (readable_at(r))
			h = probe_hash(r, nlen) ? 1 : probe_out;
		printf("%s = out errno=- moved-contents=%016lx\n", call, (unsigned long)h);
		printf("  cleanup munmap = %d\n", munmap(r, nlen) == 0 ? 0 : -1);
		return;
	}
	result_ptr(call, r, e, nlen);
}

static void op_madvise(int i)
{
	static const int adv[] = { MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
				   MADV_DONTNEED, MADV_FREE, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK,
				   MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP,
				   MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, 22 /* POPULATE_READ */,
				   23 /* POPULATE_WRITE */, 24 /* DONTNEED_LOCKED */, 25 /* COLLAPSE */, 7, 9999, -1 };
	void *addr = pick_addr();
	size_t len = pick_len(0);
	int a = adv[rnd(sizeof(adv) / sizeof(adv[0]))], r, e;
	char call[200], b[64];

	if (!addr || (!in_window(addr) && (uintptr_t)addr < 0xffff800000000000ul))
		addr = A + rnd(NPG) * pg;
	snprintf(call, sizeof(call), "%5d madvise(%s, %#zx, %d)", i, fmt_ptr(b, sizeof(b), addr), len, a);
	errno = 0;
	r = by_number(i) ? (int)syscall(SYS_madvise, addr, len, a) : madvise(addr, len, a);
	e = errno;
	result_int(call, r, e);
}

static void op_memfd(int i)
{
	static const unsigned flags[] = { 0, MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_CLOEXEC | MFD_ALLOW_SEALING, 0x1000,
					  MFD_HUGETLB, 0x8u /* MFD_NOEXEC_SEAL */, 0x10u /* MFD_EXEC */ };
	char name[300];
	unsigned f = flags[rnd(sizeof(flags) / sizeof(flags[0]))];
	size_t nl = rnd(4) == 0 ? 250 + rnd(3) : 1 + rnd(20);
	int r, e, raw = (int)rnd(2);

	memset(name, 'n', nl);
	name[nl] = 0;
	errno = 0;
	r = raw ? (int)syscall(SYS_memfd_create, name, f) : memfd_create(name, f);
	e = errno;
	printf("%5d %s(name[%zu], %#x) = %s errno=%s\n", i, raw ? "SYS_memfd_create" : "memfd_create", nl, f,
	       r >= 0 ? "fd" : "-1", r < 0 ? ename(e) : "-");
	if (r >= 0) {
		int t = ftruncate(r, 2 * (off_t)pg);
		void *m;

		printf("  ftruncate = %d\n", t);
		m = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_SHARED, r, 0);
		printf("  map rx = %s errno=%s\n", m == MAP_FAILED ? "MAP_FAILED" : "out", m == MAP_FAILED ? ename(errno) : "-");
		if (m != MAP_FAILED)
			munmap(m, pg);
		close(r);
	}
}

/* A page of the arena whose protection matches want ("rw-", "rwx"), chosen
 * among pages (not mappings: how the kernel splits them is not semantics)
 * and readable without a fault (file views may reach past the file's end). */
static uint8_t *find_page(const char *want)
{
	static struct vma v[512];
	static uint8_t *cand[NPG];
	int n = parse_maps(v, 512), nc = 0;

	for (int k = 0; k < n; k++) {
		const struct vma *m = &v[k];

		if (strncmp(m->perms, want, 3) || !strcmp(m->kind, "unlinked"))
			continue;
		for (uint64_t a = m->s; a < m->e; a += pg)
			if (a >= (uintptr_t)A && a < (uintptr_t)(A + NPG * pg) && probe_hash((void *)a, pg) == 0)
				cand[nc++] = (uint8_t *)a;
	}
	return nc ? cand[rnd((uint64_t)nc)] : NULL;
}

static void call_code(uintptr_t x, uint32_t id)
{
	uint64_t got = ((jl_entry)x)(100 + id % 13);

	printf("  call = %s\n", got == jl_ref(id, 100 + id % 13) ? "right" : "WRONG");
}

static void op_rwx_code(int i)
{
	uint8_t *p = find_page("rwx");
	uint32_t id = (uint32_t)rnd(100000);
	size_t off = rnd((pg - JL_FN_MAX) / 32) * 32;
	char a[64];

	if (!p) {
		printf("%5d rwx-code: no rwx page\n", i);
		return;
	}
	printf("%5d rwx-code at %s id %u\n", i, fmt_ptr(a, sizeof(a), p + off), id);
	jl_emit(p + off, id);
	call_code((uintptr_t)(p + off), id);
}

static void op_wx_code(int i)
{
	uint8_t *p = find_page("rw-");
	uint32_t id = (uint32_t)rnd(100000);
	char a[64];
	int r;

	if (!p) {
		printf("%5d wx-code: no rw page\n", i);
		return;
	}
	jl_emit(p, id);
	errno = 0;
	r = mprotect(p, pg, PROT_READ | PROT_EXEC);
	printf("%5d wx-code at %s id %u: mprotect rx = %d errno=%s\n", i, fmt_ptr(a, sizeof(a), p), id, r,
	       r ? ename(errno) : "-");
	if (r == 0)
		call_code((uintptr_t)p, id);
}

/* Erlang BEAM's dual mapping, inside the arena. */
static void op_dual(int i)
{
	int fd = (int)syscall(SYS_memfd_create, "dual", 0u);
	size_t rxp = rnd(NPG - 2), rwp = rnd(NPG - 2);
	uint8_t *rx, *rw;
	uint32_t id = (uint32_t)rnd(100000);
	char a[64], b[64];

	if (fd < 0 || ftruncate(fd, 2 * (off_t)pg))
		jl_die("memfd: %s", strerror(errno));
	if (rwp == rxp)
		rwp = (rxp + 2) % (NPG - 2);
	rx = mmap(A + rxp * pg, 2 * pg, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0);
	rw = mmap(A + rwp * pg, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
	printf("%5d dual rx %s rw %s\n", i, fmt_ptr(a, sizeof(a), rx), fmt_ptr(b, sizeof(b), rw));
	if (rx == MAP_FAILED || rw == MAP_FAILED)
		return;
	/* The two views overlap when they were put on neighbouring pages. */
	if (rwp + 2 <= rxp || rxp + 2 <= rwp) {
		jl_emit(rw + 64, id);
		call_code((uintptr_t)(rx + 64), id);
	}
}

/* dlopen/dlmopen with RTLD_DEEPBIND (the shim makes these itself, then
 * redirects the loaded objects' memory calls to its hooks), good and bad:
 * the handle's kind, dlerror() and errno must be libc's.  Every 50th
 * operation, by index: the random stream stays as it was. */
static void dl_result(const char *call, void *h, void *want)
{
	const char *err = dlerror();

	printf("%s = %s errno=%s dlerror=%s\n", call, !h ? "NULL" : want && h != want ? "OTHER" : "handle",
	       ename(errno), err ? err : "-");
	if (h && h != want)
		printf("  dlclose = %d dlerror=%s\n", dlclose(h), dlerror() ? "set" : "-");
}

static void op_dlopen(int i)
{
	void *self = dlopen(NULL, RTLD_LAZY);

	errno = 0;
	switch ((i / 50) % 6) {
	case 0:
		dl_result("dlopen(libm.so.6, NOW|DEEPBIND)", dlopen("libm.so.6", RTLD_NOW | RTLD_DEEPBIND), NULL);
		break;
	case 1:
		dl_result("dlopen(/nonexistent/libx.so, LAZY|DEEPBIND)",
			  dlopen("/nonexistent/libx.so", RTLD_LAZY | RTLD_DEEPBIND), NULL);
		break;
	case 2:
		dl_result("dlopen(libnone.so, NOW|DEEPBIND)", dlopen("libnone.so", RTLD_NOW | RTLD_DEEPBIND), NULL);
		break;
	case 3:
		dl_result("dlopen(NULL, LAZY|DEEPBIND)", dlopen(NULL, RTLD_LAZY | RTLD_DEEPBIND), self);
		break;
	case 4:
		dl_result("dlopen(libm.so.6, bad mode)", dlopen("libm.so.6", 0x7fff0 | RTLD_DEEPBIND), NULL);
		break;
	default:
		dl_result("dlmopen(BASE, libm.so.6, NOW|DEEPBIND)", dlmopen(LM_ID_BASE, "libm.so.6", RTLD_NOW | RTLD_DEEPBIND),
			  NULL);
		dl_result("dlmopen(NEWLM, libm.so.6, NOW)", dlmopen(LM_ID_NEWLM, "libm.so.6", RTLD_NOW), NULL);
		break;
	}
	dlclose(self);
}

static void op_fork(int i)
{
	pid_t pid;
	int st;

	printf("%5d fork\n", i);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		jl_die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* The child sees the same memory: print its state afresh. */
		last_maps[0] = last_mincore[0] = 0;
		last_digest = 0;
		printf("  child:\n");
		print_state();
		fflush(stdout);
		_exit(7);
	}
	if (waitpid(pid, &st, 0) < 0)
		jl_die("waitpid: %s", strerror(errno));
	printf("  child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(int argc, char **argv)
{
	int ops = argc > 1 ? atoi(argv[1]) : 3000;
	sigset_t mask;
	void *r;

	jl_init(argv[0]);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x6a69747065726621ull;
	if (!seed)
		seed = 1;
	strict = getenv("DIFF_STRICT") && !strcmp(getenv("DIFF_STRICT"), "1");
	pg = jl_page();
	signal(SIGSEGV, sigfault);
	signal(SIGBUS, sigfault);

	/* The arena, far below where the kernel places mappings. */
	A = (uint8_t *)ARENA_ADDR;
	r = mmap(A - GUARD * pg, (NPG + 2 * GUARD) * pg, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
	if (r != A - GUARD * pg)
		jl_die("cannot place the arena at %p: %s", (void *)(A - GUARD * pg), strerror(errno));
	munmap(A - GUARD * pg, (NPG + 2 * GUARD) * pg);
	r = mmap(A, NPG * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r != A)
		jl_die("arena: %s", strerror(errno));

	memfd_fd = memfd_create("host-memfd", MFD_CLOEXEC);
	zero_fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	dir_fd = open("/", O_RDONLY | O_CLOEXEC);
	tmp_fd = open(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (memfd_fd < 0 || zero_fd < 0 || dir_fd < 0 || tmp_fd < 0)
		jl_die("setup descriptors: %s", strerror(errno));
	if (ftruncate(memfd_fd, FILE_PAGES * (off_t)pg) || ftruncate(tmp_fd, FILE_PAGES * (off_t)pg))
		jl_die("ftruncate: %s", strerror(errno));
	printf("arena %zu pages, %d operations\n", (size_t)NPG, ops);
	print_state();

	for (int i = 0; i < ops; i++) {
		uint64_t k = rnd(100);

		if (k < 22)
			op_mmap(i);
		else if (k < 36)
			op_mprotect(i, 0);
		else if (k < 40)
			op_mprotect(i, 1);
		else if (k < 50)
			op_munmap(i);
		else if (k < 60)
			op_mremap(i);
		else if (k < 70)
			op_madvise(i);
		else if (k < 73)
			op_memfd(i);
		else if (k < 83)
			op_rwx_code(i);
		else if (k < 92)
			op_wx_code(i);
		else if (k < 97)
			op_dual(i);
		else
			op_fork(i);
		if (i % 50 == 49)
			op_dlopen(i);
		print_state();
		/* Now and then start again from a clean arena, so later calls do
		 * not all meet the same fragments. */
		if (i % 500 == 499) {
			r = mmap(A - GUARD * pg, (NPG + 2 * GUARD) * pg, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			printf("reset = %s\n", r == A - GUARD * pg ? "ok" : "FAILED");
			munmap(A - GUARD * pg, GUARD * pg);
			munmap(A + NPG * pg, GUARD * pg);
			print_state();
		}
	}
	sigprocmask(SIG_SETMASK, NULL, &mask);
	printf("signal mask at exit: %s\n", sigisemptyset(&mask) ? "empty" : "NOT EMPTY");
	printf("done\n");
	/* DIFF_PAUSE=1: wait (for a look at /proc/PID/smaps) before exiting. */
	if (getenv("DIFF_PAUSE") && !strcmp(getenv("DIFF_PAUSE"), "1")) {
		fflush(stdout);
		pause();
	}
	return 0;
}
